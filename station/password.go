package station

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/crypto/argon2"

	"imageshare/internal/atomicfile"
)

// Argon2id's cost, RFC 9106's second recommended option: 64 MiB and three
// passes, about 0.1 s a login on the stations' hardware. Four lanes.
const (
	argonTime    = 3
	argonMemory  = 64 << 10 // KiB
	argonThreads = 4
	argonKeyLen  = 32
	saltLen      = 16
)

// MinPasswordLength is the shortest password SetPassword takes.
const MinPasswordLength = 10

// ErrLogin is a login refused: an unknown name or a wrong password, not
// told apart.
var ErrLogin = errors.New("wrong name or password")

// passwords are the users of a password file and their hashes. A login
// reads the file again if it changed, so that IT can add or change a
// login without restarting the station.
type passwords struct {
	mu      sync.Mutex
	name    string
	modTime time.Time
	size    int64
	hashes  map[string]string
}

// reload reads the file again if it changed since it was read. A file
// that became unreadable or invalid keeps the logins read before.
func (p *passwords) reload() {
	fi, err := os.Stat(p.name)
	if err != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if fi.ModTime().Equal(p.modTime) && fi.Size() == p.size {
		return
	}
	if q, err := readPasswords(p.name); err == nil {
		p.modTime, p.size, p.hashes = q.modTime, q.size, q.hashes
	}
}

// readPasswords reads a password file: one "name:hash" a line, where the
// hash is an Argon2id PHC string; blank lines and lines starting with #
// are skipped.
func readPasswords(name string) (*passwords, error) {
	fi, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("the password file: %w", err)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("the password file: %w", err)
	}
	p, err := parsePasswords(b)
	if err != nil {
		return nil, fmt.Errorf("the password file %s: %w", name, err)
	}
	if len(p.hashes) == 0 {
		return nil, fmt.Errorf("the password file %s names no one: add a login with `station password`", name)
	}
	p.name, p.modTime, p.size = name, fi.ModTime(), fi.Size()
	return p, nil
}

func parsePasswords(b []byte) (*passwords, error) {
	p := &passwords{hashes: map[string]string{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok || checkUser(user) != nil {
			return nil, fmt.Errorf("line %d is not name:hash", n)
		}
		if _, _, _, err := parseHash(hash); err != nil {
			return nil, fmt.Errorf("line %d (%s): %w", n, user, err)
		}
		p.hashes[user] = hash
	}
	return p, sc.Err()
}

// check reports whether password is user's. An unknown user costs the
// same time as a known one.
func (p *passwords) check(user, password string) error {
	p.reload()
	p.mu.Lock()
	hash, ok := p.hashes[user]
	p.mu.Unlock()
	if !ok {
		hash = decoyHash
	}
	params, salt, key, err := parseHash(hash)
	if err != nil {
		return ErrLogin
	}
	got := argon2.IDKey([]byte(password), salt, params.time, params.memory, params.threads, uint32(len(key)))
	if subtle.ConstantTimeCompare(got, key) != 1 || !ok {
		return ErrLogin
	}
	return nil
}

// decoyHash is checked against for an unknown name.
var decoyHash = hashPassword("decoy", make([]byte, saltLen))

type argonParams struct {
	time, memory uint32
	threads      uint8
}

// hashPassword is the PHC string of password: $argon2id$v=19$m=…,t=…,p=…$salt$key.
func hashPassword(password string, salt []byte) string {
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

func parseHash(h string) (argonParams, []byte, []byte, error) {
	var p argonParams
	parts := strings.Split(h, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("not an Argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, errors.New("not Argon2 version 19")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.memory, &p.time, &p.threads); err != nil ||
		p.time < 1 || p.threads < 1 || p.memory < 8*uint32(p.threads) || p.memory > 1<<22 {
		return p, nil, nil, errors.New("Argon2id parameters out of range")
	}
	b64 := base64.RawStdEncoding
	salt, err1 := b64.DecodeString(parts[4])
	key, err2 := b64.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(salt) < 8 || len(key) < 16 {
		return p, nil, nil, errors.New("the salt or key is not base64 of the right length")
	}
	return p, salt, key, nil
}

func checkUser(user string) error {
	if user == "" || len(user) > 64 {
		return errors.New("a login name has 1 to 64 characters")
	}
	for _, r := range user {
		if r == ':' || unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return fmt.Errorf("a login name has no spaces, colons or control characters: %q", user)
		}
	}
	return nil
}

// SetPassword sets user's password in the password file name, adding the
// user or replacing their hash, and keeping everything else; the file is
// made if there is none, readable by its owner alone. Only the hash is
// written.
func SetPassword(name, user, password string) error {
	if err := checkUser(user); err != nil {
		return err
	}
	if len([]rune(password)) < MinPasswordLength {
		return fmt.Errorf("a password has at least %d characters", MinPasswordLength)
	}
	old, err := os.ReadFile(name)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if _, err := parsePasswords(old); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	entry := user + ":" + hashPassword(password, salt)
	var out bytes.Buffer
	replaced := false
	sc := bufio.NewScanner(bytes.NewReader(old))
	for sc.Scan() {
		line := sc.Text()
		if u, _, ok := strings.Cut(strings.TrimSpace(line), ":"); ok && u == user && !strings.HasPrefix(u, "#") {
			line, replaced = entry, true
		}
		out.WriteString(line + "\n")
	}
	if !replaced {
		if len(old) == 0 {
			out.WriteString("# imageshare station logins: name:Argon2id hash. Set with `sender station password` or `receiver station password`.\n")
		}
		out.WriteString(entry + "\n")
	}
	return atomicfile.Write(name, out.Bytes(), 0o600)
}
