package service_test

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/crl/service"
	"github.com/crlverify/crlverify/crl/service/auth"
)

type writeAnswer struct {
	Action    string           `json:"action"`
	Matched   int              `json:"matched"`
	Changed   []service.Change `json:"changed"`
	Unchanged int              `json:"unchanged"`
}

// Every endpoint against every credential: 401 without one or with a bad
// one, 403 with the wrong role, through with the right one; every refusal
// is logged.
func TestRolesMatrix(t *testing.T) {
	a := newAuthority(t)
	s := startServer(t, a)
	endpoints := []struct {
		method, path string
		body         any
		role         auth.Role
	}{
		{"POST", "/v1/revoke", `{"certificate_id":"9000000000001"}`, auth.RoleRevoker},
		{"POST", "/v1/suspend", `{"certificate_id":"9000000000002","until":"2999-01-01"}`, auth.RoleRevoker},
		{"POST", "/v1/lift", `{"certificate_id":"9000000000003"}`, auth.RoleRevoker},
		{"POST", "/v1/publish", nil, auth.RolePublisher},
		{"GET", "/v1/revocations", nil, auth.RoleAuditor},
		{"GET", "/v1/audit", nil, auth.RoleAuditor},
		{"GET", "/v1/status?id=9000000000001", nil, auth.RoleReader},
		{"POST", "/v1/verify", "{}", auth.RoleReader},
	}
	refusals := 0
	for _, e := range endpoints {
		for _, cred := range []string{"", "crlv_notatokenatallnotatokenatallnotatokenatall", "Bearer-less"} {
			req := []string{}
			tok := cred
			if cred == "Bearer-less" {
				tok, req = "", []string{"Authorization", "Basic dXNlcjpwYXNz"}
			}
			code, body := s.do(t, e.method, e.path, tok, e.body, req...)
			if code != http.StatusUnauthorized || !strings.Contains(body, `"error"`) {
				t.Errorf("%s %s with credential %q: %d %s, want 401", e.method, e.path, cred, code, body)
			}
			refusals++
		}
		for _, r := range auth.Roles() {
			code, body := s.do(t, e.method, e.path, a.tokens[r], e.body)
			switch {
			case r != e.role && code != http.StatusForbidden:
				t.Errorf("%s %s as %s: %d %s, want 403", e.method, e.path, r, code, body)
			case r != e.role:
				refusals++
				if !strings.Contains(body, string(e.role)) {
					t.Errorf("403 does not name the role needed: %s", body)
				}
			case code == http.StatusUnauthorized || code == http.StatusForbidden:
				t.Errorf("%s %s as %s: %d %s, want it let through", e.method, e.path, r, code, body)
			}
		}
	}
	if got := len(s.logs.lines(t, "refused")); got != refusals {
		t.Errorf("%d refusals logged, want %d", got, refusals)
	}
	for _, tok := range a.tokens {
		if strings.Contains(s.logs.String(), tok) || strings.Contains(s.logs.String(), tok[len(auth.TokenPrefix):]) {
			t.Fatal("a token appears in the log")
		}
	}
	// A revoked token is refused at its next request.
	if err := auth.RevokeToken(a.tokensPath, "reader-svc"); err != nil {
		t.Fatal(err)
	}
	if code, _ := s.do(t, "GET", "/v1/status?id=1", a.tokens[auth.RoleReader], nil); code != http.StatusUnauthorized {
		t.Errorf("revoked token: %d, want 401", code)
	}
	if code, _ := s.do(t, "GET", "/v1/nothing", a.tokens[auth.RoleReader], nil); code != http.StatusNotFound {
		t.Errorf("unknown endpoint: %d, want 404", code)
	}
	if code, _ := s.do(t, "GET", "/v1/revoke", a.tokens[auth.RoleRevoker], nil); code != http.StatusMethodNotAllowed {
		t.Errorf("GET /v1/revoke: %d, want 405", code)
	}
}

func TestRevokeSuspendLift(t *testing.T) {
	a := newAuthority(t)
	s := startServer(t, a)
	rev := a.tokens[auth.RoleRevoker]
	post := func(path, body string) (int, writeAnswer, string) {
		t.Helper()
		code, b := s.do(t, "POST", path, rev, body)
		var w writeAnswer
		if code == http.StatusOK {
			w = decode[writeAnswer](t, b)
		}
		return code, w, b
	}
	code, w, body := post("/v1/revoke", `{"certificate_id":"9000000000001","reason":"dataError","note":"wrong date of birth"}`)
	if code != 200 || w.Action != "revoke" || w.Matched != 1 || len(w.Changed) != 1 || w.Changed[0].Before != nil ||
		w.Changed[0].After == nil || w.Changed[0].After.Reason.String() != "dataError" || w.Changed[0].Issuer != cowin {
		t.Fatalf("revoke: %d %s", code, body)
	}
	first := w.Changed[0].After.RevokedAt
	// Revoking again changes nothing and keeps the revoked-at; a new reason
	// updates the reason only.
	if code, w, body = post("/v1/revoke", `{"certificate_id":"9000000000001","reason":"dataError"}`); code != 200 || w.Unchanged != 1 || len(w.Changed) != 0 {
		t.Errorf("revoke again: %d %s", code, body)
	}
	if code, w, body = post("/v1/revoke", `{"certificate_id":"9000000000001","reason":12}`); code != 200 || len(w.Changed) != 1 ||
		!w.Changed[0].After.RevokedAt.Equal(first) || w.Changed[0].After.Reason.String() != "tampering" {
		t.Errorf("revoke with a new reason: %d %s", code, body)
	}
	// A permanent revocation is not weakened into a suspension.
	if code, _, body = post("/v1/suspend", `{"certificate_id":"9000000000001","until":"2999-01-01"}`); code != http.StatusUnprocessableEntity ||
		!strings.Contains(body, `"rule":"revoked-not-suspendable"`) {
		t.Errorf("suspend a revoked certificate: %d %s, want 422 naming the rule", code, body)
	}
	if code, w, body = post("/v1/suspend", `{"certificate_id":"9000000000002","until":"2999-01-01T00:00:00Z","note":"investigation"}`); code != 200 ||
		len(w.Changed) != 1 || w.Changed[0].After.Reason.String() != "certificateHold" || w.Changed[0].After.SuspendedUntil.Year() != 2999 {
		t.Errorf("suspend: %d %s", code, body)
	}
	reader := a.tokens[auth.RoleReader]
	for id, want := range map[string]string{"9000000000001": "revoked", "9000000000002": "suspended", "9000000000003": "not_revoked"} {
		code, body := s.do(t, "GET", "/v1/status?id="+id, reader, nil)
		st := decode[service.CertificateStatus](t, body)
		if code != 200 || st.Status != want || st.Issuer != cowin || st.CertificateID != id {
			t.Errorf("status of %s: %d %s, want %s", id, code, body, want)
		}
	}
	if _, body := s.do(t, "GET", "/v1/status?issuer=https://nobody.example/&id=1", reader, nil); !strings.Contains(body, `"status":"unknown"`) {
		t.Errorf("status under an issuer the list does not cover: %s", body)
	}
	if code, w, body = post("/v1/lift", `{"certificate_id":"9000000000002"}`); code != 200 || len(w.Changed) != 1 || w.Changed[0].After != nil || w.Changed[0].Before == nil {
		t.Errorf("lift: %d %s", code, body)
	}
	if code, w, body = post("/v1/lift", `{"certificate_id":"9000000000002"}`); code != 200 || w.Unchanged != 1 {
		t.Errorf("lift again: %d %s", code, body)
	}
	if _, body := s.do(t, "GET", "/v1/status?id=9000000000002", reader, nil); !strings.Contains(body, `"status":"not_revoked"`) {
		t.Errorf("status after lift: %s", body)
	}

	if code, _, body = post("/v1/lift", `{"certificate_id":"9000000000404"}`); code != http.StatusNotFound {
		t.Errorf("lift an id the registry never heard of: %d %s, want 404", code, body)
	}

	// The registry records who: the token's name, never "api".
	var actors []string
	a.reg.Audit(0, func(r *registry.AuditRecord) error {
		switch r.Action {
		case registry.ActionRevoke, registry.ActionSuspend, registry.ActionLift:
			actors = append(actors, r.Action.String()+" "+r.Actor)
		}
		return nil
	})
	if got := strings.Join(actors, ","); got != "revoke token:revoker-svc,revoke token:revoker-svc,suspend token:revoker-svc,lift token:revoker-svc" {
		t.Errorf("audit actors %q", got)
	}
	changes := s.logs.lines(t, "change")
	if len(changes) != 4 {
		t.Fatalf("%d change log lines, want 4: %s", len(changes), s.logs)
	}
	for _, c := range changes {
		if c["actor"] != "token:revoker-svc" || c["certificate"] == nil {
			t.Errorf("change log line %v", c)
		}
	}
	for _, secret := range []string{"9000000000001", "9000000000002", "wrong date of birth", "investigation"} {
		if strings.Contains(s.logs.String(), secret) {
			t.Errorf("%q appears in clear in the log", secret)
		}
	}
	if c := changes[0]["certificate"]; c != service.Pseudonym([]byte("test log key"), "9000000000001") {
		t.Errorf("certificate pseudonym %v", c)
	}

	// The chronological list of what is in force, page by page.
	for _, id := range []string{"9000000000011", "9000000000012", "9000000000013"} {
		if code, _, body := post("/v1/revoke", `{"certificate_id":"`+id+`","reason":"tampering"}`); code != 200 {
			t.Fatalf("revoke %s: %d %s", id, code, body)
		}
	}
	aud := a.tokens[auth.RoleAuditor]
	var all []registry.RevocationRecord
	next := ""
	for i := 0; ; i++ {
		code, body := s.do(t, "GET", "/v1/revocations?limit=2&page="+next, aud, nil)
		p := decode[service.RevocationPage](t, body)
		if code != 200 || len(p.Revocations) > 2 || i > 5 {
			t.Fatalf("page %d: %d %s", i, code, body)
		}
		all = append(all, p.Revocations...)
		if next = p.NextPage; next == "" {
			break
		}
	}
	var ids []string
	for i, r := range all {
		ids = append(ids, r.CertificateID+" "+r.Reason.String())
		if i > 0 && r.RevokedAt.Before(all[i-1].RevokedAt) {
			t.Error("revocations not in chronological order")
		}
	}
	slices.Sort(ids)
	if got := strings.Join(ids, ","); got != "9000000000001 tampering,9000000000011 tampering,9000000000012 tampering,9000000000013 tampering" {
		t.Errorf("revocations %s", got)
	}
	if _, body := s.do(t, "GET", "/v1/revocations?since=2999-01-01", aud, nil); !strings.Contains(body, `"revocations":[]`) {
		t.Errorf("revocations since the future: %s", body)
	}
	if code, body := s.do(t, "GET", "/v1/audit?limit=3", aud, nil); code != 200 || !strings.Contains(body, `"next":4`) || !strings.Contains(body, `"actor":"token:revoker-svc"`) {
		t.Errorf("audit: %d %s", code, body)
	}
}

func TestBadRequests(t *testing.T) {
	a := newAuthority(t, cowin, divoc)
	s := startServer(t, a, func(c *service.Config, _ *service.ServerOptions) { c.MaxBody = 4096 })
	rev := a.tokens[auth.RoleRevoker]
	for _, c := range []struct {
		path, body string
		code       int
		want       string
	}{
		{"/v1/revoke", `{"certificate_id":"1"}`, 400, "issuer required"},
		{"/v1/revoke", `{"certificate_id":"1","issuer":"https://nobody.example/"}`, 422, "issuer-covered"},
		{"/v1/revoke", `{"certificate_id":"1","issuer":"` + cowin + `","reason":"removeFromCRL"}`, 400, "reason"},
		{"/v1/revoke", `{"certificate_id":"1","issuer":"` + cowin + `","reason":7}`, 400, "reason"},
		{"/v1/revoke", `{"certificate_id":"1","issuer":"` + cowin + `","reason":"nonsense"}`, 400, "faultyBatch"},
		{"/v1/revoke", `{"certificate_id":"1","issuer":"` + cowin + `","until":"2999-01-01"}`, 400, "/v1/suspend"},
		{"/v1/revoke", `{"certificate_id":"1","batch":"B1"}`, 400, "exactly one"},
		{"/v1/revoke", `{}`, 400, "exactly one"},
		{"/v1/revoke", `{"certificate_id":" 1"}`, 400, "white space"},
		{"/v1/revoke", `{"certificate_id":"1\u0007"}`, 400, "control"},
		{"/v1/revoke", `{"certificate_id":1}`, 400, "must be a JSON string"},
		{"/v1/revoke", `{"certificate_id":"1","extra":true}`, 400, "unknown field"},
		{"/v1/revoke", `{"certificate_id":"1"} {"certificate_id":"2"}`, 400, "nothing after"},
		{"/v1/revoke", `{"certificate_id":"1"`, 400, "ends early"},
		{"/v1/revoke", `{"beneficiary_id":"B-1"}`, 400, "doses"},
		{"/v1/revoke", `{"beneficiary_id":"B-1","doses":[0]}`, 400, "numbered"},
		{"/v1/revoke", `{"beneficiary_id":"B-1","doses":[2],"all_doses":true}`, 400, "not both"},
		{"/v1/revoke", `{"certificate_id":"1","doses":[2]}`, 400, "go with"},
		{"/v1/revoke", `{"certificate_id":"` + strings.Repeat("9", 1025) + `"}`, 400, "longer than"},
		{"/v1/revoke", `{"certificate_id":"1","note":"` + strings.Repeat("n", 5000) + `"}`, 413, "larger than 4096"},
		{"/v1/suspend", `{"certificate_id":"1","issuer":"` + cowin + `"}`, 400, "needs"},
		{"/v1/suspend", `{"certificate_id":"1","issuer":"` + cowin + `","until":"2001-01-01"}`, 400, "not in the future"},
		{"/v1/suspend", `{"certificate_id":"1","issuer":"` + cowin + `","until":"soon"}`, 400, "until"},
		{"/v1/lift", `{"certificate_id":"1","issuer":"` + cowin + `","reason":"dataError"}`, 400, "takes no"},
	} {
		code, body := s.do(t, "POST", c.path, rev, c.body)
		if code != c.code || !strings.Contains(body, c.want) || !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("POST %s %.80s: %d %s, want %d with %q", c.path, c.body, code, body, c.code, c.want)
		}
	}
	aud, reader := a.tokens[auth.RoleAuditor], a.tokens[auth.RoleReader]
	for _, c := range []struct{ path, tok, want string }{
		{"/v1/revocations?since=yesterday", aud, "since"},
		{"/v1/revocations?limit=0", aud, "limit"},
		{"/v1/revocations?limit=1001", aud, "limit"},
		{"/v1/revocations?page=x", aud, "cursor"},
		{"/v1/audit?from=0", aud, "from"},
		{"/v1/status", reader, "empty"},
		{"/v1/status?id=1", reader, "issuer required"},
	} {
		if code, body := s.do(t, "GET", c.path, c.tok, nil); code != 400 || !strings.Contains(body, c.want) {
			t.Errorf("GET %s: %d %s, want 400 with %q", c.path, code, body, c.want)
		}
	}
	var n int
	a.reg.Audit(0, func(r *registry.AuditRecord) error {
		if r.Action == registry.ActionRevoke {
			n++
		}
		return nil
	})
	if n != 0 {
		t.Errorf("a refused request changed the registry (%d revocations)", n)
	}
}

// A beneficiary or batch the registry does not hold is 404 and changes
// nothing; the log names the beneficiary only by its pseudonym.
func TestUnknownBeneficiaryAndBatch(t *testing.T) {
	a := newAuthority(t)
	s := startServer(t, a)
	for _, body := range []string{
		`{"beneficiary_id":"PEC-0001","doses":[2,3]}`,
		`{"beneficiary_id":"PEC-0001","all_doses":true}`,
		`{"batch":"COVAX-B12"}`,
	} {
		code, resp := s.do(t, "POST", "/v1/revoke", a.tokens[auth.RoleRevoker], body)
		if code != http.StatusNotFound || !strings.Contains(resp, `"error"`) {
			t.Errorf("%s: %d %s, want 404", body, code, resp)
		}
	}
	if strings.Contains(s.logs.String(), "PEC-0001") {
		t.Error("a beneficiary id appears in clear in the log")
	}
	if got := s.logs.lines(t, "change refused"); len(got) != 3 || got[0]["beneficiary"] != service.Pseudonym([]byte("test log key"), "PEC-0001") ||
		got[0]["refusal"] != "not found" {
		t.Errorf("refused changes logged: %v", got)
	}
}

// importCertificates loads issued certificates into the registry.
func importCertificates(t *testing.T, a *authority, rows string) {
	t.Helper()
	if _, err := a.reg.ImportCertificates(context.Background(), strings.NewReader(rows), &registry.ImportOptions{Actor: "test", Source: "test"}); err != nil {
		t.Fatal(err)
	}
}

// DIVOC's revoke rules through the API, against a real registry of issued
// certificates: beneficiary + doses (issued, consecutive, including the
// latest; each refusal names its rule), all doses, and a whole batch
// (faultyBatch unless a reason is given).
func TestRevokeByBeneficiaryAndBatch(t *testing.T) {
	a := newAuthority(t)
	importCertificates(t, a, "certificate_id,issuer,beneficiary_id,dose,batch,issued_at\n"+
		"C-1,"+cowin+",PEC-1,1,B-7,2021-05-01\nC-2,"+cowin+",PEC-1,2,B-8,2021-08-01\nC-3,"+cowin+",PEC-1,3,B-8,2022-01-10\n"+
		"C-4,"+cowin+",PEC-2,1,B-8,2021-06-01\nC-5,"+cowin+",PEC-3,1,B-9,2021-06-02\n")
	s := startServer(t, a)
	rev := a.tokens[auth.RoleRevoker]
	for _, c := range []struct {
		body string
		code int
		want string
	}{
		{`{"beneficiary_id":"PEC-1","doses":[1]}`, 422, `"rule":"doses-include-latest"`},
		{`{"beneficiary_id":"PEC-1","doses":[1,3]}`, 422, `"rule":"doses-consecutive"`},
		{`{"beneficiary_id":"PEC-1","doses":[2]}`, 422, `"rule":"doses-include-latest"`},
		{`{"beneficiary_id":"PEC-1","doses":[3,4]}`, 422, `"rule":"dose-not-issued"`},
		{`{"beneficiary_id":"PEC-1","doses":[2,3],"reason":"dataError"}`, 200, `"matched":2,"unchanged":0`},
		{`{"beneficiary_id":"PEC-1","all_doses":true,"reason":"dataError"}`, 200, `"matched":3,"unchanged":2`},
		{`{"batch":"B-8"}`, 200, `"matched":3,"unchanged":2`},
		{`{"batch":"B-9","reason":"tampering"}`, 200, `"matched":1,"unchanged":0`},
		{`{"beneficiary_id":"PEC-9","all_doses":true}`, 404, `"error"`},
		{`{"batch":"B-0"}`, 404, `"error"`},
	} {
		if code, body := s.do(t, "POST", "/v1/revoke", rev, c.body); code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("%s: %d %s, want %d with %s", c.body, code, body, c.code, c.want)
		}
	}
	// A refused dose list changed nothing: C-1 was revoked by all_doses
	// only, after the refusals.
	reader := a.tokens[auth.RoleReader]
	for id, want := range map[string]string{"C-1": "dataError", "C-2": "dataError", "C-3": "dataError", "C-4": "faultyBatch", "C-5": "tampering"} {
		code, body := s.do(t, "GET", "/v1/status?id="+id, reader, nil)
		st := decode[service.CertificateStatus](t, body)
		if code != 200 || st.Status != "revoked" || st.Reason == nil || st.Reason.String() != want || !st.Imported {
			t.Errorf("status of %s: %d %s, want revoked for %s", id, code, body, want)
		}
	}
	var records int
	a.reg.Audit(0, func(r *registry.AuditRecord) error {
		if r.Action == registry.ActionRevoke {
			records++
			if r.Actor != "token:revoker-svc" {
				t.Errorf("audit record %d names %q", r.Seq, r.Actor)
			}
		}
		return nil
	})
	if records != 4 {
		t.Errorf("%d revoke records in the audit trail, want 4 (one per request that changed something)", records)
	}
}

// With several issuers, an id known under more than one is refused naming
// the rule until the issuer is given.
func TestIssuerAmbiguous(t *testing.T) {
	a := newAuthority(t, cowin, divoc)
	importCertificates(t, a, "certificate_id,issuer,beneficiary_id,dose,batch,issued_at\n"+
		"C-9,"+cowin+",PEC-1,1,B-1,2021-05-01\nC-9,"+divoc+",PEC-7,1,B-2,2021-05-01\nC-8,"+divoc+",PEC-8,1,B-2,2021-05-01\n")
	s := startServer(t, a)
	if code, body := s.do(t, "POST", "/v1/revoke", a.tokens[auth.RoleRevoker], `{"certificate_id":"C-9"}`); code != 422 || !strings.Contains(body, `"rule":"issuer-ambiguous"`) {
		t.Errorf("revoke an ambiguous id: %d %s", code, body)
	}
	if code, body := s.do(t, "GET", "/v1/status?id=C-9", a.tokens[auth.RoleReader], nil); code != 422 || !strings.Contains(body, `"rule":"issuer-ambiguous"`) {
		t.Errorf("status of an ambiguous id: %d %s", code, body)
	}
	if code, body := s.do(t, "POST", "/v1/revoke", a.tokens[auth.RoleRevoker], `{"certificate_id":"C-9","issuer":"`+divoc+`"}`); code != 200 || !strings.Contains(body, `"issuer":"`+divoc+`"`) {
		t.Errorf("revoke with the issuer: %d %s", code, body)
	}
	// An id known under one issuer needs none.
	if code, body := s.do(t, "GET", "/v1/status?id=C-8", a.tokens[auth.RoleReader], nil); code != 200 || !strings.Contains(body, `"status":"not_revoked"`) || !strings.Contains(body, divoc) {
		t.Errorf("status of C-8: %d %s", code, body)
	}
}

func TestHealthAndHeaders(t *testing.T) {
	a := newAuthority(t)
	s := startServer(t, a)
	resp := s.doResp(t, "GET", "/healthz", "", nil)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	for _, path := range []string{"/healthz", "/v1/status?id=1", "/index.jws", "/nothing"} {
		resp := s.doResp(t, "GET", path, a.tokens[auth.RoleReader], nil)
		resp.Body.Close()
		h := resp.Header
		if h.Get("Server") != "" || h.Get("X-Powered-By") != "" || h.Get("X-Content-Type-Options") != "nosniff" || h.Get("Strict-Transport-Security") == "" {
			t.Errorf("GET %s headers: %v", path, h)
		}
		if strings.HasPrefix(path, "/v1/") && h.Get("Cache-Control") != "no-store" {
			t.Errorf("API answer cacheable: %q", h.Get("Cache-Control"))
		}
	}
	if !strings.HasPrefix(s.url, "https://127.0.0.1:") {
		t.Errorf("server URL %s", s.url)
	}
}
