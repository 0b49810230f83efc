package auth

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// DefaultRolesClaim is the claim roles are read from when
// [OIDCConfig.RolesClaim] is empty.
const DefaultRolesClaim = "roles"

// MaxJWKSBytes bounds a JWKS file or download.
const MaxJWKSBytes = 1 << 20

// signingAlgs are the JWS algorithms accepted: public-key signatures only.
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.PS256, oidc.PS384, oidc.PS512,
	oidc.ES256, oidc.ES384, oidc.ES512, oidc.EdDSA,
}

// OIDCConfig configures [NewOIDC].
type OIDCConfig struct {
	// Issuer is the identity provider's issuer URL, exactly as its tokens
	// carry it in "iss" (for Keycloak https://HOST/realms/REALM).
	Issuer string
	// Audience must be among the token's "aud" values: the API's client id
	// at the provider (with Keycloak, add an audience mapper).
	Audience string
	// JWKS is where the provider's signing keys are: a file holding a JWK
	// Set, or an https URL (re-fetched when a token names a key it has not
	// seen). Empty: discovered from Issuer's
	// /.well-known/openid-configuration when NewOIDC runs.
	JWKS string
	// RolesClaim is the claim holding the caller's roles, a dotted path into
	// nested objects ("realm_access.roles",
	// "resource_access.crlverify.roles"); its value is an array of strings
	// or one space-separated string. Empty means DefaultRolesClaim.
	RolesClaim string
	// HTTPClient fetches discovery and keys. Nil: a client with a 30 s
	// timeout.
	HTTPClient *http.Client
	// Now is the clock for expiry. Nil: time.Now.
	Now func() time.Time
}

// OIDC checks access tokens issued by an OpenID Connect provider.
type OIDC struct {
	verifier *oidc.IDTokenVerifier
	claim    []string
}

// NewOIDC sets up the check of access tokens. With no JWKS it fetches the
// issuer's discovery document, bounded by ctx; ctx also bounds later key
// fetches, so pass one that lives as long as the OIDC.
func NewOIDC(ctx context.Context, cfg OIDCConfig) (*OIDC, error) {
	if cfg.Issuer == "" || cfg.Audience == "" {
		return nil, errors.New("OIDC needs an issuer and an audience")
	}
	if cfg.RolesClaim == "" {
		cfg.RolesClaim = DefaultRolesClaim
	}
	claim := strings.Split(cfg.RolesClaim, ".")
	for _, c := range claim {
		if c == "" {
			return nil, fmt.Errorf("roles claim %q: empty path element", cfg.RolesClaim)
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if cfg.HTTPClient != nil {
		c := *cfg.HTTPClient
		client = &c
	}
	// The OIDC library reads whole answers: bound them.
	client.Transport = limitedTransport{base: client.Transport, max: MaxJWKSBytes}
	ctx = oidc.ClientContext(ctx, client)
	vc := &oidc.Config{ClientID: cfg.Audience, SupportedSigningAlgs: signingAlgs, Now: cfg.Now}
	var keys oidc.KeySet
	switch {
	case cfg.JWKS == "":
		p, err := oidc.NewProvider(ctx, cfg.Issuer)
		if err != nil {
			return nil, fmt.Errorf("OIDC discovery: %w", err)
		}
		var meta struct {
			JWKS string `json:"jwks_uri"`
		}
		if err := p.Claims(&meta); err != nil || meta.JWKS == "" {
			return nil, fmt.Errorf("OIDC discovery: %s names no jwks_uri", cfg.Issuer)
		}
		if err := checkKeyURL(meta.JWKS); err != nil {
			return nil, err
		}
		keys = oidc.NewRemoteKeySet(ctx, meta.JWKS)
	case strings.HasPrefix(cfg.JWKS, "https://") || strings.HasPrefix(cfg.JWKS, "http://"):
		if err := checkKeyURL(cfg.JWKS); err != nil {
			return nil, err
		}
		keys = oidc.NewRemoteKeySet(ctx, cfg.JWKS)
	default:
		ks, err := readJWKSFile(cfg.JWKS)
		if err != nil {
			return nil, err
		}
		keys = ks
	}
	return &OIDC{verifier: oidc.NewVerifier(cfg.Issuer, keys, vc), claim: claim}, nil
}

// checkKeyURL refuses plain-HTTP key URLs off loopback: keys fetched
// without TLS could be anyone's.
func checkKeyURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("JWKS URL: %w", err)
	}
	if u.Scheme == "https" {
		return nil
	}
	if u.Scheme == "http" && isLoopbackHost(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("JWKS URL %s: keys must come over https (plain http only on loopback)", s)
}

func isLoopbackHost(h string) bool {
	if h == "localhost" {
		return true
	}
	ip := parseIP(h)
	return ip != nil && ip.IsLoopback()
}

func readJWKSFile(path string) (*oidc.StaticKeySet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxJWKSBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxJWKSBytes {
		return nil, fmt.Errorf("%s: JWKS larger than %d bytes", path, MaxJWKSBytes)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		return nil, fmt.Errorf("%s: not a JWK Set: %w", path, err)
	}
	ks := &oidc.StaticKeySet{}
	for _, k := range set.Keys {
		if !k.IsPublic() || !k.Valid() {
			return nil, fmt.Errorf("%s: key %q is not a valid public key", path, k.KeyID)
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		ks.PublicKeys = append(ks.PublicKeys, crypto.PublicKey(k.Key))
	}
	if len(ks.PublicKeys) == 0 {
		return nil, fmt.Errorf("%s: no signing key", path)
	}
	return ks, nil
}

// Authenticate checks an access token: signature by a key of the provider,
// issuer, audience, expiry and not-before. The roles come from the roles
// claim; a token without any role still authenticates (and is refused by
// every endpoint).
func (o *OIDC) Authenticate(ctx context.Context, raw string) (Principal, error) {
	if strings.Count(raw, ".") != 2 {
		return Principal{}, fmt.Errorf("%w: not a JWT", ErrBadCredentials)
	}
	tok, err := o.verifier.Verify(ctx, raw)
	if err != nil {
		return Principal{}, fmt.Errorf("%w: %s", ErrBadCredentials, redact(err.Error(), raw))
	}
	var claims map[string]any
	if err := tok.Claims(&claims); err != nil {
		return Principal{}, fmt.Errorf("%w: claims: %s", ErrBadCredentials, redact(err.Error(), raw))
	}
	// Keycloak marks its ID tokens "typ": "ID"; an ID token whose audience
	// happens to be the API's client id is not an access token.
	if typ, _ := claims["typ"].(string); strings.EqualFold(typ, "ID") {
		return Principal{}, fmt.Errorf("%w: an ID token, not an access token", ErrBadCredentials)
	}
	name := tok.Subject
	if u, ok := claims["preferred_username"].(string); ok && u != "" {
		name = u
	}
	if name == "" || len(name) > 256 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return Principal{}, fmt.Errorf("%w: no usable subject", ErrBadCredentials)
	}
	return Principal{Name: "oidc:" + name, Method: "oidc", Roles: rolesAt(claims, o.claim)}, nil
}

// rolesAt reads the roles at a dotted claim path.
func rolesAt(claims map[string]any, path []string) []Role {
	var v any = claims
	for _, p := range path {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[p]
	}
	var names []string
	switch x := v.(type) {
	case string:
		names = strings.Fields(x)
	case []any:
		for _, e := range x {
			if s, ok := e.(string); ok {
				names = append(names, s)
			}
		}
	}
	var roles []Role
	for _, n := range names {
		if r, err := ParseRole(n); err == nil {
			roles = append(roles, r)
		}
	}
	return roles
}

// limitedTransport fails a response body longer than max bytes, so that a
// provider (or whatever answers in its name) that never stops sending
// cannot exhaust memory.
type limitedTransport struct {
	base http.RoundTripper
	max  int64
}

func (t limitedTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	resp.Body = &limitedBody{ReadCloser: resp.Body, left: t.max}
	return resp, nil
}

type limitedBody struct {
	io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		return 0, fmt.Errorf("answer longer than %d bytes", MaxJWKSBytes)
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.ReadCloser.Read(p)
	b.left -= int64(n)
	return n, err
}
