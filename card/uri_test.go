package card

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	icrypto "imageshare/crypto"
	"imageshare/transfer"
)

func testOffer(t testing.TB) *Offer {
	t.Helper()
	_, pub, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := icrypto.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	o := &Offer{
		Peer:    id,
		Secret:  secret,
		ID:      transfer.OfferID{0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4},
		Expires: time.Date(2026, 12, 1, 14, 5, 0, 0, time.UTC),
	}
	o.ManifestHash[0] = 0x42
	for _, s := range []string{
		"/ip4/192.168.10.20/tcp/7471",
		"/ip4/192.168.10.20/udp/7471/quic-v1",
		"/ip6/fd00::1234/tcp/7471",
		"/ip4/127.0.0.1/tcp/7471",
	} {
		o.Addrs = append(o.Addrs, ma.StringCast(s))
	}
	return o
}

func TestURIRoundTrip(t *testing.T) {
	o := testOffer(t)
	for _, passcode := range []bool{false, true} {
		o.Passcode = passcode
		u, err := o.URI()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("URI with %d addresses: %d characters", len(o.Addrs), len(u))
		if !strings.HasPrefix(u, Scheme) {
			t.Fatalf("URI %q lacks the scheme", u)
		}
		for _, form := range []string{u, strings.ToLower(u), "  " + u + "\r\n"} {
			got, err := ParseURI(form)
			if err != nil {
				t.Fatal(err)
			}
			if got.Peer != o.Peer || got.Secret != o.Secret || got.ID != o.ID ||
				!got.Expires.Equal(o.Expires) || got.ManifestHash != o.ManifestHash || got.Passcode != o.Passcode {
				t.Fatalf("round trip changed the offer")
			}
			if len(got.Addrs) != len(o.Addrs) {
				t.Fatalf("got %d addresses, want %d", len(got.Addrs), len(o.Addrs))
			}
			for i := range o.Addrs {
				if !got.Addrs[i].Equal(o.Addrs[i]) {
					t.Fatalf("address %d: got %s, want %s", i, got.Addrs[i], o.Addrs[i])
				}
			}
		}
	}
}

// The URI stays within QR alphanumeric mode and short enough to scan.
func TestURIIsCompactAndAlphanumeric(t *testing.T) {
	o := testOffer(t)
	u, err := o.URI()
	if err != nil {
		t.Fatal(err)
	}
	const alnum = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	for i, c := range u {
		if !strings.ContainsRune(alnum, c) {
			t.Fatalf("character %d (%q) is outside the QR alphanumeric set", i, c)
		}
	}
	if len(u) > 300 {
		t.Fatalf("URI with 4 addresses is %d characters, want at most 300", len(u))
	}
}

func TestParseURIRejects(t *testing.T) {
	o := testOffer(t)
	good, err := o.URI()
	if err != nil {
		t.Fatal(err)
	}
	body := good[len(Scheme):]
	secretHex := hex.EncodeToString(o.Secret[:])
	// payloads builds a URI from raw fields, with a valid checksum, to reach
	// the checks behind the checksum.
	withFields := func(fields ...[]byte) string {
		var p []byte
		for _, f := range fields {
			p = append(p, f...)
		}
		return uriFromPayload(p)
	}
	field := func(typ byte, v []byte) []byte { return appendField(nil, typ, v) }
	peerF := field(fieldPeer, []byte(o.Peer))
	secretF := field(fieldSecret, o.Secret[:])
	offerF := field(fieldOfferID, o.ID[:])
	expF := field(fieldExpires, []byte{0x80, 0x01})
	hashF := field(fieldManifest, o.ManifestHash[:])

	cases := map[string]string{
		"empty":              "",
		"other scheme":       "https://example.org/" + body,
		"future version":     "IMAGESHARE:V2:" + body,
		"bad base32":         Scheme + body[:20] + "1" + body[21:],
		"truncated":          good[:len(good)-10],
		"one character lost": good[:40] + good[41:],
		"altered secret":     Scheme + flipChar(body, 60),
		"too long":           Scheme + strings.Repeat("A", MaxURILength),
		"no peer":            withFields(secretF, offerF, expF, hashF),
		"no secret":          withFields(peerF, offerF, expF, hashF),
		"short secret":       withFields(peerF, field(fieldSecret, o.Secret[:16]), offerF, expF, hashF),
		"no expiry":          withFields(peerF, secretF, offerF, hashF),
		"no manifest hash":   withFields(peerF, secretF, offerF, expF),
		"twice the secret":   withFields(peerF, secretF, secretF, offerF, expF, hashF),
		"bad peer ID":        withFields(field(fieldPeer, []byte("nope")), secretF, offerF, expF, hashF),
		"bad address":        withFields(peerF, secretF, offerF, expF, hashF, field(fieldAddr, []byte{0xff, 0xff})),
		"unknown even field": withFields(peerF, secretF, offerF, expF, hashF, field(8, []byte{1})),
		"unknown flag":       withFields(peerF, secretF, offerF, expF, hashF, field(fieldFlags, []byte{2})),
		"length past end":    withFields(peerF, secretF, offerF, expF, hashF, []byte{fieldAddr, 50, 1}),
		"too many addresses": withFields(append([][]byte{peerF, secretF, offerF, expF, hashF}, repeat(field(fieldAddr, ma.StringCast("/ip4/10.0.0.1/tcp/1").Bytes()), MaxAddrs+1)...)...),
	}
	for name, u := range cases {
		_, err := ParseURI(u)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: error %v does not wrap ErrMalformed", name, err)
		}
		if strings.Contains(err.Error(), body[10:30]) || strings.Contains(strings.ToLower(err.Error()), secretHex[:12]) {
			t.Errorf("%s: error quotes the card: %v", name, err)
		}
	}
	// An unknown odd field is optional and skipped.
	if _, err := ParseURI(withFields(peerF, secretF, offerF, expF, hashF, field(9, []byte("later")))); err != nil {
		t.Errorf("unknown odd field refused: %v", err)
	}
}

func repeat(b []byte, n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		out[i] = b
	}
	return out
}

func flipChar(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}

func FuzzParseURI(f *testing.F) {
	o := testOffer(f)
	u, err := o.URI()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(u)
	f.Add(strings.ToLower(u))
	f.Add(Scheme)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseURI(s)
		if err != nil {
			return
		}
		// What parses re-encodes to a URI that parses to the same offer.
		again, err := got.URI()
		if err != nil {
			return // e.g. unknown odd fields dropped; still must not panic
		}
		back, err := ParseURI(again)
		if err != nil {
			t.Fatalf("re-encoded card does not parse: %v", err)
		}
		if back.Peer != got.Peer || back.Secret != got.Secret || back.ID != got.ID {
			t.Fatal("re-encoding changed the card")
		}
	})
}
