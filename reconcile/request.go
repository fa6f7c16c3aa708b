package reconcile

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"imageshare/internal/dataset"
)

// maxRequests is the largest Request Attributes Sequence (0040,0275)
// Coerce reads into memory to rewrite.
const maxRequests = 1 << 20

// readRequests reads the Request Attributes Sequence that comes next, as
// it is, into memory.
func (d *decoder) readRequests(ts dataset.Syntax) ([]byte, error) {
	var buf bytes.Buffer
	at := d.off
	s := &sink{w: &buf, limit: maxRequests,
		limitErr: fmt.Errorf("reconcile: element %s %s is over %d KiB, the most Coerce rewrites", tagRequestAttributesSeq, d.where(at), maxRequests>>10)}
	if _, err := d.element(s, ts, 0); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// rewriteRequests returns the Request Attributes Sequence el, an element
// encoded in ts, with Accession Number (0008,0050) set to accession, a
// value in the data set's character set, and Issuer of Accession Number
// Sequence (0008,0051) dropped in each of its items. Items are written
// with defined lengths, their elements in tag order; group lengths in them
// are dropped. at is where el is in the data set, for messages.
func rewriteRequests(el []byte, ts dataset.Syntax, accession string, at int64, inflated bool) ([]byte, error) {
	d := &decoder{br: bufio.NewReader(bytes.NewReader(el)), off: at, inflated: inflated}
	h, err := d.header(ts)
	if err != nil {
		return nil, err
	}
	inner, vr := ts, "SQ"
	if !ts.Implicit {
		switch h.vr {
		case "SQ":
		case "UN":
			inner, vr = dataset.ImplicitLE, "UN" // read without a dictionary: implicit VR inside
		default:
			return nil, fmt.Errorf("%w: element %s %s has VR %s, not SQ", ErrMalformed, h.tag, d.where(h.at), h.vr)
		}
	}
	end := int64(-1)
	if h.vl != dataset.UndefinedLength {
		end = d.off + int64(h.vl)
	}
	var items []byte
	for end < 0 || d.off < end {
		it, err := d.header(inner)
		if err != nil {
			return nil, err
		}
		if it.tag == tagSequenceDelimitation && end < 0 {
			break
		}
		if it.tag != tagItem {
			return nil, fmt.Errorf("%w: %s %s inside element %s %s", ErrMalformed, it.tag, d.where(it.at), h.tag, d.where(h.at))
		}
		itemEnd := int64(-1)
		if it.vl != dataset.UndefinedLength {
			itemEnd = d.off + int64(it.vl)
		}
		type piece struct {
			tag tag
			b   []byte
		}
		pieces := []piece{{tagAccessionNumber, inner.AppendText(nil, dataset.Tag(tagAccessionNumber), "SH", accession)}}
		for itemEnd < 0 || d.off < itemEnd {
			t, err := d.peekTag(inner)
			if err != nil {
				return nil, err
			}
			if t == tagItemDelimitation && itemEnd < 0 {
				if _, err := d.header(inner); err != nil {
					return nil, err
				}
				break
			}
			var b bytes.Buffer
			if _, err := d.element(&sink{w: &b}, inner, 1); err != nil {
				return nil, err
			}
			if t == tagAccessionNumber || t == tagIssuerOfAccessionNumberSeq || t.element() == 0 {
				continue
			}
			pieces = append(pieces, piece{t, b.Bytes()})
		}
		if itemEnd >= 0 && d.off != itemEnd {
			return nil, fmt.Errorf("%w: an element runs past the end of its item in element %s %s", ErrMalformed, h.tag, d.where(h.at))
		}
		slices.SortStableFunc(pieces, func(a, b piece) int { return cmp.Compare(a.tag, b.tag) })
		var content []byte
		for _, p := range pieces {
			content = append(content, p.b...)
		}
		items = inner.AppendItem(items, content)
	}
	if end >= 0 && d.off != end {
		return nil, fmt.Errorf("%w: an item runs past the end of element %s %s", ErrMalformed, h.tag, d.where(h.at))
	}
	out := ts.AppendHeader(nil, dataset.Tag(h.tag), vr, uint32(len(items)))
	return append(out, items...), nil
}

// otherPatientIDs returns Other Patient IDs Sequence (0010,1002) as it is
// in hd, or new, with an item appended that keeps the sender's Patient ID
// (0010,0020), with its Issuer of Patient ID (0010,0021) and Issuer of
// Patient ID Qualifiers Sequence (0010,0024) if the file has them, as read,
// and Type of Patient ID (0010,0022) TEXT.
func otherPatientIDs(hd *head, ts dataset.Syntax) ([]byte, error) {
	var item []byte
	for _, t := range []tag{tagPatientID, tagIssuerOfPatientID, tagTypeOfPatientID, tagIssuerOfPatientIDQualifiers} {
		if t == tagTypeOfPatientID {
			item = ts.AppendText(item, dataset.Tag(t), "CS", "TEXT")
		} else if e := hd.find(t); e != nil {
			item = append(item, hd.raw(e)...)
		}
	}
	e := hd.find(tagOtherPatientIDsSeq)
	if e == nil {
		return ts.AppendSequence(nil, dataset.Tag(tagOtherPatientIDsSeq), item), nil
	}
	raw := hd.raw(e)
	if !ts.Implicit && string(raw[4:6]) != "SQ" {
		return nil, fmt.Errorf("%w: element %s has VR %s, not SQ", ErrMalformed, tagOtherPatientIDsSeq, raw[4:6])
	}
	last := ts.AppendItem(nil, item)
	if e.undefined {
		// Before the sequence's delimiter, the last 8 bytes.
		n := len(raw) - 8
		return append(append(append([]byte(nil), raw[:n]...), last...), raw[n:]...), nil
	}
	vl := len(raw) - e.hlen + len(last)
	if vl > dataset.MaxLength {
		return nil, fmt.Errorf("%w: element %s is too long to take another item", ErrMalformed, tagOtherPatientIDsSeq)
	}
	out := ts.AppendHeader(nil, dataset.Tag(tagOtherPatientIDsSeq), "SQ", uint32(vl))
	out = append(out, raw[e.hlen:]...)
	return append(out, last...), nil
}
