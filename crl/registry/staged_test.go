package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl"
)

// A revocation import leaves the registry as the same changes made one
// request at a time do: the same records, list, chronological listing,
// counters and next delta, whatever the registry held before (records of
// the same certificates, list keys two certificates share), over many
// transactions.
func TestImportRevocationsMatchesRequests(t *testing.T) {
	defer func(n int) { bulkChunk = n }(bulkChunk)
	bulkChunk = 40 // a step per few blocks
	key, keys := testKey(t)
	open := func() (*Registry, *clock, string) {
		r, c := openTest(t)
		r.fastKeys = false
		r.keyOf = func(issuer, id string) crl.Key {
			if strings.HasSuffix(id, "7") {
				return crl.Key(len(id) % 5) // a few list keys shared by many
			}
			return crl.KeyOf(issuer, id)
		}
		return r, c, t.TempDir()
	}
	a, ca, dirA := open()
	b, cb, dirB := open()
	publish := func(r *Registry, c *clock, dir string) *PublishResult {
		t.Helper()
		res, err := r.Publish(dir, key, &PublishOptions{Publisher: "Example Health Authority", Now: c.t})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}

	rng := rand.New(rand.NewPCG(3, 4))
	const n = 1200
	issuers := []string{"moh", "state"}
	id := func(i int) (string, string) { return issuers[i%2], fmt.Sprintf("C-%d", i) }
	revokedForGood := map[int]bool{}
	// The registry before: the same records in both, published.
	for i := range n {
		if rng.IntN(3) > 0 {
			continue
		}
		is, cid := id(i)
		at := t0.Add(-time.Duration(rng.IntN(1000)) * time.Hour)
		for _, r := range []*Registry{a, b} {
			switch i % 4 {
			case 0:
				rv(t, r, is, cid, crl.ReasonKeyCompromise, at, 0)
			case 1:
				rv(t, r, is, cid, 0, at, 90*24*time.Hour)
			case 2:
				rv(t, r, is, cid, crl.ReasonDataError, at, 0)
				lift(t, r, is, cid)
			case 3:
				rv(t, r, is, cid, 0, at, time.Hour) // over
			}
		}
		revokedForGood[i] = i%4 == 0
	}
	publish(a, ca, dirA)
	publish(b, cb, dirB)
	ca.t, cb.t = ca.t.Add(time.Hour), cb.t.Add(time.Hour)

	// The same changes: an import into a, requests into b.
	var in strings.Builder
	in.WriteString("id,issuer,reason,revoked_at,suspended_until\n")
	type change struct {
		reason    string
		at, until int64
	}
	last := map[int]change{}
	reasons := []string{"", "dataError", "tampering", "superseded", "10"}
	for range 3 * n {
		i := rng.IntN(n)
		c := change{reason: reasons[rng.IntN(len(reasons))]}
		if rng.IntN(3) > 0 {
			c.at = t0.Add(-time.Duration(rng.IntN(500)) * time.Hour).Unix()
		}
		if rng.IntN(4) == 0 && !revokedForGood[i] {
			c.reason = ""
			c.until = t0.Add(time.Duration(2+rng.IntN(500)) * time.Hour).Unix()
		}
		is, cid := id(i)
		fmt.Fprintf(&in, "%s,%s,%s,%s,%s\n", cid, is, c.reason, unixField(c.at), unixField(c.until))
		last[i] = c
	}
	res, err := a.ImportRevocations(ctx, strings.NewReader(in.String()), nil)
	if err != nil {
		t.Fatal(err)
	}
	changed := 0
	for _, i := range slices.Sorted(maps.Keys(last)) {
		c := last[i]
		is, cid := id(i)
		reason, err := crl.ParseReason(c.reason)
		if err != nil {
			t.Fatal(err)
		}
		q := Request{Selector: Selector{Issuer: is, CertificateID: cid}, Actor: "test", Reason: reason, At: fromUnix(c.at), Until: fromUnix(c.until)}
		var out Outcome
		if c.until != 0 {
			out, err = b.Suspend(ctx, q)
		} else {
			out, err = b.Revoke(ctx, q)
		}
		if err != nil {
			t.Fatalf("%s: %v", cid, err)
		}
		changed += out.Changed
	}
	if res.Changed != int64(changed) || res.Changed+res.Unchanged != int64(len(last)) || res.AuditSeq == 0 {
		t.Errorf("import %+v; requests changed %d of %d", res, changed, len(last))
	}

	sa, _ := a.Stats()
	sb, _ := b.Stats()
	if sa.Revoked != sb.Revoked || sa.Suspended != sb.Suspended || sa.Lifted != sb.Lifted {
		t.Errorf("counters: import %+v, requests %+v", sa, sb)
	}
	if ea, eb := entries(t, a, ca.t), entries(t, b, cb.t); !slices.Equal(ea, eb) {
		t.Errorf("lists differ: %d and %d entries", len(ea), len(eb))
	}
	if la, lb := listAll(t, a, ca.t), listAll(t, b, cb.t); !slices.Equal(la, lb) {
		t.Errorf("chronological listings differ: %d and %d", len(la), len(lb))
	}
	for i := range n {
		is, cid := id(i)
		x, _ := a.Status(is, cid, ca.t)
		y, _ := b.Status(is, cid, cb.t)
		x.LastChange, y.LastChange = 0, 0
		if x != y {
			t.Fatalf("%s: import %+v, requests %+v", cid, x, y)
		}
	}
	pa, pb := publish(a, ca, dirA), publish(b, cb, dirB)
	if len(pa.Deltas) != 1 || len(pb.Deltas) != 1 {
		t.Fatalf("deltas %+v and %+v", pa.Deltas, pb.Deltas)
	}
	_, ua, ra := readSnapshot(t, filepath.Join(dirA, pa.Deltas[0].Name), keys)
	_, ub, rb := readSnapshot(t, filepath.Join(dirB, pb.Deltas[0].Name), keys)
	if !slices.Equal(ua, ub) || !slices.Equal(ra, rb) || len(ua)+len(ra) == 0 {
		t.Errorf("deltas differ: %d+%d and %d+%d", len(ua), len(ra), len(ub), len(rb))
	}
	mustVerify(t, a)
	mustVerify(t, b)

	// Again: nothing changes, and nothing is recorded.
	head, _, _ := a.AuditHead()
	res, err = a.ImportRevocations(ctx, strings.NewReader(in.String()), nil)
	if h, _, _ := a.AuditHead(); err != nil || res.Changed != 0 || res.Unchanged != int64(len(last)) || res.AuditSeq != 0 || h != head {
		t.Errorf("again: %+v %v, head %d -> %d", res, err, head, h)
	}
}

func unixField(s int64) string {
	if s == 0 {
		return ""
	}
	return fmt.Sprint(s)
}

// listAll is the chronological listing, without the audit references.
func listAll(t *testing.T, r *Registry, at time.Time) []RevocationRecord {
	t.Helper()
	var out []RevocationRecord
	q := RevocationQuery{At: at, Limit: 500}
	for {
		page, next, err := r.Revocations(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range page {
			x.LastChange = 0
			out = append(out, x)
		}
		if next == "" {
			return out
		}
		q.Cursor = next
	}
}

// An import that stops while staging (a crash before its commit) leaves
// the registry as it was; the next process removes what it staged, and the
// import then goes through.
func TestImportRevocationsCrashWhileStaging(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	r, err := Open(path, &Options{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	r.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: "X-1"}, Actor: "test", Reason: crl.ReasonDataError})
	var b strings.Builder
	b.WriteString("id,issuer,reason\n")
	const rows = 150_000 // staged over two transactions
	for i := range rows {
		fmt.Fprintf(&b, "X-%d,moh,dataError\n", i)
	}
	before, _ := r.Stats()
	digest, _ := tablesDigest(t, r)
	head, _, _ := r.AuditHead()
	crashAt(r, "stage", 1)
	crashed(t, func() { r.ImportRevocations(ctx, strings.NewReader(b.String()), nil) })
	r.stepHook = nil
	r.Close()

	r, err = Open(path, &Options{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	after, _ := r.Stats()
	after.FileBytes = before.FileBytes
	if h, _, _ := r.AuditHead(); after != before || h != head {
		t.Fatalf("after a crash while staging: %+v (was %+v), head %d (was %d)", after, before, h, head)
	}
	if d, n := tablesDigest(t, r); d != digest || n != 0 {
		t.Fatalf("after a crash while staging: the tables changed, or %d staging tables are left", n)
	}
	mustVerify(t, r)
	res, err := r.ImportRevocations(ctx, strings.NewReader(b.String()), nil)
	if err != nil || res.Changed != rows-1 || res.Unchanged != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	if s, _ := r.Stats(); s.Revoked != rows {
		t.Fatalf("%+v", s)
	}
	mustVerify(t, r)
}

// TestRevocationImportSurvivesKill kills a process importing revocation
// files (each new revocations, and changes to some of the file before).
// After every kill the registry opens, finishes what was committed, its
// audit trail verifies, and each import is there whole or not at all.
func TestRevocationImportSurvivesKill(t *testing.T) {
	if arg := os.Getenv(killEnv); arg != "" {
		revImportLoop(t, arg)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	regPath := filepath.Join(t.TempDir(), "registry.db")
	rng := rand.New(rand.NewPCG(7, 8))
	total := uint64(0)
	for round := range 5 {
		runKilled(t, "TestRevocationImportSurvivesKill", regPath+"|"+strconv.Itoa(round), "ready", rng, 2*time.Second)
		r, err := Open(regPath, nil)
		if err != nil {
			t.Fatalf("round %d: open after the kill: %v", round, err)
		}
		if _, err := r.VerifyAudit(); err != nil {
			t.Fatalf("round %d: audit verify after the kill: %v", round, err)
		}
		imports := 0
		r.AuditList(AuditFilter{Action: ActionRevoke}, func(a *AuditRecord) error {
			want := uint64(killRevRows)
			if !strings.HasSuffix(a.Source, "-0") {
				want += killRevChanges
			}
			if a.ItemCount != want {
				t.Errorf("round %d: import record %d (%s) has %d items, want %d", round, a.Seq, a.Source, a.ItemCount, want)
			}
			if strings.HasPrefix(a.Source, fmt.Sprintf("R%d-", round)) {
				imports++
			}
			return nil
		})
		total += uint64(imports) * killRevRows
		s, _ := r.Stats()
		if s.Revoked != total {
			t.Fatalf("round %d: %d revoked, want %d", round, s.Revoked, total)
		}
		if got := listAll(t, r, time.Now()); uint64(len(got)) != total {
			t.Fatalf("round %d: %d listed, want %d", round, len(got), total)
		}
		r.Close()
		t.Logf("round %d: %d imports", round, imports)
	}
}

const (
	killRevRows    = 20_000
	killRevChanges = 500
)

func revImportLoop(t *testing.T, arg string) {
	path, round, _ := strings.Cut(arg, "|")
	r, err := Open(path, &Options{Actor: "loop", LockAttempts: 500})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	for i := 0; ; i++ {
		var b strings.Builder
		b.WriteString("id,issuer,reason,revoked_at\n")
		for j := range killRevRows {
			fmt.Fprintf(&b, "R%s-F%d-%d,moh,dataError,%d\n", round, i, j, 1735689600+(i*killRevRows+j)*61)
		}
		if i > 0 {
			for j := range killRevChanges {
				fmt.Fprintf(&b, "R%s-F%d-%d,moh,tampering,%d\n", round, i-1, j*7, 1735689600+j)
			}
		}
		src := fmt.Sprintf("R%s-%d", round, i)
		if _, err := r.ImportRevocations(context.Background(), strings.NewReader(b.String()), &ImportOptions{Source: src}); err != nil {
			t.Fatal(err)
		}
		fmt.Println("imported", i)
	}
}

// tablesDigest hashes what the registry's tables hold (but the counter of
// staging table ids), and counts the staging tables.
func tablesDigest(t *testing.T, r *Registry) (Hash, int) {
	t.Helper()
	h := sha256.New()
	stages := 0
	if err := r.view(func(x *txc) error {
		for _, name := range [][]byte{bucketState, bucketItems, bucketChanges, bucketChrono, bucketAudit, bucketMeta, bucketIssuers} {
			fmt.Fprintf(h, "%s\n", name)
			if err := x.tx.Bucket(name).ForEach(func(k, v []byte) error {
				if !bytes.Equal(k, metaNextID) { // ids of staging tables
					fmt.Fprintf(h, "%x=%x\n", k, v)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return x.tx.Bucket(bucketStage).ForEach(func([]byte, []byte) error { stages++; return nil })
	}); err != nil {
		t.Fatal(err)
	}
	var d Hash
	h.Sum(d[:0])
	return d, stages
}

// An import refused by a rule at its last list key, after blocks went
// into the tables, leaves them as they were.
func TestImportRevocationsRefusedLate(t *testing.T) {
	r, _ := openTest(t)
	// The certificate sorting last of a few hundred, revoked.
	last := ""
	for i := range 300 {
		id := fmt.Sprintf("R-%d", i)
		if last == "" || crl.KeyOf("moh", id) > crl.KeyOf("moh", last) {
			last = id
		}
	}
	if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: last}, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	before, stages := tablesDigest(t, r)
	var b strings.Builder
	b.WriteString("id,issuer,reason,revoked_at,suspended_until\n")
	const rows = 150_000 // staged over two transactions
	for i := range rows {
		fmt.Fprintf(&b, "X-%d,moh,dataError,,\n", i)
	}
	fmt.Fprintf(&b, "%s,moh,,,2030-01-01\n", last) // a revoked certificate cannot be suspended
	_, err := r.ImportRevocations(ctx, strings.NewReader(b.String()), nil)
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Rows) != 1 || ie.Rows[0].Line != rows+2 || !errors.Is(err, ErrRule) {
		t.Fatalf("err = %v", err)
	}
	if after, n := tablesDigest(t, r); after != before || n != stages {
		t.Fatalf("a refused import changed the tables (%d staging tables, was %d)", n, stages)
	}
	mustVerify(t, r)
}
