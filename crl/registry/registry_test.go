package registry

import (
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openTest(t testing.TB) (*Registry, *clock) {
	t.Helper()
	c := &clock{t: t0}
	r, err := Open(filepath.Join(t.TempDir(), "registry.db"), &Options{Now: c.now, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, c
}

func entries(t testing.TB, r *Registry) []crl.Entry {
	t.Helper()
	var out []crl.Entry
	if err := r.Entries(func(e crl.Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRevokeLookupUnrevoke(t *testing.T) {
	r, _ := openTest(t)
	if _, err := r.Revoke(Revocation{ID: "123"}); !errors.Is(err, ErrIssuerRequired) {
		t.Fatalf("revoke without issuer on empty registry: %v, want ErrIssuerRequired", err)
	}
	got, err := r.Revoke(Revocation{Issuer: "did:example:moh", ID: "123", Reason: crl.ReasonDataError})
	if err != nil {
		t.Fatal(err)
	}
	if !got.RevokedAt.Equal(t0) {
		t.Errorf("default revoked-at = %v, want the clock %v", got.RevokedAt, t0)
	}
	// With one issuer covered, it is the default.
	if _, err := r.Revoke(Revocation{ID: "456", RevokedAt: t0.Add(-time.Hour), SuspendedUntil: t0.Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	rv, ok, err := r.Lookup("did:example:moh", "456")
	if err != nil || !ok {
		t.Fatalf("lookup: %v %v", ok, err)
	}
	if !rv.SuspendedUntil.Equal(t0.Add(24*time.Hour)) || !rv.RevokedAt.Equal(t0.Add(-time.Hour)) {
		t.Errorf("lookup = %+v", rv)
	}
	es := entries(t, r)
	if len(es) != 2 || es[0].Key >= es[1].Key {
		t.Fatalf("list = %+v, want 2 entries in key order", es)
	}
	if err := r.Unrevoke("", "123"); err != nil {
		t.Fatal(err)
	}
	if err := r.Unrevoke("", "123"); !errors.Is(err, ErrNotRevoked) {
		t.Fatalf("second unrevoke: %v, want ErrNotRevoked", err)
	}
	es = entries(t, r)
	if len(es) != 1 || es[0].Key != crl.KeyOf("did:example:moh", "456") {
		t.Fatalf("after unrevoke list = %+v", es)
	}
	issuers, _ := r.Issuers()
	if !reflect.DeepEqual(issuers, []string{"did:example:moh"}) {
		t.Errorf("issuers = %v", issuers)
	}
}

func TestRevokeValidation(t *testing.T) {
	r, _ := openTest(t)
	for _, rv := range []Revocation{
		{Issuer: "i", ID: ""},
		{Issuer: "i", ID: " 12"},
		{Issuer: "i", ID: "a\nb"},
		{Issuer: "i", ID: strings.Repeat("x", MaxIDBytes+1)},
		{Issuer: "i", ID: "\xff"},
		{Issuer: "i", ID: "1", Reason: 16},
		{Issuer: "i", ID: "1", RevokedAt: t0, SuspendedUntil: t0},
		{Issuer: "i", ID: "1", RevokedAt: time.Unix(-5, 0)},
	} {
		if _, err := r.Revoke(rv); !errors.Is(err, ErrInvalid) {
			t.Errorf("Revoke(%+v) = %v, want ErrInvalid", rv, err)
		}
	}
	if n := len(entries(t, r)); n != 0 {
		t.Errorf("%d entries after refused revocations", n)
	}
}

func TestAuditTrail(t *testing.T) {
	r, c := openTest(t)
	r.Revoke(Revocation{Issuer: "moh", ID: "1", Reason: crl.ReasonTampering})
	r.Revoke(Revocation{Issuer: "moh", ID: "1", Reason: crl.ReasonTampering}) // no change, no record
	c.t = t0.Add(time.Minute)
	r.Revoke(Revocation{Issuer: "moh", ID: "1", Reason: crl.ReasonSuperseded})
	r.Unrevoke("moh", "1")
	var got []string
	if err := r.Audit(0, func(a AuditRecord) error {
		got = append(got, fmt.Sprintf("%d %s %s %s %s %s %s", a.Seq, a.Time.Format(time.TimeOnly), a.Action, a.Issuer, a.ID, a.Reason, a.Actor))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"1 09:00:00 add-issuer moh  unspecified test",
		"2 09:00:00 revoke moh 1 tampering test",
		"3 09:01:00 update moh 1 superseded test",
		"4 09:01:00 lift moh 1 unspecified test",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("audit =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Two certificates whose keys collide share one list entry, which stays
// as strong as the stronger holder until both are lifted.
func TestKeyCollision(t *testing.T) {
	r, _ := openTest(t)
	r.keyOf = func(issuer, id string) crl.Key {
		if id == "a" || id == "b" {
			return 42
		}
		return crl.KeyOf(issuer, id)
	}
	susp := Revocation{Issuer: "i", ID: "a", RevokedAt: t0, SuspendedUntil: t0.Add(time.Hour)}
	perm := Revocation{Issuer: "i", ID: "b", RevokedAt: t0.Add(time.Minute), Reason: crl.ReasonTampering}
	list := func() []crl.Entry {
		es := entries(t, r)
		for i := range es {
			es[i].Key = 0
		}
		return es
	}
	for _, rv := range []Revocation{susp, perm} {
		if _, err := r.Revoke(rv); err != nil {
			t.Fatal(err)
		}
	}
	if got, want := list(), []crl.Entry{{RevokedAt: perm.RevokedAt.Unix(), Reason: crl.ReasonTampering}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("two holders: list %+v, want %+v", got, want)
	}
	// Updating one holder recomputes the merge.
	perm.Reason = crl.ReasonDataError
	r.Revoke(perm)
	if got := list(); len(got) != 1 || got[0].Reason != crl.ReasonDataError {
		t.Fatalf("after update: %+v", got)
	}
	if err := r.Unrevoke("i", "b"); err != nil {
		t.Fatal(err)
	}
	if got, want := list(), []crl.Entry{{RevokedAt: t0.Unix(), SuspendedUntil: t0.Add(time.Hour).Unix()}}; !reflect.DeepEqual(got, want) {
		t.Fatalf("after lifting the permanent holder: %+v, want %+v", got, want)
	}
	if err := r.Unrevoke("i", "a"); err != nil {
		t.Fatal(err)
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("after lifting both: %+v", got)
	}
}

func TestMergeEntries(t *testing.T) {
	perm := crl.Entry{RevokedAt: 100, Reason: 1}
	permLater := crl.Entry{RevokedAt: 200}
	susp := crl.Entry{RevokedAt: 50, SuspendedUntil: 500}
	suspLonger := crl.Entry{RevokedAt: 60, SuspendedUntil: 900}
	for _, c := range []struct{ a, b, want crl.Entry }{
		{perm, susp, perm}, {susp, perm, perm},
		{perm, permLater, perm}, {permLater, perm, perm},
		{susp, suspLonger, suspLonger}, {suspLonger, susp, suspLonger},
	} {
		if got := mergeEntries(c.a, c.b); got != c.want {
			t.Errorf("merge(%+v, %+v) = %+v, want %+v", c.a, c.b, got, c.want)
		}
	}
}

func TestReopenKeepsState(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.db")
	r, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.Revoke(Revocation{Issuer: "moh", ID: "1", RevokedAt: t0})
	if _, err := Open(path, &Options{Timeout: 50 * time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Errorf("second open while in use: %v, want ErrLocked", err)
	}
	r.Close()
	r, err = Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, ok, _ := r.Lookup("moh", "1"); !ok {
		t.Error("revocation lost on reopen")
	}
	if _, err := r.Revoke(Revocation{Issuer: "moh", ID: "2"}); err == nil {
		t.Error("revoke on a read-only registry succeeded")
	}
}
