package transfer

// Fuzz targets for every parser of what arrives from the network: frames,
// a manifest's JSON, a sealed manifest, a sealed chunk, an ERROR frame's
// payload, and a sender's side of a stream as a whole.
//
// Seeds are plain files under testdata/fuzz-seeds/<Target>/, written by
// TestWriteFuzzSeeds and committed: age seals with fresh randomness, so
// they cannot be made again byte for byte. A target fails when it finds no
// seed. Arguments other than the bytes travel in the file's name, which
// starts with a mode ("card-…", "zstd-0-…"). testdata/fuzz-seeds/offer/ is
// an offer folder as Pack wrote it, with a fixed secret: the original that
// mutated seeds are compared with.
//
// Go's own corpus folder, testdata/fuzz/<Target>/, is left for the failing
// inputs that go test -fuzz records there.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/klauspost/compress/zstd"
	"lukechampine.com/blake3"

	icrypto "imageshare/crypto"
	"imageshare/study"
)

const (
	// seedDir holds the seeds, one folder a target.
	seedDir = "testdata/fuzz-seeds"
	// writeSeedsEnv makes TestWriteFuzzSeeds rewrite seedDir.
	writeSeedsEnv = "IMAGESHARE_WRITE_SEEDS"
	// allocSlack is what a call may allocate beyond what it is allowed to,
	// for error values and bookkeeping.
	allocSlack = 64 << 10
)

var (
	seedOfferID = OfferID{'f', 'u', 'z', 'z', 's', 'e', 'e', 'd'}
	seedCreated = time.Date(2026, 11, 28, 1, 23, 0, 0, time.UTC)
)

// seedKeys derives the keys the seeds are sealed with. The secret is a
// test secret, in the open on purpose: it opens these seeds and nothing
// else.
func seedKeys(tb testing.TB) *icrypto.Keys {
	tb.Helper()
	secret := icrypto.Secret(sha256.Sum256([]byte("imageshare/transfer fuzz seeds")))
	keys, err := icrypto.DeriveKeys(&secret)
	if err != nil {
		tb.Fatal(err)
	}
	return keys
}

type seed struct {
	name string
	data []byte
}

// loadSeeds reads the seeds of target, and fails when there are none:
// seeds lost with a moved folder would otherwise go unnoticed, and the
// target would fuzz from nothing.
func loadSeeds(f *testing.F, target string) []seed {
	f.Helper()
	dir := filepath.Join(seedDir, target)
	entries, err := os.ReadDir(dir)
	if err != nil {
		f.Fatalf("no seeds for %s: %v (%s=1 go test -run TestWriteFuzzSeeds ./transfer/ writes them)", target, err, writeSeedsEnv)
	}
	var seeds []seed
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			f.Fatal(err)
		}
		seeds = append(seeds, seed{e.Name(), b})
	}
	if len(seeds) == 0 {
		f.Fatalf("no seeds in %s (%s=1 go test -run TestWriteFuzzSeeds ./transfer/ writes them)", dir, writeSeedsEnv)
	}
	return seeds
}

// seedMode returns the position in modes of the mode the seed's name
// starts with, and the rest of the name.
func seedMode(f *testing.F, s seed, modes []string) (uint8, string) {
	f.Helper()
	m, rest, _ := strings.Cut(s.name, "-")
	i := slices.Index(modes, m)
	if i < 0 {
		f.Fatalf("seed %s: the name does not start with a mode (%s)", s.name, strings.Join(modes, ", "))
	}
	return uint8(i), rest
}

// seedOffer is the offer the seeds were cut from.
type seedOffer struct {
	keys    *icrypto.Keys
	card    OfferRef
	sealed  []byte // the sealed manifest
	m       *Manifest
	chunks  [][]byte // sealed, as served
	plain   [][]byte
	data    []byte // chunks.dat
	extents []Extent
}

// loadSeedOffer reads testdata/fuzz-seeds/offer, and checks that it opens
// with the seed keys.
func loadSeedOffer(tb testing.TB) *seedOffer {
	tb.Helper()
	dir := filepath.Join(seedDir, "offer")
	sealed, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		tb.Fatalf("no seed offer: %v (%s=1 go test -run TestWriteFuzzSeeds ./transfer/ writes it)", err, writeSeedsEnv)
	}
	data, err := os.ReadFile(filepath.Join(dir, DataFile))
	if err != nil {
		tb.Fatalf("no seed offer: %v", err)
	}
	o := &seedOffer{keys: seedKeys(tb), sealed: sealed, data: data}
	o.card = OfferRef{ID: seedOfferID, ManifestHash: ManifestHash(sealed)}
	o.m, err = OpenManifest(sealed, o.card, o.keys.Identity)
	if err != nil {
		tb.Fatalf("the seed offer's manifest does not open: %v", err)
	}
	var off int64
	for i, c := range o.m.Chunks {
		if off+c.Stored > int64(len(data)) {
			tb.Fatalf("the seed offer's %s is %d bytes, too short for chunk %d", DataFile, len(data), i)
		}
		sc := data[off : off+c.Stored]
		plain, err := OpenChunk(o.m, i, sc, o.keys)
		if err != nil {
			tb.Fatalf("the seed offer's chunk does not open: %v", err)
		}
		o.chunks = append(o.chunks, sc)
		o.plain = append(o.plain, plain)
		o.extents = append(o.extents, Extent{Offset: off, Length: c.Stored})
		off += c.Stored
	}
	return o
}

// allocated returns the bytes that fn allocates on the heap.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// frameCaps are the limits readFrame is called with, and seeded with.
var frameCaps = []int{0, 1, len(OfferID{}) + icrypto.ProofSize, MaxRequestSize, 4 + MaxSealedChunkSize, MaxResponseSize}

// FuzzReadFrame reads arbitrary bytes as a frame, under limits up to the
// largest a receiver uses. A declared length above the limit is refused
// with a FrameTooLargeError before a byte of payload is read or allocated;
// no more is read than the frame; and a frame that writeFrame wrote reads
// back as it was.
func FuzzReadFrame(f *testing.F) {
	for _, s := range loadSeeds(f, "FuzzReadFrame") {
		for _, c := range frameCaps {
			f.Add(uint32(c), s.data)
		}
	}
	f.Fuzz(func(t *testing.T, maxArg uint32, data []byte) {
		max := int(maxArg % (MaxResponseSize + 1))
		r := bytes.NewReader(data)
		var (
			typ MsgType
			p   []byte
			err error
		)
		alloc := allocated(func() { typ, p, err = readFrame(r, max) })
		read := len(data) - r.Len()

		if len(data) < headerSize {
			if err == nil || p != nil {
				t.Fatalf("%d bytes read as a frame", len(data))
			}
			want := io.ErrUnexpectedEOF
			if len(data) == 0 {
				want = io.EOF
			}
			if err != want {
				t.Fatalf("%d bytes of header: got %v, want %v", len(data), err, want)
			}
		} else {
			declared := binary.BigEndian.Uint32(data[1:headerSize])
			if typ != MsgType(data[0]) {
				t.Fatalf("type %v, want %v", typ, MsgType(data[0]))
			}
			switch {
			case int64(declared) > int64(max):
				var tl *FrameTooLargeError
				if !errors.As(err, &tl) || tl.Size != declared || tl.Max != max || tl.Type != typ {
					t.Fatalf("declared %d bytes over a limit of %d: got %v, want a FrameTooLargeError", declared, max, err)
				}
				if read != headerSize {
					t.Fatalf("read %d bytes of a frame it refused, want the %d of its header", read, headerSize)
				}
				if alloc > allocSlack {
					t.Fatalf("allocated %d bytes for a frame it refused", alloc)
				}
			case len(data)-headerSize < int(declared):
				if !errors.Is(err, io.ErrUnexpectedEOF) || p != nil {
					t.Fatalf("frame of %d bytes cut at %d: got %d bytes, %v", declared, len(data)-headerSize, len(p), err)
				}
			default:
				if err != nil {
					t.Fatalf("whole frame of %d bytes under a limit of %d: %v", declared, max, err)
				}
				if !bytes.Equal(p, data[headerSize:headerSize+int(declared)]) {
					t.Fatal("payload differs from the bytes sent")
				}
				if read != headerSize+int(declared) {
					t.Fatalf("read %d bytes for a frame of %d", read, headerSize+int(declared))
				}
			}
			if lim := uint64(min(int64(declared), int64(max))); alloc > lim+lim/8+allocSlack {
				t.Fatalf("allocated %d bytes for a frame declaring %d under a limit of %d", alloc, declared, max)
			}
		}

		// What writeFrame writes, readFrame reads back, whatever the
		// parts.
		t0 := MsgType(maxArg >> 24)
		var buf bytes.Buffer
		cut := len(data) / 3
		if err := writeFrame(&buf, t0, data[:cut], nil, data[cut:]); err != nil {
			t.Fatal(err)
		}
		wire := buf.Bytes()
		gt, gp, err := readFrame(bytes.NewReader(wire), len(data))
		if err != nil || gt != t0 || !bytes.Equal(gp, data) {
			t.Fatalf("frame of %d bytes read back as %v, %d bytes, %v", len(data), gt, len(gp), err)
		}
		if len(data) > 0 {
			var tl *FrameTooLargeError
			if _, _, err := readFrame(bytes.NewReader(wire), len(data)-1); !errors.As(err, &tl) {
				t.Fatalf("frame of %d bytes under a limit one less: %v", len(data), err)
			}
		}
	})
}

// FuzzManifest decodes arbitrary JSON as a manifest. What it accepts
// satisfies §3 of PROTOCOL.md, checked here independently of Validate, and
// survives being encoded and decoded again.
func FuzzManifest(f *testing.F) {
	for _, s := range loadSeeds(f, "FuzzManifest") {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, js []byte) {
		m, err := decodeManifest(js, seedOfferID)
		if err != nil {
			var me *ManifestError
			if !errors.As(err, &me) {
				t.Fatalf("refused with %T, not a ManifestError: %v", err, err)
			}
			return
		}
		checkAccepted(t, m, seedOfferID)
		again, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("an accepted manifest does not encode: %v", err)
		}
		m2, err := decodeManifest(again, seedOfferID)
		if err != nil {
			t.Fatalf("an accepted manifest is refused once encoded again: %v\n%s", err, again)
		}
		if again2, err := json.Marshal(m2); err != nil || !bytes.Equal(again, again2) {
			t.Fatalf("an accepted manifest changes when encoded and decoded again:\n%s\n%s", again, again2)
		}
	})
}

// checkAccepted restates what a receiver relies on in a manifest it
// accepted (PROTOCOL.md §3). Apart from validPath, it checks without the
// code under test: names compare with Unicode case folding
// (strings.EqualFold), as case-insensitive file systems compare them.
func checkAccepted(t *testing.T, m *Manifest, offer OfferID) {
	t.Helper()
	if err := m.Validate(offer); err != nil {
		t.Fatalf("accepted, but Validate says %v", err)
	}
	if m.Version != 1 || m.OfferID != hex.EncodeToString(offer[:]) {
		t.Fatalf("accepted version %d for offer %q", m.Version, m.OfferID)
	}
	if m.ChunkSize < 1 || m.ChunkSize > 8<<20 {
		t.Fatalf("accepted chunk size %d", m.ChunkSize)
	}
	if n := len(m.Files); n < 1 || n > 200_000 {
		t.Fatalf("accepted %d files", n)
	}
	var total int64
	for _, f := range m.Files {
		if err := validPath(f.Path); err != nil {
			t.Fatalf("accepted path %q: %v", f.Path, err)
		}
		if !filepath.IsLocal(f.Path) || path.Clean(f.Path) != f.Path || !utf8.ValidString(f.Path) ||
			len(f.Path) > 1024 || strings.ContainsAny(f.Path, "\x00\\:") {
			t.Fatalf("accepted path %q, which is not local and clean", f.Path)
		}
		if f.Size < 0 || f.Size > 1<<40 {
			t.Fatalf("accepted size %d", f.Size)
		}
		if !isLowerHex(f.BLAKE3.String(), 64) {
			t.Fatalf("accepted hash %q", f.BLAKE3)
		}
		if f.Kind != "dicom" && f.Kind != "report" {
			t.Fatalf("accepted kind %q", f.Kind)
		}
		total += f.Size
	}
	if want := (total + m.ChunkSize - 1) / m.ChunkSize; int64(len(m.Chunks)) != want {
		t.Fatalf("accepted %d chunks for %d bytes in chunks of %d", len(m.Chunks), total, m.ChunkSize)
	}
	var sum int64
	for i, c := range m.Chunks {
		if c.Size < 1 || c.Size > m.ChunkSize || i < len(m.Chunks)-1 && c.Size != m.ChunkSize {
			t.Fatalf("accepted chunk %d of %d bytes, chunk size %d", i, c.Size, m.ChunkSize)
		}
		sum += c.Size
		if c.Stored < 1 || c.Stored > MaxChunkSize+6<<10 {
			t.Fatalf("accepted chunk %d stored in %d bytes", i, c.Stored)
		}
		if c.Codec != "zstd" && c.Codec != "none" {
			t.Fatalf("accepted codec %q", c.Codec)
		}
		if !isLowerHex(c.BLAKE3.String(), 64) || !isLowerHex(c.StoredBLAKE3.String(), 64) {
			t.Fatalf("accepted chunk %d with hashes %q, %q", i, c.BLAKE3, c.StoredBLAKE3)
		}
	}
	if sum != total {
		t.Fatalf("accepted chunks of %d bytes for files of %d", sum, total)
	}
	// No two names that a case-insensitive file system would take for
	// one, and no file that is also another's folder. Quadratic: only
	// for the small manifests a fuzzer makes.
	if len(m.Files) > 300 {
		return
	}
	for i, a := range m.Files {
		for _, b := range m.Files[i+1:] {
			if strings.EqualFold(a.Path, b.Path) {
				t.Fatalf("accepted %q and %q, one file on a case-insensitive file system", a.Path, b.Path)
			}
			if isFolderOf(a.Path, b.Path) || isFolderOf(b.Path, a.Path) {
				t.Fatalf("accepted %q and %q: one is a folder of the other", a.Path, b.Path)
			}
		}
	}
}

// isFolderOf says whether dir names, ignoring case, a folder that holds p.
func isFolderOf(dir, p string) bool {
	for d := path.Dir(p); d != "." && d != "/"; d = path.Dir(d) {
		if strings.EqualFold(d, dir) {
			return true
		}
	}
	return false
}

func isLowerHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// Modes of FuzzOpenManifest and FuzzOpenChunk: what the fuzzed bytes are.
//
//	card    sealed bytes, checked against the real card or manifest
//	forged  sealed bytes, with the card's hash (or the manifest's stored
//	        size and hash) made to match them: a sender that wrote its own
//	        card. age must open no alteration of a sealing; another sealing
//	        to the same key (a fresh ephemeral share) may open, as the
//	        fuzzer's cache holds from seeds written before
//	zstd    the plaintext inside age, which the target seals with the
//	        card's key: it reaches the decompressor and, for a manifest,
//	        the JSON; for a chunk the manifest says codec zstd
//	none    (chunks) likewise, with codec none
var (
	manifestModes = []string{"card", "forged", "zstd"}
	chunkModes    = []string{"card", "forged", "zstd", "none"}
)

// FuzzOpenManifest opens mutated sealed manifests. Against the card it
// accepts only the original; with a card forged to match, age still opens
// no alteration of it; and whatever opens is a valid manifest.
func FuzzOpenManifest(f *testing.F) {
	o := loadSeedOffer(f)
	for _, s := range loadSeeds(f, "FuzzOpenManifest") {
		mode, _ := seedMode(f, s, manifestModes)
		f.Add(mode, s.data)
	}
	f.Fuzz(func(t *testing.T, modeArg uint8, data []byte) {
		mode := manifestModes[int(modeArg)%len(manifestModes)]
		offer := o.card
		sealed := data
		switch mode {
		case "forged":
			offer.ManifestHash = ManifestHash(data)
		case "zstd":
			var err error
			if sealed, err = icrypto.Seal(o.keys.Recipient, data); err != nil {
				t.Fatal(err)
			}
			offer.ManifestHash = ManifestHash(sealed)
		}
		m, err := OpenManifest(sealed, offer, o.keys.Identity)
		if err != nil {
			var me *ManifestError
			if !errors.Is(err, ErrManifestMismatch) && !errors.Is(err, ErrCannotDecrypt) && !errors.As(err, &me) {
				t.Fatalf("refused with an error of no known kind: %v", err)
			}
			if mode != "zstd" && bytes.Equal(data, o.sealed) {
				t.Fatalf("the original refused: %v", err)
			}
			return
		}
		checkAccepted(t, m, offer.ID)
		if mode == "zstd" {
			return
		}
		if !bytes.Equal(data, o.sealed) {
			checkOtherSealing(t, mode, data, o.sealed)
			return
		}
		got, _ := json.Marshal(m)
		want, _ := json.Marshal(o.m)
		if !bytes.Equal(got, want) {
			t.Fatal("the original opened to another manifest")
		}
	})
}

// FuzzOpenChunk opens mutated sealed chunks of the seed offer, and chunk
// payloads with zstd bombs among them. It accepts only the original
// plaintext, exactly the chunk's size of it, and allocates little more
// than that whatever the payload decompresses to.
func FuzzOpenChunk(f *testing.F) {
	o := loadSeedOffer(f)
	for _, s := range loadSeeds(f, "FuzzOpenChunk") {
		mode, rest := seedMode(f, s, chunkModes)
		is, _, _ := strings.Cut(rest, "-")
		i, err := strconv.Atoi(is)
		if err != nil || i < 0 || i >= len(o.m.Chunks) {
			f.Fatalf("seed %s: %q is not the index of one of the %d chunks", s.name, is, len(o.m.Chunks))
		}
		f.Add(mode, uint8(i), s.data)
	}
	f.Fuzz(func(t *testing.T, modeArg, index uint8, data []byte) {
		mode := chunkModes[int(modeArg)%len(chunkModes)]
		i := int(index) % len(o.m.Chunks)
		m := *o.m
		m.Chunks = slices.Clone(o.m.Chunks)
		c := &m.Chunks[i]
		sealed := data
		switch mode {
		case "zstd", "none":
			var err error
			if sealed, err = icrypto.Seal(o.keys.Recipient, data); err != nil {
				t.Fatal(err)
			}
			c.Codec = mode
			fallthrough
		case "forged":
			if len(sealed) == 0 || len(sealed) > MaxSealedChunkSize {
				return // no valid manifest says so
			}
			c.Stored, c.StoredBLAKE3 = int64(len(sealed)), blake3.Sum256(sealed)
		}
		var (
			plain []byte
			err   error
		)
		alloc := allocated(func() { plain, err = OpenChunk(&m, i, sealed, o.keys) })
		// age's reader holds 64 KiB buffers and the decoder its block
		// buffers; the output itself is capped at the chunk's size.
		if limit := uint64(4*c.Size+2*int64(len(sealed))) + 1<<20; alloc > limit {
			t.Fatalf("%s: opening chunk %d of %d bytes (%d sealed) allocated %d bytes, more than %d", mode, i, c.Size, len(sealed), alloc, limit)
		}
		if err != nil {
			var ce *ChunkError
			if !errors.As(err, &ce) || ce.Index != i {
				t.Fatalf("refused with %v, not a ChunkError for chunk %d", err, i)
			}
			if mode == "card" && bytes.Equal(data, o.chunks[i]) {
				t.Fatalf("the original chunk %d refused: %v", i, err)
			}
			return
		}
		if int64(len(plain)) != c.Size {
			t.Fatalf("accepted %d bytes for chunk %d of %d", len(plain), i, c.Size)
		}
		if !bytes.Equal(plain, o.plain[i]) {
			t.Fatalf("%s: chunk %d opened to bytes that are not its plaintext", mode, i)
		}
		if (mode == "card" || mode == "forged") && !bytes.Equal(data, o.chunks[i]) {
			checkOtherSealing(t, mode, data, o.chunks[i])
		}
	})
}

// checkOtherSealing fails unless sealed bytes that opened, and are not the
// original, are another sealing altogether: only with a forged card or
// manifest, and with an ephemeral share of their own. Bytes that share the
// original's would be an alteration of it that age failed to notice.
func checkOtherSealing(t *testing.T, mode string, got, original []byte) {
	t.Helper()
	if mode != "forged" {
		t.Fatalf("%s: accepted %d sealed bytes that are not the original %d", mode, len(got), len(original))
	}
	if share := ageShare(got); share == nil || bytes.Equal(share, ageShare(original)) {
		t.Fatalf("age opened an alteration of the original sealing (%d bytes, original %d)", len(got), len(original))
	}
}

// ageShare returns the ephemeral share in an age file's X25519 stanza, or
// nil. Every sealing draws a fresh one.
func ageShare(sealed []byte) []byte {
	const tag = "\n-> X25519 "
	i := bytes.Index(sealed, []byte(tag))
	if i < 0 {
		return nil
	}
	share, _, ok := bytes.Cut(sealed[i+len(tag):], []byte("\n"))
	if !ok {
		return nil
	}
	return share
}

// FuzzDecodeError decodes arbitrary ERROR payloads: what reaches the
// terminal is UTF-8 without control characters, at most MaxErrorMessage
// bytes; and what encodeError sends decodes to its code and message.
func FuzzDecodeError(f *testing.F) {
	for _, s := range loadSeeds(f, "FuzzDecodeError") {
		f.Add(s.data)
	}
	f.Fuzz(func(t *testing.T, p []byte) {
		e := decodeError(p)
		if e == nil {
			t.Fatal("no error")
		}
		checkPrintable(t, e.Message)
		if len(p) < 2 {
			return
		}
		code, msg := ErrorCode(binary.BigEndian.Uint16(p)), string(p[2:])
		back := decodeError(encodeError(code, msg))
		if back.Code != code {
			t.Fatalf("code %d arrived as %d", code, back.Code)
		}
		if !utf8.ValidString(msg) {
			return
		}
		// A UTF-8 message arrives as sent, or cut short when it is
		// longer than MaxErrorMessage.
		want := sanitize(msg)
		if len(msg) <= MaxErrorMessage && back.Message != want || !strings.HasPrefix(want, back.Message) {
			t.Fatalf("UTF-8 message of %d bytes arrived as %q", len(msg), back.Message)
		}
	})
}

// checkPrintable fails unless s is safe to print on a terminal.
func checkPrintable(t *testing.T, s string) {
	t.Helper()
	if !utf8.ValidString(s) {
		t.Fatalf("message %q is not UTF-8", s)
	}
	if len(s) > MaxErrorMessage {
		t.Fatalf("message of %d bytes, more than %d", len(s), MaxErrorMessage)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 {
			t.Fatalf("message %q holds control character %U", s, r)
		}
	}
}

// fuzzStream is a Stream that reads fixed input and records what is
// written to it.
type fuzzStream struct {
	in    *bytes.Reader
	out   bytes.Buffer
	reset bool
}

func (s *fuzzStream) Read(p []byte) (int, error)       { return s.in.Read(p) }
func (s *fuzzStream) Write(p []byte) (int, error)      { return s.out.Write(p) }
func (s *fuzzStream) Close() error                     { return nil }
func (s *fuzzStream) CloseWrite() error                { return nil }
func (s *fuzzStream) Reset() error                     { s.reset = true; return nil }
func (s *fuzzStream) SetDeadline(time.Time) error      { return nil }
func (s *fuzzStream) SetReadDeadline(time.Time) error  { return nil }
func (s *fuzzStream) SetWriteDeadline(time.Time) error { return nil }

var _ Stream = (*fuzzStream)(nil)

// Modes of FuzzServe: the bytes are the whole stream, or what follows a
// valid HELLO (which a fuzzer cannot forge).
var serveModes = []string{"raw", "hello"}

// FuzzServe plays arbitrary bytes to a sender as a receiver's stream. The
// sender answers only with well-formed frames; without a valid HELLO it
// answers one ERROR at most and nothing of the offer (§5.2); after an
// ERROR it sends nothing; what it serves is the offer's, byte for byte;
// and it records every receipt it acknowledges.
func FuzzServe(f *testing.F) {
	o := loadSeedOffer(f)
	var hb bytes.Buffer
	writeFrame(&hb, MsgHello, seedOfferID[:], icrypto.Prove(o.keys.Auth, seedOfferID[:], senderID, receiverID))
	hello := hb.Bytes()
	var storedHash []Hash
	for _, c := range o.m.Chunks {
		storedHash = append(storedHash, c.StoredBLAKE3)
	}
	for _, s := range loadSeeds(f, "FuzzServe") {
		mode, _ := seedMode(f, s, serveModes)
		f.Add(mode, s.data)
	}
	f.Fuzz(func(t *testing.T, modeArg uint8, in []byte) {
		if serveModes[int(modeArg)%len(serveModes)] == "hello" {
			in = append(slices.Clip(hello), in...)
		}
		authorized := bytes.HasPrefix(in, hello)
		var receipts, refusals int
		srv := &Server{
			Now: func() time.Time { return seedCreated },
			OnEvent: func(e Event) {
				switch e.Kind {
				case EventReceipt:
					receipts++
				case EventRefused:
					refusals++
				}
			},
		}
		srv.Add(&Offer{ID: seedOfferID, Verifier: o.keys.Verifier, Expires: o.m.Expires,
			SealedManifest: o.sealed, Extents: o.extents, Data: bytes.NewReader(o.data), StoredHash: storedHash})
		st := &fuzzStream{in: bytes.NewReader(in)}
		srv.Handle(context.Background(), st, Peer{Local: senderID, Remote: receiverID, Name: "receiver", Host: "192.0.2.1"})

		out := bytes.NewReader(st.out.Bytes())
		var got []MsgType
		acks := 0
		for {
			typ, p, err := readFrame(out, MaxResponseSize)
			if err == io.EOF {
				break
			}
			if err != nil {
				if st.reset {
					break // a reset stream may end inside a frame
				}
				t.Fatalf("after %v, the sender wrote a malformed frame: %v", got, err)
			}
			if len(got) > 0 && got[len(got)-1] == MsgError {
				t.Fatalf("the sender wrote %v after an ERROR", typ)
			}
			got = append(got, typ)
			if typ != MsgError && !authorized {
				t.Fatalf("the sender answered %v to a stream without a valid HELLO", got)
			}
			switch typ {
			case MsgManifest:
				if !bytes.Equal(p, o.sealed) {
					t.Fatal("MANIFEST is not the offer's sealed manifest")
				}
			case MsgChunk:
				if len(p) < 4 {
					t.Fatalf("CHUNK of %d bytes", len(p))
				}
				i := binary.BigEndian.Uint32(p)
				if int64(i) >= int64(len(o.chunks)) || !bytes.Equal(p[4:], o.chunks[i]) {
					t.Fatalf("CHUNK %d is not the offer's", i)
				}
			case MsgReceiptAck:
				if len(p) != 0 {
					t.Fatalf("RECEIPT_ACK of %d bytes", len(p))
				}
				acks++
			case MsgError:
				if len(p) < 2 || len(p) > 2+MaxErrorMessage {
					t.Fatalf("ERROR payload of %d bytes", len(p))
				}
				checkPrintable(t, decodeError(p).Message)
			default:
				t.Fatalf("the sender wrote a frame of %v", typ)
			}
		}
		if !authorized && len(got) > 1 {
			t.Fatalf("the sender answered %v to a stream without a valid HELLO", got)
		}
		if receipts != acks {
			t.Fatalf("the sender acknowledged %d receipts and recorded %d", acks, receipts)
		}
		if authorized && refusals > 0 {
			t.Fatal("the sender refused a valid HELLO")
		}
	})
}

// TestWriteFuzzSeeds writes testdata/fuzz-seeds: the seed offer, packed
// with the seed keys, and each target's seeds, most cut from it. Sealing
// is random, so the seeds are files to commit, not made on each run; run
// this only to change them:
//
//	IMAGESHARE_WRITE_SEEDS=1 go test -run TestWriteFuzzSeeds ./transfer/
func TestWriteFuzzSeeds(t *testing.T) {
	if os.Getenv(writeSeedsEnv) != "1" {
		t.Skipf("set %s=1 to rewrite %s", writeSeedsEnv, seedDir)
	}
	// Each folder is written afresh, so that no stale seed stays behind;
	// anything else in seedDir (its README) is kept.
	for _, d := range []string{"offer", "FuzzReadFrame", "FuzzManifest", "FuzzOpenManifest", "FuzzOpenChunk", "FuzzDecodeError", "FuzzServe"} {
		if err := os.RemoveAll(filepath.Join(seedDir, d)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(seedDir, 0o755); err != nil {
		t.Fatal(err)
	}
	keys := seedKeys(t)
	packed, err := Pack(context.Background(), seedStudy(t), PackOptions{
		Dir:       filepath.Join(seedDir, "offer"),
		OfferID:   seedOfferID,
		Recipient: keys.Recipient,
		Created:   seedCreated,
		Expires:   seedCreated.Add(72 * time.Hour),
		Site:      "Fuzz General ED",
		Studies: []study.Summary{{PatientName: "FUZZ^TEST", PatientID: "F1", StudyUID: "1.2.3", StudyDate: "20261127",
			Modalities: []string{"CT"}, Series: []study.Series{{UID: "1.2.3.1", Number: 1, Modality: "CT", Images: 2, Bytes: 1000}}}},
		ChunkSize: 1024,
		Workers:   1,
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{ManifestFile, DataFile} {
		if err := os.Chmod(filepath.Join(packed.Dir, name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := loadSeedOffer(t)
	write := func(target, name string, data []byte) {
		t.Helper()
		dir := filepath.Join(seedDir, target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	writeFrameSeeds(t, o, write)
	writeManifestSeeds(t, o, write)
	writeSealedSeeds(t, o, write)
	writeErrorSeeds(write)
	writeServeSeeds(t, o, write)

	// Small enough to commit.
	var total int64
	err = filepath.WalkDir(seedDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Size() > 16<<10 {
			t.Errorf("seed %s is %d bytes, more than 16 KiB", p, fi.Size())
		}
		total += fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if total > 200<<10 {
		t.Errorf("seeds are %d bytes in all, more than 200 KiB", total)
	}
	t.Logf("wrote %d bytes of seeds under %s", total, seedDir)
}

// seedStudy writes the seed offer's files: compressible, incompressible,
// empty, and a report, so that its chunks have both codecs and cross
// files. Their bytes are fixed; only sealing varies from run to run.
func seedStudy(t *testing.T) []study.File {
	dir := t.TempDir()
	rng := rand.New(rand.NewChaCha8([32]byte{'s', 'e', 'e', 'd'}))
	dicom := func(n int) []byte {
		b := make([]byte, n)
		copy(b[128:], "DICM")
		for i := 132; i < n; i++ {
			b[i] = byte(i / 61 % 5)
		}
		return b
	}
	noise := make([]byte, 2100)
	for i := range noise {
		noise[i] = byte(rng.Uint32())
	}
	report := []byte(strings.Repeat("FINDINGS: No acute intracranial abnormality.\n", 9))
	var files []study.File
	for i, c := range []struct {
		rel  string
		kind study.Kind
		data []byte
	}{
		{"series-1/IM0001.dcm", study.KindDICOM, dicom(1000)},
		{"series-1/IM0002.dcm", study.KindDICOM, nil},
		{"series-2/IM0001.dcm", study.KindDICOM, noise},
		{"report.txt", study.KindReport, report},
	} {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, c.data, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, study.File{Path: p, Rel: c.rel, Size: int64(len(c.data)), Kind: c.kind, StudyUID: "1.2.3"})
	}
	return files
}

func appendFrame(b []byte, t MsgType, parts ...[]byte) []byte {
	var buf bytes.Buffer
	writeFrame(&buf, t, parts...)
	return append(b, buf.Bytes()...)
}

func frameHeader(t MsgType, n uint32) []byte {
	return binary.BigEndian.AppendUint32([]byte{byte(t)}, n)
}

type seedWriter func(target, name string, data []byte)

func writeFrameSeeds(t *testing.T, o *seedOffer, write seedWriter) {
	hello := appendFrame(nil, MsgHello, seedOfferID[:], icrypto.Prove(o.keys.Auth, seedOfferID[:], senderID, receiverID))
	getChunk := func(i uint32) []byte { return appendFrame(nil, MsgGetChunk, binary.BigEndian.AppendUint32(nil, i)) }
	last := uint32(len(o.chunks) - 1)
	for name, b := range map[string][]byte{
		"hello.frame":        hello,
		"get-manifest.frame": appendFrame(nil, MsgGetManifest),
		"get-chunk.frame":    getChunk(last),
		"receipt.frame":      appendFrame(nil, MsgReceipt, []byte{0}, binary.BigEndian.AppendUint32(nil, 4), binary.BigEndian.AppendUint64(nil, 3500)),
		"receipt-ack.frame":  appendFrame(nil, MsgReceiptAck),
		"error.frame":        appendFrame(nil, MsgError, encodeError(CodeExpired, "expired 2026-12-01T01:23:00Z")),
		"manifest.frame":     appendFrame(nil, MsgManifest, o.sealed),
		"chunk.frame":        appendFrame(nil, MsgChunk, binary.BigEndian.AppendUint32(nil, last), o.chunks[last]),
		"two-frames.frame":   append(getChunk(0), getChunk(1)...),
		"too-large.frame":    frameHeader(MsgManifest, MaxResponseSize+1),
		"huge.frame":         frameHeader(MsgChunk, 0xffffffff),
		"truncated.frame":    hello[:40],
		"short-header.frame": hello[:3],
		"empty.frame":        {},
	} {
		write("FuzzReadFrame", name, b)
	}
}

func writeManifestSeeds(t *testing.T, o *seedOffer, write seedWriter) {
	enc := func(m *Manifest) []byte {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	variant := func(change func(m *Manifest)) []byte {
		m := *o.m
		m.Files = slices.Clone(o.m.Files)
		m.Chunks = slices.Clone(o.m.Chunks)
		change(&m)
		return enc(&m)
	}
	empty := blake3.Sum256(nil)
	minimal := fmt.Sprintf(`{"version":1,"offer_id":%q,"created":"2026-11-28T01:23:00Z","expires":"2026-12-01T01:23:00Z",`+
		`"studies":[],"files":[{"path":"a.dcm","size":0,"blake3":%q,"kind":"dicom"}],"chunk_size":1,"chunks":[]}`,
		seedOfferID, hex.EncodeToString(empty[:]))
	offer := enc(o.m)
	seeds := map[string][]byte{
		"offer.json":           offer,
		"minimal.json":         []byte(minimal),
		"truncated.json":       offer[:len(offer)/2],
		"null.json":            []byte("null"),
		"array.json":           []byte(`[{"version":1}]`),
		"big-number.json":      []byte(`{"version":1e400,"chunk_size":-9223372036854775808}`),
		"parent.json":          variant(func(m *Manifest) { m.Files[0].Path = "../escape.dcm" }),
		"absolute.json":        variant(func(m *Manifest) { m.Files[0].Path = "/etc/passwd" }),
		"backslash.json":       variant(func(m *Manifest) { m.Files[0].Path = `series-1\..\..\escape` }),
		"device.json":          variant(func(m *Manifest) { m.Files[0].Path = "series-1/COM1.dcm" }),
		"staging.json":         variant(func(m *Manifest) { m.Files[0].Path = ".imageshare/partial/1" }),
		"case-duplicate.json":  variant(func(m *Manifest) { m.Files[1].Path = strings.ToUpper(m.Files[0].Path) }),
		"file-and-folder.json": variant(func(m *Manifest) { m.Files[1].Path = m.Files[0].Path + "/x" }),
		"unicode.json": variant(func(m *Manifest) {
			m.Files[0].Path, m.Files[1].Path, m.Files[2].Path = "Σειρά 1/εικόνα.dcm", "série-1/IM0002.dcm", "Serie 2/Bild ß.dcm"
		}),
		"size-lies.json":     variant(func(m *Manifest) { m.Files[0].Size++ }),
		"huge-size.json":     variant(func(m *Manifest) { m.Files[1].Size = 1 << 40 }),
		"chunk-missing.json": variant(func(m *Manifest) { m.Chunks = m.Chunks[1:] }),
		"chunk-size.json":    variant(func(m *Manifest) { m.ChunkSize = MaxChunkSize + 1 }),
		"codec.json":         variant(func(m *Manifest) { m.Chunks[0].Codec = "brotli" }),
		"upper-hash.json":    bytes.Replace(offer, []byte(o.m.Files[0].BLAKE3.String()), []byte(strings.ToUpper(o.m.Files[0].BLAKE3.String())), 1),
	}
	for name, b := range seeds {
		write("FuzzManifest", name, b)
	}
}

// zstdBomb compresses n zero bytes as a stream, which does not declare its
// size: the decoder learns it only by decompressing.
func zstdBomb(t *testing.T, n int) []byte {
	var buf bytes.Buffer
	w, err := zstd.NewWriter(&buf, zstd.WithEncoderCRC(false), zstd.WithEncoderLevel(zstd.SpeedBestCompression), zstd.WithWindowSize(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	zeros := make([]byte, 1<<20)
	for n > 0 {
		k := min(n, len(zeros))
		if _, err := w.Write(zeros[:k]); err != nil {
			t.Fatal(err)
		}
		n -= k
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// Hand-made zstd frames: one declaring a 2 TiB window, and a skippable one.
var (
	zstdHugeWindow = []byte{0x28, 0xb5, 0x2f, 0xfd, 0x00, 0xf8, 0x19, 0x00, 0x00, 'a', 'b', 'c'}
	zstdSkippable  = []byte{0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 's', 'k', 'i', 'p'}
)

func flip(b []byte, i int) []byte {
	b = slices.Clone(b)
	b[i] ^= 0x01
	return b
}

func writeSealedSeeds(t *testing.T, o *seedOffer, write seedWriter) {
	enc, err := zstd.NewWriter(nil, zstd.WithEncoderCRC(false))
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	js, err := json.Marshal(o.m)
	if err != nil {
		t.Fatal(err)
	}
	z := enc.EncodeAll(js, nil)
	headerEnd := bytes.Index(o.sealed, []byte("\n---")) // age's header ends with its MAC line
	if headerEnd < 0 {
		t.Fatal("no age header in the sealed manifest")
	}
	for name, b := range map[string][]byte{
		"card-original.age":      o.sealed,
		"card-truncated.age":     o.sealed[:len(o.sealed)-1],
		"card-flipped.age":       flip(o.sealed, len(o.sealed)/2),
		"card-empty.age":         {},
		"forged-original.age":    o.sealed,
		"forged-stanza.age":      flip(o.sealed, 40),
		"forged-mac.age":         flip(o.sealed, headerEnd+8),
		"forged-payload.age":     flip(o.sealed, len(o.sealed)-1),
		"forged-header-only.age": o.sealed[:headerEnd+len("\n--- ")+43+1],
		"forged-not-age.age":     []byte("age-encryption.org/v1\n-> X25519 AAAA\n--- AAAA\n"),
		"zstd-original.zst":      z,
		"zstd-two-frames.zst":    append(enc.EncodeAll(js[:len(js)/2], nil), enc.EncodeAll(js[len(js)/2:], nil)...),
		"zstd-skippable.zst":     append(slices.Clone(zstdSkippable), z...),
		"zstd-trailing.zst":      append(slices.Clone(z), "trailing"...),
		"zstd-huge-window.zst":   zstdHugeWindow,
		"zstd-plain.json":        js,
		"zstd-bomb-129MiB.zst":   zstdBomb(t, maxManifestJSON+1<<20),
	} {
		write("FuzzOpenManifest", name, b)
	}

	chunks := map[string][]byte{
		"zstd-0-bomb-64MiB.zst":    zstdBomb(t, 64<<20),
		"zstd-0-bomb-declared.zst": enc.EncodeAll(make([]byte, 8<<20), nil),
		"zstd-0-two-frames.zst":    append(enc.EncodeAll(o.plain[0][:100], nil), enc.EncodeAll(o.plain[0][100:], nil)...),
		"zstd-0-skippable.zst":     append(slices.Clone(zstdSkippable), enc.EncodeAll(o.plain[0], nil)...),
		"zstd-0-huge-window.zst":   zstdHugeWindow,
		"zstd-0-short.zst":         enc.EncodeAll(o.plain[0][:len(o.plain[0])-1], nil),
		"zstd-0-long.zst":          enc.EncodeAll(append(slices.Clone(o.plain[0]), 0), nil),
		"none-0-zstd.bin":          enc.EncodeAll(o.plain[0], nil),
		"none-0-long.bin":          append(slices.Clone(o.plain[0]), 0),
		"forged-0-trailing.age":    append(slices.Clone(o.chunks[0]), 0),
		"forged-0-payload.age":     flip(o.chunks[0], len(o.chunks[0])-1),
		"forged-0-stanza.age":      flip(o.chunks[0], 40),
		"card-0-flipped.age":       flip(o.chunks[0], len(o.chunks[0])/2),
		"card-0-truncated.age":     o.chunks[0][:len(o.chunks[0])-1],
	}
	for i := range o.chunks {
		chunks[fmt.Sprintf("card-%d-original.age", i)] = o.chunks[i]
		chunks[fmt.Sprintf("zstd-%d-original.zst", i)] = enc.EncodeAll(o.plain[i], nil)
		chunks[fmt.Sprintf("none-%d-original.bin", i)] = o.plain[i]
	}
	for name, b := range chunks {
		write("FuzzOpenChunk", name, b)
	}
}

func writeErrorSeeds(write seedWriter) {
	for name, b := range map[string][]byte{
		"unauthorized.bin": encodeError(CodeUnauthorized, ""),
		"expired.bin":      encodeError(CodeExpired, "expired 2026-12-01T01:23:00Z"),
		"bad-request.bin":  encodeError(CodeBadRequest, "no chunk 7"),
		"unknown-code.bin": encodeError(0x1234, "a newer sender"),
		"control.bin":      encodeError(CodeInternal, "a\x1b[2Jb\u009bc\x7f"),
		"not-utf8.bin":     encodeError(CodeBadRequest, "\xff\xfe"),
		"long.bin":         encodeError(CodeUnavailable, strings.Repeat("unavailable ", 50)),
		"unicode.bin":      encodeError(CodeBusy, "Überlastet, später erneut versuchen"),
		"short.bin":        {0},
	} {
		write("FuzzDecodeError", name, b)
	}
}

func writeServeSeeds(t *testing.T, o *seedOffer, write seedWriter) {
	proof := icrypto.Prove(o.keys.Auth, seedOfferID[:], senderID, receiverID)
	hello := appendFrame(nil, MsgHello, seedOfferID[:], proof)
	getChunk := func(b []byte, i uint32) []byte {
		return appendFrame(b, MsgGetChunk, binary.BigEndian.AppendUint32(nil, i))
	}
	var all []byte
	all = appendFrame(all, MsgGetManifest)
	for i := range o.chunks {
		all = getChunk(all, uint32(i))
	}
	all = appendFrame(all, MsgReceipt, []byte{0}, binary.BigEndian.AppendUint32(nil, 4), binary.BigEndian.AppendUint64(nil, 3500))
	for name, b := range map[string][]byte{
		"raw-no-hello.bin":        appendFrame(nil, MsgGetManifest),
		"raw-zero-proof.bin":      appendFrame(appendFrame(nil, MsgHello, seedOfferID[:], make([]byte, icrypto.ProofSize)), MsgGetManifest),
		"raw-other-offer.bin":     appendFrame(appendFrame(nil, MsgHello, make([]byte, 8), proof), MsgGetManifest),
		"raw-short-hello.bin":     appendFrame(nil, MsgHello, seedOfferID[:]),
		"raw-hello.bin":           appendFrame(slices.Clone(hello), MsgGetManifest),
		"hello-all.bin":           all,
		"hello-bad-index.bin":     getChunk(nil, uint32(len(o.chunks))),
		"hello-max-index.bin":     getChunk(nil, 0xffffffff),
		"hello-unknown-type.bin":  appendFrame(nil, 0x42, []byte("?")),
		"hello-response.bin":      appendFrame(nil, MsgManifest, []byte("a response, sent as a request")),
		"hello-manifest-body.bin": appendFrame(nil, MsgGetManifest, []byte{0}),
		"hello-bad-receipt.bin":   appendFrame(nil, MsgReceipt, []byte{1, 0, 0, 0, 4}),
		"hello-second-hello.bin":  slices.Clone(hello),
		"hello-too-large.bin":     frameHeader(MsgGetChunk, MaxRequestSize+1),
		"hello-truncated.bin":     getChunk(nil, 1)[:7],
	} {
		write("FuzzServe", name, b)
	}
}
