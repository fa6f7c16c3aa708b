package appdir

import (
	"runtime"
	"testing"
)

func TestFolders(t *testing.T) {
	for _, tc := range []struct {
		name          string
		goos          string
		env           map[string]string
		home          string
		service       bool
		state, config string // "" when an error is expected
	}{
		{"linux user", "linux", nil, "/home/staff", User,
			"/home/staff/.local/state/imageshare", "/home/staff/.config/imageshare"},
		{"linux XDG", "linux", map[string]string{"XDG_STATE_HOME": "/state", "XDG_CONFIG_HOME": "/conf/"}, "/home/staff", User,
			"/state/imageshare", "/conf/imageshare"},
		{"linux relative XDG is ignored", "linux", map[string]string{"XDG_STATE_HOME": "state", "XDG_CONFIG_HOME": "conf"}, "/home/staff", User,
			"/home/staff/.local/state/imageshare", "/home/staff/.config/imageshare"},
		{"linux XDG without home", "linux", map[string]string{"XDG_STATE_HOME": "/s", "XDG_CONFIG_HOME": "/c"}, "", User,
			"/s/imageshare", "/c/imageshare"},
		{"linux no home", "linux", nil, "", User, "", ""},
		{"linux user ignores systemd", "linux", map[string]string{"STATE_DIRECTORY": "/var/lib/x"}, "/home/staff", User,
			"/home/staff/.local/state/imageshare", "/home/staff/.config/imageshare"},
		{"linux service", "linux", map[string]string{"XDG_STATE_HOME": "/state"}, "/home/staff", Service,
			"/var/lib/imageshare", "/etc/imageshare"},
		{"linux service under systemd", "linux", map[string]string{"STATE_DIRECTORY": "/var/lib/imageshare-relay:/var/lib/other", "CONFIGURATION_DIRECTORY": "/etc/imageshare-relay"}, "", Service,
			"/var/lib/imageshare-relay", "/etc/imageshare-relay"},
		{"freebsd user", "freebsd", nil, "/usr/home/staff", User,
			"/usr/home/staff/.local/state/imageshare", "/usr/home/staff/.config/imageshare"},
		{"macos user", "darwin", nil, "/Users/staff", User,
			"/Users/staff/Library/Application Support/imageshare", "/Users/staff/Library/Application Support/imageshare"},
		{"macos XDG", "darwin", map[string]string{"XDG_STATE_HOME": "/tmp/s", "XDG_CONFIG_HOME": "/tmp/c"}, "/Users/staff", User,
			"/tmp/s/imageshare", "/tmp/c/imageshare"},
		{"macos service", "darwin", map[string]string{"XDG_STATE_HOME": "/tmp/s"}, "/var/root", Service,
			"/Library/Application Support/imageshare", "/Library/Application Support/imageshare"},
		{"windows user", "windows", map[string]string{"LOCALAPPDATA": `C:\Users\staff\AppData\Local`, "XDG_STATE_HOME": "/s"}, `C:\Users\staff`, User,
			`C:\Users\staff\AppData\Local\imageshare`, `C:\Users\staff\AppData\Local\imageshare`},
		{"windows user without LOCALAPPDATA", "windows", nil, `C:\Users\staff`, User,
			`C:\Users\staff\AppData\Local\imageshare`, `C:\Users\staff\AppData\Local\imageshare`},
		{"windows user, trailing separator", "windows", map[string]string{"LOCALAPPDATA": `D:\Profiles\staff\Local\`}, "", User,
			`D:\Profiles\staff\Local\imageshare`, `D:\Profiles\staff\Local\imageshare`},
		{"windows user, relative LOCALAPPDATA", "windows", map[string]string{"LOCALAPPDATA": `AppData`}, "", User, "", ""},
		{"windows service", "windows", map[string]string{"ProgramData": `C:\ProgramData`, "LOCALAPPDATA": `C:\Windows\system32\config\systemprofile\AppData\Local`}, `C:\Windows\system32\config\systemprofile`, Service,
			`C:\ProgramData\imageshare`, `C:\ProgramData\imageshare`},
		{"windows service on a share", "windows", map[string]string{"ProgramData": `\\srv\data`}, "", Service,
			`\\srv\data\imageshare`, `\\srv\data\imageshare`},
		{"windows service without ProgramData", "windows", nil, `C:\Users\staff`, Service, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := system{goos: tc.goos, getenv: func(k string) string { return tc.env[k] }, home: tc.home}
			check := func(what, want string, got string, err error) {
				t.Helper()
				switch {
				case want == "" && err == nil:
					t.Errorf("%s = %q, want an error", what, got)
				case want != "" && (err != nil || got != want):
					t.Errorf("%s = %q, %v; want %q", what, got, err, want)
				}
			}
			got, err := s.state(tc.service)
			check("state", tc.state, got, err)
			got, err = s.config(tc.service)
			check("config", tc.config, got, err)
		})
	}
}

// TestCurrent: State and Config read this process's environment.
func TestCurrent(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the XDG variables mean nothing on Windows")
	}
	t.Setenv("XDG_STATE_HOME", "/somewhere/state")
	t.Setenv("XDG_CONFIG_HOME", "/somewhere/config")
	if got, err := State(User); err != nil || got != "/somewhere/state/imageshare" {
		t.Errorf("State(User) = %q, %v", got, err)
	}
	if got, err := Config(User); err != nil || got != "/somewhere/config/imageshare" {
		t.Errorf("Config(User) = %q, %v", got, err)
	}
}
