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
		{&transfer.ChunkError{Index: 1, Err: transfer.ErrCorrupt}, exitCorrupt},
		{&transfer.ManifestError{Field: "files", Err: errors.New("bad")}, exitCorrupt},
		{errDeclined, exitDeclined},
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
		{"password in the URL", pacsOptions{url: "http://u:secret@pacs/dicom-web"}, false},
		{"not HTTP", pacsOptions{url: "ftp://pacs/"}, false},
	} {
		err := c.p.check()
		if (err == nil) != c.ok {
			t.Errorf("%s: check() = %v", c.name, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the password: %v", c.name, err)
		}
	}
	if got := dicomName("TRAUMA, ALPHA"); got != "TRAUMA^ALPHA" {
		t.Errorf(`dicomName("TRAUMA, ALPHA") = %q`, got)
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
