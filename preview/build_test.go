package preview

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"imageshare/internal/dataset"
)

// instance describes a small DICOM file the tests write: the attributes
// rendering reads, and its pixel data as stored.
type instance struct {
	TS          string // default explicit VR little endian
	SOPClass    string // default Secondary Capture Image Storage
	Photometric string // default MONOCHROME2
	Rows, Cols  int
	Frames      int // written when above 1
	Samples     int // default 1
	Planar      int
	Bits        int // allocated, default 16
	Stored      int // default Bits
	HighBit     int // default Stored-1
	Signed      bool
	Window      string // "center\\width", none when empty
	VOIFunction string
	Rescale     [2]string // slope, intercept, none when empty
	Instance    string    // Instance Number, none when empty
	Position    string    // Image Position (Patient), none when empty
	Pixels      []byte    // native: as stored, little endian; JPEG: the frames' streams
	JPEG        [][]byte  // encapsulated frames, for JPEG Baseline
	NoPixels    bool
}

// tag is (group,element) for the builder.
func tg(g, e uint16) dataset.Tag { return dataset.NewTag(g, e) }

// bytes returns the Part 10 file.
func (in instance) bytes() []byte {
	if in.TS == "" {
		in.TS = tsExplicitLE
	}
	if in.SOPClass == "" {
		in.SOPClass = "1.2.840.10008.5.1.4.1.1.7"
	}
	if in.Photometric == "" {
		in.Photometric = "MONOCHROME2"
	}
	if in.Samples == 0 {
		in.Samples = 1
	}
	if in.Bits == 0 {
		in.Bits = 16
	}
	if in.Stored == 0 {
		in.Stored = in.Bits
	}
	if in.HighBit == 0 {
		in.HighBit = in.Stored - 1
	}
	sop := "2.25.1" + fmt.Sprint(len(in.Pixels)) + in.Instance
	le := dataset.ExplicitLE
	var meta []byte
	meta = le.AppendHeader(meta, tg(2, 1), "OB", 2)
	meta = append(meta, 0, 1)
	meta = le.AppendText(meta, tg(2, 2), "UI", in.SOPClass)
	meta = le.AppendText(meta, tg(2, 3), "UI", sop)
	meta = le.AppendText(meta, tg(2, 0x10), "UI", in.TS)

	ts := dataset.SyntaxOf(in.TS)
	if ts.Deflated {
		ts = dataset.ExplicitLE
	}
	var d []byte
	d = ts.AppendText(d, tg(8, 0x16), "UI", in.SOPClass)
	d = ts.AppendText(d, tg(8, 0x18), "UI", sop)
	d = ts.AppendText(d, tg(8, 0x60), "CS", "OT")
	d = ts.AppendText(d, tg(0x10, 0x10), "PN", "TEST^PREVIEW")
	d = ts.AppendText(d, tg(0x10, 0x20), "LO", "PREVIEW1")
	d = ts.AppendText(d, tg(0x20, 0xd), "UI", "2.25.42")
	d = ts.AppendText(d, tg(0x20, 0xe), "UI", "2.25.43")
	if in.Instance != "" {
		d = ts.AppendText(d, tg(0x20, 0x13), "IS", in.Instance)
	}
	if in.Position != "" {
		d = ts.AppendText(d, tg(0x20, 0x32), "DS", in.Position)
		d = ts.AppendText(d, tg(0x20, 0x37), "DS", "1\\0\\0\\0\\1\\0")
	}
	if !in.NoPixels { // no Image Pixel module
		d = in.appendImagePixel(d, ts)
	}
	return in.finish(meta, in.appendPixelData(d, ts))
}

// appendImagePixel appends the Image Pixel module but Pixel Data.
func (in instance) appendImagePixel(d []byte, ts dataset.Syntax) []byte {
	us := func(b []byte, t dataset.Tag, v int) []byte {
		b = ts.AppendHeader(b, t, "US", 2)
		return ts.ByteOrder.AppendUint16(b, uint16(v))
	}
	d = us(d, tg(0x28, 2), in.Samples)
	d = ts.AppendText(d, tg(0x28, 4), "CS", in.Photometric)
	if in.Samples > 1 {
		d = us(d, tg(0x28, 6), in.Planar)
	}
	if in.Frames > 1 {
		d = ts.AppendText(d, tg(0x28, 8), "IS", fmt.Sprint(in.Frames))
	}
	d = us(d, tg(0x28, 0x10), in.Rows)
	d = us(d, tg(0x28, 0x11), in.Cols)
	d = us(d, tg(0x28, 0x100), in.Bits)
	d = us(d, tg(0x28, 0x101), in.Stored)
	d = us(d, tg(0x28, 0x102), in.HighBit)
	rep := 0
	if in.Signed {
		rep = 1
	}
	d = us(d, tg(0x28, 0x103), rep)
	if in.Window != "" {
		cw := strings.SplitN(in.Window, "\\", 2)
		d = ts.AppendText(d, tg(0x28, 0x1050), "DS", cw[0])
		d = ts.AppendText(d, tg(0x28, 0x1051), "DS", cw[1])
	}
	if in.Rescale[0] != "" {
		d = ts.AppendText(d, tg(0x28, 0x1052), "DS", in.Rescale[1])
		d = ts.AppendText(d, tg(0x28, 0x1053), "DS", in.Rescale[0])
	}
	if in.VOIFunction != "" {
		d = ts.AppendText(d, tg(0x28, 0x1056), "CS", in.VOIFunction)
	}
	return d
}

// appendPixelData appends Pixel Data.
func (in instance) appendPixelData(d []byte, ts dataset.Syntax) []byte {
	switch {
	case in.NoPixels:
	case in.JPEG != nil:
		d = ts.AppendHeader(d, tg(0x7fe0, 0x10), "OB", dataset.UndefinedLength)
		d = ts.AppendItem(d, nil) // an empty offset table
		for _, f := range in.JPEG {
			if len(f)%2 == 1 {
				f = append(f[:len(f):len(f)], 0)
			}
			d = ts.AppendItem(d, f)
		}
		d = ts.AppendHeader(d, dataset.SequenceDelimitationTag, "", 0)
	default:
		vr := "OW"
		if in.Bits == 8 {
			vr = "OB"
		}
		px := in.Pixels
		if ts.ByteOrder == binary.BigEndian && in.Bits == 16 {
			px = make([]byte, len(in.Pixels))
			for i := 0; i+1 < len(px); i += 2 {
				px[i], px[i+1] = in.Pixels[i+1], in.Pixels[i]
			}
		}
		if len(px)%2 == 1 {
			px = append(px[:len(px):len(px)], 0)
		}
		d = ts.AppendHeader(d, tg(0x7fe0, 0x10), vr, uint32(len(px)))
		d = append(d, px...)
	}
	return d
}

// finish returns the file of meta group and data set d.
func (in instance) finish(meta, d []byte) []byte {
	le := dataset.ExplicitLE
	if dataset.SyntaxOf(in.TS).Deflated {
		var z bytes.Buffer
		w, _ := flate.NewWriter(&z, flate.BestSpeed)
		w.Write(d)
		w.Close()
		d = z.Bytes()
	}

	out := make([]byte, 128, 128+4+12+len(meta)+len(d))
	out = append(out, "DICM"...)
	out = le.AppendHeader(out, tg(2, 0), "UL", 4)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(meta)))
	out = append(out, meta...)
	return append(out, d...)
}

// write writes the file into dir as name and returns its path.
func (in instance) write(t testing.TB, dir, name string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, in.bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// words returns 16-bit samples as little-endian bytes.
func words(v []uint16) []byte {
	b := make([]byte, 0, 2*len(v))
	for _, x := range v {
		b = binary.LittleEndian.AppendUint16(b, x)
	}
	return b
}

// ramp returns rows×cols 16-bit samples rising from lo by step along each row.
func ramp(rows, cols int, lo, step int) []uint16 {
	v := make([]uint16, rows*cols)
	for i := range v {
		v[i] = uint16(lo + (i%cols)*step)
	}
	return v
}
