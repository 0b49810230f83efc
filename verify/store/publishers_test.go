package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// TestPublisherTimesStayTheirOwn: a trusted publisher that signs a list
// made ten days in the future affects only its own list: another
// publisher's checks stay fresh and its fresh lists are accepted, and
// forgetting the first publisher leaves nothing of it behind.
func TestPublisherTimesStayTheirOwn(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	s := mustOpen(t, path, nil)
	defer s.Close()
	ministry := newTestPub(t, "ministry", issuer)
	ministry.revoke(issuer, "revoked", t0, crl.ReasonTampering, time.Time{})
	apply(t, s, ministry.publish(t0).Full, ministry.keys, t0)

	const otherIssuer = "did:web:province.example"
	future := newTestPub(t, "province", otherIssuer)
	future.revoke(otherIssuer, "x", t0, 0, time.Time{})
	future.validity = 30 * 24 * time.Hour
	apply(t, s, future.publish(t0.Add(10*24*time.Hour)).Full, future.keys, t0)

	at := t0.Add(time.Hour)
	if r := check(t, s, "fine", at); r.Freshness != Fresh || !r.Conclusive() {
		t.Fatalf("ministry after another publisher's future list: %v", r.Freshness)
	}
	if r, _ := s.Check(otherIssuer, "fine", at); r.Freshness != ClockBehind {
		t.Fatalf("the future list itself: %v", r.Freshness)
	}
	// The ministry's next list is accepted and fresh.
	ministry.revoke(issuer, "later", t0, crl.ReasonTampering, time.Time{})
	apply(t, s, ministry.publish(t0.Add(2*time.Hour)).Delta, ministry.keys, t0.Add(2*time.Hour))
	if r := check(t, s, "later", t0.Add(3*time.Hour)); r.Status != Revoked || r.Freshness != Fresh || r.Serial != 2 {
		t.Fatalf("ministry's next list: %v %v serial %d", r.Status, r.Freshness, r.Serial)
	}
	// Reopened, the same.
	s.Close()
	s = mustOpen(t, path, &Options{ReadOnly: true})
	if r := check(t, s, "fine", t0.Add(3*time.Hour)); r.Freshness != Fresh {
		t.Fatalf("after reopening: %v", r.Freshness)
	}
	s.Close()
	s = mustOpen(t, path, nil)
	if err := s.Remove("province"); err != nil {
		t.Fatal(err)
	}
	if r, _ := s.Check(otherIssuer, "x", at); r.Status != Unknown {
		t.Fatalf("forgotten publisher still answers: %+v", r)
	}
	// Forgotten, its next list is judged against no earlier time of its.
	future.serial = 0
	apply(t, s, future.publish(t0).Full, future.keys, t0)
	if r, _ := s.Check(otherIssuer, "x", at); r.Status != Revoked || r.Freshness != Fresh {
		t.Fatalf("after forget: %v %v", r.Status, r.Freshness)
	}
}

// writeSchema1 writes at path the store s holds in the layout of schema 1,
// as the previous version of this package wrote it: values without
// checksums, no block indexes, one store-wide "newest seen" time (here
// newest), the sync bookkeeping in a "sources" bucket.
func writeSchema1(t *testing.T, s *Store, path string, newest time.Time, recs ...SyncRecord) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	src := s.view.Load()
	err = db.Update(func(tx *bolt.Tx) error {
		meta, _ := tx.CreateBucket(bktMeta)
		pubs, _ := tx.CreateBucket(bktPubs)
		lists, _ := tx.CreateBucket(bktLists)
		sources, _ := tx.CreateBucket(bktSources)
		nb, _ := newest.MarshalText()
		maxGen := uint64(0)
		for name, lv := range src.pubs {
			maxGen = max(maxGen, lv.rec.Gen)
			pb, _ := pubs.CreateBucket([]byte(name))
			raw, _ := json.Marshal(lv.rec)
			var cur [16]byte
			binary.BigEndian.PutUint64(cur[:], lv.rec.Gen)
			binary.BigEndian.PutUint64(cur[8:], lv.rec.List.Serial)
			for k, v := range map[string][]byte{"state": raw, "current": cur[:], "bloom": encodeBloom(lv.bloom, lv.rec.Gen)} {
				if err := pb.Put([]byte(k), v); err != nil {
					return err
				}
			}
			gb, _ := lists.CreateBucket(u64(lv.rec.Gen))
			err := src.f.view(func(stx *bolt.Tx) error {
				c := genBucket(stx, lv.rec.Gen).Cursor()
				for k, v := c.First(); k != nil; k, v = c.Next() {
					if err := gb.Put(bytes.Clone(k), bytes.Clone(v[:len(v)-sumLen])); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		for _, r := range recs {
			raw, _ := json.Marshal(r)
			if err := sources.Put([]byte(r.Source), raw); err != nil {
				return err
			}
		}
		for k, v := range map[string][]byte{"schema": u64(1), "next_gen": u64(maxGen + 1), "newest_seen": nb} {
			if err := meta.Put([]byte(k), v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSchema1Store: a store file of the previous schema, poisoned by a
// store-wide newest time ten days ahead, answers freshly with this one;
// the first write turns it into schema 2 and moves its bookkeeping out.
func TestSchema1Store(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, filepath.Join(dir, "new.db"), nil)
	p := newTestPub(t, "ministry", issuer)
	for i := range 3000 {
		p.revoke(issuer, certID(i), t0, crl.ReasonDataError, time.Time{})
	}
	apply(t, s, p.publish(t0).Full, p.keys, t0)
	path := filepath.Join(dir, "old.db")
	rec := SyncRecord{Source: "https://crl.example/pub/", Publisher: "ministry", LastAttempt: t0, LastSuccess: t0, ETag: `"x"`, ETagSerial: 1}
	writeSchema1(t, s, path, t0.Add(10*24*time.Hour), rec)
	s.Close()

	old := mustOpen(t, path, &Options{ReadOnly: true})
	if old.view.Load().f.sums {
		t.Fatal("schema 1 file read as schema 2")
	}
	at := t0.Add(time.Hour)
	if r := check(t, old, certID(7), at); r.Status != Revoked || r.Freshness != Fresh {
		t.Fatalf("schema 1: %v %v", r.Status, r.Freshness)
	}
	if r := check(t, old, "never", at); r.Freshness != Fresh || !r.Conclusive() {
		t.Fatalf("schema 1, absent: %v", r.Freshness)
	}
	assertList(t, old, p)
	if recs, err := old.SyncRecords(); err != nil || len(recs) != 1 || recs[0] != rec {
		t.Fatalf("schema 1 bookkeeping: %+v %v", recs, err)
	}
	old.Close()

	w := mustOpen(t, path, nil)
	defer w.Close()
	p.revoke(issuer, "new", t0, crl.ReasonTampering, time.Time{})
	apply(t, w, p.publish(t0.Add(time.Hour)).Delta, p.keys, at)
	if !w.view.Load().f.sums {
		t.Fatal("still schema 1 after a write")
	}
	assertList(t, w, p)
	if r := check(t, w, "new", at); r.Status != Revoked || r.Freshness != Fresh {
		t.Fatalf("after the write: %v %v", r.Status, r.Freshness)
	}
	if recs, err := w.SyncRecords(); err != nil || len(recs) != 1 || recs[0] != rec {
		t.Fatalf("bookkeeping after the write: %+v %v", recs, err)
	}
	if _, err := os.Stat(syncsPath(path)); err != nil {
		t.Fatalf("bookkeeping not moved: %v", err)
	}
	err := testDB(w).View(func(tx *bolt.Tx) error {
		if tx.Bucket(bktSources) != nil || tx.Bucket(bktMeta).Get([]byte("newest_seen")) != nil {
			return errors.New("schema 1 keys left")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestForkAtEqualSerial: with ApplyOptions.Fork, a full snapshot of the
// stored serial with another list, made later, replaces the list; made
// earlier, or without the option, it is a rollback.
func TestForkAtEqualSerial(t *testing.T) {
	s := mustOpen(t, filepath.Join(t.TempDir(), "store.db"), nil)
	defer s.Close()
	p := newTestPub(t, "ministry", issuer)
	p.revoke(issuer, "a", t0, 0, time.Time{})
	apply(t, s, p.publish(t0).Full, p.keys, t0)
	p.revoke(issuer, "b", t0, 0, time.Time{})
	apply(t, s, p.publish(t0.Add(time.Hour)).Delta, p.keys, t0)

	// The restored registry, at serial 1, revokes c instead of b.
	fork := newTestPub(t, "ministry", issuer)
	fork.key, fork.keys = p.key, p.keys
	fork.revoke(issuer, "a", t0, 0, time.Time{})
	fork.publish(t0)
	fork.revoke(issuer, "c", t0, 0, time.Time{})
	earlier := fork.publish(t0.Add(30 * time.Minute))
	fork.serial--
	later := fork.publish(t0.Add(2 * time.Hour))
	at := t0.Add(2 * time.Hour)
	for _, tc := range []struct {
		name string
		file []byte
		opts *ApplyOptions
	}{
		{"without the option", later.Full, nil},
		{"made before the stored list", earlier.Full, &ApplyOptions{Fork: true}},
		{"a delta", later.Delta, &ApplyOptions{Fork: true}},
		{"the stored list itself", nil, &ApplyOptions{Fork: true}},
	} {
		file := tc.file
		if file == nil {
			same := newTestPub(t, "ministry", issuer)
			same.key, same.keys, same.list, same.serial = p.key, p.keys, p.list, 1
			file = same.publish(t0.Add(3 * time.Hour)).Full
		}
		if _, err := s.ApplySnapshot(bytes.NewReader(file), p.keys, at, tc.opts); !errors.Is(err, snapshot.ErrRollback) {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	res, err := s.ApplySnapshot(bytes.NewReader(later.Full), p.keys, at, &ApplyOptions{Fork: true})
	if err != nil || !res.Forked || res.OldSerial != 2 || res.NewSerial != 2 {
		t.Fatalf("fork: %+v %v", res, err)
	}
	if r := check(t, s, "c", at); r.Status != Revoked {
		t.Fatalf("forked list: c %v", r.Status)
	}
	if r := check(t, s, "b", at); r.Status != NotRevoked {
		t.Fatalf("forked list: b %v", r.Status)
	}
	assertList(t, s, fork)
}
