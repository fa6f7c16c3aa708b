package dimse

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// runInPeerNet runs this test binary again, with the same arguments,
// inside a new network namespace with only loopback up, and returns its
// exit status; moved is false where it cannot (not root, no ip(8)) or
// when already inside.
func runInPeerNet() (code int, moved bool) {
	if os.Getenv(peerNetEnv) != "" || os.Geteuid() != 0 {
		return 0, false
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		return 0, false
	}
	b := make([]byte, 4)
	rand.Read(b)
	name := "imgsh-dimse-" + hex.EncodeToString(b)
	if out, err := exec.Command(ip, "netns", "add", name).CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "dimse tests: making network namespace %s: %v: %s\n", name, err, out)
		return 1, true
	}
	defer exec.Command(ip, "netns", "delete", name).Run()
	if out, err := exec.Command(ip, "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "dimse tests: loopback in %s: %v: %s\n", name, err, out)
		return 1, true
	}
	cmd := exec.Command(ip, append([]string{"netns", "exec", name, os.Args[0]}, os.Args[1:]...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), peerNetEnv+"="+name)
	// Should go test kill this process (its -timeout), the tests die too.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode(), true
		}
		fmt.Fprintf(os.Stderr, "dimse tests: running in %s: %v\n", name, err)
		return 1, true
	}
	return 0, true
}
