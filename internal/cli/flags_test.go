package cli

import (
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestParseInterleaved(t *testing.T) {
	for _, tc := range []struct {
		args        []string
		pos, listen []string
		json        bool
	}{
		{[]string{"a", "--json", "b"}, []string{"a", "b"}, nil, true},
		{[]string{"--listen", "x", "a", "--listen", "y"}, []string{"a"}, []string{"x", "y"}, false},
		{[]string{"a", "--", "--json", "-b"}, []string{"a", "--json", "-b"}, nil, false},
		{[]string{"--", "a", "--json"}, []string{"a", "--json"}, nil, false},
		{[]string{"a", "--json", "--", "--listen", "z"}, []string{"a", "--listen", "z"}, nil, true},
		{nil, nil, nil, false},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		json := fs.Bool("json", false, "")
		var listen StringList
		fs.Var(&listen, "listen", "")
		pos, err := ParseInterleaved(fs, tc.args)
		if err != nil {
			t.Errorf("%q: %v", tc.args, err)
			continue
		}
		if !slices.Equal(pos, tc.pos) || !slices.Equal(listen, tc.listen) || *json != tc.json {
			t.Errorf("%q: positional %q, --listen %q, --json %v; want %q, %q, %v", tc.args, pos, listen, *json, tc.pos, tc.listen, tc.json)
		}
	}

	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	if _, err := ParseInterleaved(fs, []string{"a", "--nope"}); err == nil {
		t.Error("an unknown flag after a positional argument was accepted")
	}
}

func TestFlagMessageSpellsFlagsAsTheHelp(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Int("n", 0, "")
	for _, args := range [][]string{{"--crad", "x"}, {"--n", "x"}, {"--n"}} {
		err := fs.Parse(args)
		if err == nil {
			t.Fatalf("%q parsed", args)
		}
		if msg := FlagMessage(err); !strings.Contains(msg, " --") || strings.Contains(msg, " -c") || strings.Contains(msg, " -n") {
			t.Errorf("%q: %q", args, msg)
		}
	}
}
