package reconcile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
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
	explicit := shortVR(vr) || longVR(vr)
	switch explicitLE.bo.Uint16(b) {
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
func readPrefix(br *bufio.Reader) (prefix []byte, ts syntax, made int64, err error) {
	b, perr := br.Peek(132)
	if perr != nil && perr != io.EOF {
		return nil, syntax{}, 0, fmt.Errorf("reconcile: reading: %w", perr)
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
		prefix, err := makePrefix(br, uidImplicitVRLittleEndian, implicitLE)
		return prefix, implicitLE, int64(len(prefix)), err
	case startExplicit:
		prefix, err := makePrefix(br, uidExplicitVRLittleEndian, explicitLE)
		return prefix, explicitLE, int64(len(prefix)), err
	default:
		return nil, syntax{}, 0, errNotDICOM
	}
	ms := &sink{w: &meta, limit: maxMeta, limitErr: fmt.Errorf("%w: the meta group is over %d KiB", ErrMalformed, maxMeta>>10)}
	d := &decoder{br: br, off: int64(meta.Len())}
	end := int64(-1) // where the group length says the group ends
	var tsUID string
	for first := true; end < 0 || d.off < end; first = false {
		more, err := d.more()
		if err != nil {
			return nil, syntax{}, 0, err
		}
		if !more && end < 0 && !first {
			break // a meta group without group length, and no data set
		}
		t, err := d.peekTag(explicitLE)
		if errors.Is(err, ErrTruncated) {
			return nil, syntax{}, 0, fmt.Errorf("%w: the file ends inside its meta group", ErrTruncated)
		}
		if err != nil {
			return nil, syntax{}, 0, err
		}
		if t.group() != 0x0002 {
			if first {
				return nil, syntax{}, 0, fmt.Errorf("%w: no meta group after the DICM prefix", ErrNotPart10)
			}
			if end >= 0 {
				return nil, syntax{}, 0, fmt.Errorf("%w: element %s at byte %d, inside the meta group by its group length", ErrMalformed, t, d.off)
			}
			break // no group length: the group ends where group 0002 does
		}
		h, err := d.header(explicitLE)
		if err != nil {
			return nil, syntax{}, 0, err
		}
		if h.vl == undefinedLength {
			return nil, syntax{}, 0, fmt.Errorf("%w: meta element %s has an undefined length", ErrMalformed, h.tag)
		}
		ms.Write(h.raw[:h.n])
		start := meta.Len()
		if err := d.copyN(ms, int64(h.vl), h); err != nil {
			return nil, syntax{}, 0, err
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
		return nil, syntax{}, 0, fmt.Errorf("%w: the meta group's elements run past its group length, to byte %d", ErrMalformed, d.off)
	}
	if tsUID == "" {
		return nil, syntax{}, 0, fmt.Errorf("%w: the meta group has no Transfer Syntax UID (0002,0010)", ErrMalformed)
	}
	return meta.Bytes(), syntaxOf(tsUID), made, nil
}

// makePrefix makes the Part 10 header of a data set that has none, in
// syntax ts, from its SOP Class and Instance UIDs: they are near its
// start, which it peeks at without reading.
func makePrefix(br *bufio.Reader, tsUID string, ts syntax) ([]byte, error) {
	b, err := br.Peek(readBuffer)
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, fmt.Errorf("reconcile: reading: %w", err)
	}
	uids := map[tag]string{}
	d := &decoder{br: bufio.NewReader(bytes.NewReader(b))}
	for {
		more, err := d.more()
		if err != nil || !more {
			break
		}
		t, err := d.peekTag(ts)
		if err != nil || t > tagSOPInstanceUID {
			break
		}
		h, err := d.header(ts)
		if err != nil {
			break
		}
		var v bytes.Buffer
		w := &sink{w: io.Discard}
		if t == tagSOPClassUID || t == tagSOPInstanceUID {
			w = &sink{w: &v}
		}
		if err := d.value(w, h, ts, 0, nil); err != nil {
			break // truncated, or beyond what was peeked: the copy finds out
		}
		if w.w == &v {
			uids[t] = strings.Trim(v.String(), " \x00")
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
	meta := explicitLE.appendHeader(nil, 0x00020001, "OB", 2)
	meta = append(meta, 0, 1)
	meta = explicitLE.appendText(meta, 0x00020002, "UI", uids[tagSOPClassUID])
	meta = explicitLE.appendText(meta, 0x00020003, "UI", uids[tagSOPInstanceUID])
	meta = explicitLE.appendText(meta, tagTransferSyntaxUID, "UI", tsUID)
	meta = explicitLE.appendText(meta, 0x00020012, "UI", implementationClassUID)
	meta = explicitLE.appendText(meta, 0x00020013, "SH", implementationVersionName)
	f := append(make([]byte, 128), "DICM"...)
	f = explicitLE.appendHeader(f, tagMetaGroupLength, "UL", 4)
	f = explicitLE.bo.AppendUint32(f, uint32(len(meta)))
	return append(f, meta...), nil
}
