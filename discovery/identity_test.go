package discovery

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
)

// FuzzIdentityFile feeds ReadIdentity any file content: it must refuse
// what is not an Ed25519 key, with an IdentityError, and never panic.
func FuzzIdentityFile(f *testing.F) {
	ed, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		f.Fatal(err)
	}
	secp, _, err := crypto.GenerateSecp256k1Key(nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, k := range []crypto.PrivKey{ed, secp} {
		b, err := crypto.MarshalPrivateKey(k)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)-1])
	}
	f.Add([]byte{})
	f.Add([]byte("this is not a key\n"))
	f.Add(make([]byte, MaxIdentitySize+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		name := filepath.Join(t.TempDir(), "relay.key")
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
		k, err := ReadIdentity(name)
		if err != nil {
			if _, ok := err.(*IdentityError); !ok {
				t.Fatalf("error %v is not an IdentityError", err)
			}
			return
		}
		if k.Type() != cryptopb.KeyType_Ed25519 {
			t.Fatalf("accepted a %v key", k.Type())
		}
	})
}

// TestLoadIdentity: the first load makes a 0600 key in a new folder, later
// loads return the same key, and loads racing to make it agree on one.
func TestLoadIdentity(t *testing.T) {
	name := filepath.Join(t.TempDir(), "state", "host.key")
	k1, created, err := LoadIdentity(name)
	if err != nil || !created {
		t.Fatalf("first load: created %v, %v", created, err)
	}
	if k1.Type() != cryptopb.KeyType_Ed25519 {
		t.Errorf("made a %v key", k1.Type())
	}
	if st, err := os.Stat(name); err != nil {
		t.Fatal(err)
	} else if runtime.GOOS != "windows" && st.Mode().Perm() != 0o600 {
		t.Errorf("new identity has mode %04o, want 0600", st.Mode().Perm())
	}
	k2, created, err := LoadIdentity(name)
	if err != nil || created {
		t.Fatalf("second load: created %v, %v", created, err)
	}
	if !k1.Equals(k2) {
		t.Error("second load returned another key")
	}

	race := filepath.Join(t.TempDir(), "host.key")
	keys := make([]crypto.PrivKey, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, _, err := LoadIdentity(race)
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for _, k := range keys[1:] {
		if k == nil || !k.Equals(keys[0]) {
			t.Fatal("racing loads returned different keys")
		}
	}
}

// TestLoadIdentityReadableByOthers: a key others can read is refused, not
// replaced, with a hint.
func TestLoadIdentityReadableByOthers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no permission bits")
	}
	name := filepath.Join(t.TempDir(), "host.key")
	if _, _, err := LoadIdentity(name); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(name, 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, err := LoadIdentity(name)
	var ie *IdentityError
	if !errors.As(err, &ie) || ie.Hint == "" {
		t.Fatalf("got %v, want an IdentityError with a hint", err)
	}
}
