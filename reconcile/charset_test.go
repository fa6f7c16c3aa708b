package reconcile

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"imageshare/internal/dataset"
)

// TestCoerceCharsets checks where a value that is not ASCII goes: into the
// file's own single-byte character set if that holds it, into a copy
// converted to UTF-8 if not, nowhere if the file's character set cannot be
// converted.
func TestCoerceCharsets(t *testing.T) {
	tool(t, "dcmdump")
	const (
		latin1Name = "M\xdcLLER^J\xd6RG" // MÜLLER^JÖRG in ISO 8859-1
		latin1Doc  = "M\xfcller^Hans"    // Müller^Hans
	)
	tests := []struct {
		name     string
		charset  string // the file's
		text     string // in (0008,0090) and (0040,0275)
		newName  string
		wantName string // as the bytes of the copy
		wantCS   string // (0008,0005) of the copy
		wantText string // (0008,0090) of the copy
		original string // the original (0008,0005) kept in (0400,0550); "-" if none
	}{
		{"latin-1 holds it", "ISO_IR 100", latin1Doc, "MÜLLER^JÖRG", latin1Name, "ISO_IR 100", latin1Doc, "-"},
		{"latin-9 holds it", "ISO_IR 203", latin1Doc, "MÜLLER^JÖRG", latin1Name, "ISO_IR 203", latin1Doc, "-"},
		{"cyrillic holds it", "ISO_IR 144", "", "ИВАНОВ^ИВАН", "\xb8\xb2\xb0\xbd\xbe\xb2^\xb8\xb2\xb0\xbd", "ISO_IR 144", "", "-"},
		{"ASCII does not", "", "DOE^JANE", "MÜLLER^JÖRG", "MÜLLER^JÖRG", "ISO_IR 192", "DOE^JANE", ""},
		{"latin-1 does not", "ISO_IR 100", latin1Doc, "王^小明", "王^小明", "ISO_IR 192", "Müller^Hans", "ISO_IR 100"},
		{"greek does not", "ISO_IR 126", "\xc1\xe8\xde\xed\xe1", "MÜLLER^JÖRG", "MÜLLER^JÖRG", "ISO_IR 192", "Αθήνα", "ISO_IR 126"},
		{"UTF-8 holds all", "ISO_IR 192", "Müller^Hans", "王^小明", "王^小明", "ISO_IR 192", "Müller^Hans", "-"},
	}
	for _, sx := range syntaxes {
		for _, tt := range tests {
			t.Run(sx.name+"/"+tt.name, func(t *testing.T) {
				in := syntheticFile(t, sx.ts, sx.uid, syntheticOptions{charset: tt.charset, text: tt.text, issuers: true, oas: "defined", groupLengths: true})
				out, err := coerce(t, in, Changes{PatientName: tt.newName, AccessionNumber: "A2"}, testMod)
				if err != nil {
					t.Fatalf("Coerce: %v", err)
				}
				p := filepath.Join(t.TempDir(), "out.dcm")
				writeFile(t, p, out)
				d, warnings := dcmdump(t, p)
				if warnings != "" {
					t.Errorf("dcmdump warns:\n%s", warnings)
				}
				if v, _ := d.text("0010,0010"); v != tt.wantName {
					t.Errorf("(0010,0010) = %q, want %q", v, tt.wantName)
				}
				if v, _ := d.text("0008,0005"); v != tt.wantCS {
					t.Errorf("(0008,0005) = %q, want %q", v, tt.wantCS)
				}
				if v, _ := d.text("0008,0090"); v != tt.wantText {
					t.Errorf("(0008,0090) = %q, want %q", v, tt.wantText)
				}
				// Nested: converted as the top level is.
				requests := d.get("0040,0275")
				if requests == nil || len(requests.kids) != 2 {
					t.Fatalf("(0040,0275): %+v, want two items", requests)
				}
				if v, _ := requests.kids[0].text("0032,1060"); v != "CT HEAD"+tt.wantText {
					t.Errorf("(0040,0275) > (0032,1060) = %q, want %q", v, "CT HEAD"+tt.wantText)
				}
				seq := d.get("0400,0561")
				originals := seq.kids[len(seq.kids)-1].get("0400,0550").kids[0]
				cs, ok := originals.text("0008,0005")
				switch {
				case tt.original == "-" && ok:
					t.Errorf("original (0008,0005) %q kept, though it did not change", cs)
				case tt.original != "-" && (!ok || cs != tt.original):
					t.Errorf("original (0008,0005) = %q, %v; want %q", cs, ok, tt.original)
				}
				// The originals stay as they were, in the character set
				// their item names.
				if o := originals.get("0040,0275"); o == nil || len(o.kids) == 0 {
					t.Errorf("original (0040,0275) not kept")
				} else if o, _ := o.kids[0].text("0032,1060"); o != "CT HEAD"+tt.text {
					t.Errorf("original (0040,0275) > (0032,1060) = %q, want %q as read", o, "CT HEAD"+tt.text)
				}
				if tt.charset != "ISO_IR 192" && tt.wantCS == "ISO_IR 192" {
					if v, _ := seq.kids[len(seq.kids)-1].text("0400,0564"); v != testMod.Source {
						t.Errorf("(0400,0564) = %q in a copy in UTF-8, want %q", v, testMod.Source)
					}
					for _, g := range []string{"0020,0000", "0028,0000"} {
						if d.get(g) != nil {
							t.Errorf("group length (%s) kept in a copy converted to UTF-8", g)
						}
					}
				}
			})
		}
	}
}

// TestCoerceCharsetRefused checks the files whose character set cannot
// take a value, and cannot be converted: the error names (0008,0005) and
// what it holds, never the value.
func TestCoerceCharsetRefused(t *testing.T) {
	tests := []struct {
		name    string
		ts      dataset.Syntax
		uid     string
		charset string
		text    string
		private bool // a private element, not ASCII
		err     string
	}{
		{"ISO 2022", dataset.ExplicitLE, dataset.UIDExplicitVRLittleEndian, `\ISO 2022 IR 87`, "", false,
			`reconcile: (0008,0005) Specific Character Set: is "\\ISO 2022 IR 87", with ISO 2022 code extensions, which cannot hold the new value of (0010,0010) Patient's Name, and a file in it cannot be converted to UTF-8 (ISO_IR 192)`},
		{"unknown", dataset.ExplicitLE, dataset.UIDExplicitVRLittleEndian, "ISO-IR 100", "", false,
			`reconcile: (0008,0005) Specific Character Set: is "ISO-IR 100", a character set Coerce does not know, which cannot hold`},
		{"ASCII that is not", dataset.ExplicitLE, dataset.UIDExplicitVRLittleEndian, "", "M\xfcller", false,
			`reconcile: (0008,0005) Specific Character Set: is absent, i.e. ASCII; the new value of (0010,0010) Patient's Name needs the file converted to UTF-8 (ISO_IR 192), but element (0008,0090) Referring Physician's Name at byte 316 holds characters outside that character set`},
		{"implicit private", dataset.ImplicitLE, dataset.UIDImplicitVRLittleEndian, "ISO_IR 100", "", true,
			`reconcile: (0008,0005) Specific Character Set: is "ISO_IR 100"; the new value of (0010,0010) Patient's Name needs the file converted to UTF-8 (ISO_IR 192), but element (0019,1010) at byte `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := syntheticFile(t, tt.ts, tt.uid, syntheticOptions{charset: tt.charset, text: tt.text, unSequence: true})
			if tt.private {
				in = withPrivate(t, tt.ts, tt.uid, tt.charset)
			}
			_, err := coerce(t, in, Changes{PatientName: "王^小明"}, testMod)
			var ve *ValueError
			if !errors.As(err, &ve) || !strings.HasPrefix(err.Error(), tt.err) || strings.Contains(err.Error(), "王") {
				t.Fatalf("Coerce: %v\nwant a *ValueError starting %q", err, tt.err)
			}
			// ASCII it takes.
			if _, err := coerce(t, in, Changes{PatientName: "WANG^XIAOMING"}, testMod); err != nil {
				t.Errorf("Coerce of an ASCII value: %v", err)
			}
		})
	}
	// In explicit VR the private element has a VR: converted.
	in := withPrivate(t, dataset.ExplicitLE, dataset.UIDExplicitVRLittleEndian, "ISO_IR 100")
	if _, err := coerce(t, in, Changes{PatientName: "王^小明"}, testMod); err != nil {
		t.Errorf("Coerce of a file in explicit VR with a private text element: %v", err)
	}
}

// withPrivate makes a synthetic file with a private element (0019,1010)
// LO whose value is not ASCII, without its pixel data: a decoder in
// implicit VR cannot know it is text.
func withPrivate(t *testing.T, ts dataset.Syntax, uid, charset string) []byte {
	in := syntheticFile(t, ts, uid, syntheticOptions{charset: charset, noPixels: true})
	// The private group goes after group 0010 and before group 0020.
	i := strings.Index(string(in), string(ts.AppendText(nil, dataset.Tag(tagStudyInstanceUID), "UI", "1.2.3.4.5.1")))
	private := ts.AppendText(nil, 0x00190010, "LO", "ACME")
	private = ts.AppendText(private, 0x00191010, "LO", "Gr\xfc\xdfe")
	return append(append(append([]byte(nil), in[:i]...), private...), in[i:]...)
}
