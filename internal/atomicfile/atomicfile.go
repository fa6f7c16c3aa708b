// Package atomicfile writes a file whole or not at all: readers of its name
// see the old content or the new, never a part, and a crash leaves no
// half-written file under it.
//
// The data goes to a temporary file of a random name in the same folder
// (so that writers of one name never share a temporary file), which is
// synced, then put in place by rename (Write) or link (Create), and the
// folder synced so that the new name survives a crash. On Windows a rename
// refused while another process has the file open is tried again for a
// moment (Rename).
//
// A permission that grants nothing to group and others (0600) makes a
// private file on Windows too, where the mode bits mean nothing: the
// temporary file gets the private access list of package private before
// any data is written to it, and keeps it under its new name.
package atomicfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"

	"imageshare/internal/private"
)

// Write writes data to name with permission perm, replacing what name held.
func Write(name string, data []byte, perm fs.FileMode) error {
	return write(name, data, perm, false)
}

// WriteFrom writes what fill writes to name with permission perm,
// replacing what name held, without holding it in memory: if fill
// returns an error, name is left as it was and the error is returned.
func WriteFrom(name string, perm fs.FileMode, fill func(w io.Writer) error) error {
	return writeFrom(name, perm, false, fill)
}

// Create writes data to name with permission perm if name does not exist.
// If it does, it is left as it is and the error wraps fs.ErrExist: of
// writers racing to create one name, the first wins and the others can
// read what it wrote.
func Create(name string, data []byte, perm fs.FileMode) error {
	return write(name, data, perm, true)
}

func write(name string, data []byte, perm fs.FileMode, link bool) error {
	return writeFrom(name, perm, link, func(w io.Writer) error {
		if _, err := w.Write(data); err != nil {
			return fmt.Errorf("writing %s: %w", name, err)
		}
		return nil
	})
}

func writeFrom(name string, perm fs.FileMode, link bool, fill func(io.Writer) error) error {
	dir := filepath.Dir(name)
	f, err := os.CreateTemp(dir, "."+filepath.Base(name)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	tmp := f.Name()
	// Once renamed, the temporary name may be another writer's.
	renamed := false
	defer func() {
		if !renamed {
			os.Remove(tmp)
		}
	}()
	err = f.Chmod(perm)
	if err == nil && perm&0o077 == 0 {
		err = private.Protect(f)
	}
	if err == nil {
		if err = fill(f); err != nil {
			f.Close()
			return err
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("writing %s: %w", name, err)
	}
	if link {
		// The temporary name stays, and goes when this returns.
		err = os.Link(tmp, name)
	} else {
		err = Rename(tmp, name)
		renamed = err == nil
	}
	if err != nil {
		return err // an *os.LinkError, which names both
	}
	return syncDir(dir)
}

// syncDir makes a new name in dir durable. Windows cannot sync a folder,
// and needs not: its renames are durable once the file is.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil
	}
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("syncing %s: %w", dir, err)
	}
	return nil
}
