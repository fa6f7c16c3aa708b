package crypto

import (
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode"

	"golang.org/x/crypto/argon2"
)

// Argon2id parameters for passcodes: memory-hard, about a quarter of a
// second on a hospital workstation, so that each guess costs an attacker
// who holds a photographed card real time and memory.
const (
	argonTime    = 3
	argonMemory  = 64 << 10 // KiB
	argonThreads = 4
)

const labelPasscode = "imageshare/1 passcode"

// ErrPasscode is returned for a passcode that cannot be used.
var ErrPasscode = errors.New("invalid passcode")

// NormalizePasscode removes spaces and dashes and upper-cases letters, so
// that "4821-0937" and "4821 0937" are the same passcode.
func NormalizePasscode(p string) (string, error) {
	var b strings.Builder
	for _, r := range p {
		switch {
		case r == '-' || unicode.IsSpace(r):
		case r < 0x80 && (unicode.IsDigit(r) || unicode.IsLetter(r)):
			b.WriteRune(unicode.ToUpper(r))
		default:
			return "", fmt.Errorf("%w: only letters, digits, spaces and dashes", ErrPasscode)
		}
	}
	if b.Len() < 6 {
		return "", fmt.Errorf("%w: at least 6 letters or digits", ErrPasscode)
	}
	if b.Len() > 64 {
		return "", fmt.Errorf("%w: at most 64 letters or digits", ErrPasscode)
	}
	return b.String(), nil
}

// MinChosenPasscode is the fewest letters or digits a sender accepts in a
// passcode it is given (--passcode-file): as many as GeneratePasscode
// makes, 8 digits, about 26.6 bits. Receivers accept from 6, as the
// protocol allows.
const MinChosenPasscode = 8

// GeneratePasscode returns a fresh passcode of 8 digits, written 1234-5678,
// easy to read out on the phone.
func GeneratePasscode() (string, error) {
	n, err := rand.Int(rand.Reader, big.NewInt(100_000_000))
	if err != nil {
		return "", err
	}
	s := fmt.Sprintf("%08d", n)
	return s[:4] + "-" + s[4:], nil
}

// WithPasscode mixes a passcode into the card's secret: the keys of an
// offer that needs a passcode derive from the result, not from the card's
// secret alone.
//
//	p = Argon2id(normalized passcode, salt = "imageshare/1 passcode" || offer ID, t=3, m=64 MiB, p=4, 32 bytes)
//	S' = HKDF-SHA-256(secret = S || p, salt = "", info = "imageshare/1 passcode")
func WithPasscode(s *Secret, passcode string, offerID []byte) (*Secret, error) {
	norm, err := NormalizePasscode(passcode)
	if err != nil {
		return nil, err
	}
	salt := append([]byte(labelPasscode), offerID...)
	p := argon2.IDKey([]byte(norm), salt, argonTime, argonMemory, argonThreads, 32)
	ikm := append(append([]byte{}, s[:]...), p...)
	k, err := hkdf.Key(sha256.New, ikm, nil, labelPasscode, SecretSize)
	if err != nil {
		return nil, err
	}
	var out Secret
	copy(out[:], k)
	return &out, nil
}
