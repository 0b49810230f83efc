// Package auth authenticates the callers of the authority's revocation
// service (package [github.com/crlverify/crlverify/crl/service]) and says
// which roles they hold. It has two sources, checked by one [Authenticator]:
//
//   - API tokens, made with [AddToken] (the CLI's "crlverify token add"),
//     for the authority's own systems. A token is 32 random bytes written as
//     "crlv_" followed by 43 base64url characters; it is shown once, and the
//     token file keeps only its SHA-256, with a name and one role. A hash
//     that is not slowed down is enough here: the token is as strong as a
//     256-bit key, so nobody can search for it from its hash.
//   - Access tokens (JWT, RFC 9068 style) from the authority's OpenID
//     Connect identity provider, such as Keycloak, checked by [OIDC] against
//     the provider's JSON Web Key Set: signature (RS*, PS*, ES*, EdDSA; never
//     "none" nor HMAC), issuer, audience, expiry and not-before, that it is
//     not an ID token (Keycloak's "typ": "ID"), and the roles in a
//     configured claim.
//
// # Roles
//
// A caller acts with the roles its credential grants, and each endpoint of
// the service needs exactly one of them ([Role]):
//
//	revoker    revoke, suspend and lift certificates
//	publisher  publish a new serial of the list
//	auditor    list revocations and read the audit trail
//	reader     online status of a certificate, verify a scanned payload
//
// An API token holds one role. An OIDC access token holds the roles named in
// its roles claim ([OIDCConfig.RolesClaim], a dotted path such as Keycloak's
// "realm_access.roles"); values that are not role names are ignored.
//
// # Identity
//
// [Principal.Name] is who is recorded as acting, in logs and in the
// registry's audit trail: "token:NAME" for an API token, and for an OIDC
// token "oidc:" followed by its preferred_username claim, or its subject
// when it has none. A token's secret never appears in a log line or error.
//
// # Token file
//
// The token file is JSON, mode 0600, replaced atomically (written to a
// temporary file, synced, renamed) under an advisory lock, so concurrent
// "token add" and "token revoke" runs never lose each other's change:
//
//	{"version": 1, "tokens": [
//	  {"name": "vaccination-platform", "role": "revoker",
//	   "hash": "sha256:<64 hex digits>", "created_at": "2026-01-05T10:00:00Z"}
//	]}
//
// A reader of the file ([Tokens]) refuses a file another user may write
// (mode bits 022), an unknown version and duplicate names, and re-reads the
// file when it changes, so a revoked token stops working at its next
// request without a restart. If the changed file cannot be read, every
// token is refused until it can (fail closed).
package auth
