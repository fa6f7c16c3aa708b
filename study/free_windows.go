//go:build windows

package study

import "golang.org/x/sys/windows"

// FreeBytes returns the bytes free to the user running it (quotas
// counted) on the disk that holds dir, and whether it could tell.
func FreeBytes(dir string) (uint64, bool) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, false
	}
	var avail, total, free uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &free); err != nil {
		return 0, false
	}
	return avail, true
}
