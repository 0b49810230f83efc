package registry

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// TestPublishOldCopyRefused is the scenario of a registry put back from an
// old copy: revoke R1, publish, copy the registry; revoke R2, publish; put
// the copy back and publish: refused, saying publishing would un-revoke
// one certificate; carried forward, the next publication still lists R2.
func TestPublishOldCopyRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	dir := t.TempDir()
	key, keys := testKey(t)
	r, c := openAt(t, path)
	revoke := func(r *Registry, id string) {
		t.Helper()
		if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: id}, Actor: "alice", Reason: crl.ReasonDataError}); err != nil {
			t.Fatal(err)
		}
	}
	publish := func(r *Registry) (*PublishResult, error) {
		c.t = c.t.Add(time.Hour)
		return r.Publish(dir, key, &PublishOptions{Now: c.t})
	}
	revoke(r, "R1")
	if _, err := publish(r); err != nil {
		t.Fatal(err)
	}
	old := copyFile(t, path)
	revoke(r, "R2")
	if _, err := publish(r); err != nil {
		t.Fatal(err)
	}
	r.Close()

	r2, c2 := openAt(t, old)
	c2.t = c.t.Add(time.Hour)
	c.t = c2.t
	indexBefore, _ := os.ReadFile(filepath.Join(dir, snapshot.IndexName))
	_, err := publish(r2)
	var pc *PublicationConflictError
	if !errors.As(err, &pc) || !errors.Is(err, ErrPublicationConflict) || pc.Serial != 2 || pc.RegistrySerial != 1 || pc.Dropped != 1 ||
		pc.Examples[0] != crl.KeyOf("moh", "R2") || !strings.Contains(err.Error(), "un-revoke") || !strings.Contains(err.Error(), "--carry-forward") {
		t.Fatalf("publish of the old copy: %v", err)
	}
	if indexAfter, _ := os.ReadFile(filepath.Join(dir, snapshot.IndexName)); string(indexAfter) != string(indexBefore) {
		t.Fatal("a refused publication changed the index")
	}
	if s, _ := r2.Stats(); s.LastSerial != 1 {
		t.Fatalf("a refused publication used a serial: %+v", s)
	}

	res, err := r2.CarryForward(dir, keys, &CarryOptions{Actor: "bob", Note: "registry restored from an old copy"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Serial != 2 || res.Listed != 2 || res.Carried != 1 || res.AuditSeq == 0 {
		t.Fatalf("carry forward %+v", res)
	}
	var items []AuditItem
	if err := r2.AuditItems(res.AuditSeq, func(it AuditItem) error { items = append(items, it); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].Kind != "carried" || parseListKey(items[0].ListKey) != uint64(crl.KeyOf("moh", "R2")) {
		t.Fatalf("carry items %+v", items)
	}
	mustVerify(t, r2)
	pub, err := publish(r2)
	if err != nil {
		t.Fatal(err)
	}
	if pub.Serial != 3 || pub.ListCount != 2 {
		t.Fatalf("after carry forward: %+v", pub)
	}
	_, ups, _ := readSnapshot(t, filepath.Join(dir, pub.Full.Name), keys)
	if !slices.ContainsFunc(ups, func(e crl.Entry) bool { return e.Key == crl.KeyOf("moh", "R2") }) {
		t.Fatalf("serial 3 lost R2: %+v", ups)
	}
	// The delta from serial 1 (the copy's own) leads to the same list.
	_, full1, _ := readSnapshot(t, filepath.Join(dir, snapshot.FullName(1)), keys)
	for _, d := range pub.Deltas {
		if d.BaseSerial == 1 {
			_, dups, drms := readSnapshot(t, filepath.Join(dir, d.Name), keys)
			if got := applyDelta(full1, dups, drms); !slices.Equal(got, ups) {
				t.Fatalf("delta 1->3 gives %+v, want %+v", got, ups)
			}
		}
	}
	// Lifting R2 by id leaves the carried entry listed: the registry does
	// not know it was R2's.
	if _, err := r2.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: "R2"}, Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r2.Lift(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: "R2"}, Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	pub, err = publish(r2)
	if err != nil || pub.ListCount != 2 {
		t.Fatalf("%+v %v", pub, err)
	}
	mustVerify(t, r2)
	if _, err := r2.VerifyCheckpoints(dir, keys); err == nil {
		t.Fatal("the checkpoint of the other history's serial 2 holds")
	}
}

// TestPublishGuardOtherRegistry: a second registry writing into the same
// directory is refused, and so is another publisher's directory.
func TestPublishGuardOtherRegistry(t *testing.T) {
	dir := t.TempDir()
	key, _ := testKey(t)
	a, _ := openTest(t)
	b, cb := openTest(t)
	for i, r := range []*Registry{a, b} {
		if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: "X"}, Actor: []string{"alice", "bob"}[i]}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := a.Publish(dir, key, &PublishOptions{Now: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Publish(t.TempDir(), key, nil); err != nil {
		t.Fatal(err)
	}
	// b published serial 1 elsewhere, the same list with another audit
	// trail: same serial, other history.
	cb.t = cb.t.Add(2 * time.Hour)
	if _, err := b.Publish(dir, key, nil); !errors.Is(err, ErrPublicationConflict) {
		t.Fatalf("second registry: %v", err)
	}
	// Another publisher's directory.
	c, _ := openTest(t)
	if _, err := c.Publish(dir, key, &PublishOptions{Publisher: "someone else"}); !errors.Is(err, ErrPublicationConflict) || !strings.Contains(err.Error(), "someone else") {
		t.Fatalf("another publisher: %v", err)
	}
	// A directory signed with a key the registry was not given.
	other, _ := snapshot.GenerateKey(snapshot.AlgEdDSA)
	if _, err := a.Publish(dir, other, nil); !errors.Is(err, snapshot.ErrUnknownKey) {
		t.Fatalf("rotated key without the old: %v", err)
	}
	set, _ := snapshot.PublicSet(key)
	if _, err := a.Publish(dir, other, &PublishOptions{Keys: snapshot.KeysFromSet(set)}); err != nil {
		t.Fatalf("rotated key with the old: %v", err)
	}
}

// TestLayout2Upgrade: a layout 2 file (no carried table) reads as it is
// and becomes layout 3 when opened for writing.
func TestLayout2Upgrade(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	r, _ := openAt(t, path)
	if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: "X"}, Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	tamper(t, path, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketCarried); err != nil {
			return err
		}
		return tx.Bucket(bucketMeta).Put(metaVersion, []byte{2})
	})
	ro, err := Open(path, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	if es := entries(t, ro, t0); len(es) != 1 {
		t.Fatalf("layout 2 read-only: %v", es)
	}
	mustVerify(t, ro)
	ro.Close()
	r, _ = openAt(t, path)
	mustVerify(t, r)
	r.Close()
	tamper(t, path, func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(metaVersion); v[0] != 3 || tx.Bucket(bucketCarried) == nil {
			t.Errorf("not upgraded: version %v", v)
		}
		return nil
	})
}

// TestPublishTwoRegistriesAtOnce: two copies of one registry, each with a
// revocation of its own, publish into the same directory at the same
// moment, round after round. Exactly one publishes each serial; the other
// is refused (busy, or by the guard once it sees the serial it did not
// make), and the directory's list is the one the winner published.
func TestPublishTwoRegistriesAtOnce(t *testing.T) {
	tmp := t.TempDir()
	dir := filepath.Join(tmp, "pub")
	os.Mkdir(dir, 0o755)
	key, keys := testKey(t)
	paths := [2]string{filepath.Join(tmp, "a.db"), filepath.Join(tmp, "b.db")}
	r, _ := openAt(t, paths[0])
	if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: "FIRST"}, Actor: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Publish(dir, key, &PublishOptions{Now: t0}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	copyOver := func(from, to string) {
		b, err := os.ReadFile(from)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(to, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	copyOver(paths[0], paths[1])
	for round := range 12 {
		var regs [2]*Registry
		for i, p := range paths {
			regs[i], _ = openAt(t, p)
			id := fmt.Sprintf("%c-%d", 'A'+i, round)
			if _, err := regs[i].Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: id}, Actor: "x"}); err != nil {
				t.Fatal(err)
			}
		}
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range regs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = regs[i].Publish(dir, key, &PublishOptions{Now: t0.Add(time.Duration(round+1) * time.Hour)})
			}()
		}
		close(start)
		wg.Wait()
		for _, r := range regs {
			r.Close()
		}
		winner := -1
		for i, err := range errs {
			switch {
			case err == nil:
				if winner >= 0 {
					t.Fatalf("round %d: both registries published serial %d", round, round+2)
				}
				winner = i
			case !errors.Is(err, ErrPublicationBusy) && !errors.Is(err, ErrPublicationConflict):
				t.Fatalf("round %d: registry %d: %v", round, i, err)
			}
		}
		if winner < 0 {
			t.Fatalf("round %d: neither published: %v", round, errs)
		}
		ix := readIndex(t, dir, keys)
		if ix.Serial != uint64(round+2) {
			t.Fatalf("round %d: the directory's serial is %d", round, ix.Serial)
		}
		_, list, _ := readSnapshot(t, filepath.Join(dir, ix.Full.Name), keys)
		listed := map[crl.Key]bool{}
		for _, e := range list {
			listed[e.Key] = true
		}
		for i := range paths {
			id := fmt.Sprintf("%c-%d", 'A'+i, round)
			if listed[crl.KeyOf("moh", id)] != (i == winner) {
				t.Fatalf("round %d: registry %d won; %s listed: %v", round, winner, id, listed[crl.KeyOf("moh", id)])
			}
		}
		copyOver(paths[winner], paths[1-winner])
	}
}
