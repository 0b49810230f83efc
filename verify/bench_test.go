package verify_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify"
)

// BenchmarkVerifyPayload: a DIVOC RSA credential from its QR bytes to a
// verdict (decode, canonicalise, signature, trust, revocation lookup).
func BenchmarkVerifyPayload(b *testing.B) {
	e := loadExpectation(b)
	v, _ := fixtureVerifier(b, e, nil)
	payload, err := os.ReadFile(filepath.Join(fixtures, "divoc", "payloads", "valid.utf8-zip"))
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if r := v.VerifyPayload(payload, e.At); !r.OK() {
			b.Fatal(r.Status, r.Detail)
		}
	}
}

// BenchmarkVerifyFile: a clean QR image file to a verdict.
func BenchmarkVerifyFile(b *testing.B) {
	e := loadExpectation(b)
	v, _ := fixtureVerifier(b, e, nil)
	path := filepath.Join(fixtures, "divoc", "qr", "valid.png")
	for b.Loop() {
		if r := v.VerifyFile(path, e.At); !r.OK() {
			b.Fatal(r.Status, r.Detail)
		}
	}
}

// formatBench is a Verifier over a store holding a signed snapshot for
// each format's issuer and the SMART Health Cards issuer's own list, and
// a certificate of each format, VALID with a known revocation status.
type formatBench struct {
	name    string
	v       *verify.Verifier
	payload string // file holding the QR payload
	image   string // QR (or Aztec) image of it
	at      time.Time
}

func formatBenches(b *testing.B) []formatBench {
	e := loadExpectation(b)
	divocV, _ := fixtureVerifier(b, e, nil)

	ts := formatTrust(b)
	shcSt := openStore(b)
	list, keys := publishList(b, "example-health", shcIssuer, shcAt.Add(-time.Hour), "someone-else")
	if _, err := shcSt.ApplySnapshot(bytes.NewReader(list), keys, shcAt, nil); err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(shcCRLPath())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := shcSt.ImportSHCList(shcIssuer, raw, "crl.json", shcAt); err != nil {
		b.Fatal(err)
	}
	dccSt := openStore(b)
	list, keys = publishList(b, "xa-health", "XA", dccAt.Add(-time.Hour), "URN:UVCI:01:XA:SOMEONE-ELSE")
	if _, err := dccSt.ApplySnapshot(bytes.NewReader(list), keys, dccAt, nil); err != nil {
		b.Fatal(err)
	}
	return []formatBench{
		{"divoc", divocV, filepath.Join(fixtures, "divoc", "payloads", "valid.utf8-zip"), filepath.Join(fixtures, "divoc", "qr", "valid.png"), e.At},
		{"shc", verify.New(ts, shcSt, nil), filepath.Join(shcDir, "valid.txt"), filepath.Join(shcDir, "valid.png"), shcAt},
		{"dcc", verify.New(ts, dccSt, nil), filepath.Join(dccDir, "vaccination.hc1"), filepath.Join(dccDir, "vaccination-qr.png"), dccAt},
		{"dcc-aztec", verify.New(ts, dccSt, nil), "", filepath.Join(dccDir, "vaccination-aztec.png"), dccAt},
	}
}

// BenchmarkVerifyFormat: one certificate of each format from its QR
// payload to a VALID verdict with a known revocation status (decoding,
// signature, trust, revocation lookups, dates): the target is under 1 ms
// for SMART Health Cards and EU DCC.
func BenchmarkVerifyFormat(b *testing.B) {
	for _, fb := range formatBenches(b) {
		if fb.payload == "" {
			continue
		}
		payload, err := os.ReadFile(fb.payload)
		if err != nil {
			b.Fatal(err)
		}
		payload = bytes.TrimSuffix(payload, []byte("\n"))
		b.Run(fb.name, func(b *testing.B) {
			for b.Loop() {
				if r := fb.v.VerifyPayload(payload, fb.at); !r.OK() {
					b.Fatal(r.Status, r.Detail)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/verdict")
		})
	}
}

// BenchmarkScanFormat: one certificate of each format from its image file
// (PNG decoding, the QR reader, for the Aztec code after the QR reader's
// attempts) to the verdict.
func BenchmarkScanFormat(b *testing.B) {
	for _, fb := range formatBenches(b) {
		b.Run(fb.name, func(b *testing.B) {
			for b.Loop() {
				if r := fb.v.VerifyFile(fb.image, fb.at); !r.OK() {
					b.Fatal(r.Status, r.Detail)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/1000, "ms/scan")
		})
	}
}
