package verify_test

import (
	"bytes"
	"crypto/x509"
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
	// SMART Health Cards in every form, EU DCCs of every type, chunks.
	for _, name := range []string{
		"shc/testdata/valid.txt", "shc/testdata/revoked.jws", "shc/testdata/cards.smart-health-card",
		"shc/testdata/valid-chunk-1-of-2.txt", "dcc/testdata/vaccination.hc1", "dcc/testdata/test.hc1", "dcc/testdata/recovery.hc1",
	} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(bytes.TrimSpace(b))
	}
	ts, err := trust.Load(filepath.Join(fixtures, "trust.json"))
	if err != nil {
		f.Fatal(err)
	}
	// The fixture SHC issuer and EU signer too, so that fuzzed payloads
	// reach their signature checks.
	formats := formatTrust(f)
	jwks, _ := os.ReadFile(filepath.Join(shcDir, "issuer", ".well-known", "jwks.json"))
	if _, _, err := ts.AddSHCIssuer(shcIssuer, jwks, ""); err != nil {
		f.Fatal(err)
	}
	xa, _ := formats.DCCIssuer("XA")
	if _, err := ts.AddDCCSigners("XA", []*x509.Certificate{xa.Signers[0].X509()}, ""); err != nil {
		f.Fatal(err)
	}
	e := loadExpectation(f)
	v := verify.New(ts, nil, nil)
	f.Fuzz(func(t *testing.T, payload []byte) {
		for _, r := range v.VerifyPayloads(payload, e.At) {
			if r.OK() {
				t.Fatalf("accepted without a revocation list: %+v", r)
			}
			if r.Status == "" || (r.Status == verify.StatusValid && r.Certificate == nil) {
				t.Fatalf("incomplete result %+v", r)
			}
			if r.Status == verify.StatusValid && r.Format == "" {
				t.Fatalf("VALID in no format: %+v", r)
			}
			if len(r.UnsignedFields) > 0 && r.Status != verify.StatusValid && r.Status != verify.StatusUnsignedHolder {
				t.Fatalf("unsigned fields on a %s result", r.Status)
			}
		}
		// The same chunk scanned twice is one card, or refused twice when
		// it cannot be decoded; never accepted.
		s := verify.Scanned{Input: "fuzz", Payload: payload, FromImage: true}
		if s.IsChunk() {
			rs := v.VerifyChunks([]verify.Scanned{s, s}, e.At)
			if len(rs) != 1 && (len(rs) != 2 || rs[0].Status != verify.StatusMalformed) {
				t.Fatalf("one chunk twice gave %d results: %+v", len(rs), rs)
			}
			for _, r := range rs {
				if r.OK() {
					t.Fatalf("chunk accepted without a revocation list: %+v", r)
				}
			}
		}
	})
}
