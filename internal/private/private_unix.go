//go:build !windows

package private

import (
	"fmt"
	"os"
	"strings"
)

// needsProtect: the mode given at creation makes a file private.
const needsProtect = false

// Protect does nothing on Unix: the mode a file was made with (0600) is
// what keeps it private.
func Protect(*os.File) error { return nil }

func protectDir(string) error { return nil }

func check(f *os.File) error {
	st, err := f.Stat()
	if err != nil {
		return err
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return &ExposedError{Path: f.Name(), Why: fmt.Sprintf("has mode %04o", perm), Fix: fixUnix(f.Name())}
	}
	return nil
}

// fixUnix is the command that makes path private on Unix.
func fixUnix(path string) string { return "chmod 600 " + shellQuote(path) }

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./~") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
