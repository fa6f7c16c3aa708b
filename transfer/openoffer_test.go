package transfer

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// An offer opened from its folder serves what Pack made: the receiver gets
// every file intact, and the index names every chunk where Pack put it.
func TestOpenOfferServesWhatPackMade(t *testing.T) {
	const cs = 1000
	fx := newFixture(t, []int{2*cs + 500, 0, cs/2 + 1, cs}, cs)
	o, err := OpenOffer(fx.packed.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	if o.ID != fx.offer.ID {
		t.Errorf("opened offer %s, packed %s", o.ID, fx.offer.ID)
	}
	if !reflect.DeepEqual(o.Extents, fx.packed.Extents) {
		t.Errorf("index extents %v, packed %v", o.Extents, fx.packed.Extents)
	}
	for i, c := range fx.packed.Manifest.Chunks {
		if o.StoredHash[i] != c.StoredBLAKE3 {
			t.Errorf("chunk %d: index hash %s, manifest %s", i, o.StoredHash[i], c.StoredBLAKE3)
		}
	}
	if !bytes.Equal(o.SealedManifest, fx.packed.SealedManifest) || ManifestHash(o.SealedManifest) != fx.packed.ManifestHash {
		t.Error("the opened sealed manifest is not the packed one")
	}
	o.Verifier, o.Expires = fx.keys.Verifier, fx.packed.Manifest.Expires
	fx.srv = &Server{}
	fx.srv.Add(o)
	dir, err := receive(t, fx.client(t))
	if err != nil {
		t.Fatal(err)
	}
	checkReceived(t, dir, fx.data)
}

// A chunk damaged on the sender's disk is caught by the index's hash
// before it is sent.
func TestOpenOfferRefusesDamagedChunk(t *testing.T) {
	fx := newFixture(t, []int{3000}, 1000)
	name := filepath.Join(fx.packed.Dir, DataFile)
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	b[fx.packed.Extents[1].Offset+10] ^= 1
	if err := os.WriteFile(name, b, 0o600); err != nil {
		t.Fatal(err)
	}
	o, err := OpenOffer(fx.packed.Dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	o.Verifier, o.Expires = fx.keys.Verifier, fx.packed.Manifest.Expires
	damaged := 0
	fx.srv = &Server{OnEvent: func(e Event) {
		if e.Kind == EventDamaged {
			damaged++
		}
	}}
	fx.srv.Add(o)
	if _, err := receive(t, fx.client(t)); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("fetch of a damaged offer: %v, want ErrUnavailable", err)
	}
	if damaged == 0 {
		t.Error("no EventDamaged")
	}
}

// OpenOffer refuses a folder whose parts do not agree, and says which.
func TestOpenOfferRefusesInconsistentFolder(t *testing.T) {
	for name, spoil := range map[string]func(t *testing.T, dir string){
		"no index": func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, IndexFile)) },
		"data cut short": func(t *testing.T, dir string) {
			if err := os.Truncate(filepath.Join(dir, DataFile), 2000); err != nil {
				t.Fatal(err)
			}
		},
		"index cut short": func(t *testing.T, dir string) {
			b, _ := os.ReadFile(filepath.Join(dir, IndexFile))
			os.WriteFile(filepath.Join(dir, IndexFile), b[:len(b)-1], 0o600)
		},
		"not an index": func(t *testing.T, dir string) {
			os.WriteFile(filepath.Join(dir, IndexFile), []byte("{}"), 0o600)
		},
		"no manifest": func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, ManifestFile)) },
		"no data":     func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, DataFile)) },
	} {
		t.Run(name, func(t *testing.T) {
			fx := newFixture(t, []int{3000}, 1000)
			spoil(t, fx.packed.Dir)
			o, err := OpenOffer(fx.packed.Dir)
			if err == nil {
				o.Close()
				t.Fatal("opened")
			}
			if (name == "no index") != errors.Is(err, ErrNoIndex) {
				t.Errorf("error %v: ErrNoIndex is %v", err, errors.Is(err, ErrNoIndex))
			}
		})
	}
}

// WriteIndex writes what OpenOffer reads, for offers packed before Pack
// wrote the index, and refuses extents that do not lie end to end.
func TestWriteIndex(t *testing.T) {
	fx := newFixture(t, []int{2500, 700}, 1000)
	stored := make([]Hash, len(fx.packed.Manifest.Chunks))
	for i, c := range fx.packed.Manifest.Chunks {
		stored[i] = c.StoredBLAKE3
	}
	if err := os.Remove(filepath.Join(fx.packed.Dir, IndexFile)); err != nil {
		t.Fatal(err)
	}
	if err := WriteIndex(fx.packed.Dir, fx.offer.ID, fx.packed.Extents, stored); err != nil {
		t.Fatal(err)
	}
	o, err := OpenOffer(fx.packed.Dir)
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	if !reflect.DeepEqual(o.Extents, fx.packed.Extents) || o.ID != fx.offer.ID {
		t.Errorf("index read back as %v for %s", o.Extents, o.ID)
	}
	if !reflect.DeepEqual(o.StoredHash, stored) {
		t.Error("index hashes differ from the manifest's")
	}
	gap := append([]Extent(nil), fx.packed.Extents...)
	gap[1].Offset++
	if err := WriteIndex(t.TempDir(), fx.offer.ID, gap, stored[:len(gap)]); err == nil || !strings.Contains(err.Error(), "end to end") {
		t.Errorf("extents with a gap: %v", err)
	}
	if err := WriteIndex(t.TempDir(), fx.offer.ID, gap, nil); err == nil {
		t.Error("extents without hashes accepted")
	}
}

// RemoveData deletes the offer's ciphertext and index, and nothing else.
func TestRemoveData(t *testing.T) {
	fx := newFixture(t, []int{2500}, 1000)
	keep := filepath.Join(fx.packed.Dir, "offer.json")
	if err := os.WriteFile(keep, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := RemoveData(fx.packed.Dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{DataFile, ManifestFile, IndexFile} {
		if _, err := os.Stat(filepath.Join(fx.packed.Dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left: %v", f, err)
		}
	}
	if _, err := os.Stat(keep); err != nil {
		t.Errorf("RemoveData removed another file: %v", err)
	}
	if err := RemoveData(fx.packed.Dir); err != nil {
		t.Errorf("a second RemoveData: %v", err)
	}
}
