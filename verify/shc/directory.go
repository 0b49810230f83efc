package shc

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"math/big"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// Directory maps issuer URLs to their key sets: the verifier's offline copy
// of each trusted issuer's /.well-known/jwks.json. A card's kid is looked
// up only in the key set of the card's own iss, so one issuer's key never
// vouches for another's card. A Directory is safe for concurrent use.
type Directory struct {
	mu      sync.RWMutex
	issuers map[string]*JWKS
	roots   *x509.CertPool
}

// NewDirectory returns an empty Directory.
func NewDirectory() *Directory { return &Directory{issuers: map[string]*JWKS{}} }

// CheckIssuerURL checks that iss has the form the specification requires
// of an issuer URL: https, a host, no user, no trailing "/", no query or
// fragment. Errors wrap [ErrMalformed].
func CheckIssuerURL(iss string) error {
	u, err := url.Parse(iss)
	switch {
	case err != nil:
		return malformed("issuer %q is not a URL: %v", iss, err)
	case u.Scheme != "https" || u.Host == "" || u.User != nil:
		return malformed("issuer %q is not an https URL", iss)
	case u.RawQuery != "" || u.Fragment != "" || u.ForceQuery || strings.HasSuffix(iss, "#"):
		return malformed("issuer %q has a query or fragment", iss)
	case strings.HasSuffix(iss, "/"):
		return malformed("issuer %q ends with \"/\"", iss)
	}
	return nil
}

// Add trusts set as the key set of issuer (an issuer URL, see
// [CheckIssuerURL]), replacing any set it had. Cards match issuers by the
// exact string of their iss.
func (d *Directory) Add(issuer string, set *JWKS) error {
	if err := CheckIssuerURL(issuer); err != nil {
		return err
	}
	if set == nil || len(set.byID) == 0 {
		return malformed("no signing key for %s", issuer)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.issuers == nil {
		d.issuers = map[string]*JWKS{}
	}
	d.issuers[issuer] = set
	return nil
}

// AddJWKS parses b ([ParseJWKS]) and adds it as the key set of issuer.
func (d *Directory) AddJWKS(issuer string, b []byte) error {
	set, err := ParseJWKS(b)
	if err != nil {
		return err
	}
	return d.Add(issuer, set)
}

// Remove forgets issuer.
func (d *Directory) Remove(issuer string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.issuers, issuer)
}

// Issuers returns the issuers with a key set, sorted.
func (d *Directory) Issuers() []string {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]string, 0, len(d.issuers))
	for iss := range d.issuers {
		out = append(out, iss)
	}
	slices.Sort(out)
	return out
}

// KeySet returns the key set of issuer.
func (d *Directory) KeySet(issuer string) (*JWKS, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	s, ok := d.issuers[issuer]
	return s, ok
}

// SetRoots makes the Directory check x5c chains against roots: a key
// carrying an x5c chain is then used only if one of its chains leads to
// one of roots, every certificate valid when the card was issued (see
// [VerifySignature]). nil (the default) checks chains only for
// consistency (see [ParseJWKS] and [Key.CheckIssuer]). Keys without x5c
// are trusted as configured either way.
func (d *Directory) SetRoots(roots *x509.CertPool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.roots = roots
}

// Key returns the signing key kid of issuer: [ErrUnknownIssuer] when the
// issuer has no key set, an [*UnknownKeyError] when its set has no such
// key, [ErrBadSignature] when the set lists the kid but not as a usable
// signing key.
func (d *Directory) Key(issuer, kid string) (*Key, error) {
	if d == nil {
		return nil, fmt.Errorf("%w %q: no key set configured for it", ErrUnknownIssuer, issuer)
	}
	d.mu.RLock()
	set, ok := d.issuers[issuer]
	d.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w %q: no key set configured for it", ErrUnknownIssuer, issuer)
	}
	if k, ok := set.Key(kid); ok {
		return k, nil
	}
	if why, ok := set.skipped[kid]; ok {
		return nil, badSignature("key %q of %s is not a usable signing key: %s", kid, issuer, why)
	}
	return nil, &UnknownKeyError{Issuer: issuer, KID: kid}
}

func (d *Directory) rootPool() *x509.CertPool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.roots
}

// CheckIssuer checks that the key's x5c certificates, if it has any, are
// about issuer: the leaf of some chain lists issuer as a
// uniformResourceIdentifier in its subject alternative names.
func (k *Key) CheckIssuer(issuer string) error {
	if len(k.Chains) == 0 {
		return nil
	}
	var names []string
	for _, chain := range k.Chains {
		for _, u := range chain[0].URIs {
			if u.String() == issuer {
				return nil
			}
			names = append(names, u.String())
		}
	}
	return badSignature("the x5c certificate of key %q names %q, not the issuer %s", k.ID, names, issuer)
}

// checkRoots checks that some chain of k leads to roots at time at, the
// card's issuance (why says so, for the message).
func (k *Key) checkRoots(roots *x509.CertPool, at time.Time, why string) error {
	var last error
	for _, chain := range k.Chains {
		inter := x509.NewCertPool()
		for _, c := range chain[1:] {
			inter.AddCert(c)
		}
		_, err := chain[0].Verify(x509.VerifyOptions{
			Roots:         roots,
			Intermediates: inter,
			CurrentTime:   at,
			KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
		})
		if err == nil {
			return nil
		}
		last = err
	}
	return badSignature("the x5c chain of key %q does not lead to a trusted root at %s (%s): %v", k.ID, at.UTC().Format(time.RFC3339), why, last)
}

// VerifySignature checks the card's signature, at time at: the card's
// issuer has a key set in issuers ([ErrUnknownIssuer]), it has a usable
// signing key with the card's kid ([*UnknownKeyError], [ErrBadSignature]),
// that key's x5c certificates name the issuer and, if the Directory has
// roots, lead to one of them, and the ES256 signature (64 bytes, r||s)
// verifies ([ErrBadSignature]). It returns the key once found, also with
// a bad signature. It does not look at the card's validity dates; see
// [Card.CheckValidity] and [Verify].
//
// An x5c chain is judged as of the card's issuance, its nbf (or at, when
// that is earlier: a card is never judged as issued later than the time
// of the check), as the specification asks (the chain "not expired at card
// issuance time"): a card issued while its issuer's certificates were
// valid keeps verifying after they expire, as cards are facts that do not
// expire, and a card whose nbf falls outside its certificates' validity
// does not verify, however valid they are when it is checked.
func VerifySignature(c *Card, issuers *Directory, at time.Time) (*Key, error) {
	k, err := issuers.Key(c.signed.iss, c.signed.kid)
	if err != nil {
		return nil, err
	}
	if err := k.CheckIssuer(c.signed.iss); err != nil {
		return k, err
	}
	roots := issuers.rootPool()
	if roots != nil && len(k.Chains) > 0 {
		issued, why := c.signed.nbf, "the card's issuance, its nbf"
		if at.Before(issued) {
			issued, why = at, "the time of the check, before the card's nbf"
		}
		if err := k.checkRoots(roots, issued, why); err != nil {
			return k, err
		}
	}
	if err := verifyES256(k, c); err != nil {
		return k, err
	}
	return k, nil
}

// Verify checks the card's signature ([VerifySignature]) and then its
// validity at time at ([Card.CheckValidity], no clock skew). A verdict
// that puts a revocation check between the two calls them separately.
func Verify(c *Card, issuers *Directory, at time.Time) (*Key, error) {
	k, err := VerifySignature(c, issuers, at)
	if err != nil {
		return k, err
	}
	return k, c.CheckValidity(at, 0)
}

// verifyES256 checks the card's signature with k: ECDSA P-256 over
// SHA-256 of the JWS signing input, the signature the 32-byte big-endian r
// then s (RFC 7518, section 3.4).
func verifyES256(k *Key, c *Card) error {
	sig := c.signature
	if len(sig) != 64 {
		if isDER(sig) {
			return badSignature("the signature is DER-encoded (ASN.1); ES256 requires the 64-byte r||s form (RFC 7518, section 3.4)")
		}
		return badSignature("a signature of %d bytes; ES256 signatures are 64 bytes (r||s)", len(sig))
	}
	if !es256(k.Public, c.signingInput, sig) {
		return badSignature("the signature does not verify with key %q of %s", k.ID, c.signed.iss)
	}
	return nil
}

// es256 reports whether sig, 64 bytes r||s, is an ES256 signature of
// input by pub.
func es256(pub *ecdsa.PublicKey, input string, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	h := sha256.Sum256([]byte(input))
	r := new(big.Int).SetBytes(sig[:32])
	s := new(big.Int).SetBytes(sig[32:])
	return ecdsa.Verify(pub, h[:], r, s)
}

// maxHeaderChars bounds the header part [Directory.SignedBy] reads: a
// card's header is some 80 characters.
const maxHeaderChars = 1024

// SignedBy reports whether jws, a compact JWS, carries a signature that
// verifies with a key of some issuer in d whose kid is the one its header
// names, without inflating or reading its payload. It costs a header
// parse and a signature check per issuer holding the kid, so it can tell
// cheaply which chunks of several cards scanned together belong together
// (any joining that verifies is a card some trusted issuer signed). It is
// no verification of a card: that is [VerifySignature], which also checks
// the issuer the payload names.
func (d *Directory) SignedBy(jws string) bool {
	if d == nil || len(jws) > MaxJWSSize || strings.Count(jws, ".") != 2 {
		return false
	}
	head, rest, _ := strings.Cut(jws, ".")
	_, sigPart, _ := strings.Cut(rest, ".")
	if len(head) > maxHeaderChars {
		return false
	}
	raw, err := decodeB64(head)
	if err != nil {
		return false
	}
	h, err := parseHeader(raw)
	if err != nil {
		return false
	}
	sig, err := decodeB64(sigPart)
	if err != nil || len(sig) != 64 {
		return false
	}
	input := jws[:len(jws)-len(sigPart)-1]
	d.mu.RLock()
	defer d.mu.RUnlock()
	for _, set := range d.issuers {
		if k, ok := set.Key(h.KID); ok && es256(k.Public, input, sig) {
			return true
		}
	}
	return false
}

// isDER reports whether sig has the shape of a DER ECDSA signature:
// SEQUENCE { INTEGER r, INTEGER s } with a one-byte length.
func isDER(sig []byte) bool {
	return len(sig) >= 8 && sig[0] == 0x30 && int(sig[1]) == len(sig)-2 && sig[2] == 0x02
}

// CheckValidity checks the card's dates at time at: [ErrNotYetValid] when
// its nbf is after at+skew (skew tolerates a card issued by a clock ahead
// of the verifier's), [ErrExpired] when it has an exp and at is not before
// it (RFC 7519). Both come in a [*ValidityError] with the times.
func (c *Card) CheckValidity(at time.Time, skew time.Duration) error {
	nbf, exp := c.signed.nbf, c.signed.exp
	if nbf.After(at.Add(skew)) {
		return &ValidityError{Err: ErrNotYetValid, At: at, NotBefore: nbf, Expires: exp}
	}
	if !exp.IsZero() && !at.Before(exp) {
		return &ValidityError{Err: ErrExpired, At: at, NotBefore: nbf, Expires: exp}
	}
	return nil
}
