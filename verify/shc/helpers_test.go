package shc

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify/shc/internal/shctest"
)

// Test issuers and their keys (from fixed labels; never trusted outside
// tests).
const (
	testIssuer  = "https://issuer.test/shc"
	otherIssuer = "https://other.test/shc"
)

var (
	testKey  = shctest.Key("test issuer")
	otherKey = shctest.Key("other issuer")
	testKID  = shctest.KID(&testKey.PublicKey)
	otherKID = shctest.KID(&otherKey.PublicKey)
	// testAt is the time of the check for cards made here.
	testAt = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
)

// testCard returns the claims of a valid card of testIssuer, changed by
// mod.
func testCard(mod func(*shctest.Card)) []byte {
	c := shctest.Card{
		Issuer: testIssuer, NBF: "1705311000.25", RID: "cY3b_Wq7-0A",
		Family: "Verma", Given: []string{"Asha"}, BirthDate: "1990-04-01",
		Doses: []shctest.Dose{
			{Code: "208", Date: "2021-05-03", Lot: "EW0150", Performer: "District Hospital"},
			{Code: "208", Date: "2021-05-24", Lot: "EW0171", Performer: "District Hospital"},
		},
	}
	if mod != nil {
		mod(&c)
	}
	return c.JSON()
}

// signTest signs claims with testKey under its kid.
func signTest(claims []byte) string { return shctest.Sign(claims, testKey, testKID) }

// testDirectory trusts testIssuer (testKey, crlVersion 1) and otherIssuer
// (otherKey).
func testDirectory(t testing.TB) *Directory {
	t.Helper()
	d := NewDirectory()
	for iss, jwks := range map[string][]byte{
		testIssuer:  shctest.JWKS(shctest.JWK(&testKey.PublicKey, map[string]any{"crlVersion": 1})),
		otherIssuer: shctest.JWKS(shctest.JWK(&otherKey.PublicKey, nil)),
	} {
		if err := d.AddJWKS(iss, jwks); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func mustParse(t testing.TB, jws string) *Card {
	t.Helper()
	c, err := Parse(jws)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// certificate returns a certificate for pub signed by parent (itself when
// nil) with signer.
func certificate(t testing.TB, cn string, pub *ecdsa.PublicKey, parent *x509.Certificate, signer *ecdsa.PrivateKey, ca bool, uris ...string) *x509.Certificate {
	t.Helper()
	return certificateValid(t, cn, pub, parent, signer, ca, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC), uris...)
}

// certificateValid is certificate, valid from notBefore to notAfter.
func certificateValid(t testing.TB, cn string, pub *ecdsa.PublicKey, parent *x509.Certificate, signer *ecdsa.PrivateKey, ca bool, notBefore, notAfter time.Time, uris ...string) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		BasicConstraintsValid: true,
		IsCA:                  ca,
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
	}
	for _, s := range uris {
		u, err := url.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// selfSignedCA returns a CA certificate unrelated to every key here.
func selfSignedCA(t testing.TB) *x509.Certificate {
	k := shctest.Key("unrelated CA")
	return certificate(t, "Unrelated CA", &k.PublicKey, nil, k, true)
}

// fixture reads a committed file of testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	if err != nil {
		t.Fatalf("committed fixture missing (run go generate ./verify/shc): %v", err)
	}
	return b
}
