package cli

import (
	"flag"
	"strings"
)

// StringList is the value of a flag that may be given more than once, as
// in --listen A --listen B.
type StringList []string

func (l *StringList) String() string     { return strings.Join(*l, ",") }
func (l *StringList) Set(s string) error { *l = append(*l, s); return nil }

// ParseInterleaved parses flags that come before, between or after the
// positional arguments, as staff type them in any order, and returns the
// positional arguments. Everything after "--" is positional, even what
// starts with a dash.
func ParseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if consumed := len(args) - len(rest); consumed > 0 && args[consumed-1] == "--" {
			return append(pos, rest...), nil
		}
		if len(rest) == 0 {
			return pos, nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// flagMessage spells the flag package's "-name" as "--name", as the help
// does and as staff type it.
var flagMessage = strings.NewReplacer("defined: -", "defined: --", "for flag -", "for flag --", "argument: -", "argument: --")

// FlagMessage is a flag package error's message with each flag spelt as
// in the help: "flag provided but not defined: --crad", not "-crad".
func FlagMessage(err error) string {
	return flagMessage.Replace(err.Error())
}
