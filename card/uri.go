package card

import (
	"bytes"
	"crypto/sha256"
	"encoding/base32"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/libp2p/go-libp2p/core/peer"
	ma "github.com/multiformats/go-multiaddr"

	icrypto "imageshare/crypto"
	"imageshare/transfer"
)

// Scheme is the card URI's prefix, version included. It is upper case so
// that the whole URI stays in the QR code's alphanumeric character set,
// which packs 5.5 bits a character instead of 8.
const Scheme = "IMAGESHARE:V1:"

// Limits on what a card may hold.
const (
	MaxURILength = 2048
	MaxAddrs     = 8
	maxFieldLen  = 256
)

// Field types of the card payload. See docs/PROTOCOL.md.
const (
	fieldPeer     = 1
	fieldSecret   = 2
	fieldOfferID  = 3
	fieldExpires  = 4
	fieldManifest = 5
	fieldAddr     = 6
	fieldFlags    = 7
)

const (
	flagPasscode = 1 << 0
	checksumSize = 4
)

// ErrMalformed is wrapped by every error ParseURI returns.
var ErrMalformed = errors.New("not a valid imageshare card")

// Offer is what a card says: where the sender is, which offer, until when,
// and the secret that opens it.
type Offer struct {
	Peer         peer.ID
	Addrs        []ma.Multiaddr
	Secret       icrypto.Secret
	ID           transfer.OfferID
	Expires      time.Time
	ManifestHash [transfer.ManifestHashSize]byte
	// Passcode says the receiver also needs the passcode that the sending
	// staff give by phone.
	Passcode bool
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// Ref is what the transfer protocol needs of the card.
func (o *Offer) Ref() transfer.OfferRef {
	return transfer.OfferRef{ID: o.ID, ManifestHash: o.ManifestHash}
}

// URI encodes the offer as the card's URI.
func (o *Offer) URI() (string, error) {
	if o.Peer == "" {
		return "", errors.New("offer has no peer ID")
	}
	if len(o.Addrs) > MaxAddrs {
		return "", fmt.Errorf("offer has %d addresses, at most %d fit on a card", len(o.Addrs), MaxAddrs)
	}
	var p []byte
	p = appendField(p, fieldPeer, []byte(o.Peer))
	p = appendField(p, fieldSecret, o.Secret[:])
	p = appendField(p, fieldOfferID, o.ID[:])
	p = appendField(p, fieldExpires, binary.AppendUvarint(nil, uint64(o.Expires.Unix())))
	p = appendField(p, fieldManifest, o.ManifestHash[:])
	for _, a := range o.Addrs {
		p = appendField(p, fieldAddr, a.Bytes())
	}
	if o.Passcode {
		p = appendField(p, fieldFlags, binary.AppendUvarint(nil, flagPasscode))
	}
	u := uriFromPayload(p)
	if len(u) > MaxURILength {
		return "", fmt.Errorf("card URI would be %d characters, more than %d", len(u), MaxURILength)
	}
	return u, nil
}

func appendField(p []byte, typ byte, v []byte) []byte {
	p = append(p, typ)
	p = binary.AppendUvarint(p, uint64(len(v)))
	return append(p, v...)
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
}

// ParseURI reads a card URI. Surrounding white space is ignored (keyboard
// scanners end a scan with a newline), and so is letter case. Its errors
// never quote the input, which holds the secret.
func ParseURI(s string) (*Offer, error) {
	s = strings.TrimSpace(s)
	if len(s) > MaxURILength {
		return nil, malformed("%d characters, more than %d", len(s), MaxURILength)
	}
	if len(s) < len(Scheme) || !strings.EqualFold(s[:len(Scheme)], Scheme) {
		if i := strings.IndexByte(s, ':'); i > 0 && strings.EqualFold(s[:i], "imageshare") {
			return nil, malformed("made by another version of imageshare (this one reads %s)", Scheme)
		}
		return nil, malformed("it does not start with %s", Scheme)
	}
	p, err := b32.DecodeString(strings.ToUpper(s[len(Scheme):]))
	if err != nil {
		return nil, malformed("damaged or incomplete (bad character at position %d)", badBase32Pos(s[len(Scheme):])+len(Scheme))
	}
	if len(p) < checksumSize {
		return nil, malformed("damaged or incomplete (too short)")
	}
	body, sum := p[:len(p)-checksumSize], p[len(p)-checksumSize:]
	if want := sha256.Sum256(body); !bytes.Equal(sum, want[:checksumSize]) {
		return nil, malformed("damaged or incomplete (checksum does not match)")
	}
	return parsePayload(body)
}

func badBase32Pos(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !(c >= 'a' && c <= 'z' || s[i] >= '2' && s[i] <= '7') {
			return i
		}
	}
	return len(s)
}

func parsePayload(p []byte) (*Offer, error) {
	o := &Offer{}
	seen := map[byte]bool{}
	for len(p) > 0 {
		typ := p[0]
		n, k := binary.Uvarint(p[1:])
		if k <= 0 || n > maxFieldLen || uint64(len(p)-1-k) < n {
			return nil, malformed("field %d has a bad length", typ)
		}
		v := p[1+k : 1+k+int(n)]
		p = p[1+k+int(n):]
		if typ != fieldAddr {
			if seen[typ] {
				return nil, malformed("field %d appears twice", typ)
			}
			seen[typ] = true
		}
		switch typ {
		case fieldPeer:
			id, err := peer.IDFromBytes(v)
			if err != nil {
				return nil, malformed("bad peer ID: %v", err)
			}
			o.Peer = id
		case fieldSecret:
			if len(v) != icrypto.SecretSize {
				return nil, malformed("secret is %d bytes, want %d", len(v), icrypto.SecretSize)
			}
			copy(o.Secret[:], v)
		case fieldOfferID:
			if len(v) != len(o.ID) {
				return nil, malformed("offer ID is %d bytes, want %d", len(v), len(o.ID))
			}
			copy(o.ID[:], v)
		case fieldExpires:
			t, k := binary.Uvarint(v)
			if k != len(v) || t > 1<<40 {
				return nil, malformed("bad expiry")
			}
			o.Expires = time.Unix(int64(t), 0).UTC()
		case fieldManifest:
			if len(v) != transfer.ManifestHashSize {
				return nil, malformed("manifest hash is %d bytes, want %d", len(v), transfer.ManifestHashSize)
			}
			copy(o.ManifestHash[:], v)
		case fieldAddr:
			if len(o.Addrs) == MaxAddrs {
				return nil, malformed("more than %d addresses", MaxAddrs)
			}
			a, err := ma.NewMultiaddrBytes(v)
			if err != nil {
				return nil, malformed("bad address: %v", err)
			}
			o.Addrs = append(o.Addrs, a)
		case fieldFlags:
			f, k := binary.Uvarint(v)
			if k != len(v) {
				return nil, malformed("bad flags")
			}
			if f&^flagPasscode != 0 {
				return nil, malformed("it needs a newer imageshare (unknown flags %#x)", f&^flagPasscode)
			}
			o.Passcode = f&flagPasscode != 0
		default:
			// Odd types are optional and skipped; even ones change the
			// meaning of the card and must be understood.
			if typ%2 == 0 {
				return nil, malformed("it needs a newer imageshare (field %d)", typ)
			}
		}
	}
	for _, f := range []struct {
		typ  byte
		name string
	}{{fieldPeer, "peer ID"}, {fieldSecret, "secret"}, {fieldOfferID, "offer ID"}, {fieldExpires, "expiry"}, {fieldManifest, "manifest hash"}} {
		if !seen[f.typ] {
			return nil, malformed("no %s", f.name)
		}
	}
	return o, nil
}

// uriFromPayload wraps a raw payload with its checksum and scheme. Tests use
// it to build cards with arbitrary fields.
func uriFromPayload(p []byte) string {
	sum := sha256.Sum256(p)
	return Scheme + b32.EncodeToString(append(bytes.Clone(p), sum[:checksumSize]...))
}
