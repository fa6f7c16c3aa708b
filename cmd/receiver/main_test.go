package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imageshare/card"
	"imageshare/discovery"
	"imageshare/receive"
	"imageshare/transfer"
)

// Every failure a script must tell apart has its own exit status, as the
// help text documents.
func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{&usageError{"x"}, exitUsage},
		{fmt.Errorf("reading: %w", card.ErrMalformed), exitBadCard},
		{errCardRead, exitBadCard},
		{&discovery.ConnectError{Err: errors.New("timeout")}, exitUnreachable},
		{fmt.Errorf("x: %w", discovery.ErrImpostor), exitWrongCard},
		{&transfer.RemoteError{Code: transfer.CodeUnauthorized}, exitWrongCard},
		{transfer.ErrManifestMismatch, exitWrongCard},
		{&transfer.RemoteError{Code: transfer.CodeExpired}, exitExpired},
		{&transfer.RemoteError{Code: transfer.CodeRevoked}, exitRevoked},
		{&transfer.RemoteError{Code: transfer.CodeUsedUp}, exitUsedUp},
		{&transfer.RemoteError{Code: transfer.CodeLocked}, exitLocked},
		{&transfer.ChunkError{Index: 1, Err: transfer.ErrCorrupt}, exitCorrupt},
		{&transfer.ManifestError{Field: "files", Err: errors.New("bad")}, exitCorrupt},
		{receive.ErrDeclined, exitDeclined},
		{fmt.Errorf("%w into /x: no space left on device", transfer.ErrDisk), exitDisk},
		{context.Canceled, exitInterrupted},
		{fmt.Errorf("%w: 3 of 134 instances not stored", errImportPartial), exitImport},
		// The study is saved: a disk error while making the PACS copies is
		// an incomplete import, not an incomplete study.
		{fmt.Errorf("%w: %w", errImportPartial, transfer.ErrDisk), exitImport},
		{errors.New("disk full"), exitError},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
}

func TestHelpDocumentsEveryExitCode(t *testing.T) {
	var out bytes.Buffer
	if code := run(context.Background(), []string{"--help"}, nil, &out, &out); code != 0 {
		t.Fatalf("--help exited %d", code)
	}
	for _, code := range []int{exitOK, exitError, exitUsage, exitBadCard, exitUnreachable, exitWrongCard, exitExpired, exitRevoked, exitUsedUp, exitCorrupt, exitDeclined, exitDisk, exitImport, exitInterrupted} {
		if !strings.Contains(out.String(), fmt.Sprintf("\n    %-3d ", code)) && !strings.Contains(out.String(), fmt.Sprintf("\n    %d ", code)) {
			t.Errorf("--help does not document exit status %d", code)
		}
	}
}

func TestCardNotTakenFromArguments(t *testing.T) {
	var stdout, stderr bytes.Buffer
	secretish := "IMAGESHARE:V1:SECRETSECRETSECRETSECRET"
	code := run(context.Background(), []string{"fetch", "--out", t.TempDir(), secretish}, strings.NewReader(""), &stdout, &stderr)
	if code != exitUsage {
		t.Fatalf("exit %d, want %d", code, exitUsage)
	}
	if strings.Contains(stderr.String(), "SECRETSECRET") {
		t.Fatalf("the card was echoed: %s", stderr.String())
	}
}

func TestBadCardsExit3(t *testing.T) {
	dir := t.TempDir()
	notImage := filepath.Join(dir, "card.png")
	os.WriteFile(notImage, []byte("not an image"), 0o600)
	for name, args := range map[string][]string{
		"garbage on stdin": {"fetch", "--out", dir, "-"},
		"not an image":     {"fetch", "--out", dir, "--qr", notImage},
		"missing image":    {"fetch", "--out", dir, "--qr", filepath.Join(dir, "nope.png")},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, strings.NewReader("IMAGESHARE:V1:ABCDEFGH\n"), &stdout, &stderr)
		if code != exitBadCard {
			t.Errorf("%s: exit %d, want %d (%s)", name, code, exitBadCard, stderr.String())
		}
		if !strings.Contains(stderr.String(), "receiver: error: ") {
			t.Errorf("%s: no error message: %q", name, stderr.String())
		}
	}
}

func TestPACSOptions(t *testing.T) {
	for _, c := range []struct {
		name string
		p    pacsOptions
		ok   bool
	}{
		{"nothing", pacsOptions{}, true},
		{"PACS only", pacsOptions{url: "http://127.0.0.1:8042/dicom-web"}, true},
		{"reconciled", pacsOptions{url: "https://pacs/dicom-web", patientID: "MRN1", issuer: "TC", accession: "A1", name: "TRAUMA, ALPHA"}, true},
		{"local ID without a PACS", pacsOptions{patientID: "MRN1"}, false},
		{"issuer without an ID", pacsOptions{url: "http://pacs/dicom-web", issuer: "TC"}, false},
		{"configured issuer without an ID", pacsOptions{url: "http://pacs/dicom-web", issuer: "TC", issuerFromConfig: true}, true},
		{"local ID without an issuer", pacsOptions{url: "http://pacs/dicom-web", patientID: "MRN1"}, false},
		{"local ID, configured issuer", pacsOptions{url: "http://pacs/dicom-web", patientID: "MRN1", issuer: "TC", issuerFromConfig: true}, true},
		{"Latin-1 name", pacsOptions{url: "http://pacs/dicom-web", name: "MÜLLER, JÖRG"}, true},
		{"birth date not a date", pacsOptions{url: "http://pacs/dicom-web", birthDate: "1.2.1970"}, false},
		{"sex not M, F or O", pacsOptions{url: "http://pacs/dicom-web", sex: "X"}, false},
		{"ID too long", pacsOptions{url: "http://pacs/dicom-web", patientID: strings.Repeat("9", 65), issuer: "TC"}, false},
		{"password in the URL", pacsOptions{url: "http://u:secret@pacs/dicom-web"}, false},
		{"not HTTP", pacsOptions{url: "ftp://pacs/"}, false},
	} {
		err := c.p.check("")
		if (err == nil) != c.ok {
			t.Errorf("%s: check() = %v", c.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the password: %v", c.name, err)
		}
	}
	if got := (&pacsOptions{name: "TRAUMA, ALPHA"}).changes().PatientName; got != "TRAUMA^ALPHA" {
		t.Errorf(`--local-name "TRAUMA, ALPHA" is written %q`, got)
	}
}

// A scanning session takes several patients' cards: one local patient ID
// for all of them is refused.
func TestScanRefusesOneLocalPatientForAll(t *testing.T) {
	var out bytes.Buffer
	code := run(context.Background(), []string{"scan", "--out", t.TempDir(), "--to-dicomweb", "http://127.0.0.1:8042/dicom-web",
		"--local-patient-id", "MRN1"}, strings.NewReader(""), &out, &out)
	if code != exitUsage || !strings.Contains(out.String(), "one card at a time") {
		t.Fatalf("exit %d, want %d with a reason:\n%s", code, exitUsage, out.String())
	}
}

// A local patient ID without this hospital's issuer is refused before the
// card is even read; the station's configuration can give the issuer.
func TestLocalIDNeedsIssuer(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	args := []string{"fetch", "--out", t.TempDir(), "--to-dicomweb", "http://127.0.0.1:8042/dicom-web",
		"--local-patient-id", "MRN1", "--uri-file", filepath.Join(t.TempDir(), "no-card.txt")}
	var out bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &out)
	if code != exitUsage || !strings.Contains(out.String(), "issuer") || !strings.Contains(out.String(), "receiver.toml") {
		t.Fatalf("exit %d, want %d naming the issuer and the configuration:\n%s", code, exitUsage, out.String())
	}

	// With the station's issuer configured, the options pass, and the
	// missing card is what stops the fetch (exit 3).
	config := filepath.Join(t.TempDir(), "receiver.toml")
	if err := os.WriteFile(config, []byte("issuer = \"TRAUMA-CENTER\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	code = run(context.Background(), append(args, "--config", config), strings.NewReader(""), &out, &out)
	if code != exitBadCard {
		t.Fatalf("with the configured issuer: exit %d, want %d (no card)\n%s", code, exitBadCard, out.String())
	}

	// A misspelt key is refused, naming it and the file.
	if err := os.WriteFile(config, []byte("isuer = \"TRAUMA-CENTER\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	code = run(context.Background(), append(args, "--config", config), strings.NewReader(""), &out, &out)
	if code != exitUsage || !strings.Contains(out.String(), "isuer") || !strings.Contains(out.String(), config) {
		t.Fatalf("misspelt key: exit %d, want %d naming it:\n%s", code, exitUsage, out.String())
	}
}

// The configured issuer names no patient: receiver scan takes it.
func TestScanTakesConfiguredIssuer(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", dir)
	if err := os.MkdirAll(filepath.Join(dir, "imageshare"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "imageshare", "receiver.toml"), []byte("issuer = \"TC\"\nto_dicomweb = \"http://127.0.0.1:8042/dicom-web\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	code := run(context.Background(), []string{"scan", "--out", t.TempDir(), "--audit", filepath.Join(t.TempDir(), "audit.jsonl")}, strings.NewReader(""), &out, &out)
	if code != exitBadCard || !strings.Contains(out.String(), "no card was scanned") {
		t.Fatalf("exit %d, want %d (no card scanned):\n%s", code, exitBadCard, out.String())
	}
}
