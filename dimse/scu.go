package dimse

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"

	"imageshare/internal/dataset"
)

// Echo sends a C-ECHO-RQ on the Verification context and waits for its
// response: nil when the status is success.
func (a *Assoc) Echo(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	defer a.watch(ctx)()
	pc, ok := a.ContextFor(Verification)
	if !ok {
		return fmt.Errorf("C-ECHO: %w for Verification", ErrNoContext)
	}
	rq := &Command{Field: CEchoRQ, MessageID: a.nextMessageID(), AffectedSOPClassUID: Verification}
	if err := a.sendCommand(pc.ID, rq); err != nil {
		return ctxErr(ctx, fmt.Errorf("C-ECHO: %w", err))
	}
	rsp, err := a.response(rq)
	if err != nil {
		return ctxErr(ctx, fmt.Errorf("C-ECHO: %w", err))
	}
	if rsp.Status != StatusSuccess {
		return fmt.Errorf("C-ECHO: %w", &StatusError{Status: rsp.Status})
	}
	return nil
}

// response reads the response to rq. A protocol error aborts the
// association.
func (a *Assoc) response(rq *Command) (*Command, error) {
	m, err := a.readMessage()
	if err == nil {
		err = drain(m)
	}
	if err != nil {
		a.abortFor(err)
		return nil, err
	}
	if err := a.checkResponse(rq, m.Command); err != nil {
		return nil, err
	}
	return m.Command, nil
}

// abortFor aborts the association after err, unless the peer did.
func (a *Assoc) abortFor(err error) {
	if _, ok := err.(*AbortedError); !ok {
		a.abort(AbortSourceProvider, abortReasonOf(err))
	}
}

// checkResponse checks that c answers rq, and aborts the association if
// not.
func (a *Assoc) checkResponse(rq, c *Command) error {
	if c.Field != rq.Field|0x8000 || c.MessageIDRespondedTo != rq.MessageID {
		a.abort(AbortSourceProvider, AbortUnexpectedPDU)
		return fmt.Errorf("%w: response %04XH to message %d, not %04XH to %d", ErrMalformed, c.Field, c.MessageIDRespondedTo, rq.Field|0x8000, rq.MessageID)
	}
	return nil
}

// Warning statuses of C-STORE (PS3.4 B.2.3): the instance is stored.
func isWarning(status uint16) bool {
	return status == 0x0001 || status&0xF000 == 0xB000
}

// Store sends a C-STORE-RQ for an instance whose data set, encoded in
// transfer syntax ts, data streams; on the context accepted for its SOP
// class and ts. It returns the status answered: with a nil error, success
// or a warning (B000, B006, B007); a failure is a *StatusError.
func (a *Assoc) Store(ctx context.Context, sopClass, sopInstance, ts string, data io.Reader) (uint16, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	defer a.watch(ctx)()
	pc, ok := a.ContextFor(sopClass, ts)
	if !ok {
		return 0, fmt.Errorf("C-STORE of %s: %w for %s in %s", sopInstance, ErrNoContext, sopClass, ts)
	}
	rq := &Command{
		Field:                  CStoreRQ,
		MessageID:              a.nextMessageID(),
		AffectedSOPClassUID:    sopClass,
		AffectedSOPInstanceUID: sopInstance,
		Priority:               PriorityMedium,
		HasDataSet:             true,
	}
	if err := a.sendCommand(pc.ID, rq); err != nil {
		return 0, ctxErr(ctx, fmt.Errorf("C-STORE of %s: %w", sopInstance, err))
	}
	w := a.newWriter(pc.ID, false)
	if _, err := w.ReadFrom(data); err != nil {
		// The data set cannot be finished: only an A-ABORT ends it.
		a.Abort()
		return 0, ctxErr(ctx, fmt.Errorf("C-STORE of %s: sending its data set: %w", sopInstance, err))
	}
	if err := w.Close(); err != nil {
		return 0, ctxErr(ctx, fmt.Errorf("C-STORE of %s: sending its data set: %w", sopInstance, err))
	}
	rsp, err := a.response(rq)
	if err != nil {
		return 0, ctxErr(ctx, fmt.Errorf("C-STORE of %s: %w", sopInstance, err))
	}
	if rsp.Status != StatusSuccess && !isWarning(rsp.Status) {
		return rsp.Status, fmt.Errorf("C-STORE of %s: %w", sopInstance, &StatusError{Status: rsp.Status, Err: errComment(rsp.ErrorComment)})
	}
	return rsp.Status, nil
}

func errComment(s string) error {
	if s == "" {
		return nil
	}
	return fmt.Errorf("%s", s)
}

// StoreFile sends the PS3.10 file at path by C-STORE: its data set as it
// is, after the meta group, in the file's own transfer syntax; or, for an
// original in implicit or explicit VR little endian whose own syntax the
// peer did not accept, converted to the other (see StoreContexts). A
// compressed original is only ever sent as it is.
func (a *Assoc) StoreFile(ctx context.Context, path string) (uint16, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	m, err := ReadMeta(br)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	ts := m.TransferSyntaxUID
	if _, ok := a.ContextFor(m.SOPClassUID, ts); !ok {
		if fb := fallback(ts); fb != "" {
			if _, ok := a.ContextFor(m.SOPClassUID, fb); ok {
				return a.storeConverted(ctx, path, m, br, fb)
			}
		}
	}
	st, err := a.Store(ctx, m.SOPClassUID, m.SOPInstanceUID, ts, br)
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// fallback returns the transfer syntax an original in ts may be converted
// to: between the two little endian ones only, which differ in headers
// alone. Explicit VR big endian would need its values swapped: not built.
func fallback(ts string) string {
	switch ts {
	case ExplicitVRLittleEndian:
		return ImplicitVRLittleEndian
	case ImplicitVRLittleEndian:
		return ExplicitVRLittleEndian
	}
	return ""
}

func (a *Assoc) storeConverted(ctx context.Context, path string, m *FileMeta, br *bufio.Reader, to string) (uint16, error) {
	pr, pw := io.Pipe()
	done := make(chan struct{})
	go func() {
		defer close(done)
		pw.CloseWithError(convertLE(pw, br, dataset.SyntaxOf(m.TransferSyntaxUID), dataset.SyntaxOf(to)))
	}()
	st, err := a.Store(ctx, m.SOPClassUID, m.SOPInstanceUID, to, pr)
	pr.Close()
	<-done
	if err != nil {
		return st, fmt.Errorf("%s (converted to %s): %w", path, to, err)
	}
	return st, nil
}

// ReadFileMeta reads the file meta of the PS3.10 file at path.
func ReadFileMeta(path string) (*FileMeta, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ReadMeta(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// StoreContexts proposes, for each distinct SOP class and transfer syntax
// of metas, a context with that transfer syntax alone: each file is
// offered in its own encoding first. An original in implicit or explicit
// VR little endian also gets a context in the other, a fall-back proposed
// after every original syntax; compressed originals get none (nothing is
// decompressed, nothing made lossy), nor, yet, big endian ones.
func StoreContexts(metas []*FileMeta) ([]Context, error) {
	type key struct{ sop, ts string }
	seen := map[key]bool{}
	var cs, fallbacks []Context
	for _, m := range metas {
		k := key{m.SOPClassUID, m.TransferSyntaxUID}
		if seen[k] {
			continue
		}
		seen[k] = true
		cs = append(cs, Context{AbstractSyntax: k.sop, TransferSyntaxes: []string{k.ts}})
		if fb := fallback(k.ts); fb != "" {
			fallbacks = append(fallbacks, Context{AbstractSyntax: k.sop, TransferSyntaxes: []string{fb}})
		}
	}
	for _, c := range fallbacks {
		k := key{c.AbstractSyntax, c.TransferSyntax()}
		if !seen[k] {
			seen[k] = true
			cs = append(cs, c)
		}
	}
	if len(cs) > 128 {
		return nil, fmt.Errorf("%d SOP class and transfer syntax pairs: more than the 128 presentation contexts of one association", len(cs))
	}
	return cs, nil
}
