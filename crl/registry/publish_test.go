package registry

import (
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// rv revokes (or, with until, suspends) one certificate at c's time.
func rv(t testing.TB, r *Registry, issuer, id string, reason crl.Reason, at time.Time, until time.Duration) crl.Entry {
	t.Helper()
	q := Request{Selector: Selector{Issuer: issuer, CertificateID: id}, Actor: "test", Reason: reason, At: at}
	var err error
	e := crl.Entry{Key: crl.KeyOf(issuer, id), RevokedAt: at.Unix(), Reason: reason}
	if until != 0 {
		q.Until = at.Add(until)
		e.SuspendedUntil = q.Until.Unix()
		_, err = r.Suspend(ctx, q)
	} else {
		_, err = r.Revoke(ctx, q)
	}
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func lift(t testing.TB, r *Registry, issuer, id string) {
	t.Helper()
	if _, err := r.Lift(ctx, Request{Selector: Selector{Issuer: issuer, CertificateID: id}, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
}

func sortEntries(es []crl.Entry) []crl.Entry {
	slices.SortFunc(es, func(a, b crl.Entry) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	return es
}

// applyDelta is what a verifier does with a delta.
func applyDelta(base []crl.Entry, ups []crl.Entry, rms []crl.Key) []crl.Entry {
	m := map[crl.Key]crl.Entry{}
	for _, e := range base {
		m[e.Key] = e
	}
	for _, e := range ups {
		m[e.Key] = e
	}
	for _, k := range rms {
		if _, ok := m[k]; !ok {
			panic(fmt.Sprintf("removal of %v, not in the base", k))
		}
		delete(m, k)
	}
	keys := slices.Sorted(maps.Keys(m))
	out := make([]crl.Entry, 0, len(keys))
	for _, k := range keys {
		out = append(out, m[k])
	}
	return out
}

func TestPublishRoundTrip(t *testing.T) {
	r, _ := openTest(t)
	key, keys := testKey(t)
	dir := t.TempDir()
	const issuer = "did:example:moh"
	want := sortEntries([]crl.Entry{
		rv(t, r, issuer, "CERT-1", crl.ReasonDataError, t0.Add(-48*time.Hour), 0),
		rv(t, r, issuer, "CERT-2", crl.ReasonSuperseded, t0.Add(-24*time.Hour), 0),
		rv(t, r, "did:example:state", "CERT-3", crl.ReasonCertificateHold, t0.Add(-time.Hour), 8*24*time.Hour),
	})
	res, err := r.Publish(dir, key, &PublishOptions{Publisher: "Example Health Authority", Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if res.Serial != 1 || res.ListCount != 3 || len(res.Deltas) != 0 || !res.NextUpdate.Equal(t0.Add(24*time.Hour)) || res.AuditSeq == 0 {
		t.Errorf("result %+v", res)
	}
	h, ups, rms := readSnapshot(t, filepath.Join(dir, snapshot.FullName(1)), keys)
	if !slices.Equal(ups, want) || len(rms) != 0 {
		t.Errorf("full snapshot entries\n%+v\nwant\n%+v", ups, want)
	}
	if h.Serial != 1 || h.Publisher != "Example Health Authority" || !slices.Equal(h.Issuers, []string{"did:example:moh", "did:example:state"}) ||
		!h.ThisUpdate.Equal(t0) || h.ListDigest != res.ListDigest {
		t.Errorf("header %+v", h)
	}
	ix := readIndex(t, dir, keys)
	if ix.Serial != 1 || ix.Full != indexFile(res.Full) || len(ix.Deltas) != 0 {
		t.Errorf("index %+v", ix)
	}
	checkFiles(t, dir, ix)
	var rec *AuditRecord
	r.AuditList(AuditFilter{Action: ActionPublish}, func(a *AuditRecord) error { rec = a; return nil })
	if rec == nil || rec.Serial != 1 || rec.ListDigest != Hash(res.ListDigest) {
		t.Errorf("publish audit record %+v", rec)
	}
	mustVerify(t, r)
}

// publisher publishes and checks each publication the way a verifier
// would: every delta applied to its base's full list gives the new full.
type publisher struct {
	t     *testing.T
	r     *Registry
	c     *clock
	dir   string
	keep  int
	fulls map[uint64][]crl.Entry
}

func (p *publisher) publish() *PublishResult {
	t := p.t
	t.Helper()
	key, keys := testKey(t)
	p.c.t = p.c.t.Add(time.Hour)
	res, err := p.r.Publish(p.dir, key, &PublishOptions{Now: p.c.t, KeepSerials: p.keep})
	if err != nil {
		t.Fatal(err)
	}
	h, ups, _ := readSnapshot(t, filepath.Join(p.dir, res.Full.Name), keys)
	if h.ListDigest != res.ListDigest || !slices.Equal(ups, entries(t, p.r, p.c.t)) {
		t.Fatalf("serial %d: full snapshot differs from the registry", res.Serial)
	}
	p.fulls[res.Serial] = ups
	ix := readIndex(t, p.dir, keys)
	checkFiles(t, p.dir, ix)
	for _, d := range ix.Deltas {
		h, dups, drms := readSnapshot(t, filepath.Join(p.dir, d.Name), keys)
		if got := applyDelta(p.fulls[d.BaseSerial], dups, drms); !slices.Equal(got, ups) {
			t.Fatalf("serial %d: base %d + delta gives\n%+v\nwant\n%+v", res.Serial, d.BaseSerial, got, ups)
		}
		if h.ListDigest != res.ListDigest || h.ListCount != uint64(len(ups)) {
			t.Fatalf("delta %s header list digest/count %v %d", d.Name, h.ListDigest, h.ListCount)
		}
	}
	return res
}

func TestPublishDeltas(t *testing.T) {
	r, c := openTest(t)
	r.AddIssuers("moh")
	p := &publisher{t: t, r: r, c: c, dir: t.TempDir(), keep: 4, fulls: map[uint64][]crl.Entry{}}
	for i := range 20 {
		rv(t, r, "moh", fmt.Sprint("base-", i), crl.ReasonDataError, c.t, 0)
	}
	p.publish() // 1
	rv(t, r, "moh", "new-1", crl.ReasonTampering, c.t, 0)
	rv(t, r, "moh", "base-1", crl.ReasonSuperseded, c.t, 0) // changed
	lift(t, r, "moh", "base-2")                             // removed
	rv(t, r, "moh", "susp-1", crl.ReasonCertificateHold, c.t, 72*time.Hour)
	res := p.publish() // 2
	if len(res.Deltas) != 1 || res.Deltas[0].Upserts != 3 || res.Deltas[0].Removals != 1 {
		t.Fatalf("serial 2 deltas %+v", res.Deltas)
	}
	lift(t, r, "moh", "susp-1") // lift a suspension
	rv(t, r, "moh", "base-2", crl.ReasonDataError, c.t, 0)
	rv(t, r, "moh", "flip", crl.ReasonDataError, c.t, 0) // added and removed within one serial: no change
	lift(t, r, "moh", "flip")
	p.publish()       // 3
	res = p.publish() // 4: nothing changed, empty deltas
	if len(res.Deltas) != 3 || res.Deltas[0].Upserts+res.Deltas[0].Removals != 0 {
		t.Fatalf("serial 4 deltas %+v", res.Deltas)
	}
	rv(t, r, "moh", "susp-2", crl.ReasonCertificateHold, c.t.Add(-time.Hour), 3*time.Hour) // ends within the next two publications
	res = p.publish()                                                                      // 5
	if len(res.Deltas) != 4 || res.Deltas[0].BaseSerial != 4 || res.Deltas[3].BaseSerial != 1 {
		t.Fatalf("serial 5 deltas from %v, want 4 3 2 1", res.Deltas)
	}
	res = p.publish() // 6: susp-2's suspension has ended: it leaves the list
	if res.Expired != 1 || res.Deltas[0].BaseSerial != 5 || res.Deltas[0].Removals != 1 {
		t.Fatalf("serial 6 %+v", res)
	}
	res = p.publish() // 7: serial 3 falls out; its files are pruned
	if !slices.Contains(res.Pruned, snapshot.FullName(3)) {
		t.Errorf("serial 7 pruned %v", res.Pruned)
	}
	names, _ := filepath.Glob(filepath.Join(p.dir, "*"))
	for _, n := range names {
		if s, ok := parseName(filepath.Base(n)); ok && s < 4 {
			t.Errorf("file %s of a pruned serial left", n)
		}
		if strings.HasSuffix(n, tempSuffix) {
			t.Errorf("temporary file %s left", n)
		}
	}
	mustVerify(t, r)
}

// A suspension stays listed until it ends and leaves the next list
// published after its end, as a removal in the deltas.
func TestPublishDropsExpiredSuspensions(t *testing.T) {
	r, c := openTest(t)
	p := &publisher{t: t, r: r, c: c, dir: t.TempDir(), keep: 3, fulls: map[uint64][]crl.Entry{}}
	rv(t, r, "moh", "perm", crl.ReasonDataError, c.t, 0)
	rv(t, r, "moh", "short", 0, c.t, 90*time.Minute)
	rv(t, r, "moh", "long", 0, c.t, 30*24*time.Hour)
	if res := p.publish(); res.ListCount != 3 { // t0+1h
		t.Fatalf("serial 1 %+v", res)
	}
	res := p.publish() // t0+2h: "short" ended at t0+1h30
	if res.ListCount != 2 || res.Expired != 1 || len(res.Deltas) != 1 || res.Deltas[0].Removals != 1 {
		t.Fatalf("serial 2 %+v", res)
	}
	if res := p.publish(); res.ListCount != 2 || res.Deltas[0].Removals != 0 || res.Deltas[1].Removals != 1 {
		t.Fatalf("serial 3 %+v", res)
	}
}

// A mass lifting makes the delta larger than the new full list: the delta
// is not written and the index offers only the full.
func TestPublishSkipsDeltaLargerThanFull(t *testing.T) {
	r, _ := openTest(t)
	key, keys := testKey(t)
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("id,issuer,revoked_at\n")
	for i := range 500 {
		fmt.Fprintf(&b, "%d,moh,2026-01-01\n", i)
	}
	if _, err := r.ImportRevocations(ctx, strings.NewReader(b.String()), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Publish(dir, key, &PublishOptions{Now: t0}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i < 500; i++ {
		lift(t, r, "moh", fmt.Sprint(i))
	}
	res, err := r.Publish(dir, key, &PublishOptions{Now: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deltas) != 0 || !slices.Equal(res.Skipped, []uint64{1}) {
		t.Fatalf("deltas %+v skipped %v", res.Deltas, res.Skipped)
	}
	if ix := readIndex(t, dir, keys); len(ix.Deltas) != 0 || ix.Serial != 2 {
		t.Fatalf("index %+v", ix)
	}
	if _, err := os.Stat(filepath.Join(dir, snapshot.DeltaName(1, 2))); !os.IsNotExist(err) {
		t.Errorf("skipped delta file exists: %v", err)
	}
}

func TestPublishNamesAndTimes(t *testing.T) {
	r, _ := openTest(t)
	key, keys := testKey(t)
	dir := t.TempDir()
	if _, err := r.Publish(dir, key, nil); !errors.Is(err, ErrPublisherRequired) {
		t.Fatalf("publish of an empty registry with no name: %v", err)
	}
	r.AddIssuers("did:example:moh")
	res, err := r.Publish(dir, key, &PublishOptions{Now: t0, NextUpdate: 6 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if res.Publisher != "did:example:moh" || res.ListCount != 0 || !res.NextUpdate.Equal(t0.Add(6*time.Hour)) {
		t.Errorf("%+v", res)
	}
	if _, err := r.Publish(dir, key, &PublishOptions{Publisher: "someone else"}); !errors.Is(err, ErrPublisherChanged) {
		t.Errorf("renaming the publisher: %v", err)
	}
	for _, o := range []*PublishOptions{{NextUpdate: -time.Second}, {NextUpdate: time.Millisecond}, {KeepSerials: -1}, {Now: time.Unix(-5, 0)}} {
		if _, err := r.Publish(dir, key, o); !errors.Is(err, ErrInvalid) {
			t.Errorf("Publish(%+v) = %v, want ErrInvalid", o, err)
		}
	}
	// The clock went back an hour: this-update stays where it was.
	res, err = r.Publish(dir, key, &PublishOptions{Now: t0.Add(-time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Serial != 2 || !res.ThisUpdate.Equal(t0) || res.Publisher != "did:example:moh" {
		t.Errorf("%+v", res)
	}
	// A directory already holding a later serial (the registry was restored
	// from an old backup): the serial jumps past it.
	os.WriteFile(filepath.Join(dir, snapshot.FullName(40)), []byte("x"), 0o644)
	res, err = r.Publish(dir, key, &PublishOptions{Now: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Serial != 41 {
		t.Errorf("serial %d, want 41", res.Serial)
	}
	if ix := readIndex(t, dir, keys); ix.Serial != 41 {
		t.Errorf("index serial %d", ix.Serial)
	}
}

// A publication that fails before the index keeps the old index and its
// files, leaves no temporary files, and does not use up the serial.
func TestPublishFailureKeepsOldIndex(t *testing.T) {
	r, _ := openTest(t)
	key, keys := testKey(t)
	dir := t.TempDir()
	rv(t, r, "moh", "1", 0, t0, 0)
	if _, err := r.Publish(dir, key, &PublishOptions{Now: t0}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, snapshot.IndexName))
	rv(t, r, "moh", "2", 0, t0, 0)
	// A directory where the delta file should go makes its rename fail.
	os.Mkdir(filepath.Join(dir, snapshot.DeltaName(1, 2)), 0o755)
	os.WriteFile(filepath.Join(dir, snapshot.DeltaName(1, 2), "x"), nil, 0o644)
	if _, err := r.Publish(dir, key, &PublishOptions{Now: t0.Add(time.Hour)}); err == nil {
		t.Fatal("publish succeeded")
	}
	after, _ := os.ReadFile(filepath.Join(dir, snapshot.IndexName))
	if string(before) != string(after) {
		t.Fatal("index changed by a failed publication")
	}
	checkFiles(t, dir, readIndex(t, dir, keys))
	if _, err := os.Stat(filepath.Join(dir, snapshot.FullName(2))); !os.IsNotExist(err) {
		t.Errorf("%s of the failed publication left behind", snapshot.FullName(2))
	}
	// The lock file stays (removing it would let two publications hold
	// two different files); nothing else does.
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".crlverify-*"+tempSuffix)); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	if s, _ := r.Stats(); s.LastSerial != 1 {
		t.Errorf("stats after failure %+v", s)
	}
	// Once the obstacle is gone the change goes out.
	os.RemoveAll(filepath.Join(dir, snapshot.DeltaName(1, 2)))
	res, err := r.Publish(dir, key, &PublishOptions{Now: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Serial != 2 || res.ListCount != 2 || len(res.Deltas) != 1 || res.Deltas[0].BaseSerial != 1 || res.Deltas[0].Upserts != 1 {
		t.Errorf("%+v", res)
	}
}

// Revocations made while publications run land in exactly one serial:
// every delta, applied to its base, still gives the next full list.
func TestPublishWhileRevoking(t *testing.T) {
	r, _ := openTest(t)
	key, keys := testKey(t)
	dir := t.TempDir()
	r.AddIssuers("moh")
	stop := make(chan struct{})
	done := make(chan error)
	go func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: fmt.Sprint(i)}, Actor: "loop"}); err != nil {
				done <- err
				return
			}
			if i%4 == 3 {
				if _, err := r.Lift(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: fmt.Sprint(i - 2)}, Actor: "loop"}); err != nil {
					done <- err
					return
				}
			}
		}
	}()
	fulls := map[uint64][]crl.Entry{}
	for range 8 {
		res, err := r.Publish(dir, key, &PublishOptions{KeepSerials: 2})
		if err != nil {
			t.Fatal(err)
		}
		_, ups, _ := readSnapshot(t, filepath.Join(dir, res.Full.Name), keys)
		fulls[res.Serial] = ups
		for _, d := range res.Deltas {
			_, dups, drms := readSnapshot(t, filepath.Join(dir, d.Name), keys)
			if got := applyDelta(fulls[d.BaseSerial], dups, drms); !slices.Equal(got, ups) {
				t.Fatalf("serial %d: base %d + delta has %d entries, full %d", res.Serial, d.BaseSerial, len(got), len(ups))
			}
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	mustVerify(t, r)
}

// Two certificates whose keys collide share one list entry, which stays
// as strong as the stronger holder until both are lifted.
func TestKeyCollision(t *testing.T) {
	r, _ := openTest(t)
	r.fastKeys = false
	r.keyOf = func(issuer, id string) crl.Key {
		if id == "a" || id == "b" {
			return 42
		}
		return crl.KeyOf(issuer, id)
	}
	list := func() []crl.Entry {
		es := entries(t, r, t0)
		for i := range es {
			es[i].Key = 0
		}
		return es
	}
	rv(t, r, "i", "a", 0, t0, time.Hour)
	perm := rv(t, r, "i", "b", crl.ReasonTampering, t0.Add(time.Minute), 0)
	if got, want := list(), []crl.Entry{{RevokedAt: perm.RevokedAt, Reason: crl.ReasonTampering}}; !slices.Equal(got, want) {
		t.Fatalf("two holders: list %+v, want %+v", got, want)
	}
	lift(t, r, "i", "b")
	if got, want := list(), []crl.Entry{{RevokedAt: t0.Unix(), Reason: crl.ReasonCertificateHold, SuspendedUntil: t0.Add(time.Hour).Unix()}}; !slices.Equal(got, want) {
		t.Fatalf("after lifting the permanent holder: %+v, want %+v", got, want)
	}
	lift(t, r, "i", "a")
	if got := list(); len(got) != 0 {
		t.Fatalf("after lifting both: %+v", got)
	}
	mustVerify(t, r)
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
