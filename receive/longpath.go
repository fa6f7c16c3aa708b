package receive

import (
	"fmt"

	"imageshare/study"
	"imageshare/transfer"
)

// longPathWarning says which file of m, once its study is in folder (an
// absolute Windows path), has a path longer than Explorer and many PACS
// import tools open (study.MaxWindowsPath), or returns "" if none has. The
// receiver writes it all the same: Go's os package and os.Root do not
// stop at MAX_PATH.
func longPathWarning(folder string, m *transfer.Manifest) string {
	names := make([]string, len(m.Files))
	for i, f := range m.Files {
		names[i] = f.Path
	}
	longest, units := study.LongWindowsPath(folder, names)
	if units == 0 {
		return ""
	}
	return fmt.Sprintf("%s is %d characters long, more than the %d that Explorer and many PACS import tools open; "+
		"it will be written, but a shorter --out (nearer the drive's root) keeps every file within reach",
		longest, units, study.MaxWindowsPath)
}
