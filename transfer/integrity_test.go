package transfer

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"
	"lukechampine.com/blake3"

	icrypto "imageshare/crypto"
)

// flakyData damages one chunk the first time it is read, as a bad link
// would, and serves it intact after that.
type flakyData struct {
	io.ReaderAt
	at     int64
	mu     sync.Mutex
	damage bool
}

func (f *flakyData) ReadAt(p []byte, off int64) (int, error) {
	n, err := f.ReaderAt.ReadAt(p, off)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.damage && off <= f.at && f.at < off+int64(n) {
		p[f.at-off] ^= 0x01
		f.damage = false
	}
	return n, err
}

// A chunk damaged on the way is refused, never written, and fetched again.
func TestChunkDamagedInTransitIsFetchedAgain(t *testing.T) {
	fx := newFixture(t, []int{2500, 1500}, 1000)
	fx.srv.mu.Lock()
	o := fx.srv.offers[fx.offer.ID]
	o.Data = &flakyData{ReaderAt: o.Data, at: fx.packed.Extents[2].Offset + 100, damage: true}
	fx.srv.mu.Unlock()

	c := fx.client(t)
	ctx := context.Background()
	m, err := c.Manifest(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "study")
	st, err := OpenStore(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = c.Fetch(ctx, m, st.Need(), st.Put, nil)
	var ce *ChunkError
	if !errors.As(err, &ce) || ce.Index != 2 || !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want a ChunkError for chunk 2", err)
	}
	if !slices.Contains(st.Need(), 2) {
		t.Fatal("the damaged chunk counts as received")
	}
	if err := c.Fetch(ctx, m, st.Need(), st.Put, nil); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(); err != nil {
		t.Fatal(err)
	}
	checkReceived(t, dir, fx.data)
}

// A chunk whose zstd stream would decompress far past its declared size
// (a zstd bomb) is refused without the memory being spent.
func TestZstdBombRefused(t *testing.T) {
	secret, _ := icrypto.NewSecret()
	keys, _ := icrypto.DeriveKeys(&secret)
	enc, _ := zstd.NewWriter(nil)
	bomb := enc.EncodeAll(make([]byte, 64<<20), nil) // 64 MiB of zeros
	sealed, err := icrypto.Seal(keys.Recipient, bomb)
	if err != nil {
		t.Fatal(err)
	}
	plain := make([]byte, 1000)
	m := &Manifest{ChunkSize: 1000, Chunks: []Chunk{{
		Size: 1000, BLAKE3: blake3.Sum256(plain), Codec: CodecZstd,
		Stored: int64(len(sealed)), StoredBLAKE3: blake3.Sum256(sealed),
	}}}
	if len(bomb) > 1<<20 {
		t.Fatalf("the bomb is %d bytes; it should be small", len(bomb))
	}
	_, err = OpenChunk(m, 0, sealed, keys)
	if err == nil {
		t.Fatal("zstd bomb accepted")
	}
	// Declared as stored without compression, the sealed bytes exceed the
	// chunk's size and are refused by the decryption cap too.
	m.Chunks[0].Codec = CodecNone
	if _, err := OpenChunk(m, 0, sealed, keys); !errors.Is(err, icrypto.ErrTooLarge) {
		t.Fatalf("oversized stored chunk: got %v", err)
	}
}
