package shc

import (
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify/shc/internal/shctest"
)

func TestParseJWKS(t *testing.T) {
	good := shctest.JWK(&testKey.PublicKey, map[string]any{"crlVersion": 2})
	skip := func(extra map[string]any) map[string]any { return shctest.JWK(&otherKey.PublicKey, extra) }
	set, err := ParseJWKS(shctest.JWKS(
		good,
		skip(map[string]any{"kty": "RSA"}),
		skip(map[string]any{"use": "enc"}),
		skip(map[string]any{"alg": nil}),
		skip(map[string]any{"crv": "P-384"}),
		skip(map[string]any{"d": "c2VjcmV0"}),
		skip(map[string]any{"x": "AAAA"}),
		skip(map[string]any{"y": base64.RawURLEncoding.EncodeToString(make([]byte, 32))}),
		skip(map[string]any{"crlVersion": 0}),
		skip(map[string]any{"kid": nil}),
	))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 1 || set.Keys[0].ID != testKID || set.Keys[0].CRLVersion != 2 || set.Keys[0].Thumbprint != testKID {
		t.Fatalf("keys %+v", set.Keys)
	}
	wantReasons := []string{`kty "RSA"`, `use "enc"`, `no "alg"`, `crv "P-384"`, "private key is published",
		`"x" is not a base64url 32-byte coordinate`, "not a point of P-256", "crlVersion: 0 is not a positive integer", "no kid"}
	if len(set.Skipped) != len(wantReasons) {
		t.Fatalf("skipped %+v", set.Skipped)
	}
	for i, sk := range set.Skipped {
		if sk.Index != i+1 || !strings.Contains(sk.Reason, wantReasons[i]) {
			t.Errorf("skipped[%d] = %+v, want %q", i, sk, wantReasons[i])
		}
	}

	// A card naming a skipped key: the issuer is known, the key is not
	// usable.
	d := NewDirectory()
	if err := d.Add(testIssuer, set); err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, shctest.Sign(testCard(nil), otherKey, otherKID))
	if _, err := VerifySignature(c, d, testAt); !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "not a usable signing key") {
		t.Errorf("skipped key: %v", err)
	}
}

func TestParseJWKSRefuses(t *testing.T) {
	manyKeys := make([]map[string]any, MaxJWKSKeys+1)
	for i := range manyKeys {
		manyKeys[i] = shctest.JWK(&testKey.PublicKey, nil)
	}
	for name, tc := range map[string]struct {
		in   []byte
		want string
	}{
		"not JSON":            {[]byte("keys"), "bad JSON"},
		"not an object":       {[]byte(`[]`), "not a JSON object"},
		"no keys":             {[]byte(`{"key":[]}`), `no "keys" array`},
		"a key not an object": {[]byte(`{"keys":[1]}`), "keys[0] is not an object"},
		"no signing key":      {shctest.JWKS(shctest.JWK(&testKey.PublicKey, map[string]any{"use": "enc"})), `no ES256 signing key (kty EC, crv P-256, use sig, alg ES256); keys[0]: use "enc"`},
		"empty":               {[]byte(`{"keys":[]}`), "no ES256 signing key"},
		"too many keys":       {shctest.JWKS(manyKeys...), "101 keys"},
		"too large":           {[]byte(`{"keys":[],"pad":"` + strings.Repeat("x", MaxJWKSSize) + `"}`), "more than 1048576"},
		"kid on two keys":     {shctest.JWKS(shctest.JWK(&testKey.PublicKey, nil), shctest.JWK(&otherKey.PublicKey, map[string]any{"kid": testKID})), "two different keys with kid"},
		"two crlVersions":     {shctest.JWKS(shctest.JWK(&testKey.PublicKey, map[string]any{"crlVersion": 1}), shctest.JWK(&testKey.PublicKey, map[string]any{"crlVersion": 2})), "two different keys"},
		"data after":          {append(shctest.JWKS(shctest.JWK(&testKey.PublicKey, nil)), "{}"...), "data after"},
	} {
		_, err := ParseJWKS(tc.in)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

// TestX5C checks x5c chains: consistent ones are kept, duplicate entries
// of one key merge their chains, and a chain that does not hold together
// makes the key unusable.
func TestX5C(t *testing.T) {
	caKey := shctest.Key("test CA")
	ca := certificate(t, "Test CA", &caKey.PublicKey, nil, caKey, true)
	leaf := certificate(t, "Test Issuer", &testKey.PublicKey, ca, caKey, false, testIssuer)
	wrongName := certificate(t, "Test Issuer", &testKey.PublicKey, ca, caKey, false, "https://elsewhere.test")
	otherLeaf := certificate(t, "Other", &otherKey.PublicKey, ca, caKey, false, testIssuer)
	unrelated := selfSignedCA(t)
	b64 := func(cs ...[]byte) []any {
		var out []any
		for _, c := range cs {
			out = append(out, base64.StdEncoding.EncodeToString(c))
		}
		return out
	}
	x5c := func(v any) map[string]any { return shctest.JWK(&testKey.PublicKey, map[string]any{"x5c": v}) }

	set, err := ParseJWKS(shctest.JWKS(x5c(b64(leaf.Raw, ca.Raw)), x5c(b64(wrongName.Raw))))
	if err != nil {
		t.Fatal(err)
	}
	k, _ := set.Key(testKID)
	if len(set.Keys) != 1 || len(k.Chains) != 2 || len(k.Chains[0]) != 2 {
		t.Fatalf("%d keys, chains %v", len(set.Keys), k.Chains)
	}
	if err := k.CheckIssuer(testIssuer); err != nil {
		t.Errorf("one chain names the issuer: %v", err)
	}

	for name, tc := range map[string]struct {
		x5c  any
		want string
	}{
		"leaf of another key":    {b64(otherLeaf.Raw, ca.Raw), "first certificate's public key is not the key's"},
		"not signed by the next": {b64(leaf.Raw, unrelated.Raw), "[0] is not signed by [1]"},
		"base64url, not base64":  {[]any{base64.RawURLEncoding.EncodeToString(leaf.Raw)}, "not standard base64"},
		"not a certificate":      {b64([]byte("hello")), "x5c: [0]"},
		"empty":                  {[]any{}, "not a non-empty array"},
		"not strings":            {[]any{1}, "[0] is not a string"},
		"too long":               {b64(leaf.Raw, ca.Raw, ca.Raw, ca.Raw, ca.Raw, ca.Raw, ca.Raw, ca.Raw, ca.Raw), "9 certificates, more than 8"},
	} {
		set, err := ParseJWKS(shctest.JWKS(x5c(tc.x5c), shctest.JWK(&otherKey.PublicKey, nil)))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, ok := set.Key(testKID); ok || len(set.Skipped) != 1 || !strings.Contains(set.Skipped[0].Reason, tc.want) {
			t.Errorf("%s: skipped %+v, want %q", name, set.Skipped, tc.want)
		}
	}

	// A key whose only certificate names another issuer: cards fail with
	// a bad signature, the signature itself being fine.
	d := NewDirectory()
	if err := d.AddJWKS(testIssuer, shctest.JWKS(x5c(b64(wrongName.Raw, ca.Raw)))); err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, signTest(testCard(nil)))
	if _, err := VerifySignature(c, d, testAt); !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), `names ["https://elsewhere.test"], not the issuer`) {
		t.Errorf("certificate of another issuer: %v", err)
	}
}

func TestDirectory(t *testing.T) {
	set, err := ParseJWKS(shctest.JWKS(shctest.JWK(&testKey.PublicKey, nil)))
	if err != nil {
		t.Fatal(err)
	}
	d := NewDirectory()
	for _, bad := range []string{"http://issuer.test", "https://issuer.test/", "issuer.test", "https://issuer.test?x=1",
		"https://issuer.test#f", "https:///path", "https://user@issuer.test"} {
		if err := d.Add(bad, set); err == nil {
			t.Errorf("Add(%q) accepted", bad)
		}
	}
	if err := d.Add(testIssuer, &JWKS{}); err == nil {
		t.Error("empty key set accepted")
	}
	var zero Directory
	if err := zero.Add(testIssuer, set); err != nil {
		t.Errorf("zero Directory: %v", err)
	}
	if err := d.Add(testIssuer, set); err != nil {
		t.Fatal(err)
	}
	if got := d.Issuers(); len(got) != 1 || got[0] != testIssuer {
		t.Errorf("issuers %v", got)
	}
	c := mustParse(t, signTest(testCard(nil)))
	if _, err := Verify(c, d, testAt); err != nil {
		t.Fatal(err)
	}
	d.Remove(testIssuer)
	if _, err := Verify(c, d, testAt); !errors.Is(err, ErrUnknownIssuer) || errors.Is(err, ErrUnknownKey) {
		t.Errorf("after Remove: %v", err)
	}
	_, err = d.Key(testIssuer, testKID)
	if err == nil || err.Error() != fmt.Sprintf("shc: unknown issuer %q: no key set configured for it", testIssuer) {
		t.Errorf("message: %v", err)
	}
}

// TestDirectoryConcurrent verifies cards from several goroutines while the
// directory changes; run under the race detector.
func TestDirectoryConcurrent(t *testing.T) {
	d := testDirectory(t)
	c := mustParse(t, signTest(testCard(nil)))
	set, _ := d.KeySet(testIssuer)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 200 {
			if i%2 == 0 {
				d.Remove(testIssuer)
			} else if err := d.Add(testIssuer, set); err != nil {
				t.Error(err)
			}
			d.SetRoots(nil)
			_ = d.Issuers()
		}
	}()
	errs := make(chan error, 4)
	for range 4 {
		go func() {
			var bad error
			for range 50 {
				payload := []byte(shctest.Numeric(c.JWS))
				pc, _, err := ParsePayload(payload)
				if err == nil {
					_, err = Verify(pc, d, testAt)
				}
				if err != nil && !errors.Is(err, ErrUnknownIssuer) {
					bad = err
				}
			}
			errs <- bad
		}()
	}
	for range 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	<-done
	if _, err := (*Directory)(nil).Key(testIssuer, testKID); !errors.Is(err, ErrUnknownIssuer) {
		t.Errorf("nil directory: %v", err)
	}
}

// TestSignedBy: a JWS whose signature verifies with a key some issuer of
// the Directory holds under its kid, read without its payload; anything
// else is not.
func TestSignedBy(t *testing.T) {
	d := testDirectory(t)
	jws := signTest(testCard(nil))
	if !d.SignedBy(jws) {
		t.Fatal("a card of the test issuer")
	}
	// The payload is not read: a card that does not parse but is signed
	// is signed.
	junk := shctest.SignParts(shctest.Header(testKID), []byte("not deflate"), testKey)
	if !d.SignedBy(junk) {
		t.Error("signed junk")
	}
	parts := strings.Split(jws, ".")
	other := shctest.Sign(testCard(nil), otherKey, testKID) // the test issuer's kid, another key
	for name, s := range map[string]string{
		"payload changed":   parts[0] + "." + parts[1][:len(parts[1])-2] + "AA." + parts[2],
		"another key":       other,
		"unknown kid":       shctest.Sign(testCard(nil), testKey, "no-such-kid"),
		"DER signature":     parts[0] + "." + parts[1] + "." + b64.EncodeToString(shctest.SignDER(parts[0]+"."+parts[1], testKey)),
		"two parts":         parts[0] + "." + parts[1],
		"four parts":        jws + ".x",
		"bad header":        "eyJ!." + parts[1] + "." + parts[2],
		"empty":             "",
		"header too long":   b64.EncodeToString([]byte(`{"alg":"ES256","zip":"DEF","kid":"`+strings.Repeat("k", 2000)+`"}`)) + "." + parts[1] + "." + parts[2],
		"JWS too long":      jws + strings.Repeat("A", MaxJWSSize),
		"signature too big": jws + "AAAA",
	} {
		if d.SignedBy(s) {
			t.Errorf("%s: signed", name)
		}
	}
	var none *Directory
	if none.SignedBy(jws) {
		t.Error("nil Directory")
	}
}

// TestX5CChainAtIssuance: a key's x5c chain is judged at the card's
// issuance (nbf), as the specification asks: a card issued while the
// issuer's certificate was valid verifies after it expired; a card issued
// before the certificate's validity began, or after it ended, does not,
// even checked while the certificate is valid; a card not yet issued is
// judged at the time of the check.
func TestX5CChainAtIssuance(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	caKey := shctest.Key("test CA")
	ca := certificate(t, "Test CA", &caKey.PublicKey, nil, caKey, true)
	leaf := certificateValid(t, "Test Issuer", &testKey.PublicKey, ca, caKey, false, day(2023, 1, 1), day(2024, 1, 1), testIssuer)
	d := NewDirectory()
	x5c := []any{base64.StdEncoding.EncodeToString(leaf.Raw), base64.StdEncoding.EncodeToString(ca.Raw)}
	if err := d.AddJWKS(testIssuer, shctest.JWKS(shctest.JWK(&testKey.PublicKey, map[string]any{"x5c": x5c}))); err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	d.SetRoots(roots)
	issued := func(nbf time.Time) *Card {
		return mustParse(t, signTest(testCard(func(c *shctest.Card) { c.NBF = fmt.Sprint(nbf.Unix()) })))
	}
	for _, tc := range []struct {
		name    string
		nbf, at time.Time
		ok      bool
	}{
		{"issued within, checked after the certificate expired", day(2023, 6, 1), day(2026, 3, 1), true},
		{"issued within, checked within", day(2023, 6, 1), day(2023, 7, 1), true},
		{"issued before the certificate, checked within", day(2022, 6, 1), day(2023, 7, 1), false},
		{"issued after the certificate expired", day(2024, 6, 1), day(2024, 6, 2), false},
		{"not yet issued: judged at the time of the check", day(2024, 6, 1), day(2023, 7, 1), true},
	} {
		_, err := VerifySignature(issued(tc.nbf), d, tc.at)
		if tc.ok && err != nil || !tc.ok && (!errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "x5c chain")) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
	// Verify goes on to the dates: the card not yet issued is that.
	if _, err := Verify(issued(day(2024, 6, 1)), d, day(2023, 7, 1)); !errors.Is(err, ErrNotYetValid) {
		t.Errorf("not yet issued: %v", err)
	}
}
