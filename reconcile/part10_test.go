package reconcile

import (
	"bytes"
	"errors"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"imageshare/internal/dataset"
)

// TestCoerceHeaderless checks that a data set without the Part 10 header
// gets one, in implicit and explicit VR little endian, changes or not, and
// that NeedsRewrite says so from its first bytes.
func TestCoerceHeaderless(t *testing.T) {
	tool(t, "dcmdump")
	for _, sx := range syntaxes[:2] { // explicit and implicit VR little endian
		for _, changes := range []Changes{{}, testChanges} {
			name := sx.name + "/unchanged"
			if changes != (Changes{}) {
				name = sx.name + "/changed"
			}
			t.Run(name, func(t *testing.T) {
				_, ds := splitMeta(t, syntheticFile(t, sx.ts, sx.uid, syntheticOptions{}))
				if need, err := NeedsRewrite(bytes.NewReader(ds)); !need || err != nil {
					t.Errorf("NeedsRewrite of a data set without header: %v, %v", need, err)
				}
				r := &countReader{r: bytes.NewReader(ds)}
				NeedsRewrite(r)
				if r.n > 132 {
					t.Errorf("NeedsRewrite read %d bytes", r.n)
				}
				out, err := coerce(t, ds, changes, testMod)
				if err != nil {
					t.Fatalf("Coerce: %v", err)
				}
				if changes == (Changes{}) && !bytes.HasSuffix(out, ds) {
					t.Errorf("Coerce with no changes did more than add the header")
				}
				if need, err := NeedsRewrite(bytes.NewReader(out)); need || err != nil {
					t.Errorf("NeedsRewrite of the copy: %v, %v", need, err)
				}
				p := filepath.Join(t.TempDir(), "out.dcm")
				writeFile(t, p, out)
				// +fo: read as a file with a meta group, or fail.
				stdout, stderr := run(t, "dcmdump", "+fo", "-M", "+L", p)
				if stderr != "" {
					t.Errorf("dcmdump warns:\n%s", stderr)
				}
				for _, want := range []string{
					"(0002,0000) UL ", "(0002,0001) OB 00\\01", "(0002,0002) UI =SecondaryCaptureImageStorage",
					"(0002,0003) UI [1.2.3.4.5.7]", "(0002,0010) UI =Little", "(0002,0012) UI [" + implementationClassUID + "]",
					"(0002,0013) SH [" + implementationVersionName + "]",
				} {
					if !strings.Contains(stdout, want) {
						t.Errorf("dcmdump of the copy lacks %q", want)
					}
				}
				wantTS := "=LittleEndianExplicit"
				if sx.ts.Implicit {
					wantTS = "=LittleEndianImplicit"
				}
				if !strings.Contains(stdout, "(0002,0010) UI "+wantTS) {
					t.Errorf("the copy's transfer syntax is not %s", wantTS)
				}
				d := parseDump(t, stdout)
				if v, _ := d.text("0010,0020"); changes.PatientID != "" && v != changes.PatientID {
					t.Errorf("(0010,0020) = %q", v)
				}
				// Again: it has a header now, and is copied as it is.
				again, err := coerce(t, out, Changes{}, testMod)
				if err != nil || !bytes.Equal(again, out) {
					t.Errorf("Coerce of the copy: %v; the same bytes: %v", err, bytes.Equal(again, out))
				}
			})
		}
	}
}

// TestNotDICOM checks the files that are not DICOM at all, and those
// without the UIDs a header needs.
func TestNotDICOM(t *testing.T) {
	_, ds := splitMeta(t, syntheticFile(t, dataset.ExplicitLE, dataset.UIDExplicitVRLittleEndian, syntheticOptions{}))
	noUID := dataset.ExplicitLE.AppendText(nil, dataset.Tag(tagAccessionNumber), "SH", "A1")
	noUID = dataset.ExplicitLE.AppendText(noUID, dataset.Tag(tagPatientName), "PN", "DOE^J")
	for _, tt := range []struct {
		name string
		file []byte
		msg  string
	}{
		{"empty", nil, "reconcile: not a DICOM Part 10 file: no DICM prefix, and no data set or meta group at the start"},
		{"text", []byte("%PDF-1.4\n" + strings.Repeat("x", 200)), "no DICM prefix, and no data set or meta group at the start"},
		{"zeros", make([]byte, 500), "no DICM prefix, and no data set or meta group at the start"},
		{"seven bytes", ds[:7], "no DICM prefix, and no data set or meta group at the start"},
		{"no SOP UIDs", noUID, "reconcile: not a DICOM Part 10 file: no DICM prefix, and no (0008,0016) at the start of the data set to make one with"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := coerce(t, tt.file, testChanges, testMod)
			if !errors.Is(err, ErrNotPart10) || !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("Coerce: %v, want %q", err, tt.msg)
			}
			if tt.name == "no SOP UIDs" {
				return
			}
			if need, err := NeedsRewrite(bytes.NewReader(tt.file)); need || !errors.Is(err, ErrNotPart10) {
				t.Errorf("NeedsRewrite: %v, %v; want an error wrapping ErrNotPart10", need, err)
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		for _, n := range []int{8, 20, len(ds) / 2, len(ds) - 1} {
			if _, err := coerce(t, ds[:n], Changes{}, testMod); !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrNotPart10) {
				t.Errorf("Coerce of %d of %d bytes: %v", n, len(ds), err)
			}
		}
	})
}

type countReader struct {
	r io.Reader
	n int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}
