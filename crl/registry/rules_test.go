package registry

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl"
)

// DIVOC's dose rule, against a real registry: doses 1-3 issued, [3],
// [2,3], [1,2,3] accepted; [1], [1,3], [2] refused, each naming the rule.
func TestRevokeByBeneficiaryDoses(t *testing.T) {
	for _, c := range []struct {
		doses []int
		want  []string // certificates revoked
		rule  string   // or the rule refusing it
	}{
		{doses: []int{3}, want: []string{"C1-3"}},
		{doses: []int{2, 3}, want: []string{"C1-2", "C1-3"}},
		{doses: []int{3, 1, 2}, want: []string{"C1-1", "C1-2", "C1-3"}},
		{doses: []int{1}, rule: RuleDosesIncludeLatest},
		{doses: []int{1, 3}, rule: RuleDosesConsecutive},
		{doses: []int{2}, rule: RuleDosesIncludeLatest},
		{doses: []int{1, 2}, rule: RuleDosesIncludeLatest},
		{doses: []int{3, 4}, rule: RuleDoseNotIssued},
		{doses: []int{3, 3}, rule: RuleDosesConsecutive},
	} {
		t.Run(sprint(c.doses), func(t *testing.T) {
			r, _ := mohRegistry(t)
			out, err := r.Revoke(ctx, Request{Selector: Selector{BeneficiaryID: "B1", Doses: c.doses}, Actor: "tester", Reason: crl.ReasonDataError})
			if c.rule != "" {
				var re *RuleError
				if !errors.As(err, &re) || re.Rule != c.rule || !errors.Is(err, ErrRule) {
					t.Fatalf("doses %v: err %v, want rule %s", c.doses, err, c.rule)
				}
				if s, _ := r.Stats(); s.Revoked != 0 {
					t.Fatalf("a refused request revoked %d", s.Revoked)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := changedIDs(out)
			slices.Sort(got)
			if !slices.Equal(got, c.want) || out.Matched != len(c.want) || out.AuditSeq == 0 {
				t.Fatalf("revoked %v (outcome %+v), want %v", got, out, c.want)
			}
			for _, id := range c.want {
				if st := stateOf(t, r, id); st.State != StateRevoked || st.Reason != crl.ReasonDataError {
					t.Errorf("%s: %+v", id, st)
				}
			}
		})
	}
}

func TestRevokeAllDosesAndUnknownBeneficiary(t *testing.T) {
	r, _ := mohRegistry(t)
	out, err := r.Revoke(ctx, Request{Selector: Selector{BeneficiaryID: "B3", AllDoses: true}, Actor: "tester"})
	if err != nil || out.Changed != 2 {
		t.Fatalf("%+v %v", out, err)
	}
	// Again: idempotent, nothing changes, no audit record.
	head, _, _ := r.AuditHead()
	out, err = r.Revoke(ctx, Request{Selector: Selector{BeneficiaryID: "B3", AllDoses: true}, Actor: "tester"})
	if err != nil || out.Changed != 0 || out.Unchanged != 2 || out.AuditSeq != 0 {
		t.Fatalf("again: %+v %v", out, err)
	}
	if h2, _, _ := r.AuditHead(); h2 != head {
		t.Errorf("an unchanged request appended audit records (%d -> %d)", head, h2)
	}
	if _, err := r.Revoke(ctx, Request{Selector: Selector{BeneficiaryID: "nobody", AllDoses: true}, Actor: "tester"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown beneficiary: %v", err)
	}
	for _, bad := range []Request{
		{Selector: Selector{BeneficiaryID: "B1"}, Actor: "x"},                                                     // no doses
		{Selector: Selector{BeneficiaryID: "B1", Doses: []int{1}, AllDoses: true}, Actor: "x"},                    // both
		{Selector: Selector{CertificateID: "C1-1", Doses: []int{1}}, Actor: "x"},                                  // doses without beneficiary
		{Selector: Selector{CertificateID: "C1-1", Batch: "LOT-A"}, Actor: "x"},                                   // two selectors
		{Selector: Selector{CertificateID: "C1-1"}},                                                               // no actor
		{Selector: Selector{CertificateID: "C1-1"}, Actor: "x", Reason: 7},                                        // not a reason
		{Selector: Selector{CertificateID: "C1-1"}, Actor: "x", Note: "bell\a"},                                   // control character
		{Selector: Selector{CertificateID: "C1-1"}, Actor: "x", Until: t0.Add(time.Hour)},                         // until on a revoke
		{Selector: Selector{BeneficiaryID: "B1", Doses: []int{0}}, Actor: "x"},                                    // dose out of range
		{Selector: Selector{CertificateID: "C1-1"}, Actor: "x", At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}, // time out of range
	} {
		if _, err := r.Revoke(ctx, bad); !errors.Is(err, ErrInvalid) {
			t.Errorf("Revoke(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestRevokeByBatch(t *testing.T) {
	r, _ := mohRegistry(t)
	out, err := r.Revoke(ctx, Request{Selector: Selector{Batch: "LOT-A"}, Actor: "tester", Note: "recall 2026-114"})
	if err != nil {
		t.Fatal(err)
	}
	got := changedIDs(out)
	slices.Sort(got)
	if want := []string{"C1-1", "C1-2", "C2-1"}; !slices.Equal(got, want) || out.Matched != 3 {
		t.Fatalf("batch revoked %v, want %v", got, want)
	}
	if st := stateOf(t, r, "C2-1"); st.Reason != crl.ReasonFaultyBatch {
		t.Errorf("batch default reason %v", st.Reason)
	}
	if st := stateOf(t, r, "C1-3"); st.State != StateValid || !st.Imported {
		t.Errorf("C1-3 (other batch) %+v", st)
	}
	if _, err := r.Revoke(ctx, Request{Selector: Selector{Batch: "LOT-Z"}, Actor: "tester"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown batch: %v", err)
	}
	var rec *AuditRecord
	r.AuditList(AuditFilter{Action: ActionRevoke}, func(a *AuditRecord) error { rec = a; return nil })
	if rec == nil || rec.Batch != "LOT-A" || rec.Note != "recall 2026-114" || rec.ItemCount != 3 || rec.Actor != "tester" {
		t.Errorf("audit record %+v", rec)
	}
}

func TestRevokeByIDUnknownAndReRevoke(t *testing.T) {
	r, c := mohRegistry(t)
	// Never imported: still revocable, by the only issuer.
	out, err := r.Revoke(ctx, Request{Selector: Selector{CertificateID: "X-9"}, Actor: "tester", Reason: crl.ReasonTampering})
	if err != nil || out.Changed != 1 || out.Certificates[0].Before.State != StateUnknown {
		t.Fatalf("%+v %v", out, err)
	}
	first := stateOf(t, r, "X-9")
	if first.Imported || first.State != StateRevoked || !first.RevokedAt.Equal(t0) {
		t.Fatalf("X-9: %+v", first)
	}
	// Revoking again later without a time keeps the original revoked-at
	// and (given no reason) the reason.
	c.t = t0.Add(48 * time.Hour)
	out, err = r.Revoke(ctx, Request{Selector: Selector{CertificateID: "X-9"}, Actor: "tester"})
	if err != nil || out.Changed != 0 {
		t.Fatalf("re-revoke: %+v %v", out, err)
	}
	// A new reason updates it, still keeping the time.
	out, _ = r.Revoke(ctx, Request{Selector: Selector{CertificateID: "X-9"}, Actor: "tester", Reason: crl.ReasonDataError})
	if st := stateOf(t, r, "X-9"); out.Changed != 1 || !st.RevokedAt.Equal(t0) || st.Reason != crl.ReasonDataError {
		t.Fatalf("re-revoke with a reason: %+v", st)
	}
	// A new issuer by id: the registry covers it from now on.
	if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "https://other.example/", CertificateID: "O-1"}, Actor: "tester"}); err != nil {
		t.Fatal(err)
	}
	if is, _ := r.Issuers(); !slices.Equal(is, []string{"did:in:moh", "https://other.example/"}) {
		t.Errorf("issuers %v", is)
	}
	// Now two issuers: an unknown id needs one.
	if _, err := r.Revoke(ctx, Request{Selector: Selector{CertificateID: "Y-1"}, Actor: "tester"}); !errors.Is(err, ErrIssuerRequired) {
		t.Errorf("unknown id, two issuers: %v", err)
	}
	// A known id is found under its issuer.
	if _, err := r.Lift(ctx, Request{Selector: Selector{CertificateID: "O-1"}, Actor: "tester"}); err != nil {
		t.Errorf("lift by id under the other issuer: %v", err)
	}
	mustVerify(t, r)
}

func TestSuspendAndLift(t *testing.T) {
	r, c := mohRegistry(t)
	until := t0.Add(30 * 24 * time.Hour)
	out, err := r.Suspend(ctx, Request{Selector: Selector{CertificateID: "C2-1"}, Actor: "tester", Until: until, Note: "under review"})
	if err != nil || out.Changed != 1 {
		t.Fatal(out, err)
	}
	st := stateOf(t, r, "C2-1")
	if st.State != StateSuspended || st.Reason != crl.ReasonCertificateHold || !st.SuspendedUntil.Equal(until) {
		t.Fatalf("suspended: %+v", st)
	}
	// After the end it is valid again, without a lift.
	if st, _ := r.Status("", "C2-1", until); st.State != StateValid {
		t.Errorf("at the end: %+v", st)
	}
	// Lifting early.
	c.t = t0.Add(24 * time.Hour)
	if out, err := r.Lift(ctx, Request{Selector: Selector{CertificateID: "C2-1"}, Actor: "tester"}); err != nil || out.Changed != 1 {
		t.Fatal(out, err)
	}
	st = stateOf(t, r, "C2-1")
	if st.State != StateValid || st.Status != StatusLifted || !st.RevokedAt.Equal(t0) {
		t.Errorf("lifted: %+v (history kept)", st)
	}
	// Idempotent lift; an id the registry never heard of is not found.
	if out, err := r.Lift(ctx, Request{Selector: Selector{CertificateID: "C2-1"}, Actor: "tester"}); err != nil || out.Changed != 0 {
		t.Errorf("second lift: %+v %v", out, err)
	}
	if _, err := r.Lift(ctx, Request{Selector: Selector{CertificateID: "nope"}, Actor: "tester"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("lift unknown: %v", err)
	}
	// A permanent revocation cannot be turned into a suspension.
	r.Revoke(ctx, Request{Selector: Selector{CertificateID: "C1-1"}, Actor: "tester"})
	_, err = r.Suspend(ctx, Request{Selector: Selector{CertificateID: "C1-1"}, Actor: "tester", Until: until})
	var re *RuleError
	if !errors.As(err, &re) || re.Rule != RuleRevokedNotSuspendable {
		t.Errorf("suspend a revoked certificate: %v", err)
	}
	// Revoking after the lift starts a new revocation at the current time.
	c.t = t0.Add(72 * time.Hour)
	r.Revoke(ctx, Request{Selector: Selector{CertificateID: "C2-1"}, Actor: "tester"})
	if st := stateOf(t, r, "C2-1"); !st.RevokedAt.Equal(c.t) || st.State != StateRevoked {
		t.Errorf("revoked after lift: %+v", st)
	}
	mustVerify(t, r)
}

func TestCorrectionByID(t *testing.T) {
	r, _ := mohRegistry(t)
	out, err := r.Revoke(ctx, Request{Selector: Selector{CertificateID: "C3-2"}, ReplacedBy: "C3-2b", Actor: "tester"})
	if err != nil || out.Changed != 1 {
		t.Fatal(out, err)
	}
	if st := stateOf(t, r, "C3-2"); st.Reason != crl.ReasonSuperseded || st.SupersededBy != "C3-2b" {
		t.Errorf("%+v", st)
	}
}
