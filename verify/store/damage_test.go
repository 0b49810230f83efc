package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl"
)

// damageFixture is a store file of two publishers, and what it answers.
type damageFixture struct {
	dir      string
	pristine []byte
	pubs     []*testPub
	ids      []string // ids to check: revoked, suspended and absent ones
	want     map[string]Result
	entries  map[string][]crl.Entry
	next     []byte // a delta to the next serial of pubs[0]
}

const provinceIssuer = "did:web:province.example"

func newDamageFixture(t *testing.T) *damageFixture {
	t.Helper()
	fx := &damageFixture{dir: t.TempDir(), want: map[string]Result{}, entries: map[string][]crl.Entry{}}
	path := filepath.Join(fx.dir, "pristine.db")
	s := mustOpen(t, path, nil)
	defer s.Close()
	r := rand.New(rand.NewPCG(3, 3))
	for _, pc := range []struct{ name, issuer string }{{"ministry", issuer}, {"province", provinceIssuer}} {
		p := newTestPub(t, pc.name, pc.issuer)
		for i := range 4000 {
			var until time.Time
			if i%50 == 0 {
				until = t0.Add(time.Duration(1+r.IntN(100)) * time.Hour)
			}
			p.revoke(pc.issuer, certID(i), t0.Add(-time.Duration(r.IntN(1e6))*time.Second), crl.Reason(r.IntN(10)), until)
		}
		apply(t, s, p.publish(t0).Full, p.keys, t0)
		fx.pubs = append(fx.pubs, p)
	}
	for i := 0; i < 4000; i += 97 {
		fx.ids = append(fx.ids, certID(i))
	}
	for i := range 30 {
		fx.ids = append(fx.ids, fmt.Sprintf("absent-%d", i))
	}
	at := t0.Add(time.Hour)
	for _, id := range fx.ids {
		for _, is := range []string{issuer, provinceIssuer} {
			fx.want[is+" "+id] = checkIssuer(t, s, is, id, at)
		}
	}
	for _, p := range fx.pubs {
		fx.entries[p.name] = entries(t, s, p.name)
	}
	p := fx.pubs[0]
	p.revoke(issuer, "next", t0, crl.ReasonTampering, time.Time{})
	p.unrevoke(issuer, certID(1))
	fx.next = p.publish(t0.Add(time.Minute)).Delta
	var err error
	if fx.pristine, err = os.ReadFile(path); err != nil {
		t.Fatal(err)
	}
	return fx
}

func checkIssuer(t *testing.T, s *Store, is, id string, at time.Time) Result {
	t.Helper()
	r, err := s.Check(is, id, at)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func entries(t *testing.T, s *Store, publisher string) []crl.Entry {
	t.Helper()
	var out []crl.Entry
	if err := s.Entries(publisher, func(e crl.Entry) error { out = append(out, e); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// damaged reports whether err is the error a damaged store gives.
func damaged(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, ErrSchema)
}

// try opens the damaged copy at path and uses it every way: each use
// either fails with ErrCorrupt (or ErrSchema, when the damage hits the
// schema number) or answers exactly what the intact store answers. It
// returns how many uses reported damage.
func (fx *damageFixture) try(t *testing.T, path, what string) (failed int) {
	t.Helper()
	at := t0.Add(time.Hour)
	s, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		if !damaged(err) {
			t.Fatalf("%s: open: %v", what, err)
		}
		return 1
	}
	for _, id := range fx.ids {
		for _, is := range []string{issuer, provinceIssuer} {
			r, err := s.Check(is, id, at)
			switch {
			case err != nil && !damaged(err):
				t.Fatalf("%s: check %s: %v", what, id, err)
			case err != nil:
				failed++
			case !sameResult(r, fx.want[is+" "+id]):
				t.Fatalf("%s: check %s %s: %v serial %d, intact store says %v", what, is, id, r.Status, r.Serial, fx.want[is+" "+id].Status)
			}
		}
	}
	for name, want := range fx.entries {
		var got []crl.Entry
		err := s.Entries(name, func(e crl.Entry) error { got = append(got, e); return nil })
		switch {
		case err != nil && !damaged(err):
			t.Fatalf("%s: entries: %v", what, err)
		case err != nil:
			failed++
		case !slices.Equal(got, want):
			t.Fatalf("%s: entries of %s differ from the intact store's", what, name)
		}
	}
	s.Close()
	// A write copies the lists it keeps: from a damaged file it fails,
	// or gives exactly the lists the intact store would.
	w, err := Open(path, nil)
	if err != nil {
		if !damaged(err) {
			t.Fatalf("%s: open for writing: %v", what, err)
		}
		return failed + 1
	}
	defer w.Close()
	p := fx.pubs[0]
	if _, err := w.ApplySnapshot(bytes.NewReader(fx.next), p.keys, at, nil); err != nil {
		if !damaged(err) {
			t.Fatalf("%s: apply: %v", what, err)
		}
		return failed + 1
	}
	assertList(t, w, p)
	if got := entries(t, w, "province"); !slices.Equal(got, fx.entries["province"]) {
		t.Fatalf("%s: a write carried damage over", what)
	}
	return failed
}

func sameResult(a, b Result) bool {
	if (a.Entry == nil) != (b.Entry == nil) || a.Entry != nil && *a.Entry != *b.Entry {
		return false
	}
	a.Entry, b.Entry = nil, nil
	return a == b
}

// copyTo writes mutate(a copy of the intact file) to a new path.
func (fx *damageFixture) copyTo(t *testing.T, name string, mutate func([]byte) []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	writeFile(t, path, mutate(bytes.Clone(fx.pristine)))
	return path
}

// TestTruncatedFile: a store file cut anywhere is reported as damaged
// (or, cut only in unused space at its end, still answers as it did);
// nothing panics or faults.
func TestTruncatedFile(t *testing.T) {
	fx := newDamageFixture(t)
	n := len(fx.pristine)
	sizes := []int{0, 1, 100, 4095, 4096, 8191, 8192, 10000, n / 3, n / 2, n - 8192, n - 4096, n - 1}
	for _, size := range sizes {
		path := fx.copyTo(t, "store.db", func(b []byte) []byte { return b[:size] })
		failed := fx.try(t, path, fmt.Sprintf("cut to %d of %d bytes", size, n))
		if size < n-4096 && failed == 0 {
			t.Errorf("cut to %d of %d bytes: no damage reported", size, n)
		}
	}
}

// TestFlippedBits flips random bits of a store file, one copy per seed:
// every use of the copy reports damage or answers as the intact file
// does; nothing panics or faults, and a write never carries damage over.
func TestFlippedBits(t *testing.T) {
	fx := newDamageFixture(t)
	seeds := 300
	if testing.Short() {
		seeds = 40
	}
	reported := 0
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 77))
		flips := 1 + seed%3
		path := fx.copyTo(t, "store.db", func(b []byte) []byte {
			for range flips {
				i := r.IntN(len(b))
				b[i] ^= 1 << r.IntN(8)
			}
			return b
		})
		if fx.try(t, path, fmt.Sprintf("seed %d", seed)) > 0 {
			reported++
		}
	}
	t.Logf("%d of %d damaged copies reported damage; the others answered as the intact file", reported, seeds)
}
