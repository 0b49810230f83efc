package snapshot_test

import (
	"bytes"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

func TestGenerateKey(t *testing.T) {
	for alg, kty := range map[string]string{"": "OKP", "EdDSA": "OKP", "ES256": "EC"} {
		k, err := snapshot.GenerateKey(alg)
		must(t, err)
		if k.KeyType().String() != kty {
			t.Errorf("GenerateKey(%q) made a %s key", alg, k.KeyType())
		}
		tp, _ := k.Thumbprint(crypto.SHA256)
		if k.KeyID() != base64.RawURLEncoding.EncodeToString(tp) {
			t.Errorf("GenerateKey(%q): kid %q is not the RFC 7638 thumbprint", alg, k.KeyID())
		}
		if priv, _ := jwk.IsPrivateKey(k); !priv {
			t.Errorf("GenerateKey(%q) is not private", alg)
		}
	}
	for _, alg := range []string{"RS256", "HS256", "none", "ES384"} {
		if _, err := snapshot.GenerateKey(alg); err == nil {
			t.Errorf("GenerateKey(%q) worked", alg)
		}
	}
}

func TestPublicSetAndReadJWKS(t *testing.T) {
	keys := loadKeys(t)
	set, err := snapshot.PublicSet(keys.ed, keys.es)
	must(t, err)
	b, err := json.Marshal(set)
	must(t, err)
	if strings.Contains(string(b), `"d"`) {
		t.Fatalf("public set leaks a private key: %s", b)
	}
	back, err := snapshot.ReadJWKS(bytes.NewReader(b))
	must(t, err)
	if back.Len() != 2 {
		t.Fatalf("read %d keys", back.Len())
	}
	if _, err := snapshot.KeysFromSet(back).VerificationKey(keys.es.KeyID()); err != nil {
		t.Fatal(err)
	}
	_, err = snapshot.KeysFromSet(back).VerificationKey("nope")
	wantErr(t, err, snapshot.ErrUnknownKey, "unknown kid")

	priv, _ := json.Marshal(map[string]any{"keys": []any{keys.ed}})
	_, err = snapshot.ReadJWKS(bytes.NewReader(priv))
	wantErr(t, err, snapshot.ErrMalformed, "a JWKS holding a private key")
	_, err = snapshot.ReadJWKS(bytes.NewReader(bytes.Repeat([]byte(" "), 2<<20)))
	wantErr(t, err, snapshot.ErrTooLarge, "a 2 MiB JWKS")
	_, err = snapshot.ReadJWKS(strings.NewReader(`{"keys":[]}`))
	wantErr(t, err, snapshot.ErrMalformed, "an empty JWKS")
	_, err = snapshot.ReadJWKS(strings.NewReader(`{"keys":[{"kty":"oct","k":"c2VjcmV0","kid":"x"}]}`))
	wantErr(t, err, snapshot.ErrMalformed, "a symmetric key")
}
