// Package appdir says where imageshare keeps its state and its
// configuration on each system, for a person and for a service.
//
// State is what imageshare makes and keeps: the sender's spool of offers,
// the audit trails, the relay's key. Configuration is what a site writes
// for it: the receiver's receiver.toml.
//
//	system   as         state                                  configuration
//	Windows  a user     %LOCALAPPDATA%\imageshare              %LOCALAPPDATA%\imageshare
//	Windows  a service  %ProgramData%\imageshare               %ProgramData%\imageshare
//	macOS    a user     ~/Library/Application Support/imageshare (both)
//	macOS    a service  /Library/Application Support/imageshare (both)
//	others   a user     $XDG_STATE_HOME/imageshare             $XDG_CONFIG_HOME/imageshare
//	                    (~/.local/state/imageshare)            (~/.config/imageshare)
//	others   a service  $STATE_DIRECTORY                       $CONFIGURATION_DIRECTORY
//	                    (/var/lib/imageshare)                  (/etc/imageshare)
//
// On macOS an absolute $XDG_STATE_HOME or $XDG_CONFIG_HOME, when set, wins
// over Application Support, as on Linux: people who set them expect it,
// and the end-to-end scripts set XDG_STATE_HOME to keep each run apart.
// A relative XDG path is ignored, as the XDG Base Directory specification
// says. $STATE_DIRECTORY and $CONFIGURATION_DIRECTORY are what systemd
// sets for a unit's StateDirectory= and ConfigurationDirectory= (the first
// of several). Windows ignores the XDG variables.
//
// Windows keeps configuration beside the state, in the local (not the
// roaming) application data: a receiving station's PACS and issuer belong
// to the machine, not to a person's roaming profile.
package appdir

import (
	"errors"
	"os"
	"path"
	"runtime"
	"strings"
)

// Who the folders are for, as the argument of State and Config:
// appdir.State(appdir.Service).
const (
	User    = false
	Service = true
)

// State is the folder of imageshare's state: for a service when service
// is true, else for the user running it. It fails when the system names
// no such folder (no home folder, no %LOCALAPPDATA%).
func State(service bool) (string, error) { return current().state(service) }

// Config is the folder of imageshare's configuration, for a service when
// service is true, else for the user running it.
func Config(service bool) (string, error) { return current().config(service) }

// system is what the folders depend on: a pure function of it, so that
// every system's rules are tested on any.
type system struct {
	goos   string
	getenv func(string) string
	home   string // "" when unknown
}

func current() system {
	home, _ := os.UserHomeDir()
	return system{goos: runtime.GOOS, getenv: os.Getenv, home: home}
}

// kind is what differs between the state and the configuration folders:
// the XDG variable a user may set, the default under the home folder, and
// what systemd names for a service with its default.
type kind struct {
	xdg            string   // XDG_STATE_HOME
	home           []string // .local/state, under the home folder
	systemd        string   // STATE_DIRECTORY
	systemdDefault string   // /var/lib/imageshare
}

var (
	stateKind  = kind{"XDG_STATE_HOME", []string{".local", "state"}, "STATE_DIRECTORY", "/var/lib/imageshare"}
	configKind = kind{"XDG_CONFIG_HOME", []string{".config"}, "CONFIGURATION_DIRECTORY", "/etc/imageshare"}
)

func (s system) state(service bool) (string, error)  { return s.folder(stateKind, service) }
func (s system) config(service bool) (string, error) { return s.folder(configKind, service) }

// folder is the folder of kind k, for a service or for the user.
func (s system) folder(k kind, service bool) (string, error) {
	switch {
	case s.goos == "windows":
		return s.windows(service)
	case service && s.goos == "darwin":
		return "/Library/Application Support/imageshare", nil
	case service:
		return s.systemd(k.systemd, k.systemdDefault), nil
	}
	if d := s.getenv(k.xdg); path.IsAbs(d) {
		return path.Join(d, "imageshare"), nil
	}
	if s.home == "" {
		return "", errNoHome(k.xdg)
	}
	if s.goos == "darwin" {
		return path.Join(s.home, "Library", "Application Support", "imageshare"), nil
	}
	return path.Join(append(append([]string{s.home}, k.home...), "imageshare")...), nil
}

// systemd is the first folder systemd named in variable (several come
// colon-separated), or otherwise.
func (s system) systemd(variable, otherwise string) string {
	if d, _, _ := strings.Cut(s.getenv(variable), ":"); path.IsAbs(d) {
		return d
	}
	return otherwise
}

func (s system) windows(service bool) (string, error) {
	if service {
		if d := s.getenv("ProgramData"); isWindowsAbs(d) {
			return windowsJoin(d, "imageshare"), nil
		}
		return "", noFolder("%ProgramData% is not set")
	}
	if d := s.getenv("LOCALAPPDATA"); isWindowsAbs(d) {
		return windowsJoin(d, "imageshare"), nil
	}
	if s.home == "" {
		return "", noFolder("neither %LOCALAPPDATA% nor %USERPROFILE% is set")
	}
	return windowsJoin(s.home, "AppData", "Local", "imageshare"), nil
}

func errNoHome(xdg string) error { return noFolder("neither $" + xdg + " nor $HOME is set") }

func noFolder(why string) error {
	return errors.New("no folder for imageshare's state or configuration: " + why)
}

// isWindowsAbs reports whether p is an absolute Windows path: a drive
// letter and a separator (C:\), or a UNC path (\\server\share).
func isWindowsAbs(p string) bool {
	if strings.HasPrefix(p, `\\`) {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		('a' <= p[0]|0x20 && p[0]|0x20 <= 'z')
}

// windowsJoin joins Windows path elements with backslashes whatever the
// system running it, so that the Windows rules are tested on Linux too.
func windowsJoin(elem ...string) string {
	out := strings.TrimRight(elem[0], `\/`)
	for _, e := range elem[1:] {
		out += `\` + strings.Trim(e, `\/`)
	}
	return out
}
