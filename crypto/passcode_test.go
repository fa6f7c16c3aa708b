package crypto

import (
	"errors"
	"regexp"
	"testing"
)

func TestWithPasscode(t *testing.T) {
	s := mustSecret(t)
	offer := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	a, err := WithPasscode(s, "4821-0937", offer)
	if err != nil {
		t.Fatal(err)
	}
	for _, same := range []string{"48210937", "4821 0937", " 4821-0937\n"} {
		b, err := WithPasscode(s, same, offer)
		if err != nil || *b != *a {
			t.Errorf("%q: not the same passcode as 4821-0937", same)
		}
	}
	for name, other := range map[string]func() (*Secret, error){
		"other passcode": func() (*Secret, error) { return WithPasscode(s, "4821-0938", offer) },
		"other offer":    func() (*Secret, error) { return WithPasscode(s, "4821-0937", []byte{9, 9, 9, 9, 9, 9, 9, 9}) },
		"other card":     func() (*Secret, error) { return WithPasscode(mustSecret(t), "4821-0937", offer) },
	} {
		b, err := other()
		if err != nil {
			t.Fatal(err)
		}
		if *b == *a {
			t.Errorf("%s: same keys", name)
		}
	}
	if *a == *s {
		t.Error("the passcode changed nothing")
	}
	// The card alone does not give the keys of a passcode offer.
	ka, _ := DeriveKeys(a)
	ks, _ := DeriveKeys(s)
	if ka.Verifier.Equal(ks.Verifier) {
		t.Error("card alone derives the passcode offer's verifier")
	}
}

func TestPasscodeRules(t *testing.T) {
	for _, bad := range []string{"", "12345", "pass\x00word", "ünïcode1", string(make([]byte, 70))} {
		if _, err := NormalizePasscode(bad); !errors.Is(err, ErrPasscode) {
			t.Errorf("%q accepted", bad)
		}
	}
	seen := map[string]bool{}
	for range 20 {
		p, err := GeneratePasscode()
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^\d{4}-\d{4}$`).MatchString(p) {
			t.Fatalf("generated %q", p)
		}
		seen[p] = true
	}
	if len(seen) < 19 {
		t.Fatal("generated passcodes repeat")
	}
}
