package service

// This file adapts today's *registry.Registry, which holds revocations
// only, to Backend. What it cannot do yet answers ErrNotSupported: revoking
// by beneficiary and doses or by batch needs the registry of issued
// certificates. It is the one file to change when the registry gains
// Revoke/Suspend/Lift(ctx, Request), Revocations(query) and Status.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
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

// RegistryBackend is the Backend over a *registry.Registry. Changes made
// through it carry the caller's identity as the audit record's source
// (the registry's actor is the one it was opened with); a lift carries
// only the registry's actor until the registry takes one per call.
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

// Revoke implements Backend.
func (b *RegistryBackend) Revoke(ctx context.Context, req Request) (Outcome, error) {
	return b.write(ctx, req, false)
}

// Suspend implements Backend.
func (b *RegistryBackend) Suspend(ctx context.Context, req Request) (Outcome, error) {
	return b.write(ctx, req, true)
}

func (b *RegistryBackend) write(ctx context.Context, req Request, suspend bool) (Outcome, error) {
	if err := b.byID(ctx, req); err != nil {
		return Outcome{}, err
	}
	issuer, err := b.issuer(req.Issuer)
	if err != nil {
		return Outcome{}, err
	}
	id := req.CertificateID
	before, had, err := b.reg.Lookup(issuer, id)
	if err != nil {
		return Outcome{}, err
	}
	if suspend && had && before.SuspendedUntil.IsZero() {
		return Outcome{}, fmt.Errorf("%w: the certificate is revoked permanently; lift the revocation before suspending it", ErrConflict)
	}
	row := map[string]string{"id": id, "issuer": issuer, "reason": req.Reason.String()}
	if had {
		// Revoking again keeps the original revoked-at.
		row["revoked_at"] = before.RevokedAt.Format(time.RFC3339)
	}
	if suspend {
		row["suspended_until"] = req.Until.UTC().Format(time.RFC3339)
	}
	line, err := json.Marshal(row)
	if err != nil {
		return Outcome{}, err
	}
	res, err := b.reg.Import(bytes.NewReader(line), &registry.ImportOptions{
		Format: registry.FormatJSONLines, Issuer: issuer, Source: req.Actor})
	if err != nil {
		return Outcome{}, mapRegistryError(err)
	}
	out := Outcome{Matched: 1}
	if res.Changed == 0 {
		out.Unchanged = 1
		return out, nil
	}
	after, ok, err := b.reg.Lookup(issuer, id)
	if err != nil {
		return Outcome{}, err
	}
	c := Change{Issuer: issuer, CertificateID: id}
	if had {
		c.Before = stateOf(before)
	}
	if ok {
		c.After = stateOf(after)
	}
	out.Changed = []Change{c}
	return out, nil
}

// Lift implements Backend. Lifting a certificate that is not revoked
// changes nothing.
func (b *RegistryBackend) Lift(ctx context.Context, req Request) (Outcome, error) {
	if err := b.byID(ctx, req); err != nil {
		return Outcome{}, err
	}
	issuer, err := b.issuer(req.Issuer)
	if err != nil {
		return Outcome{}, err
	}
	before, had, err := b.reg.Lookup(issuer, req.CertificateID)
	if err != nil {
		return Outcome{}, err
	}
	err = b.reg.Unrevoke(issuer, req.CertificateID)
	switch {
	case errors.Is(err, registry.ErrNotRevoked) || err == nil && !had:
		return Outcome{Matched: 1, Unchanged: 1}, nil
	case err != nil:
		return Outcome{}, mapRegistryError(err)
	}
	return Outcome{Matched: 1, Changed: []Change{{Issuer: issuer, CertificateID: req.CertificateID, Before: stateOf(before)}}}, nil
}

// byID refuses what needs the registry of issued certificates.
func (b *RegistryBackend) byID(ctx context.Context, req Request) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if req.CertificateID == "" {
		return fmt.Errorf("%w: revoking by %s needs the registry of issued certificates; revoke by certificate_id", ErrNotSupported, req.Kind())
	}
	return nil
}

// issuer resolves the request's issuer: the registry's only issuer when
// empty. An issuer the list does not cover is refused: the API does not
// widen what the list is authoritative for, and a misspelt issuer would
// otherwise revoke nothing real.
func (b *RegistryBackend) issuer(is string) (string, error) {
	all, err := b.reg.Issuers()
	if err != nil {
		return "", err
	}
	switch {
	case is == "" && len(all) == 1:
		return all[0], nil
	case is == "":
		return "", ErrIssuerRequired
	case !slices.Contains(all, is):
		return "", &RuleError{Rule: "issuer-covered", Err: fmt.Errorf("the list does not cover issuer %q (declare it with crlverify publish --issuer)", is)}
	}
	return is, nil
}

func stateOf(rv registry.Revocation) *State {
	return &State{RevokedAt: rv.RevokedAt, Reason: rv.Reason, SuspendedUntil: rv.SuspendedUntil}
}

// mapRegistryError turns a registry error into the service's sentinels.
func mapRegistryError(err error) error {
	var ie *registry.ImportError
	if errors.As(err, &ie) && len(ie.Rows) > 0 {
		err = ie.Rows[0].Err
	}
	switch {
	case errors.Is(err, registry.ErrIssuerRequired):
		return ErrIssuerRequired
	case errors.Is(err, registry.ErrInvalid):
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	case errors.Is(err, registry.ErrDoses):
		return &RuleError{Rule: "doses", Err: err}
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
	if err := ctx.Err(); err != nil {
		return CertificateStatus{}, err
	}
	st := CertificateStatus{Issuer: issuer, CertificateID: id, At: at.UTC(), Status: "unknown"}
	all, err := b.reg.Issuers()
	if err != nil {
		return st, err
	}
	if issuer == "" {
		if len(all) != 1 {
			return st, ErrIssuerRequired
		}
		st.Issuer = all[0]
	}
	if !slices.Contains(all, st.Issuer) {
		return st, nil
	}
	rv, ok, err := b.reg.Lookup(st.Issuer, id)
	if err != nil {
		return st, err
	}
	st.Status = "not_revoked"
	if !ok {
		return st, nil
	}
	st.RevokedAt, st.SuspendedUntil = rv.RevokedAt, rv.SuspendedUntil
	st.Reason = &rv.Reason
	switch e := rv.Entry(); {
	case !e.InForce(at):
	case e.IsSuspension():
		st.Status = "suspended"
	default:
		st.Status = "revoked"
	}
	return st, nil
}

// maxAuditScan bounds the audit records one page of revocations reads;
// a page may then be short (even empty) with a next page to ask for.
const maxAuditScan = 100_000

// errStop ends an audit walk early.
var errStop = errors.New("stop")

// Revocations implements Backend from the audit trail, which records
// every change in order: the page cursor is the next record number.
func (b *RegistryBackend) Revocations(ctx context.Context, q RevocationQuery) (RevocationPage, error) {
	if err := ctx.Err(); err != nil {
		return RevocationPage{}, err
	}
	from := uint64(1)
	if q.Page != "" {
		n, err := strconv.ParseUint(q.Page, 10, 64)
		if err != nil || n == 0 {
			return RevocationPage{}, fmt.Errorf("%w: bad page cursor", ErrInvalid)
		}
		from = n
	}
	page := RevocationPage{Revocations: []RevocationRecord{}}
	scanned := 0
	err := b.reg.Audit(from, func(a registry.AuditRecord) error {
		if len(page.Revocations) == q.Limit || scanned == maxAuditScan {
			page.NextPage = strconv.FormatUint(a.Seq, 10)
			return errStop
		}
		scanned++
		if !q.Until.IsZero() && !a.Time.Before(q.Until) {
			return errStop
		}
		if a.Action != registry.ActionRevoke && a.Action != registry.ActionUpdate && a.Action != registry.ActionLift {
			return nil
		}
		if !q.Since.IsZero() && a.Time.Before(q.Since) {
			return nil
		}
		r := RevocationRecord{Action: a.Action.String(), Issuer: a.Issuer, CertificateID: a.ID,
			RecordedAt: a.Time, Actor: a.Actor}
		if a.Source != "" {
			r.Actor = a.Source
		}
		if a.Action != registry.ActionLift {
			reason := a.Reason
			r.RevokedAt, r.Reason, r.SuspendedUntil = a.RevokedAt, &reason, a.SuspendedUntil
		}
		page.Revocations = append(page.Revocations, r)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return RevocationPage{}, err
	}
	return page, nil
}

// Audit implements Backend.
func (b *RegistryBackend) Audit(ctx context.Context, from uint64, limit int) (AuditPage, error) {
	if err := ctx.Err(); err != nil {
		return AuditPage{}, err
	}
	page := AuditPage{Records: []registry.AuditRecord{}}
	err := b.reg.Audit(from, func(a registry.AuditRecord) error {
		if len(page.Records) == limit {
			page.Next = a.Seq
			return errStop
		}
		page.Records = append(page.Records, a)
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return AuditPage{}, err
	}
	return page, nil
}

// Publish implements Backend. The registry records its own actor for a
// publication.
func (b *RegistryBackend) Publish(ctx context.Context, _ string) (*registry.PublishResult, error) {
	if b.pub == nil {
		return nil, fmt.Errorf("%w: no publication directory and key", ErrNotSupported)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := b.pub.Options
	res, err := b.reg.Publish(b.pub.Dir, b.pub.Key, &opts)
	if err != nil {
		return nil, mapRegistryError(err)
	}
	return res, nil
}
