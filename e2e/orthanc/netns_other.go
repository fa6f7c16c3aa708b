//go:build !linux

// Network namespaces are Linux's: elsewhere the package compiles, so that
// the tests that use it (here, in dicomweb, receive and e2e) are compiled
// and vetted for Windows and macOS in CI, and NewNamespace skips them
// (requirements), as it does on Linux without root.

package orthanc

import (
	"errors"
	"os"
	"syscall"
)

func setns(*os.File) error {
	return errors.New("network namespaces are Linux only")
}

func dieWithParent() *syscall.SysProcAttr { return nil }
