package dicomweb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"time"
)

// Defaults and bounds of Store.
const (
	// DefaultBatchBytes is how many bytes of files a STOW-RS request
	// carries at most, unless one file alone is larger.
	DefaultBatchBytes = 64 << 20
	// DefaultRetries is how many times a batch is sent again.
	DefaultRetries = 3
	// MaxRetryAfter caps how long Store honours a Retry-After.
	MaxRetryAfter = 30 * time.Second
)

// An Instance is one DICOM file to store, with the UIDs by which the PACS's
// answer names it.
type Instance struct {
	Path           string
	SOPInstanceUID string
	SOPClassUID    string // optional: only reported back
}

// StoreOptions tune Store; the zero value is the defaults.
type StoreOptions struct {
	// BatchBytes is how many bytes of files one request carries at most
	// (a larger file goes alone); 0 means DefaultBatchBytes.
	BatchBytes int64
	// Retries is how many times a batch is sent again, after 1 s, 2 s,
	// 4 s…; 0 means DefaultRetries, a negative number none.
	Retries int
	// Progress, if not nil, is called as instances are settled: done
	// counts those stored or failed for good so far, of total.
	Progress func(done, total int)
}

// A StoreResult says what became of each instance given to Store: each is
// in Stored or in Failed.
type StoreResult struct {
	// Stored are the instances the PACS says it stored.
	Stored []Instance
	// Warnings are those of Stored that the PACS stored with a warning,
	// such as coerced attributes (0xB000).
	Warnings []Warning
	// Failed are the instances not stored.
	Failed []Failure
}

// A Failure is an instance the PACS did not store, and why.
type Failure struct {
	Instance
	// Reason is the Failure Reason (0008,1197) the PACS gave, 0 if none
	// (no answer, or an answer that did not list the instance).
	Reason uint16
	// Text says what happened, for people.
	Text string
	// Retriable says that storing it again later may succeed: the PACS
	// lacked resources, or could not be reached.
	Retriable bool
}

// A Warning is an instance stored with a Warning Reason (0008,1196).
type Warning struct {
	Instance
	Reason uint16
	Text   string
}

// Store sends the instances to the PACS with STOW-RS (POST {Base}/studies),
// in batches of about opts.BatchBytes streamed from the files, and returns
// what became of each, matching the PACS's answer to the files by SOP
// Instance UID. It retries what may succeed later (see the package
// documentation).
//
// The error is nil when the PACS answered for every instance, even if it
// refused some: they are in the result's Failed. It is not nil when Store
// gave up before that: the PACS unreachable or unavailable after the
// retries (ErrUnavailable), refusing the request as a whole (a
// StatusError, e.g. HTTP 401), or ctx done. The result then still says
// what was stored, and the instances not sent are in Failed with a Text
// that says why. Input it cannot use (an instance without a SOP Instance
// UID, two with the same one) is an error before anything is sent.
func (c *Client) Store(ctx context.Context, instances []Instance, opts StoreOptions) (*StoreResult, error) {
	index := make(map[string]int, len(instances))
	for i, in := range instances {
		if in.SOPInstanceUID == "" {
			return nil, fmt.Errorf("instance %d (%s) has no SOP Instance UID", i+1, in.Path)
		}
		if j, dup := index[in.SOPInstanceUID]; dup {
			return nil, fmt.Errorf("instances %d (%s) and %d (%s) have the same SOP Instance UID %s",
				j+1, instances[j].Path, i+1, in.Path, in.SOPInstanceUID)
		}
		index[in.SOPInstanceUID] = i
	}
	s := &storeRun{c: c, ctx: ctx, opts: opts, total: len(instances), res: &StoreResult{}}
	if s.opts.BatchBytes <= 0 {
		s.opts.BatchBytes = DefaultBatchBytes
	}
	switch {
	case s.opts.Retries == 0:
		s.opts.Retries = DefaultRetries
	case s.opts.Retries < 0:
		s.opts.Retries = 0
	}
	var items []item
	for _, in := range instances {
		fi, err := os.Stat(in.Path)
		if err == nil && !fi.Mode().IsRegular() {
			err = errors.New("not a regular file")
		}
		if err != nil {
			s.fail(Failure{Instance: in, Text: fmt.Sprintf("not sent: %v", err)})
			continue
		}
		items = append(items, item{in, fi.Size()})
	}
	s.report()
	return s.res, s.run(batches(items, s.opts.BatchBytes))
}

// An item is an instance to send and the size of its file.
type item struct {
	Instance
	size int64
}

// A batch is instances sent in one request, and how many times it was sent
// already.
type batch struct {
	items   []item
	attempt int           // sends so far that failed as a whole
	wait    time.Duration // before sending it again
}

// batches groups items in order into batches of at most max bytes, a
// larger item alone.
func batches(items []item, max int64) []batch {
	var out []batch
	var cur []item
	var size int64
	for _, it := range items {
		if len(cur) > 0 && size+it.size > max {
			out = append(out, batch{items: cur})
			cur, size = nil, 0
		}
		cur = append(cur, it)
		size += it.size
	}
	if len(cur) > 0 {
		out = append(out, batch{items: cur})
	}
	return out
}

// storeRun is the state of one Store.
type storeRun struct {
	c        *Client
	ctx      context.Context
	opts     StoreOptions
	total    int
	settled  int
	reported int
	res      *StoreResult
}

func (s *storeRun) fail(f Failure) {
	s.res.Failed = append(s.res.Failed, f)
	s.settled++
}

func (s *storeRun) stored(in Instance) {
	s.res.Stored = append(s.res.Stored, in)
	s.settled++
}

// report calls Progress when instances were settled since its last call.
func (s *storeRun) report() {
	if s.opts.Progress != nil && s.settled != s.reported {
		s.reported = s.settled
		s.opts.Progress(s.settled, s.total)
	}
}

// failAll fails every instance of the batches with the same text.
func (s *storeRun) failAll(queue []batch, text string, retriable bool) {
	for _, b := range queue {
		for _, it := range b.items {
			s.fail(Failure{Instance: it.Instance, Text: text, Retriable: retriable})
		}
	}
	s.report()
}

// run sends the batches in turn, and the batches that their answers call
// for, until every instance is settled or it must give up.
func (s *storeRun) run(queue []batch) error {
	for len(queue) > 0 {
		b := queue[0]
		queue = queue[1:]
		if b.wait > 0 {
			if err := sleep(s.ctx, b.wait); err != nil {
				s.failAll(append([]batch{b}, queue...), "not stored: "+err.Error(), true)
				return fmt.Errorf("storing in the PACS: %w", err)
			}
		}
		out := s.c.sendBatch(s.ctx, b.items)
		if err := s.ctx.Err(); err != nil && out.err != nil {
			s.failAll(append([]batch{b}, queue...), "not stored: "+err.Error(), true)
			return fmt.Errorf("storing in the PACS: %w", err)
		}
		switch {
		case out.badFile != nil:
			// A file could not be read while sending: it fails alone, the
			// others go again at once.
			var rest []item
			for _, it := range b.items {
				if it.SOPInstanceUID == out.badFile.uid {
					s.fail(Failure{Instance: it.Instance, Text: "not sent: " + out.badFile.Error()})
				} else {
					rest = append(rest, it)
				}
			}
			s.report()
			if len(rest) > 0 {
				queue = append([]batch{{items: rest, attempt: b.attempt}}, queue...)
			}

		case out.retry:
			if b.attempt >= s.opts.Retries {
				text := fmt.Sprintf("not stored: the PACS failed %d attempts, the last with: %v", b.attempt+1, out.err)
				s.failAll(append([]batch{b}, queue...), text, true)
				return fmt.Errorf("%w: %d of %d instances not stored after %d attempts: %w",
					ErrUnavailable, len(s.res.Failed), s.total, b.attempt+1, out.err)
			}
			b.attempt++
			b.wait = s.backoff(b.attempt, out.retryAfter)
			queue = append([]batch{b}, queue...)

		case out.err != nil:
			s.failAll(append([]batch{b}, queue...), "not stored: "+out.err.Error(), false)
			return out.err

		case out.tooLarge:
			if len(b.items) == 1 {
				s.fail(Failure{Instance: b.items[0].Instance, Text: "not stored: the PACS says the file is too large (HTTP 413)"})
				s.report()
				continue
			}
			half := len(b.items) / 2
			queue = append([]batch{{items: b.items[:half], attempt: b.attempt}, {items: b.items[half:], attempt: b.attempt}}, queue...)

		default:
			queue = append(s.settle(b, out), queue...)
		}
	}
	return nil
}

// settle records the PACS's answer for each instance of the batch and
// returns the batches to send next: the instances to retry, and those the
// answer did not mention.
func (s *storeRun) settle(b batch, out *batchOutcome) []batch {
	var retry, unmentioned []item
	for _, it := range b.items {
		uid := it.SOPInstanceUID
		if r, ok := out.stored[uid]; ok {
			s.stored(it.Instance)
			if r.warned {
				s.res.Warnings = append(s.res.Warnings, Warning{Instance: it.Instance, Reason: r.reason, Text: warningText(r.reason)})
			}
			continue
		}
		if r, ok := out.failed[uid]; ok {
			retriable := retriableFailure(r.reason)
			if retriable && b.attempt < s.opts.Retries {
				retry = append(retry, it)
				continue
			}
			text := failureText(r.reason)
			if retriable {
				text = fmt.Sprintf("%s, %d times", text, b.attempt+1)
			}
			s.fail(Failure{Instance: it.Instance, Reason: r.reason, Text: text, Retriable: retriable})
			continue
		}
		if out.allStored {
			s.stored(it.Instance)
			continue
		}
		if out.allFailed {
			s.fail(Failure{Instance: it.Instance, Text: "not stored: the PACS answered HTTP " + out.status + withAnswer(out.answer)})
			continue
		}
		unmentioned = append(unmentioned, it)
	}
	s.report()

	var next []batch
	switch {
	case len(unmentioned) == 1 && len(b.items) == 1:
		s.fail(Failure{Instance: unmentioned[0].Instance, Text: fmt.Sprintf(
			"not stored: the PACS answered HTTP %s but listed the instance neither as stored nor as failed (its log may say why)%s",
			out.status, withAnswer(out.answer))})
		s.report()
	case len(unmentioned) > 0:
		// Orthanc stops at an instance it refuses, and answers for those
		// before it only: the first unmentioned goes alone, to tell which
		// one it was, and the others after it.
		next = append(next, batch{items: unmentioned[:1], attempt: b.attempt})
		if len(unmentioned) > 1 {
			next = append(next, batch{items: unmentioned[1:], attempt: b.attempt})
		}
	}
	if len(retry) > 0 {
		next = append(next, batch{items: retry, attempt: b.attempt + 1, wait: s.backoff(b.attempt+1, out.retryAfter)})
	}
	return next
}

func withAnswer(answer string) string {
	if answer == "" {
		return ""
	}
	return ": " + answer
}

// backoff is the wait before the attempt-th retry: Retry-After if the PACS
// gave one (capped at MaxRetryAfter), else 1 s, 2 s, 4 s….
func (s *storeRun) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, MaxRetryAfter)
	}
	d := s.c.retryDelay
	if d <= 0 {
		d = time.Second
	}
	return d << (attempt - 1)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// A batchOutcome is what one STOW-RS request came to.
type batchOutcome struct {
	status string // the HTTP status, e.g. "200 OK"

	// From the answer's sequences, by SOP Instance UID.
	stored map[string]reasonCode // Referenced SOP Sequence
	failed map[string]reasonCode // Failed SOP Sequence
	// For an answer without usable sequences: 200 means all stored, 409
	// all failed; otherwise the instances count as unmentioned.
	allStored, allFailed bool
	answer               string // the start of such an answer

	tooLarge   bool          // HTTP 413: send fewer at a time
	retry      bool          // err may pass: send the batch again
	retryAfter time.Duration // the PACS's Retry-After, 0 if none
	badFile    *fileError    // a file that could not be read while sending
	err        error         // why the batch got no usable answer
}

type reasonCode struct {
	reason uint16
	warned bool // a Warning Reason came with a stored instance
}

// sendBatch makes one STOW-RS request for items and sorts out its answer.
func (c *Client) sendBatch(ctx context.Context, items []item) *batchOutcome {
	req, err := c.stowRequest(ctx, items)
	if err != nil {
		return &batchOutcome{err: err}
	}
	resp, err := c.do(req)
	if err != nil {
		var fe *fileError
		if errors.As(err, &fe) {
			return &batchOutcome{badFile: fe, err: err}
		}
		return &batchOutcome{retry: true, err: err}
	}
	defer resp.Body.Close()
	out := &batchOutcome{status: resp.Status}
	code := resp.StatusCode
	switch {
	case code == http.StatusRequestTimeout || code == http.StatusTooManyRequests || code/100 == 5:
		out.retry = true
		out.retryAfter = retryAfter(resp.Header.Get("Retry-After"), time.Now())
		out.err = statusError(resp)
		return out
	case code == http.StatusRequestEntityTooLarge:
		out.tooLarge = true
		return out
	case code/100 == 2 || code == http.StatusBadRequest || code == http.StatusConflict:
		// Answers that list instances; Orthanc sends its 400 without a
		// content type.
	default:
		out.err = statusError(resp)
		return out
	}
	b, err := readLimited(resp.Body, MaxJSONBytes, "the STOW-RS answer")
	if err != nil {
		// Sent, but what became of it is not known: send it again.
		out.retry = true
		out.err = fmt.Errorf("POST %s: %w", req.URL, err)
		return out
	}
	out.stored, out.failed, err = parseStoreAnswer(b)
	if err != nil {
		out.allStored = code == http.StatusOK
		out.allFailed = code == http.StatusConflict
		out.answer = excerpt(b[:min(len(b), maxExcerpt)])
	}
	return out
}

// parseStoreAnswer reads the Referenced and Failed SOP Sequences of a
// STOW-RS answer (PS3.18 10.5.3). An answer that is not a DICOM JSON
// object, or has neither sequence, is an error.
func parseStoreAnswer(b []byte) (stored, failed map[string]reasonCode, err error) {
	var d dataset
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, nil, fmt.Errorf("not a DICOM JSON object: %w", err)
	}
	_, hasStored := d[tagReferencedSOPSequence]
	_, hasFailed := d[tagFailedSOPSequence]
	if !hasStored && !hasFailed {
		return nil, nil, errors.New("neither a Referenced nor a Failed SOP Sequence")
	}
	stored, failed = map[string]reasonCode{}, map[string]reasonCode{}
	refs, err := d.sequence(tagReferencedSOPSequence)
	if err != nil {
		return nil, nil, err
	}
	for _, item := range refs {
		if uid := item.string(tagReferencedSOPInstanceUID); uid != "" {
			reason, warned := item.uint16(tagWarningReason)
			stored[uid] = reasonCode{reason: reason, warned: warned}
		}
	}
	fails, err := d.sequence(tagFailedSOPSequence)
	if err != nil {
		return nil, nil, err
	}
	for _, item := range fails {
		if uid := item.string(tagReferencedSOPInstanceUID); uid != "" {
			if _, ok := stored[uid]; !ok {
				reason, _ := item.uint16(tagFailureReason)
				failed[uid] = reasonCode{reason: reason}
			}
		}
	}
	return stored, failed, nil
}

// retriableFailure says whether a Failure Reason may pass: out of
// resources (0xA7xx) or a processing failure (0x0110).
func retriableFailure(reason uint16) bool {
	return reason&0xFF00 == 0xA700 || reason == 0x0110
}

// failureText describes a Failure Reason (PS3.4 GG.4-1, PS3.18 10.5.3).
func failureText(reason uint16) string {
	what := "no reason given"
	switch {
	case reason == 0:
	case reason == 0x0110:
		what = "processing failure"
	case reason == 0x0122:
		what = "SOP class not supported"
	case reason == 0x0124:
		what = "not authorized"
	case reason == 0x0111:
		what = "duplicate SOP instance"
	case reason&0xFF00 == 0xA700:
		what = "out of resources"
	case reason&0xFF00 == 0xA900:
		what = "data set does not match SOP class"
	case reason == 0xC122:
		what = "transfer syntax not supported"
	case reason&0xF000 == 0xC000:
		what = "cannot understand"
	default:
		what = "failure"
	}
	if reason == 0 {
		return "not stored: the PACS failed it, " + what
	}
	return fmt.Sprintf("not stored: the PACS failed it with reason 0x%04X (%s)", reason, what)
}

// warningText describes a Warning Reason (PS3.18 10.5.3).
func warningText(reason uint16) string {
	what := "warning"
	switch reason {
	case 0xB000:
		what = "coercion of data elements"
	case 0xB006:
		what = "elements discarded"
	case 0xB007:
		what = "data set does not match SOP class"
	}
	return fmt.Sprintf("stored with warning 0x%04X (%s)", reason, what)
}

// retryAfter reads a Retry-After header: seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if secs, err := strconv.Atoi(v); err == nil {
		if secs <= 0 {
			return 0
		}
		return min(time.Duration(secs)*time.Second, MaxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), MaxRetryAfter)
	}
	return 0
}

// A fileError is a file that could not be read while a request streamed it.
type fileError struct {
	uid, path string
	err       error
}

// Error names the file and what went wrong.
func (e *fileError) Error() string { return fmt.Sprintf("reading %s: %v", e.path, e.err) }
func (e *fileError) Unwrap() error { return e.err }

var partHeader = textproto.MIMEHeader{"Content-Type": {"application/dicom"}}

// stowRequest builds the POST for items. Its body is streamed from the
// files as the request is sent, with its length known beforehand.
func (c *Client) stowRequest(ctx context.Context, items []item) (*http.Request, error) {
	var rb [16]byte
	if _, err := rand.Read(rb[:]); err != nil {
		return nil, err
	}
	boundary := "imageshare-" + hex.EncodeToString(rb[:])
	req, err := c.newRequest(ctx, http.MethodPost, "/studies", nil, nil)
	if err != nil {
		return nil, err
	}
	length, err := multipartLength(boundary, items)
	if err != nil {
		return nil, err
	}
	req.ContentLength = length
	req.GetBody = func() (io.ReadCloser, error) { return multipartBody(boundary, items), nil }
	req.Body, _ = req.GetBody()
	req.Header.Set("Content-Type", `multipart/related; type="application/dicom"; boundary=`+boundary)
	req.Header.Set("Accept", "application/dicom+json")
	return req, nil
}

// multipartLength is the length of the body multipartBody writes.
func multipartLength(boundary string, items []item) (int64, error) {
	var n countingWriter
	mw := multipart.NewWriter(&n)
	if err := mw.SetBoundary(boundary); err != nil {
		return 0, err
	}
	var files int64
	for _, it := range items {
		if _, err := mw.CreatePart(partHeader); err != nil {
			return 0, err
		}
		files += it.size
	}
	if err := mw.Close(); err != nil {
		return 0, err
	}
	return int64(n) + files, nil
}

type countingWriter int64

func (w *countingWriter) Write(p []byte) (int, error) {
	*w += countingWriter(len(p))
	return len(p), nil
}

// multipartBody streams the files as multipart/related parts through a
// pipe. A file that cannot be read, or whose size changed, ends the body
// with a *fileError.
func multipartBody(boundary string, items []item) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		mw := multipart.NewWriter(pw)
		err := mw.SetBoundary(boundary)
		for _, it := range items {
			if err != nil {
				break
			}
			var w io.Writer
			if w, err = mw.CreatePart(partHeader); err == nil {
				err = copyFile(w, it)
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	return pr
}

// copyFile writes exactly the item's size from its file to w.
func copyFile(w io.Writer, it item) error {
	f, err := os.Open(it.Path)
	if err != nil {
		return &fileError{it.SOPInstanceUID, it.Path, err}
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, it.size))
	if err != nil {
		var pathErr *os.PathError
		if errors.As(err, &pathErr) { // the file's, not the pipe's
			return &fileError{it.SOPInstanceUID, it.Path, err}
		}
		return err
	}
	var one [1]byte
	if extra, _ := f.Read(one[:]); n != it.size || extra > 0 {
		return &fileError{it.SOPInstanceUID, it.Path, fmt.Errorf("its size changed from %d bytes while storing", it.size)}
	}
	return nil
}
