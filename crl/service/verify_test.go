package service_test

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/crl/service"
	"github.com/crlverify/crlverify/crl/service/auth"
	"github.com/crlverify/crlverify/crl/service/oidctest"
	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/trust"
)

// POST /v1/verify gives the verdict crlverify scan --json gives, with the
// registry itself answering revocation.
func TestVerifyEndpoint(t *testing.T) {
	ts, err := trust.Load("../../testdata/trust.json")
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile("../../testdata/divoc/payloads/valid.zip")
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthority(t)
	v := verify.New(ts, service.RevocationsOf(a.backend), nil)
	s := startServer(t, a, func(c *service.Config, _ *service.ServerOptions) { c.Verifier = v })
	reader := a.tokens[auth.RoleReader]
	const at = "?at=2026-06-01T00:00:00Z"
	code, body := s.do(t, "POST", "/v1/verify"+at, reader, payload, "Content-Type", "application/octet-stream")
	res := decode[verify.Result](t, body)
	if code != 200 || res.Status != verify.StatusValid || !res.Revocation.Known || res.Certificate == nil || res.Certificate.ID != "8000000000011" {
		t.Fatalf("verify valid.zip: %d %s", code, body)
	}
	if code, body := s.do(t, "POST", "/v1/revoke", a.tokens[auth.RoleRevoker], `{"certificate_id":"8000000000011","reason":"tampering"}`); code != 200 {
		t.Fatalf("revoke: %d %s", code, body)
	}
	_, body = s.do(t, "POST", "/v1/verify"+at, reader, payload)
	if res := decode[verify.Result](t, body); res.Status != verify.StatusRevoked || res.Revocation.Reason != "tampering" {
		t.Errorf("verify after revoke: %s", body)
	}
	// The same verdict as the library gives for the same bytes.
	if want := v.VerifyPayload(payload, res.At); want.Status != verify.StatusRevoked {
		t.Errorf("library verdict %s", want.Status)
	}
	if code, body := s.do(t, "POST", "/v1/verify", reader, "not a certificate"); code != 200 || !strings.Contains(body, `"MALFORMED"`) {
		t.Errorf("verify garbage: %d %s", code, body)
	}
	if code, _ := s.do(t, "POST", "/v1/verify", reader, ""); code != 400 {
		t.Errorf("verify nothing: %d", code)
	}
	if code, _ := s.do(t, "POST", "/v1/verify", reader, strings.Repeat("x", service.DefaultMaxBody+1)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("verify a huge body: %d", code)
	}

	// Without a trust store the endpoint says so.
	s2 := startServer(t, a)
	if code, body := s2.do(t, "POST", "/v1/verify", reader, payload); code != http.StatusNotImplemented || !strings.Contains(body, "--trust") {
		t.Errorf("verify without trust store: %d %s", code, body)
	}
}

// When the registry cannot answer POST /v1/verify's revocation question
// (another process holds its file), the verdict says so without the
// registry's own words, which name its file; the log keeps them.
func TestVerifyRegistryUnavailable(t *testing.T) {
	ts, err := trust.Load("../../testdata/trust.json")
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile("../../testdata/divoc/payloads/valid.zip")
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthority(t)
	path := filepath.Join(a.dir, "moh.db")
	reg, err := registry.Open(path, &registry.Options{LockAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	v := verify.New(ts, service.RevocationsOf(service.NewRegistryBackend(reg, nil)), nil)
	s := startServer(t, a, func(c *service.Config, _ *service.ServerOptions) { c.Verifier = v })
	db, err := bolt.Open(path, 0o600, nil) // another process holds the file
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	code, body := s.do(t, "POST", "/v1/verify?at=2026-06-01T00:00:00Z", a.tokens[auth.RoleReader], payload)
	res := decode[verify.Result](t, body)
	if code != 200 || res.Revocation.Known || !strings.Contains(res.Revocation.Explanation, "the registry is busy") {
		t.Fatalf("verify with the registry held: %d %s", code, body)
	}
	if strings.Contains(body, a.dir) || strings.Contains(body, "moh.db") {
		t.Errorf("the answer names the registry file: %s", body)
	}
	if !strings.Contains(s.logs.String(), "moh.db") {
		t.Errorf("the log does not keep the registry's error: %s", s.logs.String())
	}
}

// An access token from the identity provider works like an API token with
// the same role, and the registry records the person or client it names.
func TestOIDCThroughService(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{Clients: []oidctest.Client{
		{ID: "platform", Secret: "s1", Audience: []string{"crlverify-api"},
			Claims: map[string]any{"preferred_username": "vaccination-platform", "realm_access": map[string]any{"roles": []string{"revoker"}}}},
		{ID: "viewer", Secret: "s2", Audience: []string{"crlverify-api"},
			Claims: map[string]any{"realm_access": map[string]any{"roles": []string{"reader"}}}},
	}})
	o, err := auth.NewOIDC(context.Background(), auth.OIDCConfig{Issuer: idp.Issuer, Audience: "crlverify-api",
		RolesClaim: "realm_access.roles", HTTPClient: idp.HTTPClient})
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthority(t)
	s := startServer(t, a, func(c *service.Config, _ *service.ServerOptions) {
		c.Auth = &auth.Authenticator{Tokens: c.Auth.(*auth.Authenticator).Tokens, OIDC: o}
	})
	platform, viewer := idp.Token(t, "platform", "s1"), idp.Token(t, "viewer", "s2")
	if code, body := s.do(t, "POST", "/v1/revoke", platform, `{"certificate_id":"9000000000009","reason":"dataError"}`); code != 200 {
		t.Fatalf("revoke with an OIDC token: %d %s", code, body)
	}
	if code, _ := s.do(t, "POST", "/v1/revoke", viewer, `{"certificate_id":"9000000000010"}`); code != http.StatusForbidden {
		t.Errorf("revoke with a reader's OIDC token: %d", code)
	}
	if code, body := s.do(t, "GET", "/v1/status?id=9000000000009", viewer, nil); code != 200 || !strings.Contains(body, `"revoked"`) {
		t.Errorf("status with a reader's OIDC token: %d %s", code, body)
	}
	if code, _ := s.do(t, "GET", "/v1/status?id=1", a.tokens[auth.RoleReader], nil); code != 200 {
		t.Errorf("API token beside OIDC: %d", code)
	}
	var source string
	a.reg.Audit(0, func(r *registry.AuditRecord) error {
		if r.CertificateID == "9000000000009" {
			source = r.Actor
		}
		return nil
	})
	if source != "oidc:vaccination-platform" {
		t.Errorf("audit source %q", source)
	}
	refused := s.logs.lines(t, "refused")
	if len(refused) != 1 || refused[0]["actor"] != "oidc:viewer" {
		t.Errorf("refusals logged: %v", refused)
	}
	for _, tok := range []string{platform, viewer} {
		for _, part := range strings.Split(tok, ".") {
			if strings.Contains(s.logs.String(), part) {
				t.Fatal("a piece of an access token appears in the log")
			}
		}
	}
}
