package atomicfile

import (
	"os"
	"time"
)

// Windows refuses to rename a file, or to replace one by renaming over it,
// while another process has it open without FILE_SHARE_DELETE: an
// antivirus scanning a file just written, the search indexer, a PACS
// import reading the file, Explorer showing a folder. These go away within
// moments, so a rename refused so is tried again, for up to about two
// seconds, as the go command does (GOROOT/src/cmd/internal/robustio,
// which retries ERROR_ACCESS_DENIED and ERROR_SHARING_VIOLATION the same
// way). Elsewhere a rename is not refused for that, and is not retried.

// Delays between tries of a rename: doubling from firstDelay up to
// maxDelay, until they add up to retryFor.
const (
	firstDelay = 10 * time.Millisecond
	maxDelay   = 500 * time.Millisecond
	retryFor   = 2 * time.Second
)

// Rename renames oldpath to newpath as os.Rename does, replacing a file
// newpath names, and tries again for a moment while Windows refuses it
// because another process has either open.
func Rename(oldpath, newpath string) error {
	return RetryRename(func() error { return os.Rename(oldpath, newpath) })
}

// RetryRename calls rename, a rename (os.Rename, os.Root.Rename), until it
// succeeds or fails other than by a refusal that Windows gives while
// another process has a name open (ERROR_ACCESS_DENIED,
// ERROR_SHARING_VIOLATION), for up to about two seconds, and returns its
// last error. A rename that must not be retried when its target exists
// (a folder renamed onto another) should check for it and return an error
// that is not such a refusal: on Windows, moving onto an existing folder
// is refused as access denied.
func RetryRename(rename func() error) error {
	return retry(rename, renameRefused, time.Sleep)
}

// retry is RetryRename with what counts as refused and how to wait given.
func retry(rename func() error, refused func(error) bool, sleep func(time.Duration)) error {
	delay, waited := firstDelay, time.Duration(0)
	for {
		err := rename()
		if err == nil || !refused(err) || waited >= retryFor {
			return err
		}
		sleep(delay)
		waited += delay
		delay = min(2*delay, maxDelay)
	}
}
