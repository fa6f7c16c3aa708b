package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
)

// FuzzIdentityFile feeds readIdentity any file content: it must refuse
// what is not an Ed25519 key, with an identityError, and never panic.
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
	f.Add(make([]byte, maxIdentitySize+1))
	f.Fuzz(func(t *testing.T, b []byte) {
		name := filepath.Join(t.TempDir(), "relay.key")
		if err := os.WriteFile(name, b, 0o600); err != nil {
			t.Fatal(err)
		}
		k, err := readIdentity(name)
		if err != nil {
			if _, ok := err.(*identityError); !ok {
				t.Fatalf("error %v is not an identityError", err)
			}
			return
		}
		if k.Type() != cryptopb.KeyType_Ed25519 {
			t.Fatalf("accepted a %v key", k.Type())
		}
	})
}
