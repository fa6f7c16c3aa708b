//go:build !linux

package dimse

// runInPeerNet: network namespaces are Linux's.
func runInPeerNet() (code int, moved bool) { return 0, false }
