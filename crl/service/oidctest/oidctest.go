// Package oidctest starts a real OpenID Connect provider (zitadel/oidc's
// op package) in-process on loopback over TLS, for tests of the service's
// OIDC authentication, in this module and in code that embeds the service. Clients obtain access tokens through the provider's
// token endpoint with the OAuth 2.0 client credentials grant, as a
// vaccination platform's back end would from Keycloak; the tokens are JWTs
// signed by the provider's own RSA key.
package oidctest

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// Client is a confidential client allowed the client credentials grant.
type Client struct {
	ID, Secret string
	// Audience of its access tokens; empty: its own id.
	Audience []string
	// Claims are added to its access tokens (roles, preferred_username).
	Claims map[string]any
	// Lifetime of its tokens; zero: 5 minutes.
	Lifetime time.Duration
}

// Options configure Start.
type Options struct {
	// Issuer overrides the "iss" the provider signs (default: its URL), to
	// make tokens claiming another provider's name.
	Issuer string
	// Key signs tokens; nil: a new 2048-bit RSA key.
	Key     *rsa.PrivateKey
	Clients []Client
}

// Provider is a running OpenID Connect provider.
type Provider struct {
	// URL is where it listens; Issuer what its tokens carry in "iss".
	URL, Issuer string
	// HTTPClient trusts the provider's TLS certificate.
	HTTPClient *http.Client
	Key        *rsa.PrivateKey
	storage    *storage
}

// Start starts a provider; it stops when the test ends.
func Start(t testing.TB, o Options) *Provider {
	t.Helper()
	if o.Key == nil {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		o.Key = k
	}
	var h atomic.Pointer[http.Handler]
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		(*h.Load()).ServeHTTP(w, r)
	}))
	srv.StartTLS()
	t.Cleanup(srv.Close)
	issuer := o.Issuer
	if issuer == "" {
		issuer = srv.URL
	}
	st := &storage{key: o.Key, kid: keyID(o.Key), clients: map[string]*client{}}
	for _, c := range o.Clients {
		st.clients[c.ID] = &client{Client: c}
	}
	var cryptoKey [32]byte
	rand.Read(cryptoKey[:])
	p, err := op.NewProvider(&op.Config{CryptoKey: cryptoKey}, st, op.StaticIssuer(issuer))
	if err != nil {
		t.Fatal(err)
	}
	var ph http.Handler = p
	h.Store(&ph)
	return &Provider{URL: srv.URL, Issuer: issuer, HTTPClient: srv.Client(), Key: o.Key, storage: st}
}

// Token obtains an access token for a client through the token endpoint.
func (p *Provider) Token(t testing.TB, clientID, secret string) string {
	t.Helper()
	cfg := clientcredentials.Config{ClientID: clientID, ClientSecret: secret,
		TokenURL: p.URL + "/oauth/token", AuthStyle: oauth2.AuthStyleInHeader}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, p.HTTPClient)
	tok, err := cfg.Token(ctx)
	if err != nil {
		t.Fatalf("client credentials grant for %s: %v", clientID, err)
	}
	return tok.AccessToken
}

// JWKS returns the provider's public key set, as a JWKS file holds it.
func (p *Provider) JWKS(t testing.TB) []byte {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &p.Key.PublicKey, KeyID: keyID(p.Key), Algorithm: string(jose.RS256), Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func keyID(k *rsa.PrivateKey) string {
	jk := jose.JSONWebKey{Key: &k.PublicKey}
	tp, _ := jk.Thumbprint(crypto.SHA256)
	return hex.EncodeToString(tp[:8])
}

type client struct{ Client }

func (c *client) GetID() string                       { return c.ID }
func (c *client) RedirectURIs() []string              { return nil }
func (c *client) PostLogoutRedirectURIs() []string    { return nil }
func (c *client) ApplicationType() op.ApplicationType { return op.ApplicationTypeWeb }
func (c *client) AuthMethod() oidc.AuthMethod         { return oidc.AuthMethodBasic }
func (c *client) ResponseTypes() []oidc.ResponseType  { return nil }
func (c *client) GrantTypes() []oidc.GrantType {
	return []oidc.GrantType{oidc.GrantTypeClientCredentials}
}
func (c *client) LoginURL(string) string               { return "" }
func (c *client) AccessTokenType() op.AccessTokenType  { return op.AccessTokenTypeJWT }
func (c *client) IDTokenLifetime() time.Duration       { return time.Minute }
func (c *client) DevMode() bool                        { return false }
func (c *client) IsScopeAllowed(string) bool           { return true }
func (c *client) IDTokenUserinfoClaimsAssertion() bool { return false }
func (c *client) ClockSkew() time.Duration             { return 0 }
func (c *client) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *client) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}

// tokenRequest is a client credentials token request.
type tokenRequest struct {
	c      *client
	scopes []string
}

func (r *tokenRequest) GetSubject() string { return r.c.ID }
func (r *tokenRequest) GetAudience() []string {
	if len(r.c.Audience) > 0 {
		return r.c.Audience
	}
	return []string{r.c.ID}
}
func (r *tokenRequest) GetScopes() []string { return r.scopes }

type signingKey struct {
	key *rsa.PrivateKey
	kid string
}

func (k signingKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k signingKey) Key() any                                    { return k.key }
func (k signingKey) ID() string                                  { return k.kid }

type publicKey struct{ signingKey }

func (k publicKey) Algorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k publicKey) Use() string                        { return "sig" }
func (k publicKey) Key() any                           { return &k.key.PublicKey }

// storage is the provider's storage: clients, keys, and nothing of the
// interactive flows, which the tests do not use.
type storage struct {
	key     *rsa.PrivateKey
	kid     string
	clients map[string]*client
}

var errUnsupported = errors.New("oidctest: not supported")

func (s *storage) ClientCredentials(_ context.Context, id, secret string) (op.Client, error) {
	c, ok := s.clients[id]
	if !ok || c.Secret != secret {
		return nil, errors.New("wrong client or secret")
	}
	return c, nil
}

func (s *storage) ClientCredentialsTokenRequest(_ context.Context, id string, scopes []string) (op.TokenRequest, error) {
	c, ok := s.clients[id]
	if !ok {
		return nil, errors.New("wrong client")
	}
	return &tokenRequest{c: c, scopes: scopes}, nil
}

func (s *storage) CreateAccessToken(_ context.Context, req op.TokenRequest) (string, time.Time, error) {
	life := 5 * time.Minute
	if tr, ok := req.(*tokenRequest); ok && tr.c.Lifetime != 0 {
		life = tr.c.Lifetime
	}
	var id [8]byte
	rand.Read(id[:])
	return hex.EncodeToString(id[:]), time.Now().Add(life), nil
}

func (s *storage) GetPrivateClaimsFromScopes(_ context.Context, _, clientID string, _ []string) (map[string]any, error) {
	if c, ok := s.clients[clientID]; ok {
		return c.Claims, nil
	}
	return nil, nil
}

func (s *storage) GetClientByClientID(_ context.Context, id string) (op.Client, error) {
	if c, ok := s.clients[id]; ok {
		return c, nil
	}
	return nil, errors.New("no such client")
}

func (s *storage) AuthorizeClientIDSecret(_ context.Context, id, secret string) error {
	if c, ok := s.clients[id]; ok && c.Secret == secret {
		return nil
	}
	return errors.New("wrong client or secret")
}

func (s *storage) SigningKey(context.Context) (op.SigningKey, error) {
	return signingKey{s.key, s.kid}, nil
}

func (s *storage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *storage) KeySet(context.Context) ([]op.Key, error) {
	return []op.Key{publicKey{signingKey{s.key, s.kid}}}, nil
}

func (s *storage) Health(context.Context) error { return nil }

func (s *storage) CreateAuthRequest(context.Context, *oidc.AuthRequest, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) AuthRequestByID(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) AuthRequestByCode(context.Context, string) (op.AuthRequest, error) {
	return nil, errUnsupported
}
func (s *storage) SaveAuthCode(context.Context, string, string) error { return errUnsupported }
func (s *storage) DeleteAuthRequest(context.Context, string) error    { return nil }
func (s *storage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errUnsupported
}
func (s *storage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, errUnsupported
}
func (s *storage) TerminateSession(context.Context, string, string) error { return nil }
func (s *storage) RevokeToken(context.Context, string, string, string) *oidc.Error {
	return oidc.ErrUnsupportedGrantType()
}
func (s *storage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}
func (s *storage) SetUserinfoFromScopes(context.Context, *oidc.UserInfo, string, string, []string) error {
	return nil
}
func (s *storage) SetUserinfoFromToken(context.Context, *oidc.UserInfo, string, string, string) error {
	return nil
}
func (s *storage) SetIntrospectionFromToken(context.Context, *oidc.IntrospectionResponse, string, string, string) error {
	return errUnsupported
}
func (s *storage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errUnsupported
}
func (s *storage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errUnsupported
}
