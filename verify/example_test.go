package verify_test

import (
	"fmt"
	"image"
	_ "image/png"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/store"
	"github.com/crlverify/crlverify/verify/trust"
)

// exampleVerifier builds a Verifier the way an app does: the issuers' keys
// from a trust store, and a local CRL store holding a signed list (here
// applied from a file; an app keeps it current with crlsync).
func exampleVerifier(dir string, at time.Time) (*verify.Verifier, func()) {
	issuers, err := trust.Load("../testdata/trust.json")
	if err != nil {
		log.Fatal(err)
	}
	jwks, err := os.Open("../testdata/publisher/publisher.jwks")
	if err != nil {
		log.Fatal(err)
	}
	defer jwks.Close()
	publisherKeys, err := snapshot.ReadJWKS(jwks)
	if err != nil {
		log.Fatal(err)
	}
	crls, err := store.Open(filepath.Join(dir, "crl.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	list, err := os.Open("../testdata/crl/" + snapshot.FullName(1))
	if err != nil {
		log.Fatal(err)
	}
	defer list.Close()
	if _, err := crls.ApplySnapshot(list, snapshot.KeysFromSet(publisherKeys), at, nil); err != nil {
		log.Fatal(err)
	}
	return verify.New(issuers, crls, nil), func() { crls.Close() }
}

func ExampleVerifier_VerifyPayload() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	v, closeStore := exampleVerifier(dir, at)
	defer closeStore()

	// The bytes of a QR code: a DIVOC ZIP holding certificate.json.
	payload, err := os.ReadFile("../testdata/divoc/payloads/valid.zip")
	if err != nil {
		log.Fatal(err)
	}
	r := v.VerifyPayload(payload, at)
	fmt.Println(r.Status, r.OK())
	fmt.Println(r.Certificate.Name, r.Certificate.ID)
	fmt.Println("CRL serial", r.Revocation.Serial, r.Revocation.Freshness)
	// Output:
	// VALID true
	// Asha Verma 8000000000011
	// CRL serial 1 fresh
}

func ExampleVerifier_VerifyImage() {
	dir, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(dir)
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	v, closeStore := exampleVerifier(dir, at)
	defer closeStore()

	f, err := os.Open("../testdata/divoc/qr/revoked.png")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	img, _, err := image.Decode(f)
	if err != nil {
		log.Fatal(err)
	}
	r := v.VerifyImage(img, at)
	fmt.Println(r.Status, r.Revocation.Reason, r.Revocation.RevokedAt.Format(time.DateOnly))
	fmt.Println(r.Detail)
	// Output:
	// REVOKED dataError 2026-04-02
	// revoked on 2026-04-02 (dataError)
}
