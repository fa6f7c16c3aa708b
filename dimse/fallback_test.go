package dimse

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"imageshare/internal/dataset"
	"imageshare/internal/testenv"
)

// storescpFallbackConfig accepts each file's SOP class only in the other
// little endian syntax, so that the SCU must fall back.
func storescpFallbackConfig(t *testing.T, files []string) string {
	t.Helper()
	var ts, pcs bytes.Buffer
	ts.WriteString("[[TransferSyntaxes]]\n")
	pcs.WriteString("[[PresentationContexts]]\n[Own]\n")
	seen := map[string]bool{}
	for _, f := range files {
		m, err := ReadFileMeta(f)
		if err != nil {
			t.Fatal(err)
		}
		if seen[m.SOPClassUID] {
			continue
		}
		seen[m.SOPClassUID] = true
		n := len(seen)
		fmt.Fprintf(&ts, "[TS%d]\nTransferSyntax1 = %s\n", n, fallback(m.TransferSyntaxUID))
		fmt.Fprintf(&pcs, "PresentationContext%d = %s\\TS%d\n", n, m.SOPClassUID, n)
	}
	p := filepath.Join(t.TempDir(), "storescp.cfg")
	cfg := ts.String() + pcs.String() + "[[Profiles]]\n[Own]\nPresentationContexts = Own\n"
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// dumpLine matches a dcmdump +L line: tag, VR, value, then "#" and the
// length, which change with the encoding.
var dumpLine = regexp.MustCompile(`^(\s*\([0-9a-f]{4},[0-9a-f]{4}\)) (..) (.*?)\s*#`)

// attributes returns dcmdump's view of a file's data set: tags, and text
// values (binary ones print differently as OB, OW or UN, by VR), without
// lengths and group lengths.
func attributes(t *testing.T, path string) []string {
	t.Helper()
	out, err := run(t, "dcmdump", "-q", path)
	if err != nil {
		t.Fatalf("dcmdump %s: %v\n%s", path, err, out)
	}
	var lines []string
	for _, l := range strings.Split(string(out), "\n") {
		m := dumpLine.FindStringSubmatch(l)
		if m == nil || strings.HasPrefix(strings.TrimSpace(m[1]), "(0002,") || strings.HasSuffix(m[1], ",0000)") {
			continue
		}
		v := m[3]
		switch {
		case strings.HasPrefix(v, "(Sequence with") || strings.HasPrefix(v, "(Item with"):
			v = v[:strings.Index(v, " with")]
		case !strings.HasPrefix(v, "[") && !strings.HasPrefix(v, "="):
			v = "" // binary
		case strings.IndexAny(strings.TrimSpace(m[1])[4:5], "13579bdf") == 0:
			v = "" // private: in implicit VR, dcmdump knows no VR and shows bytes
		}
		lines = append(lines, m[1]+" "+v)
	}
	return lines
}

func TestStoreFallsBackToOtherLittleEndian(t *testing.T) {
	shared := testenv.SharedDICOM(t)
	files := append(testenv.CTSeries(t, 3), zoo(t,
		"dcm_qa_ts/In/1.dcm", // MR, explicit
	)...)
	fmri, _ := filepath.Glob(filepath.Join(shared, "mr-fmri-small-files", "dicoms", "*"))
	if len(fmri) == 0 {
		testenv.Missing(t, "no fMRI files in %s", shared)
	}
	files = append(files, fmri[0]) // explicit, with private tags
	dir := t.TempDir()
	addr := storescp(t, dir, "-xf", storescpFallbackConfig(t, files), "Own", "+B")
	cs, metas := fileContexts(t, files)
	ctx := context.Background()
	a, err := Dial(ctx, addr, "IMAGESHARE", "STORESCP", cs)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if st, err := a.StoreFile(ctx, f); err != nil || st != StatusSuccess {
			t.Fatalf("%s: %04X %v", f, st, err)
		}
	}
	if err := a.Release(ctx); err != nil {
		t.Fatal(err)
	}
	for i, f := range files {
		stored := storedBy(t, dir, metas[i].SOPInstanceUID)
		_, m := dataSet(t, stored)
		if m.TransferSyntaxUID != fallback(metas[i].TransferSyntaxUID) {
			t.Errorf("%s: stored in %s, want %s", filepath.Base(f), m.TransferSyntaxUID, fallback(metas[i].TransferSyntaxUID))
		}
		want, got := attributes(t, f), attributes(t, stored)
		if strings.Join(want, "\n") != strings.Join(got, "\n") {
			for j := range min(len(want), len(got)) {
				if want[j] != got[j] {
					t.Errorf("%s converted: first difference at line %d:\n\t%s\n\t%s", filepath.Base(f), j, want[j], got[j])
					break
				}
			}
			t.Errorf("%s converted: %d attributes, want %d", filepath.Base(f), len(got), len(want))
		}
	}
}

// TestConvertRoundTrip converts implicit VR originals to explicit VR and
// back: the data sets come back byte for byte (none has group lengths).
func TestConvertRoundTrip(t *testing.T) {
	for _, f := range append(testenv.CTSeries(t, 2), zoo(t, "dcm_qa_ts/In/2.dcm")...) {
		orig, m := dataSet(t, f)
		if m.TransferSyntaxUID != ImplicitVRLittleEndian {
			t.Fatalf("%s: %s, not implicit VR", f, m.TransferSyntaxUID)
		}
		var explicit, back bytes.Buffer
		if err := convertLE(&explicit, bufio.NewReader(bytes.NewReader(orig)), dataset.ImplicitLE, dataset.ExplicitLE); err != nil {
			t.Fatalf("%s: to explicit: %v", f, err)
		}
		if err := convertLE(&back, bufio.NewReader(bytes.NewReader(explicit.Bytes())), dataset.ExplicitLE, dataset.ImplicitLE); err != nil {
			t.Fatalf("%s: back to implicit: %v", f, err)
		}
		if !bytes.Equal(back.Bytes(), orig) {
			t.Errorf("%s: %d bytes back, want the original's %d", filepath.Base(f), back.Len(), len(orig))
		}
		// Truncated anywhere, it is refused, never looped on.
		for _, n := range []int{1, 7, len(orig) / 2, len(orig) - 1} {
			if err := convertLE(io.Discard, bufio.NewReader(bytes.NewReader(orig[:n])), dataset.ImplicitLE, dataset.ExplicitLE); err == nil {
				t.Errorf("%s truncated to %d bytes: converted", filepath.Base(f), n)
			}
		}
	}
}
