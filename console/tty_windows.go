//go:build windows

package console

import (
	"os"

	"golang.org/x/sys/windows"
)

// openTTY opens the console's input and output buffers, which are the
// person's console even when standard input and output are redirected.
// Both are opened for reading and writing, as GetConsoleMode and
// SetConsoleMode (echo off for a passcode) need.
func openTTY() (*TTY, error) {
	in, err := os.OpenFile("CONIN$", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	out, err := os.OpenFile("CONOUT$", os.O_RDWR, 0)
	if err != nil {
		in.Close()
		return nil, err
	}
	return &TTY{in: in, out: out}, nil
}

// enableVT sets ENABLE_VIRTUAL_TERMINAL_PROCESSING on the console output
// f, and reports whether it is set: SetConsoleMode refuses the flag on
// consoles older than Windows 10.
func enableVT(f *os.File) bool {
	h := windows.Handle(f.Fd())
	var mode uint32
	if err := windows.GetConsoleMode(h, &mode); err != nil {
		return false
	}
	if mode&windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING != 0 {
		return true
	}
	return windows.SetConsoleMode(h, mode|windows.ENABLE_VIRTUAL_TERMINAL_PROCESSING) == nil
}
