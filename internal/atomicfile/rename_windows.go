package atomicfile

import (
	"errors"

	"golang.org/x/sys/windows"
)

// renameRefused reports whether err is how Windows refuses a rename while
// another process has a name open.
func renameRefused(err error) bool {
	return errors.Is(err, windows.ERROR_ACCESS_DENIED) || errors.Is(err, windows.ERROR_SHARING_VIOLATION)
}
