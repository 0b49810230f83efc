package service

import (
	"context"
	"errors"
	"time"

	"github.com/crlverify/crlverify/crl/registry"
)

// Backend is what the service needs of the authority's registry: exactly
// the operations its endpoints call, in the registry's own types.
// [RegistryBackend] implements it over a *registry.Registry. Implementations
// are safe for concurrent use, and return the registry's errors
// (registry.ErrInvalid, registry.ErrNotFound, a *registry.RuleError,
// registry.ErrLocked, ...) for conditions a client can act on; any other
// error is answered as an internal error, revealing nothing.
type Backend interface {
	// Revoke revokes the certificates req selects (permanently).
	Revoke(ctx context.Context, req registry.Request) (registry.Outcome, error)
	// Suspend suspends them until req.Until.
	Suspend(ctx context.Context, req registry.Request) (registry.Outcome, error)
	// Lift lifts their revocations and suspensions.
	Lift(ctx context.Context, req registry.Request) (registry.Outcome, error)
	// Status is the state of one certificate at time at, as the list
	// answers it: registry.StateUnknown only for an issuer the list does
	// not cover; an id of a covered issuer that the registry holds nothing
	// about is registry.StateValid (not on the list) with Imported false.
	// An empty issuer means the registry's only issuer, or the one that
	// holds the id.
	Status(ctx context.Context, issuer, id string, at time.Time) (registry.CertificateStatus, error)
	// Revocations returns a page of the chronological list of revocations
	// and suspensions in force, and the cursor of the next page (empty
	// after the last).
	Revocations(ctx context.Context, q registry.RevocationQuery) ([]registry.RevocationRecord, string, error)
	// Audit returns a page of the audit trail, oldest first, from record
	// number from.
	Audit(ctx context.Context, from uint64, limit int) (AuditPage, error)
	// Publish writes a new serial of the list into the publication
	// directory, on behalf of actor.
	Publish(ctx context.Context, actor string) (*registry.PublishResult, error)
}

// Errors of the service itself; the registry's own errors pass through
// (see [Backend]).
var (
	// ErrInvalid: the request's fields are out of bounds (HTTP 400).
	ErrInvalid = errors.New("invalid request")
	// ErrNotSupported: the service is not configured for this (HTTP 501).
	ErrNotSupported = errors.New("not supported by this service")
)

// RuleIssuerCovered is the rule, beside the registry's, that a change
// through the API names an issuer the published list already covers: the
// API does not widen what the list is authoritative for, and a misspelt
// issuer would otherwise revoke nothing real. The error is a
// *registry.RuleError naming it.
const RuleIssuerCovered = "issuer-covered"
