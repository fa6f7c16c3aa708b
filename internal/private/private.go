// Package private makes the files and folders that only their owner may
// read — the spool, the card's URI file, the relay's key, the audit
// trail — and checks that a file is one.
//
// On Unix that is the mode: folders 0700, files 0600, as before. Windows
// has no such mode (os.Chmod only sets read-only there), so there a
// private file or folder gets a protected access list (one that inherits
// nothing from its folder) granting full control to the user running
// imageshare, SYSTEM and the Administrators group, and to no one else:
//
//	D:P(A;OICI;FA;;;<user's SID>)(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)
//
// A folder's entries are inherited (OICI) by what is made inside it, so a
// private folder keeps its whole tree private. The user's SID is named
// rather than OWNER RIGHTS: the owner of what an elevated administrator
// makes is the Administrators group, not the person.
package private

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Modes of private folders and files on Unix.
const (
	DirMode  fs.FileMode = 0o700
	FileMode fs.FileMode = 0o600
)

// MkdirAll makes path and any missing parents, private. Folders that
// exist already are left as they are, as os.MkdirAll leaves their mode:
// an administrator may have shared a spool with a group on purpose.
func MkdirAll(path string) error {
	first := firstMissing(path)
	if err := os.MkdirAll(path, DirMode); err != nil {
		return err
	}
	if first == "" {
		return nil
	}
	return protectDir(first)
}

// firstMissing is the outermost folder of path that does not exist, which
// MkdirAll will make, or "" if path exists.
func firstMissing(path string) string {
	path = filepath.Clean(path)
	first := ""
	for p := path; ; {
		if _, err := os.Lstat(p); err == nil || !errors.Is(err, fs.ErrNotExist) {
			return first
		}
		first = p
		parent := filepath.Dir(p)
		if parent == p {
			return first
		}
		p = parent
	}
}

// OpenFile opens name as os.OpenFile does, with mode 0600 for a file it
// creates. On Windows a file it creates gets the private access list
// before anything is written to it (O_CREATE is tried with O_EXCL first,
// to know whether it made the file); a file that existed keeps its own.
func OpenFile(name string, flag int) (*os.File, error) {
	if flag&os.O_CREATE == 0 || !needsProtect {
		return os.OpenFile(name, flag, FileMode)
	}
	f, err := os.OpenFile(name, flag|os.O_EXCL, FileMode)
	if errors.Is(err, fs.ErrExist) && flag&os.O_EXCL == 0 {
		return os.OpenFile(name, flag&^os.O_CREATE, FileMode)
	}
	if err != nil {
		return nil, err
	}
	if err := Protect(f); err != nil {
		f.Close()
		os.Remove(name)
		return nil, err
	}
	return f, nil
}

// ExposedError is a file that others than its owner may read: Why says
// how ("has mode 0644"), Fix the command that makes it private again.
type ExposedError struct {
	Path string
	Why  string
	Fix  string
}

func (e *ExposedError) Error() string {
	return fmt.Sprintf("%s %s, so others may read it", e.Path, e.Why)
}

// Check returns an *ExposedError if others than the owner (on Windows:
// than the owner, the user running imageshare, SYSTEM and
// Administrators) may read the open file f, nil if no one else may, or
// the error that kept it from telling.
func Check(f *os.File) error { return check(f) }
