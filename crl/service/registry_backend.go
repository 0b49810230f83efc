package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
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
	// Options of each publication (next-update, serials kept). Actor is
	// set per call.
	Options registry.PublishOptions
}

// RegistryBackend is the Backend over a *registry.Registry. It adds
// nothing between the caller and the registry but the issuer check
// ([RuleIssuerCovered]): concurrent requests reach the registry
// concurrently, where they share durable commits.
type RegistryBackend struct {
	reg *registry.Registry
	pub *Publication

	mu      sync.RWMutex
	issuers []string // the issuers the list covers, as last read; they only grow
}

// NewRegistryBackend returns the Backend over reg. pub may be nil: Publish
// then answers ErrNotSupported.
func NewRegistryBackend(reg *registry.Registry, pub *Publication) *RegistryBackend {
	return &RegistryBackend{reg: reg, pub: pub}
}

// Registry returns the registry the backend works on.
func (b *RegistryBackend) Registry() *registry.Registry { return b.reg }

// Revoke implements Backend.
func (b *RegistryBackend) Revoke(ctx context.Context, req registry.Request) (registry.Outcome, error) {
	if err := b.checkIssuer(req.Issuer); err != nil {
		return registry.Outcome{}, err
	}
	return b.reg.Revoke(ctx, req)
}

// Suspend implements Backend.
func (b *RegistryBackend) Suspend(ctx context.Context, req registry.Request) (registry.Outcome, error) {
	if err := b.checkIssuer(req.Issuer); err != nil {
		return registry.Outcome{}, err
	}
	return b.reg.Suspend(ctx, req)
}

// Lift implements Backend.
func (b *RegistryBackend) Lift(ctx context.Context, req registry.Request) (registry.Outcome, error) {
	if err := b.checkIssuer(req.Issuer); err != nil {
		return registry.Outcome{}, err
	}
	return b.reg.Lift(ctx, req)
}

// covered reports whether the list covers issuer, reading the registry's
// issuers again only for a name not seen covered before (issuers are added
// by other means: "crlverify publish --issuer", imports, the CLI).
func (b *RegistryBackend) covered(issuer string) (bool, error) {
	b.mu.RLock()
	ok := slices.Contains(b.issuers, issuer)
	b.mu.RUnlock()
	if ok {
		return true, nil
	}
	all, err := b.reg.Issuers()
	if err != nil {
		return false, err
	}
	b.mu.Lock()
	b.issuers = all
	b.mu.Unlock()
	return slices.Contains(all, issuer), nil
}

// checkIssuer refuses a change naming an issuer the list does not cover.
func (b *RegistryBackend) checkIssuer(issuer string) error {
	if issuer == "" {
		return nil // the registry resolves it, or says it is required
	}
	ok, err := b.covered(issuer)
	if err != nil || ok {
		return err
	}
	return &registry.RuleError{Rule: RuleIssuerCovered,
		Msg: fmt.Sprintf("the list does not cover issuer %q (an authority adds it with crlverify publish --issuer)", issuer)}
}

// Status implements Backend.
func (b *RegistryBackend) Status(ctx context.Context, issuer, id string, at time.Time) (registry.CertificateStatus, error) {
	if err := ctx.Err(); err != nil {
		return registry.CertificateStatus{}, err
	}
	st, err := b.reg.Status(issuer, id, at)
	if err != nil {
		return st, err
	}
	if st.Issuer == "" {
		// Several issuers, none given, and the id is under none of them.
		return st, registry.ErrIssuerRequired
	}
	if st.State == registry.StateUnknown {
		ok, err := b.covered(st.Issuer)
		if err != nil {
			return st, err
		}
		if ok {
			// Not on the list: the list's own answer for any id it does
			// not hold, whether or not the registry imported it.
			st.State = registry.StateValid
		}
	}
	return st, nil
}

// Revocations implements Backend.
func (b *RegistryBackend) Revocations(ctx context.Context, q registry.RevocationQuery) ([]registry.RevocationRecord, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	return b.reg.Revocations(q)
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

// Publish implements Backend. The registry runs one publication at a
// time; changes made meanwhile wait for it and go into the next serial.
func (b *RegistryBackend) Publish(ctx context.Context, actor string) (*registry.PublishResult, error) {
	if b.pub == nil {
		return nil, fmt.Errorf("%w: no publication directory and key", ErrNotSupported)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	opts := b.pub.Options
	opts.Actor = actor
	return b.reg.Publish(b.pub.Dir, b.pub.Key, &opts)
}
