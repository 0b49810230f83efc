package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/crlverify/crlverify/crl/service/auth"
	"github.com/crlverify/crlverify/crl/service/oidctest"
)

const audience = "crlverify-api"

func keycloakRoles(user string, roles ...string) map[string]any {
	return map[string]any{"preferred_username": user, "realm_access": map[string]any{"roles": roles}}
}

// An OpenID Connect provider on loopback issues access tokens through the
// client credentials grant; the service accepts the good ones, with the
// roles of the configured claim, and refuses each kind of bad one.
func TestOIDC(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{Clients: []oidctest.Client{
		{ID: "platform", Secret: "s1", Audience: []string{audience}, Claims: keycloakRoles("vaccination-platform", "revoker", "offline_access")},
		{ID: "auditors", Secret: "s2", Audience: []string{"account", audience}, Claims: keycloakRoles("audit-team", "auditor", "reader")},
		{ID: "noroles", Secret: "s3", Audience: []string{audience}},
		{ID: "otheraud", Secret: "s4", Audience: []string{"other-api"}, Claims: keycloakRoles("x", "revoker")},
		{ID: "idtoken", Secret: "s6", Audience: []string{audience}, Claims: map[string]any{"typ": "ID", "realm_access": map[string]any{"roles": []string{"revoker"}}}},
	}})
	// Same key, another issuer name.
	otherIssuer := oidctest.Start(t, oidctest.Options{Issuer: "https://other-idp.example/realms/x", Key: idp.Key,
		Clients: []oidctest.Client{{ID: "platform", Secret: "s1", Audience: []string{audience}, Claims: keycloakRoles("p", "revoker")}}})
	// Our issuer's name, another key.
	otherKey := oidctest.Start(t, oidctest.Options{Issuer: idp.Issuer,
		Clients: []oidctest.Client{{ID: "platform", Secret: "s1", Audience: []string{audience}, Claims: keycloakRoles("p", "revoker")}}})

	jwksFile := filepath.Join(t.TempDir(), "idp.jwks")
	os.WriteFile(jwksFile, idp.JWKS(t), 0o644)
	ctx := context.Background()
	for name, keys := range map[string]string{"jwks file": jwksFile, "jwks url": idp.URL + "/keys", "discovery": ""} {
		t.Run(name, func(t *testing.T) {
			o, err := auth.NewOIDC(ctx, auth.OIDCConfig{Issuer: idp.Issuer, Audience: audience, JWKS: keys,
				RolesClaim: "realm_access.roles", HTTPClient: idp.HTTPClient})
			if err != nil {
				t.Fatal(err)
			}
			a := &auth.Authenticator{OIDC: o}
			for _, c := range []struct {
				tok   string
				name  string
				roles []auth.Role
			}{
				{idp.Token(t, "platform", "s1"), "oidc:vaccination-platform", []auth.Role{auth.RoleRevoker}},
				{idp.Token(t, "auditors", "s2"), "oidc:audit-team", []auth.Role{auth.RoleAuditor, auth.RoleReader}},
				{idp.Token(t, "noroles", "s3"), "oidc:noroles", nil},
			} {
				p, err := a.AuthenticateToken(ctx, c.tok)
				if err != nil || p.Name != c.name || p.Method != "oidc" || !equalRoles(p.Roles, c.roles) {
					t.Errorf("token of %s: %+v %v", c.name, p, err)
				}
			}
			for what, tok := range map[string]string{
				"wrong audience":      idp.Token(t, "otheraud", "s4"),
				"wrong issuer":        otherIssuer.Token(t, "platform", "s1"),
				"an ID token":         idp.Token(t, "idtoken", "s6"),
				"key not in the JWKS": otherKey.Token(t, "platform", "s1"),
				"alg none":            forged(t, "none", idp.Issuer, nil),
				"HS256 with the public key as secret": forged(t, "HS256", idp.Issuer,
					mustJSON(t, jose.JSONWebKey{Key: &idp.Key.PublicKey})),
				"not a JWT": "eyJhbGciOiJSUzI1NiJ9.e30",
				"garbage":   "a.b.c",
			} {
				_, err := a.AuthenticateToken(ctx, tok)
				if !errors.Is(err, auth.ErrBadCredentials) {
					t.Errorf("%s: %v, want ErrBadCredentials", what, err)
					continue
				}
				for _, part := range strings.Split(tok, ".") {
					if len(part) >= 8 && strings.Contains(err.Error(), part) {
						t.Errorf("%s: the error quotes the token", what)
					}
				}
			}
		})
	}
	// A token past its expiry (5 minutes) is refused.
	late, err := auth.NewOIDC(ctx, auth.OIDCConfig{Issuer: idp.Issuer, Audience: audience, JWKS: jwksFile,
		Now: func() time.Time { return time.Now().Add(10 * time.Minute) }})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := late.Authenticate(ctx, idp.Token(t, "platform", "s1")); !errors.Is(err, auth.ErrBadCredentials) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired token: %v", err)
	}
	// An API token is never sent to the OIDC check, and the reverse.
	a := &auth.Authenticator{}
	if _, err := a.AuthenticateToken(ctx, idp.Token(t, "platform", "s1")); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("OIDC token without OIDC configured: %v", err)
	}
}

func TestOIDCConfig(t *testing.T) {
	ctx := context.Background()
	for _, c := range []auth.OIDCConfig{
		{Audience: audience, JWKS: "x"},
		{Issuer: "https://idp.example/", JWKS: "x"},
		{Issuer: "https://idp.example/", Audience: audience, JWKS: "http://idp.example/keys"},
		{Issuer: "https://idp.example/", Audience: audience, JWKS: filepath.Join(t.TempDir(), "missing.jwks")},
		{Issuer: "https://idp.example/", Audience: audience, JWKS: "https://idp.example/keys", RolesClaim: "realm_access..roles"},
	} {
		if _, err := auth.NewOIDC(ctx, c); err == nil {
			t.Errorf("NewOIDC(%+v) accepted", c)
		}
	}
	// Discovery from an unreachable issuer fails at start, not later.
	idp := oidctest.Start(t, oidctest.Options{})
	if _, err := auth.NewOIDC(ctx, auth.OIDCConfig{Issuer: idp.URL + "/nothing", Audience: audience, HTTPClient: idp.HTTPClient}); err == nil {
		t.Error("discovery of a wrong issuer succeeded")
	}
}

// A key URL that never stops sending fails the token's check instead of
// exhausting memory.
func TestOIDCEndlessKeys(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"keys":[{"kty":"RSA","n":"`))
		chunk := []byte(strings.Repeat("A", 64<<10))
		for i := 0; i < 1<<14; i++ { // up to 1 GiB
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer srv.Close()
	idp := oidctest.Start(t, oidctest.Options{Clients: []oidctest.Client{{ID: "c", Secret: "s", Audience: []string{audience}}}})
	o, err := auth.NewOIDC(context.Background(), auth.OIDCConfig{Issuer: idp.Issuer, Audience: audience, JWKS: srv.URL + "/keys"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Authenticate(context.Background(), idp.Token(t, "c", "s")); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("endless key set: %v", err)
	}
}

func equalRoles(a, b []auth.Role) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// forged makes the token an attacker would: valid claims, and either no
// signature (alg none) or an HMAC keyed with the provider's public key.
func forged(t *testing.T, alg, issuer string, secret []byte) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	claims := map[string]any{"iss": issuer, "sub": "mallory", "aud": audience,
		"exp": time.Now().Add(time.Hour).Unix(), "iat": time.Now().Unix(), "realm_access": map[string]any{"roles": []string{"revoker"}}}
	head := enc(mustJSON(t, map[string]string{"alg": alg, "typ": "JWT"})) + "." + enc(mustJSON(t, claims))
	if alg == "none" {
		return head + "."
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.HS256, Key: secret}, nil)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := sig.Sign([]byte(mustJSON(t, claims)))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := obj.CompactSerialize()
	return s
}
