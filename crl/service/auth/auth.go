package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
)

// Role is a permission an endpoint requires.
type Role string

// The roles, one per kind of work.
const (
	// RoleRevoker may revoke, suspend and lift certificates.
	RoleRevoker Role = "revoker"
	// RolePublisher may publish a new serial of the list.
	RolePublisher Role = "publisher"
	// RoleAuditor may list revocations and read the audit trail.
	RoleAuditor Role = "auditor"
	// RoleReader may ask a certificate's status and verify payloads.
	RoleReader Role = "reader"
)

// Roles returns every role.
func Roles() []Role { return []Role{RoleRevoker, RolePublisher, RoleAuditor, RoleReader} }

// ParseRole accepts a role's name.
func ParseRole(s string) (Role, error) {
	r := Role(s)
	if !slices.Contains(Roles(), r) {
		return "", fmt.Errorf("unknown role %q (roles: revoker, publisher, auditor, reader)", s)
	}
	return r, nil
}

// Principal is an authenticated caller.
type Principal struct {
	// Name identifies the caller in logs and the audit trail:
	// "token:NAME" or "oidc:USER".
	Name string
	// Method is "token" or "oidc".
	Method string
	// Roles are the roles the credential grants.
	Roles []Role
}

// Has reports whether p holds role r.
func (p Principal) Has(r Role) bool { return slices.Contains(p.Roles, r) }

// Errors of authentication. Both mean HTTP 401; an error wrapping
// ErrBadCredentials says why in words that never include the token.
var (
	// ErrNoCredentials: the request carries no bearer token.
	ErrNoCredentials = errors.New("auth: no bearer token")
	// ErrBadCredentials: the token is unknown, revoked, expired, or fails
	// a check.
	ErrBadCredentials = errors.New("auth: invalid bearer token")
)

// TokenPrefix starts every API token.
const TokenPrefix = "crlv_"

// MaxBearerBytes bounds a bearer token; a longer one is refused unread.
const MaxBearerBytes = 16 << 10

// Authenticator is the one authentication check of the service: it reads
// the request's bearer token and hands it to the source it belongs to. A
// token starting with [TokenPrefix] is an API token; any other is taken as
// an OIDC access token. A nil source refuses its tokens.
type Authenticator struct {
	Tokens *Tokens
	OIDC   *OIDC
}

// Authenticate returns the caller of r. Errors wrap ErrNoCredentials or
// ErrBadCredentials.
func (a *Authenticator) Authenticate(r *http.Request) (Principal, error) {
	tok, err := BearerToken(r)
	if err != nil {
		return Principal{}, err
	}
	return a.AuthenticateToken(r.Context(), tok)
}

// AuthenticateToken checks a bearer token.
func (a *Authenticator) AuthenticateToken(ctx context.Context, tok string) (Principal, error) {
	switch {
	case strings.HasPrefix(tok, TokenPrefix):
		if a.Tokens == nil {
			return Principal{}, fmt.Errorf("%w: API tokens are not enabled", ErrBadCredentials)
		}
		return a.Tokens.Authenticate(tok)
	case a.OIDC != nil:
		return a.OIDC.Authenticate(ctx, tok)
	}
	return Principal{}, fmt.Errorf("%w: not an API token, and OIDC is not enabled", ErrBadCredentials)
}

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, error) {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		return "", ErrNoCredentials
	}
	if len(h) > 1 {
		return "", fmt.Errorf("%w: more than one Authorization header", ErrBadCredentials)
	}
	scheme, tok, ok := strings.Cut(h[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", fmt.Errorf("%w: not a bearer token", ErrBadCredentials)
	}
	tok = strings.TrimSpace(tok)
	switch {
	case tok == "":
		return "", ErrNoCredentials
	case len(tok) > MaxBearerBytes:
		return "", fmt.Errorf("%w: longer than %d bytes", ErrBadCredentials, MaxBearerBytes)
	}
	return tok, nil
}

// redact removes from msg every piece of tok long enough to matter, so an
// error message from a library that quotes its input cannot carry the
// token into a log.
func redact(msg, tok string) string {
	for _, part := range strings.FieldsFunc(tok, func(r rune) bool { return r == '.' }) {
		if len(part) >= 8 {
			msg = strings.ReplaceAll(msg, part, "[redacted]")
		}
	}
	return msg
}

func parseIP(s string) net.IP { return net.ParseIP(s) }
