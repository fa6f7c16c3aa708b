//go:build windows

package filelock

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// lockOffset is the byte locked: 1<<62, far beyond the end of any file
// imageshare writes (see the package comment).
const lockOffset = 1 << 62

// Supported reports whether locks keep processes apart on this system.
const Supported = true

// Lock takes an exclusive lock on f, waiting for it.
func Lock(f *os.File) error { return lockEx(f, windows.LOCKFILE_EXCLUSIVE_LOCK) }

// TryLock takes an exclusive lock on f without waiting, and reports
// whether another open file holds it.
func TryLock(f *os.File) (held bool, err error) {
	err = lockEx(f, windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return true, nil
	}
	return false, err
}

// Unlock releases the lock on f.
func Unlock(f *os.File) error {
	return windows.UnlockFileEx(windows.Handle(f.Fd()), 0, 1, 0, overlapped())
}

func lockEx(f *os.File, flags uint32) error {
	return windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, overlapped())
}

// overlapped says where the locked byte is.
func overlapped() *windows.Overlapped {
	return &windows.Overlapped{Offset: uint32(lockOffset & 0xFFFFFFFF), OffsetHigh: uint32(lockOffset >> 32)}
}
