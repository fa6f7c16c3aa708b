package transfer

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"lukechampine.com/blake3"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"

	"imageshare/card"
	icrypto "imageshare/crypto"
)

// Defaults for a Client.
const (
	DefaultStreams = 2
	DefaultWindow  = 8
)

// ReadTimeout bounds how long a receiver waits for any one response.
const ReadTimeout = 2 * time.Minute

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

var chunkDecoder, _ = zstd.NewReader(nil,
	zstd.WithDecoderMaxMemory(2*MaxChunkSize),
	zstd.WithDecodeAllCapLimit(true),
	zstd.WithDecoderConcurrency(0),
)

// Client fetches one offer from one sender, on the receiver's side.
type Client struct {
	// Open opens a new stream to the sender.
	Open func(ctx context.Context) (Stream, error)
	// Local and Remote are the raw peer IDs of the connection.
	Local, Remote string
	Offer         *card.Offer
	Keys          *icrypto.Keys
	// Streams is how many streams fetch chunks at once; Window how many
	// chunks each has requested ahead of what it has received.
	Streams, Window int
}

func (c *Client) hello() []byte {
	proof := icrypto.Prove(c.Keys.Auth, c.Offer.ID[:], c.Remote, c.Local)
	return append(append([]byte{}, c.Offer.ID[:]...), proof...)
}

// frame is a request to send after HELLO.
type frame struct {
	t MsgType
	p []byte
}

// request opens a stream and sends HELLO followed by the given frames.
func (c *Client) request(ctx context.Context, frames ...frame) (Stream, *bufio.Writer, error) {
	st, err := c.Open(ctx)
	if err != nil {
		return nil, nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		st.SetDeadline(dl)
	}
	st.SetWriteDeadline(time.Now().Add(ReadTimeout))
	w := bufio.NewWriter(st)
	if err := writeFrame(w, MsgHello, c.hello()); err != nil {
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
	st.SetReadDeadline(time.Now().Add(ReadTimeout))
	t, p, err := readFrame(st, max)
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
// plaintext to put in the order of need, one call at a time. Fetching,
// decryption and verification run on several streams at once. progress,
// if set, is called with the sealed bytes of each chunk received. On an
// error, the chunks not yet given to put are to be fetched again.
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
	queue := make(chan int, len(need))
	for _, i := range need {
		queue <- i
	}
	close(queue)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	ordered := newInOrder(need, put)
	var wg sync.WaitGroup
	for range min(streams, len(need)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.fetchStream(ctx, m, queue, window, ordered, progress); err != nil {
				cancel(err)
			}
		}()
	}
	wg.Wait()
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return err
	}
	return ctx.Err()
}

// fetchStream runs one stream: a writer keeps up to window GET_CHUNK
// requests ahead of the responses, so the link never waits for a round trip.
func (c *Client) fetchStream(ctx context.Context, m *Manifest, queue <-chan int, window int, ordered *inOrder, progress func(int64)) error {
	st, w, err := c.request(ctx)
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
			st.SetWriteDeadline(time.Now().Add(ReadTimeout))
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

	for i := range pending {
		t, p, err := readResponse(st, 4+MaxSealedChunkSize)
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
		plain, err := OpenChunk(m, i, sealed, c.Keys)
		if err != nil {
			st.Reset()
			return err
		}
		if err := ordered.add(i, plain, func() { <-slots }); err != nil {
			st.Reset()
			return err
		}
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
	c := m.Chunks[i]
	if int64(len(sealed)) != c.Stored {
		return nil, &ChunkError{i, fmt.Errorf("%w: %d bytes, want %d", ErrCorrupt, len(sealed), c.Stored)}
	}
	if sum := blake3.Sum256(sealed); hex.EncodeToString(sum[:]) != c.StoredBLAKE3 {
		return nil, &ChunkError{i, fmt.Errorf("%w: sealed bytes differ", ErrCorrupt)}
	}
	payload, err := icrypto.Open(keys.Identity, sealed, c.Size)
	if err != nil {
		return nil, &ChunkError{i, err}
	}
	plain := payload
	if c.Codec == CodecZstd {
		plain, err = chunkDecoder.DecodeAll(payload, make([]byte, 0, c.Size))
		if err != nil {
			return nil, &ChunkError{i, fmt.Errorf("decompressing: %w", err)}
		}
	}
	if int64(len(plain)) != c.Size {
		return nil, &ChunkError{i, fmt.Errorf("%w: %d bytes, want %d", ErrCorrupt, len(plain), c.Size)}
	}
	if sum := blake3.Sum256(plain); hex.EncodeToString(sum[:]) != c.BLAKE3 {
		return nil, &ChunkError{i, fmt.Errorf("%w: plaintext differs", ErrCorrupt)}
	}
	return plain, nil
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
