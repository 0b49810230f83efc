package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
)

// The issuers of the binding tests: I1 is the first ministry's, I2 the
// province's; I3 is nobody's yet.
const (
	issuerI1 = "https://i1.example/"
	issuerI2 = "https://i2.example/"
	issuerI3 = "https://i3.example/"
)

// fileSum is the SHA-256 of the store file, to tell that a refusal left
// it as it was.
func fileSum(tb testing.TB, s *Store) [32]byte {
	tb.Helper()
	b, err := os.ReadFile(s.Path())
	if err != nil {
		tb.Fatal(err)
	}
	return sha256.Sum256(b)
}

func applyWith(s *Store, file []byte, p *testPub, at time.Time, issuers ...string) (*ApplyResult, error) {
	return s.ApplySnapshot(bytes.NewReader(file), p.keys, at, &ApplyOptions{Issuers: issuers})
}

// wantIssuerError checks that err is an *IssuerError of kind want about
// issuer.
func wantIssuerError(tb testing.TB, err, want error, publisher, issuer string) *IssuerError {
	tb.Helper()
	var ie *IssuerError
	if !errors.Is(err, want) || !errors.As(err, &ie) || ie.Publisher != publisher || ie.Issuer != issuer {
		tb.Fatalf("got %v (%+v), want %v of %q for %q", err, ie, want, publisher, issuer)
	}
	return ie
}

// TestBindingLearnedFromFirstList: without a binding given, a publisher's
// first list binds it to the issuers that list covers, and says so; a
// later list covering another issuer is refused with the store file
// unchanged, until a binding names that issuer.
func TestBindingLearnedFromFirstList(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), nil)
	defer s.Close()
	p := newTestPub(t, "ministry", issuerI1)
	p.revoke(issuerI1, "revoked", t0, crl.ReasonDataError, time.Time{})
	res, err := applyWith(s, p.publish(t0).Full, p, t0)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Learned || !slices.Equal(res.Bound, []string{issuerI1}) {
		t.Fatalf("first list: learned %v bound %v", res.Learned, res.Bound)
	}
	if l, _ := s.List("ministry"); !slices.Equal(l.Bound, []string{issuerI1}) || l.BoundExplicitly || l.SignerKey == "" {
		t.Fatalf("stored binding %v explicit %v signer key %q", l.Bound, l.BoundExplicitly, l.SignerKey)
	}

	// The next list also covers I3: refused, nothing written.
	p.issuers = []string{issuerI1, issuerI3}
	p.revoke(issuerI3, "other", t0, crl.ReasonDataError, time.Time{})
	wider := p.publish(t0.Add(time.Hour))
	before := fileSum(t, s)
	_, err = applyWith(s, wider.Full, p, t0.Add(time.Hour))
	ie := wantIssuerError(t, err, ErrIssuerNotBound, "ministry", issuerI3)
	if !slices.Equal(ie.Bound, []string{issuerI1}) {
		t.Errorf("error's binding %v", ie.Bound)
	}
	if fileSum(t, s) != before {
		t.Error("a refused list changed the store file")
	}
	if l, _ := s.List("ministry"); l.Serial != 1 {
		t.Fatalf("serial %d after the refusal", l.Serial)
	}
	if r, err := s.Check(issuerI3, "other", t0.Add(time.Hour)); err != nil || r.Status != Unknown {
		t.Fatalf("I3 after the refusal: %v %v", r.Status, err)
	}
	// The delta is refused alike.
	if _, err := applyWith(s, wider.Delta, p, t0.Add(time.Hour)); !errors.Is(err, ErrIssuerNotBound) {
		t.Fatalf("delta: %v", err)
	}

	// Widened by the verifier: accepted, and the binding is explicit.
	res, err = applyWith(s, wider.Full, p, t0.Add(time.Hour), issuerI3, issuerI1)
	if err != nil {
		t.Fatal(err)
	}
	if res.Learned || !slices.Equal(res.Bound, []string{issuerI1, issuerI3}) {
		t.Fatalf("widened: learned %v bound %v", res.Learned, res.Bound)
	}
	if r, err := s.Check(issuerI3, "other", t0.Add(time.Hour)); err != nil || r.Status != Revoked {
		t.Fatalf("I3 once bound: %v %v", r.Status, err)
	}
	// Later lists without a binding keep it.
	p.issuers = []string{issuerI3}
	p.unrevoke(issuerI1, "revoked")
	res, err = applyWith(s, p.publish(t0.Add(2*time.Hour)).Delta, p, t0.Add(2*time.Hour))
	if err != nil || res.Learned || !slices.Equal(res.Bound, []string{issuerI1, issuerI3}) {
		t.Fatalf("narrower list: %+v %v", res, err)
	}
	if l, _ := s.List("ministry"); !l.BoundExplicitly || !slices.Equal(l.Issuers, []string{issuerI3}) {
		t.Fatalf("stored %+v", l)
	}
	// A binding given must cover what the list covers.
	p.issuers = []string{issuerI1, issuerI3}
	_, err = applyWith(s, p.publish(t0.Add(3*time.Hour)).Full, p, t0.Add(3*time.Hour), issuerI3)
	wantIssuerError(t, err, ErrIssuerNotBound, "ministry", issuerI1)
}

// TestIssuerClaimedByAnotherPublisher is the red team's case: a trusted
// publisher whose signed list names another authority's issuer cannot
// answer for that issuer's certificates, whichever syncs first.
func TestIssuerClaimedByAnotherPublisher(t *testing.T) {
	at := t0.Add(time.Hour)
	newPubs := func() (*testPub, *testPub) {
		ministry := newTestPub(t, "ministry", issuerI1)
		ministry.revoke(issuerI1, "revoked-by-ministry", t0, crl.ReasonDataError, time.Time{})
		// The province claims I1 besides its own I2: its list would say
		// NOT REVOKED for the ministry's revoked certificate, and revoke
		// one of the ministry's good ones.
		province := newTestPub(t, "province", issuerI1, issuerI2)
		province.revoke(issuerI1, "good-ministry-cert", t0, crl.ReasonDataError, time.Time{})
		province.revoke(issuerI2, "revoked-by-province", t0, crl.ReasonDataError, time.Time{})
		return ministry, province
	}
	assertMinistryAnswers := func(t *testing.T, s *Store) {
		t.Helper()
		for id, want := range map[string]Status{"revoked-by-ministry": Revoked, "good-ministry-cert": NotRevoked} {
			r, err := s.Check(issuerI1, id, at)
			if err != nil || r.Status != want || r.Publisher != "ministry" {
				t.Fatalf("%s: %v from %q (%v), want %v from the ministry", id, r.Status, r.Publisher, err, want)
			}
		}
	}

	t.Run("the ministry synced first", func(t *testing.T) {
		s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), nil)
		defer s.Close()
		ministry, province := newPubs()
		if _, err := applyWith(s, ministry.publish(t0).Full, ministry, t0); err != nil {
			t.Fatal(err)
		}
		pf := province.publish(t0)
		before := fileSum(t, s)
		// Learning its binding from its list, or bound explicitly to I2
		// only, or to both: refused every way, the store unchanged.
		_, err := applyWith(s, pf.Full, province, at)
		ie := wantIssuerError(t, err, ErrIssuerConflict, "province", issuerI1)
		if ie.Other != "ministry" {
			t.Errorf("other publisher %q", ie.Other)
		}
		_, err = applyWith(s, pf.Full, province, at, issuerI2)
		wantIssuerError(t, err, ErrIssuerNotBound, "province", issuerI1)
		_, err = applyWith(s, pf.Full, province, at, issuerI1, issuerI2)
		wantIssuerError(t, err, ErrIssuerConflict, "province", issuerI1)
		if fileSum(t, s) != before {
			t.Fatal("a refused list changed the store file")
		}
		if err := s.AdmitIssuers("province", []string{issuerI1, issuerI2}, nil); !errors.Is(err, ErrIssuerConflict) {
			t.Errorf("AdmitIssuers: %v", err)
		}
		assertMinistryAnswers(t, s)

		// The province publishing for its own issuer only is welcome.
		province.issuers = []string{issuerI2}
		province.unrevoke(issuerI1, "good-ministry-cert")
		if _, err := applyWith(s, province.publish(at).Full, province, at, issuerI2); err != nil {
			t.Fatal(err)
		}
		assertMinistryAnswers(t, s)
		if r, _ := s.Check(issuerI2, "revoked-by-province", at); r.Status != Revoked || r.Publisher != "province" {
			t.Fatalf("the province's own issuer: %v from %q", r.Status, r.Publisher)
		}
	})

	t.Run("the province synced first", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "store.db")
		s := mustOpen(t, path, nil)
		defer s.Close()
		ministry, province := newPubs()
		// Trust on first use binds the province to I1 and I2 (the caller
		// is told: Learned), and the ministry's list of I1 is then
		// refused rather than silently losing to it.
		res, err := applyWith(s, province.publish(t0).Full, province, t0)
		if err != nil || !res.Learned || !slices.Equal(res.Bound, []string{issuerI1, issuerI2}) {
			t.Fatalf("province first: %+v %v", res, err)
		}
		mf := ministry.publish(t0)
		for _, bind := range [][]string{nil, {issuerI1}} {
			_, err = applyWith(s, mf.Full, ministry, at, bind...)
			wantIssuerError(t, err, ErrIssuerConflict, "ministry", issuerI1)
		}
		// Forgetting the province frees I1.
		if err := s.Remove("province"); err != nil {
			t.Fatal(err)
		}
		if _, err := applyWith(s, mf.Full, ministry, at, issuerI1); err != nil {
			t.Fatal(err)
		}
		assertMinistryAnswers(t, s)
		s.Close()
		s = mustOpen(t, path, nil)
		assertMinistryAnswers(t, s)
	})
}

// TestBind binds a stored list explicitly: a binding can release an
// issuer to another publisher, never leave out an issuer the list
// covers, never take one bound to another publisher; it is kept in the
// file.
func TestBind(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := mustOpen(t, path, nil)
	defer func() { s.Close() }()
	ministry := newTestPub(t, "ministry", issuerI1)
	ministry.revoke(issuerI1, "revoked", t0, crl.ReasonDataError, time.Time{})
	for i := range 500 {
		ministry.revoke(issuerI1, certID(i), t0, crl.ReasonDataError, time.Time{})
	}
	if _, err := applyWith(s, ministry.publish(t0).Full, ministry, t0, issuerI1, issuerI3); err != nil {
		t.Fatal(err)
	}
	province := newTestPub(t, "province", issuerI3)
	pf := province.publish(t0)
	_, err := applyWith(s, pf.Full, province, t0)
	wantIssuerError(t, err, ErrIssuerConflict, "province", issuerI3)

	if _, err := s.Bind("nobody", []string{issuerI1}); err == nil {
		t.Error("bound a publisher the store does not hold")
	}
	if _, err := s.Bind("ministry", nil); err == nil {
		t.Error("bound to no issuer")
	}
	before := fileSum(t, s)
	_, err = s.Bind("ministry", []string{issuerI3})
	wantIssuerError(t, err, ErrIssuerNotBound, "ministry", issuerI1)
	if fileSum(t, s) != before {
		t.Fatal("a refused binding changed the store file")
	}
	if changed, err := s.Bind("ministry", []string{issuerI3, issuerI1}); err != nil || changed {
		t.Fatalf("the same binding again: changed %v, %v", changed, err)
	}
	if changed, err := s.Bind("ministry", []string{issuerI1}); err != nil || !changed {
		t.Fatalf("narrowed: changed %v, %v", changed, err)
	}
	// I3 is free now; and the list is as it was.
	if _, err := applyWith(s, pf.Full, province, t0); err != nil {
		t.Fatal(err)
	}
	assertList(t, s, ministry)
	if changed, err := s.Bind("ministry", []string{issuerI1, issuerI3}); !errors.Is(err, ErrIssuerConflict) || changed {
		t.Fatalf("taking the province's issuer: changed %v, %v", changed, err)
	}
	s.Close()
	s = mustOpen(t, path, &Options{ReadOnly: true})
	l, _ := s.List("ministry")
	if !slices.Equal(l.Binding(), []string{issuerI1}) || !l.BoundExplicitly {
		t.Fatalf("reopened: bound %v explicit %v", l.Bound, l.BoundExplicitly)
	}
	if r, err := s.Check(issuerI1, "revoked", t0); err != nil || r.Status != Revoked {
		t.Fatalf("after binding: %v %v", r.Status, err)
	}
	if _, err := s.Bind("ministry", []string{issuerI2}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("read-only bind: %v", err)
	}
}

// TestBindingOfAnOlderStore: a store written before bindings were kept
// (its publishers' states without "bound", "bound_explicitly" and
// "signer_key") still opens; each publisher is bound to the issuers its
// list covers, and held to them.
func TestBindingOfAnOlderStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := mustOpen(t, path, nil)
	ministry := newTestPub(t, "ministry", issuerI1)
	ministry.revoke(issuerI1, "revoked", t0, crl.ReasonDataError, time.Time{})
	if _, err := applyWith(s, ministry.publish(t0).Full, ministry, t0, issuerI1, issuerI3); err != nil {
		t.Fatal(err)
	}
	s.Close()
	stripBindings(t, path)

	s = mustOpen(t, path, nil)
	defer s.Close()
	l, _ := s.List("ministry")
	if l.Bound != nil || l.BoundExplicitly || l.SignerKey != "" || !slices.Equal(l.Binding(), []string{issuerI1}) {
		t.Fatalf("older state: bound %v explicit %v signer key %q binding %v", l.Bound, l.BoundExplicitly, l.SignerKey, l.Binding())
	}
	if r, err := s.Check(issuerI1, "revoked", t0); err != nil || r.Status != Revoked {
		t.Fatalf("check: %v %v", r.Status, err)
	}
	province := newTestPub(t, "province", issuerI1)
	_, err := applyWith(s, province.publish(t0).Full, province, t0)
	wantIssuerError(t, err, ErrIssuerConflict, "province", issuerI1)
	ministry.issuers = []string{issuerI1, issuerI3}
	next := ministry.publish(t0.Add(time.Hour))
	_, err = applyWith(s, next.Delta, ministry, t0.Add(time.Hour))
	wantIssuerError(t, err, ErrIssuerNotBound, "ministry", issuerI3)
	// The first write records the binding.
	res, err := applyWith(s, next.Delta, ministry, t0.Add(time.Hour), issuerI1, issuerI3)
	if err != nil || res.Learned {
		t.Fatalf("%+v %v", res, err)
	}
	if l, _ := s.List("ministry"); !slices.Equal(l.Bound, []string{issuerI1, issuerI3}) || l.SignerKey == "" {
		t.Fatalf("after the first write: %+v", l)
	}
}

// stripBindings rewrites every publisher's state in the store file at
// path as a version that predates bindings wrote it.
func stripBindings(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		pubs := tx.Bucket(bktPubs)
		return pubs.ForEachBucket(func(name []byte) error {
			pb := pubs.Bucket(name)
			raw, ok := unseal(pb.Get(keyState))
			if !ok {
				t.Fatalf("state of %s: checksum", name)
			}
			var rec map[string]any
			if err := json.Unmarshal(raw, &rec); err != nil {
				return err
			}
			list := rec["list"].(map[string]any)
			for _, k := range []string{"bound", "bound_explicitly", "signer_key"} {
				if _, ok := list[k]; !ok && k != "bound_explicitly" {
					t.Fatalf("state of %s has no %q to strip: %s", name, k, raw)
				}
				delete(list, k)
			}
			out, err := json.Marshal(rec)
			if err != nil {
				return err
			}
			return pb.Put(keyState, seal(nil, out))
		})
	})
	if err != nil {
		t.Fatal(err)
	}
}
