//go:build unix

package filelock

import (
	"errors"
	"os"
	"syscall"
)

// Supported reports whether locks keep processes apart on this system.
const Supported = true

// Lock takes an exclusive lock on f, waiting for it.
func Lock(f *os.File) error { return flock(f, syscall.LOCK_EX) }

// TryLock takes an exclusive lock on f without waiting, and reports
// whether another open file holds it.
func TryLock(f *os.File) (held bool, err error) {
	err = flock(f, syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return true, nil
	}
	return false, err
}

// Unlock releases the lock on f.
func Unlock(f *os.File) error { return flock(f, syscall.LOCK_UN) }

func flock(f *os.File, how int) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	err = rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), how)
			if ferr != syscall.EINTR {
				return
			}
		}
	})
	if err != nil {
		return err
	}
	return ferr
}
