package reconcile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"imageshare/internal/dataset"
)

// start is what a file begins with.
type start int

const (
	startUnknown  start = iota // not DICOM as far as Coerce can tell
	startPart10                // preamble, "DICM", meta group
	startMeta                  // a meta group without preamble and "DICM"
	startImplicit              // a data set in implicit VR little endian, no header
	startExplicit              // a data set in explicit VR little endian, no header
)

// sniff tells from the first bytes of a file how it starts: as dcmtk
// does, by the group of the first tag and whether a VR follows it.
func sniff(b []byte) start {
	if len(b) >= 132 && string(b[128:132]) == "DICM" {
		return startPart10
	}
	if len(b) < 8 {
		return startUnknown
	}
	vr := string(b[4:6])
	explicit := dataset.KnownVR(vr)
	switch dataset.ExplicitLE.ByteOrder.Uint16(b) {
	case 0x0002:
		if explicit {
			return startMeta
		}
	case 0x0008:
		if explicit {
			return startExplicit
		}
		return startImplicit
	}
	return startUnknown
}

// NeedsRewrite reports whether the file r starts must go through Coerce
// even when nothing in it changes: a DICOM data set without the Part 10
// header (preamble, "DICM", meta group), which Coerce gives one. It reads
// no more than the first 132 bytes of r. A file that does not start as
// DICOM is an error wrapping ErrNotPart10.
func NeedsRewrite(r io.Reader) (bool, error) {
	b := make([]byte, 132)
	n, err := io.ReadFull(r, b)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return false, fmt.Errorf("reconcile: reading: %w", err)
	}
	switch sniff(b[:n]) {
	case startPart10:
		return false, nil
	case startUnknown:
		return false, errNotDICOM
	}
	return true, nil
}

var errNotDICOM = fmt.Errorf("%w: no DICM prefix, and no data set or meta group at the start", ErrNotPart10)

// readPrefix reads the preamble, "DICM" and the meta group, and returns
// them as read with the transfer syntax they name, and how many of their
// bytes are in the file. For a file without them it returns a header made
// for its data set, and reads nothing; for a meta group without preamble
// and "DICM", those added.
func readPrefix(br *bufio.Reader) (prefix []byte, ts dataset.Syntax, made int64, err error) {
	b, perr := br.Peek(132)
	if perr != nil && perr != io.EOF {
		return nil, dataset.Syntax{}, 0, fmt.Errorf("reconcile: reading: %w", perr)
	}
	var meta bytes.Buffer
	switch sniff(b) {
	case startPart10:
		meta.Write(b[:132])
		br.Discard(132)
	case startMeta:
		meta.Write(make([]byte, 128))
		meta.WriteString("DICM")
		made = 132
	case startImplicit:
		prefix, err := makePrefix(br, dataset.UIDImplicitVRLittleEndian, dataset.ImplicitLE)
		return prefix, dataset.ImplicitLE, int64(len(prefix)), err
	case startExplicit:
		prefix, err := makePrefix(br, dataset.UIDExplicitVRLittleEndian, dataset.ExplicitLE)
		return prefix, dataset.ExplicitLE, int64(len(prefix)), err
	default:
		return nil, dataset.Syntax{}, 0, errNotDICOM
	}
	ms := &sink{w: &meta, limit: maxMeta, limitErr: fmt.Errorf("%w: the meta group is over %d KiB", ErrMalformed, maxMeta>>10)}
	d := &decoder{br: br, off: int64(meta.Len())}
	end := int64(-1) // where the group length says the group ends
	var tsUID string
	for first := true; end < 0 || d.off < end; first = false {
		more, err := d.more()
		if err != nil {
			return nil, dataset.Syntax{}, 0, err
		}
		if !more && end < 0 && !first {
			break // a meta group without group length, and no data set
		}
		t, err := d.peekTag(dataset.ExplicitLE)
		if errors.Is(err, ErrTruncated) {
			return nil, dataset.Syntax{}, 0, fmt.Errorf("%w: the file ends inside its meta group", ErrTruncated)
		}
		if err != nil {
			return nil, dataset.Syntax{}, 0, err
		}
		if t.group() != 0x0002 {
			if first {
				return nil, dataset.Syntax{}, 0, fmt.Errorf("%w: no meta group after the DICM prefix", ErrNotPart10)
			}
			if end >= 0 {
				return nil, dataset.Syntax{}, 0, fmt.Errorf("%w: element %s at byte %d, inside the meta group by its group length", ErrMalformed, t, d.off)
			}
			break // no group length: the group ends where group 0002 does
		}
		h, err := d.header(dataset.ExplicitLE)
		if err != nil {
			return nil, dataset.Syntax{}, 0, err
		}
		if h.vl == dataset.UndefinedLength {
			return nil, dataset.Syntax{}, 0, fmt.Errorf("%w: meta element %s has an undefined length", ErrMalformed, h.tag)
		}
		ms.Write(h.raw[:h.n])
		start := meta.Len()
		if err := d.copyN(ms, int64(h.vl), h); err != nil {
			return nil, dataset.Syntax{}, 0, err
		}
		value := meta.Bytes()[start:]
		switch {
		case first && h.tag == tagMetaGroupLength && h.vl == 4:
			end = d.off + int64(dataset.ExplicitLE.ByteOrder.Uint32(value))
		case h.tag == tagTransferSyntaxUID:
			tsUID = strings.Trim(string(value), " \x00")
		}
	}
	if end >= 0 && d.off != end {
		return nil, dataset.Syntax{}, 0, fmt.Errorf("%w: the meta group's elements run past its group length, to byte %d", ErrMalformed, d.off)
	}
	if tsUID == "" {
		return nil, dataset.Syntax{}, 0, fmt.Errorf("%w: the meta group has no Transfer Syntax UID (0002,0010)", ErrMalformed)
	}
	return meta.Bytes(), dataset.SyntaxOf(tsUID), made, nil
}

// makePrefix makes the Part 10 header of a data set that has none, in
// syntax ts, from its SOP Class and Instance UIDs: they are near its
// start, which it peeks at without reading.
func makePrefix(br *bufio.Reader, tsUID string, ts dataset.Syntax) ([]byte, error) {
	b, err := br.Peek(readBuffer)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("reconcile: reading: %w", err)
	}
	uids := map[tag]string{}
	src := &dataset.FileSource{R: bytes.NewReader(b), Size: int64(len(b))}
	var start int64 // of the value of the element walked
	w := &dataset.Walker{Source: src, Syntax: ts, Decode: decodeKnown, Layout: layout,
		Truncated: ErrTruncated, Malformed: ErrMalformed,
		Visit: func(ev dataset.Event) error {
			switch t := tag(ev.Header.Tag); {
			case ev.Depth > 0 || t != tagSOPClassUID && t != tagSOPInstanceUID:
			case ev.Kind == dataset.ElementStart:
				start = src.Off
			case ev.Kind == dataset.ElementEnd:
				uids[t] = strings.Trim(string(b[start:src.Off]), " \x00")
			}
			return nil
		}}
	for src.Off < src.Size {
		if next, _ := src.Peek(4); len(next) < 4 || tag(ts.Tag(next)) > tagSOPInstanceUID {
			break
		}
		if err := w.Element(-1, 0); err != nil {
			break // truncated, or beyond what was peeked: the copy finds out
		}
	}
	for _, t := range []tag{tagSOPClassUID, tagSOPInstanceUID} {
		if uids[t] == "" {
			return nil, fmt.Errorf("%w: no DICM prefix, and no %s at the start of the data set to make one with", ErrNotPart10, t)
		}
		if err := checkValue(t, "UI", uids[t]); err != nil {
			return nil, fmt.Errorf("%w: no DICM prefix, and the data set's %s is not a UID", ErrNotPart10, t)
		}
	}
	meta := dataset.ExplicitLE.AppendHeader(nil, 0x00020001, "OB", 2)
	meta = append(meta, 0, 1)
	meta = dataset.ExplicitLE.AppendText(meta, 0x00020002, "UI", uids[tagSOPClassUID])
	meta = dataset.ExplicitLE.AppendText(meta, 0x00020003, "UI", uids[tagSOPInstanceUID])
	meta = dataset.ExplicitLE.AppendText(meta, dataset.Tag(tagTransferSyntaxUID), "UI", tsUID)
	meta = dataset.ExplicitLE.AppendText(meta, 0x00020012, "UI", implementationClassUID)
	meta = dataset.ExplicitLE.AppendText(meta, 0x00020013, "SH", implementationVersionName)
	f := append(make([]byte, 128), "DICM"...)
	f = dataset.ExplicitLE.AppendHeader(f, dataset.Tag(tagMetaGroupLength), "UL", 4)
	f = dataset.ExplicitLE.ByteOrder.AppendUint32(f, uint32(len(meta)))
	return append(f, meta...), nil
}
