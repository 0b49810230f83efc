package dcc_test

import (
	"fmt"
	"image/png"
	"os"
	"time"

	"github.com/crlverify/crlverify/verify/dcc"
)

// Verify a certificate from its QR payload with a document signer
// certificate, and show it. The fixtures are made by go generate (see
// testdata/README.md).
func Example() {
	payload, _ := os.ReadFile("testdata/vaccination.hc1")
	signers, err := dcc.LoadSigners("testdata/example-dsc.pem")
	if err != nil {
		panic(err)
	}
	at := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	v, err := dcc.Check(payload, signers, at, nil)
	if err != nil {
		fmt.Println("not valid:", err)
		return
	}
	d := v.Display(nil)
	fmt.Println(d.Type, "certificate of", d.Name, "born", d.DateOfBirth)
	fmt.Printf("dose %d of %d of %s (%s) by %s against %s on %s\n",
		d.Dose, d.TotalDoses, d.Vaccine, d.VaccineType, d.Manufacturer, d.Disease, d.Date)
	fmt.Println("signed by", v.Signer.Certificate.Subject.CommonName, "kid", dcc.KIDString(v.Signer.KID))
	fmt.Println("revocation:", v.RevocationIssuer(), v.RevocationIDs())
	// Output:
	// vaccination certificate of Gabriele Musterfrau-Gößinger born 1998-02-26
	// dose 2 of 2 of Comirnaty (SARS-CoV-2 mRNA vaccine) by Biontech Manufacturing GmbH against COVID-19 on 2026-02-26
	// signed by Example Health Authority DSC kid V6jo4Ya37I4=
	// revocation: XA [URN:UVCI:01:XA:EXAMPLE0000000000000001#Q]
}

// The checks fail with errors that tell the step: here the certificate has
// expired at the time of the check.
func ExampleCheck_expired() {
	payload, _ := os.ReadFile("testdata/test.hc1")
	signers, _ := dcc.LoadSigners("testdata/example-dsc-list.json")
	_, err := dcc.Check(payload, signers, time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC), nil)
	fmt.Println(err)
	// Output:
	// dcc: expired: expired 2027-03-02T09:30:00Z
}

// Decode a payload without verifying it, step by step.
func ExampleDecode() {
	payload, _ := os.ReadFile("testdata/recovery.hc1")
	c, err := dcc.Decode(payload)
	if err != nil {
		panic(err)
	}
	fmt.Println(c.Issuer, c.Algorithm, c.Form, c.IssuedAt.Format(time.DateOnly), c.Expires.Format(time.DateOnly))
	fmt.Println(c.DCC.Type(), c.DCC.Recoveries[0].ValidUntil)
	_, err = dcc.Decode([]byte("HC2:6BF+70790T9WJWG"))
	fmt.Println(err)
	// Output:
	// XA ES256 cose 2026-03-02 2027-03-02
	// recovery 2026-08-01
	// dcc: not an HC1 payload: starts with "HC2:", not "HC1:"
}

// Read the code from an image: a QR code, or an Aztec code as Ireland
// issues them.
func ExampleScanImage() {
	f, _ := os.Open("testdata/vaccination-aztec.png")
	defer f.Close()
	img, _ := png.Decode(f)
	payload, symbology, err := dcc.ScanImage(img, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(symbology, string(payload[:8]))
	// Output:
	// aztec HC1:NCF%
}

func ExampleEncodeBase45() {
	fmt.Println(string(dcc.EncodeBase45([]byte("Hello!!"))))
	b, err := dcc.DecodeBase45([]byte("GGW"))
	fmt.Println(b, err)
	// Output:
	// %69 VD92EX0
	// [] dcc: invalid base45: group "GGW" at 0 is 65536, more than 65535
}
