package crypto

import (
	"bytes"
	"errors"
	"fmt"
	"io"

	"filippo.io/age"
)

// ErrTooLarge is returned by Open when the plaintext exceeds its limit.
var ErrTooLarge = errors.New("plaintext larger than its limit")

// Seal encrypts plaintext to r as one age file.
func Seal(r age.Recipient, plaintext []byte) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(len(plaintext) + len(plaintext)/(64<<10)*16 + 512)
	w, err := SealTo(&buf, r)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(plaintext); err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	return buf.Bytes(), nil
}

// SealTo starts one age file to r on dst, the same file Seal makes, for
// plaintext too large to hold at once: what is written to w is encrypted
// as it comes, and w.Close ends the file.
func SealTo(dst io.Writer, r age.Recipient) (w io.WriteCloser, err error) {
	w, err = age.Encrypt(dst, r)
	if err != nil {
		return nil, fmt.Errorf("encrypting: %w", err)
	}
	return w, nil
}

// Open decrypts and authenticates one age file sealed by Seal. It reads at
// most limit bytes of plaintext and fails with ErrTooLarge past that.
func Open(id age.Identity, sealed []byte, limit int64) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		return nil, fmt.Errorf("decrypting: %w", err)
	}
	out, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, fmt.Errorf("decrypting: %w", err)
	}
	if int64(len(out)) > limit {
		return nil, ErrTooLarge
	}
	return out, nil
}

// OpenInto is Open writing the plaintext into buf, whose capacity is the
// limit: it fails with ErrTooLarge if the plaintext does not fit. It
// returns buf's prefix that holds the plaintext.
func OpenInto(id age.Identity, sealed, buf []byte) ([]byte, error) {
	r, err := age.Decrypt(bytes.NewReader(sealed), id)
	if err != nil {
		return nil, fmt.Errorf("decrypting: %w", err)
	}
	buf = buf[:cap(buf)]
	n := 0
	for {
		if n == len(buf) {
			// Full: the plaintext fits only if nothing follows.
			var one [1]byte
			if k, err := io.ReadFull(r, one[:]); k > 0 {
				return nil, ErrTooLarge
			} else if err != io.EOF {
				return nil, fmt.Errorf("decrypting: %w", err)
			}
			return buf, nil
		}
		k, err := r.Read(buf[n:])
		n += k
		if err == io.EOF {
			return buf[:n], nil
		}
		if err != nil {
			return nil, fmt.Errorf("decrypting: %w", err)
		}
	}
}
