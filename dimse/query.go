package dimse

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"imageshare/internal/dataset"
)

// The Study Root query/retrieve information models (PS3.4 C.6.2).
const (
	StudyRootFind = "1.2.840.10008.5.1.4.1.2.2.1"
	StudyRootMove = "1.2.840.10008.5.1.4.1.2.2.2"
	StudyRootGet  = "1.2.840.10008.5.1.4.1.2.2.3"
)

// Level is a Query/Retrieve Level (0008,0052).
type Level string

// The levels of the Study Root model.
const (
	StudyLevel  Level = "STUDY"
	SeriesLevel Level = "SERIES"
	ImageLevel  Level = "IMAGE"
)

// MaxIdentifier caps the identifier of a C-FIND response read.
const MaxIdentifier = 1 << 20

// Tags of identifiers.
var (
	tagSOPClassUID                    = dataset.NewTag(0x0008, 0x0016)
	tagSOPInstanceUID                 = dataset.NewTag(0x0008, 0x0018)
	tagStudyDate                      = dataset.NewTag(0x0008, 0x0020)
	tagAccessionNumber                = dataset.NewTag(0x0008, 0x0050)
	tagQueryRetrieveLevel             = dataset.NewTag(0x0008, 0x0052)
	tagRetrieveAETitle                = dataset.NewTag(0x0008, 0x0054)
	tagModality                       = dataset.NewTag(0x0008, 0x0060)
	tagModalitiesInStudy              = dataset.NewTag(0x0008, 0x0061)
	tagStudyDescription               = dataset.NewTag(0x0008, 0x1030)
	tagPatientName                    = dataset.NewTag(0x0010, 0x0010)
	tagPatientID                      = dataset.NewTag(0x0010, 0x0020)
	tagStudyInstanceUID               = dataset.NewTag(0x0020, 0x000D)
	tagSeriesInstanceUID              = dataset.NewTag(0x0020, 0x000E)
	tagSeriesNumber                   = dataset.NewTag(0x0020, 0x0011)
	tagInstanceNumber                 = dataset.NewTag(0x0020, 0x0013)
	tagNumberOfStudyRelatedSeries     = dataset.NewTag(0x0020, 0x1206)
	tagNumberOfStudyRelatedInstances  = dataset.NewTag(0x0020, 0x1208)
	tagNumberOfSeriesRelatedInstances = dataset.NewTag(0x0020, 0x1209)
)

// identifier builds an identifier data set in a transfer syntax: elements
// added in ascending tag order.
type identifier struct {
	ts   dataset.Syntax
	b    []byte
	last dataset.Tag
	err  error
}

func (id *identifier) add(t dataset.Tag, vr, value string) {
	if id.err != nil {
		return
	}
	if len(id.b) > 0 && t <= id.last {
		id.err = fmt.Errorf("identifier: element %v after %v", t, id.last)
		return
	}
	if len(value) > 0xFFFE {
		id.err = fmt.Errorf("identifier: value of %v of %d bytes", t, len(value))
		return
	}
	id.last = t
	id.b = id.ts.AppendText(id.b, t, vr, value)
}

// checkKey refuses a matching key with a control character (but ESC, of
// ISO 2022 escapes): no VR of a key allows one. Wildcards and backslashes
// (value lists) go as the caller wrote them.
func checkKey(name, v string) error {
	for _, r := range v {
		if r < 0x20 && r != 0x1B {
			return fmt.Errorf("%s %q: a control character", name, v)
		}
	}
	return nil
}

// isPending reports whether a C-FIND, C-MOVE or C-GET response is a
// pending one, with more to follow.
func isPending(status uint16) bool { return status == StatusPending || status == StatusPendingWarning }

// exchange sends rq with identifier on context pc and reads the responses
// until the final one, which it returns. Each pending response goes to
// pending, its identifier (if any) streamed; a C-STORE-RQ that arrives in
// between (a C-GET's) goes to store, which returns the C-STORE-RSP to
// send. When ctx is done before the final
// response, a C-CANCEL-RQ is sent and the final response awaited for at
// most ARTIM; then the association is aborted. A final response of
// success is returned as one, cancelled or not: nothing is missing.
func (a *Assoc) exchange(ctx context.Context, pc Context, rq *Command, ident []byte, pending func(*Message) error, store func(*Message) (*Command, error)) (*Command, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	stop := a.watch(ctx)
	err := a.sendCommand(pc.ID, rq)
	if err == nil {
		w := a.newWriter(pc.ID, false)
		w.Write(ident)
		err = w.Close()
		if err != nil {
			err = fmt.Errorf("sending the identifier: %w", err)
		}
	}
	stop()
	if err != nil {
		a.Abort()
		return nil, ctxErr(ctx, err)
	}

	// From here this goroutine only reads; a cancellation writes the
	// C-CANCEL-RQ.
	var mu sync.Mutex
	finished := false
	var cancelled bool
	var artim *time.Timer
	cancelDone := make(chan struct{})
	stopCancel := context.AfterFunc(ctx, func() {
		defer close(cancelDone)
		mu.Lock()
		defer mu.Unlock()
		if finished {
			return
		}
		cancelled = true
		c := &Command{Field: CCancelRQ, MessageIDRespondedTo: rq.MessageID}
		if err := a.sendCommand(pc.ID, c); err != nil {
			a.Abort()
			return
		}
		artim = time.AfterFunc(a.artim, func() {
			mu.Lock()
			defer mu.Unlock()
			if !finished {
				a.Abort()
			}
		})
	})
	defer func() {
		mu.Lock()
		finished = true
		mu.Unlock()
		if !stopCancel() {
			<-cancelDone
		}
		if artim != nil {
			artim.Stop()
		}
	}()
	fail := func(err error) (*Command, error) {
		mu.Lock()
		c := cancelled
		mu.Unlock()
		if c {
			return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
		}
		return nil, err
	}

	for {
		m, err := a.readMessage()
		if err != nil {
			a.abortFor(err)
			return fail(err)
		}
		c := m.Command
		if c.Field == CStoreRQ && store != nil {
			rsp, err := store(m)
			if err == nil {
				// Under mu: a cancellation writes too.
				mu.Lock()
				err = a.sendCommand(m.Context.ID, rsp)
				mu.Unlock()
			}
			if err != nil {
				a.abortFor(err)
				return fail(err)
			}
			continue
		}
		if err := a.checkResponse(rq, c); err != nil {
			return fail(err)
		}
		if isPending(c.Status) {
			if err := pending(m); err != nil {
				a.abortFor(err)
				return fail(err)
			}
			if err := drain(m); err != nil {
				a.abortFor(err)
				return fail(err)
			}
			continue
		}
		if err := drain(m); err != nil {
			a.abortFor(err)
			return fail(err)
		}
		// The final response: no C-CANCEL-RQ from here on. One sent
		// while it was on its way is for an operation the peer has
		// finished: a C-CANCEL-RQ has no response, and dcmtk drops such
		// late ones.
		mu.Lock()
		finished = true
		wasCancelled := cancelled
		mu.Unlock()
		if wasCancelled && c.Status != StatusSuccess {
			return c, fmt.Errorf("%w (final status %04XH)", ctx.Err(), c.Status)
		}
		// Complete, though the caller may have given up meanwhile.
		return c, nil
	}
}

// ErrIdentifier wraps what is wrong with an identifier received.
var ErrIdentifier = errors.New("identifier not well formed")

// readIdentifier reads a response's identifier, at most MaxIdentifier
// bytes, and returns its top-level elements' values by tag; sequences
// are walked and left out.
func readIdentifier(r io.Reader, ts string) (map[dataset.Tag]string, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxIdentifier+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxIdentifier {
		return nil, fmt.Errorf("%w: longer than %d bytes", ErrIdentifier, MaxIdentifier)
	}
	return parseIdentifier(b, dataset.SyntaxOf(ts))
}

// parseIdentifier returns the top-level elements' values of the data set
// b, encoded in ts, trimmed of their padding.
func parseIdentifier(b []byte, ts dataset.Syntax) (map[dataset.Tag]string, error) {
	if ts.Deflated {
		return nil, fmt.Errorf("%w: deflated identifiers are not read", ErrIdentifier)
	}
	src := &dataset.FileSource{R: bytes.NewReader(b), Size: int64(len(b))}
	vals := map[dataset.Tag]string{}
	w := &dataset.Walker{
		Source:    src,
		Syntax:    ts,
		Layout:    identifierLayout,
		Truncated: ErrIdentifier,
		Malformed: ErrIdentifier,
		Visit: func(ev dataset.Event) error {
			if ev.Kind != dataset.ElementStart || ev.Depth != 0 || ev.Layout != dataset.Bytes {
				return nil
			}
			start := ev.At + int64(ev.Header.Size)
			end := start + int64(ev.Header.Length)
			if end > int64(len(b)) {
				return fmt.Errorf("%w: element %v at byte %d runs past the end", ErrIdentifier, ev.Header.Tag, ev.At)
			}
			vals[ev.Header.Tag] = strings.TrimRight(string(b[start:end]), "\x00 ")
			return nil
		},
	}
	for src.Offset() < int64(len(b)) {
		if err := w.Element(-1, 0); err != nil {
			return nil, err
		}
	}
	return vals, nil
}

func identifierLayout(h dataset.Header, ts dataset.Syntax) (dataset.Layout, dataset.Syntax) {
	switch {
	case h.VR == "UN" && h.Undefined():
		return dataset.Sequence, dataset.ImplicitLE
	case h.VR == "SQ" || ts.Implicit && (h.Undefined() || dataset.DictionaryVR(h.Tag) == "SQ"):
		return dataset.Sequence, ts
	case h.Undefined():
		return dataset.Fragments, ts
	}
	return dataset.Bytes, ts
}
