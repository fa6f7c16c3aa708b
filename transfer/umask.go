package transfer

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"sync"
)

// placedMode is the mode of a verified file once under its own name:
// 0666 less the process's umask, as for any file a program creates, so
// that a site's umask (027, or 002 with the folder's group set for the
// PACS import's user) decides who may read patient files. Unverified
// files stay 0600 whatever the umask.
var placedMode = sync.OnceValue(func() os.FileMode {
	return 0o666 &^ umask()
})

// umask reads the process's umask from /proc/self/status (Linux 4.7 and
// later): setting it to read it back, as syscall.Umask would, races with
// files created meanwhile. Elsewhere, the usual 022.
func umask() os.FileMode {
	const usual = 0o022
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return usual
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Umask:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32)
			if err != nil {
				return usual
			}
			return os.FileMode(m) & os.ModePerm
		}
	}
	return usual
}
