package online_test

import (
	"errors"
	"testing"

	"github.com/crlverify/crlverify/verify/online"
)

// FuzzParseAnswer feeds the status answer parser arbitrary bytes, seeded
// with answers "crlverify serve" gives: it never panics, every refusal
// wraps ErrAnswer, and what it accepts answers the question asked with a
// known status and the times that status needs.
func FuzzParseAnswer(f *testing.F) {
	for _, s := range []string{
		`{"issuer":"https://cowin.gov.in/","certificate_id":"R-1","status":"revoked","imported":false,"revoked_at":"2026-11-30T06:40:01Z","reason":"tampering","at":"2026-11-30T06:40:01Z"}`,
		`{"issuer":"https://cowin.gov.in/","certificate_id":"R-1","status":"not_revoked","imported":false,"at":"2026-11-30T06:40:01Z"}`,
		`{"issuer":"https://cowin.gov.in/","certificate_id":"R-1","status":"suspended","imported":true,"revoked_at":"2026-11-01T00:00:00Z","reason":"certificateHold","suspended_until":"2027-01-01T00:00:00Z","at":"2026-11-30T06:40:01Z"}`,
		`{"issuer":"https://cowin.gov.in/","certificate_id":"R-1","status":"not_revoked","imported":true,"revoked_at":"2026-11-01T00:00:00Z","reason":"dataError","lifted":true,"at":"2026-11-30T06:40:01Z"}`,
		`{"issuer":"https://elsewhere.example/","certificate_id":"R-1","status":"unknown","imported":false,"at":"2026-11-30T06:40:01Z"}`,
		`{"error":"this endpoint needs the reader role"}`,
		`{"issuer":"https://cowin.gov.in/","certificate_id":"R-1","status":"revoked","revoked_at":"0001-01-01T00:00:00Z","reason":"7","at":"2026-11-30T06:40:01Z"} {}`,
		`{"issuer":"https://cowin.gov.in/","certificate_id":"R-1","status":"revoked","revoked_at":"0001-01-01T00:00:00Z","reason":"tampering","at":"2026-11-30T06:40:01Z"}`,
		``, `null`, `[]`,
	} {
		f.Add([]byte(s), "https://cowin.gov.in/", "R-1")
	}
	f.Fuzz(func(t *testing.T, body []byte, issuer, id string) {
		a, err := online.ParseAnswer(body, issuer, id)
		if err != nil {
			if !errors.Is(err, online.ErrAnswer) {
				t.Fatalf("refusal does not wrap ErrAnswer: %v", err)
			}
			return
		}
		if a.CertificateID != id || issuer != "" && a.Issuer != issuer || a.Issuer == "" {
			t.Fatalf("accepted an answer to another question: %+v", a)
		}
		switch a.Status {
		case "revoked", "suspended":
			if a.RevokedAt.IsZero() || !a.Reason.Valid() || a.Status == "suspended" && !a.SuspendedUntil.After(a.At) {
				t.Fatalf("accepted %s without its times: %+v", a.Status, a)
			}
		case "not_revoked", "unknown":
		default:
			t.Fatalf("accepted status %q", a.Status)
		}
	})
}
