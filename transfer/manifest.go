package transfer

import (
	"bufio"
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unique"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	icrypto "imageshare/crypto"
	"imageshare/study"
)

// ManifestVersion is the version of the manifest's JSON.
const ManifestVersion = 1

// Limits a receiver applies to a manifest.
const (
	MaxFiles        = 200_000
	MaxPathLength   = 1024
	maxManifestJSON = 128 << 20
)

// Codecs of a chunk's sealed plaintext.
const (
	CodecZstd = "zstd"
	CodecNone = "none"
)

// Manifest lists what an offer holds. It travels sealed; only a card holder
// can read it.
type Manifest struct {
	Version   int             `json:"version"`
	OfferID   string          `json:"offer_id"`
	Created   time.Time       `json:"created"`
	Expires   time.Time       `json:"expires"`
	Site      string          `json:"site,omitempty"`
	Studies   []study.Summary `json:"studies"`
	Files     []File          `json:"files"`
	ChunkSize int64           `json:"chunk_size"`
	Chunks    []Chunk         `json:"chunks"`
}

// File is one file of the offer. Files are laid end to end, in manifest
// order, into one stream of bytes that is cut into chunks.
type File struct {
	Path     string     `json:"path"`
	Size     int64      `json:"size"`
	BLAKE3   Hash       `json:"blake3"`
	Kind     study.Kind `json:"kind"`
	StudyUID string     `json:"study_uid,omitempty"`
	Series   string     `json:"series_uid,omitempty"`
	SOP      string     `json:"sop_instance_uid,omitempty"`
}

// Chunk is one piece of the stream: Size bytes of plaintext, compressed with
// Codec, sealed with age into Stored bytes.
type Chunk struct {
	Size         int64  `json:"size"`
	BLAKE3       Hash   `json:"blake3"`
	Codec        string `json:"codec"`
	Stored       int64  `json:"stored"`
	StoredBLAKE3 Hash   `json:"stored_blake3"`
}

// TotalSize is the sum of the files' sizes.
func (m *Manifest) TotalSize() int64 {
	var n int64
	for _, f := range m.Files {
		n += f.Size
	}
	return n
}

// StoredSize is the number of bytes a receiver fetches.
func (m *Manifest) StoredSize() int64 {
	var n int64
	for _, c := range m.Chunks {
		n += c.Stored
	}
	return n
}

// Report returns the report file, if the offer has one.
func (m *Manifest) Report() (File, bool) {
	for _, f := range m.Files {
		if f.Kind == study.KindReport {
			return f, true
		}
	}
	return File{}, false
}

// ManifestError says what is wrong with a manifest.
type ManifestError struct {
	Field string
	Err   error
}

func (e *ManifestError) Error() string {
	return fmt.Sprintf("invalid manifest: %s: %v", e.Field, e.Err)
}
func (e *ManifestError) Unwrap() error { return e.Err }

func invalid(field string, format string, args ...any) error {
	return &ManifestError{Field: field, Err: fmt.Errorf(format, args...)}
}

// Validate checks everything a receiver relies on before it writes a byte:
// names that stay inside the study folder, sizes that add up, hashes that
// are hashes. It is the only gate between a sender's manifest and the
// receiver's disk.
func (m *Manifest) Validate(offer OfferID) error {
	if m.Version != ManifestVersion {
		return invalid("version", "%d, this receiver reads %d", m.Version, ManifestVersion)
	}
	if m.OfferID != offer.String() {
		return invalid("offer_id", "manifest is for another offer")
	}
	if m.ChunkSize <= 0 || m.ChunkSize > MaxChunkSize {
		return invalid("chunk_size", "%d is outside 1..%d", m.ChunkSize, MaxChunkSize)
	}
	if len(m.Studies) == 0 {
		// The summary staff confirm, and the audit record, are the
		// studies': an offer without one shows nothing.
		return invalid("studies", "no study")
	}
	if len(m.Files) == 0 {
		return invalid("files", "no files")
	}
	if len(m.Files) > MaxFiles {
		return invalid("files", "%d files, more than %d", len(m.Files), MaxFiles)
	}
	seen := make(map[string]string, len(m.Files))
	folded := make([]string, len(m.Files))
	var total int64
	for i, f := range m.Files {
		field := fmt.Sprintf("files[%d]", i)
		if err := validPath(f.Path); err != nil {
			return &ManifestError{Field: field + ".path", Err: err}
		}
		// Two names that a case-insensitive or normalizing file system
		// would merge are refused too: the trauma center's PACS import
		// may run on one.
		key := study.FoldName(f.Path)
		if prev, dup := seen[key]; dup {
			return invalid(field+".path", "%q duplicates %q", f.Path, prev)
		}
		seen[key] = f.Path
		folded[i] = key
		if f.Size < 0 || f.Size > 1<<40 {
			return invalid(field+".size", "%d is not a file size", f.Size)
		}
		if f.BLAKE3.IsZero() {
			return invalid(field+".blake3", "missing")
		}
		if f.Kind != study.KindDICOM && f.Kind != study.KindReport {
			return invalid(field+".kind", "unknown kind %q", f.Kind)
		}
		total += f.Size
	}
	if err := noFileIsAFolder(m.Files, folded); err != nil {
		return err
	}
	want := (total + m.ChunkSize - 1) / m.ChunkSize
	if int64(len(m.Chunks)) != want {
		return invalid("chunks", "%d chunks for %d bytes in chunks of %d, want %d", len(m.Chunks), total, m.ChunkSize, want)
	}
	for i, c := range m.Chunks {
		field := fmt.Sprintf("chunks[%d]", i)
		size := m.ChunkSize
		if i == len(m.Chunks)-1 {
			size = total - int64(i)*m.ChunkSize
		}
		if c.Size != size {
			return invalid(field+".size", "%d, want %d", c.Size, size)
		}
		if c.Stored <= 0 || c.Stored > MaxSealedChunkSize {
			return invalid(field+".stored", "%d is outside 1..%d", c.Stored, MaxSealedChunkSize)
		}
		if c.Codec != CodecZstd && c.Codec != CodecNone {
			return invalid(field+".codec", "unknown codec %q", c.Codec)
		}
		if c.BLAKE3.IsZero() || c.StoredBLAKE3.IsZero() {
			return invalid(field, "missing BLAKE3 hash")
		}
	}
	return nil
}

// noFileIsAFolder checks that no folder a file needs is itself a file.
// folded holds the files' names as study.FoldName folds them. The names
// are sorted with "/" before every other character: the names under a
// file's name, taken as a folder, then come right after it. Sorting costs
// n log n comparisons and no more memory than the order; walking up each
// name with path.Dir cost files × depth × length (20,000 files 505 folders
// deep took a minute), and a set of every folder would hold files × depth
// entries.
func noFileIsAFolder(files []File, folded []string) error {
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return compareSlashFirst(folded[a], folded[b]) })
	for j := 0; j+1 < len(order); j++ {
		name, next := folded[order[j]], folded[order[j+1]]
		if len(next) > len(name) && next[len(name)] == '/' && strings.HasPrefix(next, name) {
			return invalid("files", "%q is both a file and the folder of %q", files[order[j]].Path, files[order[j+1]].Path)
		}
	}
	return nil
}

// compareSlashFirst orders names byte by byte, with "/" before every other
// byte: "a" < "a/b" < "a.b".
func compareSlashFirst(a, b string) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	switch {
	case i == n:
		return cmp.Compare(len(a), len(b))
	case a[i] == '/':
		return -1
	case b[i] == '/':
		return 1
	}
	return cmp.Compare(a[i], b[i])
}

// validPath accepts a name that study.CheckName accepts (one that Linux,
// macOS and Windows all create as it is) and that is not the staging
// folder.
func validPath(p string) error {
	if err := study.CheckName(p); err != nil {
		return err
	}
	for el := range strings.SplitSeq(p, "/") {
		if study.FoldName(el) == stagingDir {
			return fmt.Errorf("%q uses the reserved name %s", p, stagingDir)
		}
	}
	return nil
}

// sealManifest encodes m as JSON, compresses it and seals it to r, as it
// goes: a study of 8,000 files has a manifest of some megabytes of JSON,
// and the sender never holds more of it than one file's entry and the
// compressed, sealed result.
func sealManifest(m *Manifest, r age.Recipient) ([]byte, error) {
	var sealed bytes.Buffer
	aw, err := icrypto.SealTo(&sealed, r)
	if err != nil {
		return nil, fmt.Errorf("sealing manifest: %w", err)
	}
	// A window of 1 MiB finds what repeats in a manifest (UID prefixes,
	// keys), which is all within a few entries, with little memory.
	zw, err := zstd.NewWriter(aw, zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(false),
		zstd.WithEncoderConcurrency(1), zstd.WithWindowSize(1<<20))
	if err != nil {
		return nil, fmt.Errorf("sealing manifest: %w", err)
	}
	bw := bufio.NewWriterSize(zw, 64<<10)
	err = writeManifestJSON(bw, m)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	if cerr := aw.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("encoding manifest: %w", err)
	}
	if sealed.Len() > MaxManifestSize {
		return nil, fmt.Errorf("manifest is %d bytes sealed, more than %d: split the study", sealed.Len(), MaxManifestSize)
	}
	return sealed.Bytes(), nil
}

// writeManifestJSON writes what json.Marshal(m) would, one file and one
// chunk at a time. TestManifestJSONIsMarshal holds it to that.
func writeManifestJSON(w *bufio.Writer, m *Manifest) error {
	field := func(sep, name string, v any) error {
		js, err := json.Marshal(v)
		if err != nil {
			return err
		}
		w.WriteString(sep + `"` + name + `":`)
		_, err = w.Write(js)
		return err
	}
	// array writes a slice as json.Marshal does: null when it is nil.
	array := func(name string, null bool, n int, elem func(i int) any) error {
		w.WriteString(`,"` + name + `":`)
		if null {
			_, err := w.WriteString("null")
			return err
		}
		w.WriteByte('[')
		for i := range n {
			if i > 0 {
				w.WriteByte(',')
			}
			js, err := json.Marshal(elem(i))
			if err != nil {
				return err
			}
			w.Write(js)
		}
		_, err := w.WriteString("]")
		return err
	}
	err := field("{", "version", m.Version)
	for _, f := range []struct {
		name string
		v    any
		omit bool
	}{
		{"offer_id", m.OfferID, false},
		{"created", m.Created, false},
		{"expires", m.Expires, false},
		{"site", m.Site, m.Site == ""},
		{"studies", m.Studies, false},
	} {
		if err == nil && !f.omit {
			err = field(",", f.name, f.v)
		}
	}
	if err == nil {
		err = array("files", m.Files == nil, len(m.Files), func(i int) any { return &m.Files[i] })
	}
	if err == nil {
		err = field(",", "chunk_size", m.ChunkSize)
	}
	if err == nil {
		err = array("chunks", m.Chunks == nil, len(m.Chunks), func(i int) any { return &m.Chunks[i] })
	}
	if err == nil {
		_, err = w.WriteString("}")
	}
	return err
}

// ManifestHash is what the card carries to commit to the sealed manifest.
func ManifestHash(sealed []byte) [ManifestHashSize]byte {
	sum := sha256.Sum256(sealed)
	var h [ManifestHashSize]byte
	copy(h[:], sum[:])
	return h
}

// OpenManifest checks a sealed manifest against the card, decrypts it and
// validates it.
func OpenManifest(sealed []byte, offer OfferRef, id age.Identity) (*Manifest, error) {
	if ManifestHash(sealed) != offer.ManifestHash {
		return nil, ErrManifestMismatch
	}
	z, err := icrypto.Open(id, sealed, MaxManifestSize)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCannotDecrypt, err)
	}
	js, err := decompressLimited(z, maxManifestJSON)
	if err != nil {
		return nil, &ManifestError{Field: "encoding", Err: err}
	}
	return decodeManifest(js, offer.ID)
}

func decodeManifest(js []byte, offer OfferID) (*Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(js, &m); err != nil {
		return nil, &ManifestError{Field: "json", Err: err}
	}
	if err := m.Validate(offer); err != nil {
		return nil, err
	}
	m.intern()
	return &m, nil
}

// intern makes the values that files and chunks share one copy each: a
// receiver holds the manifest for the whole transfer, and it should grow
// by what differs from file to file, not by a copy of the study's and the
// series' UIDs in each.
func (m *Manifest) intern() {
	for i := range m.Files {
		f := &m.Files[i]
		f.Kind = study.Kind(unique.Make(string(f.Kind)).Value())
		f.StudyUID = unique.Make(f.StudyUID).Value()
		f.Series = unique.Make(f.Series).Value()
	}
	for i := range m.Chunks {
		m.Chunks[i].Codec = unique.Make(m.Chunks[i].Codec).Value()
	}
}

// Errors opening a manifest.
var (
	ErrManifestMismatch = errors.New("the sender served a manifest that is not the one on the card")
	ErrCannotDecrypt    = errors.New("the card's key does not open this study")
)

// decompressLimited decompresses a zstd stream of at most limit bytes,
// with the decoder's memory capped too: the input is untrusted.
func decompressLimited(z []byte, limit int64) ([]byte, error) {
	d, err := zstd.NewReader(bytes.NewReader(z), zstd.WithDecoderMaxMemory(uint64(limit)), zstd.WithDecoderConcurrency(1))
	if err != nil {
		return nil, err
	}
	defer d.Close()
	out, err := io.ReadAll(io.LimitReader(d, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("decompresses to more than %d bytes", limit)
	}
	return out, nil
}
