package reconcile

import (
	"bytes"
	"compress/flate"
	"errors"
	"io"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"imageshare/internal/dataset"
)

// syntheticOptions shape a file made by syntheticFile.
type syntheticOptions struct {
	charset      string // Specific Character Set, "" for none
	absent       bool   // no Accession Number, Patient ID or Issuer
	groupLengths bool   // (gggg,0000) in every group
	oas          string // an Original Attributes Sequence: "", "defined" or "undefined"
	unSequence   bool   // a private sequence of VR UN and undefined length (explicit VR only)
	noPixels     bool   // no Pixel Data: the caller appends it
	padding      int    // zeros after the data set: a multiple of 8, as dcmtk reads them as empty elements (0000,0000)
	issuers      bool   // (0008,0051), (0010,0024), (0010,1002) and (0040,0275) with two items
	text         string // bytes of a Referring Physician's Name (0008,0090), and in (0040,0275) of a Requested Procedure Description (0032,1060)
}

// syntheticFile makes a small image in transfer syntax tsUID, whose data
// set is encoded as ts says, with the structures Coerce must walk: nested
// sequences and items of undefined length, group lengths, an existing
// Original Attributes Sequence.
func syntheticFile(t testing.TB, ts dataset.Syntax, tsUID string, o syntheticOptions) []byte {
	t.Helper()
	enc := ts
	enc.Deflated = false
	us := func(b []byte, tg tag, v uint16) []byte {
		b = enc.AppendHeader(b, dataset.Tag(tg), "US", 2)
		return enc.ByteOrder.AppendUint16(b, v)
	}
	// An undefined-length sequence with an undefined-length item.
	undefinedSeq := func(b []byte, tg tag, content []byte) []byte {
		b = enc.AppendHeader(b, dataset.Tag(tg), "SQ", dataset.UndefinedLength)
		b = enc.AppendHeader(b, dataset.Tag(tagItem), "", dataset.UndefinedLength)
		b = append(b, content...)
		b = enc.AppendHeader(b, dataset.Tag(tagItemDelimitation), "", 0)
		return enc.AppendHeader(b, dataset.Tag(tagSequenceDelimitation), "", 0)
	}
	ref := enc.AppendText(nil, 0x00081150, "UI", "1.2.840.10008.3.1.2.3.3")
	ref = enc.AppendText(ref, 0x00081155, "UI", "1.2.3.4.5.6")

	groups := [][]byte{}
	var g []byte
	if o.charset != "" {
		g = enc.AppendText(g, dataset.Tag(tagSpecificCharacterSet), "CS", o.charset)
	}
	g = enc.AppendText(g, dataset.Tag(tagSOPClassUID), "UI", "1.2.840.10008.5.1.4.1.1.7")
	g = enc.AppendText(g, dataset.Tag(tagSOPInstanceUID), "UI", "1.2.3.4.5.7")
	// An issuer: a local namespace and a universal one (PS3.3 10.14).
	issuer := func(id string) []byte {
		b := enc.AppendText(nil, 0x00400031, "UT", id)
		b = enc.AppendText(b, 0x00400032, "UT", "2.16.840.1.113883.3.9999."+id)
		return enc.AppendText(b, 0x00400033, "CS", "ISO")
	}
	if !o.absent {
		g = enc.AppendText(g, dataset.Tag(tagAccessionNumber), "SH", "ACC1")
	}
	if o.issuers {
		g = undefinedSeq(g, tagIssuerOfAccessionNumberSeq, issuer("SENDER-RIS"))
	}
	g = enc.AppendText(g, dataset.Tag(tagModality), "CS", "OT")
	if o.text != "" {
		g = enc.AppendText(g, dataset.Tag(tagReferringPhysicianName), "PN", o.text)
	}
	g = undefinedSeq(g, 0x00081111, ref)
	groups = append(groups, g)

	g = enc.AppendText(nil, dataset.Tag(tagPatientName), "PN", "DOE^JOHN")
	if !o.absent {
		g = enc.AppendText(g, dataset.Tag(tagPatientID), "LO", "ID1")
		g = enc.AppendText(g, dataset.Tag(tagIssuerOfPatientID), "LO", "SENDER")
	}
	if o.issuers {
		q := enc.AppendText(nil, 0x00400032, "UT", "2.16.840.1.113883.3.9999.1")
		q = enc.AppendText(q, 0x00400033, "CS", "ISO")
		g = enc.AppendSequence(g, dataset.Tag(tagIssuerOfPatientIDQualifiers), q)
	}
	g = enc.AppendText(g, dataset.Tag(tagPatientBirthDate), "DA", "19700101")
	g = enc.AppendText(g, dataset.Tag(tagPatientSex), "CS", "F")
	if o.issuers {
		other := enc.AppendText(nil, dataset.Tag(tagPatientID), "LO", "OTHER7")
		other = enc.AppendText(other, dataset.Tag(tagIssuerOfPatientID), "LO", "ELSEWHERE")
		other = enc.AppendText(other, dataset.Tag(tagTypeOfPatientID), "CS", "TEXT")
		g = undefinedSeq(g, tagOtherPatientIDsSeq, other)
	}
	groups = append(groups, g)

	if o.unSequence && !ts.Implicit {
		// Private, as a writer without its dictionary leaves it: VR UN,
		// undefined length, implicit VR little endian inside.
		g = enc.AppendText(nil, 0x00190010, "LO", "PRIVATE")
		g = enc.AppendHeader(g, 0x00191001, "UN", dataset.UndefinedLength)
		g = dataset.ImplicitLE.AppendHeader(g, dataset.Tag(tagItem), "", dataset.UndefinedLength)
		g = dataset.ImplicitLE.AppendText(g, 0x00191010, "", "X1")
		g = dataset.ImplicitLE.AppendHeader(g, dataset.Tag(tagItemDelimitation), "", 0)
		g = dataset.ImplicitLE.AppendHeader(g, dataset.Tag(tagSequenceDelimitation), "", 0)
		groups = append(groups, g)
	}

	g = enc.AppendText(nil, dataset.Tag(tagStudyInstanceUID), "UI", "1.2.3.4.5.1")
	g = enc.AppendText(g, dataset.Tag(tagSeriesInstanceUID), "UI", "1.2.3.4.5.2")
	g = enc.AppendText(g, dataset.Tag(tagInstanceNumber), "IS", "1")
	groups = append(groups, g)

	g = us(nil, 0x00280002, 1)
	g = enc.AppendText(g, 0x00280004, "CS", "MONOCHROME2")
	g = us(g, 0x00280010, 2)
	g = us(g, 0x00280011, 2)
	g = us(g, 0x00280100, 8)
	g = us(g, 0x00280101, 8)
	g = us(g, 0x00280102, 7)
	g = us(g, 0x00280103, 0)
	groups = append(groups, g)

	if o.issuers {
		// Two requests: one of undefined length, one of defined length
		// with a group length and its elements out of the usual order.
		r1 := enc.AppendText(nil, dataset.Tag(tagAccessionNumber), "SH", "ACC1")
		r1 = enc.AppendSequence(r1, dataset.Tag(tagIssuerOfAccessionNumberSeq), issuer("SENDER-RIS"))
		r1 = enc.AppendText(r1, 0x00321060, "LO", "CT HEAD"+o.text)
		r1 = enc.AppendText(r1, 0x00401001, "SH", "RP1")
		acc := enc.AppendText(nil, dataset.Tag(tagAccessionNumber), "SH", "ACC1-B")
		r2 := enc.AppendHeader(nil, 0x00080000, "UL", 4)
		r2 = enc.ByteOrder.AppendUint32(r2, uint32(len(acc)))
		r2 = append(r2, acc...)
		r2 = enc.AppendText(r2, 0x00401001, "SH", "RP2")
		g = enc.AppendHeader(nil, dataset.Tag(tagRequestAttributesSeq), "SQ", dataset.UndefinedLength)
		g = enc.AppendHeader(g, dataset.Tag(tagItem), "", dataset.UndefinedLength)
		g = append(g, r1...)
		g = enc.AppendHeader(g, dataset.Tag(tagItemDelimitation), "", 0)
		g = enc.AppendItem(g, r2)
		g = enc.AppendHeader(g, dataset.Tag(tagSequenceDelimitation), "", 0)
		groups = append(groups, g)
	}
	if o.oas != "" {
		old := enc.AppendSequence(nil, dataset.Tag(tagModifiedAttributesSeq), enc.AppendText(nil, dataset.Tag(tagPatientID), "LO", "OLDER"))
		old = enc.AppendText(old, dataset.Tag(tagAttributeModificationDT), "DT", "20200101120000")
		old = enc.AppendText(old, dataset.Tag(tagModifyingSystem), "LO", "SOMEONE")
		old = enc.AppendText(old, dataset.Tag(tagSourceOfPreviousValues), "LO", "")
		old = enc.AppendText(old, dataset.Tag(tagReasonForModification), "CS", "CORRECT")
		if o.oas == "undefined" {
			g = undefinedSeq(nil, tagOriginalAttributesSeq, old)
		} else {
			g = enc.AppendSequence(nil, dataset.Tag(tagOriginalAttributesSeq), old)
		}
		groups = append(groups, g)
	}
	switch {
	case o.noPixels:
	case tsUID == dataset.UIDExplicitVRLittleEndian || tsUID == dataset.UIDImplicitVRLittleEndian || tsUID == dataset.UIDExplicitVRBigEndian || ts.Deflated:
		g = enc.AppendHeader(nil, dataset.Tag(tagPixelData), "OW", 4)
		groups = append(groups, append(g, 1, 2, 3, 4))
	default:
		// Encapsulated: an empty offset table and one fragment.
		g = enc.AppendHeader(nil, dataset.Tag(tagPixelData), "OB", dataset.UndefinedLength)
		g = enc.AppendHeader(g, dataset.Tag(tagItem), "", 0)
		g = enc.AppendItem(g, []byte{1, 2, 3, 4})
		g = enc.AppendHeader(g, dataset.Tag(tagSequenceDelimitation), "", 0)
		groups = append(groups, g)
	}

	var ds []byte
	for _, g := range groups {
		if o.groupLengths {
			ds = enc.AppendHeader(ds, dataset.NewTag(enc.ByteOrder.Uint16(g), 0), "UL", 4)
			ds = enc.ByteOrder.AppendUint32(ds, uint32(len(g)))
		}
		ds = append(ds, g...)
	}
	ds = append(ds, make([]byte, o.padding)...)
	if ts.Deflated {
		var z bytes.Buffer
		fw, _ := flate.NewWriter(&z, flate.BestCompression)
		fw.Write(ds)
		fw.Close()
		ds = z.Bytes()
	}

	meta := dataset.ExplicitLE.AppendHeader(nil, 0x00020001, "OB", 2)
	meta = append(meta, 0, 1)
	meta = dataset.ExplicitLE.AppendText(meta, 0x00020002, "UI", "1.2.840.10008.5.1.4.1.1.7")
	meta = dataset.ExplicitLE.AppendText(meta, 0x00020003, "UI", "1.2.3.4.5.7")
	meta = dataset.ExplicitLE.AppendText(meta, dataset.Tag(tagTransferSyntaxUID), "UI", tsUID)
	f := append(make([]byte, 128), "DICM"...)
	f = dataset.ExplicitLE.AppendHeader(f, dataset.Tag(tagMetaGroupLength), "UL", 4)
	f = dataset.ExplicitLE.ByteOrder.AppendUint32(f, uint32(len(meta)))
	f = append(f, meta...)
	return append(f, ds...)
}

// syntaxes are the four encodings, with a transfer syntax of each.
var syntaxes = []struct {
	name string
	ts   dataset.Syntax
	uid  string
}{
	{"explicit-le", dataset.ExplicitLE, dataset.UIDExplicitVRLittleEndian},
	{"implicit-le", dataset.ImplicitLE, dataset.UIDImplicitVRLittleEndian},
	{"explicit-be", dataset.ExplicitBE, dataset.UIDExplicitVRBigEndian},
	{"deflated", dataset.SyntaxOf(dataset.UIDDeflatedExplicitVRLittleEndian), dataset.UIDDeflatedExplicitVRLittleEndian},
	{"jpeg-2000", dataset.ExplicitLE, "1.2.840.10008.1.2.4.90"}, // the data set as explicit LE
}

// TestCoerceSynthetic coerces small files with the structures real ones
// have less often, in each encoding, and checks them with dcmdump.
func TestCoerceSynthetic(t *testing.T) {
	tool(t, "dcmdump")
	options := map[string]syntheticOptions{
		"plain":                            {},
		"absent values":                    {absent: true},
		"group lengths":                    {groupLengths: true},
		"UN sequence":                      {unSequence: true},
		"original attributes, defined":     {oas: "defined", groupLengths: true},
		"original attributes, undefined":   {oas: "undefined"},
		"padding":                          {padding: 64},
		"original attributes, and padding": {oas: "undefined", padding: 16},
		"UTF-8, all of it":                 {charset: "ISO_IR 192", oas: "defined", unSequence: true, groupLengths: true},
	}
	dir := t.TempDir()
	for _, sx := range syntaxes {
		for name, o := range options {
			t.Run(sx.name+"/"+name, func(t *testing.T) {
				in := syntheticFile(t, sx.ts, sx.uid, o)
				inPath := filepath.Join(dir, sx.name, strings.ReplaceAll(name, " ", "_")+".in.dcm")
				writeFile(t, inPath, in)
				before, inWarnings := dcmdump(t, inPath)
				out, err := coerce(t, in, testChanges, testMod)
				if err != nil {
					t.Fatalf("Coerce: %v", err)
				}
				outPath := strings.TrimSuffix(inPath, ".in.dcm") + ".out.dcm"
				writeFile(t, outPath, out)
				after, outWarnings := dcmdump(t, outPath)
				if outWarnings != inWarnings {
					t.Errorf("dcmdump warns about the copy:\n%s\nabout the original:\n%s", outWarnings, inWarnings)
				}
				for tag, v := range changedAttributes(testChanges) {
					if got, _ := after.text(tag); got != v {
						t.Errorf("(%s) = %q, want %q", tag, got, v)
					}
				}
				oldItems := 0
				if o.oas != "" {
					oldItems = 1
				}
				seq := after.get("0400,0561")
				if seq == nil || len(seq.kids) != oldItems+1 {
					t.Fatalf("(0400,0561): %+v, want %d items", seq, oldItems+1)
				}
				if o.oas != "" {
					if v, _ := seq.kids[0].text("0400,0563"); v != "SOMEONE" {
						t.Errorf("the first item of (0400,0561) is not the one the file had: %+v", seq.kids[0])
					}
				}
				originals := seq.kids[oldItems].get("0400,0550").kids[0]
				wantOriginals := map[string]string{"0008,0050": "ACC1", "0010,0010": "DOE^JOHN", "0010,0020": "ID1", "0010,0021": "SENDER"}
				if o.absent {
					wantOriginals["0008,0050"], wantOriginals["0010,0020"], wantOriginals["0010,0021"] = "", "", ""
				}
				for tag, v := range wantOriginals {
					if got, ok := originals.text(tag); !ok || got != v {
						t.Errorf("original (%s) = %q, %v; want %q", tag, got, ok, v)
					}
				}
				for _, g := range []string{"0008,0000", "0010,0000", "0400,0000"} {
					if after.get(g) != nil {
						t.Errorf("group length (%s) kept in a group that changed", g)
					}
				}
				if o.groupLengths && after.get("0020,0000") == nil {
					t.Error("group length (0020,0000) dropped in a group that did not change")
				}
				if a, b := after.get("7fe0,0010"), before.get("7fe0,0010"); a == nil || b == nil || a.value != b.value || len(a.kids) != len(b.kids) {
					t.Errorf("pixel data %+v, was %+v", a, b)
				}
				if before.get("0019,1001") != nil && after.get("0019,1001") == nil {
					t.Error("the UN sequence is gone")
				}
				if out, err := coerce(t, in, Changes{}, testMod); err != nil || !bytes.Equal(out, in) {
					t.Errorf("Coerce with no change: %v; the same bytes: %v", err, bytes.Equal(out, in))
				}
			})
		}
	}
}

// TestCoerceMalformed checks the errors of files Coerce cannot read.
func TestCoerceMalformed(t *testing.T) {
	good := syntheticFile(t, dataset.ExplicitLE, dataset.UIDExplicitVRLittleEndian, syntheticOptions{})
	metaEnd := 132 + 12 + int(dataset.ExplicitLE.ByteOrder.Uint32(good[140:]))
	replace := func(old, new string) []byte {
		if !bytes.Contains(good, []byte(old)) {
			t.Fatalf("no %q in the file", old)
		}
		return bytes.Replace(bytes.Clone(good), []byte(old), []byte(new), 1)
	}
	// Patient ID moved before Patient's Name: out of order.
	swapped := bytes.Clone(good)
	i := bytes.Index(swapped, []byte{0x10, 0x00, 0x20, 0x00})
	swapped[i+2] = 0x05
	tests := []struct {
		name string
		file []byte
		want error
		msg  string
	}{
		{"empty", nil, ErrNotPart10, "reconcile: not a DICOM Part 10 file: no DICM prefix"},
		{"no DICM", replace("DICM", "DICX"), ErrNotPart10, "reconcile: not a DICOM Part 10 file: no DICM prefix"},
		{"no meta group", append(append(make([]byte, 128), "DICM"...), good[metaEnd:]...), ErrNotPart10, "reconcile: not a DICOM Part 10 file: no meta group after the DICM prefix"},
		{"out of order", swapped, ErrMalformed, "comes after"},
		{"truncated value", good[:metaEnd+20], ErrTruncated, "reconcile: truncated element (0008,0016) at byte"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := coerce(t, tt.file, testChanges, testMod)
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Coerce: %v, want an error wrapping %q that says %q", err, tt.want, tt.msg)
			}
		})
	}
	t.Run("unknown VR", func(t *testing.T) {
		f := bytes.Clone(good)
		i := bytes.Index(f, []byte("CS\x02\x00OT"))
		copy(f[i:], "XX")
		_, err := coerce(t, f, testChanges, testMod)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), `element (0008,0060) at byte `) || !strings.Contains(err.Error(), `unknown VR "XX"`) {
			t.Fatalf("Coerce: %v", err)
		}
	})
	t.Run("corrupt deflate", func(t *testing.T) {
		f := syntheticFile(t, dataset.SyntaxOf(dataset.UIDDeflatedExplicitVRLittleEndian), dataset.UIDDeflatedExplicitVRLittleEndian, syntheticOptions{})
		for i := metaEnd + 4; i < len(f); i++ {
			f[i] ^= 0x5A
		}
		_, err := coerce(t, f, testChanges, testMod)
		if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTruncated) {
			t.Fatalf("Coerce: %v", err)
		}
	})
	t.Run("write error", func(t *testing.T) {
		err := Coerce(bytes.NewReader(good), failWriter{}, testChanges, testMod)
		if err == nil || !strings.Contains(err.Error(), "reconcile: writing: disk full") {
			t.Fatalf("Coerce: %v", err)
		}
	})
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestCoerceStreams checks that Coerce holds no more than the header in
// memory: 256 MiB of pixel data (64 MiB deflated) go through it with
// little allocated.
func TestCoerceStreams(t *testing.T) {
	if testing.Short() {
		t.Skip("copies 256 MiB")
	}
	for _, sx := range syntaxes {
		t.Run(sx.name, func(t *testing.T) {
			pixels := int64(256 << 20)
			head := syntheticFile(t, sx.ts, sx.uid, syntheticOptions{noPixels: true})
			enc := sx.ts
			enc.Deflated = false
			pixel := io.MultiReader(bytes.NewReader(enc.AppendHeader(nil, dataset.Tag(tagPixelData), "OW", uint32(pixels))), io.LimitReader(zeros{}, pixels))
			src := io.MultiReader(bytes.NewReader(head), pixel)
			if sx.ts.Deflated {
				// The synthetic data set, inflated, then the pixel data:
				// deflated again as one stream, as it is read.
				pixels = 64 << 20
				pixel = io.MultiReader(bytes.NewReader(enc.AppendHeader(nil, dataset.Tag(tagPixelData), "OW", uint32(pixels))), io.LimitReader(zeros{}, pixels))
				meta, ds := splitDeflated(t, head)
				pr, pw := io.Pipe()
				go func() {
					fw, _ := flate.NewWriter(pw, flate.BestSpeed)
					_, err := io.Copy(fw, io.MultiReader(bytes.NewReader(ds), pixel))
					if err == nil {
						err = fw.Close()
					}
					pw.CloseWithError(err)
				}()
				src = io.MultiReader(bytes.NewReader(meta), pr)
			}
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			var n countWriter
			err := Coerce(src, &n, testChanges, testMod)
			runtime.ReadMemStats(&after)
			if err != nil {
				t.Fatal(err)
			}
			if !sx.ts.Deflated && int64(n) < pixels {
				t.Fatalf("Coerce wrote %d bytes, want more than %d", n, pixels)
			}
			if grew := after.TotalAlloc - before.TotalAlloc; grew > 8<<20 {
				t.Errorf("Coerce allocated %d MiB copying %d MiB of pixel data", grew>>20, pixels>>20)
			}
		})
	}
}

// splitDeflated splits a deflated file made by syntheticFile into its
// preamble and meta group, and its data set inflated.
func splitDeflated(t *testing.T, f []byte) (meta, ds []byte) {
	t.Helper()
	meta, deflated := splitMeta(t, f)
	ds, err := io.ReadAll(flate.NewReader(bytes.NewReader(deflated)))
	if err != nil {
		t.Fatal(err)
	}
	return meta, ds
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

type countWriter int64

func (c *countWriter) Write(p []byte) (int, error) {
	*c += countWriter(len(p))
	return len(p), nil
}

// TestCoerceShortDataSet coerces a data set that ends before (0010,0021):
// its character set still counts, and the new elements go at the end.
func TestCoerceShortDataSet(t *testing.T) {
	tool(t, "dcmdump")
	for _, sx := range syntaxes {
		t.Run(sx.name, func(t *testing.T) {
			enc := sx.ts
			enc.Deflated = false
			ds := enc.AppendText(nil, dataset.Tag(tagSpecificCharacterSet), "CS", "ISO_IR 192")
			ds = enc.AppendText(ds, dataset.Tag(tagSOPClassUID), "UI", "1.2.840.10008.5.1.4.1.1.7")
			ds = enc.AppendText(ds, dataset.Tag(tagSOPInstanceUID), "UI", "1.2.3.4.5.7")
			ds = enc.AppendText(ds, dataset.Tag(tagPatientName), "PN", "DOE^JOHN")
			f := syntheticFile(t, sx.ts, sx.uid, syntheticOptions{noPixels: true})
			meta, _ := splitMeta(t, f)
			if sx.ts.Deflated {
				var z bytes.Buffer
				fw, _ := flate.NewWriter(&z, flate.BestSpeed)
				fw.Write(ds)
				fw.Close()
				ds = z.Bytes()
			}
			out, err := coerce(t, append(meta, ds...), Changes{PatientName: "MÜLLER^JÜRGEN", PatientID: "MRN1"}, testMod)
			if err != nil {
				t.Fatalf("Coerce: %v", err)
			}
			p := filepath.Join(t.TempDir(), "short.dcm")
			writeFile(t, p, out)
			d, warnings := dcmdump(t, p)
			if warnings != "" {
				t.Errorf("dcmdump warns:\n%s", warnings)
			}
			if v, _ := d.text("0010,0010"); v != "MÜLLER^JÜRGEN" {
				t.Errorf("(0010,0010) = %q", v)
			}
			if last := d.kids[len(d.kids)-1]; last.tag != "0400,0561" || len(last.kids) != 1 {
				t.Errorf("the data set ends with %+v, want (0400,0561) with one item", last)
			}
			if v, _ := d.get("0400,0561").kids[0].text("0400,0564"); v != "Klinikum Süd" {
				t.Errorf("(0400,0564) = %q in a file in UTF-8", v)
			}
		})
	}
}

// splitMeta splits a file into its preamble and meta group, and its data
// set as it is encoded.
func splitMeta(t *testing.T, f []byte) (meta, ds []byte) {
	t.Helper()
	end := 132 + 12 + int(dataset.ExplicitLE.ByteOrder.Uint32(f[140:]))
	return bytes.Clone(f[:end]), f[end:]
}

func TestFitLO(t *testing.T) {
	for _, tt := range []struct {
		in   string
		utf  bool
		want string
	}{
		{"Klinikum Süd", false, "Klinikum Sud"},
		{"Klinikum Süd", true, "Klinikum Süd"},
		{"北京医院", false, "????"},
		{"北京医院", true, "北京医院"},
		{`A\B` + "\nC", false, "A/B C"},
		{"  padded  ", false, "padded"},
		{strings.Repeat("x", 70), false, strings.Repeat("x", 64)},
		{strings.Repeat("ü", 70), true, strings.Repeat("ü", 64)},
		{strings.Repeat("ü", 70), false, strings.Repeat("u", 64)},
	} {
		if got := fitLO(tt.in, tt.utf); got != tt.want {
			t.Errorf("fitLO(%q, %v) = %q, want %q", tt.in, tt.utf, got, tt.want)
		}
		if err := checkValue(tagSourceOfPreviousValues, "LO", fitLO(tt.in, tt.utf)); err != nil {
			t.Errorf("fitLO(%q, %v) is not a valid LO: %v", tt.in, tt.utf, err)
		}
	}
}
