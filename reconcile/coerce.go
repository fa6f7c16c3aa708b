package reconcile

import (
	"bufio"
	"bytes"
	"cmp"
	"compress/flate"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Changes are the local values of an instance's identifiers. An empty field
// leaves the attribute as it is; leading and trailing spaces are dropped.
type Changes struct {
	PatientID         string // (0010,0020), LO
	IssuerOfPatientID string // (0010,0021), LO
	AccessionNumber   string // (0008,0050), SH
	PatientName       string // (0010,0010), PN, e.g. "DOE^JOHN"
}

// Modification says who changed the attributes, when and why: the item
// Coerce appends to Original Attributes Sequence (0400,0561) records it
// next to the original values (PS3.3 C.12.1.1.9).
type Modification struct {
	// Time is the Attribute Modification DateTime (0400,0562); the zero
	// Time means now.
	Time time.Time
	// System is the Modifying System (0400,0563); "" means "IMAGESHARE".
	System string
	// Source is the Source of Previous Values (0400,0564): the sending
	// site's name, or "" if unknown. System and Source are provenance, not
	// identity: a character the file's character set cannot hold becomes
	// its ASCII base letter or "?", and either is cut to 64 characters,
	// rather than failing the import.
	Source string
	// Reason is the Reason for the Attribute Modification (0400,0565):
	// "COERCE" (import reconciliation; "" means this) or "CORRECT".
	Reason string
}

// target is an attribute Coerce may change.
type target struct {
	tag   tag
	vr    string
	value func(*Changes) string
}

// targets in tag order. The last of them ends the part of the data set
// Coerce holds in memory.
var targets = []target{
	{tagAccessionNumber, "SH", func(c *Changes) string { return c.AccessionNumber }},
	{tagPatientName, "PN", func(c *Changes) string { return c.PatientName }},
	{tagPatientID, "LO", func(c *Changes) string { return c.PatientID }},
	{tagIssuerOfPatientID, "LO", func(c *Changes) string { return c.IssuerOfPatientID }},
}

const lastHeadTag = tagIssuerOfPatientID

// Limits on what Coerce holds in memory.
const (
	maxMeta = 64 << 10 // the meta group
	maxHead = 64 << 20 // the elements through (0010,0021)
)

// want is a new value asked for.
type want struct {
	target
	value string
}

// wanted checks the new values, before any is compared with the file.
func (c *Changes) wanted() ([]want, error) {
	var ws []want
	for _, t := range targets {
		v := t.value(c)
		if v == "" {
			continue
		}
		if v = strings.TrimSpace(v); v == "" {
			return nil, valueError(t.tag, "value is only spaces")
		}
		if err := checkValue(t.tag, t.vr, v); err != nil {
			return nil, err
		}
		ws = append(ws, want{t, v})
	}
	return ws, nil
}

// Coerce writes to dst a copy of the DICOM Part 10 file read from src with
// the attributes in c set to their new values, and their original values,
// those absent or empty included as empty, kept in a new item of Original
// Attributes Sequence (0400,0561) together with m. An attribute whose value
// is already the new one (ignoring padding and leading or trailing spaces)
// is neither changed nor recorded; if none changes, dst gets the file byte
// for byte. The meta group and the SOP Instance UID stay: reconciliation
// does not make a new instance. Group lengths (gggg,0000), retired in data
// sets, are dropped for the groups that change.
//
// A new value that is not ASCII is refused unless the file's Specific
// Character Set (0008,0005) is ISO_IR 192 (UTF-8). Values too long for
// their VR (SH 16, LO 64, PN 64 characters a component group) are refused,
// as are backslashes and control characters; a *ValueError names the
// attribute. Such errors come before anything is written.
//
// Coerce reads src once and holds no more than the data set up to
// (0010,0021) in memory: pixel data is copied in pieces. A truncated or
// malformed file is an error wrapping ErrTruncated or ErrMalformed, which
// may come after part of the copy is written: write to a temporary file and
// keep it only if Coerce returns nil.
func Coerce(src io.Reader, dst io.Writer, c Changes, m Modification) error {
	ws, err := c.wanted()
	if err != nil {
		return err
	}
	if m.Reason == "" {
		m.Reason = "COERCE"
	}
	if m.Reason != "COERCE" && m.Reason != "CORRECT" {
		return valueError(tagReasonForModification, "%q is not COERCE or CORRECT", m.Reason)
	}
	if m.System == "" {
		m.System = "IMAGESHARE"
	}
	if m.Time.IsZero() {
		m.Time = time.Now()
	}

	br := bufio.NewReaderSize(src, readBuffer)
	prefix, ts, err := readPrefix(br)
	if err != nil {
		return err
	}
	d := &decoder{br: br, off: int64(len(prefix))}
	// A deflated data set is read through rec, which keeps the deflated
	// bytes until it is known whether they are copied as they are.
	var rec *recorder
	if ts.deflated {
		rec = &recorder{r: br}
		d = &decoder{br: bufio.NewReaderSize(flate.NewReader(rec), readBuffer), inflated: true}
		ts = explicitLE
	}
	hd, err := d.head(ts)
	if err != nil {
		return err
	}
	edits, err := plan(hd, ws)
	if err != nil {
		return err
	}

	out := &sink{w: dst}
	out.Write(prefix)
	if len(edits) == 0 {
		return copyUnchanged(d, out, hd, ts, rec)
	}
	body := out
	var fw *flate.Writer
	if rec != nil {
		rec.keep(io.Discard)
		fw, _ = flate.NewWriter(out, flate.DefaultCompression) // the level is valid
		body = &sink{w: fw, under: out}
	}
	writeHead(body, hd, edits, ts)
	item := modificationItem(ts, edits, m, hd.charset)
	if err := d.rest(body, ts, item); err != nil {
		return err
	}
	if fw != nil {
		if err := fw.Close(); err != nil {
			return cmp.Or(out.err, fmt.Errorf("reconcile: writing: %w", err))
		}
	}
	return out.err
}

// copyUnchanged copies the rest of a file nothing in which changes: its
// data set is walked all the same, to find a truncated file.
func copyUnchanged(d *decoder, out *sink, hd *head, ts syntax, rec *recorder) error {
	if rec == nil {
		out.Write(hd.buf)
		return d.rest(out, ts, nil)
	}
	// The deflated bytes are copied as read; the inflated ones are only
	// walked.
	rec.keep(out)
	if err := d.rest(&sink{w: io.Discard}, ts, nil); err != nil {
		return cmp.Or(out.err, err)
	}
	// Whatever follows the deflated stream, as it came: some writers
	// leave a CRC and the length there, as gzip does. A copy that changes
	// drops them, as they would be wrong.
	if _, err := io.Copy(out, rec.r); err != nil && out.err == nil {
		return fmt.Errorf("reconcile: reading: %w", err)
	}
	return out.err
}

// readPrefix reads the preamble, "DICM" and the meta group, and returns
// them as read with the transfer syntax they name.
func readPrefix(br *bufio.Reader) ([]byte, syntax, error) {
	b, err := br.Peek(132)
	if len(b) < 132 || string(b[128:]) != "DICM" {
		if err != nil && err != io.EOF {
			return nil, syntax{}, fmt.Errorf("reconcile: reading: %w", err)
		}
		return nil, syntax{}, fmt.Errorf("%w: no DICM prefix", ErrNotPart10)
	}
	var meta bytes.Buffer
	meta.Write(b)
	br.Discard(132)
	ms := &sink{w: &meta, limit: maxMeta, limitErr: fmt.Errorf("%w: the meta group is over %d KiB", ErrMalformed, maxMeta>>10)}
	d := &decoder{br: br, off: 132}
	end := int64(-1) // where the group length says the group ends
	var tsUID string
	for first := true; end < 0 || d.off < end; first = false {
		more, err := d.more()
		if err != nil {
			return nil, syntax{}, err
		}
		if !more && end < 0 && !first {
			break // a meta group without group length, and no data set
		}
		t, err := d.peekTag(explicitLE)
		if errors.Is(err, ErrTruncated) {
			return nil, syntax{}, fmt.Errorf("%w: the file ends inside its meta group", ErrTruncated)
		}
		if err != nil {
			return nil, syntax{}, err
		}
		if t.group() != 0x0002 {
			if first {
				return nil, syntax{}, fmt.Errorf("%w: no meta group after the DICM prefix", ErrNotPart10)
			}
			if end >= 0 {
				return nil, syntax{}, fmt.Errorf("%w: element %s at byte %d, inside the meta group by its group length", ErrMalformed, t, d.off)
			}
			break // no group length: the group ends where group 0002 does
		}
		h, err := d.header(explicitLE)
		if err != nil {
			return nil, syntax{}, err
		}
		if h.vl == undefinedLength {
			return nil, syntax{}, fmt.Errorf("%w: meta element %s has an undefined length", ErrMalformed, h.tag)
		}
		ms.Write(h.raw[:h.n])
		start := meta.Len()
		if err := d.copyN(ms, int64(h.vl), h); err != nil {
			return nil, syntax{}, err
		}
		value := meta.Bytes()[start:]
		switch {
		case first && h.tag == tagMetaGroupLength && h.vl == 4:
			end = d.off + int64(explicitLE.bo.Uint32(value))
		case h.tag == tagTransferSyntaxUID:
			tsUID = strings.Trim(string(value), " \x00")
		}
	}
	if end >= 0 && d.off != end {
		return nil, syntax{}, fmt.Errorf("%w: the meta group's elements run past its group length, to byte %d", ErrMalformed, d.off)
	}
	if tsUID == "" {
		return nil, syntax{}, fmt.Errorf("%w: the meta group has no Transfer Syntax UID (0002,0010)", ErrMalformed)
	}
	return meta.Bytes(), syntaxOf(tsUID), nil
}

// head is the start of the data set: its elements through (0010,0021).
type head struct {
	buf     []byte // the elements as read
	els     []headElement
	charset string // Specific Character Set (0008,0005), "" if absent
}

// headElement is one top-level element of head.buf.
type headElement struct {
	tag        tag
	start, end int // of the element in buf
	hlen       int // of its header
	undefined  bool
}

// head reads the top-level elements through (0010,0021).
func (d *decoder) head(ts syntax) (*head, error) {
	var buf bytes.Buffer
	s := &sink{w: &buf, limit: maxHead,
		limitErr: fmt.Errorf("%w: the elements up to (0010,0021) take more than %d MiB", ErrMalformed, maxHead>>20)}
	hd := &head{}
	for {
		more, err := d.more()
		if err != nil {
			return nil, err
		}
		if !more {
			break
		}
		t, err := d.peekTag(ts)
		if err != nil {
			return nil, err
		}
		if t > lastHeadTag || t == 0 {
			break
		}
		if n := len(hd.els); n > 0 && t <= hd.els[n-1].tag {
			return nil, fmt.Errorf("%w: element %s %s comes after %s: elements out of order", ErrMalformed, t, d.where(d.off), hd.els[n-1].tag)
		}
		start := buf.Len()
		h, err := d.element(s, ts, 0)
		if err != nil {
			return nil, err
		}
		hd.els = append(hd.els, headElement{tag: t, start: start, end: buf.Len(), hlen: h.n, undefined: h.vl == undefinedLength})
	}
	hd.buf = buf.Bytes()
	if e := hd.find(tagSpecificCharacterSet); e != nil {
		hd.charset = string(hd.value(e))
	}
	return hd, nil
}

func (hd *head) find(t tag) *headElement {
	for i := range hd.els {
		if hd.els[i].tag == t {
			return &hd.els[i]
		}
	}
	return nil
}

func (hd *head) raw(e *headElement) []byte   { return hd.buf[e.start:e.end] }
func (hd *head) value(e *headElement) []byte { return hd.buf[e.start+e.hlen : e.end] }

// edit is an attribute that changes.
type edit struct {
	want
	original []byte // the element as read; nil if absent
}

// plan finds which of ws change the file's values, and checks that the
// file's character set can hold those.
func plan(hd *head, ws []want) ([]edit, error) {
	var edits []edit
	for _, w := range ws {
		var original []byte
		old := ""
		if e := hd.find(w.tag); e != nil {
			if e.undefined {
				return nil, fmt.Errorf("%w: element %s has an undefined length", ErrMalformed, w.tag)
			}
			original = hd.raw(e)
			old = strings.TrimSpace(strings.TrimRight(string(hd.value(e)), "\x00"))
		}
		if old == w.value {
			continue
		}
		if err := checkCharset(w.tag, w.value, hd.charset); err != nil {
			return nil, err
		}
		edits = append(edits, edit{w, original})
	}
	return edits, nil
}

// writeHead writes the elements of hd with the edits made: values replaced
// or inserted in tag order, group lengths of changed groups dropped.
func writeHead(w *sink, hd *head, edits []edit, ts syntax) {
	changed := map[uint16]bool{}
	byTag := map[tag]*edit{}
	for i := range edits {
		changed[edits[i].tag.group()] = true
		byTag[edits[i].tag] = &edits[i]
	}
	type piece struct {
		tag tag
		b   []byte
	}
	var pieces []piece
	for i := range hd.els {
		e := &hd.els[i]
		switch {
		case e.tag.element() == 0 && changed[e.tag.group()]:
			continue // retired, and it would be wrong
		case byTag[e.tag] != nil:
			ed := byTag[e.tag]
			pieces = append(pieces, piece{e.tag, ts.appendText(nil, ed.tag, ed.vr, ed.value)})
		default:
			pieces = append(pieces, piece{e.tag, hd.raw(e)})
		}
	}
	for _, ed := range edits {
		if ed.original == nil {
			pieces = append(pieces, piece{ed.tag, ts.appendText(nil, ed.tag, ed.vr, ed.value)})
		}
	}
	slices.SortStableFunc(pieces, func(a, b piece) int { return cmp.Compare(a.tag, b.tag) })
	for _, p := range pieces {
		w.Write(p.b)
	}
}

// modificationItem is the item Coerce appends to Original Attributes
// Sequence (0400,0561): the original values, and who changed them when and
// why.
func modificationItem(ts syntax, edits []edit, m Modification, charset string) []byte {
	var originals []byte
	for _, ed := range edits {
		if ed.original != nil {
			originals = append(originals, ed.original...)
		} else {
			originals = ts.appendText(originals, ed.tag, ed.vr, "")
		}
	}
	utf := isUTF8(charset)
	b := ts.appendSequence(nil, tagModifiedAttributesSeq, originals)
	b = ts.appendText(b, tagAttributeModificationDT, "DT", m.Time.Format("20060102150405.000000-0700"))
	b = ts.appendText(b, tagModifyingSystem, "LO", fitLO(m.System, utf))
	b = ts.appendText(b, tagSourceOfPreviousValues, "LO", fitLO(m.Source, utf))
	return ts.appendText(b, tagReasonForModification, "CS", m.Reason)
}

// fitLO makes s a valid LO value: one line without backslashes, in
// ASCII unless utf8 (accents dropped, other characters "?"), at most 64
// characters.
func fitLO(s string, utf bool) string {
	s = strings.TrimSpace(s)
	if !utf {
		s = norm.NFD.String(s) // "ü" as "u" and its accent
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		switch {
		case n == maxChars["LO"]:
			return strings.TrimSpace(b.String())
		case r < 0x20 || r == 0x7F:
			r = ' '
		case r == '\\':
			r = '/'
		case r < utf8.RuneSelf || utf:
		case unicode.Is(unicode.Mn, r):
			continue // an accent of the letter before
		default:
			r = '?'
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}

// rest copies the data set after head to w. With item, it appends item to
// Original Attributes Sequence (0400,0561), or inserts the sequence where
// its tag sorts, and drops the group length (0400,0000).
func (d *decoder) rest(w *sink, ts syntax, item []byte) error {
	inserted := item == nil
	insert := func() {
		w.Write(ts.appendSequence(nil, tagOriginalAttributesSeq, item))
		inserted = true
	}
	for {
		more, err := d.more()
		if err != nil {
			return err
		}
		if !more {
			break
		}
		t, err := d.peekTag(ts)
		if err != nil {
			return err
		}
		if t == 0 {
			// Zeros where an element should start: padding some writers
			// leave at the end of a file. Copied as it is.
			if !inserted {
				insert()
			}
			return d.copyRest(w)
		}
		if item != nil {
			switch {
			case t <= lastHeadTag:
				return fmt.Errorf("%w: element %s %s comes after elements with higher tags", ErrMalformed, t, d.where(d.off))
			case t == tagOriginalAttributesSeq && inserted:
				return fmt.Errorf("%w: a second %s %s", ErrMalformed, t, d.where(d.off))
			case t == tagOriginalAttributesSeq:
				if err := d.appendItem(w, ts, item); err != nil {
					return err
				}
				inserted = true
				continue
			case t == tag(0x04000000):
				if _, err := d.element(&sink{w: io.Discard}, ts, 0); err != nil {
					return err
				}
				continue
			case t > tagOriginalAttributesSeq && !inserted:
				insert()
			}
		}
		if _, err := d.element(w, ts, 0); err != nil {
			return err
		}
	}
	if !inserted {
		insert()
	}
	return w.err
}

// appendItem copies the Original Attributes Sequence that comes next with
// item appended.
func (d *decoder) appendItem(w *sink, ts syntax, item []byte) error {
	h, err := d.header(ts)
	if err != nil {
		return err
	}
	if !ts.implicit && h.vr != "SQ" {
		return fmt.Errorf("%w: element %s %s has VR %s, not SQ", ErrMalformed, h.tag, d.where(h.at), h.vr)
	}
	last := ts.appendItem(nil, item)
	if h.vl == undefinedLength {
		w.Write(h.raw[:h.n])
		return d.items(w, h, ts, 1, last)
	}
	n := int64(h.vl) + int64(len(last))
	if n > maxLength {
		return fmt.Errorf("%w: element %s %s is too long to take another item", ErrMalformed, h.tag, d.where(h.at))
	}
	w.Write(ts.appendHeader(nil, h.tag, "SQ", uint32(n)))
	if err := d.copyN(w, int64(h.vl), h); err != nil {
		return err
	}
	w.Write(last)
	return w.err
}

// copyRest copies what is left of the data set as it is.
func (d *decoder) copyRest(w *sink) error {
	_, err := io.Copy(w, d.br)
	switch {
	case w.err != nil:
		return w.err
	case errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("%w: the deflated data set ends early", ErrTruncated)
	case err != nil:
		return d.sourceErr(err)
	}
	return nil
}

// recorder passes on what it reads from r and keeps a copy: in memory
// until keep says where it goes.
type recorder struct {
	r   io.Reader
	buf bytes.Buffer
	w   io.Writer // nil: buf
	err error
}

func (rec *recorder) Read(p []byte) (int, error) {
	if rec.err != nil {
		return 0, rec.err
	}
	n, err := rec.r.Read(p)
	if n > 0 {
		if rec.w == nil {
			rec.buf.Write(p[:n])
		} else if _, werr := rec.w.Write(p[:n]); werr != nil {
			rec.err = werr
			return n, werr
		}
	}
	return n, err
}

// keep writes what was read so far to w, and from now on what is read.
func (rec *recorder) keep(w io.Writer) {
	if rec.w == nil {
		if _, err := w.Write(rec.buf.Bytes()); err != nil {
			rec.err = err
		}
		rec.buf = bytes.Buffer{}
	}
	rec.w = w
}
