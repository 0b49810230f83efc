package snapshot

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Keys finds a trusted verification key by key id. An unknown kid must
// give an error wrapping [ErrUnknownKey].
type Keys interface {
	VerificationKey(kid string) (jwk.Key, error)
}

// KeysFunc makes a function a [Keys].
type KeysFunc func(kid string) (jwk.Key, error)

// VerificationKey calls f.
func (f KeysFunc) VerificationKey(kid string) (jwk.Key, error) { return f(kid) }

// KeysFromSet returns the keys of a JWKS by their "kid". Private keys in
// the set are used by their public half.
func KeysFromSet(set jwk.Set) Keys {
	return KeysFunc(func(kid string) (jwk.Key, error) {
		if set != nil {
			if k, ok := set.LookupKeyID(kid); ok {
				return jwk.PublicKeyOf(k)
			}
		}
		return nil, fmt.Errorf("%w: kid %q is not in the trusted key set", ErrUnknownKey, clip(kid))
	})
}

// MaxJWKSBytes bounds a JWKS file read by [ReadJWKS].
const MaxJWKSBytes = 1 << 20

// ReadJWKS reads a public JWKS file (at most [MaxJWKSBytes]) as verifiers
// use it. Every key must have a "kid", be Ed25519 or P-256, and be public:
// a set holding a private key is refused so that it is never published by
// mistake.
func ReadJWKS(r io.Reader) (jwk.Set, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("snapshot: reading JWKS: %w", err)
	}
	if len(b) > MaxJWKSBytes {
		return nil, fmt.Errorf("%w: JWKS is larger than %d bytes", ErrTooLarge, MaxJWKSBytes)
	}
	set, err := jwk.Parse(b)
	if err != nil {
		return nil, malformed("JWKS: %v", err)
	}
	if set.Len() == 0 {
		return nil, malformed("JWKS holds no keys")
	}
	seen := map[string]bool{}
	for i := 0; i < set.Len(); i++ {
		k, _ := set.Key(i)
		if k.KeyID() == "" {
			return nil, malformed("JWKS key %d has no kid", i)
		}
		if seen[k.KeyID()] {
			return nil, malformed("JWKS has kid %q twice", clip(k.KeyID()))
		}
		seen[k.KeyID()] = true
		if _, err := keyAlgorithm(k); err != nil {
			return nil, malformed("JWKS key %q: %v", clip(k.KeyID()), err)
		}
		if priv, _ := jwk.IsPrivateKey(k); priv {
			return nil, malformed("JWKS key %q is a private key; verifiers need only the public set", clip(k.KeyID()))
		}
	}
	return set, nil
}

// GenerateKey returns a new private signing key for alg: "EdDSA" (Ed25519,
// the default when alg is "") or "ES256" (P-256). The key's "kid" is its
// RFC 7638 SHA-256 thumbprint in base64url, and its "alg" is set.
func GenerateKey(alg string) (jwk.Key, error) {
	var raw any
	switch alg {
	case "", AlgEdDSA:
		_, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		raw = priv
	case AlgES256:
		priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		raw = priv
	default:
		return nil, fmt.Errorf("snapshot: algorithm %q is not supported (use %s or %s)", alg, AlgEdDSA, AlgES256)
	}
	return KeyFromRaw(raw)
}

// KeyFromRaw wraps an ed25519.PrivateKey, *ecdsa.PrivateKey (P-256) or
// their public halves as a jwk.Key with "alg" set and the thumbprint as
// "kid", like [GenerateKey] does.
func KeyFromRaw(raw any) (jwk.Key, error) {
	k, err := jwk.FromRaw(raw)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	alg, err := keyAlgorithm(k)
	if err != nil {
		return nil, err
	}
	if err := k.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(alg)); err != nil {
		return nil, err
	}
	kid, err := thumbprint(k)
	if err != nil {
		return nil, err
	}
	if err := k.Set(jwk.KeyIDKey, kid); err != nil {
		return nil, err
	}
	return k, nil
}

// thumbprint returns the RFC 7638 SHA-256 thumbprint of k in base64url.
// Public and private halves of a key have the same thumbprint.
func thumbprint(k jwk.Key) (string, error) {
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("snapshot: key thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}

// PublicSet returns the public JWKS that verifiers trust for keys (private
// or public), each with its "kid" and "alg".
func PublicSet(keys ...jwk.Key) (jwk.Set, error) {
	set := jwk.NewSet()
	for _, k := range keys {
		if k == nil {
			return nil, errors.New("snapshot: nil key")
		}
		alg, err := keyAlgorithm(k)
		if err != nil {
			return nil, err
		}
		if k.KeyID() == "" {
			return nil, errors.New("snapshot: key has no kid")
		}
		pub, err := jwk.PublicKeyOf(k)
		if err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
		if err := pub.Set(jwk.AlgorithmKey, jwa.SignatureAlgorithm(alg)); err != nil {
			return nil, err
		}
		if err := pub.Set(jwk.KeyIDKey, k.KeyID()); err != nil {
			return nil, err
		}
		if err := set.AddKey(pub); err != nil {
			return nil, fmt.Errorf("snapshot: %w", err)
		}
	}
	return set, nil
}
