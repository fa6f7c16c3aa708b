package transfer

import (
	"context"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	icrypto "imageshare/crypto"
	"imageshare/study"
	"imageshare/synthetic"
)

// benchStudy is a study for benchmarks: the real CT series when
// ../shared/dicom is there, else a synthetic one of the same size.
func benchStudy(b *testing.B) []study.File {
	b.Helper()
	dir := filepath.Join("..", "..", "shared", "dicom", "ct-pancreas", "CT_series")
	if _, err := os.Stat(dir); err != nil {
		dir = b.TempDir()
		if _, err := synthetic.Write(synthetic.Options{Dir: dir, Images: 134, Seed: 1}); err != nil {
			b.Fatal(err)
		}
	}
	scan, err := study.ScanPaths(context.Background(), []string{dir}, study.ScanOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return scan.Studies[0].Files
}

func total(files []study.File) int64 {
	var n int64
	for _, f := range files {
		n += f.Size
	}
	return n
}

// BenchmarkPack measures the sender's read, hash, compress and seal.
func BenchmarkPack(b *testing.B) {
	files := benchStudy(b)
	secret, _ := icrypto.NewSecret()
	keys, _ := icrypto.DeriveKeys(&secret)
	b.SetBytes(total(files))
	for i := 0; b.Loop(); i++ {
		var id OfferID
		rand.Read(id[:])
		_, err := Pack(context.Background(), files, PackOptions{
			Dir: filepath.Join(b.TempDir(), id.String()), OfferID: id, Recipient: keys.Recipient,
			Expires: time.Now().Add(time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFetch measures the receiver's fetch, open, verify and write,
// over loopback TCP.
func BenchmarkFetch(b *testing.B) {
	files := benchStudy(b)
	secret, _ := icrypto.NewSecret()
	keys, _ := icrypto.DeriveKeys(&secret)
	var id OfferID
	rand.Read(id[:])
	packed, err := Pack(context.Background(), files, PackOptions{
		Dir: filepath.Join(b.TempDir(), "offer"), OfferID: id, Recipient: keys.Recipient,
		Expires: time.Now().Add(time.Hour),
	})
	if err != nil {
		b.Fatal(err)
	}
	data, _ := os.Open(filepath.Join(packed.Dir, DataFile))
	defer data.Close()
	srv := &Server{}
	srv.Add(&Offer{ID: id, Verifier: keys.Verifier, Expires: packed.Manifest.Expires, SealedManifest: packed.SealedManifest, Extents: packed.Extents, Data: data})
	offer := OfferRef{ID: id, ManifestHash: packed.ManifestHash}
	open := listen(b, srv, receiverID)
	c := &Client{Open: open, Local: receiverID, Remote: senderID, Offer: offer, Keys: keys}
	b.SetBytes(total(files))
	for b.Loop() {
		m, err := c.Manifest(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		st, err := OpenStore(filepath.Join(b.TempDir(), "in"), m)
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Fetch(context.Background(), m, st.Need(), st.Put, nil); err != nil {
			b.Fatal(err)
		}
		if err := st.Finish(); err != nil {
			b.Fatal(err)
		}
		st.Close()
	}
}

// BenchmarkZstdLevel compresses and decompresses the study's bytes in
// chunks at each zstd level the encoder offers, one core, and reports the
// ratio: the measurement the chunk encoder's level was chosen from
// (docs/PERFORMANCE.md).
func BenchmarkZstdLevel(b *testing.B) {
	var data []byte
	for _, f := range benchStudy(b) {
		d, err := os.ReadFile(f.Path)
		if err != nil {
			b.Fatal(err)
		}
		data = append(data, d...)
	}
	chunks := len(data) / DefaultChunkSize
	if chunks == 0 {
		b.Skip("the study is smaller than a chunk")
	}
	for _, level := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault, zstd.SpeedBetterCompression} {
		enc, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderCRC(false),
			zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
		if err != nil {
			b.Fatal(err)
		}
		dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
		if err != nil {
			b.Fatal(err)
		}
		sealed := make([][]byte, chunks)
		b.Run("compress-"+level.String(), func(b *testing.B) {
			b.SetBytes(int64(chunks * DefaultChunkSize))
			var stored int
			for b.Loop() {
				stored = 0
				for i := range chunks {
					sealed[i] = enc.EncodeAll(data[i*DefaultChunkSize:(i+1)*DefaultChunkSize], sealed[i][:0])
					stored += len(sealed[i])
				}
			}
			b.ReportMetric(float64(chunks*DefaultChunkSize)/float64(stored), "ratio")
		})
		b.Run("decompress-"+level.String(), func(b *testing.B) {
			b.SetBytes(int64(chunks * DefaultChunkSize))
			out := make([]byte, 0, DefaultChunkSize)
			for b.Loop() {
				for i := range chunks {
					if out, err = dec.DecodeAll(sealed[i], out[:0]); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
