package registry

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// benchCSV returns n realistic rows: numeric certificate ids, two issuers,
// revocation times spread over two years, a mix of reasons and a few
// suspensions.
func benchCSV(n int) []byte {
	var b bytes.Buffer
	b.Grow(n * 48)
	b.WriteString("id,issuer,reason,revoked_at,suspended_until\n")
	const start = 1735689600 // 2025-01-01
	reasons := []string{"dataError", "superseded", "tampering", "faultyBatch", "keyCompromise"}
	x := uint64(0x9e3779b97f4a7c15)
	for i := range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		at := start + int64(x%(2*365*86400))
		issuer := "did:in:cowin"
		if i%10 == 0 {
			issuer = "did:in:state-health"
		}
		b.WriteString(strconv.Itoa(1_000_000_000 + i*7))
		b.WriteByte(',')
		b.WriteString(issuer)
		b.WriteByte(',')
		if i%50 == 0 {
			fmt.Fprintf(&b, "certificateHold,%d,%d\n", at, at+30*86400)
			continue
		}
		fmt.Fprintf(&b, "%s,%d,\n", reasons[x%uint64(len(reasons))], at)
	}
	return b.Bytes()
}

// BenchmarkImport1M imports 1,000,000 CSV rows into a fresh registry in one
// transaction.
func BenchmarkImport1M(b *testing.B) {
	n := benchN()
	in := benchCSV(n)
	b.SetBytes(int64(len(in)))
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		path := filepath.Join(dir, fmt.Sprintf("r%d.db", i))
		r, err := Open(path, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := r.Import(bytes.NewReader(in), &ImportOptions{Source: "bench.csv"})
		if err != nil || res.Changed != int64(n) {
			b.Fatal(res, err)
		}
		b.StopTimer()
		r.Close()
		if fi, err := os.Stat(path); err == nil {
			b.ReportMetric(float64(fi.Size())/float64(n), "file-bytes/row")
		}
		os.Remove(path)
		b.StartTimer()
	}
}

// benchN is the row count of the big benchmarks: 1,000,000, or
// CRLVERIFY_BENCH_N to profile with fewer.
func benchN() int {
	if v, err := strconv.Atoi(os.Getenv("CRLVERIFY_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return 1_000_000
}

// BenchmarkPublish1M publishes a registry of 1,000,000 revocations: the full
// snapshot, a delta from the previous serial with 1,000 changes, the index.
func BenchmarkPublish1M(b *testing.B) {
	n := benchN()
	r, err := Open(filepath.Join(b.TempDir(), "r.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Import(bytes.NewReader(benchCSV(n)), nil); err != nil {
		b.Fatal(err)
	}
	key, _ := testKey(b)
	dir := b.TempDir()
	opts := &PublishOptions{Publisher: "bench"}
	if _, err := r.Publish(dir, key, opts); err != nil {
		b.Fatal(err)
	}
	// Each round revokes 1000 more, untimed, then publishes; the publish
	// alone is what ms/publish reports (ns/op also counts the revocations).
	var res *PublishResult
	var publishing time.Duration
	round := 0
	for b.Loop() {
		round++
		var revs []Revocation
		for i := range 1000 {
			revs = append(revs, Revocation{Issuer: "did:in:cowin", ID: fmt.Sprintf("bench-%d-%d", round, i)})
		}
		if _, err := r.RevokeBatch(revs); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if res, err = r.Publish(dir, key, opts); err != nil {
			b.Fatal(err)
		}
		publishing += time.Since(start)
	}
	b.ReportMetric(float64(publishing.Milliseconds())/float64(round), "ms/publish")
	b.ReportMetric(float64(res.Full.Length)/float64(res.ListCount), "full-bytes/entry")
	if len(res.Deltas) > 0 {
		b.ReportMetric(float64(res.Deltas[0].Length), "delta-bytes")
	}
}
