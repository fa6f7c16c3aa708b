package transfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"sync"
	"time"

	"lukechampine.com/blake3"

	"github.com/klauspost/compress/zstd"

	icrypto "imageshare/crypto"
)

// Defaults for a Client.
const (
	DefaultStreams = 2
	DefaultWindow  = 8
)

// Timeouts on a receiver's streams.
const (
	// StallTimeout bounds how long a receiver waits for the next byte of
	// a response it is owed. A path that dies mid-transfer (a relay gone,
	// a NAT that forgot its mapping, a laptop unplugged) falls silent
	// rather than closing, and libp2p's own keepalives take 30 s or more
	// to notice; a slow link that is alive still delivers bytes every
	// few seconds.
	StallTimeout = 20 * time.Second
	// RequestWriteTimeout bounds how long a request may wait to be
	// written, as when the sender does not read it.
	RequestWriteTimeout = 2 * time.Minute
)

// ErrStalled is wrapped by the error of a response that fell silent for
// the stall timeout: the path to the sender is likely dead.
var ErrStalled = errors.New("nothing from the sender")

// stallStream is a receiver's stream whose reads fail once no byte has
// come for stall, or once the request's context ends.
type stallStream struct {
	Stream
	stall    time.Duration
	deadline time.Time // the context's, or zero
}

func (s *stallStream) Read(p []byte) (int, error) {
	dl := time.Now().Add(s.stall)
	if !s.deadline.IsZero() && s.deadline.Before(dl) {
		dl = s.deadline
	}
	s.Stream.SetReadDeadline(dl)
	n, err := s.Stream.Read(p)
	if ne, ok := err.(net.Error); ok && ne.Timeout() && !dl.Equal(s.deadline) {
		err = fmt.Errorf("%w for %v: %w", ErrStalled, s.stall, err)
	}
	return n, err
}

// ChunkError reports a chunk that failed verification. The chunk's bytes
// are never written anywhere.
type ChunkError struct {
	Index int
	Err   error
}

func (e *ChunkError) Error() string {
	return fmt.Sprintf("chunk %d failed verification: %v", e.Index, e.Err)
}
func (e *ChunkError) Unwrap() error { return e.Err }

// ErrCorrupt is wrapped by a ChunkError whose bytes do not match the
// manifest.
var ErrCorrupt = errors.New("content does not match the manifest")

// chunkDecoder is the one decoder every fetch shares: DecodeAll is safe
// for concurrent use. It is made on first use, and its error is returned to
// each caller rather than dropped.
var chunkDecoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil,
		zstd.WithDecoderMaxMemory(2*MaxChunkSize),
		zstd.WithDecodeAllCapLimit(true),
		zstd.WithDecoderConcurrency(0),
	)
})

// Client fetches one offer from one sender, on the receiver's side.
type Client struct {
	// Open opens a new stream to the sender.
	Open func(ctx context.Context) (Stream, error)
	// Local and Remote are the raw peer IDs of the connection.
	Local, Remote string
	Offer         OfferRef
	Keys          *icrypto.Keys
	// Streams is how many streams fetch chunks at once; Window how many
	// chunks each has requested ahead of what it has received.
	Streams, Window int
	// Extra are further connections to the same sender, from other local
	// peers. Fetch spreads its streams over the connections, stream k on
	// connection k mod (1 + len(Extra)): streams on one connection share
	// its TCP window, which on a long, fast path is the limit.
	Extra []Conn
	// Stall is how long a response may fall silent before the stream is
	// abandoned; StallTimeout if zero.
	Stall time.Duration
}

// Conn is one connection to the sender: how to open a stream on it, and
// the raw peer ID of the local end.
type Conn struct {
	Open  func(ctx context.Context) (Stream, error)
	Local string
}

// conn returns the k-th connection, the first being Open and Local.
func (c *Client) conn(k int) Conn {
	if k %= 1 + len(c.Extra); k > 0 {
		return c.Extra[k-1]
	}
	return Conn{Open: c.Open, Local: c.Local}
}

func (c *Client) hello(local string) []byte {
	proof := icrypto.Prove(c.Keys.Auth, c.Offer.ID[:], c.Remote, local)
	return append(append([]byte{}, c.Offer.ID[:]...), proof...)
}

// frame is a request to send after HELLO.
type frame struct {
	t MsgType
	p []byte
}

// request opens a stream on the first connection and sends HELLO followed
// by the given frames.
func (c *Client) request(ctx context.Context, frames ...frame) (Stream, *bufio.Writer, error) {
	return c.requestOn(ctx, c.conn(0), frames...)
}

// requestOn is request on the connection given.
func (c *Client) requestOn(ctx context.Context, conn Conn, frames ...frame) (Stream, *bufio.Writer, error) {
	st, err := conn.Open(ctx)
	if err != nil {
		return nil, nil, err
	}
	dl, _ := ctx.Deadline() // every read heeds it (stallStream)
	stall := c.Stall
	if stall <= 0 {
		stall = StallTimeout
	}
	st = &stallStream{Stream: st, stall: stall, deadline: dl}
	st.SetWriteDeadline(time.Now().Add(RequestWriteTimeout))
	w := bufio.NewWriter(st)
	if err := writeFrame(w, MsgHello, c.hello(conn.Local)); err != nil {
		st.Reset()
		return nil, nil, err
	}
	for _, f := range frames {
		if err := writeFrame(w, f.t, f.p); err != nil {
			st.Reset()
			return nil, nil, err
		}
	}
	if err := w.Flush(); err != nil {
		st.Reset()
		return nil, nil, err
	}
	return st, w, nil
}

// readResponse reads one frame, turning an ERROR frame into a RemoteError.
func readResponse(st Stream, max int) (MsgType, []byte, error) {
	return readResponseInto(st, max, nil)
}

// readResponseInto is readResponse reading into buf when it fits.
func readResponseInto(st Stream, max int, buf []byte) (MsgType, []byte, error) {
	t, p, err := readFrameInto(st, max, buf)
	if err != nil {
		return t, nil, err
	}
	if t == MsgError {
		return t, nil, decodeError(p)
	}
	return t, p, nil
}

// Manifest fetches the sealed manifest, checks it against the card, and
// opens it.
func (c *Client) Manifest(ctx context.Context) (*Manifest, error) {
	st, _, err := c.request(ctx, frame{t: MsgGetManifest})
	if err != nil {
		return nil, err
	}
	st.CloseWrite()
	t, p, err := readResponse(st, MaxManifestSize)
	if err != nil {
		st.Reset()
		return nil, err
	}
	st.Close()
	if t != MsgManifest {
		return nil, fmt.Errorf("sender answered %v to GET_MANIFEST", t)
	}
	return OpenManifest(p, c.Offer, c.Keys.Identity)
}

// Fetch fetches the chunks in need, verifies each against m, and hands its
// plaintext to put in the order of need, one call at a time. progress, if
// set, is called with the sealed bytes of each chunk received, also one
// call at a time, whichever stream received it. On an
// error, the chunks not yet given to put are to be fetched again.
//
// It is a pipeline. Each stream has a goroutine that keeps up to window
// GET_CHUNK requests ahead of the responses, so the link never waits for
// a round trip, and one that reads the responses as fast as they come, so
// that the sender's flow-control window never waits for the receiver's
// CPU. A pool of workers, one a core, verifies, decrypts and decompresses
// the chunks read; put writes them in order. A stream's window slot comes
// back only once its chunk is written, which bounds the memory in use to
// streams × window chunks whatever the study's size.
func (c *Client) Fetch(ctx context.Context, m *Manifest, need []int, put func(index int, plain []byte) error, progress func(n int64)) error {
	if len(need) == 0 {
		return nil
	}
	streams, window := c.Streams, c.Window
	if streams <= 0 {
		streams = DefaultStreams
	}
	if window <= 0 {
		window = DefaultWindow
	}
	streams = min(streams, len(need))
	if progress != nil {
		// The streams receive at once; the caller's counter need not know.
		var mu sync.Mutex
		report := progress
		progress = func(n int64) {
			mu.Lock()
			defer mu.Unlock()
			report(n)
		}
	}
	queue := make(chan int, len(need))
	for _, i := range need {
		queue <- i
	}
	close(queue)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ordered := newInOrder(need, put)
	// Plaintext buffers go from worker to writer and back. The pool holds
	// pointers, so that a Put does not allocate a slice header.
	bufs := &sync.Pool{New: func() any {
		b := make([]byte, m.ChunkSize)
		return &b
	}}
	// As many chunks as there are slots, so a stream never waits to hand
	// one over.
	work := make(chan received, streams*window)

	var readers sync.WaitGroup
	for k := range streams {
		readers.Add(1)
		go func() {
			defer readers.Done()
			if err := c.fetchStream(ctx, c.conn(k), m, queue, window, work, progress); err != nil {
				cancel(err)
			}
		}()
	}
	go func() {
		readers.Wait()
		close(work)
	}()
	var workers sync.WaitGroup
	for range runtime.GOMAXPROCS(0) {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for r := range work {
				if ctx.Err() != nil {
					r.release()
					continue // drain
				}
				a, b := bufs.Get().(*[]byte), bufs.Get().(*[]byte)
				plain, inA, err := openChunk(m, r.index, r.sealed, c.Keys, *a, *b)
				r.sealedDone()
				if err != nil {
					cancel(err)
					bufs.Put(a)
					bufs.Put(b)
					r.release()
					continue
				}
				if inA {
					a, b = b, a
				}
				bufs.Put(a)
				if err := ordered.add(r.index, plain, func() { bufs.Put(b); r.release() }); err != nil {
					cancel(err)
				}
			}
		}()
	}
	workers.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// received is a chunk read from a stream and not yet opened.
type received struct {
	index  int
	sealed []byte
	// sealedDone gives the sealed bytes' buffer back; release gives the
	// stream's window slot back.
	sealedDone, release func()
}

// fetchStream runs one stream: a writer keeps up to window GET_CHUNK
// requests ahead of the responses, and the reader hands each chunk to work.
func (c *Client) fetchStream(ctx context.Context, conn Conn, m *Manifest, queue <-chan int, window int, work chan<- received, progress func(int64)) error {
	st, w, err := c.requestOn(ctx, conn)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(ctx, func() { st.Reset() })
	defer stop()

	slots := make(chan struct{}, window)
	pending := make(chan int, window)
	writeErr := make(chan error, 1)
	go func() {
		defer close(pending)
		for {
			// A slot first, then a chunk: a chunk taken from the queue is
			// always asked for at once (see inOrder).
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				writeErr <- nil
				return
			}
			i, ok := <-queue
			if !ok {
				break
			}
			st.SetWriteDeadline(time.Now().Add(RequestWriteTimeout))
			if err := writeFrame(w, MsgGetChunk, binary.BigEndian.AppendUint32(nil, uint32(i))); err != nil {
				writeErr <- err
				return
			}
			if err := w.Flush(); err != nil {
				writeErr <- err
				return
			}
			pending <- i
		}
		writeErr <- st.CloseWrite()
	}()

	// The sealed chunks' buffers: one a slot, and one to read into.
	frames := make(chan []byte, window+1)
	for range window + 1 {
		frames <- nil
	}
	release := func() { <-slots }
	for i := range pending {
		var buf []byte
		select {
		case buf = <-frames:
		case <-ctx.Done():
			return context.Cause(ctx)
		}
		t, p, err := readResponseInto(st, 4+MaxSealedChunkSize, buf)
		if err != nil {
			st.Reset()
			return fmt.Errorf("fetching chunk %d: %w", i, err)
		}
		if t != MsgChunk || len(p) < 4 || int(binary.BigEndian.Uint32(p)) != i {
			st.Reset()
			return fmt.Errorf("sender answered %v to a request for chunk %d", t, i)
		}
		sealed := p[4:]
		if progress != nil {
			progress(int64(len(sealed)))
		}
		work <- received{index: i, sealed: sealed, sealedDone: func() { frames <- p[:0] }, release: release}
	}
	if err := <-writeErr; err != nil {
		st.Reset()
		return err
	}
	st.Close()
	return nil
}

// OpenChunk verifies a sealed chunk against the manifest and returns its
// plaintext: the sealed bytes' hash, age's authentication, a decompression
// capped at the chunk's size, and the plaintext's hash must all agree.
func OpenChunk(m *Manifest, i int, sealed []byte, keys *icrypto.Keys) ([]byte, error) {
	size := m.Chunks[i].Size
	plain, _, err := openChunk(m, i, sealed, keys, make([]byte, size), make([]byte, size))
	return plain, err
}

// openChunk is OpenChunk using two buffers of at least the chunk's size:
// a for the decrypted payload and b for the decompressed plaintext. It
// reports whether the plaintext it returns is in a (a chunk stored
// uncompressed) rather than b.
func openChunk(m *Manifest, i int, sealed []byte, keys *icrypto.Keys, a, b []byte) (plain []byte, inA bool, err error) {
	c := m.Chunks[i]
	if int64(len(sealed)) != c.Stored {
		return nil, false, &ChunkError{i, fmt.Errorf("%w: %d bytes, want %d", ErrCorrupt, len(sealed), c.Stored)}
	}
	if Hash(blake3.Sum256(sealed)) != c.StoredBLAKE3 {
		return nil, false, &ChunkError{i, fmt.Errorf("%w: sealed bytes differ", ErrCorrupt)}
	}
	payload, err := icrypto.OpenInto(keys.Identity, sealed, a[:0:c.Size])
	if err != nil {
		return nil, false, &ChunkError{i, err}
	}
	plain, inA = payload, true
	if c.Codec == CodecZstd {
		dec, err := chunkDecoder()
		if err != nil {
			return nil, false, fmt.Errorf("making the zstd decoder: %w", err)
		}
		plain, err = dec.DecodeAll(payload, b[:0:c.Size])
		if err != nil {
			return nil, false, &ChunkError{i, fmt.Errorf("decompressing: %w", err)}
		}
		inA = false
	}
	if int64(len(plain)) != c.Size {
		return nil, false, &ChunkError{i, fmt.Errorf("%w: %d bytes, want %d", ErrCorrupt, len(plain), c.Size)}
	}
	if Hash(blake3.Sum256(plain)) != c.BLAKE3 {
		return nil, false, &ChunkError{i, fmt.Errorf("%w: plaintext differs", ErrCorrupt)}
	}
	return plain, inA, nil
}

// Confirm tells the sender that every file arrived and was verified.
func (c *Client) Confirm(ctx context.Context, files int, total int64) error {
	var p bytes.Buffer
	p.WriteByte(0) // status: all verified
	binary.Write(&p, binary.BigEndian, uint32(files))
	binary.Write(&p, binary.BigEndian, uint64(total))
	st, _, err := c.request(ctx, frame{MsgReceipt, p.Bytes()})
	if err != nil {
		return err
	}
	st.CloseWrite()
	t, _, err := readResponse(st, MaxRequestSize)
	if err != nil {
		st.Reset()
		return fmt.Errorf("confirming receipt: %w", err)
	}
	st.Close()
	if t != MsgReceiptAck {
		return fmt.Errorf("sender answered %v to RECEIPT", t)
	}
	return nil
}
