package console

import (
	"runtime/debug"
	"testing"
)

func TestVersionString(t *testing.T) {
	const rev = "0123456789abcdef0123456789abcdef01234567"
	built := &debug.BuildInfo{
		GoVersion: "go1.26.1",
		Main:      debug.Module{Path: "imageshare", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: rev},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	clean := &debug.BuildInfo{
		GoVersion: "go1.26.1",
		Main:      debug.Module{Path: "imageshare", Version: "v1.2.0"},
		Settings:  []debug.BuildSetting{{Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: "false"}},
	}
	for _, tc := range []struct {
		name            string
		version, commit string
		bi              *debug.BuildInfo
		want            string
	}{
		// make dist: the link-time values win over the build info.
		{"dist", "v1.2.0-3-g0123456", rev, built, "v1.2.0-3-g0123456 (commit 0123456789ab) go1.26.1"},
		{"dist dirty", "0123456-dirty", rev, clean, "0123456-dirty (commit 0123456789ab) go1.26.1"},
		{"dist short commit", "v1.2.0", "0123", clean, "v1.2.0 (commit 0123) go1.26.1"},
		// go build: the module version and the recorded commit.
		{"go build modified", "", "", built, "(devel) (commit 0123456789ab, modified) go1.26.1"},
		{"go build clean", "", "", clean, "v1.2.0 (commit 0123456789ab) go1.26.1"},
		{"no vcs", "", "", &debug.BuildInfo{GoVersion: "go1.26.1", Main: debug.Module{Version: "(devel)"}}, "(devel) go1.26.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := versionString(tc.version, tc.commit, tc.bi); got != tc.want {
				t.Errorf("versionString(%q, %q) = %q, want %q", tc.version, tc.commit, got, tc.want)
			}
		})
	}
	if got, want := versionString("", "", nil), "unknown "; len(got) <= len(want) || got[:len(want)] != want {
		t.Errorf("versionString without build info = %q, want it to start with %q", got, want)
	}
}
