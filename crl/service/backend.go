package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/crl/registry"
)

// Backend is what the service needs of the authority's registry: exactly
// the operations its endpoints call. [RegistryBackend] implements it over a
// *registry.Registry. Implementations are safe for concurrent use and
// return errors wrapping the sentinels below (or a *[RuleError]) for
// conditions a client can act on; any other error is answered as an
// internal error, revealing nothing.
type Backend interface {
	// Revoke revokes the certificates req selects (permanently).
	Revoke(ctx context.Context, req Request) (Outcome, error)
	// Suspend suspends them until req.Until.
	Suspend(ctx context.Context, req Request) (Outcome, error)
	// Lift lifts their revocations and suspensions.
	Lift(ctx context.Context, req Request) (Outcome, error)
	// Status is the state of one certificate at time at.
	Status(ctx context.Context, issuer, id string, at time.Time) (CertificateStatus, error)
	// Revocations returns a page of the chronological list.
	Revocations(ctx context.Context, q RevocationQuery) (RevocationPage, error)
	// Audit returns a page of the audit trail, oldest first, from record
	// number from.
	Audit(ctx context.Context, from uint64, limit int) (AuditPage, error)
	// Publish writes a new serial of the list into the publication
	// directory, on behalf of actor.
	Publish(ctx context.Context, actor string) (*registry.PublishResult, error)
}

// Selector names the certificates a request acts on: exactly one of
// CertificateID, BeneficiaryID (with Doses or AllDoses) and Batch.
type Selector struct {
	// Issuer of the certificates; empty means the registry's only issuer.
	Issuer        string
	CertificateID string
	BeneficiaryID string
	Doses         []int
	AllDoses      bool
	Batch         string
}

// Kind names the selector's kind: "certificate_id", "beneficiary" or
// "batch".
func (s Selector) Kind() string {
	switch {
	case s.BeneficiaryID != "":
		return "beneficiary"
	case s.Batch != "":
		return "batch"
	}
	return "certificate_id"
}

// Request is one revoke, suspend or lift.
type Request struct {
	Selector
	// Reason for a revoke or suspend.
	Reason crl.Reason
	// Note is free text kept with the change.
	Note string
	// Actor is who asks ([auth.Principal.Name]); never empty.
	Actor string
	// Until ends a suspension.
	Until time.Time
}

// Outcome says what a write did.
type Outcome struct {
	// Matched is how many certificates the selector named.
	Matched int `json:"matched"`
	// Changed lists the certificates whose state changed.
	Changed []Change `json:"changed"`
	// Unchanged counts matched certificates already in the state asked.
	Unchanged int `json:"unchanged"`
}

// Change is one certificate's state before and after a write.
type Change struct {
	Issuer        string `json:"issuer"`
	CertificateID string `json:"certificate_id"`
	// Before and After are nil when the certificate was not revoked.
	Before *State `json:"before"`
	After  *State `json:"after"`
}

// State is a revocation or suspension in force.
type State struct {
	RevokedAt      time.Time  `json:"revoked_at"`
	Reason         crl.Reason `json:"reason"`
	SuspendedUntil time.Time  `json:"suspended_until,omitzero"`
}

// CertificateStatus is the online status of one certificate.
type CertificateStatus struct {
	Issuer        string `json:"issuer"`
	CertificateID string `json:"certificate_id"`
	// Status is "revoked", "suspended", "not_revoked", or "unknown" when
	// the registry's list does not cover the issuer.
	Status string `json:"status"`
	// The revocation, when there is one (also after a suspension ended).
	RevokedAt      time.Time   `json:"revoked_at,omitzero"`
	Reason         *crl.Reason `json:"reason,omitempty"`
	SuspendedUntil time.Time   `json:"suspended_until,omitzero"`
	// At is the time the status is for.
	At time.Time `json:"at"`
}

// RevocationQuery asks for a page of the chronological revocation list.
type RevocationQuery struct {
	// Since and Until bound when the registry recorded the change
	// (inclusive, exclusive); zero means unbounded.
	Since, Until time.Time
	// Page is the cursor a previous page returned; empty: from the start.
	Page string
	// Limit is the most records returned.
	Limit int
}

// RevocationRecord is one change of the revocation list.
type RevocationRecord struct {
	// Action is "revoke" (a certificate entered the list), "update" (its
	// revoked-at, reason or suspension changed) or "lift" (it left).
	Action         string      `json:"action"`
	Issuer         string      `json:"issuer"`
	CertificateID  string      `json:"certificate_id"`
	RevokedAt      time.Time   `json:"revoked_at,omitzero"`
	Reason         *crl.Reason `json:"reason,omitempty"`
	SuspendedUntil time.Time   `json:"suspended_until,omitzero"`
	// RecordedAt is when the registry recorded the change; Actor who made
	// it.
	RecordedAt time.Time `json:"recorded_at"`
	Actor      string    `json:"actor,omitempty"`
	Note       string    `json:"note,omitempty"`
}

// RevocationPage is a page of the revocation list.
type RevocationPage struct {
	Revocations []RevocationRecord `json:"revocations"`
	// NextPage is the cursor of the next page; empty after the last.
	NextPage string `json:"next_page"`
}

// AuditPage is a page of the audit trail.
type AuditPage struct {
	Records []registry.AuditRecord `json:"records"`
	// Next is the record number to ask for next; 0 after the last.
	Next uint64 `json:"next"`
}

// Errors a Backend returns for conditions the client can act on.
var (
	// ErrInvalid: the request's fields are out of bounds (HTTP 400).
	ErrInvalid = errors.New("invalid request")
	// ErrIssuerRequired: no issuer given and the registry covers more
	// than one (HTTP 400).
	ErrIssuerRequired = errors.New("issuer required: the registry covers several issuers")
	// ErrNotFound: the selector names nothing the registry holds (HTTP 404).
	ErrNotFound = errors.New("not found")
	// ErrConflict: the request conflicts with the certificate's state
	// (HTTP 409).
	ErrConflict = errors.New("conflict")
	// ErrBusy: the registry is locked by another process (HTTP 503).
	ErrBusy = errors.New("registry busy")
	// ErrNotSupported: the registry cannot do this (HTTP 501).
	ErrNotSupported = errors.New("not supported by this registry")
)

// RuleError is a request refused by one of the registry's revoke rules,
// such as DIVOC's dose rule (HTTP 422).
type RuleError struct {
	// Rule names the rule, e.g. "doses-sequential".
	Rule string
	Err  error
}

func (e *RuleError) Error() string { return fmt.Sprintf("rule %s: %v", e.Rule, e.Err) }
func (e *RuleError) Unwrap() error { return e.Err }
