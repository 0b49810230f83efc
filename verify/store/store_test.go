package store

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

var t0 = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

const issuer = "did:web:health.example"

func apply(tb testing.TB, s *Store, file []byte, keys snapshot.Keys, at time.Time) *ApplyResult {
	tb.Helper()
	res, err := s.ApplySnapshot(bytes.NewReader(file), keys, at, nil)
	if err != nil {
		tb.Fatalf("apply: %v", err)
	}
	return res
}

func check(tb testing.TB, s *Store, id string, at time.Time) Result {
	tb.Helper()
	r, err := s.Check(issuer, id, at)
	if err != nil {
		tb.Fatal(err)
	}
	return r
}

func TestCheckAnswers(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), nil)
	defer s.Close()
	p := newTestPub(t, "ministry", issuer)
	p.revoke(issuer, "revoked", t0.Add(-time.Hour), crl.ReasonFaultyBatch, time.Time{})
	p.revoke(issuer, "suspended", t0.Add(-time.Hour), crl.ReasonCertificateHold, t0.Add(48*time.Hour))
	p.revoke(issuer, "lifted", t0.Add(-72*time.Hour), crl.ReasonCertificateHold, t0.Add(-time.Hour))
	for i := range 1000 {
		p.revoke(issuer, certID(i), t0.Add(-time.Duration(i)*time.Minute), crl.ReasonDataError, time.Time{})
	}
	f := p.publish(t0)
	res := apply(t, s, f.Full, p.keys, t0)
	if res.OldSerial != 0 || res.NewSerial != 1 || res.Entries != 1003 {
		t.Fatalf("apply result %+v", res)
	}
	at := t0.Add(time.Hour)
	for _, tc := range []struct {
		id     string
		status Status
		entry  bool
	}{
		{"revoked", Revoked, true},
		{"suspended", Suspended, true},
		{"lifted", NotRevoked, true},
		{"never-revoked", NotRevoked, false},
		{certID(999), Revoked, true},
	} {
		r := check(t, s, tc.id, at)
		if r.Status != tc.status || (r.Entry != nil) != tc.entry {
			t.Errorf("%s: status %v entry %v, want %v %v", tc.id, r.Status, r.Entry, tc.status, tc.entry)
		}
		if r.Serial != 1 || r.Freshness != Fresh || r.Age != time.Hour || r.Publisher != "ministry" {
			t.Errorf("%s: serial %d freshness %v age %v", tc.id, r.Serial, r.Freshness, r.Age)
		}
	}
	r := check(t, s, "revoked", at)
	if r.Entry.Reason != crl.ReasonFaultyBatch || !r.Entry.Revoked().Equal(t0.Add(-time.Hour)) || !r.Conclusive() {
		t.Errorf("revoked entry %+v", r.Entry)
	}
	if r := check(t, s, "never-revoked", at); !r.Conclusive() || r.Reason() != "" {
		t.Errorf("fresh not-revoked is not conclusive: %s", r.Reason())
	}
	// the suspension ends
	if r := check(t, s, "suspended", t0.Add(49*time.Hour)); r.Status != NotRevoked {
		t.Errorf("suspension not lifted after its end: %v", r.Status)
	}
	// unknown issuer
	if r, _ := s.Check("did:web:other.example", "revoked", at); r.Status != Unknown || r.Conclusive() || r.Freshness != NoList {
		t.Errorf("other issuer: %+v", r)
	}
	// past next-update: stale, never conclusive for not-revoked, still revoked
	late := t0.Add(25 * time.Hour)
	if r := check(t, s, "never-revoked", late); r.Freshness != Stale || r.Conclusive() || r.Age != 25*time.Hour {
		t.Errorf("late check: %v conclusive %v", r.Freshness, r.Conclusive())
	}
	if r := check(t, s, "revoked", late); r.Status != Revoked || !r.Conclusive() {
		t.Errorf("revoked on a stale list: %v", r.Status)
	}
	// clock behind the list's this-update
	if r := check(t, s, "never-revoked", t0.Add(-time.Minute)); r.Freshness != ClockBehind || r.Conclusive() {
		t.Errorf("clock behind: %v", r.Freshness)
	}
	assertList(t, s, p)
}

// TestFreshnessBoundaries compares the freshness a check computes with its
// definition, around next-update plus grace and at extreme instants.
func TestFreshnessBoundaries(t *testing.T) {
	l := &List{ThisUpdate: t0, NextUpdate: t0.Add(24 * time.Hour)}
	period := l.NextUpdate.Sub(l.ThisUpdate)
	far := time.Date(2500, 1, 1, 0, 0, 0, 0, time.UTC)
	ancient := time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, grace := range []time.Duration{0, time.Nanosecond, 2 * time.Hour, -time.Hour, 1<<63 - 1} {
		s := &Store{opts: Options{Grace: grace}}
		edge := l.NextUpdate.Add(grace)
		for _, at := range []time.Time{t0, t0.Add(-time.Nanosecond), edge, edge.Add(time.Nanosecond), edge.Add(-time.Nanosecond), far, ancient, time.Unix(1<<40, 0)} {
			want := Fresh
			switch {
			case at.Before(t0):
				want = ClockBehind
			case l.Stale(at, grace):
				want = Stale
			}
			r := Result{At: at}
			s.judge(&r, l, period, nil)
			if r.Freshness != want || r.Age != at.Sub(t0) {
				t.Errorf("grace %v, at %v: %v, age %v; want %v, age %v", grace, at, r.Freshness, r.Age, want, at.Sub(t0))
			}
		}
	}
}

// TestCheckAbsentDoesNotAllocate: the Bloom filter's answer for a
// certificate the list does not hold costs no allocation.
func TestCheckAbsentDoesNotAllocate(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), nil)
	defer s.Close()
	p := newTestPub(t, "ministry", issuer)
	for i := range 1000 {
		p.revoke(issuer, certID(i), t0, 0, time.Time{})
	}
	apply(t, s, p.publish(t0).Full, p.keys, t0)
	at := t0.Add(time.Hour)
	// ids the filter rules out (a false positive goes on to bbolt, which
	// allocates)
	lv := s.view.Load().list(issuer).lv
	var ids []string
	for i := 10_000; len(ids) < 100; i++ {
		if id := certID(i); !lv.filter.has(crl.KeyOf(issuer, id)) {
			ids = append(ids, id)
		}
	}
	allocs := testing.AllocsPerRun(10, func() {
		for _, id := range ids {
			if r, err := s.Check(issuer, id, at); err != nil || r.Status != NotRevoked || r.Freshness != Fresh {
				t.Fatalf("%s: %v %v %v", id, r.Status, r.Freshness, err)
			}
		}
	})
	if allocs != 0 {
		t.Errorf("%v allocations per 100 checks of absent ids", allocs)
	}
}

func TestGrace(t *testing.T) {
	dir := t.TempDir()
	p := newTestPub(t, "ministry", issuer)
	p.revoke(issuer, "x", t0, 0, time.Time{})
	f := p.publish(t0)
	s := mustOpen(t, filepath.Join(dir, "s.db"), &Options{Grace: 2 * time.Hour})
	defer s.Close()
	apply(t, s, f.Full, p.keys, t0)
	if r := check(t, s, "y", t0.Add(25*time.Hour)); r.Freshness != Fresh {
		t.Errorf("within grace: %v", r.Freshness)
	}
	if r := check(t, s, "y", t0.Add(27*time.Hour)); r.Freshness != Stale {
		t.Errorf("past grace: %v", r.Freshness)
	}
}

// TestDeltas applies a chain of deltas, small ones in place and large ones
// into a new generation, and compares the store with the publisher's list
// after each.
func TestDeltas(t *testing.T) {
	for _, big := range []bool{false, true} {
		t.Run(map[bool]string{false: "in-place", true: "new-generation"}[big], func(t *testing.T) {
			s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), &Options{BatchEntries: 300})
			defer s.Close()
			if big {
				s.smallDelta = 0
			}
			p := newTestPub(t, "ministry", issuer)
			r := rand.New(rand.NewPCG(1, 2))
			for i := range 3000 {
				p.revoke(issuer, certID(i), t0.Add(-time.Duration(r.IntN(1e6))*time.Second), crl.Reason(r.IntN(14)), time.Time{})
			}
			now := t0
			apply(t, s, p.publish(now).Full, p.keys, now)
			assertList(t, s, p)
			next := 3000
			for round := range 6 {
				for range 200 + round*300 {
					switch r.IntN(4) {
					case 0: // remove an existing entry
						p.unrevoke(issuer, certID(r.IntN(next)))
					case 1: // change an entry into a suspension
						p.revoke(issuer, certID(r.IntN(next)), now, crl.ReasonCertificateHold, now.Add(time.Hour))
					default:
						p.revoke(issuer, certID(next), now, crl.ReasonSuperseded, time.Time{})
						next++
					}
				}
				if round == 3 { // a mass removal
					for k := range p.list {
						if r.IntN(2) == 0 {
							p.remove(k)
						}
					}
				}
				now = now.Add(time.Hour)
				f := p.publish(now)
				res := apply(t, s, f.Delta, p.keys, now)
				if res.Kind != snapshot.KindDelta || res.NewSerial != f.Serial || res.Entries != uint64(f.Count) {
					t.Fatalf("round %d: %+v", round, res)
				}
				assertList(t, s, p)
			}
			// the store reopens with the same list and filter
			path := s.Path()
			s.Close()
			s = mustOpen(t, path, nil)
			assertList(t, s, p)
			assertNoGarbage(t, s)
		})
	}
}

func assertNoGarbage(tb testing.TB, s *Store) {
	tb.Helper()
	n := 0
	err := testDB(s).View(func(tx *bolt.Tx) error {
		return tx.Bucket(bktLists).ForEachBucket(func([]byte) error { n++; return nil })
	})
	if err != nil {
		tb.Fatal(err)
	}
	if want := len(s.Lists()); n != want {
		tb.Fatalf("%d generation buckets for %d lists", n, want)
	}
	ents, err := os.ReadDir(filepath.Dir(s.Path()))
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), tempPrefix(s.Path())) {
			tb.Fatalf("temporary file %s left", e.Name())
		}
	}
}

// refusals: every attack leaves the store as it was, still answering.
func TestRefusedSnapshotsLeaveStoreUnchanged(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), &Options{MaxSerialJump: 100})
	defer s.Close()
	p := newTestPub(t, "ministry", issuer)
	p.revoke(issuer, "revoked", t0, crl.ReasonTampering, time.Time{})
	f1 := p.publish(t0)
	apply(t, s, f1.Full, p.keys, t0)
	p.revoke(issuer, "later", t0, crl.ReasonTampering, time.Time{})
	f2 := p.publish(t0.Add(time.Hour))
	apply(t, s, f2.Delta, p.keys, t0.Add(time.Hour))
	p.revoke(issuer, "third", t0, crl.ReasonTampering, time.Time{})
	f3 := p.publish(t0.Add(2 * time.Hour)) // not applied

	other := newTestPub(t, "ministry", issuer) // same name, another key
	other.revoke(issuer, "x", t0, 0, time.Time{})
	other.serial = 50
	forged := other.publish(t0.Add(3 * time.Hour))

	tampered := bytes.Clone(f3.Full)
	tampered[len(tampered)-3] ^= 0x40
	badSig := bytes.Clone(f3.Full)
	{ // change one character of the signed payload
		line := badSig[bytes.IndexByte(badSig, '\n')+1:]
		dot := bytes.IndexByte(line, '.')
		i := dot + 1 + bytes.IndexByte(line[dot+1:], '.')/2
		line[i] = map[bool]byte{true: 'B', false: 'A'}[line[i] == 'A']
	}

	unsigned := bytes.Clone(f3.Full)
	{ // drop the signature, keep "header.payload."
		nl := bytes.IndexByte(unsigned, '\n') + 1
		end := nl + bytes.IndexByte(unsigned[nl:], '\n')
		lastDot := nl + bytes.LastIndexByte(unsigned[nl:end], '.')
		unsigned = append(unsigned[:lastDot+1:lastDot+1], unsigned[end:]...)
	}
	other2, err := snapshot.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	wrongKey := snapshot.KeysFunc(func(string) (jwk.Key, error) { return other2.PublicKey() })

	jump := newTestPub(t, "ministry", issuer)
	jump.key, jump.keys = p.key, p.keys
	jump.list, jump.serial, jump.digest = p.list, p.serial+1000, p.digest
	ff := jump.publish(t0.Add(3 * time.Hour))

	wrongBase := newTestPub(t, "ministry", issuer)
	wrongBase.key, wrongBase.keys = p.key, p.keys
	wrongBase.serial = 1
	wrongBase.revoke(issuer, "a", t0, 0, time.Time{})
	wrongBase.publish(t0)
	wrongBase.serial = p.serial // same base serial, different base digest
	wb := wrongBase.publish(t0.Add(3 * time.Hour))

	conflict := newTestPub(t, "neighbour", issuer)
	conflict.key, conflict.keys = p.key, p.keys
	conflict.revoke(issuer, "x", t0, 0, time.Time{})
	cf := conflict.publish(t0.Add(3 * time.Hour))

	at := t0.Add(3 * time.Hour)
	for _, tc := range []struct {
		name string
		file []byte
		at   time.Time
		want error
		keys snapshot.Keys
	}{
		{"unsigned", unsigned, at, snapshot.ErrBadSignature, nil},
		{"wrong key under the right kid", f3.Full, at, snapshot.ErrBadSignature, wrongKey},
		{"unknown key", forged.Full, at, snapshot.ErrUnknownKey, nil},
		{"bad signature", badSig, at, snapshot.ErrBadSignature, nil},
		{"tampered body", tampered, at, snapshot.ErrDigestMismatch, nil},
		{"not a snapshot", []byte("hello\n"), at, snapshot.ErrMalformed, nil},
		{"empty file", nil, at, snapshot.ErrMalformed, nil},
		{"cut file", f3.Full[:len(f3.Full)-10], at, snapshot.ErrDigestMismatch, nil},
		{"cut header", f3.Full[:len(f3.Full)/3], at, snapshot.ErrMalformed, nil},
		{"rollback full", f1.Full, at, snapshot.ErrRollback, nil},
		{"rollback delta", f2.Delta, at, snapshot.ErrRollback, nil},
		{"replay past next-update", f3.Full, t0.Add(30 * time.Hour), snapshot.ErrExpired, nil},
		{"fast-forward", ff.Full, at, snapshot.ErrFastForward, nil},
		{"wrong base", wb.Delta, at, snapshot.ErrWrongBase, nil},
		{"issuer conflict", cf.Full, at, ErrIssuerConflict, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			keys := p.keys
			if tc.keys != nil {
				keys = tc.keys
			}
			_, err := s.ApplySnapshot(bytes.NewReader(tc.file), keys, tc.at, nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			l, _ := s.List("ministry")
			if l.Serial != 2 {
				t.Fatalf("serial %d after refusal", l.Serial)
			}
			r := check(t, s, "later", tc.at)
			if r.Status != Revoked || r.Serial != 2 || r.Age != tc.at.Sub(t0.Add(time.Hour)) {
				t.Fatalf("after refusal: %v serial %d age %v", r.Status, r.Serial, r.Age)
			}
			if r := check(t, s, "third", tc.at); r.Status != NotRevoked {
				t.Fatalf("refused list leaked: %v", r.Status)
			}
			if len(s.Lists()) != 1 {
				t.Fatalf("%d lists", len(s.Lists()))
			}
			assertNoGarbage(t, s)
		})
	}
	// A newer list already past its next-update is accepted when allowed,
	// and reported stale.
	late := t0.Add(30 * time.Hour)
	if _, err := s.ApplySnapshot(bytes.NewReader(f3.Delta), p.keys, late, &ApplyOptions{AllowExpired: true}); err != nil {
		t.Fatal(err)
	}
	if r := check(t, s, "third", late); r.Status != Revoked || r.Freshness != Stale || r.Serial != 3 {
		t.Fatalf("expired list applied: %v %v %d", r.Status, r.Freshness, r.Serial)
	}
}

// TestClockSetBack: a clock earlier than a list's this-update is
// reported, and does not make a replayed old file acceptable.
func TestClockSetBack(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), nil)
	defer s.Close()
	p := newTestPub(t, "ministry", issuer)
	p.revoke(issuer, "r", t0, 0, time.Time{})
	f1 := p.publish(t0)
	f2 := p.publish(t0.Add(48 * time.Hour))
	apply(t, s, f2.Full, p.keys, t0.Add(48*time.Hour))
	// the clock is set back to when f1 was current
	back := t0.Add(time.Hour)
	if r := check(t, s, "x", back); r.Freshness != ClockBehind || r.Conclusive() || !r.NewestSeen.Equal(t0.Add(48*time.Hour)) {
		t.Fatalf("clock set back: %v, newest seen %v", r.Freshness, r.NewestSeen)
	}
	if _, err := s.ApplySnapshot(bytes.NewReader(f1.Full), p.keys, back, nil); !errors.Is(err, snapshot.ErrRollback) {
		t.Fatalf("old file with clock set back: %v", err)
	}
}

// TestKeyRotation: a list signed by a new key is accepted once the new key
// is in the trusted set; one signed by a key not in it is refused.
func TestKeyRotation(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), nil)
	defer s.Close()
	p := newTestPub(t, "ministry", issuer)
	p.revoke(issuer, "a", t0, 0, time.Time{})
	apply(t, s, p.publish(t0).Full, p.keys, t0)
	oldKey, oldKeys := p.key, p.keys
	newKey, err := snapshot.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	p.key = newKey
	p.revoke(issuer, "b", t0, 0, time.Time{})
	f := p.publish(t0.Add(time.Hour))
	if _, err := s.ApplySnapshot(bytes.NewReader(f.Delta), oldKeys, t0.Add(time.Hour), nil); !errors.Is(err, snapshot.ErrUnknownKey) {
		t.Fatalf("new key before rotation: %v", err)
	}
	both, err := snapshot.PublicSet(oldKey, newKey)
	if err != nil {
		t.Fatal(err)
	}
	res := apply(t, s, f.Delta, snapshot.KeysFromSet(both), t0.Add(time.Hour))
	if l, _ := s.List("ministry"); l.KeyID == "" || l.Algorithm != "ES256" || res.NewSerial != 2 || len(l.Signers) != 2 {
		t.Fatalf("after rotation: %+v", l)
	}
	// The old key retired: the new one has signed, so it goes on alone.
	newOnly, err := snapshot.PublicSet(newKey)
	if err != nil {
		t.Fatal(err)
	}
	p.revoke(issuer, "c", t0, 0, time.Time{})
	apply(t, s, p.publish(t0.Add(2*time.Hour)).Delta, snapshot.KeysFromSet(newOnly), t0.Add(2*time.Hour))
}

// TestKeyChangeRefused: a snapshot signed by a key that has never signed
// the publisher's lists is refused when the keys given hold none of the
// keys that have, as when one publisher's key signs a list in another
// publisher's name; the store is unchanged. Once the stored list is
// removed, the new key is trusted.
func TestKeyChangeRefused(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), nil)
	defer s.Close()
	victim := newTestPub(t, "ministry", issuer)
	victim.revoke(issuer, "stolen-cert", t0, crl.ReasonTampering, time.Time{})
	apply(t, s, victim.publish(t0).Full, victim.keys, t0)
	other := newTestPub(t, "province", "did:web:province.example")
	apply(t, s, other.publish(t0).Full, other.keys, t0)

	// The province's key signs an empty list in the ministry's name, for
	// the ministry's issuer, with a newer serial.
	forger := newTestPub(t, "ministry", issuer)
	forger.key, forger.keys = other.key, other.keys
	forger.serial = 5
	forged := forger.publish(t0.Add(time.Hour))
	before := check(t, s, "stolen-cert", t0.Add(time.Hour))
	_, err := s.ApplySnapshot(bytes.NewReader(forged.Full), other.keys, t0.Add(time.Hour), nil)
	if !errors.Is(err, ErrKeyChange) {
		t.Fatalf("list signed by another publisher's key: %v", err)
	}
	t.Log(err)
	if r := check(t, s, "stolen-cert", t0.Add(time.Hour)); r.Status != Revoked || r.Serial != before.Serial {
		t.Fatalf("store changed: %v serial %d", r.Status, r.Serial)
	}
	// The operator decides to trust the new key set: remove, then apply.
	if err := s.Remove("ministry"); err != nil {
		t.Fatal(err)
	}
	apply(t, s, forged.Full, other.keys, t0.Add(time.Hour))
	if r := check(t, s, "stolen-cert", t0.Add(time.Hour)); r.Status != NotRevoked || r.Serial != 6 {
		t.Fatalf("after remove and apply: %v serial %d", r.Status, r.Serial)
	}
}

// TestConcurrentChecksSeeOldOrNew runs checks while lists are applied:
// every answer is exactly the old list's or the new one's. With a resident
// limit of one byte, every lookup also releases the file's mapping while
// other checks read it and applies grow (and remap) the file.
func TestConcurrentChecksSeeOldOrNew(t *testing.T) {
	for _, limit := range []int64{0, 1} {
		t.Run(fmt.Sprintf("resident-limit=%d", limit), func(t *testing.T) {
			testConcurrentChecks(t, &Options{BatchEntries: 500, ResidentLimit: limit})
		})
	}
}

func testConcurrentChecks(t *testing.T, opts *Options) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), opts)
	defer s.Close()
	p := newTestPub(t, "ministry", issuer)
	// serial n revokes exactly ids "s<n>-*"; each publication replaces the
	// previous set, so a mix would show ids of two serials at once.
	const per = 2000
	var files []pubFiles
	for serial := 1; serial <= 6; serial++ {
		for k := range p.list {
			p.remove(k)
		}
		for i := range per {
			p.revoke(issuer, idOf(serial, i), t0, 0, time.Time{})
		}
		files = append(files, p.publish(t0.Add(time.Duration(serial)*time.Minute)))
	}
	apply(t, s, files[0].Full, p.keys, t0.Add(time.Hour))
	var stop atomic.Bool
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for w := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 9))
			for !stop.Load() {
				serial := 1 + r.IntN(6)
				i := r.IntN(per)
				res, err := s.Check(issuer, idOf(serial, i), t0.Add(time.Hour))
				if err != nil {
					errs <- err
					return
				}
				want := NotRevoked
				if int(res.Serial) == serial {
					want = Revoked
				}
				if res.Status != want {
					errs <- errors.New("mixed answer: id of serial " + itoa(serial) + " is " + res.Status.String() + " on serial " + itoa(int(res.Serial)))
					return
				}
			}
		}()
	}
	for i, f := range files[1:] {
		file := f.Delta
		if i%2 == 1 {
			file = f.Full
		}
		apply(t, s, file, p.keys, t0.Add(time.Hour))
	}
	stop.Store(true)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

func idOf(serial, i int) string { return "s" + itoa(serial) + "-" + itoa(i) }

func itoa(n int) string {
	return string(slices.AppendSeq([]byte(nil), func(yield func(byte) bool) { writeInt(n, yield) }))
}

func writeInt(n int, yield func(byte) bool) {
	if n >= 10 {
		writeInt(n/10, yield)
	}
	yield(byte('0' + n%10))
}

// TestStagingGarbageIsCleanedOnOpen: a file left by a write that did not
// finish (a crash, a full disk) is deleted when the store is next opened
// for writing, and by the next write.
func TestStagingGarbageIsCleanedOnOpen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "store.db")
	s := mustOpen(t, path, nil)
	p := newTestPub(t, "ministry", issuer)
	p.revoke(issuer, "a", t0, 0, time.Time{})
	apply(t, s, p.publish(t0).Full, p.keys, t0)
	s.Close()
	left := filepath.Join(dir, "store.db-new-123")
	writeFile(t, left, []byte("half a store"))
	other := filepath.Join(dir, "other.db-new-123") // another store's
	writeFile(t, other, []byte("half a store"))
	s = mustOpen(t, path, nil)
	defer s.Close()
	assertNoGarbage(t, s)
	assertList(t, s, p)
	writeFile(t, left, []byte("half a store"))
	p.revoke(issuer, "b", t0, 0, time.Time{})
	apply(t, s, p.publish(t0.Add(time.Minute)).Delta, p.keys, t0)
	assertNoGarbage(t, s)
	if _, err := os.Stat(other); err != nil {
		t.Fatalf("another store's file removed: %v", err)
	}
}

// TestBloomFalsePositiveRate: the filter holds every key and errs on about
// the rate it was sized for.
func TestBloomFalsePositiveRate(t *testing.T) {
	const n = 100_000
	bf := newBloom(bloomCapacity(n), DefaultBloomFPRate)
	r := rand.New(rand.NewPCG(5, 5))
	for range n {
		addKey(bf, crl.Key(r.Uint64()))
	}
	f := filterOf(bf)
	r = rand.New(rand.NewPCG(5, 5))
	for range n {
		if !f.has(crl.Key(r.Uint64())) {
			t.Fatal("false negative")
		}
	}
	rate := func() float64 {
		fp := 0
		for range n {
			if f.has(crl.Key(r.Uint64())) {
				fp++
			}
		}
		return float64(fp) / n
	}
	if got := rate(); got > 0.01 {
		t.Fatalf("false-positive rate %.4f with the list as sized", got)
	}
	for range n / 4 { // loaded to its capacity
		addKey(bf, crl.Key(r.Uint64()))
	}
	if got := rate(); got > 0.015 {
		t.Fatalf("false-positive rate %.4f at capacity", got)
	}
	t.Logf("false-positive rate at capacity: %.4f", rate())
}

// TestEntryBound: a snapshot with more entries than the configured bound is
// refused before its body is read.
func TestEntryBound(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), &Options{Limits: &snapshot.Limits{MaxEntries: 10}})
	defer s.Close()
	p := newTestPub(t, "ministry", issuer)
	for i := range 100 {
		p.revoke(issuer, certID(i), t0, 0, time.Time{})
	}
	if _, err := s.ApplySnapshot(bytes.NewReader(p.publish(t0).Full), p.keys, t0, nil); !errors.Is(err, snapshot.ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	if len(s.Lists()) != 0 {
		t.Fatal("list stored")
	}
}

// TestCheckOnReplacedFile: a check that took the lists before a write
// replaced the file, and finds that file closed, answers wholly from the
// current lists.
func TestCheckOnReplacedFile(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), nil)
	defer s.Close()
	p := newTestPub(t, "ministry", issuer)
	p.revoke(issuer, "old", t0, 0, time.Time{})
	apply(t, s, p.publish(t0).Full, p.keys, t0)
	stale := s.view.Load()
	p.unrevoke(issuer, "old")
	p.revoke(issuer, "new", t0, 0, time.Time{})
	apply(t, s, p.publish(t0.Add(time.Minute)).Delta, p.keys, t0)
	if s.view.Load().f == stale.f {
		t.Fatal("the write did not replace the file")
	}
	at := t0.Add(time.Hour)
	for _, tc := range []struct {
		id     string
		status Status
		serial uint64
	}{
		// "old" passes the old filter; its file is closed, so serial 2
		// answers.
		{"old", NotRevoked, 2},
		// "new" is not in the old filter: serial 1's answer, from memory.
		{"new", NotRevoked, 1},
	} {
		var r Result
		il := stale.list(issuer)
		if err := s.check(&r, stale, il, il.keyer.Key(tc.id), at); err != nil {
			t.Fatal(err)
		}
		if r.Status != tc.status || r.Serial != tc.serial {
			t.Fatalf("%s: %v on serial %d", tc.id, r.Status, r.Serial)
		}
	}
}

// TestStoreBehindALink: a store opened through a symbolic link is written
// where the link points; the link stays.
func TestStoreBehindALink(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "data", "store.db")
	if err := os.Mkdir(filepath.Dir(real), 0o700); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "store.db")
	if err := os.Symlink(real, link); err != nil {
		t.Skip(err)
	}
	s := mustOpen(t, link, nil)
	defer s.Close()
	p := newTestPub(t, "ministry", issuer)
	p.revoke(issuer, "a", t0, 0, time.Time{})
	apply(t, s, p.publish(t0).Full, p.keys, t0)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("link replaced: %v", err)
	}
	r := mustOpen(t, link, &Options{ReadOnly: true})
	defer r.Close()
	assertList(t, r, p)
}
