package dataset

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestSyntaxOf(t *testing.T) {
	deflated := Syntax{ByteOrder: binary.LittleEndian, Deflated: true}
	for _, c := range []struct {
		uid   string
		want  Syntax
		plain string
	}{
		{UIDImplicitVRLittleEndian, ImplicitLE, UIDImplicitVRLittleEndian},
		{UIDExplicitVRLittleEndian, ExplicitLE, UIDExplicitVRLittleEndian},
		{UIDExplicitVRBigEndian, ExplicitBE, UIDExplicitVRBigEndian},
		{UIDDeflatedExplicitVRLittleEndian, deflated, UIDExplicitVRLittleEndian},
		{UIDJPIPReferencedDeflate, deflated, UIDExplicitVRLittleEndian},
		{"1.2.840.10008.1.2.4.90", ExplicitLE, UIDExplicitVRLittleEndian},  // JPEG 2000
		{"1.2.840.10008.1.2.4.201", ExplicitLE, UIDExplicitVRLittleEndian}, // HTJ2K
		{"1.2.3.4", ExplicitLE, UIDExplicitVRLittleEndian},                 // none defined
		{"", ExplicitLE, UIDExplicitVRLittleEndian},
	} {
		ts := SyntaxOf(c.uid)
		if ts != c.want || ts.UID() != c.plain {
			t.Errorf("SyntaxOf(%q) = %+v (%s), want %+v (%s)", c.uid, ts, ts.UID(), c.want, c.plain)
		}
	}
}

func TestVRClasses(t *testing.T) {
	long := "OB OD OF OL OV OW SQ SV UC UN UR UT UV"
	short := "AE AS AT CS DA DS DT FL FD IS LO LT PN SH SL SS ST TM UI UL US"
	for _, vr := range strings.Fields(long) {
		if !LongVR(vr) || ShortVR(vr) || !KnownVR(vr) {
			t.Errorf("%s: long %v, short %v", vr, LongVR(vr), ShortVR(vr))
		}
	}
	for _, vr := range strings.Fields(short) {
		if LongVR(vr) || !ShortVR(vr) || !KnownVR(vr) {
			t.Errorf("%s: long %v, short %v", vr, LongVR(vr), ShortVR(vr))
		}
	}
	for _, vr := range []string{"", "XX", "ob", "NA", "\x00\x00"} {
		if KnownVR(vr) {
			t.Errorf("%q known", vr)
		}
	}
}

// TestHeader round-trips headers of each shape and cuts them at every
// length short of whole.
func TestHeader(t *testing.T) {
	for _, ts := range []Syntax{ImplicitLE, ExplicitLE, ExplicitBE} {
		for _, c := range []struct {
			tag  Tag
			vr   string
			n    uint32
			size int
		}{
			{0x00100010, "PN", 8, 8},
			{0x00100010, "PN", 0xFFFF, 8},
			{0x7FE00010, "OW", 1 << 20, 12},
			{0x00081140, "SQ", UndefinedLength, 12},
			{ItemTag, "", UndefinedLength, 8},
			{SequenceDelimitationTag, "", 0, 8},
			{0x00091010, "XX", 4, 8}, // not a VR PS3.5 defines: read with a 16-bit length
		} {
			name := fmt.Sprintf("%s %s %s", ts.UID(), c.tag, c.vr)
			b := ts.AppendHeader(nil, c.tag, c.vr, c.n)
			want := Header{Tag: c.tag, VR: c.vr, Length: c.n, Size: c.size}
			if ts.Implicit {
				want.VR, want.Size = "", 8
			}
			if c.tag.Group() == ItemGroup {
				want.VR = ""
			}
			if len(b) != want.Size {
				t.Errorf("%s: %d bytes written, want %d", name, len(b), want.Size)
			}
			if h, ok := ts.DecodeHeader(append(b, 1, 2, 3, 4)); !ok || h != want {
				t.Errorf("%s: read %+v %v, want %+v", name, h, ok, want)
			}
			for n := range len(b) {
				if h, ok := ts.DecodeHeader(b[:n]); ok {
					t.Errorf("%s: %d bytes read as %+v", name, n, h)
				}
			}
		}
	}
	// A reader may read VRs otherwise: NA as long.
	b := ExplicitLE.AppendHeader(nil, 0x00091010, "NA", 6)
	b = append(b[:6], 0, 0, 6, 0, 0, 0)
	h, ok := ExplicitLE.DecodeHeaderAs(b, func(vr string) bool { return vr == "NA" })
	if !ok || h.Size != 12 || h.Length != 6 {
		t.Errorf("NA as long: %+v %v", h, ok)
	}
}

func TestAppendText(t *testing.T) {
	for _, c := range []struct {
		vr, s, want string
	}{
		{"UI", "1.2.3", "1.2.3\x00"},
		{"UI", "1.23", "1.23"},
		{"LO", "ABC", "ABC "},
		{"LO", "", ""},
	} {
		b := ExplicitLE.AppendText(nil, 0x00100020, c.vr, c.s)
		if got := string(b[8:]); got != c.want || int(binary.LittleEndian.Uint16(b[6:])) != len(c.want) {
			t.Errorf("%s %q: %q", c.vr, c.s, b)
		}
	}
	seq := ImplicitLE.AppendSequence(nil, 0x00081140, []byte("ab"), nil)
	want := "\x08\x00\x40\x11\x12\x00\x00\x00" + "\xfe\xff\x00\xe0\x02\x00\x00\x00ab" + "\xfe\xff\x00\xe0\x00\x00\x00\x00"
	if string(seq) != want {
		t.Errorf("sequence: %q, want %q", seq, want)
	}
}

var (
	errTruncated = errors.New("truncated")
	errMalformed = errors.New("malformed")
)

// testLayout lays out values as PS3.5 does: SQ, UN of undefined length
// (implicit VR inside), and encapsulated OB.
func testLayout(h Header, ts Syntax) (Layout, Syntax) {
	switch {
	case h.VR == "SQ" || ts.Implicit && h.Undefined():
		return Sequence, ts
	case h.VR == "UN" && h.Undefined():
		return Sequence, ImplicitLE
	case h.VR == "OB":
		return Fragments, ts
	}
	return Bytes, ts
}

// sample is a data set in ts with sequences and items of defined and
// undefined length, a UN sequence and encapsulated data.
func sample(ts Syntax) []byte {
	item := ts.AppendText(nil, 0x00081150, "UI", "1.2.3")
	b := ts.AppendText(nil, 0x00080060, "CS", "CT")
	b = ts.AppendSequence(b, 0x00081140, item, item)
	b = ts.AppendHeader(b, 0x00081199, "SQ", UndefinedLength)
	b = ts.AppendHeader(b, ItemTag, "", UndefinedLength)
	b = ts.AppendSequence(b, 0x00081140, item)
	b = ts.AppendHeader(b, ItemDelimitationTag, "", 0)
	b = ts.AppendItem(b, item)
	b = ts.AppendHeader(b, SequenceDelimitationTag, "", 0)
	if !ts.Implicit {
		b = ts.AppendHeader(b, 0x00091010, "UN", UndefinedLength)
		b = ImplicitLE.AppendItem(b, ImplicitLE.AppendText(nil, 0x00091011, "", "X"))
		b = ImplicitLE.AppendHeader(b, SequenceDelimitationTag, "", 0)
		b = ts.AppendHeader(b, 0x7FE00010, "OB", UndefinedLength)
		b = ts.AppendItem(b, nil)
		b = ts.AppendItem(b, []byte{1, 2, 3, 4})
		b = ts.AppendHeader(b, SequenceDelimitationTag, "", 0)
	}
	return b
}

// walk walks all of b and returns its events, one a line.
func walk(src interface {
	Source
	More() (bool, error)
}, ts Syntax) (string, error) {
	var events strings.Builder
	w := &Walker{Source: src, Syntax: ts, Layout: testLayout, Truncated: errTruncated, Malformed: errMalformed,
		Visit: func(ev Event) error {
			fmt.Fprintf(&events, "%d %s %d at %d depth %d layout %d\n", ev.Kind, ev.Header.Tag, ev.Header.Length, ev.At, ev.Depth, ev.Layout)
			return nil
		}}
	for {
		more, err := src.More()
		if err != nil {
			return events.String(), err
		}
		if !more {
			return events.String(), nil
		}
		if err := w.Element(-1, 0); err != nil {
			return events.String(), err
		}
	}
}

func TestWalk(t *testing.T) {
	for _, ts := range []Syntax{ImplicitLE, ExplicitLE, ExplicitBE} {
		b := sample(ts)
		events, err := walk(&FileSource{R: bytes.NewReader(b), Size: int64(len(b))}, ts)
		if err != nil {
			t.Fatalf("%s: %v", ts.UID(), err)
		}
		// Every element and item starts and ends; a stream walks the same.
		count := map[string]int{}
		for line := range strings.Lines(events) {
			kind, _, _ := strings.Cut(line, " ")
			count[kind]++
		}
		elements, items := 11, 6
		if ts.Implicit {
			elements, items = 5, 2 // no VR: sequences of defined length are values
		}
		want := map[string]int{"0": elements, "1": items, "2": items, "3": elements}
		if fmt.Sprint(count) != fmt.Sprint(want) {
			t.Errorf("%s: events %v, want %v:\n%s", ts.UID(), count, want, events)
		}
		stream, err := walk(&StreamSource{R: bufio.NewReader(bytes.NewReader(b)), Truncated: errTruncated}, ts)
		if err != nil || stream != events {
			t.Errorf("%s: as a stream: %v\n%s\nwant\n%s", ts.UID(), err, stream, events)
		}
		// Cut anywhere, the walk fails as truncated or malformed, or
		// ends where an element does.
		for n := range len(b) {
			_, err := walk(&FileSource{R: bytes.NewReader(b[:n]), Size: int64(n)}, ts)
			if err != nil && !errors.Is(err, errTruncated) && !errors.Is(err, errMalformed) {
				t.Errorf("%s cut at %d: %v", ts.UID(), n, err)
			}
		}
	}
}

func TestWalkErrors(t *testing.T) {
	ts := ExplicitLE
	item := ts.AppendText(nil, 0x00100010, "PN", "DOE")
	deep := item
	for range MaxDepth + 1 {
		deep = ts.AppendSequence(nil, 0x00081140, deep)
	}
	long := ts.AppendSequence(nil, 0x00081140, item)
	long[len(long)-len(item)-4]++ // the item is a byte longer than the sequence holds
	long = append(long, item...)
	for _, c := range []struct {
		name string
		b    []byte
		err  error
		msg  string
	}{
		{"depth", deep, errMalformed, "sequences nested deeper than 64 at byte 1280"},
		{"past its sequence", long, errMalformed, "element (0008,1140) at byte 0 runs past the end of what holds it"},
		{"item outside", ts.AppendItem(nil, item), errMalformed, "(FFFE,E000) at byte 0 outside a sequence"},
		{"undefined text", ts.AppendHeader(nil, 0x00100010, "UT", UndefinedLength), errMalformed, "element (0010,0010) at byte 0 has an undefined length"},
		{"value cut", item[:len(item)-1], errTruncated, "element (0010,0010) at byte 0 needs 4 bytes, 3 are left"},
		{"header cut", item[:6], errTruncated, "the last 6 bytes are not a whole element at byte 0"},
		{"undelimited", ts.AppendHeader(nil, 0x00081140, "SQ", UndefinedLength), errTruncated, "the data ends inside element (0008,1140) at byte 0, before the delimiter that ends it"},
		{"fragment of undefined length", append(ts.AppendHeader(nil, 0x7FE00010, "OB", UndefinedLength), ts.AppendHeader(nil, ItemTag, "", UndefinedLength)...),
			errMalformed, "(FFFE,E000) of length 4294967295 as item 0 of (7FE0,0010) at byte 0"},
	} {
		_, err := walk(&FileSource{R: bytes.NewReader(c.b), Size: int64(len(c.b))}, ts)
		if !errors.Is(err, c.err) || !strings.HasSuffix(err.Error(), c.msg) {
			t.Errorf("%s: %v, want %v: ...%s", c.name, err, c.err, c.msg)
		}
	}
}

// FuzzWalk walks any bytes in each syntax: it must end, without a panic,
// at the end of the data or with an error that says truncated or
// malformed. Seeds: the samples of TestWalk.
func FuzzWalk(f *testing.F) {
	seeds := 0
	for _, ts := range []Syntax{ImplicitLE, ExplicitLE, ExplicitBE} {
		f.Add(sample(ts))
		seeds++
	}
	if seeds == 0 {
		f.Fatal("no seeds")
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, ts := range []Syntax{ImplicitLE, ExplicitLE, ExplicitBE} {
			src := &FileSource{R: bytes.NewReader(b), Size: int64(len(b))}
			_, err := walk(src, ts)
			switch {
			case err == nil && src.Off != src.Size:
				t.Fatalf("%s: walked to %d of %d bytes", ts.UID(), src.Off, src.Size)
			case err != nil && !errors.Is(err, errTruncated) && !errors.Is(err, errMalformed):
				t.Fatalf("%s: %v", ts.UID(), err)
			}
		}
	})
}

func TestDictionaryVR(t *testing.T) {
	for _, c := range []struct {
		tag Tag
		vr  string
	}{
		{0x00100010, "PN"},
		{0x00081140, "SQ"},
		{0x00080018, "UI"},
		{0x00080000, "UL"}, // group length
		{0x00190010, "LO"}, // private creator
		{0x00191010, ""},   // private
		{0x60023000, "OB"}, // overlay data in a repeating group, as (6000,3000)
		{0x00000001, ""},   // not in the dictionary
	} {
		if got := DictionaryVR(c.tag); got != c.vr {
			t.Errorf("%s: %q, want %q", c.tag, got, c.vr)
		}
	}
}
