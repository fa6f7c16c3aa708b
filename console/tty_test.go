package console

import (
	"bytes"
	"io"
	"os"
	"testing"
)

// TestEnableVTNotTerminal: what is not a terminal is never given escape
// sequences, so no bar is drawn on it.
func TestEnableVTNotTerminal(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	for _, x := range []any{w, &bytes.Buffer{}, nil} {
		if EnableVT(x) {
			t.Errorf("EnableVT(%T) = true", x)
		}
	}
	if p := NewProgress(w, 10, "sending", true); p != nil {
		t.Error("a bar on a pipe")
	}
}

// TestTTYTwoHandles: a TTY reads from its input and writes to its output,
// which are two files on Windows, and closes both.
func TestTTYTwoHandles(t *testing.T) {
	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer inW.Close()
	defer outR.Close()
	tty := &TTY{in: inR, out: outW}
	if _, err := io.WriteString(inW, "yes\n"); err != nil {
		t.Fatal(err)
	}
	ok, err := Confirm(tty, tty, "Fetch it?")
	if err != nil || !ok {
		t.Fatalf("Confirm = %v, %v", ok, err)
	}
	if err := tty.Close(); err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(outR)
	if string(b) != "Fetch it? [y/N] " {
		t.Errorf("question written: %q", b)
	}
	if _, err := inR.Read(make([]byte, 1)); err == nil {
		t.Error("the input is still open after Close")
	}
}
