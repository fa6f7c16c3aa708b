package transfer

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	icrypto "imageshare/crypto"
	"imageshare/study"
)

// tcpStream is a real loopback socket standing in for a libp2p stream.
type tcpStream struct{ *net.TCPConn }

func (s tcpStream) Reset() error { s.SetLinger(0); return s.Close() }

const (
	senderID   = "sender-peer"
	receiverID = "receiver-peer"
)

// listen serves srv on a loopback socket; every connection claims to come
// from remote, at 127.0.0.1.
func listen(t testing.TB, srv *Server, remote string) func(context.Context) (Stream, error) {
	t.Helper()
	return listenFrom(t, srv, remote, "127.0.0.1")
}

// fixture is a packed offer and the card for it.
type fixture struct {
	files  []study.File
	data   map[string][]byte
	packed *Packed
	offer  OfferRef
	keys   *icrypto.Keys
	srv    *Server
}

// makeFiles writes files of the given sizes: half compressible, half not.
func makeFiles(t testing.TB, sizes []int) ([]study.File, map[string][]byte) {
	t.Helper()
	dir := t.TempDir()
	var files []study.File
	data := map[string][]byte{}
	for i, n := range sizes {
		b := make([]byte, n)
		if i%2 == 0 {
			rand.Read(b)
		} else {
			for j := range b {
				b[j] = byte(j / 97 % 7)
			}
		}
		rel := fmt.Sprintf("series-%d/IM%04d.dcm", i%3, i)
		p := filepath.Join(dir, fmt.Sprintf("f%d", i))
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, study.File{Path: p, Rel: rel, Size: int64(n), Kind: study.KindDICOM, StudyUID: "1.2.3"})
		data[rel] = b
	}
	return files, data
}

func newFixture(t testing.TB, sizes []int, chunkSize int64) *fixture {
	t.Helper()
	files, data := makeFiles(t, sizes)
	secret, err := icrypto.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := icrypto.DeriveKeys(&secret)
	if err != nil {
		t.Fatal(err)
	}
	var id OfferID
	rand.Read(id[:])
	now := time.Now()
	packed, err := Pack(context.Background(), files, PackOptions{
		Dir:       filepath.Join(t.TempDir(), id.String()),
		OfferID:   id,
		Recipient: keys.Recipient,
		Created:   now,
		Expires:   now.Add(time.Hour),
		Studies:   []study.Summary{{StudyUID: "1.2.3", PatientName: "TEST^PATIENT"}},
		ChunkSize: chunkSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(filepath.Join(packed.Dir, DataFile))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	srv := &Server{}
	srv.Add(&Offer{ID: id, Verifier: keys.Verifier, Expires: packed.Manifest.Expires, SealedManifest: packed.SealedManifest, Extents: packed.Extents, Data: f})
	offer := OfferRef{ID: id, ManifestHash: packed.ManifestHash}
	return &fixture{files: files, data: data, packed: packed, offer: offer, keys: keys, srv: srv}
}

func (fx *fixture) client(t *testing.T) *Client {
	return &Client{Open: listen(t, fx.srv, receiverID), Local: receiverID, Remote: senderID, Offer: fx.offer, Keys: fx.keys}
}

func all(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// receive fetches the whole offer into a fresh folder.
func receive(t *testing.T, c *Client) (string, error) {
	t.Helper()
	ctx := context.Background()
	m, err := c.Manifest(ctx)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(t.TempDir(), "study")
	st, err := OpenStore(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := c.Fetch(ctx, m, all(len(m.Chunks)), st.Put, nil); err != nil {
		return dir, err
	}
	if err := st.Finish(); err != nil {
		return dir, err
	}
	return dir, c.Confirm(ctx, len(m.Files), m.TotalSize())
}

func checkReceived(t *testing.T, dir string, want map[string][]byte) {
	t.Helper()
	for rel, b := range want {
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel)))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("%s: received %d bytes differ from the %d sent", rel, len(got), len(b))
		}
	}
	// The staging folder keeps the lock file (and, in a claimed folder,
	// the marker); the files being received go.
	if _, err := os.Stat(filepath.Join(dir, stagingDir, "partial")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("staging files left behind: %v", err)
	}
}

func TestRoundTripAcrossChunkBoundaries(t *testing.T) {
	const cs = 1000
	for _, sizes := range [][]int{
		{1},
		{cs - 1},
		{cs},
		{cs + 1},
		{0, 1, cs - 1, cs, cs + 1, 0, 3},
		{2*cs + 500, 0, cs/2 + 1, cs / 2},
		{5 * cs},
	} {
		t.Run(fmt.Sprint(sizes), func(t *testing.T) {
			fx := newFixture(t, sizes, cs)
			var receipts []Event
			fx.srv.OnEvent = func(e Event) {
				if e.Kind == EventReceipt {
					receipts = append(receipts, e)
				}
			}
			dir, err := receive(t, fx.client(t))
			if err != nil {
				t.Fatal(err)
			}
			checkReceived(t, dir, fx.data)
			if len(receipts) != 1 || receipts[0].Files != len(sizes) {
				t.Fatalf("sender saw receipts %+v, want one for %d files", receipts, len(sizes))
			}
		})
	}
}

func TestRoundTripStreamsAndWindows(t *testing.T) {
	sizes := make([]int, 60)
	for i := range sizes {
		sizes[i] = mrand.IntN(20_000)
	}
	fx := newFixture(t, sizes, 4096)
	for _, sw := range [][2]int{{1, 1}, {1, 16}, {3, 4}, {8, 2}} {
		t.Run(fmt.Sprintf("streams=%d,window=%d", sw[0], sw[1]), func(t *testing.T) {
			c := fx.client(t)
			c.Streams, c.Window = sw[0], sw[1]
			dir, err := receive(t, c)
			if err != nil {
				t.Fatal(err)
			}
			checkReceived(t, dir, fx.data)
		})
	}
}

// Streams spread over several connections, each from its own local peer
// with its own proof, and the study arrives whole.
func TestFetchOverSeveralConnections(t *testing.T) {
	sizes := make([]int, 40)
	for i := range sizes {
		sizes[i] = mrand.IntN(20_000)
	}
	fx := newFixture(t, sizes, 4096)
	var mu sync.Mutex
	chunksFrom := map[string]int{}
	fx.srv.OnEvent = func(e Event) {
		if e.Kind == EventChunk {
			mu.Lock()
			chunksFrom[e.Remote]++
			mu.Unlock()
		}
	}
	c := fx.client(t)
	const other = "receiver-peer-2"
	c.Extra = []Conn{{Open: listen(t, fx.srv, other), Local: other}}
	c.Streams, c.Window = 2, 2
	dir, err := receive(t, c)
	if err != nil {
		t.Fatal(err)
	}
	checkReceived(t, dir, fx.data)
	if chunksFrom[receiverID] == 0 || chunksFrom[other] == 0 {
		t.Fatalf("chunks sent by connection: %v; want some on each", chunksFrom)
	}

	// A proof made for one local peer is refused on the other's connection.
	c = fx.client(t)
	c.Extra = []Conn{{Open: listen(t, fx.srv, other), Local: receiverID}}
	c.Streams = 2
	if _, err := receive(t, c); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("a proof for the wrong local peer: got %v, want ErrUnauthorized", err)
	}
}

func TestIncompressibleChunksStoredAsIs(t *testing.T) {
	fx := newFixture(t, []int{8192, 8192}, 8192)
	m := fx.packed.Manifest
	if m.Chunks[0].Codec != CodecNone {
		t.Errorf("random chunk stored with codec %s, want none", m.Chunks[0].Codec)
	}
	if m.Chunks[1].Codec != CodecZstd || m.Chunks[1].Stored > m.Chunks[1].Size/2 {
		t.Errorf("compressible chunk: codec %s, %d bytes stored of %d", m.Chunks[1].Codec, m.Chunks[1].Stored, m.Chunks[1].Size)
	}
}

func TestWrongCardGetsNothing(t *testing.T) {
	fx := newFixture(t, []int{5000}, 1000)
	var refused []Event
	fx.srv.OnEvent = func(e Event) {
		if e.Kind == EventRefused {
			refused = append(refused, e)
		}
	}
	other, _ := icrypto.NewSecret()
	otherKeys, _ := icrypto.DeriveKeys(&other)
	c := fx.client(t)
	c.Keys = otherKeys
	_, err := c.Manifest(context.Background())
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("altered secret: got %v, want ErrUnauthorized", err)
	}
	if len(refused) != 1 {
		t.Fatalf("sender recorded %d refusals, want 1", len(refused))
	}
	// Nor can it fetch chunks without the manifest.
	err = c.Fetch(context.Background(), fx.packed.Manifest, []int{0}, func(int, []byte) error {
		t.Fatal("a chunk reached a peer without the card")
		return nil
	}, nil)
	if !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("fetch with altered secret: got %v, want ErrUnauthorized", err)
	}
}

// rawExchange sends frames on a fresh stream and returns every frame the
// sender answers with until it closes the stream.
func rawExchange(t *testing.T, open func(context.Context) (Stream, error), frames ...frame) []MsgType {
	t.Helper()
	st, err := open(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	w := bufio.NewWriter(st)
	for _, f := range frames {
		writeFrame(w, f.t, f.p)
	}
	w.Flush()
	st.CloseWrite()
	st.SetDeadline(time.Now().Add(10 * time.Second))
	var got []MsgType
	for {
		typ, _, err := readFrame(st, MaxResponseSize)
		if err != nil {
			return got
		}
		got = append(got, typ)
	}
}

func TestPeerWithoutProofGetsNothing(t *testing.T) {
	fx := newFixture(t, []int{5000}, 1000)
	open := listen(t, fx.srv, receiverID)
	hello := func(proof []byte) frame {
		return frame{MsgHello, append(append([]byte{}, fx.offer.ID[:]...), proof...)}
	}
	getAll := []frame{{MsgGetManifest, nil}, {MsgGetChunk, []byte{0, 0, 0, 0}}}
	goodProof := icrypto.Prove(fx.keys.Auth, fx.offer.ID[:], senderID, receiverID)
	for name, frames := range map[string][]frame{
		"no hello":         getAll,
		"zero proof":       append([]frame{hello(make([]byte, icrypto.ProofSize))}, getAll...),
		"short proof":      append([]frame{hello(goodProof[:10])}, getAll...),
		"other offer":      append([]frame{{MsgHello, append(make([]byte, 8), goodProof...)}}, getAll...),
		"proof for a peer": append([]frame{hello(icrypto.Prove(fx.keys.Auth, fx.offer.ID[:], senderID, "someone-else"))}, getAll...),
	} {
		got := rawExchange(t, open, frames...)
		if len(got) != 1 || got[0] != MsgError {
			t.Errorf("%s: sender answered %v, want one ERROR", name, got)
		}
	}
	// The good proof does get the manifest, so the cases above fail for
	// the reason they test.
	got := rawExchange(t, open, append([]frame{hello(goodProof)}, getAll...)...)
	if len(got) != 2 || got[0] != MsgManifest || got[1] != MsgChunk {
		t.Fatalf("valid proof: sender answered %v", got)
	}
}

// A proof made on one connection is refused on a connection from another
// peer: the sender binds it to the remote peer ID it authenticated.
func TestProofReplayedFromAnotherPeer(t *testing.T) {
	fx := newFixture(t, []int{5000}, 1000)
	c := fx.client(t)
	c.Open = listen(t, fx.srv, "mallory-peer") // the sender sees mallory
	if _, err := c.Manifest(context.Background()); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("replayed proof: got %v, want ErrUnauthorized", err)
	}
}

func TestManifestNotOnCardRefused(t *testing.T) {
	fx := newFixture(t, []int{5000}, 1000)
	fx.offer.ManifestHash[0] ^= 1
	if _, err := fx.client(t).Manifest(context.Background()); !errors.Is(err, ErrManifestMismatch) {
		t.Fatalf("got %v, want ErrManifestMismatch", err)
	}
}

func TestExpiredOfferRefused(t *testing.T) {
	fx := newFixture(t, []int{5000}, 1000)
	fx.srv.Now = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if _, err := fx.client(t).Manifest(context.Background()); !errors.Is(err, ErrExpired) {
		t.Fatalf("got %v, want ErrExpired", err)
	}
}

func TestTamperedChunkNeverWritten(t *testing.T) {
	fx := newFixture(t, []int{3000, 3000}, 1000)
	name := filepath.Join(fx.packed.Dir, DataFile)
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	e := fx.packed.Extents[4] // inside the second file
	b[e.Offset+e.Length/2] ^= 0x40
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	dir, err := receive(t, fx.client(t))
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("got %v, want ErrCorrupt", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "series-1", "IM0001.dcm")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("file with a tampered chunk is under its final name: %v", err)
	}
}

func TestPackNoticesChangedFile(t *testing.T) {
	files, _ := makeFiles(t, []int{5000})
	files[0].Size = 4000 // as if it grew after it was scanned
	secret, _ := icrypto.NewSecret()
	keys, _ := icrypto.DeriveKeys(&secret)
	dir := filepath.Join(t.TempDir(), "offer")
	_, err := Pack(context.Background(), files, PackOptions{Dir: dir, Recipient: keys.Recipient, Expires: time.Now().Add(time.Hour), ChunkSize: 1000})
	var ce *ChangedError
	if !errors.As(err, &ce) || ce.Path != files[0].Path {
		t.Fatalf("got %v, want ChangedError for %s", err, files[0].Path)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("half-packed offer folder left behind")
	}
}

func TestValidateManifest(t *testing.T) {
	fx := newFixture(t, []int{1500, 10}, 1000)
	id := fx.offer.ID
	good := fx.packed.Manifest
	if err := good.Validate(id); err != nil {
		t.Fatal(err)
	}
	for name, change := range map[string]func(m *Manifest){
		"parent":            func(m *Manifest) { m.Files[0].Path = "../escape.dcm" },
		"inner parent":      func(m *Manifest) { m.Files[0].Path = "a/../../escape.dcm" },
		"absolute":          func(m *Manifest) { m.Files[0].Path = "/etc/passwd" },
		"NUL":               func(m *Manifest) { m.Files[0].Path = "a\x00b" },
		"backslash":         func(m *Manifest) { m.Files[0].Path = "..\\escape" },
		"drive":             func(m *Manifest) { m.Files[0].Path = "C:escape" },
		"device":            func(m *Manifest) { m.Files[0].Path = "series/CON.dcm" },
		"device COM1":       func(m *Manifest) { m.Files[0].Path = "com1" },
		"empty":             func(m *Manifest) { m.Files[0].Path = "" },
		"dot":               func(m *Manifest) { m.Files[0].Path = "./a" },
		"trailing dot":      func(m *Manifest) { m.Files[0].Path = "a." },
		"staging":           func(m *Manifest) { m.Files[0].Path = ".imageshare/partial/1" },
		"duplicate":         func(m *Manifest) { m.Files[1].Path = m.Files[0].Path },
		"case duplicate":    func(m *Manifest) { m.Files[1].Path = strings.ToUpper(m.Files[0].Path) },
		"file and folder":   func(m *Manifest) { m.Files[1].Path = m.Files[0].Path + "/x" },
		"size lies":         func(m *Manifest) { m.Files[0].Size++ },
		"negative size":     func(m *Manifest) { m.Files[1].Size = -10 },
		"chunk size lies":   func(m *Manifest) { m.Chunks[0].Size-- },
		"chunk missing":     func(m *Manifest) { m.Chunks = m.Chunks[1:] },
		"huge chunk":        func(m *Manifest) { m.ChunkSize = MaxChunkSize + 1 },
		"stored too big":    func(m *Manifest) { m.Chunks[0].Stored = MaxSealedChunkSize + 1 },
		"missing hash":      func(m *Manifest) { m.Files[0].BLAKE3 = Hash{} },
		"unknown codec":     func(m *Manifest) { m.Chunks[0].Codec = "brotli" },
		"other offer":       func(m *Manifest) { m.OfferID = "0000000000000000" },
		"future version":    func(m *Manifest) { m.Version = 2 },
		"unknown file kind": func(m *Manifest) { m.Files[0].Kind = "script" },
	} {
		m := *good
		m.Files = append([]File{}, good.Files...)
		m.Chunks = append([]Chunk{}, good.Chunks...)
		change(&m)
		err := m.Validate(id)
		var me *ManifestError
		if !errors.As(err, &me) {
			t.Errorf("%s: got %v, want a ManifestError", name, err)
		}
	}
}

func TestFrameLimits(t *testing.T) {
	var buf bytes.Buffer
	hdr := []byte{byte(MsgGetChunk)}
	hdr = binary.BigEndian.AppendUint32(hdr, MaxRequestSize+1)
	buf.Write(hdr)
	_, _, err := readFrame(&buf, MaxRequestSize)
	var tl *FrameTooLargeError
	if !errors.As(err, &tl) || tl.Max != MaxRequestSize {
		t.Fatalf("got %v, want FrameTooLargeError", err)
	}
	if !strings.Contains(err.Error(), "exceeds maximum") {
		t.Fatalf("error %q does not say which cap", err)
	}
	// A frame cut short is an error, not a short payload.
	buf.Reset()
	writeFrame(&buf, MsgChunk, make([]byte, 100))
	short := bytes.NewReader(buf.Bytes()[:50])
	if _, _, err := readFrame(short, MaxResponseSize); err == nil {
		t.Fatal("truncated frame accepted")
	}
}

func TestRemoteErrorsMapToSentinels(t *testing.T) {
	for code, want := range codeErrors {
		err := decodeError(encodeError(code, "detail"))
		if !errors.Is(err, want) {
			t.Errorf("code %d: %v does not match %v", code, err, want)
		}
	}
	if e := decodeError(encodeError(CodeInternal, "a\x1b[2Jb")); strings.ContainsRune(e.Message, 0x1b) {
		t.Error("control characters from the sender reach the terminal")
	}
}

// An interrupted fetch resumes: chunks already on disk and matching their
// hash are reused, a damaged one is fetched again, and the rest arrives.
func TestResumeFetchesOnlyMissing(t *testing.T) {
	sizes := []int{2500, 0, 1200, 3100, 700}
	fx := newFixture(t, sizes, 1000)
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
	first := []int{0, 1, 2, 3, 5}
	if err := c.Fetch(ctx, m, first, st.Put, nil); err != nil {
		t.Fatal(err)
	}
	st.Close() // as if killed here

	// Damage chunk 5's bytes, which sit in file 3's partial file.
	part := filepath.Join(dir, stagingDir, "partial", "3")
	b, err := os.ReadFile(part)
	if err != nil {
		t.Fatal(err)
	}
	b[5*1000-3700+10] ^= 1
	os.WriteFile(part, b, 0o600)

	st, err = OpenStore(dir, m)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	reused, err := st.Resume()
	if err != nil {
		t.Fatal(err)
	}
	if reused != 4*1000 {
		t.Fatalf("reused %d bytes, want 4000 (chunks 0-3; chunk 5 was damaged)", reused)
	}
	need := st.Need()
	if fmt.Sprint(need) != fmt.Sprint([]int{4, 5, 6, 7}) {
		t.Fatalf("need %v, want [4 5 6 7]", need)
	}
	var fetched int64
	if err := c.Fetch(ctx, m, need, st.Put, func(n int64) { fetched += n }); err != nil {
		t.Fatal(err)
	}
	if err := st.Finish(); err != nil {
		t.Fatal(err)
	}
	checkReceived(t, dir, fx.data)
	var want int64
	for _, i := range need {
		want += m.Chunks[i].Stored
	}
	if fetched != want {
		t.Fatalf("fetched %d sealed bytes, want %d: only the missing chunks", fetched, want)
	}
}

func TestOrderCompletesSmallSeriesFirst(t *testing.T) {
	m := &Manifest{ChunkSize: 100, Studies: []study.Summary{{Series: []study.Series{{UID: "big", Number: 2}, {UID: "small", Number: 3}, {UID: "mid", Number: 4}}}}}
	add := func(series string, n int, size int64) {
		for range n {
			m.Files = append(m.Files, File{Series: series, Size: size, Kind: study.KindDICOM})
		}
	}
	add("big", 5, 100)                                                                    // bytes 0-500: chunks 0-4
	add("small", 1, 50)                                                                   // 500-550: chunk 5, shared with mid
	add("mid", 2, 75)                                                                     // 550-700: chunks 5-6
	m.Files = append(m.Files, File{Path: "report.pdf", Size: 30, Kind: study.KindReport}) // 700-730: chunk 7
	for range 8 {
		m.Chunks = append(m.Chunks, Chunk{Size: 100})
	}
	m.Chunks[7].Size = 30
	all := []int{0, 1, 2, 3, 4, 5, 6, 7}
	if got := fmt.Sprint(Order(m, all, nil)); got != "[7 5 6 0 1 2 3 4]" {
		t.Errorf("smallest first: %s, want the report, then small, mid, big", got)
	}
	if got := fmt.Sprint(Order(m, all, []string{"2"})); got != "[7 0 1 2 3 4 5 6]" {
		t.Errorf("series 2 asked first: %s", got)
	}
	if got := fmt.Sprint(Order(m, []int{4, 5}, nil)); got != "[5 4]" {
		t.Errorf("a resumed fetch: %s", got)
	}
}

// The sender writes the manifest's JSON a file at a time; a receiver, or a
// second implementation, reads it as the JSON of the Manifest type.
func TestManifestJSONIsMarshal(t *testing.T) {
	fx := newFixture(t, []int{1500, 10, 0}, 1000)
	packed := *fx.packed.Manifest
	withSite := packed
	withSite.Site = `St. Mary's <ED> & "Trauma"`
	empty := packed
	empty.Files, empty.Chunks, empty.Studies = []File{}, []Chunk{}, nil
	null := packed
	null.Files, null.Chunks = nil, nil
	for name, m := range map[string]*Manifest{"packed": &packed, "site": &withSite, "empty": &empty, "nil": &null} {
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		w := bufio.NewWriter(&got)
		if err := writeManifestJSON(w, m); err != nil {
			t.Fatal(err)
		}
		w.Flush()
		if !bytes.Equal(got.Bytes(), want) {
			t.Errorf("%s: written\n%s\nwant what json.Marshal writes\n%s", name, got.Bytes(), want)
		}
	}

	// And what is sealed opens as the manifest that was packed.
	m, err := OpenManifest(fx.packed.SealedManifest, fx.offer, fx.keys.Identity)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(m, fx.packed.Manifest) {
		t.Errorf("opened manifest differs from the one packed:\n%+v\n%+v", m, fx.packed.Manifest)
	}
}
