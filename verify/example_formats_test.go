package verify_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/store"
	"github.com/crlverify/crlverify/verify/trust"
)

// A SMART Health Card: the issuer's key set in the trust store, its own
// revocation list imported into the CRL store, and a card read from the
// numeric text of its QR code.
func ExampleVerifier_VerifyPayload_smartHealthCard() {
	issuers := trust.New()
	jwks, err := os.ReadFile("shc/testdata/issuer/.well-known/jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	if _, _, err := issuers.AddSHCIssuer("https://shc.example.org/issuer", jwks, "jwks.json"); err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	crls, err := store.Open(filepath.Join(dir, "crl.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer crls.Close()
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	list, err := os.ReadFile("shc/testdata/issuer/.well-known/crl/vfeLDcXEQL5i0d2chkSDDbETJ0cCWkx9e8ILpsM1Lr8.json")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := crls.ImportSHCList("https://shc.example.org/issuer", list, "crl.json", at); err != nil {
		log.Fatal(err)
	}

	v := verify.New(issuers, crls, nil)
	for _, name := range []string{"valid.txt", "revoked.txt"} {
		payload, err := os.ReadFile("shc/testdata/" + name)
		if err != nil {
			log.Fatal(err)
		}
		// The QR code's payload holds no line break; a text file adds one.
		payload = bytes.TrimSuffix(payload, []byte("\n"))
		r := v.VerifyPayload(payload, at)
		fmt.Println(r.Format, r.Status, r.OK(), r.Certificate.Name, "|", r.Certificate.Vaccine)
		fmt.Println("  rid", r.Certificate.ID, "list", r.Revocation.Source, r.Revocation.ListCounter)
	}
	// Output:
	// shc VALID true Asha Verma | Pfizer-BioNTech COVID-19 vaccine (Comirnaty), 30 mcg
	//   rid uUClwfZElDE list shc_crl 3
	// shc REVOKED false Ravi Kumar | Moderna COVID-19 vaccine (Spikevax), 100 mcg or 50 mcg dose
	//   rid YYisjdg0HJk list shc_crl 3
}

// An EU Digital COVID Certificate: the document signer of its country in
// the trust store, the certificate read from an Aztec code.
func ExampleVerifier_VerifyFile_euDCC() {
	issuers := trust.New()
	signers, err := dcc.ReadSignerFile("dcc/testdata/example-dsc.pem")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := issuers.AddDCCSigners("XA", []*x509.Certificate{signers[0].Certificate}, "example-dsc.pem"); err != nil {
		log.Fatal(err)
	}
	v := verify.New(issuers, nil, nil) // no CRL store: revocation status unknown
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	r := v.VerifyFile("dcc/testdata/vaccination-aztec.png", at)
	c := r.Certificate
	fmt.Println(r.Format, r.CertificateType, r.Status, r.OK())
	fmt.Println(c.Name, c.DateOfBirth, c.ID)
	fmt.Printf("dose %d of %d: %s (%s), %s\n", c.Dose, c.TotalDoses, c.Vaccine, c.Manufacturer, c.Disease)
	fmt.Println(r.Detail)
	// Output:
	// dcc vaccination VALID false
	// Gabriele Musterfrau-Gößinger 1998-02-26 URN:UVCI:01:XA:EXAMPLE0000000000000001#Q
	// dose 2 of 2: Comirnaty (Biontech Manufacturing GmbH), COVID-19
	// genuine and valid, but revocation status unknown: no revocation list store
}

// A DIVOC credential: the issuer's key for its verification method in the
// trust store, the credential from the bytes of its QR code.
func ExampleVerifier_VerifyPayload_divoc() {
	issuers, err := trust.Load("../testdata/trust.json")
	if err != nil {
		log.Fatal(err)
	}
	payload, err := os.ReadFile("../testdata/divoc/payloads/valid.zip")
	if err != nil {
		log.Fatal(err)
	}
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	r := verify.New(issuers, nil, nil).VerifyPayload(payload, at)
	fmt.Println(r.Format, r.PayloadForm, r.Status, r.Certificate.VerificationMethod)
	fmt.Println(r.Certificate.Name, r.Certificate.ID, r.Revocation.Known)
	// Output:
	// divoc raw-zip VALID did:india
	// Asha Verma 8000000000011 false
}

// A SMART Health Card split over two QR codes: read each, then join them.
func ExampleVerifier_VerifyChunks() {
	issuers := trust.New()
	jwks, err := os.ReadFile("shc/testdata/issuer/.well-known/jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	if _, _, err := issuers.AddSHCIssuer("https://shc.example.org/issuer", jwks, "jwks.json"); err != nil {
		log.Fatal(err)
	}
	v := verify.New(issuers, nil, nil)
	var chunks []verify.Scanned
	for _, name := range []string{"shc/testdata/valid-chunk-2-of-2.txt", "shc/testdata/valid-chunk-1-of-2.txt"} {
		s, err := v.ReadFileContext(context.Background(), name)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(name, s.IsChunk())
		chunks = append(chunks, s)
	}
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, r := range v.VerifyChunks(chunks, at) {
		fmt.Println(r.Status, r.PayloadForm, r.Certificate.Name, r.ChunkInputs)
	}
	for _, r := range v.VerifyChunks(chunks[:1], at) {
		fmt.Println(r.Status, r.Detail)
	}
	// Output:
	// shc/testdata/valid-chunk-2-of-2.txt true
	// shc/testdata/valid-chunk-1-of-2.txt true
	// VALID numeric-chunk Asha Verma [shc/testdata/valid-chunk-1-of-2.txt shc/testdata/valid-chunk-2-of-2.txt]
	// MALFORMED a SMART Health Card split over 2 QR codes: chunk 1 is missing (scan every code of the card together): not every chunk of the card is present
}
