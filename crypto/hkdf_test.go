package crypto

import (
	"crypto/hmac"
	"crypto/sha256"
	"testing"
)

// hkdfForTest is RFC 5869 HKDF-SHA-256 with an empty salt, written out from
// the RFC rather than calling the library under test.
func hkdfForTest(t *testing.T, secret []byte, info string) []byte {
	t.Helper()
	salt := make([]byte, sha256.Size)
	ext := hmac.New(sha256.New, salt)
	ext.Write(secret)
	prk := ext.Sum(nil)
	exp := hmac.New(sha256.New, prk)
	exp.Write([]byte(info))
	exp.Write([]byte{1})
	return exp.Sum(nil)[:32]
}
