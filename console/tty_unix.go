//go:build !windows

package console

import "os"

func openTTY() (*TTY, error) {
	f, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, err
	}
	return &TTY{in: f, out: f}, nil
}

// enableVT: a Unix terminal interprets escape sequences.
func enableVT(*os.File) bool { return true }
