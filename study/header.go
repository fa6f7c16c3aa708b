package study

import (
	"bufio"
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/suyashkumar/dicom"
	"github.com/suyashkumar/dicom/pkg/dicomio"
	"github.com/suyashkumar/dicom/pkg/tag"
	"github.com/suyashkumar/dicom/pkg/uid"
)

// mediaDirectoryClass is the SOP class of a DICOMDIR.
const mediaDirectoryClass = "1.2.840.10008.1.3.10"

// undefinedLength is the value length of a sequence or of encapsulated pixel
// data that ends with a delimitation item.
const undefinedLength = 0xFFFFFFFF

// headerBuffer is the read buffer of one file. The library's own 100-byte
// and 132-byte peeks must fit in it.
const headerBuffer = 32 << 10

// instance is what the scanner keeps of one file's header.
type instance struct {
	studyUID, seriesUID, sopUID, sopClassUID, mediaClassUID, tsUID, modality string
	patientName, patientID, issuer, birthDate, sex                           string
	studyDate, studyTime, studyDesc, accession, institution                  string
	seriesDesc                                                               string
	seriesNumber, instanceNumber                                             int

	hasRows, hasPixelData bool
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
}

// syntax is a transfer syntax as far as parsing is concerned.
type syntax struct {
	bo       binary.ByteOrder
	implicit bool
	deflated bool
}

var (
	implicitLE = syntax{bo: binary.LittleEndian, implicit: true}
	explicitLE = syntax{bo: binary.LittleEndian}
	explicitBE = syntax{bo: binary.BigEndian}
)

// syntaxOf maps a Transfer Syntax UID to its encoding. Every transfer syntax
// but these is explicit VR little endian (PS3.5 A.4), including those the
// library does not know, such as HTJ2K: for them it would set a nil byte
// order and panic on the next read.
func syntaxOf(ts string) syntax {
	switch ts {
	case uid.ImplicitVRLittleEndian:
		return implicitLE
	case uid.ExplicitVRBigEndian:
		return explicitBE
	case uid.DeflatedExplicitVRLittleEndian:
		return syntax{bo: binary.LittleEndian, deflated: true}
	}
	return explicitLE
}

// countingReader counts the bytes read through it, so that the scanner knows
// where in the file the parser is: position = n - buffered.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// stream is a data set being parsed: the parser, the buffered reader under
// it, and how to tell the position in the data set.
type stream struct {
	p    *dicom.Parser
	br   *bufio.Reader
	cr   *countingReader
	size int64       // bytes in the stream
	ra   io.ReaderAt // the file, to check encapsulated pixel data; nil when deflated
	ts   syntax
}

func (s *stream) pos() int64 { return s.cr.n - int64(s.br.Buffered()) }

// where says where byte at of the stream is, for messages.
func (s *stream) where(at int64) string {
	if s.ra == nil {
		return fmt.Sprintf("at byte %d of the inflated data set", at)
	}
	return fmt.Sprintf("at byte %d", at)
}

// parseOptions are the options of every parser: pixel data is never read
// (the top-level one is not even reached, see readInstance), and a header
// is read as far as it can be.
var parseOptions = []dicom.ParseOption{
	dicom.SkipPixelData(),
	dicom.AllowMissingMetaElementGroupLength(),
	dicom.AllowUnknownSpecificCharacterSet(),
}

// readInstance reads the header of one file of size bytes: every top-level
// element up to the pixel data, which it checks but does not read.
func readInstance(ra io.ReaderAt, size int64) (in *instance, err error) {
	defer func() {
		// The library panics on some malformed input (MustGetStrings on a
		// value of the wrong type, an empty group length).
		if r := recover(); r != nil {
			in, err = nil, fmt.Errorf("malformed DICOM: the parser failed: %v", r)
		}
	}()
	if size == 0 {
		return nil, fmt.Errorf("%w: empty file", ErrNotDICOM)
	}
	cr := &countingReader{r: io.NewSectionReader(ra, 0, size)}
	// bufio.NewReader inside the library returns this reader as is (it is
	// large enough), so the library reads through it and pos() is exact.
	br := bufio.NewReaderSize(cr, headerBuffer)
	head, _ := br.Peek(132)
	preamble := len(head) == 132 && string(head[128:]) == "DICM"
	if !preamble {
		if err := checkBareStart(head, size); err != nil {
			return nil, err
		}
	} else if err := checkMetaLength(ra, size); err != nil {
		return nil, err
	}

	p, err := dicom.NewParser(br, size, nil, parseOptions...)
	if err != nil {
		if !preamble {
			return nil, fmt.Errorf("%w: no DICM prefix, and no transfer syntax reads its first element", ErrNotDICOM)
		}
		if isTruncation(err) {
			return nil, fmt.Errorf("%w: the file ends inside its meta group", ErrTruncated)
		}
		return nil, fmt.Errorf("reading the meta group: %w", err)
	}
	in = &instance{}
	for _, e := range p.GetMetadata().Elements {
		in.set(e)
	}

	s := &stream{p: p, br: br, cr: cr, size: size, ra: ra}
	switch {
	case in.tsUID != "":
		s.ts = syntaxOf(in.tsUID)
	default:
		// The library inferred the syntax; infer it again the same way, as
		// the parser does not say which it chose.
		next, _ := br.Peek(100)
		ts, ok := inferSyntax(next)
		if !ok {
			return nil, fmt.Errorf("%w: no transfer syntax reads its first element", ErrNotDICOM)
		}
		s.ts = ts
	}
	if s.ts.deflated {
		if s, err = inflated(s); err != nil {
			return nil, err
		}
	} else {
		p.SetTransferSyntax(s.ts.bo, s.ts.implicit)
	}
	if err := s.readElements(in, !preamble); err != nil {
		return nil, err
	}
	if in.hasRows && !in.hasPixelData {
		// A file cut at the start of its pixel data ends where an element
		// ends; an image without pixel data is as useless.
		return nil, fmt.Errorf("%w: the file ends before its pixel data", ErrTruncated)
	}
	return in, nil
}

// checkBareStart accepts a file without preamble when it starts with an
// element of group 0002 (a meta group written without preamble) or 0008
// (ACR-NEMA style, no meta group), in either byte order.
func checkBareStart(head []byte, size int64) error {
	if len(head) < 8 || size < 132 {
		// The library peeks 132 bytes before anything else.
		return fmt.Errorf("%w: %d bytes is too short", ErrNotDICOM, size)
	}
	le, be := binary.LittleEndian.Uint16(head), binary.BigEndian.Uint16(head)
	if le != 0x0002 && le != 0x0008 && be != 0x0008 {
		return fmt.Errorf("%w: no DICM prefix at byte 128 and no DICOM element at the start", ErrNotDICOM)
	}
	return nil
}

// checkMetaLength checks that the meta group's length, when the group starts
// with one, stays inside the file: the library checks it against the file
// size with an error that does not say so.
func checkMetaLength(ra io.ReaderAt, size int64) error {
	var b [12]byte
	if n, _ := ra.ReadAt(b[:], 132); n < len(b) {
		return fmt.Errorf("%w: the file ends inside its meta group", ErrTruncated)
	}
	if binary.LittleEndian.Uint32(b[:4]) != 0x00000002 || string(b[4:6]) != "UL" {
		return nil // no group length: the library reads group 0002 as far as it goes
	}
	if end := 144 + int64(binary.LittleEndian.Uint32(b[8:])); end > size {
		return fmt.Errorf("%w: the meta group ends at byte %d, after the end of the file (%d bytes)", ErrTruncated, end, size)
	}
	return nil
}

// inferSyntax infers the transfer syntax of a data set that has none in a
// meta group, as the library does: the first of implicit VR little endian,
// explicit VR big endian and explicit VR little endian that reads one
// element from the next 100 bytes.
func inferSyntax(next []byte) (syntax, bool) {
	if len(next) < 100 {
		return syntax{}, false
	}
	for _, ts := range []syntax{implicitLE, explicitBE, explicitLE} {
		p, _ := dicom.NewParser(bytes.NewReader(next), int64(len(next)), nil,
			append([]dicom.ParseOption{dicom.SkipMetadataReadOnNewParserInit()}, parseOptions...)...)
		if p == nil {
			continue
		}
		p.SetTransferSyntax(ts.bo, ts.implicit)
		if _, err := p.Next(); err == nil {
			return ts, true
		}
	}
	return syntax{}, false
}

// inflated returns a stream over the inflated data set of a file in the
// deflated transfer syntax. It inflates the data set once to learn its size,
// so that every check of readElements applies to it as to any other.
func inflated(s *stream) (*stream, error) {
	start := s.pos()
	n, err := io.Copy(io.Discard, flate.NewReader(io.NewSectionReader(s.ra, start, s.size-start)))
	if err != nil {
		if isTruncation(err) {
			return nil, fmt.Errorf("%w: the deflated data set ends early", ErrTruncated)
		}
		return nil, fmt.Errorf("inflating the data set: %w", err)
	}
	cr := &countingReader{r: flate.NewReader(io.NewSectionReader(s.ra, start, s.size-start))}
	br := bufio.NewReaderSize(cr, headerBuffer)
	opts := append([]dicom.ParseOption{dicom.SkipMetadataReadOnNewParserInit()}, parseOptions...)
	p, _ := dicom.NewParser(br, n, nil, opts...)
	if p == nil {
		return nil, fmt.Errorf("reading the inflated data set (%d bytes): too short", n)
	}
	ts := explicitLE
	p.SetTransferSyntax(ts.bo, ts.implicit)
	return &stream{p: p, br: br, cr: cr, size: n, ts: ts}, nil
}

// elementHeader is the tag, VR and length of an element, as the library
// will read them.
type elementHeader struct {
	tag tag.Tag
	vr  string // "" when implicit
	vl  uint32
	n   int64 // bytes in the header
}

func (h elementHeader) String() string { return tagName(h.tag) }

// peekHeader decodes the header of the next element without consuming it.
func (s *stream) peekHeader() (elementHeader, error) {
	b, _ := s.br.Peek(int(min(s.size-s.pos(), 12)))
	return decodeHeader(b, s.ts)
}

// decodeHeader decodes the element header at the start of b, which holds at
// most 12 bytes: fewer when the file ends.
func decodeHeader(b []byte, ts syntax) (elementHeader, error) {
	if len(b) < 8 {
		return elementHeader{}, fmt.Errorf("%w: the last %d bytes are not a whole element", ErrTruncated, len(b))
	}
	bo := ts.bo
	h := elementHeader{tag: tag.Tag{Group: bo.Uint16(b), Element: bo.Uint16(b[2:])}}
	// Items are implicit in every syntax; the library reads them so.
	if ts.implicit || h.tag == tag.Item {
		h.vl, h.n = bo.Uint32(b[4:]), 8
		return h, nil
	}
	h.vr = string(b[4:6])
	switch h.vr {
	// The VRs with a 32-bit length, as the library lists them.
	case "NA", "OB", "OD", "OF", "OL", "OW", "SQ", "UN", "UC", "UR", "UT":
		if len(b) < 12 {
			return elementHeader{}, fmt.Errorf("%w: the file ends inside the header of element %s", ErrTruncated, h)
		}
		h.vl, h.n = bo.Uint32(b[8:]), 12
	default:
		h.vl, h.n = uint32(bo.Uint16(b[6:])), 8
		if h.vl == 0xFFFF {
			h.vl = undefinedLength // as the library reads it
		}
	}
	return h, nil
}

// readElements parses the top-level elements one at a time until the pixel
// data or the end. Before each it checks that a defined length stays inside
// the file; at the pixel data it checks the data's extent and stops. bare
// says that the file has no preamble, so that a meta group at its start is
// read as part of the data set and its transfer syntax applied when it ends.
func (s *stream) readElements(in *instance, bare bool) error {
	inMeta := bare
	for {
		at := s.pos()
		if at >= s.size {
			return nil
		}
		h, err := s.peekHeader()
		if err != nil {
			return err
		}
		if inMeta && h.tag.Group != tag.MetadataGroup {
			inMeta = false
			if in.tsUID != "" {
				if s.ts = syntaxOf(in.tsUID); s.ts.deflated {
					return errors.New("deflated data set after a meta group without preamble: not supported")
				}
				s.p.SetTransferSyntax(s.ts.bo, s.ts.implicit)
				if h, err = s.peekHeader(); err != nil {
					return err
				}
			}
		}
		end := at + h.n + int64(h.vl)
		switch {
		case h.tag == tag.PixelData || h.tag == tag.FloatPixelData || h.tag == tag.DoubleFloatPixelData:
			in.hasPixelData = true
			end, err := s.checkPixelData(h, at)
			if err != nil {
				return err
			}
			return s.checkTrailing(end)
		case h.tag == (tag.Tag{}) && s.zeroToEnd(at):
			return nil // the file is padded with zeros
		case h.vl != undefinedLength && end > s.size:
			return fmt.Errorf("%w: element %s %s needs %d bytes, the file has %d left",
				ErrTruncated, h, s.where(at), h.vl, s.size-at-h.n)
		}
		if h.tag == tag.SpecificCharacterSet && h.vr == "UN" {
			// The library panics on a character set it did not read as
			// text; the strings that follow are read as UTF-8 either way.
			if err := s.skip(h); err != nil {
				return err
			}
			continue
		}
		e, err := s.p.Next()
		if err != nil {
			if errors.Is(err, dicom.ErrorEndOfDICOM) {
				return nil
			}
			if isTruncation(err) {
				return fmt.Errorf("%w: the file ends inside element %s %s", ErrTruncated, h, s.where(at))
			}
			return fmt.Errorf("reading element %s %s: %w", h, s.where(at), err)
		}
		in.set(e)
	}
}

// skip consumes the element whose header is h without the parser. The
// parser then counts fewer bytes read than there are; that only loosens its
// own check of the end of the file, which readElements makes itself.
func (s *stream) skip(h elementHeader) error {
	if h.vl == undefinedLength {
		return fmt.Errorf("element %s has no length", h)
	}
	_, err := s.br.Discard(int(h.n) + int(h.vl))
	return err
}

// checkPixelData checks that the pixel data whose header is at byte at ends
// inside the file, without reading it: native data by its length,
// encapsulated data by walking its item headers to the sequence delimiter.
// It returns where the pixel data ends. The library would read native data
// through to skip it, and stops silently at the end of the file inside
// encapsulated data.
func (s *stream) checkPixelData(h elementHeader, at int64) (int64, error) {
	start := at + h.n
	if h.vl != undefinedLength {
		if left := s.size - start; int64(h.vl) > left {
			return 0, fmt.Errorf("%w: pixel data needs %d bytes, the file has %d left", ErrTruncated, h.vl, left)
		}
		return start + int64(h.vl), nil
	}
	if s.ra == nil {
		return 0, errors.New("encapsulated pixel data in a deflated data set")
	}
	bo := s.ts.bo
	for off, n := start, 0; ; n++ {
		var b [8]byte
		if k, _ := s.ra.ReadAt(b[:], off); k < len(b) {
			return 0, fmt.Errorf("%w: the file ends inside encapsulated pixel data, after %d items and before the sequence delimiter", ErrTruncated, n)
		}
		t := tag.Tag{Group: bo.Uint16(b[:]), Element: bo.Uint16(b[2:])}
		l := bo.Uint32(b[4:])
		switch t {
		case tag.SequenceDelimitationItem:
			return off + 8, nil
		case tag.Item:
			if l == undefinedLength {
				return 0, fmt.Errorf("pixel data item %d at byte %d has no length", n, off)
			}
			off += 8 + int64(l)
			if off > s.size {
				return 0, fmt.Errorf("%w: pixel data item %d needs %d bytes, the file ends first", ErrTruncated, n, l)
			}
		default:
			return 0, fmt.Errorf("element %s at byte %d inside encapsulated pixel data", tagName(t), off)
		}
	}
}

// checkTrailing checks that the elements after the pixel data, from byte
// off, end inside the file: padding, most often. It follows defined lengths
// only; a sequence of undefined length there is left unchecked.
func (s *stream) checkTrailing(off int64) error {
	if s.ra == nil {
		return nil
	}
	for off < s.size {
		var b [12]byte
		n, _ := s.ra.ReadAt(b[:min(int64(len(b)), s.size-off)], off)
		h, err := decodeHeader(b[:n], s.ts)
		switch {
		case err != nil:
			return err
		case h.tag == (tag.Tag{}) && s.zeroToEnd(off):
			return nil
		case h.vl == undefinedLength:
			return nil
		}
		if off += h.n + int64(h.vl); off > s.size {
			return fmt.Errorf("%w: element %s after the pixel data runs past the end of the file", ErrTruncated, h)
		}
	}
	return nil
}

// zeroToEnd reports whether the file holds only zeros from at to its end.
func (s *stream) zeroToEnd(at int64) bool {
	if s.ra == nil {
		return false
	}
	buf := make([]byte, 32<<10)
	for off := at; off < s.size; {
		n, err := s.ra.ReadAt(buf[:min(int64(len(buf)), s.size-off)], off)
		if n == 0 && err != nil {
			return false
		}
		for _, c := range buf[:n] {
			if c != 0 {
				return false
			}
		}
		off += int64(n)
	}
	return true
}

// isTruncation reports whether the library failed because the data ended.
func isTruncation(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, dicomio.ErrorInsufficientBytesLeft)
}

// set keeps e if the scanner needs it.
func (in *instance) set(e *dicom.Element) {
	switch e.Tag {
	case tag.Rows:
		in.hasRows = true
		return
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
func tagName(t tag.Tag) string {
	name := fmt.Sprintf("(%04X,%04X)", t.Group, t.Element)
	if info, err := tag.Find(t); err == nil && info.Keyword != "" {
		name += " " + info.Keyword
	}
	return name
}
