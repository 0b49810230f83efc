package dcc_test

import (
	"crypto"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/dcc/internal/gen"
)

// The example issuer of the fixtures, and a time when its certificates are
// valid.
var (
	exampleAt = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	iat       = gen.ExampleIssuedAt
	exp       = gen.ExampleExpires
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// issuer is a key and its document signer certificate.
type issuer struct {
	key  crypto.Signer
	cert *x509.Certificate
}

func exampleIssuer() issuer { return issuer{gen.ExampleKey(), gen.ExampleDSC()} }

// newIssuer makes an EC issuer with its own seed and DSC options (zero
// validity: the example's).
func newIssuer(seed string, o gen.DSCOptions) issuer {
	if o.NotBefore.IsZero() {
		o.NotBefore, o.NotAfter = gen.ExampleNotBefore, gen.ExampleNotAfter
	}
	if o.CommonName == "" {
		o.CommonName = seed
	}
	key := gen.ECKey(seed)
	return issuer{key, gen.DSC(key, o)}
}

func (is issuer) signers(country string) *dcc.Signers {
	s := dcc.NewSigners()
	s.Add(is.cert, country, "test")
	return s
}

// vacc is the data of an example vaccination certificate.
func vacc() map[string]any {
	return gen.Vaccination("Musterfrau", "Erika", "1964-08-12", "URN:UVCI:01:XA:TEST#1", 1, 2, "2026-02-01", "XA")
}

// issue signs data as is with the example's dates.
func (is issuer) issue(data any, o *gen.SignOptions) string {
	return gen.Issue(gen.Claims{Issuer: "XA", IssuedAt: iat, Expires: exp, DCC: data}, is.key, is.cert, o)
}
