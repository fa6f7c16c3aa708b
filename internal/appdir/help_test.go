package appdir

import "testing"

func TestExpand(t *testing.T) {
	const text = "--spool DIR (default {state}/spool), --config ({config}/receiver.toml) in {state}; {unknown} {\"type\":\"id\"}"
	for goos, want := range map[string]string{
		"linux":   "--spool DIR (default ~/.local/state/imageshare/spool), --config (~/.config/imageshare/receiver.toml) in ~/.local/state/imageshare; {unknown} {\"type\":\"id\"}",
		"darwin":  "--spool DIR (default ~/Library/Application Support/imageshare/spool), --config (~/Library/Application Support/imageshare/receiver.toml) in ~/Library/Application Support/imageshare; {unknown} {\"type\":\"id\"}",
		"windows": `--spool DIR (default %LOCALAPPDATA%\imageshare\spool), --config (%LOCALAPPDATA%\imageshare\receiver.toml) in %LOCALAPPDATA%\imageshare; {unknown} {"type":"id"}`,
	} {
		if got := expand(goos, text); got != want {
			t.Errorf("%s:\n got %s\nwant %s", goos, got, want)
		}
	}
}
