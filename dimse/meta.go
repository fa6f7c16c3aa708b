package dimse

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"imageshare/internal/dataset"
)

// FileMeta is the file meta information of a PS3.10 file, as far as
// storing it goes.
type FileMeta struct {
	SOPClassUID       string // (0002,0002)
	SOPInstanceUID    string // (0002,0003)
	TransferSyntaxUID string // (0002,0010)
	// Length is the length of preamble, prefix and meta group: where the
	// data set starts.
	Length int64
}

// MaxMeta caps the file meta group read from a file.
const MaxMeta = 64 << 10

// ReadMeta reads a PS3.10 file's preamble, "DICM" and file meta group
// from br, leaving br at the first byte of the data set.
func ReadMeta(br *bufio.Reader) (*FileMeta, error) {
	var pre [132]byte
	if _, err := io.ReadFull(br, pre[:]); err != nil {
		return nil, fmt.Errorf("not a PS3.10 file: preamble: %w", err)
	}
	if string(pre[128:]) != "DICM" {
		return nil, fmt.Errorf("not a PS3.10 file: no DICM prefix at offset 128")
	}
	m := &FileMeta{Length: 132}
	for {
		b, err := br.Peek(8)
		if err == io.EOF && len(b) == 0 {
			break
		}
		if err != nil && len(b) < 8 {
			return nil, fmt.Errorf("file meta at offset %d: truncated", m.Length)
		}
		if binary.LittleEndian.Uint16(b) != 0x0002 {
			break
		}
		if b, err = br.Peek(12); err != nil && len(b) < 8 {
			return nil, fmt.Errorf("file meta at offset %d: truncated", m.Length)
		}
		h, ok := dataset.ExplicitLE.DecodeHeader(b)
		if !ok || h.Undefined() {
			return nil, fmt.Errorf("file meta at offset %d: malformed element header", m.Length)
		}
		if m.Length+int64(h.Size)+int64(h.Length) > MaxMeta {
			return nil, fmt.Errorf("file meta at offset %d: element %v of %d bytes: meta group exceeds maximum %d", m.Length, h.Tag, h.Length, MaxMeta)
		}
		if _, err := br.Discard(h.Size); err != nil {
			return nil, fmt.Errorf("file meta at offset %d: %w", m.Length, err)
		}
		v := make([]byte, h.Length)
		if _, err := io.ReadFull(br, v); err != nil {
			return nil, fmt.Errorf("file meta element %v at offset %d: truncated", h.Tag, m.Length)
		}
		s := strings.TrimRight(string(v), "\x00 ")
		switch h.Tag {
		case dataset.NewTag(2, 2):
			m.SOPClassUID = s
		case dataset.NewTag(2, 3):
			m.SOPInstanceUID = s
		case dataset.NewTag(2, 0x10):
			m.TransferSyntaxUID = s
		}
		m.Length += int64(h.Size) + int64(h.Length)
	}
	if m.SOPClassUID == "" || m.SOPInstanceUID == "" || m.TransferSyntaxUID == "" {
		return nil, fmt.Errorf("file meta: no SOP class, SOP instance or transfer syntax UID")
	}
	return m, nil
}

// appendMeta appends a preamble, "DICM" and the file meta group of a file
// received by C-STORE (PS3.10 7.1).
func appendMeta(b []byte, sopClass, sopInstance, ts, sourceAE string) []byte {
	ts0 := dataset.ExplicitLE
	b = append(b, make([]byte, 128)...)
	b = append(b, "DICM"...)
	var g []byte
	g = ts0.AppendHeader(g, dataset.NewTag(2, 1), "OB", 2)
	g = append(g, 0, 1)
	g = ts0.AppendText(g, dataset.NewTag(2, 2), "UI", sopClass)
	g = ts0.AppendText(g, dataset.NewTag(2, 3), "UI", sopInstance)
	g = ts0.AppendText(g, dataset.NewTag(2, 0x10), "UI", ts)
	g = ts0.AppendText(g, dataset.NewTag(2, 0x12), "UI", ImplementationClassUID)
	g = ts0.AppendText(g, dataset.NewTag(2, 0x13), "SH", ImplementationVersionName)
	if sourceAE != "" {
		g = ts0.AppendText(g, dataset.NewTag(2, 0x16), "AE", sourceAE)
	}
	b = ts0.AppendHeader(b, dataset.NewTag(2, 0), "UL", 4)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(g)))
	return append(b, g...)
}
