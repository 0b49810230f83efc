package divoc_test

import (
	"archive/zip"
	"bytes"
	"crypto/ed25519"
	"fmt"
	"time"

	"github.com/crlverify/crlverify/verify/divoc"
	"github.com/crlverify/crlverify/verify/trust"
	"github.com/mr-tron/base58"
)

// A test issuer key, from a fixed seed (never trusted outside examples).
var issuerKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))

const unsigned = `{
  "@context": ["https://www.w3.org/2018/credentials/v1", "https://cowin.gov.in/credentials/vaccination/v2"],
  "type": ["VerifiableCredential", "ProofOfVaccinationCredential"],
  "credentialSubject": {"type": "Person", "name": "Asha Verma", "dob": "1990-04-01", "gender": "Female"},
  "issuer": "https://cowin.gov.in/",
  "issuanceDate": "2021-07-01T10:00:00.000Z",
  "evidence": [{"type": ["Vaccination"], "certificateId": "78031234567", "vaccine": "COVISHIELD",
    "batch": "4121Z040", "date": "2021-06-30T09:00:00.000Z", "dose": 2, "totalDoses": 2}]
}`

// payload returns what the QR code of a signed example credential holds.
func payload() []byte {
	signed, err := divoc.Sign([]byte(unsigned), issuerKey, divoc.SignOptions{
		VerificationMethod: "did:india",
		Created:            time.Date(2021, 7, 1, 10, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, _ := zw.Create("certificate.json")
	w.Write(signed)
	zw.Close()
	return buf.Bytes()
}

func ExampleVerify() {
	c, form, err := divoc.ParsePayload(payload())
	if err != nil {
		panic(err)
	}
	err = divoc.Verify(c, issuerKey.Public(), nil)
	fmt.Println(form, c.Subject.Name, c.Subject.DOB, c.Evidence.CertificateID, err)
	// Output: raw-zip Asha Verma 1990-04-01 78031234567 <nil>
}

// The path a verdict takes: decode and parse the payload, canonicalise once,
// let the trust store find the key that signed (at the signing time), and
// look up every revocation id under the issuer the policy names.
func ExamplePrepare() {
	store := trust.New()
	if _, _, err := store.Add("did:india", []byte(base58.Encode(issuerKey.Public().(ed25519.PublicKey))), nil); err != nil {
		panic(err)
	}
	// The issuer whose revocation lists judge did:india's certificates.
	if err := store.SetPolicy("did:india", trust.Policy{CRLIssuer: "https://cowin.gov.in/"}); err != nil {
		panic(err)
	}

	c, _, err := divoc.ParsePayload(payload())
	if err != nil {
		panic(err)
	}
	signed, err := divoc.Prepare(c, nil)
	if err != nil {
		panic(err)
	}
	entry, key, err := store.Check(c.Proof.VerificationMethod, c.Proof.Created.Time, signed.Verify)
	if err != nil {
		panic(err)
	}
	fmt.Println("signed by", c.Proof.VerificationMethod, key.Algorithm)
	crlIssuer, _ := entry.RevocationIssuer()
	fmt.Println("revocations under", crlIssuer)
	fmt.Println("look up", signed.RevocationIDs())
	// Output:
	// signed by did:india Ed25519
	// revocations under https://cowin.gov.in/
	// look up [78031234567 2 2021-06-30T09:00:00.000Z 4121Z040 COVISHIELD]
}
