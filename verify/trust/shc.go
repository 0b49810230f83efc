package trust

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"slices"
	"strings"

	"github.com/crlverify/crlverify/verify/shc"
)

// MaxSHCIssuers bounds the SMART Health Cards issuers one store holds.
const MaxSHCIssuers = 1000

// MaxSHCRoots bounds the x5c root certificates one store holds.
const MaxSHCRoots = 100

// IssuerPolicy is how the certificates of a SMART Health Cards or EU DCC
// issuer are judged beyond their signature and their own dates. The zero
// IssuerPolicy is the default.
type IssuerPolicy struct {
	// MaxAge, when set, makes a certificate expire that long after it was
	// issued (a card's nbf, a DCC's iat), whatever its own expiry says.
	MaxAge Duration `json:"max_age,omitzero"`
	// CRLIssuer, when set, is the issuer name revocations are keyed under
	// in the signed snapshots; by default the card's iss, or the DCC's
	// issuing country.
	CRLIssuer string `json:"crl_issuer,omitempty"`
	// CRLPublisherKeys, when set, are the publisher keys whose signed
	// lists may answer for the issuer's certificates (see
	// Policy.CRLPublisherKeys).
	CRLPublisherKeys []string `json:"crl_publisher_keys,omitempty"`
}

// check checks p for the issuer who.
func (p *IssuerPolicy) check(who string) error {
	if p.MaxAge < 0 {
		return fmt.Errorf("%w: negative max age", ErrMalformed)
	}
	return checkPublisherKeys(who, p.CRLPublisherKeys)
}

// SHCIssuer is a trusted SMART Health Cards issuer: the URL its cards name
// as iss, and its key set (its /.well-known/jwks.json), embedded in the
// store as it was added.
type SHCIssuer struct {
	// Issuer is the issuer URL, the entry's name in the store.
	Issuer string `json:"-"`
	// Name is for display.
	Name string `json:"name,omitempty"`
	IssuerPolicy
	// JWKS is the issuer's key set, a JSON object with "keys".
	JWKS json.RawMessage `json:"jwks"`
	// SHA256 is the hex SHA-256 of JWKS in compact form (no white space
	// between tokens), checked when the store is read.
	SHA256 string `json:"sha256,omitempty"`
	// Source names the file the key set was added from, for display.
	Source string `json:"source,omitempty"`

	keys *shc.JWKS
}

// KeySet returns the parsed key set.
func (e *SHCIssuer) KeySet() *shc.JWKS { return e.keys }

// SHCRoot is a root certificate the x5c chains of SMART Health Cards
// issuers' keys must lead to. Without any, x5c chains are checked only for
// consistency (see package shc).
type SHCRoot struct {
	// Certificate is the certificate as PEM.
	Certificate string `json:"certificate"`
	// Source names the file it was added from, for display.
	Source string `json:"source,omitempty"`

	cert *x509.Certificate
}

// X509 returns the parsed certificate.
func (r *SHCRoot) X509() *x509.Certificate { return r.cert }

// Fingerprint is the hex SHA-256 of the certificate's DER: its name in
// [Store.RemoveSHCRoot].
func (r *SHCRoot) Fingerprint() string {
	sum := sha256.Sum256(r.cert.Raw)
	return hex.EncodeToString(sum[:])
}

// AddSHCIssuer trusts jwks (an issuer's jwks.json, parsed with
// [shc.ParseJWKS]) as the key set of the SMART Health Cards issuer iss (an
// issuer URL, see [shc.CheckIssuerURL]), replacing any key set it had and
// keeping its name and policy. source names where it came from, for
// display. It returns the entry as stored and whether iss is new.
func (s *Store) AddSHCIssuer(iss string, jwks []byte, source string) (SHCIssuer, bool, error) {
	e := &SHCIssuer{Issuer: iss, JWKS: bytes.Clone(jwks), Source: cleanSource(source)}
	if err := e.parse(); err != nil {
		return SHCIssuer{}, false, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	old, had := s.shc[iss]
	if !had && len(s.shc) >= MaxSHCIssuers {
		return SHCIssuer{}, false, fmt.Errorf("%w: the store holds %d SMART Health Cards issuers, the most it may", ErrTooLarge, MaxSHCIssuers)
	}
	if had {
		e.Name, e.IssuerPolicy = old.Name, old.IssuerPolicy
	}
	s.shc[iss] = e
	s.rebuildSHC()
	return *e, !had, nil
}

// parse checks an entry and parses its key set.
func (e *SHCIssuer) parse() error {
	if err := shc.CheckIssuerURL(e.Issuer); err != nil {
		return fmt.Errorf("%w: SMART Health Cards issuer: %v", ErrMalformed, err)
	}
	if len(e.JWKS) > shc.MaxJWKSSize {
		return fmt.Errorf("%w: key set of %s is %d bytes, the limit is %d", ErrTooLarge, e.Issuer, len(e.JWKS), shc.MaxJWKSSize)
	}
	set, err := shc.ParseJWKS(e.JWKS)
	if err != nil {
		return fmt.Errorf("%w: key set of %s: %w", ErrMalformed, e.Issuer, err)
	}
	if e.MaxAge < 0 {
		return fmt.Errorf("%w: %s has a negative max_age", ErrMalformed, e.Issuer)
	}
	// The file re-indents the key set: its sum is that of the compact
	// form, which reading the file gives back.
	var compact bytes.Buffer
	if err := json.Compact(&compact, e.JWKS); err != nil {
		return fmt.Errorf("%w: key set of %s: %v", ErrMalformed, e.Issuer, err)
	}
	e.keys, e.JWKS = set, compact.Bytes()
	sum := sha256.Sum256(e.JWKS)
	e.SHA256 = hex.EncodeToString(sum[:])
	return nil
}

// SetSHCIssuer sets the display name and policy of an SMART Health Cards
// issuer.
func (s *Store) SetSHCIssuer(iss, name string, p IssuerPolicy) error {
	if err := p.check(iss); err != nil {
		return err
	}
	p.CRLPublisherKeys = slices.Clone(p.CRLPublisherKeys)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.shc[iss]
	if e == nil {
		return fmt.Errorf("%w: no SMART Health Cards issuer %q", ErrUnknownIssuer, iss)
	}
	ne := *e
	ne.Name, ne.IssuerPolicy = name, p
	s.shc[iss] = &ne
	return nil
}

// RemoveSHCIssuer stops trusting an SMART Health Cards issuer.
func (s *Store) RemoveSHCIssuer(iss string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.shc[iss]; !ok {
		return fmt.Errorf("%w: no SMART Health Cards issuer %q", ErrUnknownIssuer, iss)
	}
	delete(s.shc, iss)
	s.rebuildSHC()
	return nil
}

// SHCIssuer returns one SMART Health Cards issuer.
func (s *Store) SHCIssuer(iss string) (SHCIssuer, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.shc[iss]
	if !ok {
		return SHCIssuer{}, false
	}
	return *e, true
}

// SHCIssuers returns every SMART Health Cards issuer, sorted by URL.
func (s *Store) SHCIssuers() []SHCIssuer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]SHCIssuer, 0, len(s.shc))
	for _, e := range s.shc {
		out = append(out, *e)
	}
	slices.SortFunc(out, func(a, b SHCIssuer) int { return strings.Compare(a.Issuer, b.Issuer) })
	return out
}

// SHCIssuerForKID returns the issuers whose key set holds a signing key
// with kid, sorted: normally one, since a kid is its key's thumbprint.
func (s *Store) SHCIssuerForKID(kid string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for iss, e := range s.shc {
		if _, ok := e.keys.Key(kid); ok {
			out = append(out, iss)
		}
	}
	slices.Sort(out)
	return out
}

// SHCDirectory returns the SMART Health Cards key sets as a
// [shc.Directory], with the roots x5c chains must lead to, if any. It is
// made again when the store changes; the one returned is not changed
// afterwards.
func (s *Store) SHCDirectory() *shc.Directory {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.shcDir
}

// AddSHCRoot adds a root certificate (PEM or DER) that the x5c chains of
// issuers' keys must lead to, and reports whether it is new. Once the store
// holds one root, a key with an x5c chain is used only when its chain leads
// to one of them, every certificate valid when the card was issued (its
// nbf; see shc.VerifySignature); keys without x5c are trusted as
// configured either way.
func (s *Store) AddSHCRoot(b []byte, source string) (SHCRoot, bool, error) {
	cert, err := parseCertificate(b)
	if err != nil {
		return SHCRoot{}, false, err
	}
	r := &SHCRoot{Certificate: pemCertificate(cert.Raw), Source: cleanSource(source), cert: cert}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, old := range s.shcRoots {
		if bytes.Equal(old.cert.Raw, cert.Raw) {
			return *old, false, nil
		}
	}
	if len(s.shcRoots) >= MaxSHCRoots {
		return SHCRoot{}, false, fmt.Errorf("%w: the store holds %d x5c roots, the most it may", ErrTooLarge, MaxSHCRoots)
	}
	s.shcRoots = append(s.shcRoots, r)
	s.rebuildSHC()
	return *r, true, nil
}

// RemoveSHCRoot removes the root whose [SHCRoot.Fingerprint] is
// fingerprint (or starts with it, when that names one root).
func (s *Store) RemoveSHCRoot(fingerprint string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := -1
	for j, r := range s.shcRoots {
		if fp := r.Fingerprint(); fp == fingerprint || (len(fingerprint) >= 8 && strings.HasPrefix(fp, fingerprint)) {
			if i >= 0 {
				return fmt.Errorf("%w: %q names more than one root", ErrUnknownKey, fingerprint)
			}
			i = j
		}
	}
	if i < 0 {
		return fmt.Errorf("%w: no x5c root %q", ErrUnknownKey, fingerprint)
	}
	s.shcRoots = slices.Delete(slices.Clone(s.shcRoots), i, i+1)
	s.rebuildSHC()
	return nil
}

// SHCRoots returns the x5c roots.
func (s *Store) SHCRoots() []SHCRoot {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]SHCRoot, len(s.shcRoots))
	for i, r := range s.shcRoots {
		out[i] = *r
	}
	return out
}

// rebuildSHC makes the directory again; s.mu is held for writing.
func (s *Store) rebuildSHC() {
	d := shc.NewDirectory()
	for iss, e := range s.shc {
		// Checked when the entry was made.
		_ = d.Add(iss, e.keys)
	}
	if len(s.shcRoots) > 0 {
		pool := x509.NewCertPool()
		for _, r := range s.shcRoots {
			pool.AddCert(r.cert)
		}
		d.SetRoots(pool)
	}
	s.shcDir = d
}

// parseCertificate reads one certificate, PEM or DER.
func parseCertificate(b []byte) (*x509.Certificate, error) {
	if len(b) > MaxKeySize {
		return nil, fmt.Errorf("%w: certificate of %d bytes, the limit is %d", ErrTooLarge, len(b), MaxKeySize)
	}
	der := b
	if blk, rest := pem.Decode(b); blk != nil {
		if blk.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("%w: a PEM %q block, not a CERTIFICATE", ErrMalformed, blk.Type)
		}
		if len(bytes.TrimSpace(rest)) > 0 {
			return nil, fmt.Errorf("%w: more than one PEM block where one certificate was expected", ErrMalformed)
		}
		der = blk.Bytes
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("%w: certificate: %v", ErrMalformed, err)
	}
	return cert, nil
}

func pemCertificate(der []byte) string {
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// cleanSource keeps a source name fit for display.
func cleanSource(s string) string {
	if len(s) > maxURL || strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f || r == 0xfffd }) {
		return ""
	}
	return s
}
