package main

import (
	"errors"
	"fmt"
	"imageshare/internal/atomicfile"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"
)

// maxIdentitySize caps what is read from an identity file. A marshalled
// Ed25519 key is 68 bytes.
const maxIdentitySize = 4096

// identityError is an identity file the relay cannot use.
type identityError struct {
	path string
	err  error
	hint string
}

func (e *identityError) Error() string { return fmt.Sprintf("identity file %s: %v", e.path, e.err) }
func (e *identityError) Unwrap() error { return e.err }

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

// loadIdentity reads the relay's key from path, making a new one the first
// time. It reports whether it made the key.
func loadIdentity(path string) (crypto.PrivKey, bool, error) {
	k, err := readIdentity(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if err := createIdentity(path); err != nil {
		return nil, false, err
	}
	k, err = readIdentity(path)
	return k, err == nil, err
}

// readIdentity reads an Ed25519 key that only its owner can read. The
// error wraps fs.ErrNotExist when there is no file.
func readIdentity(path string) (crypto.PrivKey, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, &identityError{path: path, err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &identityError{path: path, err: err}
	}
	if !st.Mode().IsRegular() {
		return nil, &identityError{path: path, err: errors.New("not a regular file")}
	}
	// Permission bits mean little on Windows; elsewhere a key that others
	// can read may have been copied.
	if perm := st.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, &identityError{path: path,
			err:  fmt.Errorf("has mode %04o, so others may read it; it must be readable by its owner only", perm),
			hint: fmt.Sprintf("chmod 600 %s; if someone may have copied it, delete it instead to make a new identity (senders then need the relay's new address)", path)}
	}
	b, err := io.ReadAll(io.LimitReader(f, maxIdentitySize+1))
	if err != nil {
		return nil, &identityError{path: path, err: err}
	}
	malformed := fmt.Sprintf("restore %s from a backup, or delete it to make a new identity (senders then need the relay's new address)", path)
	if len(b) > maxIdentitySize {
		return nil, &identityError{path: path, err: fmt.Errorf("not a relay key: longer than %d bytes", maxIdentitySize), hint: malformed}
	}
	k, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, &identityError{path: path, err: fmt.Errorf("not a relay key: %w", err), hint: malformed}
	}
	if k.Type() != cryptopb.KeyType_Ed25519 {
		return nil, &identityError{path: path, err: fmt.Errorf("holds a %v key; the relay's key is Ed25519", k.Type()), hint: malformed}
	}
	return k, nil
}

// createIdentity writes a new Ed25519 key to path, mode 0600, atomically:
// readers see no file or a whole one. If another process (a second relay,
// or relay id) makes the key at the same moment, the first one stays and
// both use it: the key is linked into place, which fails when path
// exists, where a rename would replace it.
func createIdentity(path string) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("making a folder for the identity: %w", err)
	}
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return fmt.Errorf("generating the relay's key: %w", err)
	}
	b, err := crypto.MarshalPrivateKey(k)
	if err != nil {
		return fmt.Errorf("encoding the relay's key: %w", err)
	}
	if err := atomicfile.Create(path, b, 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("writing the identity: %w", err)
	}
	return nil
}
