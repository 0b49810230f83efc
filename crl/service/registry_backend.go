package service

// This file adapts *registry.Registry to Backend.

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/crl/registry"
)

// Publication says where and how a backend publishes.
type Publication struct {
	// Dir is the publication directory.
	Dir string
	// Key is the private signing key.
	Key jwk.Key
	// Options of each publication (next-update, serials kept).
	Options registry.PublishOptions
}

// RegistryBackend is the Backend over a *registry.Registry.
type RegistryBackend struct {
	reg *registry.Registry
	pub *Publication
	mu  sync.Mutex // one publication at a time
}

// NewRegistryBackend returns the Backend over reg. pub may be nil: Publish
// then answers ErrNotSupported.
func NewRegistryBackend(reg *registry.Registry, pub *Publication) *RegistryBackend {
	return &RegistryBackend{reg: reg, pub: pub}
}

func toRegistry(req Request) registry.Request {
	return registry.Request{
		Selector: registry.Selector{Issuer: req.Issuer, CertificateID: req.CertificateID,
			BeneficiaryID: req.BeneficiaryID, Doses: req.Doses, AllDoses: req.AllDoses, Batch: req.Batch},
		Reason: req.Reason, Note: req.Note, Actor: req.Actor, Until: req.Until,
	}
}

func fromRegistry(o registry.Outcome) Outcome {
	out := Outcome{Matched: o.Matched, Unchanged: o.Unchanged}
	for _, c := range o.Certificates {
		if !c.Changed {
			continue
		}
		out.Changed = append(out.Changed, Change{Issuer: c.Issuer, CertificateID: c.CertificateID,
			Before: stateOf(c.Before), After: stateOf(c.After)})
	}
	return out
}

func stateOf(s registry.CertState) *State {
	if s.Status != registry.StatusRevoked && s.Status != registry.StatusSuspended {
		return nil
	}
	return &State{RevokedAt: s.RevokedAt, Reason: s.Reason, SuspendedUntil: s.SuspendedUntil}
}

// Revoke implements Backend.
func (b *RegistryBackend) Revoke(ctx context.Context, req Request) (Outcome, error) {
	o, err := b.reg.Revoke(ctx, toRegistry(req))
	return fromRegistry(o), mapRegistryError(err)
}

// Suspend implements Backend.
func (b *RegistryBackend) Suspend(ctx context.Context, req Request) (Outcome, error) {
	o, err := b.reg.Suspend(ctx, toRegistry(req))
	return fromRegistry(o), mapRegistryError(err)
}

// Lift implements Backend.
func (b *RegistryBackend) Lift(ctx context.Context, req Request) (Outcome, error) {
	o, err := b.reg.Lift(ctx, toRegistry(req))
	return fromRegistry(o), mapRegistryError(err)
}

// mapRegistryError turns a registry error into the service's sentinels.
func mapRegistryError(err error) error {
	if err == nil {
		return nil
	}
	var re *registry.RuleError
	switch {
	case errors.As(err, &re):
		return &RuleError{Rule: re.Rule, Err: err}
	case errors.Is(err, registry.ErrIssuerRequired):
		return ErrIssuerRequired
	case errors.Is(err, registry.ErrInvalid):
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	case errors.Is(err, registry.ErrNotFound):
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	case errors.Is(err, registry.ErrTooManyIssuers):
		return &RuleError{Rule: "max-issuers", Err: err}
	case errors.Is(err, registry.ErrLocked):
		return ErrBusy
	case errors.Is(err, registry.ErrPublisherRequired), errors.Is(err, registry.ErrPublisherChanged):
		return fmt.Errorf("%w: %v", ErrConflict, err)
	}
	return err
}

// Status implements Backend.
func (b *RegistryBackend) Status(ctx context.Context, issuer, id string, at time.Time) (CertificateStatus, error) {
	st := CertificateStatus{Issuer: issuer, CertificateID: id, At: at.UTC(), Status: "unknown"}
	if err := ctx.Err(); err != nil {
		return st, err
	}
	rs, err := b.reg.Status(issuer, id, at)
	if err != nil {
		return st, mapRegistryError(err)
	}
	st.Issuer = rs.Issuer
	switch rs.State {
	case registry.StateRevoked:
		st.Status = "revoked"
	case registry.StateSuspended:
		st.Status = "suspended"
	case registry.StateValid:
		st.Status = "not_revoked"
	}
	if rs.Status != registry.StatusNone {
		reason := rs.Reason
		st.Reason = &reason
		st.RevokedAt, st.SuspendedUntil = rs.RevokedAt, rs.SuspendedUntil
	}
	return st, nil
}

// Revocations implements Backend.
func (b *RegistryBackend) Revocations(ctx context.Context, q RevocationQuery) (RevocationPage, error) {
	if err := ctx.Err(); err != nil {
		return RevocationPage{}, err
	}
	recs, next, err := b.reg.Revocations(registry.RevocationQuery{Since: q.Since, Until: q.Until, Cursor: q.Page, Limit: q.Limit})
	if err != nil {
		return RevocationPage{}, mapRegistryError(err)
	}
	page := RevocationPage{Revocations: []RevocationRecord{}, NextPage: next}
	for _, r := range recs {
		reason := r.Reason
		page.Revocations = append(page.Revocations, RevocationRecord{Action: "revoke", Issuer: r.Issuer,
			CertificateID: r.CertificateID, RevokedAt: r.RevokedAt, Reason: &reason, SuspendedUntil: r.SuspendedUntil})
	}
	return page, nil
}

// errStop ends an audit walk early.
var errStop = errors.New("stop")

// Audit implements Backend.
func (b *RegistryBackend) Audit(ctx context.Context, from uint64, limit int) (AuditPage, error) {
	if err := ctx.Err(); err != nil {
		return AuditPage{}, err
	}
	page := AuditPage{Records: []registry.AuditRecord{}}
	err := b.reg.Audit(from, func(a *registry.AuditRecord) error {
		if len(page.Records) == limit {
			page.Next = a.Seq
			return errStop
		}
		page.Records = append(page.Records, *a)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return AuditPage{}, err
	}
	return page, nil
}

// Publish implements Backend.
func (b *RegistryBackend) Publish(ctx context.Context, actor string) (*registry.PublishResult, error) {
	if b.pub == nil {
		return nil, fmt.Errorf("%w: no publication directory and key", ErrNotSupported)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := b.pub.Options
	opts.Actor = actor
	res, err := b.reg.Publish(b.pub.Dir, b.pub.Key, &opts)
	if err != nil {
		return nil, mapRegistryError(err)
	}
	return res, nil
}
