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

	"imageshare/internal/dataset"
)

// Changes are the local values of an instance's identifiers. An empty field
// leaves the attribute as it is; leading and trailing spaces are dropped.
//
// A new PatientID or IssuerOfPatientID changes the patient's identity: the
// issuer becomes IssuerOfPatientID, or goes if that is empty (a sender's
// issuer must not qualify a local ID), the sender's Issuer of Patient ID
// Qualifiers Sequence (0010,0024) goes, and the sender's ID, issuer and
// qualifiers move to a new item of Other Patient IDs Sequence (0010,1002).
// A new AccessionNumber drops the sender's Issuer of Accession Number
// Sequence (0008,0051), and replaces the accession number in each item of
// Request Attributes Sequence (0040,0275).
type Changes struct {
	PatientID         string // (0010,0020), LO
	IssuerOfPatientID string // (0010,0021), LO; only with PatientID
	AccessionNumber   string // (0008,0050), SH
	PatientName       string // (0010,0010), PN, e.g. "DOE^JOHN"
	PatientBirthDate  string // (0010,0030), DA: YYYYMMDD
	PatientSex        string // (0010,0040), CS: M, F or O
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

// target is an attribute Coerce may set to a value of Changes.
type target struct {
	tag   tag
	vr    string
	value func(*Changes) string
}

// targets in tag order.
var targets = []target{
	{tagAccessionNumber, "SH", func(c *Changes) string { return c.AccessionNumber }},
	{tagPatientName, "PN", func(c *Changes) string { return c.PatientName }},
	{tagPatientID, "LO", func(c *Changes) string { return c.PatientID }},
	{tagIssuerOfPatientID, "LO", func(c *Changes) string { return c.IssuerOfPatientID }},
	{tagPatientBirthDate, "DA", func(c *Changes) string { return c.PatientBirthDate }},
	{tagPatientSex, "CS", func(c *Changes) string { return c.PatientSex }},
}

// lastHeadTag ends the part of the data set Coerce holds in memory: the
// attributes it may change there, and those it reads to change them.
const lastHeadTag = tagOtherPatientIDsSeq

// Limits on what Coerce holds in memory.
const (
	maxMeta = 64 << 10 // the meta group
	maxHead = 64 << 20 // the elements through (0010,1002)
)

// want is a new value asked for.
type want struct {
	target
	value string
}

// Check checks the values of c as Coerce does before it reads a file: the
// lengths and characters their VRs allow, a birth date that is a date, a
// sex that is M, F or O, and no IssuerOfPatientID without a PatientID. A
// caller can so refuse them before a transfer. Whether a file's character
// set can hold them is known only from the file. The error is a
// *ValueError.
func (c Changes) Check() error {
	_, err := c.wanted()
	return err
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
		switch t.tag {
		case tagPatientBirthDate:
			if _, err := time.Parse("20060102", v); err != nil || len(v) != 8 {
				return nil, valueError(t.tag, "not a date as YYYYMMDD")
			}
		case tagPatientSex:
			if v != "M" && v != "F" && v != "O" {
				return nil, valueError(t.tag, "not M, F or O")
			}
		}
		ws = append(ws, want{t, v})
	}
	if strings.TrimSpace(c.IssuerOfPatientID) != "" && strings.TrimSpace(c.PatientID) == "" {
		return nil, valueError(tagIssuerOfPatientID, "an issuer without a Patient ID (0010,0020): the issuer qualifies the local ID")
	}
	return ws, nil
}

// Coerce writes to dst a copy of the DICOM file read from src with the
// attributes in c set to their new values, and their original values,
// those absent or empty included as empty, kept in a new item of Original
// Attributes Sequence (0400,0561) together with m. An attribute whose value
// is already the new one (ignoring padding and leading or trailing spaces)
// is neither changed nor recorded; if none changes, dst gets the file byte
// for byte. The meta group and the SOP Instance UID stay: reconciliation
// does not make a new instance. Group lengths (gggg,0000), retired in data
// sets, are dropped for the groups that change.
//
// A data set without the Part 10 header (preamble, "DICM", meta group), in
// implicit or explicit VR little endian, gets one made from its SOP Class
// and Instance UIDs, changes or not; NeedsRewrite finds such files.
//
// A new value is written in the file's Specific Character Set (0008,0005)
// if that can hold it: ASCII when it is absent, a single-byte set, UTF-8.
// Otherwise the file is converted to UTF-8 (ISO_IR 192), every text value
// in it, and its character set kept in (0400,0561); a file in ISO 2022 or
// an unknown character set cannot be converted, and takes only ASCII. See
// the package documentation for what the conversion reads. Values too long
// for their VR (SH 16, LO 64, PN 64 characters a component group) are
// refused, as are backslashes and control characters; a *ValueError names
// the attribute. Such errors come before anything is written, but for one
// a conversion to UTF-8 finds in the file after it has begun.
//
// Coerce reads src once and holds no more than the data set up to
// (0010,1002), and Request Attributes Sequence (0040,0275) if the
// accession number changes, in memory: pixel data is copied in pieces. A
// truncated or malformed file is an error wrapping ErrTruncated or
// ErrMalformed, which may come after part of the copy is written: write
// to a temporary file and keep it only if Coerce returns nil.
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
	prefix, ts, made, err := readPrefix(br)
	if err != nil {
		return err
	}
	d := &decoder{br: br, off: int64(len(prefix)) - made}
	// A deflated data set is read through rec, which keeps the deflated
	// bytes until it is known whether they are copied as they are.
	var rec *recorder
	if ts.Deflated {
		rec = &recorder{r: br}
		d = &decoder{br: bufio.NewReaderSize(flate.NewReader(rec), readBuffer), inflated: true}
		ts = dataset.ExplicitLE
	}
	hd, err := d.head(ts)
	if err != nil {
		return err
	}
	p, err := plan(hd, ws, ts)
	if err != nil {
		return err
	}
	p.m = m

	out := &sink{w: dst}
	out.Write(prefix)
	if len(p.edits) == 0 {
		return copyUnchanged(d, out, hd, ts, rec)
	}
	body := out
	var fw *flate.Writer
	if rec != nil {
		rec.keep(io.Discard)
		fw, _ = flate.NewWriter(out, flate.DefaultCompression) // the level is valid
		body = &sink{w: fw, under: out}
	}
	if err := writeHead(body, hd, p, ts); err != nil {
		return err
	}
	if err := d.rest(body, ts, p); err != nil {
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
func copyUnchanged(d *decoder, out *sink, hd *head, ts dataset.Syntax, rec *recorder) error {
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

// head is the start of the data set: its elements through (0010,1002).
type head struct {
	at       int64  // where buf starts
	inflated bool   // in the inflated data set
	buf      []byte // the elements as read
	els      []headElement
	charset  string // Specific Character Set (0008,0005), "" if absent
}

// headElement is one top-level element of head.buf.
type headElement struct {
	tag        tag
	start, end int // of the element in buf
	hlen       int // of its header
	undefined  bool
}

// head reads the top-level elements through (0010,1002).
func (d *decoder) head(ts dataset.Syntax) (*head, error) {
	var buf bytes.Buffer
	s := &sink{w: &buf, limit: maxHead,
		limitErr: fmt.Errorf("%w: the elements up to (0010,1002) take more than %d MiB", ErrMalformed, maxHead>>20)}
	hd := &head{at: d.off, inflated: d.inflated}
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
		hd.els = append(hd.els, headElement{tag: t, start: start, end: buf.Len(), hlen: h.n, undefined: h.vl == dataset.UndefinedLength})
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
	tag      tag
	vr       string
	element  []byte // the element as written; nil: removed
	raw      bool   // element holds values as read, in the file's character set
	original []byte // the element as read; nil if absent
}

// rewrite is what Coerce changes in a file.
type rewrite struct {
	edits     []edit     // in tag order
	out       charset    // of the copy
	conv      *converter // nil: the copy stays in the file's character set
	accession string     // the new accession number, encoded; "" if it stays
	requests  []byte     // Request Attributes Sequence (0040,0275) as read, once read
	m         Modification
	ts        dataset.Syntax
}

// plan finds which of ws change the file's values, what else changes with
// them, and the character set to write them in.
func plan(hd *head, ws []want, ts dataset.Syntax) (*rewrite, error) {
	from := parseCharset(hd.charset)
	p := &rewrite{out: from, ts: ts}
	changed := map[tag]want{}
	var order []tag
	for _, w := range ws {
		old := ""
		if e := hd.find(w.tag); e != nil {
			if e.undefined {
				return nil, fmt.Errorf("%w: element %s has an undefined length", ErrMalformed, w.tag)
			}
			v := bytes.TrimRight(hd.value(e), "\x00")
			if u, ok := from.decode(v); ok {
				v = u
			}
			old = strings.TrimSpace(string(v))
		}
		if old != w.value {
			changed[w.tag] = w
			order = append(order, w.tag)
		}
	}
	if len(order) == 0 {
		return p, nil
	}
	for _, t := range order {
		if _, ok := from.encode(changed[t].value); ok {
			continue
		}
		if !from.convertible() {
			return nil, valueError(tagSpecificCharacterSet, "is %s, which cannot hold the new value of %s, and a file in it cannot be converted to UTF-8 (%s)", from, t, charsetUTF8)
		}
		p.out, p.conv = utf8Charset, &converter{from: from, why: t}
		p.add(hd, tagSpecificCharacterSet, "CS", ts.AppendText(nil, dataset.Tag(tagSpecificCharacterSet), "CS", charsetUTF8), false)
		break
	}
	for _, t := range order {
		w := changed[t]
		v, _ := p.out.encode(w.value)
		p.add(hd, t, w.vr, ts.AppendText(nil, dataset.Tag(t), w.vr, string(v)), false)
	}
	_, newID := changed[tagPatientID]
	_, newIssuer := changed[tagIssuerOfPatientID]
	if newID || newIssuer {
		if !newIssuer && valueOf(ws, tagIssuerOfPatientID) == "" && hd.find(tagIssuerOfPatientID) != nil {
			p.add(hd, tagIssuerOfPatientID, "LO", nil, false)
		}
		if hd.find(tagIssuerOfPatientIDQualifiers) != nil {
			p.add(hd, tagIssuerOfPatientIDQualifiers, "SQ", nil, false)
		}
		if e := hd.find(tagPatientID); e != nil && strings.Trim(string(hd.value(e)), " \x00") != "" {
			opids, err := otherPatientIDs(hd, ts)
			if err != nil {
				return nil, err
			}
			p.add(hd, tagOtherPatientIDsSeq, "SQ", opids, true)
		}
	}
	if w, ok := changed[tagAccessionNumber]; ok {
		if hd.find(tagIssuerOfAccessionNumberSeq) != nil {
			p.add(hd, tagIssuerOfAccessionNumberSeq, "SQ", nil, false)
		}
		v, _ := p.out.encode(w.value)
		p.accession = string(v)
	}
	slices.SortFunc(p.edits, func(a, b edit) int { return cmp.Compare(a.tag, b.tag) })
	return p, nil
}

// valueOf returns the new value of t in ws, "" if none.
func valueOf(ws []want, t tag) string {
	for _, w := range ws {
		if w.tag == t {
			return w.value
		}
	}
	return ""
}

// add adds the edit of t to element, nil to remove it.
func (p *rewrite) add(hd *head, t tag, vr string, element []byte, raw bool) {
	ed := edit{tag: t, vr: vr, element: element, raw: raw}
	if e := hd.find(t); e != nil {
		ed.original = hd.raw(e)
	}
	p.edits = append(p.edits, ed)
}

// changes reports whether the copy changes group g: its group length is
// dropped. A conversion to UTF-8 changes them all.
func (p *rewrite) changes(g uint16) bool {
	if p.conv != nil || g == 0x0400 || g == 0x0040 && p.accession != "" {
		return true
	}
	for _, ed := range p.edits {
		if ed.tag.group() == g {
			return true
		}
	}
	return false
}

// writeHead writes the elements of hd with the edits made: values replaced,
// removed or inserted in tag order, group lengths of changed groups
// dropped, and with a conversion, the values as read converted.
func writeHead(w *sink, hd *head, p *rewrite, ts dataset.Syntax) error {
	type piece struct {
		tag tag
		b   []byte
		raw bool     // as read: converted if the file is
		at  *decoder // where b is, for messages
	}
	var pieces []piece
	byTag := map[tag]*edit{}
	for i := range p.edits {
		ed := &p.edits[i]
		byTag[ed.tag] = ed
		if ed.original == nil && ed.element != nil {
			pieces = append(pieces, piece{ed.tag, ed.element, ed.raw, &decoder{within: "in the new " + ed.tag.String()}})
		}
	}
	for i := range hd.els {
		e := &hd.els[i]
		switch ed := byTag[e.tag]; {
		case e.tag.element() == 0 && p.changes(e.tag.group()):
			// retired, and it would be wrong
		case ed != nil && ed.element != nil:
			pieces = append(pieces, piece{e.tag, ed.element, ed.raw, &decoder{within: "in the new " + ed.tag.String()}})
		case ed != nil:
			// removed
		default:
			pieces = append(pieces, piece{e.tag, hd.raw(e), true, &decoder{off: hd.at + int64(e.start), inflated: hd.inflated}})
		}
	}
	slices.SortStableFunc(pieces, func(a, b piece) int { return cmp.Compare(a.tag, b.tag) })
	for _, pc := range pieces {
		b := pc.b
		if pc.raw && p.conv != nil {
			var err error
			if b, err = p.conv.bytes(b, ts, pc.at); err != nil {
				return err
			}
		}
		w.Write(b)
	}
	return w.err
}

// modificationItem is the item Coerce appends to Original Attributes
// Sequence (0400,0561): the original values, and who changed them when and
// why. The originals are as read, in the file's character set: after a
// conversion to UTF-8, the original (0008,0005) with them says which.
func (p *rewrite) modificationItem() []byte {
	ts := p.ts
	var originals []byte
	for _, ed := range p.edits {
		if ed.original != nil {
			originals = append(originals, ed.original...)
		} else {
			originals = ts.AppendHeader(originals, dataset.Tag(ed.tag), ed.vr, 0)
		}
	}
	originals = append(originals, p.requests...)
	utf := p.out.kind == csUTF8
	b := ts.AppendSequence(nil, dataset.Tag(tagModifiedAttributesSeq), originals)
	b = ts.AppendText(b, dataset.Tag(tagAttributeModificationDT), "DT", p.m.Time.Format("20060102150405.000000-0700"))
	b = ts.AppendText(b, dataset.Tag(tagModifyingSystem), "LO", fitLO(p.m.System, utf))
	b = ts.AppendText(b, dataset.Tag(tagSourceOfPreviousValues), "LO", fitLO(p.m.Source, utf))
	return ts.AppendText(b, dataset.Tag(tagReasonForModification), "CS", p.m.Reason)
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

// rest copies the data set after head to w. With p, it makes the changes
// there: Request Attributes Sequence (0040,0275) rewritten, the new item
// appended to Original Attributes Sequence (0400,0561), or the sequence
// inserted where its tag sorts, group lengths of changed groups dropped,
// and with a conversion, every value converted.
func (d *decoder) rest(w *sink, ts dataset.Syntax, p *rewrite) error {
	inserted := p == nil
	insert := func() {
		w.Write(ts.AppendSequence(nil, dataset.Tag(tagOriginalAttributesSeq), p.modificationItem()))
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
		if p == nil {
			if _, err := d.element(w, ts, 0); err != nil {
				return err
			}
			continue
		}
		switch {
		case t <= lastHeadTag:
			return fmt.Errorf("%w: element %s %s comes after elements with higher tags", ErrMalformed, t, d.where(d.off))
		case t == tagOriginalAttributesSeq && inserted:
			return fmt.Errorf("%w: a second %s %s", ErrMalformed, t, d.where(d.off))
		case t == tagOriginalAttributesSeq:
			if err := d.appendItem(w, ts, p); err != nil {
				return err
			}
			inserted = true
			continue
		case t.element() == 0 && p.changes(t.group()):
			if _, err := d.element(&sink{w: io.Discard}, ts, 0); err != nil {
				return err
			}
			continue
		case t == tagRequestAttributesSeq && p.accession != "" && p.requests == nil:
			if err := d.requests(w, ts, p); err != nil {
				return err
			}
			continue
		case t > tagOriginalAttributesSeq && !inserted:
			insert()
		}
		if p.conv != nil {
			err = p.conv.element(d, w, ts, 0)
		} else {
			_, err = d.element(w, ts, 0)
		}
		if err != nil {
			return err
		}
	}
	if !inserted {
		insert()
	}
	return w.err
}

// requests reads Request Attributes Sequence (0040,0275), keeps it for the
// originals, and writes it with the new accession number.
func (d *decoder) requests(w *sink, ts dataset.Syntax, p *rewrite) error {
	at := d.off
	el, err := d.readRequests(ts)
	if err != nil {
		return err
	}
	p.requests = el
	if p.conv != nil {
		if el, err = p.conv.bytes(el, ts, &decoder{off: at, inflated: d.inflated}); err != nil {
			return err
		}
	}
	el, err = rewriteRequests(el, ts, p.accession, at, d.inflated)
	if err != nil {
		return err
	}
	w.Write(el)
	return w.err
}

// appendItem copies the Original Attributes Sequence that comes next with
// the new item appended.
func (d *decoder) appendItem(w *sink, ts dataset.Syntax, p *rewrite) error {
	h, err := d.header(ts)
	if err != nil {
		return err
	}
	if !ts.Implicit && h.vr != "SQ" {
		return fmt.Errorf("%w: element %s %s has VR %s, not SQ", ErrMalformed, h.tag, d.where(h.at), h.vr)
	}
	last := ts.AppendItem(nil, p.modificationItem())
	if p.conv != nil {
		w.Write(ts.AppendHeader(nil, dataset.Tag(h.tag), "SQ", dataset.UndefinedLength))
		return p.conv.items(d, w, h, ts, 1, last)
	}
	if h.vl == dataset.UndefinedLength {
		w.Write(h.raw[:h.n])
		return d.items(w, h, ts, 1, last)
	}
	n := int64(h.vl) + int64(len(last))
	if n > dataset.MaxLength {
		return fmt.Errorf("%w: element %s %s is too long to take another item", ErrMalformed, h.tag, d.where(h.at))
	}
	w.Write(ts.AppendHeader(nil, dataset.Tag(h.tag), "SQ", uint32(n)))
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
