package verify_test

import (
	"os"
	"path/filepath"
	"testing"
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
