package transfer

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/cryptotest"
	"time"

	"github.com/klauspost/compress/zstd"
	lcrypto "github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"
	"lukechampine.com/blake3"

	icrypto "imageshare/crypto"
	"imageshare/internal/vectors"
	"imageshare/study"
)

var update = flag.Bool("update", false, "write the test vectors in testdata/frame, testdata/manifest and testdata/chunk again")

// writeVectorsOnce writes the three folders once, whichever test asks first.
var writeVectorsOnce sync.Once

// The manifest vector carries the card of its offer. card imports transfer,
// so these are set by vectors_card_test.go, an external test file that can
// import card.
var (
	// VectorCardURI makes the card's text.
	VectorCardURI func(p peer.ID, s icrypto.Secret, id OfferID, expires time.Time, hash [ManifestHashSize]byte, addrs []ma.Multiaddr) (string, error)
	// VectorParseCard reads back what the manifest vector needs of a card.
	VectorParseCard func(uri string) (icrypto.Secret, OfferRef, error)
)

// vecKeys derives the keys of a vector's secret (hex).
func vecKeys(t *testing.T, secretHex string) (*icrypto.Secret, *icrypto.Keys) {
	t.Helper()
	var s icrypto.Secret
	b, err := hex.DecodeString(secretHex)
	if err != nil || len(b) != len(s) {
		t.Fatalf("bad secret %q", secretHex)
	}
	copy(s[:], b)
	k, err := icrypto.DeriveKeys(&s)
	if err != nil {
		t.Fatal(err)
	}
	return &s, k
}

func vecOffer(t *testing.T, v *vectors.Vector) OfferID {
	t.Helper()
	id, err := ParseOfferID(v.Must(t, "offer"))
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestManifestVectors opens each sealed manifest of testdata/manifest as a
// receiver does, against a card holding the vector's secret, offer ID and
// manifest hash.
func TestManifestVectors(t *testing.T) {
	if *update {
		writeVectorsOnce.Do(func() { writeTransferVectors(t) })
	}
	for _, v := range vectors.Load(t, "manifest") {
		t.Run(v.Name, func(t *testing.T) {
			s, k := vecKeys(t, v.Must(t, "secret"))
			offer := OfferRef{ID: vecOffer(t, v)}
			copy(offer.ManifestHash[:], v.Hex(t, "manifest-hash"))
			if u := v.Get("card"); u != "" {
				secret, ref, err := VectorParseCard(u)
				if err != nil {
					t.Fatal(err)
				}
				if secret != *s || ref != offer {
					t.Fatal("the card does not hold the vector's secret, offer and manifest hash")
				}
			}
			sealed := v.Data(t)
			m, err := OpenManifest(sealed, offer, k.Identity)
			ok, class := v.Expect()
			if !ok {
				checkClass(t, v, class, err)
				return
			}
			if err != nil {
				t.Fatalf("OpenManifest: %v", err)
			}
			js, err := os.ReadFile(filepath.Join(vectors.Dir("manifest"), v.Must(t, "plaintext")))
			if err != nil {
				t.Fatal(err)
			}
			z, err := icrypto.Open(k.Identity, sealed, MaxManifestSize)
			if err != nil {
				t.Fatal(err)
			}
			got, err := decompressLimited(z, maxManifestJSON)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, js) {
				t.Fatalf("the manifest's JSON is not %s", v.Must(t, "plaintext"))
			}
			want, err := decodeManifest(js, offer.ID)
			if err != nil {
				t.Fatal(err)
			}
			a, _ := json.Marshal(m)
			b, _ := json.Marshal(want)
			if !bytes.Equal(a, b) {
				t.Fatal("OpenManifest and the plaintext disagree")
			}
			checkTamperFails(t, sealed, k)
		})
	}
}

// TestChunkVectors opens each sealed chunk of testdata/chunk with OpenChunk,
// given the manifest entry its header describes.
func TestChunkVectors(t *testing.T) {
	if *update {
		writeVectorsOnce.Do(func() { writeTransferVectors(t) })
	}
	for _, v := range vectors.Load(t, "chunk") {
		t.Run(v.Name, func(t *testing.T) {
			_, k := vecKeys(t, v.Must(t, "secret"))
			i, err := strconv.Atoi(v.Must(t, "index"))
			if err != nil {
				t.Fatal(err)
			}
			num := func(key string) int64 {
				n, err := strconv.ParseInt(v.Must(t, key), 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			hash := func(key string) Hash {
				var h Hash
				if err := h.UnmarshalText([]byte(v.Must(t, key))); err != nil {
					t.Fatalf("%s: %v", key, err)
				}
				return h
			}
			m := &Manifest{Chunks: make([]Chunk, i+1)}
			m.Chunks[i] = Chunk{Size: num("size"), BLAKE3: hash("blake3"), Codec: v.Must(t, "codec"),
				Stored: num("stored"), StoredBLAKE3: hash("stored-blake3")}
			sealed := v.Data(t)
			plain, err := OpenChunk(m, i, sealed, k)
			ok, class := v.Expect()
			if !ok {
				checkClass(t, v, class, err)
				return
			}
			if err != nil {
				t.Fatalf("OpenChunk: %v", err)
			}
			if sum := blake3.Sum256(plain); hex.EncodeToString(sum[:]) != v.Must(t, "blake3") {
				t.Fatal("plaintext differs")
			}
			checkTamperFails(t, sealed, k)
		})
	}
}

// checkTamperFails changes one byte of a sealed file at a few places and
// checks that age refuses it: its header MAC, its payload's tags.
func checkTamperFails(t *testing.T, sealed []byte, k *icrypto.Keys) {
	t.Helper()
	for _, at := range []int{len("age-encryption.org/v1\n-> X25519 ") + 3, len(sealed) / 2, len(sealed) - 1} {
		b := bytes.Clone(sealed)
		b[at] ^= 0x01
		if _, err := icrypto.Open(k.Identity, b, 16<<20); err == nil {
			t.Errorf("a byte changed at %d of %d, and age still opened it", at, len(sealed))
		}
	}
}

// checkClass matches an error to a vector's "error CLASS" and its
// "reason", if it has one.
func checkClass(t *testing.T, v *vectors.Vector, class string, err error) {
	t.Helper()
	var me *ManifestError
	var ce *ChunkError
	var tl *FrameTooLargeError
	match := map[string]bool{
		"manifest-mismatch": errors.Is(err, ErrManifestMismatch),
		"cannot-decrypt":    errors.Is(err, ErrCannotDecrypt),
		"invalid-manifest":  errors.As(err, &me),
		"corrupt":           errors.As(err, &ce) && errors.Is(err, ErrCorrupt),
		"unauthenticated":   errors.As(err, &ce) && !errors.Is(err, ErrCorrupt) && strings.Contains(err.Error(), "decrypting"),
		"too-large":         errors.As(err, &ce) && errors.Is(err, icrypto.ErrTooLarge),
		"frame-too-large":   errors.As(err, &tl),
		"truncated":         errors.Is(err, io.ErrUnexpectedEOF),
	}
	got, known := match[class]
	if !known {
		t.Fatalf("unknown error class %q", class)
	}
	if !got {
		t.Fatalf("error %v is not of class %s", err, class)
	}
	if r := v.Get("reason"); r != "" && !strings.Contains(err.Error(), r) {
		t.Fatalf("error %q does not say %q", err, r)
	}
}

// TestFrameVectors reads each frame of testdata/frame with the cap its
// reader applies, checks the fields its header names, and writes it again.
func TestFrameVectors(t *testing.T) {
	if *update {
		writeVectorsOnce.Do(func() { writeTransferVectors(t) })
	}
	for _, v := range vectors.Load(t, "frame") {
		t.Run(v.Name, func(t *testing.T) {
			raw := v.Data(t)
			limit, err := strconv.Atoi(v.Must(t, "limit"))
			if err != nil {
				t.Fatal(err)
			}
			r := bytes.NewReader(raw)
			typ, p, err := readFrame(r, limit)
			ok, class := v.Expect()
			if !ok {
				checkClass(t, v, class, err)
				return
			}
			if err != nil {
				t.Fatalf("readFrame: %v", err)
			}
			if r.Len() != 0 {
				t.Fatalf("%d bytes after the frame", r.Len())
			}
			if got := fmt.Sprintf("%#02x", uint8(typ)); got != v.Must(t, "type") {
				t.Fatalf("type = %s, want %s", got, v.Must(t, "type"))
			}
			if typ.String() != v.Must(t, "name") {
				t.Fatalf("name = %s, want %s", typ, v.Must(t, "name"))
			}
			fields := decodeFrameFields(t, typ, p)
			for _, f := range v.Header {
				switch f.Key {
				case "expect", "comment", "type", "name", "direction", "limit", "body":
				case "payload-from":
					src := vectors.Load(t, filepath.Dir(f.Value))
					found := false
					for _, s := range src {
						if s.Name == filepath.Base(f.Value) {
							found = true
							if !bytes.Equal(fields["sealed"], s.Data(t)) {
								t.Fatalf("the frame does not carry %s", f.Value)
							}
						}
					}
					if !found {
						t.Fatalf("no vector %s", f.Value)
					}
				default:
					if got := string(fields[f.Key]); got != f.Value {
						t.Fatalf("%s = %q, want %q", f.Key, got, f.Value)
					}
				}
			}
			var again bytes.Buffer
			if err := writeFrame(&again, typ, p); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), raw) {
				t.Fatal("writeFrame writes the frame otherwise")
			}
		})
	}
}

// decodeFrameFields splits a payload into the fields of docs/PROTOCOL.md
// §5, as text the vectors' headers can hold; sealed bytes are kept raw.
func decodeFrameFields(t *testing.T, typ MsgType, p []byte) map[string][]byte {
	t.Helper()
	need := func(n int) {
		if len(p) < n {
			t.Fatalf("%v payload of %d bytes, want %d or more", typ, len(p), n)
		}
	}
	s := func(x any) []byte { return []byte(fmt.Sprint(x)) }
	f := map[string][]byte{"length": s(len(p))}
	switch typ {
	case MsgHello:
		need(8 + icrypto.ProofSize)
		f["offer"] = []byte(hex.EncodeToString(p[:8]))
		f["proof"] = []byte(hex.EncodeToString(p[8:]))
	case MsgGetChunk:
		need(4)
		f["index"] = s(binary.BigEndian.Uint32(p))
	case MsgReceipt:
		need(13)
		f["status"] = s(p[0])
		f["files"] = s(binary.BigEndian.Uint32(p[1:]))
		f["bytes"] = s(binary.BigEndian.Uint64(p[5:]))
	case MsgManifest:
		f["sealed"] = p
		h := ManifestHash(p)
		f["manifest-hash"] = []byte(hex.EncodeToString(h[:]))
	case MsgChunk:
		need(4)
		f["index"] = s(binary.BigEndian.Uint32(p))
		f["sealed"] = p[4:]
	case MsgError:
		e := decodeError(p)
		f["code"] = s(uint16(e.Code))
		f["message"] = []byte(e.Message)
	}
	return f
}

// The generator. It packs a small offer with Pack, as a sender does, under
// a deterministic source of randomness (testing/cryptotest), so that the
// sealed bytes come out the same each time it runs.

func vecPeer(t *testing.T, first byte) peer.ID {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = first + byte(i)
	}
	k, err := lcrypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func writeTransferVectors(t *testing.T) {
	cryptotest.SetGlobalRandom(t, 14)
	var secret icrypto.Secret
	for i := range secret {
		secret[i] = byte(i)
	}
	keys, err := icrypto.DeriveKeys(&secret)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := ParseOfferID("9a59f8d7f3172fc0")
	created := time.Date(2026, 11, 28, 1, 23, 0, 0, time.UTC)
	expires := created.Add(72 * time.Hour)

	// Three files: 4096 bytes that do not compress (chunk 0 is stored as
	// it is), 5000 that do, and a short text report.
	dir := t.TempDir()
	noise := make([]byte, 4096)
	rand.NewChaCha8([32]byte{14}).Read(noise)
	var pattern bytes.Buffer
	for i := 0; pattern.Len() < 5000; i++ {
		fmt.Fprintf(&pattern, "(0028,0010) Rows %04d ", i%64)
	}
	contents := [][]byte{noise, pattern.Bytes()[:5000], []byte(strings.Repeat("CT HEAD: no acute intracranial abnormality.\n", 16))}
	rels := []string{"series-2/IM0001.dcm", "series-2/IM0002.dcm", "report.txt"}
	var files []study.File
	for i, b := range contents {
		p := filepath.Join(dir, fmt.Sprint(i))
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		f := study.File{Path: p, Rel: rels[i], Size: int64(len(b)), Kind: study.KindDICOM, StudyUID: "1.2.3", SeriesUID: "1.2.3.4", SOPInstanceUID: fmt.Sprintf("1.2.3.4.%d", i+1)}
		if i == 2 {
			f = study.File{Path: p, Rel: rels[i], Size: int64(len(b)), Kind: study.KindReport, StudyUID: "1.2.3"}
		}
		files = append(files, f)
	}
	summary := study.Summary{PatientName: "DOE^JANE", PatientID: "123", BirthDate: "19700131", Sex: "F",
		StudyUID: "1.2.3", StudyDate: "20261127", StudyTime: "1130", Description: "CT HEAD", Accession: "A1",
		Institution: "St Elsewhere", Modalities: []string{"CT"},
		Series: []study.Series{{UID: "1.2.3.4", Number: 2, Modality: "CT", Description: "AXIAL 3mm", Images: 2, Bytes: 9096}},
		Files:  2, Bytes: 9096}
	packed, err := Pack(context.Background(), files, PackOptions{
		Dir: filepath.Join(t.TempDir(), "offer"), OfferID: id, Recipient: keys.Recipient,
		Created: created, Expires: expires, Site: "St Elsewhere ED", Studies: []study.Summary{summary},
		ChunkSize: 4096, Workers: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(packed.Dir, DataFile))
	if err != nil {
		t.Fatal(err)
	}
	sealedChunk := func(i int) []byte {
		e := packed.Extents[i]
		return data[e.Offset : e.Offset+e.Length]
	}
	m := packed.Manifest
	secretHex := hex.EncodeToString(secret[:])
	hashHex := func(h [ManifestHashSize]byte) string { return hex.EncodeToString(h[:]) }

	// The manifest.
	mw := vectors.NewWriter("manifest")
	uri, err := VectorCardURI(vecPeer(t, 0x80), secret, id, expires, packed.ManifestHash, []ma.Multiaddr{ma.StringCast("/ip4/127.0.0.1/tcp/7471")})
	if err != nil {
		t.Fatal(err)
	}
	z, err := icrypto.Open(keys.Identity, packed.SealedManifest, MaxManifestSize)
	if err != nil {
		t.Fatal(err)
	}
	js, err := decompressLimited(z, maxManifestJSON)
	if err != nil {
		t.Fatal(err)
	}
	mw.AddFile("valid.json", js)
	mw.Add("valid", packed.SealedManifest, "expect", "success",
		"comment", "the sealed manifest of the offer whose chunks are testdata/chunk; plaintext is its JSON, as zstd and age wrap it",
		"card", uri, "secret", secretHex, "offer", id.String(), "manifest-hash", hashHex(packed.ManifestHash),
		"plaintext", "valid.json", "body", "raw")
	bad := func(name, comment, class, reason string, sealed []byte, hash [ManifestHashSize]byte, s string) {
		kv := []string{"expect", "error " + class, "comment", comment}
		if reason != "" {
			kv = append(kv, "reason", reason)
		}
		kv = append(kv, "secret", s, "offer", id.String(), "manifest-hash", hashHex(hash), "body", "raw")
		mw.Add(name, sealed, kv...)
	}
	flipped := bytes.Clone(packed.SealedManifest)
	flipped[len(flipped)-20] ^= 0x01
	bad("flipped-byte", "one byte of the valid manifest changed; the card holds the hash of the valid one", "manifest-mismatch", "",
		flipped, packed.ManifestHash, secretHex)
	bad("flipped-byte-rehashed", "one byte of the valid manifest changed, and a card made for the changed bytes: age refuses it", "cannot-decrypt", "",
		flipped, ManifestHash(flipped), secretHex)
	otherSecret := strings.Repeat("ff", 32)
	bad("other-card", "the valid manifest, read with the keys of another secret (ff ff … ff)", "cannot-decrypt", "",
		packed.SealedManifest, packed.ManifestHash, otherSecret)
	zenc, _ := zstd.NewWriter(nil, zstd.WithEncoderCRC(false))
	sealJSON := func(js []byte, compress bool) []byte {
		if compress {
			js = zenc.EncodeAll(js, nil)
		}
		s, err := icrypto.Seal(keys.Recipient, js)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	edit := func(f func(m *Manifest)) []byte {
		var c Manifest
		if err := json.Unmarshal(js, &c); err != nil {
			t.Fatal(err)
		}
		f(&c)
		b, err := json.Marshal(&c)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, x := range []struct {
		name, comment, reason string
		js                    []byte
		compress              bool
	}{
		{"other-offer", "a manifest naming offer 9a59f8d7f3172fc1", "offer_id", edit(func(m *Manifest) { m.OfferID = "9a59f8d7f3172fc1" }), true},
		{"path-escapes", "a file named ../IM0001.dcm", "files[0].path", edit(func(m *Manifest) { m.Files[0].Path = "../IM0001.dcm" }), true},
		{"path-staging", "a file in the receiver's staging folder", "reserved name", edit(func(m *Manifest) { m.Files[0].Path = ".imageshare/IM0001.dcm" }), true},
		{"chunk-count", "a chunk missing from the list", "chunks", edit(func(m *Manifest) { m.Chunks = m.Chunks[:2] }), true},
		{"version-2", "manifest version 2", "version", edit(func(m *Manifest) { m.Version = 2 }), true},
		{"not-compressed", "the JSON sealed without zstd", "encoding", js, false},
	} {
		s := sealJSON(x.js, x.compress)
		bad(x.name, x.comment+": sealed properly, refused by validation", "invalid-manifest", x.reason, s, ManifestHash(s), secretHex)
	}
	mw.Write(t)

	// The chunks.
	cw := vectors.NewWriter("chunk")
	chunkKV := func(expect, comment string, i int, ch Chunk) []string {
		return []string{"expect", expect, "comment", comment, "secret", secretHex, "index", fmt.Sprint(i),
			"size", fmt.Sprint(ch.Size), "codec", ch.Codec, "blake3", ch.BLAKE3.String(),
			"stored", fmt.Sprint(ch.Stored), "stored-blake3", ch.StoredBLAKE3.String(), "body", "raw"}
	}
	names := []string{"0-none", "1-zstd", "2-zstd-last"}
	comments := []string{"4096 bytes that do not shrink, stored as they are", "4096 bytes compressed with zstd", fmt.Sprintf("the last chunk, %d bytes, compressed with zstd", m.Chunks[2].Size)}
	for i, ch := range m.Chunks {
		cw.Add(names[i], sealedChunk(i), chunkKV("success", comments[i]+"; chunk "+fmt.Sprint(i)+" of the manifest in testdata/manifest/valid", i, ch)...)
	}
	if m.Chunks[0].Codec != CodecNone || m.Chunks[1].Codec != CodecZstd || m.Chunks[2].Codec != CodecZstd {
		t.Fatalf("the chunks are not what the vectors say: %+v", m.Chunks)
	}
	fl := bytes.Clone(sealedChunk(1))
	fl[len(fl)/2] ^= 0x01
	cw.Add("flipped-byte", fl, chunkKV("error corrupt", "chunk 1 with one byte changed: its stored-blake3 no longer matches", 1, m.Chunks[1])...)
	re := m.Chunks[1]
	re.StoredBLAKE3 = blake3.Sum256(fl)
	cw.Add("flipped-byte-rehashed", fl, chunkKV("error unauthenticated", "chunk 1 with one byte changed, and its stored-blake3 made to match: age refuses it", 1, re)...)
	small := m.Chunks[0]
	small.Size--
	cw.Add("larger-than-size", sealedChunk(0), chunkKV("error too-large", "chunk 0 against a manifest that says it is one byte shorter", 0, small)...)
	wrong := m.Chunks[1]
	wrong.BLAKE3 = m.Chunks[0].BLAKE3
	cw.Add("plaintext-differs", sealedChunk(1), chunkKV("error corrupt", "chunk 1 against a manifest whose blake3 is chunk 0's", 1, wrong)...)
	cw.Write(t)

	// The frames.
	fw := vectors.NewWriter("frame")
	frameBytes := func(typ MsgType, parts ...[]byte) []byte {
		var b bytes.Buffer
		if err := writeFrame(&b, typ, parts...); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	req, rsp := "receiver to sender", "sender to receiver"
	frame := func(name, comment, dir string, limit int, raw []byte, fields ...string) {
		kv := []string{"expect", "success", "comment", comment, "type", fmt.Sprintf("%#02x", raw[0]), "name", MsgType(raw[0]).String(),
			"direction", dir, "limit", fmt.Sprint(limit)}
		kv = append(kv, fields...)
		kv = append(kv, "body", "hex")
		fw.Add(name, vectors.HexLines(raw), kv...)
	}
	receiver := vecPeer(t, 0xc0)
	proof := icrypto.Prove(keys.Auth, id[:], string(vecPeer(t, 0x80)), string(receiver))
	frame("hello", "the proof of testdata/proof/valid", req, MaxRequestSize,
		frameBytes(MsgHello, id[:], proof), "length", "72", "offer", id.String(), "proof", hex.EncodeToString(proof))
	frame("get-manifest", "", req, MaxRequestSize, frameBytes(MsgGetManifest), "length", "0")
	frame("get-chunk", "", req, MaxRequestSize, frameBytes(MsgGetChunk, binary.BigEndian.AppendUint32(nil, 2)), "length", "4", "index", "2")
	receipt := append([]byte{0}, binary.BigEndian.AppendUint32(nil, uint32(len(m.Files)))...)
	receipt = binary.BigEndian.AppendUint64(receipt, uint64(m.TotalSize()))
	frame("receipt", "every file of testdata/manifest/valid verified", req, MaxRequestSize, frameBytes(MsgReceipt, receipt),
		"length", "13", "status", "0", "files", fmt.Sprint(len(m.Files)), "bytes", fmt.Sprint(m.TotalSize()))
	frame("manifest", "", rsp, MaxManifestSize, frameBytes(MsgManifest, packed.SealedManifest),
		"length", fmt.Sprint(len(packed.SealedManifest)), "manifest-hash", hashHex(packed.ManifestHash), "payload-from", "manifest/valid")
	frame("chunk", "", rsp, 4+MaxSealedChunkSize, frameBytes(MsgChunk, binary.BigEndian.AppendUint32(nil, 2), sealedChunk(2)),
		"length", fmt.Sprint(4+len(sealedChunk(2))), "index", "2", "payload-from", "chunk/2-zstd-last")
	frame("receipt-ack", "", rsp, MaxRequestSize, frameBytes(MsgReceiptAck), "length", "0")
	msg := "too many transfers at once; try again shortly"
	frame("error-busy", "", rsp, MaxRequestSize, frameBytes(MsgError, encodeError(CodeBusy, msg)),
		"length", fmt.Sprint(2+len(msg)), "code", "7", "message", msg)
	frame("error-no-message", "ERROR 2, unknown offer, as the reference sender sends it: no message", rsp, MaxRequestSize,
		frameBytes(MsgError, encodeError(CodeUnknownOffer, "")), "length", "2", "code", "2", "message", "")
	frame("request-at-limit", "a frame of exactly the sender's cap is read (and then answered ERROR 6, since GET_MANIFEST has no payload)", req, MaxRequestSize,
		frameBytes(MsgGetManifest, make([]byte, MaxRequestSize)), "length", fmt.Sprint(MaxRequestSize))
	refused := func(name, comment string, typ MsgType, declared uint32, limit int, class string, extra []byte) {
		raw := append([]byte{byte(typ)}, binary.BigEndian.AppendUint32(nil, declared)...)
		raw = append(raw, extra...)
		fw.Add(name, vectors.HexLines(raw), "expect", "error "+class, "comment", comment,
			"direction", map[bool]string{true: req, false: rsp}[typ < 0x80], "limit", fmt.Sprint(limit), "body", "hex")
	}
	refused("request-over-limit", "a request declaring 1025 bytes: refused before its payload is read", MsgGetChunk, MaxRequestSize+1, MaxRequestSize, "frame-too-large", nil)
	refused("manifest-over-limit", "a MANIFEST declaring 64 MiB + 1", MsgManifest, MaxManifestSize+1, MaxManifestSize, "frame-too-large", nil)
	refused("chunk-over-limit", "a CHUNK declaring one byte more than an index and the largest sealed chunk", MsgChunk, 4+MaxSealedChunkSize+1, 4+MaxSealedChunkSize, "frame-too-large", nil)
	refused("error-over-limit", "an ERROR declaring 2 GiB", MsgError, 1<<31, MaxRequestSize, "frame-too-large", nil)
	refused("truncated-payload", "a CHUNK declaring 100 bytes, of which 50 follow", MsgChunk, 100, 4+MaxSealedChunkSize, "truncated", make([]byte, 50))
	fw.Add("truncated-header", []byte("02 0000\n"), "expect", "error truncated", "comment", "three bytes of a frame header",
		"direction", req, "limit", fmt.Sprint(MaxRequestSize), "body", "hex")
	fw.Write(t)
}
