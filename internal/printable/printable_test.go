package printable

import "testing"

func TestString(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"DOE, JOHN", "DOE, JOHN"},
		{"MÜLLER, JÖRG 山田", "MÜLLER, JÖRG 山田"},
		{"\x1b[2J\x1b[HFAKE", "?[2J?[HFAKE"},
		{"a\nb\rc\td", "a?b?c?d"},
		{"\x7f\u0085\u009b31m", "???31m"},
		{"abc\u202egpj.exe", "abc?gpj.exe"},
		{"\u2066x\u2069\u200e\u200f\u061c", "?x????"},
		{"line\u2028para\u2029", "line?para?"},
		{"bad\xffutf8", "bad?utf8"},
		{"zero\u200bwidth joiner\u200d", "zero\u200bwidth joiner\u200d"}, // invisible, but harmless
	} {
		if got := String(c.in); got != c.want {
			t.Errorf("String(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("\x1b[2J\u202e")
	f.Fuzz(func(t *testing.T, s string) {
		for _, r := range String(s) {
			if unsafe(r) {
				t.Fatalf("String(%q) holds %U", s, r)
			}
		}
	})
}
