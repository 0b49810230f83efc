package service_test

import (
	"errors"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/crlverify/crlverify/crl/service"
)

// FuzzParseRequest feeds the write endpoints' body parser arbitrary bytes:
// it never panics, every refusal wraps ErrInvalid, and what it accepts
// names exactly one well-formed selector.
func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"certificate_id":"7000003421003","issuer":"https://cowin.gov.in/","reason":"tampering","note":"a note"}`,
		`{"beneficiary_id":"PEC-0001","doses":[2,3],"reason":11}`,
		`{"beneficiary_id":"PEC-0001","all_doses":true}`,
		`{"batch":"COVAX-B12"}`,
		`{"certificate_id":"1","until":"2999-01-01T00:00:00Z"}`,
		`{"certificate_id":"1","until":"1795338000","reason":"certificateHold"}`,
		`{"certificate_id":"1","reason":"7"}`,
		`{"certificate_id":"1"} trailing`,
		`{"certificate_id":"\u0000"}`,
		`{"doses":[1e400]}`,
		`[]`, `null`, ``,
	} {
		for _, op := range []string{service.OpRevoke, service.OpSuspend, service.OpLift} {
			f.Add(op, []byte(s))
		}
	}
	now := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, op string, body []byte) {
		req, err := service.ParseRequest(op, body, now)
		if err != nil {
			if !errors.Is(err, service.ErrInvalid) {
				t.Fatalf("refusal does not wrap ErrInvalid: %v", err)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("refusal message is not UTF-8: %q", err)
			}
			return
		}
		n := 0
		for _, s := range []string{req.CertificateID, req.BeneficiaryID, req.Batch} {
			if s != "" {
				n++
				if len(s) > service.MaxIDBytes || !utf8.ValidString(s) {
					t.Fatalf("accepted a bad identifier %q", s)
				}
			}
		}
		if n != 1 {
			t.Fatalf("accepted %d selectors: %+v", n, req)
		}
		if req.BeneficiaryID != "" && req.AllDoses == (len(req.Doses) > 0) {
			t.Fatalf("beneficiary with doses %v and all_doses %v", req.Doses, req.AllDoses)
		}
		for _, d := range req.Doses {
			if d < 1 || d > service.MaxDose {
				t.Fatalf("dose %d accepted", d)
			}
		}
		if op == service.OpSuspend && !req.Until.After(now) || op != service.OpSuspend && !req.Until.IsZero() {
			t.Fatalf("%s with until %v", op, req.Until)
		}
		if len(req.Note) > service.MaxNoteBytes {
			t.Fatalf("note of %d bytes", len(req.Note))
		}
	})
}
