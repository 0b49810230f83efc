package shc

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Bounds on issuer key sets.
const (
	// MaxJWKSSize is the most bytes a key set (jwks.json) may have.
	MaxJWKSSize = 1 << 20
	// MaxJWKSKeys is the most keys a key set may list.
	MaxJWKSKeys = 100
	// MaxChainLength is the most certificates one x5c chain may hold.
	MaxChainLength = 8
)

// Key is an issuer's ES256 signing key, as its key set publishes it.
type Key struct {
	// ID is the key's kid, which cards name in their header.
	ID string
	// Public is the P-256 public key.
	Public *ecdsa.PublicKey
	// Thumbprint is the key's RFC 7638 SHA-256 thumbprint, base64url. The
	// specification makes it the kid; a key whose kid differs is still
	// used (the key set is trusted as configured), and a caller may warn.
	Thumbprint string
	// CRLVersion is the key's crlVersion: the ctr of the revocation list
	// the issuer publishes for it at /.well-known/crl/{kid}.json. 0 when
	// the key has none (the issuer publishes no list for it).
	CRLVersion int64
	// Chains are the key's x5c certificate chains, leaf first, one per
	// JWK entry carrying the key (an issuer in several trust communities
	// lists the key once per certificate). Each is already checked: the
	// leaf's public key is Public, and each certificate is signed by the
	// next.
	Chains [][]*x509.Certificate
}

// SkippedKey is an entry of a key set that is not a usable ES256 signing
// key, and why.
type SkippedKey struct {
	// Index is the entry's position in "keys"; ID its kid, if it has one.
	Index  int
	ID     string
	Reason string
}

// JWKS is an issuer's parsed key set. It is not changed after
// [ParseJWKS], so it is safe for concurrent use.
type JWKS struct {
	// Keys are the usable signing keys, in key set order, one per kid.
	Keys []*Key
	// Skipped are the entries that are not usable signing keys: another
	// key type, curve, use or algorithm (the specification filters on kty,
	// use and alg), a published private key, a bad point or an x5c chain
	// that does not hold together.
	Skipped []SkippedKey

	byID    map[string]*Key
	skipped map[string]string
}

// Key returns the usable signing key with the given kid.
func (s *JWKS) Key(kid string) (*Key, bool) {
	k, ok := s.byID[kid]
	return k, ok
}

// ParseJWKS reads an issuer's key set (at most [MaxJWKSSize] bytes and
// [MaxJWKSKeys] keys). Signing keys are entries with kty "EC", crv
// "P-256", use "sig", alg "ES256", a kid, x and y (32 bytes each, a point
// on the curve), no private part "d", an optional crlVersion (a positive
// integer) and an optional x5c chain (at most [MaxChainLength] standard
// base64 DER certificates whose first holds the same public key, each
// signed by the next). Other entries are listed in [JWKS.Skipped]. Two
// entries with one kid must carry the same key and crlVersion (they may
// differ in x5c). A set with no usable signing key is refused.
func ParseJWKS(b []byte) (*JWKS, error) {
	if len(b) > MaxJWKSSize {
		return nil, tooLarge("key set of %d bytes, more than %d", len(b), MaxJWKSSize)
	}
	top, err := decodeObject(b)
	if err != nil {
		return nil, malformed("key set: %v", err)
	}
	rawKeys, ok := top["keys"].([]any)
	if !ok {
		return nil, malformed("key set: no \"keys\" array")
	}
	if len(rawKeys) > MaxJWKSKeys {
		return nil, tooLarge("key set of %d keys, more than %d", len(rawKeys), MaxJWKSKeys)
	}
	s := &JWKS{byID: map[string]*Key{}, skipped: map[string]string{}}
	for i, rk := range rawKeys {
		m, ok := rk.(map[string]any)
		if !ok {
			return nil, malformed("key set: keys[%d] is not an object", i)
		}
		kid, _ := m["kid"].(string)
		k, err := parseJWK(m)
		if err != nil {
			s.Skipped = append(s.Skipped, SkippedKey{Index: i, ID: kid, Reason: err.Error()})
			if _, seen := s.skipped[kid]; !seen && kid != "" {
				s.skipped[kid] = err.Error()
			}
			continue
		}
		prev, dup := s.byID[kid]
		if !dup {
			s.byID[kid] = k
			s.Keys = append(s.Keys, k)
			continue
		}
		if !prev.Public.Equal(k.Public) || prev.CRLVersion != k.CRLVersion {
			return nil, malformed("key set: two different keys with kid %q", kid)
		}
		prev.Chains = append(prev.Chains, k.Chains...)
	}
	if len(s.Keys) == 0 {
		var why []string
		for _, sk := range s.Skipped {
			why = append(why, fmt.Sprintf("keys[%d]: %s", sk.Index, sk.Reason))
		}
		return nil, malformed("key set: no ES256 signing key (kty EC, crv P-256, use sig, alg ES256)%s", listSuffix(why))
	}
	return s, nil
}

func listSuffix(why []string) string {
	if len(why) == 0 {
		return ""
	}
	return "; " + strings.Join(why, "; ")
}

// parseJWK checks one key set entry as an ES256 signing key.
func parseJWK(m map[string]any) (*Key, error) {
	str := func(name string) string { s, _ := m[name].(string); return s }
	for _, want := range []struct{ name, value string }{
		{"kty", "EC"}, {"crv", "P-256"}, {"use", "sig"}, {"alg", "ES256"},
	} {
		if got := str(want.name); got != want.value {
			if _, ok := m[want.name]; !ok {
				return nil, fmt.Errorf("no %q (a signing key has %s %q)", want.name, want.name, want.value)
			}
			return nil, fmt.Errorf("%s %q, not %q", want.name, got, want.value)
		}
	}
	kid := str("kid")
	if kid == "" {
		return nil, errors.New("no kid")
	}
	if _, ok := m["d"]; ok {
		return nil, errors.New("the private key is published (\"d\"): anyone can sign with it")
	}
	var point [65]byte
	point[0] = 4
	for i, name := range []string{"x", "y"} {
		c, err := decodeB64(str(name))
		if err != nil || len(c) != 32 {
			return nil, fmt.Errorf("%q is not a base64url 32-byte coordinate", name)
		}
		copy(point[1+32*i:], c)
	}
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), point[:])
	if err != nil {
		return nil, errors.New("x, y is not a point of P-256")
	}
	k := &Key{ID: kid, Public: pub, Thumbprint: thumbprint(point[1:33], point[33:])}
	if v, ok := m["crlVersion"]; ok {
		if k.CRLVersion, err = positiveInt(v); err != nil {
			return nil, fmt.Errorf("crlVersion: %v", err)
		}
	}
	if v, ok := m["x5c"]; ok {
		chain, err := parseChain(v, pub)
		if err != nil {
			return nil, fmt.Errorf("x5c: %v", err)
		}
		k.Chains = [][]*x509.Certificate{chain}
	}
	return k, nil
}

// positiveInt reads a counter: a JSON integer from 1, or such an integer as
// a decimal string (the specification's template quotes it).
func positiveInt(v any) (int64, error) {
	var s string
	switch v := v.(type) {
	case json.Number:
		s = string(v)
	case string:
		s = v
	default:
		return 0, errors.New("not a number")
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 || s != strconv.FormatInt(n, 10) {
		return 0, fmt.Errorf("%s is not a positive integer", s)
	}
	return n, nil
}

// thumbprint is the RFC 7638 SHA-256 thumbprint of an EC P-256 key.
func thumbprint(x, y []byte) string {
	enc := base64.RawURLEncoding
	j := `{"crv":"P-256","kty":"EC","x":"` + enc.EncodeToString(x) + `","y":"` + enc.EncodeToString(y) + `"}`
	sum := sha256.Sum256([]byte(j))
	return enc.EncodeToString(sum[:])
}

// parseChain reads an x5c array and checks that it holds together: the
// leaf holds pub and each certificate is signed by the next. Trust in the
// last one is not decided here (see [Directory.SetRoots]).
func parseChain(v any, pub *ecdsa.PublicKey) ([]*x509.Certificate, error) {
	list, ok := v.([]any)
	if !ok || len(list) == 0 {
		return nil, errors.New("not a non-empty array")
	}
	if len(list) > MaxChainLength {
		return nil, fmt.Errorf("%d certificates, more than %d", len(list), MaxChainLength)
	}
	chain := make([]*x509.Certificate, len(list))
	for i, e := range list {
		s, ok := e.(string)
		if !ok {
			return nil, fmt.Errorf("[%d] is not a string", i)
		}
		der, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || strings.ContainsAny(s, "\r\n") {
			return nil, fmt.Errorf("[%d] is not standard base64", i)
		}
		if chain[i], err = x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("[%d]: %v", i, err)
		}
	}
	leafKey, ok := chain[0].PublicKey.(*ecdsa.PublicKey)
	if !ok || !leafKey.Equal(pub) {
		return nil, errors.New("the first certificate's public key is not the key's")
	}
	for i := 0; i+1 < len(chain); i++ {
		if err := chain[i].CheckSignatureFrom(chain[i+1]); err != nil {
			return nil, fmt.Errorf("[%d] is not signed by [%d]: %v", i, i+1, err)
		}
	}
	return chain, nil
}
