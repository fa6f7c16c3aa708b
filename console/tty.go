package console

import (
	"errors"
	"os"

	"golang.org/x/term"
)

// TTY is the terminal of the person running a command, for a question
// when standard input is taken by other data (a card piped in): /dev/tty
// on Unix; the console's input and output (CONIN$, CONOUT$) on Windows,
// which are two handles there.
type TTY struct {
	in, out *os.File
}

// OpenTTY opens the terminal. It fails when there is none (a service, a
// scheduled task, a pipe with no console).
func OpenTTY() (*TTY, error) { return openTTY() }

// Read reads what the person types.
func (t *TTY) Read(p []byte) (int, error) { return t.in.Read(p) }

// Write writes to the terminal.
func (t *TTY) Write(p []byte) (int, error) { return t.out.Write(p) }

// ReadPassword reads a line without echoing it.
func (t *TTY) ReadPassword() ([]byte, error) { return term.ReadPassword(int(t.in.Fd())) }

// Close closes the terminal.
func (t *TTY) Close() error {
	err := t.in.Close()
	if t.out != t.in {
		err = errors.Join(err, t.out.Close())
	}
	return err
}

// EnableVT makes the terminal w interpret escape sequences (colours,
// erasing a line) and reports whether it does. Unix terminals always do.
// The Windows console does once ENABLE_VIRTUAL_TERMINAL_PROCESSING is
// set (Windows 10 and later; Windows Terminal has it set); where it
// cannot be, EnableVT returns false and the caller draws no progress bar
// and a plain QR code (card.TerminalQRPlain). It returns false for what is
// not a terminal.
func EnableVT(w any) bool {
	f, ok := w.(*os.File)
	return ok && IsTerminal(f) && enableVT(f)
}
