//go:build !windows

package atomicfile

// renameRefused: elsewhere an open file does not stop a rename.
func renameRefused(error) bool { return false }
