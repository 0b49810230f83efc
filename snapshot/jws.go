package snapshot

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// The JWS "typ" values: a snapshot header cannot pass as an index, nor
// the reverse.
const (
	typSnapshot   = "crlverify-snapshot+jws"
	typIndex      = "crlverify-index+jws"
	typCheckpoint = "crlverify-checkpoint+jws"
)

// The accepted signature algorithms.
const (
	AlgEdDSA = "EdDSA" // Ed25519 (the default)
	AlgES256 = "ES256" // ECDSA with P-256 and SHA-256
)

var b64 = base64.RawURLEncoding.Strict()

// sign returns the compact JWS of payload, signed by key with the protected
// header {"alg","kid","typ"}. It returns the kid and alg used.
func sign(payload []byte, typ string, key jwk.Key) (compact []byte, kid, alg string, err error) {
	alg, err = keyAlgorithm(key)
	if err != nil {
		return nil, "", "", err
	}
	if isPriv, _ := jwk.IsPrivateKey(key); !isPriv {
		return nil, "", "", errors.New("snapshot: signing needs a private key")
	}
	kid = key.KeyID()
	if kid == "" {
		return nil, "", "", errors.New("snapshot: the signing key has no key id (kid)")
	}
	hdr := jws.NewHeaders()
	if err := hdr.Set(jws.KeyIDKey, kid); err != nil {
		return nil, "", "", err
	}
	if err := hdr.Set(jws.TypeKey, typ); err != nil {
		return nil, "", "", err
	}
	compact, err = jws.Sign(payload, jws.WithKey(jwa.SignatureAlgorithm(alg), key, jws.WithProtectedHeaders(hdr)))
	if err != nil {
		return nil, "", "", fmt.Errorf("snapshot: signing: %w", err)
	}
	return compact, kid, alg, nil
}

// keyAlgorithm returns the signature algorithm for key: EdDSA for an
// Ed25519 key, ES256 for a P-256 key. Other keys are refused, and so is a
// key whose "alg" names another algorithm.
func keyAlgorithm(key jwk.Key) (string, error) {
	if key == nil {
		return "", errors.New("snapshot: no key")
	}
	var alg string
	switch k := key.(type) {
	case jwk.OKPPrivateKey:
		if k.Crv() == jwa.Ed25519 {
			alg = AlgEdDSA
		}
	case jwk.OKPPublicKey:
		if k.Crv() == jwa.Ed25519 {
			alg = AlgEdDSA
		}
	case jwk.ECDSAPrivateKey:
		if k.Crv() == jwa.P256 {
			alg = AlgES256
		}
	case jwk.ECDSAPublicKey:
		if k.Crv() == jwa.P256 {
			alg = AlgES256
		}
	}
	if alg == "" {
		return "", fmt.Errorf("snapshot: key type %s is neither Ed25519 nor P-256", key.KeyType())
	}
	if a := key.Algorithm().String(); a != "" && a != alg {
		return "", fmt.Errorf("snapshot: key is marked for %q, not %q", a, alg)
	}
	return alg, nil
}

// protectedHeader is the part of a JWS protected header we read.
type protectedHeader struct {
	Alg  string          `json:"alg"`
	Kid  string          `json:"kid"`
	Typ  string          `json:"typ"`
	Crit json.RawMessage `json:"crit"`
	B64  json.RawMessage `json:"b64"`
}

// verify checks a compact JWS line: strict base64url in three parts, a
// protected header with an accepted "alg", a "kid" and the expected "typ",
// then the signature with the key keys gives for the kid. It returns the
// payload, kid and alg.
func verify(line []byte, typ string, keys Keys) (payload []byte, kid, alg string, err error) {
	parts := bytes.Split(line, []byte("."))
	if len(parts) != 3 {
		return nil, "", "", malformed("signed header is not a compact JWS (3 dot-separated parts)")
	}
	var raw [3][]byte
	for i, p := range parts {
		raw[i] = make([]byte, b64.DecodedLen(len(p)))
		n, err := b64.Decode(raw[i], p)
		if err != nil {
			return nil, "", "", malformed("JWS part %d is not canonical base64url: %v", i+1, err)
		}
		raw[i] = raw[i][:n]
	}
	var ph protectedHeader
	if err := json.Unmarshal(raw[0], &ph); err != nil {
		return nil, "", "", malformed("JWS protected header: %v", err)
	}
	if ph.Alg != AlgEdDSA && ph.Alg != AlgES256 {
		return nil, "", "", fmt.Errorf("%w: algorithm %q is not accepted (only %s and %s)", ErrBadSignature, clip(ph.Alg), AlgEdDSA, AlgES256)
	}
	if ph.Typ != typ {
		return nil, "", "", malformed("JWS typ %q, want %q", clip(ph.Typ), typ)
	}
	if ph.Crit != nil || ph.B64 != nil {
		return nil, "", "", fmt.Errorf("%w: JWS header has \"crit\" or \"b64\"", ErrUnsupportedVersion)
	}
	if ph.Kid == "" {
		return nil, "", "", fmt.Errorf("%w: JWS header has no key id", ErrUnknownKey)
	}
	if keys == nil {
		return nil, "", "", fmt.Errorf("%w: no trusted keys given", ErrUnknownKey)
	}
	if _, ok := keys.(unverified); ok {
		return raw[1], ph.Kid, ph.Alg, nil
	}
	key, err := keys.VerificationKey(ph.Kid)
	if err != nil {
		if !errors.Is(err, ErrUnknownKey) {
			err = fmt.Errorf("%w: %v", ErrUnknownKey, err)
		}
		return nil, "", "", err
	}
	if key == nil {
		return nil, "", "", fmt.Errorf("%w: no key for kid %q", ErrUnknownKey, clip(ph.Kid))
	}
	if pub, err := jwk.PublicKeyOf(key); err == nil {
		key = pub
	}
	if ka, err := keyAlgorithm(key); err != nil || ka != ph.Alg {
		return nil, "", "", fmt.Errorf("%w: key %q does not fit algorithm %s", ErrBadSignature, clip(ph.Kid), ph.Alg)
	}
	if _, err := jws.Verify(line, jws.WithKey(jwa.SignatureAlgorithm(ph.Alg), key)); err != nil {
		return nil, "", "", fmt.Errorf("%w: %v", ErrBadSignature, err)
	}
	return raw[1], ph.Kid, ph.Alg, nil
}

// unverified is the Keys of [ReadHeaderUnverified] and [ReadIndexUnverified]:
// verify skips the signature check for it and for nothing else.
type unverified struct{}

func (unverified) VerificationKey(kid string) (jwk.Key, error) {
	return nil, fmt.Errorf("%w: signature not checked", ErrUnknownKey)
}

// ReadHeaderUnverified is [ReadHeader] without the signature check, for
// showing a file to a person who has not got the publisher's keys. Every
// other check still applies. Nothing it returns may be trusted.
func ReadHeaderUnverified(r *bufio.Reader, lim *Limits) (*Header, error) {
	return ReadHeader(r, unverified{}, lim)
}

// ReadIndexUnverified is [ReadIndex] without the signature check, for
// display only, like [ReadHeaderUnverified].
func ReadIndexUnverified(r io.Reader, lim *Limits) (*Index, error) {
	return ReadIndex(r, unverified{}, lim)
}

// UnverifiedKeys returns Keys that make a reader skip the signature check
// and nothing else, for showing or fuzzing files: nothing read with them
// may be trusted.
func UnverifiedKeys() Keys { return unverified{} }
