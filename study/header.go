package study

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"unique"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/tag"

	"imageshare/internal/dataset"
)

// mediaDirectoryClass is the SOP class of a DICOMDIR.
const mediaDirectoryClass = "1.2.840.10008.1.3.10"

// headerBuffer is the read buffer of the parser. The library's 132-byte
// peek must fit in it.
const headerBuffer = 32 << 10

// instance is what the scanner keeps of one file's header.
type instance struct {
	studyUID, seriesUID, sopUID, sopClassUID, mediaClassUID, tsUID, modality string
	patientName, patientID, issuer, birthDate, sex                           string
	studyDate, studyTime, studyDesc, accession, institution                  string
	seriesDesc, studyID, referringPhysician                                  string
	seriesNumber, instanceNumber                                             int
}

// isDICOMDIR reports whether the file is a media directory, not an instance.
func (in *instance) isDICOMDIR() bool {
	return in.sopClassUID == mediaDirectoryClass || in.mediaClassUID == mediaDirectoryClass
}

// fields maps the top-level elements the scanner keeps to where they go.
var fields = map[tag.Tag]func(*instance) *string{
	tag.StudyInstanceUID:        func(in *instance) *string { return &in.studyUID },
	tag.SeriesInstanceUID:       func(in *instance) *string { return &in.seriesUID },
	tag.SOPInstanceUID:          func(in *instance) *string { return &in.sopUID },
	tag.SOPClassUID:             func(in *instance) *string { return &in.sopClassUID },
	tag.MediaStorageSOPClassUID: func(in *instance) *string { return &in.mediaClassUID },
	tag.TransferSyntaxUID:       func(in *instance) *string { return &in.tsUID },
	tag.Modality:                func(in *instance) *string { return &in.modality },
	tag.PatientName:             func(in *instance) *string { return &in.patientName },
	tag.PatientID:               func(in *instance) *string { return &in.patientID },
	tag.IssuerOfPatientID:       func(in *instance) *string { return &in.issuer },
	tag.PatientBirthDate:        func(in *instance) *string { return &in.birthDate },
	tag.PatientSex:              func(in *instance) *string { return &in.sex },
	tag.StudyDate:               func(in *instance) *string { return &in.studyDate },
	tag.StudyTime:               func(in *instance) *string { return &in.studyTime },
	tag.StudyDescription:        func(in *instance) *string { return &in.studyDesc },
	tag.AccessionNumber:         func(in *instance) *string { return &in.accession },
	tag.InstitutionName:         func(in *instance) *string { return &in.institution },
	tag.SeriesDescription:       func(in *instance) *string { return &in.seriesDesc },
	tag.StudyID:                 func(in *instance) *string { return &in.studyID },
	tag.ReferringPhysicianName:  func(in *instance) *string { return &in.referringPhysician },
}

// parseOptions are the options of every parser. Pixel data is never read:
// the top-level one lies past the end the parser is given, and one nested
// (an icon) is skipped.
var parseOptions = []dicom.ParseOption{
	dicom.SkipPixelData(),
	dicom.AllowUnknownSpecificCharacterSet(),
}

// readInstance reads the header of one file of size bytes.
//
// It first walks the file's structure, header by header, checking every
// length against what holds it (validate): that finds truncated files, which
// the library does not always notice, and keeps the library from allocating
// a length that no byte backs, which it does before reading a value. The
// library then parses the data set up to the pixel data, from a stream that
// starts with a meta group made here: so it never infers a transfer syntax
// (inferring, it allocates the first element's length in each syntax it
// tries) and never sees the pixel data.
func readInstance(ra io.ReaderAt, size int64) (in *instance, err error) {
	defer func() {
		// The library panics on some malformed input, such as a value of
		// an unexpected type where it calls MustGetStrings.
		if r := recover(); r != nil {
			in, err = nil, fmt.Errorf("%w: the parser failed: %v", ErrMalformed, r)
		}
	}()
	if size == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrNotDICOM)
	}
	head := make([]byte, 132)
	n, _ := ra.ReadAt(head, 0)
	head = head[:n]

	in = &instance{}
	var ts dataset.Syntax
	var start int64 // where the data set starts
	bare := n < 132 || string(head[128:]) != "DICM"
	if bare {
		if ts, err = bareSyntax(ra, size, head); err != nil {
			return nil, err
		}
	} else {
		var meta metaGroup
		if meta, err = readMeta(ra, size); err != nil {
			return nil, err
		}
		if meta.ts == "" {
			return nil, fmt.Errorf("%w: the meta group has no Transfer Syntax UID (0002,0010)", ErrMalformed)
		}
		in.tsUID, in.mediaClassUID = meta.ts, meta.class
		// A syntax the library does not know, such as HTJ2K, is explicit VR
		// little endian here; the library would set a nil byte order for
		// it and panic on the next read.
		start, ts = meta.end, dataset.SyntaxOf(meta.ts)
	}

	// The data set, and where to read it from again for the library. from
	// is its first byte in the validator's offsets: those of the file, or
	// of the inflated data set.
	var c cursor
	var reopen func() io.Reader
	from := start
	if ts.Deflated {
		deflated := func() io.Reader { return flate.NewReader(io.NewSectionReader(ra, start, size-start)) }
		c = &dataset.StreamSource{R: bufio.NewReaderSize(deflated(), headerBuffer), Truncated: ErrTruncated}
		reopen, from, ts = deflated, 0, dataset.ExplicitLE
	} else {
		c = &dataset.FileSource{R: ra, Off: start, Size: size}
		reopen = func() io.Reader { return io.NewSectionReader(ra, start, size-start) }
	}
	v := newValidator(c, ts, bare)
	if err := v.dataset(); err != nil {
		return nil, err
	}
	if v.rows && !v.pixel {
		// A file cut at the start of its pixel data ends where an element
		// ends; an image without pixel data is as useless.
		return nil, fmt.Errorf("%w: the file ends before its pixel data", ErrTruncated)
	}
	length := v.end - from
	if v.pixel {
		length = v.pixelAt - from
	}
	where := func(at int64) string { return c.Where(from + at) }
	if err := parseDataSet(in, io.LimitReader(reopen(), length), length, ts, bare, v.w.Syntax, where); err != nil {
		return nil, err
	}
	if in.tsUID == "" {
		in.tsUID = ts.UID() // no meta group: the syntax inferred
	}
	in.intern()
	return in, nil
}

// intern replaces the values that files of a study share (all but the SOP
// Instance UID and the instance number) with one canonical copy each, so
// that what a scan keeps grows by the SOP Instance UID a file, not by
// every attribute of every file: a 4 GB study has 8,000 files.
func (in *instance) intern() {
	for _, s := range []*string{
		&in.studyUID, &in.seriesUID, &in.sopClassUID, &in.mediaClassUID, &in.tsUID, &in.modality,
		&in.patientName, &in.patientID, &in.issuer, &in.birthDate, &in.sex,
		&in.studyDate, &in.studyTime, &in.studyDesc, &in.accession, &in.institution,
		&in.seriesDesc, &in.studyID, &in.referringPhysician,
	} {
		*s = unique.Make(*s).Value()
	}
}

// metaGroup is what the scanner needs of a file's meta group.
type metaGroup struct {
	end       int64 // where the data set starts
	ts, class string
}

// readMeta reads the meta group after the preamble: explicit VR little
// endian elements of group 0002, as many as its group length says or, when
// it has none, as long as they are of group 0002.
func readMeta(ra io.ReaderAt, size int64) (metaGroup, error) {
	c := &dataset.FileSource{R: ra, Off: 132, Size: size}
	var m metaGroup
	groupEnd := int64(-1)
	for first := true; ; first = false {
		if groupEnd >= 0 && c.Off >= groupEnd {
			if c.Off > groupEnd {
				return m, fmt.Errorf("%w: an element runs past the end of the meta group at byte %d", ErrMalformed, groupEnd)
			}
			break
		}
		b, err := c.Peek(12)
		if err != nil {
			return m, err
		}
		if len(b) < 8 && groupEnd < 0 && !first {
			break // nothing after the meta group
		}
		h, err := decodeHeader(b, dataset.ExplicitLE)
		if err != nil {
			return m, fmt.Errorf("%w: the file ends inside its meta group", ErrTruncated)
		}
		if h.Tag.Group() != tag.MetadataGroup {
			if first {
				return m, fmt.Errorf("%w: element %s where the meta group should start", ErrMalformed, tagName(h.Tag))
			}
			break // no group length: the group ends where group 0002 does
		}
		if h.Undefined() || h.Length > 1<<16 {
			return m, fmt.Errorf("%w: meta element %s has length %d", ErrMalformed, tagName(h.Tag), h.Length)
		}
		c.Off += int64(h.Size)
		value, err := c.Peek(int(h.Length))
		if err != nil {
			return m, err
		}
		if len(value) < int(h.Length) {
			return m, fmt.Errorf("%w: the file ends inside its meta group", ErrTruncated)
		}
		switch {
		case first && libTag(h.Tag) == tag.FileMetaInformationGroupLength && h.VR == "UL" && h.Length == 4:
			groupEnd = c.Off + 4 + int64(binary.LittleEndian.Uint32(value))
			if groupEnd > size {
				return m, fmt.Errorf("%w: the meta group ends at byte %d, after the end of the file (%d bytes)", ErrTruncated, groupEnd, size)
			}
		case libTag(h.Tag) == tag.TransferSyntaxUID:
			m.ts = trimValue(value)
		case libTag(h.Tag) == tag.MediaStorageSOPClassUID:
			m.class = trimValue(value)
		}
		c.Off += int64(h.Length)
	}
	m.end = c.Off
	return m, nil
}

func trimValue(b []byte) string { return strings.Trim(string(b), " \x00") }

// bareSyntax finds the transfer syntax of a file without preamble. It must
// start with an element of group 0002 (a meta group written without
// preamble) or 0008 (ACR-NEMA style, no meta group), in either byte order;
// its syntax is the first of implicit VR little endian, explicit VR big
// endian and explicit VR little endian that reads its first element from
// the first 100 bytes, as the library would infer it.
func bareSyntax(ra io.ReaderAt, size int64, head []byte) (dataset.Syntax, error) {
	if len(head) < 8 || size < 132 {
		// The library peeks 132 bytes before anything else.
		return dataset.Syntax{}, fmt.Errorf("%w: %d bytes is too short", ErrNotDICOM, size)
	}
	le, be := binary.LittleEndian.Uint16(head), binary.BigEndian.Uint16(head)
	if le != 0x0002 && le != 0x0008 && be != 0x0008 {
		return dataset.Syntax{}, fmt.Errorf("%w: no DICM prefix at byte 128 and no DICOM element at the start", ErrNotDICOM)
	}
	first := head[:100]
	for _, ts := range []dataset.Syntax{dataset.ImplicitLE, dataset.ExplicitBE, dataset.ExplicitLE} {
		w := newWalker(&dataset.FileSource{R: bytes.NewReader(first), Size: int64(len(first))}, ts)
		if err := w.Element(-1, 0); err == nil {
			return ts, nil
		}
	}
	return dataset.Syntax{}, fmt.Errorf("%w: no DICM prefix, and no transfer syntax reads its first element", ErrNotDICOM)
}

// parseDataSet parses the n bytes of data set in r with the library, after a
// meta group made here that names ts, and keeps the elements in needs. In a
// bare file, after syntax applies once its meta group ends.
func parseDataSet(in *instance, r io.Reader, n int64, ts dataset.Syntax, bare bool, after dataset.Syntax, where func(int64) string) error {
	prefix := fakeMeta(ts)
	cr := &countingReader{r: io.MultiReader(bytes.NewReader(prefix), r)}
	// bufio.NewReader inside the library returns this reader as is (it is
	// large enough), so the library reads through it and pos() is exact.
	br := bufio.NewReaderSize(cr, headerBuffer)
	total := int64(len(prefix)) + n
	p, err := dicom.NewParser(br, total, nil, parseOptions...)
	if err != nil {
		return fmt.Errorf("%w: reading the meta group made for the parser: %w", ErrMalformed, err)
	}
	p.SetTransferSyntax(ts.ByteOrder, ts.Implicit)
	pos := func() int64 { return cr.n - int64(br.Buffered()) - int64(len(prefix)) }

	inMeta := bare
	for pos() < n {
		at := pos()
		b, _ := br.Peek(int(min(n-at, 12)))
		h, err := decodeHeader(b, ts)
		if err != nil {
			return err
		}
		if inMeta && h.Tag.Group() != tag.MetadataGroup {
			// A meta group without preamble is read as part of the data
			// set; the syntax it names applies after it, as validate found.
			inMeta = false
			if ts != after {
				ts = after
				p.SetTransferSyntax(ts.ByteOrder, ts.Implicit)
				if h, err = decodeHeader(b, ts); err != nil {
					return err
				}
			}
		}
		if libTag(h.Tag) == tag.SpecificCharacterSet && h.VR == "UN" {
			// The library panics on a character set it did not read as
			// text. Skipping it leaves the parser counting fewer bytes than
			// it read, which only loosens its own check of the end.
			if _, err := br.Discard(h.Size + int(h.Length)); err != nil {
				return err
			}
			continue
		}
		e, err := p.Next()
		if err != nil {
			if errors.Is(err, dicom.ErrorEndOfDICOM) {
				return nil
			}
			return fmt.Errorf("%w: reading element %s %s: %w", ErrMalformed, tagName(h.Tag), where(at), err)
		}
		in.set(e)
	}
	return nil
}

// fakeMeta is a preamble and a meta group that name ts, for the library.
func fakeMeta(ts dataset.Syntax) []byte {
	value := ts.UID()
	if len(value)%2 == 1 {
		value += "\x00"
	}
	var b bytes.Buffer
	b.Write(make([]byte, 128))
	b.WriteString("DICM")
	le := binary.LittleEndian
	b.Write([]byte{0x02, 0x00, 0x00, 0x00, 'U', 'L', 4, 0})
	b.Write(le.AppendUint32(nil, uint32(8+len(value))))
	b.Write([]byte{0x02, 0x00, 0x10, 0x00, 'U', 'I'})
	b.Write(le.AppendUint16(nil, uint16(len(value))))
	b.WriteString(value)
	return b.Bytes()
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// set keeps e if the scanner needs it.
func (in *instance) set(e *dicom.Element) {
	switch e.Tag {
	case tag.SeriesNumber:
		in.seriesNumber = atoi(firstString(e))
		return
	case tag.InstanceNumber:
		in.instanceNumber = atoi(firstString(e))
		return
	}
	if f, ok := fields[e.Tag]; ok {
		if p := f(in); *p == "" {
			*p = firstString(e)
		}
	}
}

// firstString returns the first value of a string element, or of a byte
// element read with VR UN, trimmed as DICOM pads it.
func firstString(e *dicom.Element) string {
	if e.Value == nil {
		return ""
	}
	var s string
	switch v := e.Value.GetValue().(type) {
	case []string:
		if len(v) == 0 {
			return ""
		}
		s = v[0]
	case []byte:
		s, _, _ = strings.Cut(string(v), `\`)
	default:
		return ""
	}
	return strings.Trim(s, " \x00")
}

func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(s), "+"))
	if err != nil {
		return 0
	}
	return n
}

// tagName formats a tag as "(0010,0010) PatientName".
func tagName(t dataset.Tag) string {
	name := t.String()
	if info, err := tag.Find(libTag(t)); err == nil && info.Keyword != "" {
		name += " " + info.Keyword
	}
	return name
}

// StudyModule is the General Study module of one instance as far as a new
// instance of the same study (a report) must repeat it.
type StudyModule struct {
	StudyInstanceUID, StudyID, StudyDate, StudyTime, StudyDescription string
	AccessionNumber, ReferringPhysicianName                           string
}

// ReadStudyModule reads the study-level attributes of the DICOM file at
// path, with the scanner's checks.
func ReadStudyModule(path string) (StudyModule, error) {
	f, err := os.Open(path)
	if err != nil {
		return StudyModule{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return StudyModule{}, err
	}
	in, err := readInstance(f, fi.Size())
	if err != nil {
		return StudyModule{}, &FileError{Path: path, Err: err}
	}
	return StudyModule{StudyInstanceUID: in.studyUID, StudyID: in.studyID, StudyDate: in.studyDate, StudyTime: in.studyTime,
		StudyDescription: in.studyDesc, AccessionNumber: in.accession, ReferringPhysicianName: in.referringPhysician}, nil
}
