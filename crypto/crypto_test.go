package crypto

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/crypto/curve25519"
)

func mustSecret(t *testing.T) *Secret {
	t.Helper()
	s, err := NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestDeriveKeysDeterministicAndSeparate(t *testing.T) {
	s := mustSecret(t)
	a, err := DeriveKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := DeriveKeys(s)
	if err != nil {
		t.Fatal(err)
	}
	if a.Identity.String() != b.Identity.String() || !a.Verifier.Equal(b.Verifier) {
		t.Fatal("same secret derived different keys")
	}
	other, err := DeriveKeys(mustSecret(t))
	if err != nil {
		t.Fatal(err)
	}
	if a.Identity.String() == other.Identity.String() || a.Verifier.Equal(other.Verifier) {
		t.Fatal("different secrets derived the same keys")
	}
	// The age key and the auth seed come from different labels.
	if bytes.Equal(a.Auth.Seed(), []byte(a.Identity.String())) {
		t.Fatal("auth seed equals age key")
	}
}

// The age identity must be the X25519 key of the HKDF output, as the
// protocol document says, so that a second implementation derives the same.
func TestDeriveKeysMatchesDocumentedDerivation(t *testing.T) {
	var s Secret
	for i := range s {
		s[i] = byte(i)
	}
	k, err := DeriveKeys(&s)
	if err != nil {
		t.Fatal(err)
	}
	scalar := hkdfForTest(t, s[:], labelAge)
	pub, err := curve25519.X25519(scalar, curve25519.Basepoint)
	if err != nil {
		t.Fatal(err)
	}
	want, err := bech32Encode("age", pub)
	if err != nil {
		t.Fatal(err)
	}
	if got := k.Recipient.String(); got != want {
		t.Fatalf("recipient = %s, want %s", got, want)
	}
	// The vector in docs/PROTOCOL.md: secret 00 01 02 … 1f.
	const (
		wantRecipient = "age1ck8m7fum34eyhkhl5v07r6hyz4s2kh4y0cfcakzkh2he8qzk24gs3dgwzr"
		wantVerifier  = "f314abd4d92f1d01601464aeec5c8af57b9c15404fd6c4bd72146020c3e62789"
	)
	if k.Recipient.String() != wantRecipient || hex.EncodeToString(k.Verifier) != wantVerifier {
		t.Fatalf("test vector changed: recipient %s verifier %x", k.Recipient, k.Verifier)
	}
}

func TestBech32KnownVector(t *testing.T) {
	// BIP 173 valid test vector "a12uel5l": hrp "a", empty data.
	got, err := bech32Encode("a", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got != "a12uel5l" {
		t.Fatalf("got %s, want a12uel5l", got)
	}
	if _, err := bech32Encode("Ab", nil); err == nil {
		t.Fatal("mixed case hrp accepted")
	}
}

func TestProof(t *testing.T) {
	k, err := DeriveKeys(mustSecret(t))
	if err != nil {
		t.Fatal(err)
	}
	offer := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	sender, receiver := "sender-peer-id", "receiver-peer-id"
	p := Prove(k.Auth, offer, sender, receiver)
	if !VerifyProof(k.Verifier, offer, sender, receiver, p) {
		t.Fatal("valid proof refused")
	}
	other, _ := DeriveKeys(mustSecret(t))
	for name, ok := range map[string]bool{
		"other offer":          VerifyProof(k.Verifier, []byte{1, 2, 3, 4, 5, 6, 7, 9}, sender, receiver, p),
		"replayed by a third":  VerifyProof(k.Verifier, offer, sender, "mallory", p),
		"to another sender":    VerifyProof(k.Verifier, offer, "other-sender", receiver, p),
		"peer IDs swapped":     VerifyProof(k.Verifier, offer, receiver, sender, p),
		"other card's key":     VerifyProof(k.Verifier, offer, sender, receiver, Prove(other.Auth, offer, sender, receiver)),
		"truncated":            VerifyProof(k.Verifier, offer, sender, receiver, p[:ProofSize-1]),
		"empty":                VerifyProof(k.Verifier, offer, sender, receiver, nil),
		"no verifier":          VerifyProof(nil, offer, sender, receiver, p),
		"ambiguous boundaries": VerifyProof(k.Verifier, offer, sender+"r", "eceiver-peer-id", p),
	} {
		if ok {
			t.Errorf("%s: proof accepted", name)
		}
	}
}

func TestSealOpen(t *testing.T) {
	k, err := DeriveKeys(mustSecret(t))
	if err != nil {
		t.Fatal(err)
	}
	// Open, and OpenInto with a buffer whose capacity is the limit, must
	// agree.
	opens := map[string]func(sealed []byte, limit int) ([]byte, error){
		"Open": func(sealed []byte, limit int) ([]byte, error) { return Open(k.Identity, sealed, int64(limit)) },
		"OpenInto": func(sealed []byte, limit int) ([]byte, error) {
			return OpenInto(k.Identity, sealed, make([]byte, min(3, limit), limit)) // len is ignored
		},
	}
	const chunk = 64 << 10
	for name, open := range opens {
		for _, n := range []int{0, 1, chunk - 1, chunk, chunk + 1, 3*chunk + 7} {
			plain := make([]byte, n)
			rand.Read(plain)
			sealed, err := Seal(k.Recipient, plain)
			if err != nil {
				t.Fatal(err)
			}
			for _, limit := range []int{n, n + 1, 2*n + 100} {
				got, err := open(sealed, limit)
				if err != nil {
					t.Fatalf("%s n=%d limit=%d: %v", name, n, limit, err)
				}
				if !bytes.Equal(got, plain) {
					t.Fatalf("%s n=%d limit=%d: round trip changed the data", name, n, limit)
				}
			}
			if n > 0 {
				if _, err := open(sealed, n-1); !errors.Is(err, ErrTooLarge) {
					t.Fatalf("%s n=%d: limit n-1 gave %v, want ErrTooLarge", name, n, err)
				}
			}
			tampered := bytes.Clone(sealed)
			tampered[len(tampered)-1] ^= 1
			if _, err := open(tampered, n); err == nil {
				t.Fatalf("%s n=%d: tampered ciphertext opened", name, n)
			}
		}
	}
	other, _ := DeriveKeys(mustSecret(t))
	sealed, _ := Seal(k.Recipient, []byte("study"))
	if _, err := Open(other.Identity, sealed, 100); err == nil {
		t.Fatal("another card's key opened the study")
	}
	if _, err := OpenInto(other.Identity, sealed, make([]byte, 100)); err == nil {
		t.Fatal("another card's key opened the study into a buffer")
	}
}

func TestSecretNeverFormats(t *testing.T) {
	s := *mustSecret(t)
	raw := hex.EncodeToString(s[:])
	wrapped := struct{ Key Secret }{s}
	for _, out := range []string{
		fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s %q %x %X %d", s, s, s, s, s, s, s, s),
		fmt.Sprintf("%v %+v %#v", wrapped, wrapped, &wrapped),
		fmt.Errorf("wrapping: %v", s).Error(),
	} {
		if strings.Contains(strings.ToLower(out), raw[:16]) || !strings.Contains(out, "[secret]") {
			t.Errorf("secret formatted as %q", out)
		}
	}
	if _, err := s.MarshalText(); err == nil {
		t.Error("secret marshalled to text")
	}
}
