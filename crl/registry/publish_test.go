package registry

import (
	"bufio"
	"crypto/ed25519"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// testKey is a fixed Ed25519 signing key and the verifier's view of it.
func testKey(t testing.TB) (jwk.Key, snapshot.Keys) {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "crlverify registry test key seed")
	key, err := snapshot.KeyFromRaw(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	set, err := snapshot.PublicSet(key)
	if err != nil {
		t.Fatal(err)
	}
	return key, snapshot.KeysFromSet(set)
}

// readSnapshot decodes a published snapshot file completely.
func readSnapshot(t testing.TB, path string, keys snapshot.Keys) (*snapshot.Header, []crl.Entry, []crl.Key) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	h, err := snapshot.ReadHeader(br, keys, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rd := snapshot.NewBodyReader(br, h, nil)
	var ups []crl.Entry
	var rms []crl.Key
	for {
		e, removed, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if removed {
			rms = append(rms, e.Key)
		} else {
			ups = append(ups, e)
		}
	}
	return h, ups, rms
}

func readIndex(t testing.TB, dir string, keys snapshot.Keys) *snapshot.Index {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, snapshot.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ix, err := snapshot.ReadIndex(f, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// listOf returns what a list should hold for these revocations.
func listOf(revs ...Revocation) []crl.Entry {
	var out []crl.Entry
	for _, rv := range revs {
		out = append(out, rv.Entry())
	}
	slices.SortFunc(out, func(a, b crl.Entry) int { return compareKeys(a.Key, b.Key) })
	return out
}

func compareKeys(a, b crl.Key) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
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
	revs := []Revocation{
		{Issuer: issuer, ID: "CERT-1", Reason: crl.ReasonDataError, RevokedAt: t0.Add(-48 * time.Hour)},
		{Issuer: issuer, ID: "CERT-2", Reason: crl.ReasonSuperseded, RevokedAt: t0.Add(-24 * time.Hour)},
		{Issuer: "did:example:state", ID: "CERT-3", Reason: crl.ReasonCertificateHold, RevokedAt: t0.Add(-time.Hour), SuspendedUntil: t0.Add(7 * 24 * time.Hour)},
	}
	if _, err := r.RevokeBatch(revs); err != nil {
		t.Fatal(err)
	}
	res, err := r.Publish(dir, key, &PublishOptions{Publisher: "Example Health Authority", Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	if res.Serial != 1 || res.ListCount != 3 || len(res.Deltas) != 0 || !res.NextUpdate.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("result %+v", res)
	}
	h, ups, rms := readSnapshot(t, filepath.Join(dir, snapshot.FullName(1)), keys)
	if !slices.Equal(ups, listOf(revs...)) || len(rms) != 0 {
		t.Errorf("full snapshot entries\n%+v\nwant\n%+v", ups, listOf(revs...))
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
}

// checkFiles verifies that every file the index names exists with the
// length and digest the index gives.
func checkFiles(t testing.TB, dir string, ix *snapshot.Index) {
	t.Helper()
	for _, f := range append([]snapshot.IndexFile{ix.Full}, ix.Deltas...) {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatalf("index names %s: %v", f.Name, err)
		}
		if int64(len(b)) != f.Length || snapshot.Digest(sha256Sum(b)) != f.Digest {
			t.Fatalf("%s: %d bytes, index says %d (or digest differs)", f.Name, len(b), f.Length)
		}
	}
}

// Every delta the publisher writes, applied to the full list of its base,
// gives exactly the new full list.
func TestPublishDeltas(t *testing.T) {
	r, c := openTest(t)
	key, keys := testKey(t)
	dir := t.TempDir()
	r.AddIssuers("moh")
	fulls := map[uint64][]crl.Entry{}
	publish := func() *PublishResult {
		t.Helper()
		c.t = c.t.Add(time.Hour)
		res, err := r.Publish(dir, key, &PublishOptions{Now: c.t, KeepSerials: 4})
		if err != nil {
			t.Fatal(err)
		}
		h, ups, _ := readSnapshot(t, filepath.Join(dir, res.Full.Name), keys)
		if h.ListDigest != res.ListDigest || !slices.Equal(ups, entries(t, r)) {
			t.Fatalf("serial %d: full snapshot differs from the registry", res.Serial)
		}
		fulls[res.Serial] = ups
		ix := readIndex(t, dir, keys)
		checkFiles(t, dir, ix)
		for _, d := range ix.Deltas {
			h, dups, drms := readSnapshot(t, filepath.Join(dir, d.Name), keys)
			got := applyDelta(fulls[d.BaseSerial], dups, drms)
			if !slices.Equal(got, ups) {
				t.Fatalf("serial %d: base %d + delta gives\n%+v\nwant\n%+v", res.Serial, d.BaseSerial, got, ups)
			}
			if h.ListDigest != res.ListDigest || h.ListCount != uint64(len(ups)) {
				t.Fatalf("delta %s header list digest/count %v %d", d.Name, h.ListDigest, h.ListCount)
			}
			if want, _ := snapshot.ParseDigest(fmt.Sprint(mustPublished(t, r, d.BaseSerial).ListDigest)); h.BaseDigest != want {
				t.Fatalf("delta %s base digest %v, want %v", d.Name, h.BaseDigest, want)
			}
		}
		return res
	}
	rv := func(id string, reason crl.Reason, until time.Duration) Revocation {
		x := Revocation{Issuer: "moh", ID: id, Reason: reason, RevokedAt: c.t}
		if until != 0 {
			x.SuspendedUntil = c.t.Add(until)
		}
		return x
	}
	for i := range 20 {
		r.Revoke(rv(fmt.Sprint("base-", i), crl.ReasonDataError, 0))
	}
	publish() // 1
	r.Revoke(rv("new-1", crl.ReasonTampering, 0))
	r.Revoke(rv("base-1", crl.ReasonSuperseded, 0)) // changed
	r.Unrevoke("moh", "base-2")                     // removed
	r.Revoke(rv("susp-1", crl.ReasonCertificateHold, 72*time.Hour))
	res := publish() // 2
	if len(res.Deltas) != 1 || res.Deltas[0].Upserts != 3 || res.Deltas[0].Removals != 1 {
		t.Fatalf("serial 2 deltas %+v", res.Deltas)
	}
	r.Unrevoke("moh", "susp-1") // lift a suspension
	r.Revoke(rv("base-2", crl.ReasonDataError, 0))
	r.Revoke(rv("flip", crl.ReasonDataError, 0)) // added and removed within one serial: no change
	r.Unrevoke("moh", "flip")
	publish() // 3
	publish() // 4: nothing changed, empty deltas
	r.Revoke(rv("base-3", crl.ReasonCertificateHold, time.Hour))
	res = publish() // 5
	if len(res.Deltas) != 4 || res.Deltas[0].BaseSerial != 4 || res.Deltas[3].BaseSerial != 1 {
		t.Fatalf("serial 5 deltas from %v, want 4 3 2 1", res.Deltas)
	}
	res = publish() // 6: serial 1 falls out; its files are pruned
	if len(res.Deltas) != 4 || res.Deltas[3].BaseSerial != 2 {
		t.Fatalf("serial 6 deltas %+v", res.Deltas)
	}
	if !slices.Contains(res.Pruned, snapshot.FullName(2)) || slices.Contains(res.Pruned, snapshot.FullName(3)) {
		t.Errorf("serial 6 pruned %v", res.Pruned)
	}
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	for _, n := range names {
		if s, ok := parseName(filepath.Base(n)); ok && s < 3 {
			t.Errorf("file %s of a pruned serial left", n)
		}
		if strings.HasSuffix(n, tempSuffix) {
			t.Errorf("temporary file %s left", n)
		}
	}
	// The change log behind serial 2 is gone; later ones remain.
	ok, _ := r.Changes(1, func(Change) error { return nil })
	if ok {
		t.Error("change log still reaches serial 1")
	}
	ok, _ = r.Changes(5, func(Change) error { return nil })
	if !ok {
		t.Error("change log does not reach serial 5")
	}
}

func mustPublished(t testing.TB, r *Registry, serial uint64) Published {
	t.Helper()
	ps, err := r.PublishedSerials()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if p.Serial == serial {
			return p
		}
	}
	t.Fatalf("serial %d not recorded", serial)
	return Published{}
}

// A mass lifting makes the delta larger than the new full list: the delta
// is not written and the index offers only the full.
func TestPublishSkipsDeltaLargerThanFull(t *testing.T) {
	r, _ := openTest(t)
	key, keys := testKey(t)
	dir := t.TempDir()
	var revs []Revocation
	for i := range 500 {
		revs = append(revs, Revocation{Issuer: "moh", ID: fmt.Sprint(i), RevokedAt: t0})
	}
	r.RevokeBatch(revs)
	if _, err := r.Publish(dir, key, &PublishOptions{Now: t0}); err != nil {
		t.Fatal(err)
	}
	for _, rv := range revs[1:] {
		r.Unrevoke("moh", rv.ID)
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
	r.Revoke(Revocation{Issuer: "moh", ID: "1", RevokedAt: t0})
	if _, err := r.Publish(dir, key, &PublishOptions{Now: t0}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, snapshot.IndexName))
	r.Revoke(Revocation{Issuer: "moh", ID: "2", RevokedAt: t0})
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
	for _, n := range []string{snapshot.FullName(2)} {
		if _, err := os.Stat(filepath.Join(dir, n)); !os.IsNotExist(err) {
			t.Errorf("%s of the failed publication left behind", n)
		}
	}
	if tmp, _ := filepath.Glob(filepath.Join(dir, ".crlverify-*")); len(tmp) != 0 {
		t.Errorf("temporary files left: %v", tmp)
	}
	if s, _ := r.Stats(); s.LastSerial != 1 || s.PendingChanges != 1 {
		t.Errorf("stats after failure %+v", s)
	}
	// Once the obstacle is gone the change goes out.
	os.RemoveAll(filepath.Join(dir, snapshot.DeltaName(1, 2)))
	res, err := r.Publish(dir, key, &PublishOptions{Now: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if res.ListCount != 2 || len(res.Deltas) != 1 || res.Deltas[0].BaseSerial != 1 {
		t.Errorf("%+v", res)
	}
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }

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
			if _, err := r.Revoke(Revocation{Issuer: "moh", ID: fmt.Sprint(i)}); err != nil {
				done <- err
				return
			}
			if i%4 == 3 {
				if err := r.Unrevoke("moh", fmt.Sprint(i-2)); err != nil {
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
}
