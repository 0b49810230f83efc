package crlsync

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/store"
)

const provinceIssuer = "did:web:province.example"

func storeSum(t *testing.T, st *store.Store) [32]byte {
	t.Helper()
	b, err := os.ReadFile(st.Path())
	if err != nil {
		t.Fatal(err)
	}
	return sha256.Sum256(b)
}

// onlyIndexFetched checks that the requests since the last check asked
// for the index alone: a refused publication is not downloaded.
func onlyIndexFetched(t *testing.T, srv *server, from int) int {
	t.Helper()
	log := srv.log()
	for _, r := range log[from:] {
		if !strings.HasPrefix(r, "index.jws ") {
			t.Fatalf("fetched past the index: %q", log[from:])
		}
	}
	if len(log) == from {
		t.Fatal("nothing fetched")
	}
	return len(log)
}

// TestSyncRefusesAnotherPublishersIssuer: a trusted publisher whose
// publication covers an issuer bound to another publisher, or one outside
// its own binding, is refused from its index, before anything else is
// downloaded, and the store keeps answering from the right list.
func TestSyncRefusesAnotherPublishersIssuer(t *testing.T) {
	now := t0.Add(time.Hour)
	ministry := newTestPub(t)
	ministry.revoke("revoked-by-ministry")
	ministry.publish(t0)
	province := newTestPub(t)
	province.name, province.issuers = "province", []string{issuer, provinceIssuer}
	province.revokeOf(issuer, "good-ministry-cert")
	province.revokeOf(provinceIssuer, "revoked-by-province")
	province.publish(t0)
	srvM, srvP := newServer(t, ministry), newServer(t, province)
	st := openStore(t)

	sum, err := newSyncer(t, st, srvM.URL+"/pub", ministry.keys, &now, &Options{Issuers: []string{issuer}}).Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Learned || !sum.BoundExplicitly || !slices.Equal(sum.BoundIssuers, []string{issuer}) {
		t.Fatalf("ministry's sync: %+v", sum)
	}
	assertMinistry := func() {
		t.Helper()
		for id, want := range map[string]store.Status{"revoked-by-ministry": store.Revoked, "good-ministry-cert": store.NotRevoked} {
			r, err := st.Check(issuer, id, now)
			if err != nil || r.Status != want || r.Publisher != "ministry" || !r.Conclusive() {
				t.Fatalf("%s: %v from %q (%v), want %v from the ministry", id, r.Status, r.Publisher, err, want)
			}
		}
	}
	before, seen := storeSum(t, st), 0
	for _, tc := range []struct {
		bind []string
		want error
	}{
		{nil, store.ErrIssuerConflict},
		{[]string{provinceIssuer}, store.ErrIssuerNotBound},
		{[]string{issuer, provinceIssuer}, store.ErrIssuerConflict},
	} {
		_, err := newSyncer(t, st, srvP.URL+"/pub", province.keys, &now, &Options{Issuers: tc.bind}).Sync(context.Background())
		var ie *store.IssuerError
		if !errors.Is(err, tc.want) || !errors.As(err, &ie) || ie.Publisher != "province" || ie.Issuer != issuer {
			t.Fatalf("binding %v: %v", tc.bind, err)
		}
		seen = onlyIndexFetched(t, srvP, seen)
	}
	if storeSum(t, st) != before {
		t.Fatal("the refused publications changed the store file")
	}
	assertMinistry()
	if recs, _ := st.SyncRecords(); len(recs) != 1 {
		t.Fatalf("records %+v", recs)
	}

	// Publishing for its own issuer only, the province is welcome.
	province.issuers = []string{provinceIssuer}
	delete(province.list, province.revokeOf(issuer, "good-ministry-cert"))
	province.publish(now)
	if _, err := newSyncer(t, st, srvP.URL+"/pub", province.keys, &now, &Options{Issuers: []string{provinceIssuer}}).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertMinistry()
	if r, _ := st.Check(provinceIssuer, "revoked-by-province", now); r.Status != store.Revoked || r.Publisher != "province" {
		t.Fatalf("the province's issuer: %v from %q", r.Status, r.Publisher)
	}
}

// TestSyncBindingLearnedThenGiven: the first sync without a binding
// learns it (and says so); a publication that widens it is refused at its
// index until a binding names the new issuer; a binding given when there
// is nothing new to apply is applied to the stored list.
func TestSyncBindingLearnedThenGiven(t *testing.T) {
	now := t0.Add(time.Hour)
	p := newTestPub(t)
	revokeN(p, "a", 50)
	p.publish(t0)
	srv := newServer(t, p)
	st := openStore(t)
	sync := func(issuers ...string) (Summary, error) {
		return newSyncer(t, st, srv.URL+"/pub", p.keys, &now, &Options{Issuers: issuers}).Sync(context.Background())
	}
	sum, err := sync()
	if err != nil {
		t.Fatal(err)
	}
	if !sum.Learned || sum.BoundExplicitly || !slices.Equal(sum.BoundIssuers, []string{issuer}) {
		t.Fatalf("first sync: %+v", sum)
	}

	p.issuers = []string{issuer, provinceIssuer}
	p.revokeOf(provinceIssuer, "p-1")
	p.publish(now)
	seen := len(srv.log())
	before := storeSum(t, st)
	sum, err = sync()
	var ie *store.IssuerError
	if !errors.Is(err, store.ErrIssuerNotBound) || !errors.As(err, &ie) || ie.Issuer != provinceIssuer || !slices.Equal(ie.Bound, []string{issuer}) {
		t.Fatalf("widened publication: %v", err)
	}
	onlyIndexFetched(t, srv, seen)
	if storeSum(t, st) != before {
		t.Fatal("the refused publication changed the store file")
	}
	if l, _ := st.List("ministry"); l.Serial != 1 || sum.NewSerial != 1 || sum.Learned {
		t.Fatalf("after the refusal: serial %d, %+v", l.Serial, sum)
	}
	src := newSyncer(t, st, srv.URL+"/pub", p.keys, &now, nil).Source()
	if rec, _, _ := st.SyncRecord(src); !strings.Contains(rec.LastError, "not bound") {
		t.Fatalf("recorded error %q", rec.LastError)
	}

	sum, err = sync(issuer, provinceIssuer)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Learned || !sum.BoundExplicitly || !slices.Equal(sum.Applied, []snapshot.Kind{snapshot.KindDelta}) {
		t.Fatalf("widened by the verifier: %+v", sum)
	}
	if r, _ := st.Check(provinceIssuer, "p-1", now); r.Status != store.Revoked {
		t.Fatalf("the new issuer: %v", r.Status)
	}

	// Nothing new: the binding given is applied to the stored list (the
	// index is answered 304 Not Modified).
	const third = "did:web:third.example"
	sum, err = sync(issuer, provinceIssuer, third)
	if err != nil || !sum.UpToDate || !sum.Rebound || !slices.Equal(sum.BoundIssuers, []string{issuer, provinceIssuer, third}) {
		t.Fatalf("rebound: %+v %v", sum, err)
	}
	if log := srv.log(); !strings.HasSuffix(log[len(log)-1], "-> 304") {
		t.Fatalf("requests %q", log)
	}
	sum, err = sync(issuer, provinceIssuer, third)
	if err != nil || sum.Rebound {
		t.Fatalf("the same binding again: %+v %v", sum, err)
	}
	// Without a binding the sync keeps the stored one.
	if sum, err = sync(); err != nil || !sum.BoundExplicitly || len(sum.BoundIssuers) != 3 {
		t.Fatalf("without a binding: %+v %v", sum, err)
	}
	// A binding that leaves out an issuer the stored list covers is
	// refused.
	_, err = sync(issuer)
	if !errors.Is(err, store.ErrIssuerNotBound) {
		t.Fatalf("narrower than the list: %v", err)
	}
	if l, _ := st.List("ministry"); len(l.Bound) != 3 {
		t.Fatalf("binding after the refusal: %v", l.Bound)
	}
}
