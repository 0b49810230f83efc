package trust

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/mr-tron/base58"
)

// MaxKeySize bounds a key given to [ParseKey].
const MaxKeySize = 16 << 10

// maxBase58 is the longest base58 text tried: a 64-byte private key is at
// most 88 characters.
const maxBase58 = 100

// RSA moduli outside these bounds are refused: smaller ones are weak,
// larger ones make every verification slow.
const (
	minRSABits = 2048
	maxRSABits = 8192
)

// Key formats [ParseKey] recognises.
const (
	FormatPEM    = "pem"    // PEM: SPKI "PUBLIC KEY", PKCS #1 "RSA PUBLIC KEY", or a "CERTIFICATE"
	FormatJWK    = "jwk"    // a JSON Web Key, or a key set holding one key
	FormatBase58 = "base58" // a raw 32-byte Ed25519 key in base58, as DIVOC publishes them
	FormatDER    = "der"    // SPKI DER, binary or base64
)

// ParseKey reads a public key in any of the formats DIVOC deployments
// publish, detected from its content: PEM, JWK, base58 Ed25519, or SPKI DER
// (binary or base64). It returns the key and the format it was in. Keys are
// RSA (2048 to 8192 bits), Ed25519, or ECDSA P-256/P-384. A private key is
// refused: the trust store holds public keys only.
func ParseKey(b []byte) (crypto.PublicKey, string, error) {
	if len(b) > MaxKeySize {
		return nil, "", fmt.Errorf("%w: key is %d bytes, the limit is %d", ErrTooLarge, len(b), MaxKeySize)
	}
	if len(b) > 0 && b[0] == 0x30 {
		// Binary DER is read as it is: its last bytes may well be ones
		// that trimming white space would cut off.
		k, err := parseSPKI(b)
		if t := bytes.TrimRight(b, " \t\r\n"); err != nil && len(t) < len(b) {
			if k2, err2 := parseSPKI(t); err2 == nil {
				return k2, FormatDER, nil // a text editor's final newline
			}
		}
		return k, FormatDER, err
	}
	s := bytes.TrimSpace(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")))
	switch {
	case len(s) == 0:
		return nil, "", fmt.Errorf("%w: empty key", ErrMalformed)
	case bytes.HasPrefix(s, []byte("-----BEGIN")):
		k, err := parsePEM(s)
		return k, FormatPEM, err
	case s[0] == '{':
		k, err := parseJWK(s)
		return k, FormatJWK, err
	case s[0] == 0x30:
		k, err := parseSPKI(s)
		return k, FormatDER, err
	}
	// base58 decoding is quadratic: only short strings are tried.
	if len(s) <= maxBase58 {
		if raw, err := base58.Decode(string(s)); err == nil {
			switch len(raw) {
			case ed25519.PublicKeySize:
				return ed25519.PublicKey(raw), FormatBase58, nil
			case ed25519.PrivateKeySize:
				return nil, "", fmt.Errorf("%w: this is a base58 Ed25519 private key; give the public key", ErrUnsupportedKey)
			}
		}
	}
	if der, err := base64.StdEncoding.DecodeString(string(s)); err == nil && len(der) > 0 && der[0] == 0x30 {
		k, err := parseSPKI(der)
		return k, FormatDER, err
	}
	return nil, "", fmt.Errorf("%w: not a PEM, JWK, base58 Ed25519 or DER key", ErrMalformed)
}

func parsePEM(b []byte) (crypto.PublicKey, error) {
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%w: bad PEM", ErrMalformed)
	}
	switch blk.Type {
	case "PUBLIC KEY":
		return parseSPKI(blk.Bytes)
	case "RSA PUBLIC KEY":
		k, err := x509.ParsePKCS1PublicKey(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: RSA PUBLIC KEY: %v", ErrMalformed, err)
		}
		return checkKey(k)
	case "CERTIFICATE":
		cert, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: CERTIFICATE: %v", ErrMalformed, err)
		}
		return checkKey(cert.PublicKey)
	}
	if strings.Contains(blk.Type, "PRIVATE KEY") {
		return nil, fmt.Errorf("%w: this is a private key (%s); give the public key", ErrUnsupportedKey, blk.Type)
	}
	return nil, fmt.Errorf("%w: PEM block %q is not a public key", ErrUnsupportedKey, blk.Type)
}

func parseSPKI(der []byte) (crypto.PublicKey, error) {
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("%w: SPKI: %v", ErrMalformed, err)
	}
	return checkKey(k)
}

func parseJWK(b []byte) (crypto.PublicKey, error) {
	var key jwk.Key
	if bytes.Contains(b, []byte(`"keys"`)) {
		set, err := jwk.Parse(b)
		if err != nil {
			return nil, fmt.Errorf("%w: JWK set: %v", ErrMalformed, err)
		}
		if set.Len() != 1 {
			return nil, fmt.Errorf("%w: JWK set holds %d keys; give one", ErrMalformed, set.Len())
		}
		key, _ = set.Key(0)
	} else {
		var err error
		if key, err = jwk.ParseKey(b); err != nil {
			return nil, fmt.Errorf("%w: JWK: %v", ErrMalformed, err)
		}
	}
	var raw any
	if err := key.Raw(&raw); err != nil {
		return nil, fmt.Errorf("%w: JWK: %v", ErrMalformed, err)
	}
	switch raw.(type) {
	case *rsa.PrivateKey, ed25519.PrivateKey, *ecdsa.PrivateKey:
		return nil, fmt.Errorf("%w: this JWK holds a private key; give the public key", ErrUnsupportedKey)
	}
	return checkKey(raw)
}

// checkKey accepts the key kinds and sizes a verifier can use, and only
// keys that survive a round trip through SPKI (a JWK can describe an EC
// point off its curve, or an RSA exponent no verifier takes).
func checkKey(k any) (crypto.PublicKey, error) {
	if der, err := x509.MarshalPKIXPublicKey(k); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	} else if _, err := x509.ParsePKIXPublicKey(der); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	switch k := k.(type) {
	case *rsa.PublicKey:
		if n := k.N.BitLen(); n < minRSABits || n > maxRSABits {
			return nil, fmt.Errorf("%w: RSA key of %d bits (want %d to %d)", ErrUnsupportedKey, n, minRSABits, maxRSABits)
		}
		return k, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 key of %d bytes", ErrMalformed, len(k))
		}
		return k, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() && k.Curve != elliptic.P384() {
			return nil, fmt.Errorf("%w: ECDSA key on %s", ErrUnsupportedKey, k.Curve.Params().Name)
		}
		return k, nil
	}
	return nil, fmt.Errorf("%w: %T", ErrUnsupportedKey, k)
}

// algorithm names a key for display: RSA-2048, Ed25519, ECDSA-P256.
func algorithm(k crypto.PublicKey) string {
	switch k := k.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	case *ecdsa.PublicKey:
		return "ECDSA-" + strings.ReplaceAll(k.Curve.Params().Name, "-", "")
	}
	return "unknown"
}

// spki returns the key's SPKI DER and its id: the first 8 bytes of its
// SHA-256, in hex.
func spki(k crypto.PublicKey) ([]byte, string, error) {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil, "", fmt.Errorf("%w: %v", ErrUnsupportedKey, err)
	}
	sum := sha256.Sum256(der)
	return der, hex.EncodeToString(sum[:8]), nil
}
