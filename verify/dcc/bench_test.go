package dcc_test

import (
	"testing"

	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/dcc/internal/gen"
)

// BenchmarkCheck measures a whole verdict from the HC1 payload: decoding,
// schema, signature (ES256) and dates. The target is well under a
// millisecond.
func BenchmarkCheck(b *testing.B) {
	payload := readFixture(b, "vaccination.hc1")
	signers, err := dcc.LoadSigners("testdata/example-dsc.pem")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dcc.Check(payload, signers, exampleAt, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckPS256 is BenchmarkCheck for an RSA-2048 document signer.
func BenchmarkCheckPS256(b *testing.B) {
	key := gen.RSAKey(2048)
	is := issuer{key, gen.DSC(key, gen.DSCOptions{CommonName: "RSA", NotBefore: gen.ExampleNotBefore, NotAfter: gen.ExampleNotAfter})}
	payload := []byte(is.issue(vacc(), nil))
	signers := is.signers("")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dcc.Check(payload, signers, exampleAt, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode measures decoding alone (no signature).
func BenchmarkDecode(b *testing.B) {
	payload := readFixture(b, "vaccination.hc1")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := dcc.Decode(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScanImage measures reading the payload from a clean image:
// a QR code, and an Aztec code (found after the QR reader gives up).
func BenchmarkScanImage(b *testing.B) {
	for _, tc := range []struct{ name, file string }{{"qr", "vaccination-qr.png"}, {"aztec", "vaccination-aztec.png"}} {
		img := decodePNG(b, tc.file)
		b.Run(tc.name, func(b *testing.B) {
			for b.Loop() {
				if _, _, err := dcc.ScanImage(img, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
