package console

import (
	"bytes"
	"strings"
	"testing"
)

// A bar that counts files says files, not bytes.
func TestCountingBarSaysWhatItCounts(t *testing.T) {
	var out bytes.Buffer
	p := &Progress{bar: newBar(&out, 134, "reading", "files")}
	p.Add(76)
	p.Finish()
	got := out.String()
	if !strings.Contains(got, "/134, ") || !strings.Contains(got, " files/s") || strings.Contains(got, " B") {
		t.Errorf("a bar counting files reads %q; want files, not bytes", got)
	}
	out.Reset()
	p = &Progress{bar: newBar(&out, 4096, "receiving", "")}
	p.Add(4096)
	p.Finish()
	if got := out.String(); !strings.Contains(got, "KiB") {
		t.Errorf("a bar counting bytes reads %q; want bytes", got)
	}
}
