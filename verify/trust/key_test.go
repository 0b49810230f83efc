package trust

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/mr-tron/base58"
)

// vectorsDir holds the outside DIVOC vectors, beside the repository.
const vectorsDir = "../../../shared/vectors/divoc"

func vector(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(vectorsDir, name))
	if os.IsNotExist(err) {
		t.Skipf("DIVOC vectors not present (%s): %v", vectorsDir, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseKeyVectors(t *testing.T) {
	for _, tc := range []struct {
		file, format, alg string
	}{
		{"keys/divoc-dev-rsa.pub.pem", FormatPEM, "RSA-2048"},
		{"keys/trustreg-did-india.pub.pem", FormatPEM, "RSA-2048"},
		{"keys/trustreg-did-jamaica.pub.pem", FormatPEM, "Ed25519"},
		{"keys/divoc-dev-ed25519.pub.base58", FormatBase58, "Ed25519"},
	} {
		k, format, err := ParseKey(vector(t, tc.file))
		if err != nil {
			t.Errorf("%s: %v", tc.file, err)
			continue
		}
		if format != tc.format || algorithm(k) != tc.alg {
			t.Errorf("%s: format %s alg %s, want %s %s", tc.file, format, algorithm(k), tc.format, tc.alg)
		}
	}
	for _, file := range []string{"keys/divoc-dev-rsa.TESTONLY.priv.pem", "keys/divoc-dev-ed25519.TESTONLY.priv.base58"} {
		if _, _, err := ParseKey(vector(t, file)); !errors.Is(err, ErrUnsupportedKey) {
			t.Errorf("%s: %v, want ErrUnsupportedKey (a private key)", file, err)
		}
	}
}

// TestParseKeyFormatsSameID gives one key in every format: each parses to
// the same key id.
func TestParseKeyFormatsSameID(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	epub, epriv, _ := ed25519.GenerateKey(rand.Reader)
	ek, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	for name, tc := range map[string]struct {
		key   any
		forms map[string][]byte
	}{
		"rsa":     {&rk.PublicKey, keyForms(t, &rk.PublicKey, rk)},
		"ed25519": {epub, keyForms(t, epub, epriv)},
		"ecdsa":   {&ek.PublicKey, keyForms(t, &ek.PublicKey, ek)},
	} {
		_, want, err := spki(tc.key)
		if err != nil {
			t.Fatal(err)
		}
		for form, b := range tc.forms {
			k, _, err := ParseKey(b)
			if err != nil {
				t.Errorf("%s as %s: %v", name, form, err)
				continue
			}
			if _, id, _ := spki(k); id != want {
				t.Errorf("%s as %s: id %s, want %s", name, form, id, want)
			}
		}
	}
}

// TestParseKeyDERTrailingWhitespaceByte: a binary DER key whose last byte
// happens to be a white-space character (about one key in twenty) is read
// whole, not trimmed.
func TestParseKeyDERTrailingWhitespaceByte(t *testing.T) {
	for _, last := range []byte{'\n', ' ', '\r', '\t'} {
		var der []byte
		for {
			ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			if der, err = x509.MarshalPKIXPublicKey(&ek.PublicKey); err != nil {
				t.Fatal(err)
			}
			if der[len(der)-1] == last {
				break
			}
		}
		if _, format, err := ParseKey(der); err != nil || format != FormatDER {
			t.Errorf("DER ending in %q: %v (%s)", last, err, format)
		}
	}
}

// keyForms writes pub in every format ParseKey reads.
func keyForms(t *testing.T, pub any, priv any) map[string][]byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	j, err := jwk.FromRaw(pub)
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := json.Marshal(j)
	set := jwk.NewSet()
	set.AddKey(j)
	sb, _ := json.Marshal(set)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "document signer"},
		NotBefore: time.Unix(1600000000, 0), NotAfter: time.Unix(1900000000, 0)}
	cert, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string][]byte{
		"spki pem":     pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"der":          der,
		"base64 der":   []byte(base64.StdEncoding.EncodeToString(der) + "\n"),
		"jwk":          jb,
		"jwk set":      sb,
		"certificate":  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert}),
		"crlf pem+bom": append([]byte("\xef\xbb\xbf"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})...),
	}
	switch k := pub.(type) {
	case *rsa.PublicKey:
		forms["pkcs1 pem"] = pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(k)})
	case ed25519.PublicKey:
		forms["base58"] = []byte(base58.Encode(k) + "\n")
	}
	return forms
}

func TestParseKeyRefuses(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallDER, _ := x509.MarshalPKIXPublicKey(&small.PublicKey)
	_, epriv, _ := ed25519.GenerateKey(rand.Reader)
	privJWK, _ := jwk.FromRaw(epriv)
	privJWKb, _ := json.Marshal(privJWK)
	p224, _ := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	p224DER, _ := x509.MarshalPKIXPublicKey(&p224.PublicKey)
	pkcs8, _ := x509.MarshalPKCS8PrivateKey(epriv)
	for name, tc := range map[string]struct {
		b    []byte
		want error
	}{
		"empty":           {nil, ErrMalformed},
		"garbage":         {[]byte("hello, world"), ErrMalformed},
		"too large":       {make([]byte, MaxKeySize+1), ErrTooLarge},
		"RSA-1024":        {pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: smallDER}), ErrUnsupportedKey},
		"P-224":           {p224DER, ErrUnsupportedKey},
		"private JWK":     {privJWKb, ErrUnsupportedKey},
		"PKCS #8 private": {pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), ErrUnsupportedKey},
		"bad PEM body":    {[]byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), ErrMalformed},
		"short base58":    {[]byte(base58.Encode([]byte("sixteen bytes..."))), ErrMalformed},
		"two JWKs":        {[]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}`), ErrMalformed},
	} {
		if _, _, err := ParseKey(tc.b); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}
