package orthanc

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// setns moves the calling thread into the network namespace that f (a
// /run/netns or /proc/…/ns/net file) stands for.
func setns(f *os.File) error {
	return unix.Setns(int(f.Fd()), unix.CLONE_NEWNET)
}

// dieWithParent makes a child process get SIGKILL when the test binary
// dies, so that no Orthanc outlives it.
func dieWithParent() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
