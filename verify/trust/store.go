package trust

import (
	"bytes"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/shc"
)

// MaxFileSize bounds a trust store file: room for the document signers of
// every EU country (a few thousand certificates).
const MaxFileSize = 16 << 20

// The store file's versions. Version 1 holds DIVOC issuers and contexts;
// version 2 adds SMART Health Cards issuers and EU DCC issuers. A store is
// written as version 1 while it holds neither, so that programs that read
// only version 1 still read it; other versions are refused.
const (
	formatVersion1 = 1
	formatVersion  = 2
)

// Status is a key's standing.
type Status string

// Key statuses.
const (
	// StatusActive: the key verifies certificates within its window.
	StatusActive Status = "active"
	// StatusTerminated: the key is withdrawn (compromised, retired early);
	// certificates it signed fail, whenever they were signed.
	StatusTerminated Status = "terminated"
)

func (s Status) valid() bool { return s == StatusActive || s == StatusTerminated }

// Policy is how an issuer's certificates are judged beyond the signature.
// The zero Policy is the default: no expiry of any kind.
type Policy struct {
	// EnforceEffectiveWindow makes a DIVOC credential's
	// evidence[0].effectiveStart/effectiveUntil binding. Off by default:
	// production issuers fill them with unreliable values.
	EnforceEffectiveWindow bool `json:"enforce_effective_window,omitempty"`
	// MaxAge, when set, makes a certificate expire that long after its
	// issuance date.
	MaxAge Duration `json:"max_age,omitzero"`
	// CRLIssuer is the issuer the entry is bound to: the issuer name its
	// certificates' revocations are looked up under in the signed lists.
	// A DIVOC credential names an issuer of its own, but its signer chose
	// it, not the verifier: a trusted key could name another authority's
	// issuer and be judged by that authority's list. So it is never used:
	// the certificates of an entry without a CRLIssuer have their
	// revocation status unknown.
	CRLIssuer string `json:"crl_issuer,omitempty"`
	// CRLPublisherKeys, when set, are the publisher keys whose signed
	// lists may answer for the entry's certificates: their RFC 7638
	// SHA-256 thumbprints, base64url (43 characters), as crlverify status
	// shows each stored list's signer key. A list covering the issuer but
	// signed by another key is ignored, its answer (revoked or not) then
	// unknown. Empty: any publisher the CRL store binds to the issuer.
	CRLPublisherKeys []string `json:"crl_publisher_keys,omitempty"`
	// AcceptUnsignedHolder accepts a certificate whose signature is
	// genuine but does not cover its holder (a DIVOC credentialSubject
	// whose id is relative or empty, as Sri Lanka and Jamaica issue
	// them), with the holder's fields marked unsigned. Off by default:
	// such a certificate cannot prove whom it belongs to.
	AcceptUnsignedHolder bool `json:"accept_unsigned_holder,omitempty"`
}

// Entry is one verification method (a credential's
// proof.verificationMethod, e.g. "did:india"): its keys and its policy.
type Entry struct {
	// VerificationMethod is the entry's name in the store.
	VerificationMethod string `json:"-"`
	// Name is for display, e.g. "Government of India".
	Name string `json:"name,omitempty"`
	Policy
	Keys []Key `json:"keys"`
}

// MaxPublisherKeys bounds the crl_publisher_keys of one issuer.
const MaxPublisherKeys = 64

// checkPublisherKeys checks the crl_publisher_keys of issuer who.
func checkPublisherKeys(who string, keys []string) error {
	if len(keys) > MaxPublisherKeys {
		return fmt.Errorf("%w: %s names %d crl_publisher_keys, the most is %d", ErrTooLarge, who, len(keys), MaxPublisherKeys)
	}
	for _, k := range keys {
		if b, err := base64.RawURLEncoding.DecodeString(k); err != nil || len(b) != sha256.Size {
			return fmt.Errorf("%w: %s: crl_publisher_keys: %q is not a key thumbprint (RFC 7638 SHA-256, base64url, 43 characters)", ErrMalformed, who, k)
		}
	}
	return nil
}

// RevocationIssuer returns the issuer the entry is bound to, under which
// its certificates' revocations are looked up (Policy.CRLIssuer), and
// whether it is bound to one.
func (e *Entry) RevocationIssuer() (string, bool) {
	return e.CRLIssuer, e.CRLIssuer != ""
}

// Key is one public key of an entry.
type Key struct {
	// ID is the first 8 bytes of the SHA-256 of the key's SPKI, in hex.
	ID string `json:"id"`
	// Algorithm is RSA-2048, Ed25519, ...
	Algorithm string `json:"alg"`
	// PEM is the key as an SPKI "PUBLIC KEY" PEM block, whatever format
	// it was added in.
	PEM string `json:"public_key"`
	// NotBefore and NotAfter bound when the key may have signed; zero
	// means unbounded.
	NotBefore time.Time `json:"not_before,omitzero"`
	NotAfter  time.Time `json:"not_after,omitzero"`
	Status    Status    `json:"status"`
	// Source is the format the key was added in (pem, jwk, base58, der).
	Source string `json:"source,omitempty"`

	pub crypto.PublicKey
}

// Public returns the parsed key.
func (k *Key) Public() crypto.PublicKey { return k.pub }

// validAt reports whether at is inside the key's window.
func (k *Key) validAt(at time.Time) bool {
	return (k.NotBefore.IsZero() || !at.Before(k.NotBefore)) && (k.NotAfter.IsZero() || !at.After(k.NotAfter))
}

// check says why the key cannot be used at at, or nil.
func (k *Key) check(vm string, at time.Time) error {
	if k.Status == StatusTerminated {
		return fmt.Errorf("%w: key %s of %s", ErrKeyTerminated, k.ID, vm)
	}
	if !k.validAt(at) {
		return fmt.Errorf("%w: key %s of %s is valid %s, not at %s", ErrKeyNotValidAt, k.ID, vm, k.window(), at.UTC().Format(time.RFC3339))
	}
	return nil
}

func (k *Key) window() string {
	from, to := "always", "on"
	if !k.NotBefore.IsZero() {
		from = "from " + k.NotBefore.UTC().Format(time.RFC3339)
	}
	if !k.NotAfter.IsZero() {
		to = "until " + k.NotAfter.UTC().Format(time.RFC3339)
	}
	if k.NotBefore.IsZero() {
		return to
	}
	return from + " " + to
}

// Store maps verification methods to keys and policies. It is safe for
// concurrent use. The zero value is not usable: call [New], [Load] or
// [Parse].
type Store struct {
	mu       sync.RWMutex
	entries  map[string]*Entry
	contexts map[string]*Context
	shc      map[string]*SHCIssuer
	shcRoots []*SHCRoot
	dcc      map[string]*DCCIssuer
	// Made again on every change of the above.
	shcDir     *shc.Directory
	dccSigners *dcc.Signers
}

// New returns an empty store.
func New() *Store {
	return &Store{
		entries: make(map[string]*Entry), contexts: make(map[string]*Context),
		shc: make(map[string]*SHCIssuer), dcc: make(map[string]*DCCIssuer),
		shcDir: shc.NewDirectory(), dccSigners: dcc.NewSigners(),
	}
}

// file is the store's JSON form.
type file struct {
	Version  int                 `json:"version"`
	Issuers  map[string]*Entry   `json:"issuers"`
	Contexts map[string]*Context `json:"contexts,omitempty"`
	// Version 2.
	SHCIssuers map[string]*SHCIssuer `json:"shc_issuers,omitempty"`
	SHCRoots   []*SHCRoot            `json:"shc_x5c_roots,omitempty"`
	DCCIssuers map[string]*DCCIssuer `json:"dcc_issuers,omitempty"`
}

// Parse reads a store file's bytes. Unknown fields and versions are
// refused, every key is parsed, and keys are identified from their content.
func Parse(b []byte) (*Store, error) {
	if len(b) > MaxFileSize {
		return nil, fmt.Errorf("%w: trust store is %d bytes, the limit is %d", ErrTooLarge, len(b), MaxFileSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var f file
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%w: trust store: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trust store: data after its JSON object", ErrMalformed)
	}
	if f.Version != formatVersion1 && f.Version != formatVersion {
		return nil, fmt.Errorf("%w: trust store version %d (this program reads versions %d and %d)", ErrMalformed, f.Version, formatVersion1, formatVersion)
	}
	if f.Version == formatVersion1 && (f.SHCIssuers != nil || f.SHCRoots != nil || f.DCCIssuers != nil) {
		return nil, fmt.Errorf("%w: trust store version 1 with SMART Health Cards or EU DCC issuers (version 2 holds those)", ErrMalformed)
	}
	s := New()
	for vm, e := range f.Issuers {
		if e == nil {
			return nil, fmt.Errorf("%w: trust store: %s is null", ErrMalformed, vm)
		}
		if err := checkVM(vm); err != nil {
			return nil, err
		}
		e.VerificationMethod = vm
		for i := range e.Keys {
			k := &e.Keys[i]
			pub, _, err := ParseKey([]byte(k.PEM))
			if err != nil {
				return nil, fmt.Errorf("trust store: %s key %d: %w", vm, i+1, err)
			}
			der, id, err := spki(pub)
			if err != nil {
				return nil, err
			}
			if k.ID != "" && k.ID != id {
				return nil, fmt.Errorf("%w: trust store: %s key %d has id %s but its key's id is %s", ErrMalformed, vm, i+1, k.ID, id)
			}
			k.ID = id
			k.PEM = pemOf(der)
			k.pub = pub
			k.Algorithm = algorithm(pub)
			if k.Status == "" {
				k.Status = StatusActive
			}
			if !k.Status.valid() {
				return nil, fmt.Errorf("%w: trust store: %s key %s has status %q (want active or terminated)", ErrMalformed, vm, k.ID, k.Status)
			}
			if !k.NotBefore.IsZero() && !k.NotAfter.IsZero() && k.NotAfter.Before(k.NotBefore) {
				return nil, fmt.Errorf("%w: trust store: %s key %s ends before it starts", ErrMalformed, vm, k.ID)
			}
		}
		if e.MaxAge < 0 {
			return nil, fmt.Errorf("%w: trust store: %s has a negative max_age", ErrMalformed, vm)
		}
		if err := checkPublisherKeys(vm, e.CRLPublisherKeys); err != nil {
			return nil, fmt.Errorf("trust store: %w", err)
		}
		s.entries[vm] = e
	}
	for u, c := range f.Contexts {
		if err := checkContext(u, c); err != nil {
			return nil, err
		}
		s.contexts[u] = c
	}
	if err := s.parseFormats(&f); err != nil {
		return nil, err
	}
	return s, nil
}

// parseFormats reads the SMART Health Cards and EU DCC parts of a file.
func (s *Store) parseFormats(f *file) error {
	if len(f.SHCIssuers) > MaxSHCIssuers {
		return fmt.Errorf("%w: trust store holds %d SMART Health Cards issuers, the limit is %d", ErrTooLarge, len(f.SHCIssuers), MaxSHCIssuers)
	}
	for iss, e := range f.SHCIssuers {
		if e == nil {
			return fmt.Errorf("%w: trust store: SMART Health Cards issuer %s is null", ErrMalformed, iss)
		}
		e.Issuer = iss
		if err := checkPublisherKeys(iss, e.CRLPublisherKeys); err != nil {
			return fmt.Errorf("trust store: %w", err)
		}
		sum := e.SHA256
		if err := e.parse(); err != nil {
			return fmt.Errorf("trust store: %w", err)
		}
		if sum != "" && sum != e.SHA256 {
			return fmt.Errorf("%w: trust store: the key set of %s has SHA-256 %s, the store says %s (edited by hand?)", ErrMalformed, iss, e.SHA256, sum)
		}
		s.shc[iss] = e
	}
	if len(f.SHCRoots) > MaxSHCRoots {
		return fmt.Errorf("%w: trust store holds %d x5c roots, the limit is %d", ErrTooLarge, len(f.SHCRoots), MaxSHCRoots)
	}
	for i, r := range f.SHCRoots {
		if r == nil {
			return fmt.Errorf("%w: trust store: x5c root %d is null", ErrMalformed, i+1)
		}
		cert, err := parseCertificate([]byte(r.Certificate))
		if err != nil {
			return fmt.Errorf("trust store: x5c root %d: %w", i+1, err)
		}
		r.cert = cert
		s.shcRoots = append(s.shcRoots, r)
	}
	n := 0
	seen := map[string]string{} // DER → country
	for country, e := range f.DCCIssuers {
		if e == nil {
			return fmt.Errorf("%w: trust store: EU DCC issuer %s is null", ErrMalformed, country)
		}
		if err := checkCountry(country); err != nil {
			return fmt.Errorf("trust store: %w", err)
		}
		if e.MaxAge < 0 {
			return fmt.Errorf("%w: trust store: %s has a negative max_age", ErrMalformed, country)
		}
		if err := checkPublisherKeys(country, e.CRLPublisherKeys); err != nil {
			return fmt.Errorf("trust store: %w", err)
		}
		if n += len(e.Signers); n > MaxDCCSigners {
			return fmt.Errorf("%w: trust store holds more than %d document signers", ErrTooLarge, MaxDCCSigners)
		}
		e.Country = country
		for i := range e.Signers {
			d := &e.Signers[i]
			if err := parseDSC(country, i, d); err != nil {
				return err
			}
			if other, dup := seen[string(d.cert.Raw)]; dup {
				return fmt.Errorf("%w: trust store: the document signer %s is listed twice (%s and %s)", ErrMalformed, d.KID, other, country)
			}
			seen[string(d.cert.Raw)] = country
		}
		s.dcc[country] = e
	}
	s.rebuildSHC()
	s.rebuildDCC()
	return nil
}

// Load reads a store file. A missing file is an error wrapping
// [fs.ErrNotExist].
func Load(path string) (*Store, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	s, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// Marshal returns the store's file form: indented JSON, issuers and
// contexts sorted. A store whose file form would be over [MaxFileSize] (so
// that it could not be read back) is an error wrapping [ErrTooLarge].
func (s *Store) Marshal() ([]byte, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	f := file{Version: formatVersion1, Issuers: s.entries, Contexts: s.contexts}
	if len(s.shc) > 0 || len(s.shcRoots) > 0 || len(s.dcc) > 0 {
		f.Version = formatVersion
		f.SHCIssuers, f.SHCRoots, f.DCCIssuers = s.shc, s.shcRoots, s.dcc
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	if len(b)+1 > MaxFileSize {
		return nil, fmt.Errorf("%w: trust store would be %d bytes, the limit is %d", ErrTooLarge, len(b)+1, MaxFileSize)
	}
	return append(b, '\n'), nil
}

// Save writes the store to path atomically (a temporary file in the same
// directory, synced, then renamed), mode 0644, creating the directory if
// needed.
func (s *Store) Save(path string) error {
	b, err := s.Marshal()
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, a no-op
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
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
		d.Sync() // best effort: make the rename durable
		d.Close()
	}
	return nil
}

// KeyOptions are a key's window and status. Zero fields leave an existing
// key's values as they are; a new key with a zero Status is active.
type KeyOptions struct {
	NotBefore time.Time
	NotAfter  time.Time
	Status    Status
}

// Add adds a key (any format [ParseKey] reads) to verificationMethod,
// creating the entry if needed. Adding a key the entry already has updates
// its window and status from o instead. It returns the key as stored and
// whether it was new.
func (s *Store) Add(verificationMethod string, key []byte, o *KeyOptions) (Key, bool, error) {
	if err := checkVM(verificationMethod); err != nil {
		return Key{}, false, err
	}
	pub, format, err := ParseKey(key)
	if err != nil {
		return Key{}, false, err
	}
	der, id, err := spki(pub)
	if err != nil {
		return Key{}, false, err
	}
	if o == nil {
		o = &KeyOptions{}
	}
	if o.Status != "" && !o.Status.valid() {
		return Key{}, false, fmt.Errorf("%w: status %q (want active or terminated)", ErrMalformed, o.Status)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[verificationMethod]
	if e == nil {
		e = &Entry{VerificationMethod: verificationMethod}
	}
	i := slices.IndexFunc(e.Keys, func(k Key) bool { return k.ID == id })
	k := Key{
		ID:        id,
		Algorithm: algorithm(pub),
		PEM:       pemOf(der),
		Status:    StatusActive,
		Source:    format,
		pub:       pub,
	}
	if i >= 0 {
		k = e.Keys[i]
	}
	if !o.NotBefore.IsZero() {
		k.NotBefore = o.NotBefore.UTC()
	}
	if !o.NotAfter.IsZero() {
		k.NotAfter = o.NotAfter.UTC()
	}
	if o.Status != "" {
		k.Status = o.Status
	}
	if !k.NotBefore.IsZero() && !k.NotAfter.IsZero() && k.NotAfter.Before(k.NotBefore) {
		return Key{}, false, fmt.Errorf("%w: not-after %s is before not-before %s", ErrMalformed,
			k.NotAfter.Format(time.RFC3339), k.NotBefore.Format(time.RFC3339))
	}
	// Copy on write: entries handed out earlier stay as they were.
	ne := *e
	ne.Keys = slices.Clone(e.Keys)
	if i >= 0 {
		ne.Keys[i] = k
	} else {
		ne.Keys = append(ne.Keys, k)
	}
	s.entries[verificationMethod] = &ne
	return k, i < 0, nil
}

// SetPolicy replaces an entry's policy.
func (s *Store) SetPolicy(verificationMethod string, p Policy) error {
	if p.MaxAge < 0 {
		return fmt.Errorf("%w: negative max age", ErrMalformed)
	}
	if err := checkPublisherKeys(verificationMethod, p.CRLPublisherKeys); err != nil {
		return err
	}
	p.CRLPublisherKeys = slices.Clone(p.CRLPublisherKeys)
	return s.update(verificationMethod, func(e *Entry) { e.Policy = p })
}

// SetName sets an entry's display name.
func (s *Store) SetName(verificationMethod, name string) error {
	return s.update(verificationMethod, func(e *Entry) { e.Name = name })
}

func (s *Store) update(vm string, f func(*Entry)) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[vm]
	if e == nil {
		return fmt.Errorf("%w: %q", ErrUnknownIssuer, vm)
	}
	ne := *e
	f(&ne)
	s.entries[vm] = &ne
	return nil
}

// Remove removes an entry with all its keys.
func (s *Store) Remove(verificationMethod string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.entries[verificationMethod]; !ok {
		return fmt.Errorf("%w: %q", ErrUnknownIssuer, verificationMethod)
	}
	delete(s.entries, verificationMethod)
	return nil
}

// RemoveKey removes one key, by its ID, from an entry. The entry stays,
// with its policy, even when it has no key left.
func (s *Store) RemoveKey(verificationMethod, keyID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.entries[verificationMethod]
	if e == nil {
		return fmt.Errorf("%w: %q", ErrUnknownIssuer, verificationMethod)
	}
	i := slices.IndexFunc(e.Keys, func(k Key) bool { return k.ID == keyID })
	if i < 0 {
		return fmt.Errorf("%w: %s has no key %s", ErrUnknownKey, verificationMethod, keyID)
	}
	ne := *e
	ne.Keys = slices.Delete(slices.Clone(e.Keys), i, i+1)
	s.entries[verificationMethod] = &ne
	return nil
}

// List returns every entry, sorted by verification method.
func (s *Store) List() []Entry {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Entry, 0, len(s.entries))
	for _, e := range s.entries {
		out = append(out, copyEntry(e))
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.VerificationMethod, b.VerificationMethod) })
	return out
}

// Entry returns one entry.
func (s *Store) Entry(verificationMethod string) (Entry, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.entries[verificationMethod]
	if !ok {
		return Entry{}, false
	}
	return copyEntry(e), true
}

func copyEntry(e *Entry) Entry {
	c := *e
	c.Keys = slices.Clone(e.Keys)
	return c
}

// Key returns the key of verificationMethod usable at at (normally the
// credential's signing time): active, with at inside its window. With
// several such keys it returns the one added last; an issuer that rotates
// keys is better checked with [Store.Check], which tries them all.
//
// Errors: [ErrUnknownIssuer] when the store has no key for
// verificationMethod, [ErrKeyTerminated] when every key is terminated,
// [ErrKeyNotValidAt] otherwise.
func (s *Store) Key(verificationMethod string, at time.Time) (crypto.PublicKey, *Entry, error) {
	e, err := s.entry(verificationMethod)
	if err != nil {
		return nil, nil, err
	}
	var firstErr error
	for i := len(e.Keys) - 1; i >= 0; i-- {
		k := &e.Keys[i]
		err := k.check(verificationMethod, at)
		if err == nil {
			return k.pub, e, nil
		}
		if firstErr == nil || errors.Is(firstErr, ErrKeyTerminated) {
			firstErr = err
		}
	}
	return nil, e, firstErr
}

// Check finds which key of verificationMethod signed a certificate, and
// whether that key may be trusted at at (normally the signing time).
// verify checks the certificate's signature with one key (for DIVOC,
// divoc.Signed.Verify).
//
// It tries the usable keys first; the first that verifies is returned.
// When only a terminated key, or a key outside its window, verifies, the
// error wraps [ErrKeyTerminated] or [ErrKeyNotValidAt]: the certificate is
// genuine but its key can no longer vouch for it. When no key verifies, the
// error is verify's own. [ErrUnknownIssuer] when the store has no key for
// verificationMethod.
func (s *Store) Check(verificationMethod string, at time.Time, verify func(crypto.PublicKey) error) (*Entry, *Key, error) {
	e, err := s.entry(verificationMethod)
	if err != nil {
		return nil, nil, err
	}
	var verr error
	var unusable []*Key
	for i := len(e.Keys) - 1; i >= 0; i-- {
		k := &e.Keys[i]
		if k.check(verificationMethod, at) != nil {
			unusable = append(unusable, k)
			continue
		}
		if verr = verify(k.pub); verr == nil {
			return e, k, nil
		}
	}
	for _, k := range unusable {
		if err := verify(k.pub); err == nil {
			return e, k, k.check(verificationMethod, at)
		} else if verr == nil {
			verr = err
		}
	}
	return e, nil, verr
}

// entry returns a copy of an entry with at least one key.
func (s *Store) entry(vm string) (*Entry, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.entries[vm]
	if !ok || len(e.Keys) == 0 {
		return nil, fmt.Errorf("%w: no key for verification method %q", ErrUnknownIssuer, vm)
	}
	c := copyEntry(e)
	return &c, nil
}

func pemOf(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// checkVM refuses names no credential could carry.
func checkVM(vm string) error {
	if vm == "" || len(vm) > 512 || strings.TrimSpace(vm) != vm || strings.ContainsAny(vm, "\x00\n\r\t") {
		return fmt.Errorf("%w: verification method %q", ErrMalformed, vm)
	}
	return nil
}

// DefaultPath is where the CLI keeps the trust store:
// crlverify/trust.json under the user's configuration directory.
func DefaultPath() (string, error) {
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "crlverify", "trust.json"), nil
}
