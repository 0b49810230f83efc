package divoc

import (
	"archive/zip"
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mr-tron/base58"
)

// vectorsDir holds the outside DIVOC vectors, beside the repository.
const vectorsDir = "../../../shared/vectors/divoc"

// vector reads a file of the outside vectors, skipping the test when they
// are not there.
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

// vectorKey reads a public key of the vectors: SPKI PEM or base58 Ed25519.
func vectorKey(t testing.TB, name string) crypto.PublicKey {
	t.Helper()
	b := vector(t, name)
	if blk, _ := pem.Decode(b); blk != nil {
		k, err := x509.ParsePKIXPublicKey(blk.Bytes)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	raw, err := base58.Decode(strings.TrimSpace(string(b)))
	if err != nil || len(raw) != ed25519.PublicKeySize {
		t.Fatalf("%s: not a base58 Ed25519 key: %v", name, err)
	}
	return ed25519.PublicKey(raw)
}

// devSigners returns DIVOC's published development private keys (never
// trusted outside tests).
func devSigners(t testing.TB) map[string]crypto.Signer {
	t.Helper()
	blk, _ := pem.Decode(vector(t, "keys/divoc-dev-rsa.TESTONLY.priv.pem"))
	if blk == nil {
		t.Fatal("development RSA key: no PEM block")
	}
	rk, err := x509.ParsePKCS1PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base58.Decode(strings.TrimSpace(string(vector(t, "keys/divoc-dev-ed25519.TESTONLY.priv.base58"))))
	if err != nil || len(raw) != ed25519.PrivateKeySize {
		t.Fatalf("development Ed25519 key: %v", err)
	}
	return map[string]crypto.Signer{"rsa": rk, "ed25519": ed25519.PrivateKey(raw)}
}

// vectorCredential parses a credential of the vectors.
func vectorCredential(t testing.TB, name string) *Credential {
	t.Helper()
	c, err := Parse(vector(t, name))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return c
}

// unsignedV2 is a DIVOC 2.x vaccination credential (vaccination context v2,
// with a date of birth and a certificate id), not yet signed.
const unsignedV2 = `{
  "@context": ["https://www.w3.org/2018/credentials/v1", "https://cowin.gov.in/credentials/vaccination/v2"],
  "type": ["VerifiableCredential", "ProofOfVaccinationCredential"],
  "credentialSubject": {
    "type": "Person", "id": "did:in.gov.uidai.aadhaar:2342343334", "refId": "12346",
    "name": "Asha Verma", "dob": "1990-04-01", "gender": "Female", "nationality": "Indian",
    "address": {"streetAddress": "", "district": "Pune", "addressRegion": "Maharashtra", "addressCountry": "IN"}
  },
  "issuer": "https://cowin.gov.in/",
  "issuanceDate": "2021-07-01T10:00:00.000Z",
  "evidence": [{
    "id": "https://cowin.gov.in/vaccine/78031234567", "certificateId": "78031234567",
    "type": ["Vaccination"], "batch": "4121Z040", "vaccine": "COVISHIELD",
    "manufacturer": "Serum Institute of India", "date": "2021-06-30T09:00:00.000Z",
    "effectiveStart": "2021-06-30", "effectiveUntil": "2022-06-30",
    "dose": 2, "totalDoses": 2, "icd11Code": "XM9QW8", "prophylaxis": "COVID-19 vaccine, non-replicating viral vector",
    "verifier": {"name": "Dr. R. Kulkarni"},
    "facility": {"name": "District Hospital Pune", "address": {"district": "Pune", "addressRegion": "Maharashtra", "addressCountry": "IN"}}
  }],
  "nonTransferable": "true"
}`

var testCreated = time.Date(2021, 7, 1, 10, 0, 0, 0, time.UTC)

// zipPayload makes a DIVOC payload ZIP holding one entry.
func zipPayload(t testing.TB, name string, content []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(content); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// expandUTF8 writes each byte as the code point of the same value, in
// UTF-8, the way DIVOC 2.x's Node service puts a ZIP into a QR code.
func expandUTF8(b []byte) []byte {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return []byte(sb.String())
}
