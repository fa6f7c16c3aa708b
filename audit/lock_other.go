//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package audit

import "os"

// Without flock(2), appenders rely on O_APPEND and a single write alone.
func lockFile(*os.File) error   { return nil }
func unlockFile(*os.File) error { return nil }
