// Package filelock takes exclusive locks on open files, to keep processes
// that share a file apart: flock(2) on Unix, LockFileEx on Windows. A lock
// belongs to the open file (not the process), so two opens of one file in
// one process exclude each other too, and the system drops the lock when
// the file is closed, however the process ends.
//
// On Windows the lock is on one byte far beyond the end of any file
// imageshare writes: Windows locks are mandatory, and a lock on the data
// itself would make other processes' reads of it fail (an audit trail
// read while a line is appended).
//
// Elsewhere (Plan 9, WebAssembly) locking does nothing and Supported is
// false: imageshare builds there for tests, and no hospital runs it there.
package filelock
