package discovery

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/libp2p/go-libp2p/core/crypto"
	cryptopb "github.com/libp2p/go-libp2p/core/crypto/pb"

	"imageshare/internal/atomicfile"
	"imageshare/internal/private"
)

// MaxIdentitySize caps what is read from an identity file. A marshalled
// Ed25519 key is 68 bytes.
const MaxIdentitySize = 4096

// IdentityError is an identity file that cannot be used: unreadable,
// readable by others, or not an Ed25519 key. Hint, when not empty, says
// what the user can do about it.
type IdentityError struct {
	Path string
	Err  error
	Hint string
}

func (e *IdentityError) Error() string { return fmt.Sprintf("identity file %s: %v", e.Path, e.Err) }
func (e *IdentityError) Unwrap() error { return e.Err }

// LoadIdentity returns the Ed25519 host key kept in path, making it, and
// its folder, the first time. It reports whether it made the key. A
// stable key keeps a peer ID, and so the cards and addresses given out
// with it, valid across restarts.
//
// The file is made private (mode 0600; on Windows an access list for its
// owner, SYSTEM and Administrators only: package private), atomically:
// readers see no file or a whole one. If another process makes it at the
// same moment, the first one stays and both use it (atomicfile.Create
// links, where a rename would replace).
func LoadIdentity(path string) (crypto.PrivKey, bool, error) {
	k, err := ReadIdentity(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	if err := createIdentity(path); err != nil {
		return nil, false, err
	}
	k, err = ReadIdentity(path)
	return k, err == nil, err
}

// ReadIdentity reads an Ed25519 key that only its owner can read (on
// Windows: its owner, SYSTEM and Administrators). The
// error wraps fs.ErrNotExist when there is no file, and is an
// *IdentityError otherwise.
func ReadIdentity(path string) (crypto.PrivKey, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	if err != nil {
		return nil, &IdentityError{Path: path, Err: err}
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, &IdentityError{Path: path, Err: err}
	}
	if !st.Mode().IsRegular() {
		return nil, &IdentityError{Path: path, Err: errors.New("not a regular file")}
	}
	// A key that others can read may have been copied: its mode on Unix,
	// its access list on Windows, says whether they can.
	var exposed *private.ExposedError
	if err := private.Check(f); errors.As(err, &exposed) {
		return nil, &IdentityError{Path: path,
			Err:  fmt.Errorf("%s, so others may read it; it must be readable by its owner only", exposed.Why),
			Hint: fmt.Sprintf("%s; if someone may have copied it, delete it instead to make a new identity (a new peer ID, so addresses and cards given out before stop working)", exposed.Fix)}
	} else if err != nil {
		return nil, &IdentityError{Path: path, Err: err}
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxIdentitySize+1))
	if err != nil {
		return nil, &IdentityError{Path: path, Err: err}
	}
	malformed := fmt.Sprintf("restore %s from a backup, or delete it to make a new identity (a new peer ID, so addresses and cards given out before stop working)", path)
	if len(b) > MaxIdentitySize {
		return nil, &IdentityError{Path: path, Err: fmt.Errorf("not an Ed25519 key: longer than %d bytes", MaxIdentitySize), Hint: malformed}
	}
	k, err := crypto.UnmarshalPrivateKey(b)
	if err != nil {
		return nil, &IdentityError{Path: path, Err: fmt.Errorf("not an Ed25519 key: %w", err), Hint: malformed}
	}
	if k.Type() != cryptopb.KeyType_Ed25519 {
		return nil, &IdentityError{Path: path, Err: fmt.Errorf("holds a %v key; an identity is an Ed25519 key", k.Type()), Hint: malformed}
	}
	return k, nil
}

// createIdentity writes a new Ed25519 key to path unless path exists.
func createIdentity(path string) error {
	if err := private.MkdirAll(filepath.Dir(path)); err != nil {
		return fmt.Errorf("making a folder for the identity: %w", err)
	}
	k, _, err := crypto.GenerateEd25519Key(nil)
	if err != nil {
		return fmt.Errorf("generating a host key: %w", err)
	}
	b, err := crypto.MarshalPrivateKey(k)
	if err != nil {
		return fmt.Errorf("encoding the host key: %w", err)
	}
	if err := atomicfile.Create(path, b, 0o600); err != nil && !errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("writing the identity: %w", err)
	}
	return nil
}
