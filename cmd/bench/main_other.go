//go:build !linux

// bench is for Linux only (main.go says why): elsewhere it builds, so that
// go build ./cmd/... works on every platform, and says so when run.

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "bench: error: bench runs on Linux only: it reads wait4's rusage, and its WAN runs on network namespaces, tc and TUN devices")
	os.Exit(1)
}
