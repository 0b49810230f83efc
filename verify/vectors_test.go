package verify_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/trust"
)

// divocVectors returns the outside DIVOC vectors folder, or skips.
func divocVectors(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "vectors", "divoc")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("DIVOC test vectors not found at %s (clone with ../shared beside the repository): %v", dir, err)
	}
	return dir
}

// vectorTrust trusts DIVOC's development keys: the RSA key for did:india
// and the Ed25519 key for the same verification method, as the vectors use.
func vectorTrust(t *testing.T, dir string, keys ...string) *trust.Store {
	t.Helper()
	ts := trust.New()
	for _, k := range keys {
		b, err := os.ReadFile(filepath.Join(dir, "keys", k))
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ts.Add("did:india", b, nil); err != nil {
			t.Fatalf("trusting %s: %v", k, err)
		}
	}
	return ts
}

var vectorTime = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)

func TestVectorsVerify(t *testing.T) {
	dir := divocVectors(t)
	v := verify.New(vectorTrust(t, dir, "divoc-dev-rsa.pub.pem", "divoc-dev-ed25519.pub.base58"), nil, nil)
	for _, name := range []string{"divoc-dev-rsa2018.json", "pathcheck-dev-rsa2018.json", "divoc-dev-ed25519-2018.json"} {
		t.Run(name, func(t *testing.T) {
			r := v.VerifyFile(filepath.Join(dir, "certs", name), vectorTime)
			if r.Status != verify.StatusValid {
				t.Fatalf("status %s (%s), want VALID", r.Status, r.Detail)
			}
			// No revocation store: never plain VALID.
			if r.OK() || r.Conclusive() || r.Revocation.Known {
				t.Errorf("VALID without a revocation list must not be conclusive: %+v", r.Revocation)
			}
			if r.Certificate.Name != "Bhaya Mitra" || r.PayloadForm != "json" {
				t.Errorf("certificate %+v, form %s", r.Certificate, r.PayloadForm)
			}
		})
	}
}

func TestVectorNameChangeIsBadSignature(t *testing.T) {
	dir := divocVectors(t)
	v := verify.New(vectorTrust(t, dir, "divoc-dev-rsa.pub.pem", "divoc-dev-ed25519.pub.base58"), nil, nil)
	for _, name := range []string{"divoc-dev-rsa2018.json", "divoc-dev-ed25519-2018.json"} {
		b, err := os.ReadFile(filepath.Join(dir, "certs", name))
		if err != nil {
			t.Fatal(err)
		}
		forged := bytes.Replace(b, []byte(`"Bhaya Mitra"`), []byte(`"Bhaya Mitrb"`), 1)
		if bytes.Equal(forged, b) {
			t.Fatal("name not found in vector")
		}
		if r := v.VerifyPayload(forged, vectorTime); r.Status != verify.StatusBadSignature {
			t.Errorf("%s with a changed name: %s (%s), want BAD_SIGNATURE", name, r.Status, r.Detail)
		}
	}
}

func TestVectorWrongKey(t *testing.T) {
	dir := divocVectors(t)
	v := verify.New(vectorTrust(t, dir, "trustreg-did-india.pub.pem"), nil, nil)
	r := v.VerifyFile(filepath.Join(dir, "certs", "divoc-dev-rsa2018.json"), vectorTime)
	if r.Status != verify.StatusBadSignature {
		t.Fatalf("status %s (%s), want BAD_SIGNATURE", r.Status, r.Detail)
	}
	r = verify.New(trust.New(), nil, nil).VerifyFile(filepath.Join(dir, "certs", "divoc-dev-rsa2018.json"), vectorTime)
	if r.Status != verify.StatusUnknownIssuer {
		t.Fatalf("empty trust store: %s (%s), want UNKNOWN_ISSUER", r.Status, r.Detail)
	}
}

func TestVectorQRImageEndToEnd(t *testing.T) {
	dir := divocVectors(t)
	v := verify.New(vectorTrust(t, dir, "divoc-dev-rsa.pub.pem"), nil, nil)
	r := v.VerifyFile(filepath.Join(dir, "qr", "divoc-dev-rsa2018.divoc-node-style.png"), vectorTime)
	if r.Status != verify.StatusValid || !r.FromImage || r.PayloadForm != "utf8-zip" {
		t.Fatalf("QR image: %s (%s), from image %v, form %s", r.Status, r.Detail, r.FromImage, r.PayloadForm)
	}
	zip, err := os.ReadFile(filepath.Join(dir, "qr", "divoc-dev-rsa2018.divoc-node-style.zip"))
	if err != nil {
		t.Fatal(err)
	}
	if r := v.VerifyPayload(zip, vectorTime); r.Status != verify.StatusValid || r.PayloadForm != "raw-zip" {
		t.Fatalf("raw ZIP: %s (%s), form %s", r.Status, r.Detail, r.PayloadForm)
	}
}

func TestVectorSignedInTheFutureIsNotYetValid(t *testing.T) {
	dir := divocVectors(t)
	v := verify.New(vectorTrust(t, dir, "divoc-dev-rsa.pub.pem"), nil, nil)
	before := time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC) // the vector was issued 2021-01-15
	r := v.VerifyFile(filepath.Join(dir, "certs", "divoc-dev-rsa2018.json"), before)
	if r.Status != verify.StatusNotYetValid {
		t.Fatalf("status %s (%s), want NOT_YET_VALID", r.Status, r.Detail)
	}
}

func TestMalformedInputs(t *testing.T) {
	v := verify.New(nil, nil, nil)
	for name, payload := range map[string][]byte{
		"empty":       nil,
		"text":        []byte("hello"),
		"bad zip":     []byte("PK\x03\x04garbage"),
		"array json":  []byte(`[1,2,3]`),
		"empty json":  []byte(`{}`),
		"huge":        bytes.Repeat([]byte("{"), 1<<20),
		"unknown ctx": []byte(`{"@context":["https://example.org/nope"],"proof":{"type":"RsaSignature2018","proofPurpose":"assertionMethod","verificationMethod":"did:x","jws":"a..b"}}`),
	} {
		r := v.VerifyPayload(payload, vectorTime)
		if r.Status != verify.StatusMalformed && r.Status != verify.StatusBadSignature {
			t.Errorf("%s: %s (%s), want MALFORMED", name, r.Status, r.Detail)
		}
		if r.OK() {
			t.Errorf("%s accepted", name)
		}
	}
	// An EU DCC is read, and its document signer is not trusted here.
	dcc := []byte([]byte("HC1:6BFOXN%TS3DH0YOJ58S S-W5HDC *M0II5XHC9B5G2+$N IOP-IA%NFQGRJPC%OQHIZC4.OI1RM8ZA.A5:S9MKN4NN3F85QNCY0O%0VZ001HOC9JU0D0HT0HB2PL/IB*09B9LW4T*8+DCMH0LDK2%K:XFE70*LP$V25$0Q:J:4MO1P0%0L0HD+9E/HY+4J6TH48S%4K.GJ2PT3QY:GQ3TE2I+-CPHN6D7LLK*2HG%89UV-0LZ 2ZJJ524-LH/CJTK96L6SR9MU9DHGZ%P WUQRENS431T1XCNCF+47AY0-IFO0500TGPN8F5G.41Q2E4T8ALW.INSV$ 07UV5SR+BNQHNML7 /KD3TU 4V*CAT3ZGLQMI/XI%ZJNSBBXK2:UG%UJMI:TU+MMPZ5$/PMX19UE:-PSR3/$NU44CBE6DQ3D7B0FBOFX0DV2DGMB$YPF62I$60/F$Z2I6IFX21XNI-LM%3/DF/U6Z9FEOJVRLVW6K$UG+BKK57:1+D10%4K83F+1VWD1NE"))
	if r := v.VerifyPayload(dcc, vectorTime); r.Status != verify.StatusUnknownIssuer || r.Format != verify.FormatDCC {
		t.Errorf("EU DCC with no signer trusted: %s %s (%s)", r.Format, r.Status, r.Detail)
	}
	if r := v.VerifyPayload([]byte("hello"), vectorTime); !strings.Contains(r.Detail, "not a certificate this verifier reads") || r.Format != "" {
		t.Errorf("text: %+v", r)
	}
}
