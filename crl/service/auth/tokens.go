package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// Errors of the token file a caller can branch on.
var (
	// ErrTokenExists: a token of that name is already in the file.
	ErrTokenExists = errors.New("auth: a token of that name exists")
	// ErrUnknownToken: no token of that name is in the file.
	ErrUnknownToken = errors.New("auth: no token of that name")
	// ErrTokenFile: the token file is malformed or unsafe.
	ErrTokenFile = errors.New("auth: bad token file")
)

// Bounds of the token file.
const (
	// MaxTokenNameBytes bounds a token's name.
	MaxTokenNameBytes = 64
	// MaxTokenFileBytes bounds the token file.
	MaxTokenFileBytes = 4 << 20
	tokenFileVersion  = 1
	tokenRandomBytes  = 32
)

// TokenInfo describes one API token of a token file.
type TokenInfo struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	// Hash is "sha256:" and the hex SHA-256 of the token.
	Hash string `json:"hash"`
}

type tokenFile struct {
	Version int         `json:"version"`
	Tokens  []TokenInfo `json:"tokens"`
}

// CheckTokenName reports whether name may name a token: 1 to 64 letters,
// digits, '.', '_', '-' or '@', starting with a letter or digit.
func CheckTokenName(name string) error {
	if name == "" || len(name) > MaxTokenNameBytes {
		return fmt.Errorf("a token name has 1 to %d characters", MaxTokenNameBytes)
	}
	for i, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
		if i > 0 {
			ok = ok || strings.ContainsRune("._-@", c)
		}
		if !ok {
			return fmt.Errorf("token name %q: use letters, digits and . _ - @, starting with a letter or digit", name)
		}
	}
	return nil
}

func hashToken(tok string) string {
	sum := sha256.Sum256([]byte(tok))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// AddToken makes a new API token named name with role, records its hash in
// the token file at path (creating the file, mode 0600, if need be) and
// returns the token. The token is not stored anywhere: show it once.
func AddToken(path, name string, role Role, now time.Time) (string, error) {
	if err := CheckTokenName(name); err != nil {
		return "", err
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", err
	}
	var raw [tokenRandomBytes]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := TokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	err := updateTokenFile(path, true, func(f *tokenFile) error {
		for _, t := range f.Tokens {
			if t.Name == name {
				return fmt.Errorf("%w: %s", ErrTokenExists, name)
			}
		}
		f.Tokens = append(f.Tokens, TokenInfo{Name: name, Role: role,
			CreatedAt: now.UTC().Truncate(time.Second), Hash: hashToken(tok)})
		return nil
	})
	if err != nil {
		return "", err
	}
	return tok, nil
}

// RevokeToken removes the token named name from the token file. A server
// reading the file refuses the token from its next request on.
func RevokeToken(path, name string) error {
	return updateTokenFile(path, false, func(f *tokenFile) error {
		for i, t := range f.Tokens {
			if t.Name == name {
				f.Tokens = append(f.Tokens[:i], f.Tokens[i+1:]...)
				return nil
			}
		}
		return fmt.Errorf("%w: %s", ErrUnknownToken, name)
	})
}

// ListTokens returns the tokens of the token file at path, in the order
// they were added.
func ListTokens(path string) ([]TokenInfo, error) {
	f, _, err := readTokenFile(path)
	if err != nil {
		return nil, err
	}
	return f.Tokens, nil
}

// updateTokenFile applies fn to the token file under its lock and replaces
// the file atomically.
func updateTokenFile(path string, create bool, fn func(*tokenFile) error) error {
	unlock, err := lockFile(path + ".lock")
	if err != nil {
		return err
	}
	defer unlock()
	f, _, err := readTokenFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && create:
		f = &tokenFile{Version: tokenFileVersion}
	case err != nil:
		return err
	}
	if err := fn(f); err != nil {
		return err
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(path, append(b, '\n'))
}

// writeFileAtomic writes b to a temporary file beside path (mode 0600),
// syncs it and renames it over path, then syncs the directory.
func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// readTokenFile reads and checks the token file at path.
func readTokenFile(path string) (*tokenFile, fs.FileInfo, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer fh.Close()
	fi, err := fh.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%w: %s is not a regular file", ErrTokenFile, path)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		return nil, nil, fmt.Errorf("%w: %s may be written by other users (mode %v): chmod 600 it", ErrTokenFile, path, fi.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(fh, MaxTokenFileBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(b) > MaxTokenFileBytes {
		return nil, nil, fmt.Errorf("%w: %s is larger than %d bytes", ErrTokenFile, path, MaxTokenFileBytes)
	}
	var f tokenFile
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("%w: %s: %v", ErrTokenFile, path, err)
	}
	if f.Version != tokenFileVersion {
		return nil, nil, fmt.Errorf("%w: %s: unsupported version %d", ErrTokenFile, path, f.Version)
	}
	seen := map[string]bool{}
	for _, t := range f.Tokens {
		if err := CheckTokenName(t.Name); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: %v", ErrTokenFile, path, err)
		}
		if seen[t.Name] {
			return nil, nil, fmt.Errorf("%w: %s: token name %q appears twice", ErrTokenFile, path, t.Name)
		}
		seen[t.Name] = true
		if _, err := ParseRole(string(t.Role)); err != nil {
			return nil, nil, fmt.Errorf("%w: %s: token %s: %v", ErrTokenFile, path, t.Name, err)
		}
		h, ok := strings.CutPrefix(t.Hash, "sha256:")
		if d, err := hex.DecodeString(h); !ok || err != nil || len(d) != sha256.Size || strings.ToLower(h) != h {
			return nil, nil, fmt.Errorf("%w: %s: token %s: bad hash", ErrTokenFile, path, t.Name)
		}
	}
	return &f, fi, nil
}

// Tokens authenticates API tokens against a token file, re-reading the
// file whenever it changes. It is safe for concurrent use.
type Tokens struct {
	path string

	mu     sync.RWMutex
	fi     fs.FileInfo          // the file as last read
	byHash map[string]TokenInfo // nil after a failed re-read: refuse all
	err    error                // why the last re-read failed
}

// OpenTokens reads the token file at path.
func OpenTokens(path string) (*Tokens, error) {
	t := &Tokens{path: path}
	if err := t.Reload(); err != nil {
		return nil, err
	}
	return t, nil
}

// Reload re-reads the token file. On failure every token is refused until
// a later read succeeds.
func (t *Tokens) Reload() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.reloadLocked()
}

func (t *Tokens) reloadLocked() error {
	f, fi, err := readTokenFile(t.path)
	if err != nil {
		t.byHash, t.err = nil, err
		if fi, serr := os.Stat(t.path); serr == nil {
			t.fi = fi
		}
		return err
	}
	m := make(map[string]TokenInfo, len(f.Tokens))
	for _, ti := range f.Tokens {
		m[ti.Hash] = ti
	}
	t.fi, t.byHash, t.err = fi, m, nil
	return nil
}

// changed reports whether the file, as stat found it (fi, err), differs
// from the one last read.
func (t *Tokens) changed(fi fs.FileInfo, err error) bool {
	if err != nil || t.fi == nil {
		return true
	}
	return !os.SameFile(fi, t.fi) || fi.Size() != t.fi.Size() || !fi.ModTime().Equal(t.fi.ModTime()) || fi.Mode() != t.fi.Mode()
}

// Authenticate returns the principal of an API token. The token is found
// by its SHA-256; a lookup by hash leaks nothing usable through timing,
// since the hash of an unknown token cannot be steered. The file is
// looked at (stat) on every call, outside any lock, and re-read when it
// changed: concurrent calls wait for each other only during a re-read.
func (t *Tokens) Authenticate(tok string) (Principal, error) {
	h := hashToken(tok)
	fi, serr := os.Stat(t.path)
	t.mu.RLock()
	stale := t.changed(fi, serr)
	t.mu.RUnlock()
	if stale {
		t.mu.Lock()
		if t.changed(fi, serr) {
			t.reloadLocked()
		}
		t.mu.Unlock()
	}
	t.mu.RLock()
	ti, ok := t.byHash[h]
	failed := t.byHash == nil
	t.mu.RUnlock()
	switch {
	case failed:
		return Principal{}, fmt.Errorf("%w: the token file cannot be read, every token is refused", ErrBadCredentials)
	case !ok:
		return Principal{}, fmt.Errorf("%w: unknown or revoked API token", ErrBadCredentials)
	}
	return Principal{Name: "token:" + ti.Name, Method: "token", Roles: []Role{ti.Role}}, nil
}
