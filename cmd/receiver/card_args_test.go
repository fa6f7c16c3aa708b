package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// The card's text is its secret: whatever argument holds it, trimmed or
// not, in any case, as a flag's value or a positional argument, it is
// refused without being echoed.
func TestCardInArgumentsNeverEchoed(t *testing.T) {
	dir := t.TempDir()
	const secret = "SECRETSECRETSECRETSECRET"
	c := "IMAGESHARE:V1:" + secret
	for name, args := range map[string][]string{
		"argument":                {"fetch", "--out", dir, c},
		"leading space":           {"fetch", "--out", dir, " " + c},
		"trailing newline":        {"fetch", "--out", dir, c + "\n"},
		"tab, lower case":         {"fetch", "--out", dir, "\t" + strings.ToLower(c)},
		"--uri-file":              {"fetch", "--out", dir, "--uri-file", c},
		"--uri-file=":             {"fetch", "--out", dir, "--uri-file=" + c},
		"--qr":                    {"fetch", "--out", dir, "--qr", c},
		"--qr with space":         {"fetch", "--out", dir, "--qr", " " + c},
		"--out":                   {"fetch", "--out", c, "-"},
		"bad flag value":          {"fetch", "--out", dir, "--timeout", c, "-"},
		"scan":                    {"scan", "--out", dir, c},
		"command":                 {c},
		"percent-encoded":         {"fetch", "--out", dir, "imageshare%3AV1%3A" + secret},
		"import":                  {"import", "--to-dicomweb", "http://pacs/dicom-web", c},
		"audit":                   {"audit", "--audit", c},
		"after --":                {"fetch", "--out", dir, "--", c},
		"inside another argument": {"fetch", "--out", dir, "x" + c},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
		if code != exitUsage {
			t.Errorf("%s: exit %d, want %d", name, code, exitUsage)
		}
		if out := stdout.String() + stderr.String(); strings.Contains(strings.ToUpper(out), secret) {
			t.Errorf("%s: the card was echoed: %s", name, out)
		}
	}
}
