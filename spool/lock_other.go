//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly || windows)

package spool

import "os"

// Without flock(2) or LockFileEx, nothing keeps two processes from serving
// one spool, or two updates of one offer's record apart: such systems are
// not ones a hospital's sender runs on, and the commands build there only
// for tests.
func tryLock(*os.File) (held bool, err error) { return false, nil }
func lockFile(*os.File) error                 { return nil }
func unlockFile(*os.File) error               { return nil }
