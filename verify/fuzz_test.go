package verify_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/trust"
)

// FuzzVerifyPayload runs arbitrary QR payloads through the whole verdict:
// it must never panic, and never accept what it cannot verify.
func FuzzVerifyPayload(f *testing.F) {
	for _, name := range []string{"valid.zip", "valid.utf8-zip", "valid.json", "truncated.zip"} {
		b, err := os.ReadFile(filepath.Join(fixtures, "divoc", "payloads", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	// Deployment contexts, unsigned holders, an undefined term.
	for _, name := range []string{"context-indonesia.json", "unsigned-holder.json", "unsigned-holder-empty-id.json", "unsigned-holder-accepted.json", "undefined-term.json"} {
		b, err := os.ReadFile(filepath.Join(fixtures, "divoc", "certs", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	ts, err := trust.Load(filepath.Join(fixtures, "trust.json"))
	if err != nil {
		f.Fatal(err)
	}
	e := loadExpectation(f)
	v := verify.New(ts, nil, nil)
	f.Fuzz(func(t *testing.T, payload []byte) {
		r := v.VerifyPayload(payload, e.At)
		if r.OK() {
			t.Fatalf("accepted without a revocation list: %+v", r)
		}
		if r.Status == "" || (r.Status == verify.StatusValid && r.Certificate == nil) {
			t.Fatalf("incomplete result %+v", r)
		}
		if len(r.UnsignedFields) > 0 && r.Status != verify.StatusValid && r.Status != verify.StatusUnsignedHolder {
			t.Fatalf("unsigned fields on a %s result", r.Status)
		}
	})
}
