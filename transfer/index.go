package transfer

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"imageshare/internal/atomicfile"
)

// IndexFile is the name of an offer's chunk index in its folder, beside
// DataFile and ManifestFile. The sender needs it to serve: where each
// sealed chunk lies in DataFile, and the BLAKE3 of its sealed bytes (the
// manifest holds them too, but sealed, and the sender cannot open it).
//
// Its format (big-endian), chunks lying end to end in DataFile from offset
// 0, in index order:
//
//	magic      "imgsidx1"  8 bytes
//	offer_id   8 bytes
//	count      u32
//	count × {  stored_length u32   stored_blake3 [32] }
const IndexFile = "chunks.idx"

const (
	indexMagic     = "imgsidx1"
	indexHeaderLen = len(indexMagic) + len(OfferID{}) + 4
	indexEntryLen  = 4 + HashSize
	// maxIndexChunks bounds the index read from disk: the manifest
	// cannot list more chunks than fit in MaxManifestSize.
	maxIndexChunks = MaxManifestSize / 64
)

// ErrNoIndex is returned by OpenOffer for an offer folder without an
// index: one packed before the index was written beside the chunks (see
// WriteIndex), or one whose ciphertext was deleted.
var ErrNoIndex = errors.New("the offer has no chunk index")

// WriteIndex writes the chunk index of offer id in dir: the extents of
// its sealed chunks in DataFile, which must lie end to end from offset 0,
// and the BLAKE3 of each. Pack writes it; a spool writes it for an offer
// packed before Pack did.
func WriteIndex(dir string, id OfferID, extents []Extent, stored []Hash) error {
	if len(extents) != len(stored) {
		return fmt.Errorf("chunk index: %d extents but %d hashes", len(extents), len(stored))
	}
	if len(extents) > maxIndexChunks {
		return fmt.Errorf("chunk index: %d chunks, more than %d", len(extents), maxIndexChunks)
	}
	b := make([]byte, 0, indexHeaderLen+len(extents)*indexEntryLen)
	b = append(b, indexMagic...)
	b = append(b, id[:]...)
	b = binary.BigEndian.AppendUint32(b, uint32(len(extents)))
	var offset int64
	for i, e := range extents {
		if e.Offset != offset || e.Length < 1 || e.Length > MaxSealedChunkSize {
			return fmt.Errorf("chunk index: chunk %d at %d, %d bytes: chunks must lie end to end, each of 1..%d bytes", i, e.Offset, e.Length, MaxSealedChunkSize)
		}
		offset += e.Length
		b = binary.BigEndian.AppendUint32(b, uint32(e.Length))
		b = append(b, stored[i][:]...)
	}
	return atomicfile.Write(filepath.Join(dir, IndexFile), b, 0o600)
}

// readIndex reads and checks the chunk index in dir.
func readIndex(dir string) (id OfferID, extents []Extent, stored []Hash, err error) {
	b, err := os.ReadFile(filepath.Join(dir, IndexFile))
	if errors.Is(err, fs.ErrNotExist) {
		return id, nil, nil, fmt.Errorf("%w: %s", ErrNoIndex, dir)
	}
	if err != nil {
		return id, nil, nil, err
	}
	if len(b) < indexHeaderLen || !bytes.Equal(b[:len(indexMagic)], []byte(indexMagic)) {
		return id, nil, nil, fmt.Errorf("%s is not a chunk index", IndexFile)
	}
	copy(id[:], b[len(indexMagic):])
	n := binary.BigEndian.Uint32(b[indexHeaderLen-4:])
	if n > maxIndexChunks || len(b) != indexHeaderLen+int(n)*indexEntryLen {
		return id, nil, nil, fmt.Errorf("%s: %d bytes for %d chunks: damaged", IndexFile, len(b), n)
	}
	extents, stored = make([]Extent, n), make([]Hash, n)
	var offset int64
	for i, e := 0, b[indexHeaderLen:]; i < int(n); i, e = i+1, e[indexEntryLen:] {
		l := int64(binary.BigEndian.Uint32(e))
		if l < 1 || l > MaxSealedChunkSize {
			return id, nil, nil, fmt.Errorf("%s: chunk %d of %d bytes: damaged", IndexFile, i, l)
		}
		extents[i] = Extent{Offset: offset, Length: l}
		copy(stored[i][:], e[4:indexEntryLen])
		offset += l
	}
	return id, extents, stored, nil
}

// OpenOffer opens the offer packed in dir, to serve it: its sealed
// manifest, its chunk index and its data file, checked against each other
// as far as a sender can without the card. The caller sets what the offer's
// life decides (Verifier, Expires, Check, Locked, Files and Bytes) and
// closes it when it stops serving it. A folder without its index gives an
// error that wraps ErrNoIndex.
func OpenOffer(dir string) (_ *Offer, err error) {
	id, extents, stored, err := readIndex(dir)
	if err != nil {
		return nil, err
	}
	sm, err := readManifestFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, err
	}
	data, err := os.Open(filepath.Join(dir, DataFile))
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			data.Close()
		}
	}()
	st, err := data.Stat()
	if err != nil {
		return nil, err
	}
	var size int64
	if n := len(extents); n > 0 {
		size = extents[n-1].Offset + extents[n-1].Length
	}
	if st.Size() != size {
		return nil, fmt.Errorf("%s holds %d bytes, its index %d: damaged", DataFile, st.Size(), size)
	}
	return &Offer{ID: id, SealedManifest: sm, Extents: extents, StoredHash: stored, Data: data}, nil
}

// readManifestFile reads a sealed manifest of at most MaxManifestSize
// bytes.
func readManifestFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxManifestSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxManifestSize {
		return nil, fmt.Errorf("%s is more than %d bytes", name, MaxManifestSize)
	}
	return b, nil
}

// RemoveData deletes what OpenOffer reads in dir (the sealed chunks, the
// manifest and the index), leaving any other file there: an ended offer's
// ciphertext goes, and a spool's record of it stays.
func RemoveData(dir string) error {
	var errs []error
	for _, f := range []string{DataFile, ManifestFile, IndexFile} {
		if err := os.Remove(filepath.Join(dir, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
