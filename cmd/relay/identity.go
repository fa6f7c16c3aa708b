package main

import (
	"os"
	"path/filepath"
	"strings"
)

// defaultIdentityPath is where the relay keeps its key: in systemd's
// StateDirectory when it runs as a service, else in the user's state
// folder. It is "" when there is no such folder.
func defaultIdentityPath() string {
	if d := os.Getenv("STATE_DIRECTORY"); d != "" {
		// Several StateDirectory= entries come colon-separated.
		first, _, _ := strings.Cut(d, ":")
		return filepath.Join(first, "relay.key")
	}
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "imageshare", "relay.key")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "imageshare", "relay.key")
	}
	return ""
}
