package card

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/libp2p/go-libp2p/core/crypto"
	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	icrypto "imageshare/crypto"
	"imageshare/internal/vectors"
)

var update = flag.Bool("update", false, "write the test vectors in testdata/card again")

// TestCardVectors checks ParseURI against testdata/card: each valid card
// decodes to the fields its header names (and, when it is in the writers'
// form, URI writes it back byte for byte); each invalid one is refused
// with ErrMalformed and the reason its header names, without quoting the
// card.
func TestCardVectors(t *testing.T) {
	if *update {
		writeCardVectors(t)
	}
	for _, v := range vectors.Load(t, "card") {
		t.Run(v.Name, func(t *testing.T) {
			uri := string(v.Data(t))
			o, err := ParseURI(uri)
			ok, class := v.Expect()
			if !ok {
				if class != "malformed" {
					t.Fatalf("unknown error class %q", class)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("ParseURI = %v, want ErrMalformed", err)
				}
				if reason := v.Must(t, "reason"); !strings.Contains(err.Error(), reason) {
					t.Fatalf("error %q does not say %q", err, reason)
				}
				if s := v.Get("secret"); s != "" && strings.Contains(strings.ToLower(err.Error()), s[:16]) {
					t.Fatalf("error %q quotes the secret", err)
				}
				if p := strings.TrimSpace(uri); len(p) > len(Scheme)+8 && strings.Contains(err.Error(), p[len(Scheme):len(Scheme)+8]) {
					t.Fatalf("error %q quotes the card", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURI: %v", err)
			}
			checkCardFields(t, v, o)
			if v.Get("canonical") == "yes" {
				got, err := o.URI()
				if err != nil {
					t.Fatal(err)
				}
				if got != uri {
					t.Fatalf("URI() = %s\nwant    %s", got, uri)
				}
			}
		})
	}
}

func checkCardFields(t *testing.T, v *vectors.Vector, o *Offer) {
	t.Helper()
	if got, want := o.Peer.String(), v.Must(t, "peer"); got != want {
		t.Errorf("peer = %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString([]byte(o.Peer)), v.Must(t, "peer-bytes"); got != want {
		t.Errorf("peer bytes = %s, want %s", got, want)
	}
	if got, want := hex.EncodeToString(o.Secret[:]), v.Must(t, "secret"); got != want {
		t.Errorf("secret differs")
	}
	if got, want := o.ID.String(), v.Must(t, "offer"); got != want {
		t.Errorf("offer = %s, want %s", got, want)
	}
	want, err := strconv.ParseInt(v.Must(t, "expires"), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if o.Expires.Unix() != want || o.Expires.Location() != time.UTC {
		t.Errorf("expires = %v, want %d UTC", o.Expires, want)
	}
	if got, want := hex.EncodeToString(o.ManifestHash[:]), v.Must(t, "manifest"); got != want {
		t.Errorf("manifest = %s, want %s", got, want)
	}
	var addrs []string
	for _, a := range o.Addrs {
		addrs = append(addrs, a.String())
	}
	if want := v.All("addr"); !slices.Equal(addrs, want) {
		t.Errorf("addrs = %q, want %q", addrs, want)
	}
	if got, want := strconv.FormatBool(o.Passcode), v.Must(t, "passcode"); got != want {
		t.Errorf("passcode = %s, want %s", got, want)
	}
}

// The generator builds each card from docs/PROTOCOL.md §1 with the helpers
// below, not with uri.go: the valid ones are checked against URI() when
// the test reads them.

type vecField struct {
	typ byte
	v   []byte
}

func vecPayload(fs ...vecField) []byte {
	var p []byte
	for _, f := range fs {
		p = append(p, f.typ)
		p = binary.AppendUvarint(p, uint64(len(f.v)))
		p = append(p, f.v...)
	}
	return p
}

func vecWrap(scheme string, p []byte) string {
	sum := sha256.Sum256(p)
	return scheme + b32.EncodeToString(append(slices.Clone(p), sum[:4]...))
}

// vecPeer is the libp2p Ed25519 peer whose private key has the seed
// first, first+1, … first+31.
func vecPeer(t *testing.T, first byte) peer.ID {
	seed := make([]byte, ed25519.SeedSize)
	for i := range seed {
		seed[i] = first + byte(i)
	}
	k, err := crypto.UnmarshalEd25519PrivateKey(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	id, err := peer.IDFromPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return id
}

func writeCardVectors(t *testing.T) {
	sender, relay := vecPeer(t, 0x80), vecPeer(t, 0xa0)
	var secret icrypto.Secret
	for i := range secret {
		secret[i] = byte(i)
	}
	offer, _ := hex.DecodeString("9a59f8d7f3172fc0")
	expires := time.Date(2026, 12, 1, 1, 23, 0, 0, time.UTC)
	manifest, _ := hex.DecodeString("5f0c1d2e3a4b5c6d7e8f90a1b2c3d4e5")
	addr := func(s string) []byte { return ma.StringCast(s).Bytes() }
	loopback := []string{"/ip4/127.0.0.1/tcp/7471", "/ip4/127.0.0.1/udp/7471/quic-v1"}
	lan := []string{
		"/ip4/192.168.1.20/tcp/7471",
		"/ip4/192.168.1.20/udp/7471/quic-v1",
		"/ip6/fd00::20/tcp/7471",
		"/ip4/203.0.113.7/tcp/4001/p2p/" + relay.String() + "/p2p-circuit",
	}
	var eight []string
	for i := range 8 {
		eight = append(eight, fmt.Sprintf("/ip4/10.0.0.%d/tcp/7471", i+1))
	}
	nine := append(slices.Clone(eight), "/ip4/10.0.0.9/tcp/7471")

	uvar := func(x uint64) []byte { return binary.AppendUvarint(nil, x) }
	// fields returns the fields of a card in the writers' order.
	fields := func(exp time.Time, addrs []string, passcode bool) []vecField {
		fs := []vecField{{1, []byte(sender)}, {2, secret[:]}, {3, offer}, {4, uvar(uint64(exp.Unix()))}, {5, manifest}}
		for _, a := range addrs {
			fs = append(fs, vecField{6, addr(a)})
		}
		if passcode {
			fs = append(fs, vecField{7, uvar(1)})
		}
		return fs
	}
	good := func(addrs []string) string { return vecWrap(Scheme, vecPayload(fields(expires, addrs, false)...)) }

	w := vectors.NewWriter("card")
	valid := func(name, comment string, uri string, body string, exp time.Time, addrs []string, passcode, canonical bool) {
		kv := []string{"expect", "success", "comment", comment,
			"peer", sender.String(), "peer-bytes", hex.EncodeToString([]byte(sender)),
			"secret", hex.EncodeToString(secret[:]), "offer", hex.EncodeToString(offer),
			"expires", strconv.FormatInt(exp.Unix(), 10), "manifest", hex.EncodeToString(manifest)}
		for _, a := range addrs {
			kv = append(kv, "addr", a)
		}
		kv = append(kv, "passcode", strconv.FormatBool(passcode), "canonical", map[bool]string{true: "yes", false: "no"}[canonical])
		if body == "raw" {
			kv = append(kv, "body", "raw")
			w.Add(name, []byte(uri), kv...)
			return
		}
		kv = append(kv, "body", "text")
		w.Add(name, []byte(uri+"\n"), kv...)
	}
	valid("loopback", "a sender on this machine: TCP and QUIC on 127.0.0.1 (expires 2026-12-01T01:23:00Z)",
		good(loopback), "text", expires, loopback, false, true)
	valid("multiaddr", "a sender on a LAN, by IPv4 (TCP, QUIC), IPv6 and a circuit relay v2 address",
		good(lan), "text", expires, lan, false, true)
	valid("eight-addrs", "the most addresses a card may hold", good(eight), "text", expires, eight, false, true)
	valid("no-addrs", "no address: the receiver finds the sender by mDNS", good(nil), "text", expires, nil, false, true)
	valid("passcode", "flags bit 0: the keys derive from the secret and a passcode (see testdata/keys)",
		vecWrap(Scheme, vecPayload(fields(expires, loopback, true)...)), "text", expires, loopback, true, true)
	past := time.Unix(1_000_000_000, 0).UTC()
	valid("expired", "expired in 2001, yet a valid URI: the card's reader does not judge time; the receiver warns, the sender answers ERROR 3",
		vecWrap(Scheme, vecPayload(fields(past, loopback, false)...)), "text", past, loopback, false, true)
	valid("lowercase-whitespace", "lower case, with the white space a keyboard-wedge scanner adds: readers ignore both",
		"\t "+strings.ToLower(good(loopback))+"\r\n", "raw", expires, loopback, false, false)
	valid("unknown-odd-field", "an unknown field of odd type (9) is skipped",
		vecWrap(Scheme, vecPayload(append(fields(expires, loopback, false), vecField{9, []byte("later")})...)), "text", expires, loopback, false, false)
	rev := fields(expires, loopback, false)
	slices.Reverse(rev)
	revAddrs := slices.Clone(loopback)
	slices.Reverse(revAddrs)
	valid("reordered", "fields in reverse order; readers accept any order (writers use the table's)",
		vecWrap(Scheme, vecPayload(rev...)), "text", expires, revAddrs, false, false)

	invalid := func(name, comment, reason, uri string) {
		w.Add(name, []byte(uri+"\n"), "expect", "error malformed", "comment", comment, "reason", reason,
			"secret", hex.EncodeToString(secret[:]), "body", "text")
	}
	base := good(loopback)
	flip := []byte(base)
	flip[len(flip)-1] = map[bool]byte{true: 'B', false: 'A'}[flip[len(flip)-1] == 'A']
	invalid("bad-checksum", "the last character changed: the checksum does not match", "checksum does not match", string(flip))
	body := []byte(base)
	body[len(Scheme)+20] = 'Q' // still base32: the checksum catches it
	invalid("bad-checksum-body", "one character of the secret changed", "checksum does not match", string(body))
	bad := []byte(base)
	bad[len(Scheme)+10] = '1' // not in the RFC 4648 alphabet
	invalid("bad-base32", "a '1', which is not in the base32 alphabet, at position 24 of the URI", "bad character at position 24", string(bad))
	invalid("wrong-scheme", "another scheme", "does not start with IMAGESHARE:V1:", "IMAGESHARD:V1:"+base[len(Scheme):])
	invalid("url", "a web address", "does not start with IMAGESHARE:V1:", "https://example.org/")
	invalid("wrong-version", "version 2 of the card", "made by another version of imageshare", "IMAGESHARE:V2:"+base[len(Scheme):])
	invalid("truncated", "the last 8 characters lost", "checksum does not match", base[:len(base)-8])
	cutTo := len(base) - 1
	for !slices.Contains([]int{1, 3, 6}, (cutTo-len(Scheme))%8) {
		cutTo--
	}
	invalid("truncated-bad-length", fmt.Sprintf("cut to %d characters after the scheme, a length no base32 text has", cutTo-len(Scheme)),
		"damaged or incomplete", base[:cutTo])
	invalid("empty", "the scheme alone", "too short", Scheme)
	invalid("too-short", "two bytes: less than a checksum", "too short", Scheme+"AAAA")
	invalid("too-many-addrs", "nine addresses, one more than a card may hold", "more than 8 addresses",
		vecWrap(Scheme, vecPayload(fields(expires, nine, false)...)))
	long := make([]string, 0, 60)
	for i := range 60 {
		long = append(long, fmt.Sprintf("/dns4/host-%02d.long-name.example.org/tcp/7471", i))
	}
	invalid("too-long", "more than 2048 characters", "more than 2048",
		vecWrap(Scheme, vecPayload(fields(expires, long, false)...)))
	drop := func(typ byte) []vecField {
		return slices.DeleteFunc(fields(expires, loopback, false), func(f vecField) bool { return f.typ == typ })
	}
	invalid("no-peer", "no field 1", "no peer ID", vecWrap(Scheme, vecPayload(drop(1)...)))
	invalid("no-secret", "no field 2", "no secret", vecWrap(Scheme, vecPayload(drop(2)...)))
	invalid("no-offer", "no field 3", "no offer ID", vecWrap(Scheme, vecPayload(drop(3)...)))
	invalid("no-expiry", "no field 4", "no expiry", vecWrap(Scheme, vecPayload(drop(4)...)))
	invalid("no-manifest", "no field 5", "no manifest hash", vecWrap(Scheme, vecPayload(drop(5)...)))
	invalid("twice", "field 3 twice", "field 3 appears twice",
		vecWrap(Scheme, vecPayload(append(fields(expires, loopback, false), vecField{3, offer})...)))
	invalid("unknown-even-field", "an unknown field of even type (8): the card needs a newer program", "needs a newer imageshare (field 8)",
		vecWrap(Scheme, vecPayload(append(fields(expires, loopback, false), vecField{8, []byte("later")})...)))
	invalid("unknown-flag", "flag bit 1, unknown: the card needs a newer program", "unknown flags 0x2",
		vecWrap(Scheme, vecPayload(append(fields(expires, loopback, false), vecField{7, uvar(3)})...)))
	short := fields(expires, loopback, false)
	short[1].v = secret[:31]
	invalid("short-secret", "a 31-byte secret", "secret is 31 bytes, want 32", vecWrap(Scheme, vecPayload(short...)))
	shortOffer := fields(expires, loopback, false)
	shortOffer[2].v = offer[:7]
	invalid("short-offer", "a 7-byte offer ID", "offer ID is 7 bytes, want 8", vecWrap(Scheme, vecPayload(shortOffer...)))
	shortHash := fields(expires, loopback, false)
	shortHash[4].v = manifest[:15]
	invalid("short-manifest-hash", "a 15-byte manifest hash", "manifest hash is 15 bytes, want 16", vecWrap(Scheme, vecPayload(shortHash...)))
	badPeer := fields(expires, loopback, false)
	badPeer[0].v = []byte{0x00, 0x05, 'h', 'e', 'l', 'l'}
	invalid("bad-peer", "a peer ID that is not a whole multihash", "bad peer ID", vecWrap(Scheme, vecPayload(badPeer...)))
	badExp := fields(expires, loopback, false)
	badExp[3].v = uvar(1<<40 + 1)
	invalid("bad-expiry", "an expiry past 2^40 seconds", "bad expiry", vecWrap(Scheme, vecPayload(badExp...)))
	badAddr := append(fields(expires, nil, false), vecField{6, []byte{0x04, 127, 0, 0}})
	invalid("bad-addr", "an address cut short", "bad address", vecWrap(Scheme, vecPayload(badAddr...)))
	big := append(fields(expires, nil, false), vecField{9, make([]byte, 257)})
	invalid("long-field", "a field of 257 bytes (at most 256)", "field 9 has a bad length", vecWrap(Scheme, vecPayload(big...)))
	cut := vecPayload(fields(expires, loopback, false)...)
	cut = append(cut, 6, 40, 0x04) // declares 40 bytes, has 1
	invalid("field-past-end", "the last field declares more bytes than follow", "field 6 has a bad length", vecWrap(Scheme, cut))
	w.Write(t)
}
