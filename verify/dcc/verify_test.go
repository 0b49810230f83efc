package dcc_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/dcc/internal/gen"
)

func TestVerifyFailures(t *testing.T) {
	ex := exampleIssuer()
	rsaKey := gen.RSAKey(2048)
	rsaIssuer := issuer{rsaKey, gen.DSC(rsaKey, gen.DSCOptions{CommonName: "RSA DSC", NotBefore: gen.ExampleNotBefore, NotAfter: gen.ExampleNotAfter})}
	smallRSA := gen.RSAKey(1024)
	smallIssuer := issuer{smallRSA, gen.DSC(smallRSA, gen.DSCOptions{CommonName: "small", NotBefore: gen.ExampleNotBefore, NotAfter: gen.ExampleNotAfter})}
	testOnly := newIssuer("test only", gen.DSCOptions{Types: []dcc.Type{dcc.TypeTest}})
	testOnlyAlt := newIssuer("test only alt", gen.DSCOptions{Types: []dcc.Type{dcc.TypeTest}, AltOIDs: true})
	unrelatedEKU := newIssuer("client auth", gen.DSCOptions{ExtraEKU: true})
	late := newIssuer("late", gen.DSCOptions{NotBefore: iat.Add(time.Hour), NotAfter: gen.ExampleNotAfter})
	short := newIssuer("short", gen.DSCOptions{NotBefore: gen.ExampleNotBefore, NotAfter: exp.Add(-time.Hour)})
	testData := gen.Test("Musterfrau", "Erika", "1964-08-12", "URN:UVCI:01:XA:T#1", "2026-03-01T10:00:00Z", "XA")

	for _, tc := range []struct {
		name    string
		is      issuer
		data    any
		o       *gen.SignOptions
		country string
		signers *dcc.Signers
		want    error
	}{
		{name: "ES256", is: ex},
		{name: "PS256 RSA 2048", is: rsaIssuer},
		{name: "RSA below 2048 bits", is: smallIssuer, want: dcc.ErrUnsupportedAlgorithm},
		{name: "other algorithm (ES384)", is: ex, o: &gen.SignOptions{Alg: -35}, want: dcc.ErrUnsupportedAlgorithm},
		{name: "no algorithm", is: ex, o: &gen.SignOptions{AlgIn: gen.Nowhere}, want: dcc.ErrUnsupportedAlgorithm},
		{name: "ES256 header on an RSA signature", is: rsaIssuer, o: &gen.SignOptions{Alg: int64(dcc.ES256)}, want: dcc.ErrUnsupportedAlgorithm},
		{name: "PS256 header on an ECDSA signature", is: ex, o: &gen.SignOptions{Alg: int64(dcc.PS256)}, want: dcc.ErrUnsupportedAlgorithm},
		{name: "corrupt signature", is: ex, o: &gen.SignOptions{CorruptSignature: true}, want: dcc.ErrBadSignature},
		{name: "corrupt PS256 signature", is: rsaIssuer, o: &gen.SignOptions{CorruptSignature: true}, want: dcc.ErrBadSignature},
		{name: "ECDSA signature longer than 64 bytes", is: ex, o: &gen.SignOptions{Signature: func(s []byte) []byte { return append(s, make([]byte, 8)...) }}, want: dcc.ErrBadSignature},
		{name: "ECDSA signature in DER", is: ex, o: &gen.SignOptions{Signature: func(s []byte) []byte { return append([]byte{0x30, 0x44, 0x02, 0x20}, s...) }}, want: dcc.ErrBadSignature},
		{name: "empty signature", is: ex, o: &gen.SignOptions{Signature: func([]byte) []byte { return nil }}, want: dcc.ErrCOSE},
		{name: "kid of 4 bytes", is: ex, o: &gen.SignOptions{KID: []byte{1, 2, 3, 4}}, want: dcc.ErrUnknownSigner},
		{name: "kid of 12 bytes", is: ex, o: &gen.SignOptions{KID: append(dcc.KeyID(ex.cert), 1, 2, 3, 4)}, want: dcc.ErrUnknownSigner},
		{name: "no kid", is: ex, o: &gen.SignOptions{KIDIn: gen.Nowhere}, want: dcc.ErrUnknownSigner},
		{name: "wrong protected kid, right unprotected kid", is: ex, o: &gen.SignOptions{KIDIn: gen.Both, KID: []byte("12345678")}, want: dcc.ErrUnknownSigner},
		{name: "unknown signer", is: ex, signers: dcc.NewSigners(), want: dcc.ErrUnknownSigner},
		{name: "issuer country not the signer's", is: ex, country: "DE", want: dcc.ErrCountryMismatch},
		{name: "test-only signer, vaccination", is: testOnly, want: dcc.ErrKeyUsage},
		{name: "test-only signer, test", is: testOnly, data: testData},
		{name: "test-only signer (other arc), vaccination", is: testOnlyAlt, want: dcc.ErrKeyUsage},
		{name: "test-only signer (other arc), test", is: testOnlyAlt, data: testData},
		{name: "signer with unrelated extended key usage only", is: unrelatedEKU},
		{name: "issued before the signer was valid", is: late, want: dcc.ErrSignerValidity},
		{name: "expires after the signer", is: short, want: dcc.ErrSignerValidity},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data
			if data == nil {
				data = vacc()
			}
			signers := tc.signers
			if signers == nil {
				signers = tc.is.signers(tc.country)
			}
			v, err := dcc.Check([]byte(tc.is.issue(data, tc.o)), signers, exampleAt, nil)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("Check: %v, want %v", err, tc.want)
			}
			if err == nil && (v.Signer == nil || v.Signer.Certificate != tc.is.cert) {
				t.Errorf("signer %+v", v.Signer)
			}
		})
	}
}

func TestValidityDates(t *testing.T) {
	is := exampleIssuer()
	c, err := dcc.Decode([]byte(is.issue(vacc(), nil)))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		at   time.Time
		skew time.Duration
		want error
	}{
		{iat, 0, nil},
		{iat.Add(-time.Second), 0, dcc.ErrNotYetValid},
		{iat.Add(-time.Minute), 5 * time.Minute, nil},
		{exp.Add(-time.Second), 0, nil},
		{exp, 0, dcc.ErrExpired},
		{exp.AddDate(1, 0, 0), 0, dcc.ErrExpired},
	} {
		if err := c.CheckValidity(tc.at, tc.skew); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("at %s skew %v: %v, want %v", tc.at, tc.skew, err, tc.want)
		}
	}
}

// Several document signers may share a kid (it is a truncated hash); each
// is tried, and the failure reported is of the one that got furthest.
func TestVerifyTriesEverySignerWithTheKID(t *testing.T) {
	is := exampleIssuer()
	other := newIssuer("other", gen.DSCOptions{Types: []dcc.Type{dcc.TypeRecovery}})
	payload := is.issue(vacc(), nil)
	c, err := dcc.Decode([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	// The other issuer's certificate under the example's kid, as a list
	// could hold it: added through the signer set's test hook.
	signers := dcc.NewSigners()
	dcc.AddUnderKID(signers, c.KID, other.cert)
	if _, err := c.Verify(signers); !errors.Is(err, dcc.ErrBadSignature) {
		t.Fatalf("only the wrong certificate: %v, want ErrBadSignature", err)
	}
	signers.Add(is.cert, "", "right")
	s, err := c.Verify(signers)
	if err != nil || s.Certificate != is.cert {
		t.Fatalf("with the right one too: %v, %v", s, err)
	}
	if n := len(signers.Lookup(c.KID)); n != 2 {
		t.Errorf("%d signers under the kid", n)
	}
}

func TestKeyIDAndAllowedTypes(t *testing.T) {
	cert := gen.ExampleDSC()
	if got := dcc.KIDString(dcc.KeyID(cert)); got != "V6jo4Ya37I4=" {
		t.Errorf("kid %s", got)
	}
	for _, tc := range []struct {
		o    gen.DSCOptions
		want string
	}{
		{gen.DSCOptions{}, "vaccination and test and recovery"},
		{gen.DSCOptions{Types: []dcc.Type{dcc.TypeRecovery, dcc.TypeTest}}, "test and recovery"},
		{gen.DSCOptions{Types: []dcc.Type{dcc.TypeVaccination}, AltOIDs: true}, "vaccination"},
		{gen.DSCOptions{ExtraEKU: true, Types: []dcc.Type{dcc.TypeVaccination}}, "vaccination"},
	} {
		var names []string
		for _, ty := range dcc.AllowedTypes(newIssuer("eku", tc.o).cert) {
			names = append(names, ty.String())
		}
		if got := strings.Join(names, " and "); got != tc.want {
			t.Errorf("%+v: %s, want %s", tc.o, got, tc.want)
		}
	}
}
