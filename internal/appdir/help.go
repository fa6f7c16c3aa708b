package appdir

import (
	"regexp"
	"runtime"
	"strings"
)

// Expand writes the user's folders into a help text as this system names
// them: {state} and {config}, each followed by an optional /name/..., become
// the folder and the file in it: "{state}/spool" is
// ~/.local/state/imageshare/spool on Linux (where $XDG_STATE_HOME moves
// it), ~/Library/Application Support/imageshare/spool on macOS and
// %LOCALAPPDATA%\imageshare\spool on Windows.
func Expand(text string) string { return expand(runtime.GOOS, text) }

var placeholder = regexp.MustCompile(`\{(state|config)\}((?:/[A-Za-z0-9._-]+)*)`)

func expand(goos, text string) string {
	return placeholder.ReplaceAllStringFunc(text, func(m string) string {
		sub := placeholder.FindStringSubmatch(m)
		kind, rest := sub[1], sub[2]
		switch {
		case goos == "windows":
			return `%LOCALAPPDATA%\imageshare` + strings.ReplaceAll(rest, "/", `\`)
		case goos == "darwin":
			return "~/Library/Application Support/imageshare" + rest
		case kind == "config":
			return "~/.config/imageshare" + rest
		}
		return "~/.local/state/imageshare" + rest
	})
}
