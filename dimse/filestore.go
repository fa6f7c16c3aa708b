package dimse

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"imageshare/internal/atomicfile"
	"imageshare/internal/dataset"
)

// FileStore is a StoreHandler that writes each instance received as a
// PS3.10 file, Dir/<SOP Instance UID>.dcm, readable by its owner only: the
// file meta built from the association (PS3.10 7.1), then the data set as
// it arrived. A file appears under its name only when whole.
type FileStore struct {
	Dir string
}

var _ StoreHandler = (*FileStore)(nil)

// validUID reports whether s is a UID (PS3.5 9.1): at most 64 characters,
// components of digits without leading zeros, separated by dots.
func validUID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range strings.Split(s, ".") {
		if c == "" || (len(c) > 1 && c[0] == '0') {
			return false
		}
		for _, d := range []byte(c) {
			if d < '0' || d > '9' {
				return false
			}
		}
	}
	return true
}

// peerReader keeps the error of reading the data set from the peer, to
// tell it from an error writing the file.
type peerReader struct {
	r   io.Reader
	err error
}

func (p *peerReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if err != nil && err != io.EOF {
		p.err = err
	}
	return n, err
}

// HandleStore writes the instance. A UID that is not one, or a data set
// that does not start as one in the negotiated transfer syntax, is
// refused with C000 (cannot understand); a failure to write, A700 (out of
// resources).
func (fs *FileStore) HandleStore(ctx context.Context, req *StoreRequest, data io.Reader) (string, error) {
	if !validUID(req.SOPInstanceUID) || !validUID(req.SOPClassUID) {
		return "", &StatusError{Status: StatusCannotUnderstand, Err: fmt.Errorf("SOP class %q or instance %q is not a UID", req.SOPClassUID, req.SOPInstanceUID)}
	}
	pr := &peerReader{r: data}
	br := bufio.NewReaderSize(pr, 64<<10)
	if err := checkStart(br, req.TransferSyntaxUID); err != nil {
		if pr.err != nil {
			return "", pr.err
		}
		return "", &StatusError{Status: StatusCannotUnderstand, Err: fmt.Errorf("data set of %s: %w", req.SOPInstanceUID, err)}
	}
	name := filepath.Join(fs.Dir, req.SOPInstanceUID+".dcm")
	err := atomicfile.WriteFrom(name, 0o600, func(w io.Writer) error {
		if _, err := w.Write(appendMeta(nil, req.SOPClassUID, req.SOPInstanceUID, req.TransferSyntaxUID, req.CallingAE)); err != nil {
			return err
		}
		_, err := br.WriteTo(w)
		return err
	})
	if pr.err != nil {
		return "", pr.err
	}
	if err != nil {
		return "", &StatusError{Status: StatusOutOfResources, Err: fmt.Errorf("writing %s: %w", name, err)}
	}
	return name, nil
}

var errNotDataSet = errors.New("not a data set")

// checkStart checks that a data set starts with an element header of a
// group past the meta group, in transfer syntax ts. A deflated data set
// is taken as it is.
func checkStart(br *bufio.Reader, ts string) error {
	syn := dataset.SyntaxOf(ts)
	if syn.Deflated {
		if _, err := br.Peek(1); err != nil {
			return fmt.Errorf("%w: empty", errNotDataSet)
		}
		return nil
	}
	b, err := br.Peek(12)
	if len(b) < 8 {
		return fmt.Errorf("%w: %d bytes", errNotDataSet, len(b))
	}
	h, ok := syn.DecodeHeader(b)
	if !ok && err == nil {
		return fmt.Errorf("%w: first element header malformed", errNotDataSet)
	}
	if g := h.Tag.Group(); g < 0x0008 || g == dataset.ItemGroup {
		return fmt.Errorf("%w: first element %v", errNotDataSet, h.Tag)
	}
	if !syn.Implicit && !dataset.KnownVR(h.VR) {
		return fmt.Errorf("%w: first element %v has VR %q", errNotDataSet, h.Tag, h.VR)
	}
	return nil
}
