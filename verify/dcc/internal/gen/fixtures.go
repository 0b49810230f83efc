package gen

import (
	"crypto/ecdsa"
	"crypto/x509"
	"time"

	"github.com/crlverify/crlverify/verify/dcc"
)

// The example issuer of the committed fixtures: a document signer of the
// user-assigned country code XA (no real country), valid through 2026 and
// 2027.
const (
	ExampleCountry = "XA"
	ExampleSeed    = "example document signer"
)

var (
	ExampleNotBefore = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ExampleNotAfter  = time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)
	ExampleIssuedAt  = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	ExampleExpires   = time.Date(2027, 3, 2, 9, 30, 0, 0, time.UTC)
)

// ExampleKey is the example document signer's key.
func ExampleKey() *ecdsa.PrivateKey { return ECKey(ExampleSeed) }

// ExampleDSC is the example document signer certificate, allowed to sign
// every kind of certificate.
func ExampleDSC() *x509.Certificate {
	return DSC(ExampleKey(), DSCOptions{
		CommonName: "Example Health Authority DSC",
		Country:    ExampleCountry,
		NotBefore:  ExampleNotBefore,
		NotAfter:   ExampleNotAfter,
		Types:      []dcc.Type{dcc.TypeVaccination, dcc.TypeTest, dcc.TypeRecovery},
		Serial:     2026,
	})
}

// ExampleCertificates returns the example payloads by file stem:
// "vaccination", "test" and "recovery".
func ExampleCertificates() map[string]string {
	key, cert := ExampleKey(), ExampleDSC()
	issue := func(data map[string]any) string {
		return Issue(Claims{Issuer: ExampleCountry, IssuedAt: ExampleIssuedAt, Expires: ExampleExpires, DCC: data}, key, cert, nil)
	}
	return map[string]string{
		"vaccination": issue(Vaccination("Musterfrau-Gößinger", "Gabriele", "1998-02-26",
			"URN:UVCI:01:XA:EXAMPLE0000000000000001#Q", 2, 2, "2026-02-26", ExampleCountry)),
		"test": issue(Test("Sharma", "Asha", "1985-07-01",
			"URN:UVCI:01:XA:EXAMPLE0000000000000002#R", "2026-03-02T08:15:00Z", ExampleCountry)),
		"recovery": issue(Recovery("Okafor", "Chidi", "1979",
			"URN:UVCI:01:XA:EXAMPLE0000000000000003#S", "2026-02-01", "2026-02-12", "2026-08-01", ExampleCountry)),
	}
}
