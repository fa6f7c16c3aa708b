package transfer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// MsgType is the first byte of every frame. Requests have the high bit
// clear, responses have it set.
type MsgType uint8

// Message types. See doc.go for their payloads.
const (
	MsgHello       MsgType = 0x01
	MsgGetManifest MsgType = 0x02
	MsgGetChunk    MsgType = 0x03
	MsgReceipt     MsgType = 0x04
	MsgManifest    MsgType = 0x81
	MsgChunk       MsgType = 0x82
	MsgReceiptAck  MsgType = 0x83
	MsgError       MsgType = 0xff
)

func (t MsgType) String() string {
	switch t {
	case MsgHello:
		return "HELLO"
	case MsgGetManifest:
		return "GET_MANIFEST"
	case MsgGetChunk:
		return "GET_CHUNK"
	case MsgReceipt:
		return "RECEIPT"
	case MsgManifest:
		return "MANIFEST"
	case MsgChunk:
		return "CHUNK"
	case MsgReceiptAck:
		return "RECEIPT_ACK"
	case MsgError:
		return "ERROR"
	}
	return fmt.Sprintf("type %#02x", uint8(t))
}

// Frame size limits. A reader refuses a frame above the limit for what it
// expects before reading its payload.
const (
	// MaxRequestSize caps the frames a sender reads from a receiver.
	MaxRequestSize = 1 << 10
	// MaxManifestSize caps the sealed manifest.
	MaxManifestSize = 64 << 20
	// MaxChunkSize caps a chunk's plaintext.
	MaxChunkSize = 8 << 20
	// MaxSealedChunkSize caps a chunk as sealed: age adds a header and 16
	// bytes every 64 KiB.
	MaxSealedChunkSize = MaxChunkSize + MaxChunkSize/(64<<10)*16 + 4<<10
	// MaxResponseSize caps the frames a receiver reads from a sender.
	MaxResponseSize = MaxManifestSize
	// MaxErrorMessage caps an ERROR frame's text.
	MaxErrorMessage = 512

	headerSize = 5
)

// FrameTooLargeError reports a frame whose declared length exceeds the cap.
type FrameTooLargeError struct {
	Type MsgType
	Size uint32
	Max  int
}

func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("%v frame of %d bytes exceeds maximum %d", e.Type, e.Size, e.Max)
}

// writeFrame writes one frame: type, big-endian uint32 payload length, and
// the payload, given in parts to spare a copy of chunk data.
func writeFrame(w io.Writer, t MsgType, parts ...[]byte) error {
	n := 0
	for _, p := range parts {
		n += len(p)
	}
	var hdr [headerSize]byte
	hdr[0] = byte(t)
	binary.BigEndian.PutUint32(hdr[1:], uint32(n))
	if _, err := w.Write(hdr[:]); err != nil {
		return err
	}
	for _, p := range parts {
		if _, err := w.Write(p); err != nil {
			return err
		}
	}
	return nil
}

// readFrame reads one frame whose payload is at most max bytes.
func readFrame(r io.Reader, max int) (MsgType, []byte, error) {
	return readFrameInto(r, max, nil)
}

// readFrameInto is readFrame reading the payload into buf when it fits,
// so that a stream of chunks reuses one buffer.
func readFrameInto(r io.Reader, max int, buf []byte) (MsgType, []byte, error) {
	var hdr [headerSize]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	t := MsgType(hdr[0])
	n := binary.BigEndian.Uint32(hdr[1:])
	if int64(n) > int64(max) {
		return t, nil, &FrameTooLargeError{Type: t, Size: n, Max: max}
	}
	var p []byte
	if int(n) <= cap(buf) {
		p = buf[:n]
	} else {
		p = make([]byte, n)
	}
	if _, err := io.ReadFull(r, p); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return t, nil, fmt.Errorf("reading %v frame: %w", t, err)
	}
	return t, p, nil
}
