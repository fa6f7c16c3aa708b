package receive

import (
	"fmt"
	"strings"
	"testing"

	"imageshare/transfer"
)

// A study whose longest path, under the folder it goes to, is past
// MAX_PATH is written, with a warning that names that path and suggests
// a shorter --out; one within it has none.
func TestLongPathWarning(t *testing.T) {
	folder := `C:\Users\radiographer\Documents\Received studies\study-20261127-9a59f8d7f3172fc0`
	short := &transfer.Manifest{Files: []transfer.File{{Path: "series-1/IM0001.dcm"}, {Path: "report.pdf"}}}
	if w := longPathWarning(folder, short); w != "" {
		t.Errorf("short paths: warning %q", w)
	}
	deep := strings.Repeat("a", 100) + "/" + strings.Repeat("b", 100) + "/IM0001.dcm"
	long := &transfer.Manifest{Files: []transfer.File{{Path: "series-1/IM0001.dcm"}, {Path: deep}}}
	w := longPathWarning(folder, long)
	want := fmt.Sprintf(`%s\%s is %d characters long, more than the 259`, folder, strings.ReplaceAll(deep, "/", `\`), len(folder)+1+len(deep))
	if !strings.HasPrefix(w, want) || !strings.Contains(w, "--out") {
		t.Errorf("warning %q, want it to start %q and suggest --out", w, want)
	}
}
