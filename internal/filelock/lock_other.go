//go:build !(unix || windows)

package filelock

import "os"

// Supported reports whether locks keep processes apart on this system.
const Supported = false

// Lock does nothing: this system has no lock imageshare uses.
func Lock(*os.File) error { return nil }

// TryLock does nothing, and reports no other holder.
func TryLock(*os.File) (held bool, err error) { return false, nil }

// Unlock does nothing.
func Unlock(*os.File) error { return nil }
