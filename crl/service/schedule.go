package service

import (
	"context"
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/store"
)

// ScheduledActor is the actor of scheduled publications.
const ScheduledActor = "schedule"

// NextUpdateFor is the next-update to sign into lists published every
// every: twice the period, so that one missed or late run leaves verifiers
// with a list that is still fresh.
func NextUpdateFor(every time.Duration) time.Duration { return 2 * every }

// RunPublisher publishes a new serial every period until ctx ends, even
// with no change: each publication renews the list's next-update. A failed
// run is logged and retried at the next tick. It returns when ctx ends
// and no publication is running.
func (s *Service) RunPublisher(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Publish(context.WithoutCancel(ctx), ScheduledActor)
		}
	}
}

// RevocationsOf answers a verify.Verifier's revocation questions from the
// Backend itself, the authority's live registry, as its status endpoint
// does: its answers are always fresh, marked "online" in the verdict, and
// a certificate of an issuer the registry does not cover is of unknown
// status. When the Backend cannot answer, the error says so in the words
// an API error would use (it reaches the verdict a caller sees, and the
// registry's own words may name its file); it wraps the Backend's error.
func RevocationsOf(b Backend) verify.Revocations { return backendRevocations{b} }

// unansweredError is a Backend error as a verdict may show it: Error is
// fit for the caller, Unwrap the Backend's error, for the log.
type unansweredError struct{ err error }

func (e *unansweredError) Error() string {
	_, msg, _ := statusOf(e.err)
	return "the registry could not answer: " + msg
}

func (e *unansweredError) Unwrap() error { return e.err }

type backendRevocations struct{ b Backend }

func (br backendRevocations) Check(issuer, id string, at time.Time) (store.Result, error) {
	r := store.Result{Issuer: issuer, Key: crl.KeyOf(issuer, id), At: at}
	st, err := br.b.Status(context.Background(), issuer, id, at)
	if err != nil {
		return r, &unansweredError{err}
	}
	if st.State == registry.StateUnknown {
		return r, nil
	}
	r.Freshness, r.Source = store.Fresh, store.SourceOnline
	r.ThisUpdate, r.NextUpdate, r.NewestSeen = at, at, at
	r.Status = store.NotRevoked
	if st.Status == registry.StatusRevoked || st.Status == registry.StatusSuspended {
		e := crl.Entry{Key: r.Key, RevokedAt: st.RevokedAt.Unix(), Reason: st.Reason}
		if !st.SuspendedUntil.IsZero() {
			e.SuspendedUntil = st.SuspendedUntil.Unix()
		}
		r.Entry = &e
	}
	switch st.State {
	case registry.StateRevoked:
		r.Status = store.Revoked
	case registry.StateSuspended:
		r.Status = store.Suspended
	}
	return r, nil
}
