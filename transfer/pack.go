package transfer

import (
	"bufio"
	"context"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"lukechampine.com/blake3"

	icrypto "imageshare/crypto"
	"imageshare/internal/atomicfile"
	"imageshare/study"
)

// DefaultChunkSize is the plaintext size of a chunk.
const DefaultChunkSize = 1 << 20

// Names of an offer's files in its folder.
const (
	DataFile     = "chunks.dat"
	ManifestFile = "manifest.age"
)

// minSaving is how much a chunk must shrink to be stored compressed: pixel
// data that is already JPEG, JPEG-LS or JPEG 2000 does not, and is stored as
// it is, which spares the receiver a decompression.
const minSaving = 0.03

// chunkEncoder is the one encoder every packing shares: EncodeAll is safe
// for concurrent use. It is made on first use, and its error is returned to
// each caller rather than dropped.
var chunkEncoder = sync.OnceValues(func() (*zstd.Encoder, error) {
	return zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderCRC(false), // age authenticates every chunk
		zstd.WithLowerEncoderMem(true),
	)
})

// PackOptions says how to pack an offer.
type PackOptions struct {
	// Dir is the offer's folder. It is created and must not exist.
	Dir       string
	OfferID   OfferID
	Recipient age.Recipient
	Created   time.Time
	Expires   time.Time
	Site      string
	Studies   []study.Summary
	// ChunkSize defaults to DefaultChunkSize.
	ChunkSize int64
	// Workers defaults to the number of CPUs.
	Workers int
	// Progress, if set, is called with the plaintext bytes packed so far.
	Progress func(done, total int64)
}

// Extent locates one sealed chunk in an offer's data file.
type Extent struct {
	Offset, Length int64
}

// Packed is an offer ready to serve: sealed chunks in Dir/chunks.dat, their
// index in Dir/chunks.idx and the sealed manifest in Dir/manifest.age
// (OpenOffer opens them). None of it can be read without the card.
type Packed struct {
	Dir            string
	Manifest       *Manifest // the plaintext, for the sending staff's own display
	SealedManifest []byte
	ManifestHash   [ManifestHashSize]byte
	Extents        []Extent
}

// ChangedError reports an input file that changed while it was packed.
type ChangedError struct {
	Path      string
	Size, Now int64
}

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%s changed while it was being read (it was %d bytes, now %d or more): send again once it is complete", e.Path, e.Size, e.Now)
}

type plainChunk struct {
	index int
	data  []byte
}

type sealedChunk struct {
	index int
	meta  Chunk
	data  []byte
	err   error
}

// Pack reads files in order, cuts them into chunks, compresses and seals
// each, and writes the offer's folder: DataFile, IndexFile, and
// ManifestFile last. It reads each file once; the
// BLAKE3 of every file and chunk is taken from the plaintext.
func Pack(ctx context.Context, files []study.File, opts PackOptions) (_ *Packed, err error) {
	if opts.ChunkSize == 0 {
		opts.ChunkSize = DefaultChunkSize
	}
	if opts.ChunkSize < 1 || opts.ChunkSize > MaxChunkSize {
		return nil, fmt.Errorf("chunk size %d is outside 1..%d", opts.ChunkSize, MaxChunkSize)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.NumCPU()
	}
	if err := os.Mkdir(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating offer folder: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(opts.Dir)
		}
	}()
	data, err := os.OpenFile(filepath.Join(opts.Dir, DataFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	defer data.Close()

	var total int64
	for _, f := range files {
		total += f.Size
	}
	nchunks := int((total + opts.ChunkSize - 1) / opts.ChunkSize)

	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	// A token is taken for every chunk read and given back once it is
	// written: that bounds the memory in flight whatever the study's size.
	tokens := make(chan struct{}, 2*opts.Workers)
	plain := make(chan plainChunk)
	sealed := make(chan sealedChunk, 2*opts.Workers)
	mfiles := make([]File, len(files))

	var readErr error
	go func() {
		defer close(plain)
		readErr = readChunks(ctx, files, opts.ChunkSize, mfiles, tokens, plain)
		if readErr != nil {
			cancel(readErr)
		}
	}()
	var wg sync.WaitGroup
	for range opts.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range plain {
				sealed <- sealChunk(c, opts.Recipient)
			}
		}()
	}
	go func() { wg.Wait(); close(sealed) }()

	chunks := make([]Chunk, nchunks)
	extents := make([]Extent, nchunks)
	w := bufio.NewWriterSize(data, 1<<20)
	var offset, done int64
	order := make([]int, nchunks)
	for i := range order {
		order[i] = i
	}
	// The chunks are sealed in parallel and appended to the data file in
	// order. Their tokens go back once they are written.
	ordered := newInOrder(order, func(i int, c sealedChunk) error {
		if _, err := w.Write(c.data); err != nil {
			return fmt.Errorf("writing %s: %w", data.Name(), err)
		}
		chunks[i] = c.meta
		extents[i] = Extent{Offset: offset, Length: int64(len(c.data))}
		offset += int64(len(c.data))
		done += c.meta.Size
		if opts.Progress != nil {
			opts.Progress(done, total)
		}
		return nil
	})
	var writeErr error
	for s := range sealed {
		if writeErr != nil {
			continue // drain
		}
		if s.err == nil {
			s.err = ordered.add(s.index, s, func() { <-tokens })
		}
		if s.err != nil {
			writeErr = s.err
			cancel(writeErr)
		}
	}
	if readErr != nil {
		return nil, readErr
	}
	if writeErr != nil {
		return nil, writeErr
	}
	if err := context.Cause(ctx); err != nil {
		return nil, err
	}
	if n := ordered.count(); n != nchunks {
		return nil, fmt.Errorf("packed %d chunks of %d", n, nchunks)
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("writing %s: %w", data.Name(), err)
	}
	if err := data.Sync(); err != nil {
		return nil, fmt.Errorf("writing %s: %w", data.Name(), err)
	}
	stored := make([]Hash, nchunks)
	for i := range chunks {
		stored[i] = chunks[i].StoredBLAKE3
	}
	if err := WriteIndex(opts.Dir, opts.OfferID, extents, stored); err != nil {
		return nil, err
	}

	m := &Manifest{
		Version:   ManifestVersion,
		OfferID:   opts.OfferID.String(),
		Created:   opts.Created.UTC().Truncate(time.Second),
		Expires:   opts.Expires.UTC().Truncate(time.Second),
		Site:      opts.Site,
		Studies:   opts.Studies,
		Files:     mfiles,
		ChunkSize: opts.ChunkSize,
		Chunks:    chunks,
	}
	if err := m.Validate(opts.OfferID); err != nil {
		return nil, fmt.Errorf("packing made a manifest this program would refuse: %w", err)
	}
	sm, err := sealManifest(m, opts.Recipient)
	if err != nil {
		return nil, err
	}
	if err := atomicfile.Write(filepath.Join(opts.Dir, ManifestFile), sm, 0o600); err != nil {
		return nil, err
	}
	return &Packed{
		Dir:            opts.Dir,
		Manifest:       m,
		SealedManifest: sm,
		ManifestHash:   ManifestHash(sm),
		Extents:        extents,
	}, nil
}

// readChunks reads the files end to end and sends chunks of chunkSize.
func readChunks(ctx context.Context, files []study.File, chunkSize int64, out []File, tokens chan struct{}, plain chan<- plainChunk) error {
	var buf []byte
	index := 0
	take := func() error {
		select {
		case tokens <- struct{}{}:
			buf = make([]byte, 0, chunkSize)
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	emit := func() error {
		select {
		case plain <- plainChunk{index: index, data: buf}:
			index++
			buf = nil
			return nil
		case <-ctx.Done():
			return context.Cause(ctx)
		}
	}
	for i, f := range files {
		h := blake3.New(32, nil)
		n, err := readFileInto(ctx, f, h, chunkSize, &buf, take, emit)
		if err != nil {
			return err
		}
		if n != f.Size {
			return &ChangedError{Path: f.Path, Size: f.Size, Now: n}
		}
		out[i] = File{
			Path:     f.Rel,
			Size:     f.Size,
			BLAKE3:   Hash(h.Sum(nil)),
			Kind:     f.Kind,
			StudyUID: f.StudyUID,
			Series:   f.SeriesUID,
			SOP:      f.SOPInstanceUID,
		}
	}
	if len(buf) > 0 {
		return emit()
	}
	return nil
}

func readFileInto(ctx context.Context, f study.File, h hash.Hash, chunkSize int64, buf *[]byte, take, emit func() error) (int64, error) {
	fh, err := os.Open(f.Path)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	// Read one byte past the expected size to notice a file that grew.
	r := io.LimitReader(fh, f.Size+1)
	var n int64
	for {
		if *buf == nil {
			if err := take(); err != nil {
				return n, err
			}
		}
		b := *buf
		k, err := r.Read(b[len(b):cap(b)])
		if k > 0 {
			h.Write(b[len(b) : len(b)+k])
			n += int64(k)
			*buf = b[:len(b)+k]
			if n > f.Size {
				return n, nil
			}
			if int64(len(*buf)) == chunkSize {
				if err := emit(); err != nil {
					return n, err
				}
			}
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("reading %s: %w", f.Path, err)
		}
		if ctx.Err() != nil {
			return n, context.Cause(ctx)
		}
	}
}

func sealChunk(c plainChunk, r age.Recipient) sealedChunk {
	meta := Chunk{Size: int64(len(c.data)), BLAKE3: blake3.Sum256(c.data), Codec: CodecZstd}
	enc, err := chunkEncoder()
	if err != nil {
		return sealedChunk{index: c.index, err: fmt.Errorf("making the zstd encoder: %w", err)}
	}
	payload := enc.EncodeAll(c.data, make([]byte, 0, len(c.data)))
	if float64(len(payload)) > float64(len(c.data))*(1-minSaving) {
		payload, meta.Codec = c.data, CodecNone
	}
	s, err := icrypto.Seal(r, payload)
	if err != nil {
		return sealedChunk{index: c.index, err: err}
	}
	meta.Stored = int64(len(s))
	meta.StoredBLAKE3 = blake3.Sum256(s)
	return sealedChunk{index: c.index, meta: meta, data: s}
}
