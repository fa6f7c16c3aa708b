package main

import (
	"os"
	"path/filepath"

	"imageshare/internal/appdir"
)

// defaultIdentityPath is where the relay keeps its key: relay.key in the
// state folder (package appdir). Started by systemd with a
// StateDirectory= ($STATE_DIRECTORY set), it is a service and uses that
// folder; otherwise it uses the user's. It is "" when there is no such
// folder.
func defaultIdentityPath() string {
	dir, err := appdir.State(os.Getenv("STATE_DIRECTORY") != "")
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "relay.key")
}
