package store

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// Benchmarks use synthetic but realistic lists: keys of real (issuer, id)
// pairs, revocation times spread over two years, DIVOC-like reasons and
// 2% suspensions. Files and stores are built once per size per process in
// a shared temporary directory.

var (
	benchOnce sync.Mutex
	benchDir  string
	benchKey  jwk.Key
	benchKeys snapshot.Keys
	benchIDs  = map[int]bool{}
)

// TestMain removes the benchmarks' shared files.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

func benchSetup(b *testing.B) string {
	benchOnce.Lock()
	defer benchOnce.Unlock()
	if benchDir == "" {
		d, err := os.MkdirTemp("", "crlverify-bench-")
		if err != nil {
			b.Fatal(err)
		}
		benchDir = d
		benchKey, err = snapshot.GenerateKey("")
		if err != nil {
			b.Fatal(err)
		}
		set, err := snapshot.PublicSet(benchKey)
		if err != nil {
			b.Fatal(err)
		}
		benchKeys = snapshot.KeysFromSet(set)
	}
	return benchDir
}

func benchID(i int) string { return "C" + strconv.Itoa(1_000_000_000+i) }

// idSlab holds n certificate ids of one length back to back in one string,
// the way a caller has the id it checks at hand: BenchmarkCheck then times
// the check, not fetching n separately allocated strings from memory.
type idSlab struct {
	s string
	w int
}

func newIDSlab(n int, id func(i int) string) idSlab {
	var sb strings.Builder
	w := -1
	for i := range n {
		s := id(i)
		if w < 0 {
			w = len(s)
			sb.Grow(n * w)
		}
		if len(s) != w {
			panic("idSlab: ids of different lengths")
		}
		sb.WriteString(s)
	}
	return idSlab{sb.String(), w}
}

func (l idSlab) id(i int) string { return l.s[i*l.w : (i+1)*l.w] }

// benchEntries returns n entries for ids benchID(0..n-1), sorted by key.
func benchEntries(n int) []crl.Entry {
	r := mrand.New(mrand.NewPCG(uint64(n), 42))
	es := make([]crl.Entry, n)
	base := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Unix()
	reasons := []crl.Reason{crl.ReasonSuperseded, crl.ReasonSuperseded, crl.ReasonDataError, crl.ReasonFaultyBatch, crl.ReasonTampering, crl.ReasonUnspecified}
	for i := range es {
		e := crl.Entry{Key: crl.KeyOf(issuer, benchID(i)), RevokedAt: base + r.Int64N(2*365*86400), Reason: reasons[r.IntN(len(reasons))]}
		if r.IntN(50) == 0 {
			e.Reason = crl.ReasonCertificateHold
			e.SuspendedUntil = e.RevokedAt + 1 + r.Int64N(90*86400)
		}
		es[i] = e
	}
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

func benchWrite(b *testing.B, path string, h *snapshot.Header, ups []crl.Entry, rems []crl.Key) {
	var body bytes.Buffer
	w := snapshot.NewBodyWriter(&body)
	for _, e := range ups {
		if err := w.Upsert(e); err != nil {
			b.Fatal(err)
		}
	}
	for _, k := range rems {
		if err := w.Remove(k); err != nil {
			b.Fatal(err)
		}
	}
	info, err := w.Close()
	if err != nil {
		b.Fatal(err)
	}
	h.Upserts, h.Removals, h.BodyLength, h.BodyDigest = info.Upserts, info.Removals, info.Length, info.Digest
	if h.Kind == snapshot.KindFull {
		h.ListDigest = info.Digest
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	if err := snapshot.WriteSnapshot(bw, h, benchKey, &body); err != nil {
		b.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

var benchThis = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// benchFiles writes full-<n>.crl (serial 1) and delta-<n>.crl (serial 2,
// 10k changes: 6k new, 2k changed, 2k removed) once.
func benchFiles(b *testing.B, n int) (full, delta string) {
	dir := benchSetup(b)
	full = filepath.Join(dir, fmt.Sprintf("full-%d.crl", n))
	delta = filepath.Join(dir, fmt.Sprintf("delta-%d.crl", n))
	benchOnce.Lock()
	defer benchOnce.Unlock()
	if benchIDs[n] {
		return full, delta
	}
	es := benchEntries(n)
	h := &snapshot.Header{Publisher: "ministry", Issuers: []string{issuer}, Serial: 1,
		ThisUpdate: benchThis, NextUpdate: benchThis.Add(7 * 24 * time.Hour), Kind: snapshot.KindFull, ListCount: uint64(n)}
	benchWrite(b, full, h, es, nil)
	base := h.ListDigest

	r := mrand.New(mrand.NewPCG(1, uint64(n)))
	next := map[crl.Key]crl.Entry{}
	for _, e := range es {
		next[e.Key] = e
	}
	var ups []crl.Entry
	var rems []crl.Key
	for i := range 6000 {
		e := crl.Entry{Key: crl.KeyOf(issuer, benchID(n+i)), RevokedAt: benchThis.Unix(), Reason: crl.ReasonFaultyBatch}
		next[e.Key] = e
		ups = append(ups, e)
	}
	for range 2000 {
		e := es[r.IntN(n)]
		e.Reason = crl.ReasonTampering
		next[e.Key] = e
		ups = append(ups, e)
	}
	for len(rems) < 2000 {
		k := es[r.IntN(n)].Key
		if _, ok := next[k]; ok && next[k].Reason != crl.ReasonTampering {
			delete(next, k)
			rems = append(rems, k)
		}
	}
	slices.SortFunc(ups, func(a, b crl.Entry) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	ups = slices.CompactFunc(ups, func(a, b crl.Entry) bool { return a.Key == b.Key })
	slices.Sort(rems)
	// The list digest at serial 2 is the digest of its full body.
	all := make([]crl.Entry, 0, len(next))
	for _, e := range next {
		all = append(all, e)
	}
	slices.SortFunc(all, func(a, b crl.Entry) int {
		switch {
		case a.Key < b.Key:
			return -1
		case a.Key > b.Key:
			return 1
		}
		return 0
	})
	var fb bytes.Buffer
	w := snapshot.NewBodyWriter(&fb)
	for _, e := range all {
		if err := w.Upsert(e); err != nil {
			b.Fatal(err)
		}
	}
	info, err := w.Close()
	if err != nil {
		b.Fatal(err)
	}
	dh := &snapshot.Header{Publisher: "ministry", Issuers: []string{issuer}, Serial: 2,
		ThisUpdate: benchThis.Add(time.Hour), NextUpdate: benchThis.Add(7 * 24 * time.Hour), Kind: snapshot.KindDelta,
		BaseSerial: 1, BaseDigest: base, ListDigest: info.Digest, ListCount: uint64(len(all))}
	benchWrite(b, delta, dh, ups, rems)
	benchIDs[n] = true
	return full, delta
}

func applyFile(b *testing.B, s *Store, path string, at time.Time) {
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := s.ApplySnapshot(f, benchKeys, at, nil); err != nil {
		b.Fatal(err)
	}
}

// benchStore returns a store file holding the full list of size n, built once.
func benchStore(b *testing.B, n int) string {
	full, _ := benchFiles(b, n)
	path := filepath.Join(benchDir, fmt.Sprintf("store-%d.db", n))
	if _, err := os.Stat(path); err == nil {
		return path
	}
	s := mustOpen(b, path, nil)
	applyFile(b, s, full, benchThis)
	s.Close()
	return path
}

// usedBytes is the size of the pages a store uses (its file grows in
// larger steps).
func usedBytes(b *testing.B, path string) int64 {
	s := mustOpen(b, path, &Options{ReadOnly: true})
	defer s.Close()
	var n int64
	if err := testDB(s).View(func(tx *bolt.Tx) error { n = tx.Size(); return nil }); err != nil {
		b.Fatal(err)
	}
	return n
}

func fileSize(b *testing.B, path string) int64 {
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	return fi.Size()
}

// BenchmarkApplyFull: full apply (verify + decode + store + Bloom filter,
// durable) into a new store file.
func BenchmarkApplyFull(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("entries=%dM", n/1_000_000), func(b *testing.B) {
			full, _ := benchFiles(b, n)
			dir := b.TempDir()
			i := 0
			var size int64
			for b.Loop() {
				path := filepath.Join(dir, fmt.Sprintf("s%d.db", i))
				i++
				s := mustOpen(b, path, nil)
				applyFile(b, s, full, benchThis)
				s.Close()
				b.StopTimer()
				size = usedBytes(b, path)
				os.Remove(path)
				b.StartTimer()
			}
			b.ReportMetric(b.Elapsed().Seconds()/float64(i), "s/apply")
			b.ReportMetric(float64(n), "entries")
			b.ReportMetric(float64(size)/float64(n), "store-bytes/entry")
			b.ReportMetric(float64(fileSize(b, full))/float64(n), "file-bytes/entry")
		})
	}
}

// BenchmarkApplyVsX509 applies a 1M-entry snapshot and, in the same loop,
// parses, verifies and indexes the same entries as an X.509 CRL with Go's
// crypto/x509; it reports both times and their ratio (target <= 0.8).
func BenchmarkApplyVsX509(b *testing.B) {
	const n = 1_000_000
	full, _ := benchFiles(b, n)
	der, ca := x509CRL(b, n)
	dir := b.TempDir()
	var storeTime, x509Time time.Duration
	i := 0
	for b.Loop() {
		path := filepath.Join(dir, fmt.Sprintf("s%d.db", i))
		i++
		start := time.Now()
		s := mustOpen(b, path, nil)
		applyFile(b, s, full, benchThis)
		s.Close()
		storeTime += time.Since(start)

		start = time.Now()
		rl, err := x509.ParseRevocationList(der)
		if err != nil {
			b.Fatal(err)
		}
		if err := rl.CheckSignatureFrom(ca); err != nil {
			b.Fatal(err)
		}
		index := make(map[string]int, len(rl.RevokedCertificateEntries))
		for j, e := range rl.RevokedCertificateEntries {
			index[string(e.SerialNumber.Bytes())] = j
		}
		if len(index) != n {
			b.Fatal("x509 index size")
		}
		x509Time += time.Since(start)
		b.StopTimer()
		os.Remove(path)
		b.StartTimer()
	}
	b.ReportMetric(storeTime.Seconds()/float64(i), "store-s/op")
	b.ReportMetric(x509Time.Seconds()/float64(i), "x509-s/op")
	b.ReportMetric(storeTime.Seconds()/x509Time.Seconds(), "ratio")
	b.ReportMetric(float64(len(der))/float64(n), "x509-bytes/entry")
}

var (
	x509Once sync.Once
	x509DER  []byte
	x509CA   *x509.Certificate
)

func x509CRL(b *testing.B, n int) ([]byte, *x509.Certificate) {
	x509Once.Do(func() {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			b.Fatal(err)
		}
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Ministry CRL signer"},
			NotBefore: benchThis.Add(-time.Hour), NotAfter: benchThis.Add(365 * 24 * time.Hour),
			IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCRLSign | x509.KeyUsageCertSign}
		certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, pub, priv)
		if err != nil {
			b.Fatal(err)
		}
		x509CA, err = x509.ParseCertificate(certDER)
		if err != nil {
			b.Fatal(err)
		}
		es := benchEntries(n)
		entries := make([]x509.RevocationListEntry, n)
		for i, e := range es {
			kb := e.Key.Bytes()
			entries[i] = x509.RevocationListEntry{SerialNumber: new(big.Int).SetBytes(append([]byte{0x40}, kb[:]...)),
				RevocationTime: e.Revoked(), ReasonCode: int(e.Reason)}
		}
		x509DER, err = x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
			Number: big.NewInt(1), ThisUpdate: benchThis, NextUpdate: benchThis.Add(7 * 24 * time.Hour),
			RevokedCertificateEntries: entries}, x509CA, priv)
		if err != nil {
			b.Fatal(err)
		}
	})
	return x509DER, x509CA
}

// BenchmarkApplyDelta applies a delta of 10k changes to a stored list.
func BenchmarkApplyDelta(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("entries=%dM", n/1_000_000), func(b *testing.B) {
			pristine := benchStore(b, n)
			_, delta := benchFiles(b, n)
			path := filepath.Join(b.TempDir(), "s.db")
			iters := 0
			for b.Loop() {
				iters++
				b.StopTimer()
				copyFile(b, pristine, path)
				s := mustOpen(b, path, nil)
				b.StartTimer()
				applyFile(b, s, delta, benchThis.Add(time.Hour))
				b.StopTimer()
				s.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(iters), "ms/apply")
			b.ReportMetric(10_000, "changes")
			b.ReportMetric(float64(fileSize(b, delta))/10_000, "file-bytes/change")
		})
	}
}

func copyFile(b *testing.B, from, to string) {
	in, err := os.Open(from)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		b.Fatal(err)
	}
	if err := out.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkCheck: Check for ids absent from the list (answered by the
// Bloom filter) and present (confirmed in bbolt), including crl.KeyOf as a
// caller does; absent-key is CheckKey with the keys computed beforehand.
// For a store larger than the default ResidentLimit, present-unlimited
// checks with no limit: the pages of the file stay mapped, which is faster
// but makes the process's resident memory grow to the file's size.
func BenchmarkCheck(b *testing.B) {
	for _, n := range []int{1_000_000, 10_000_000} {
		b.Run(fmt.Sprintf("entries=%dM", n/1_000_000), func(b *testing.B) {
			path := benchStore(b, n)
			s := mustOpen(b, path, &Options{ReadOnly: true})
			defer s.Close()
			at := benchThis.Add(time.Hour)
			const m = 1 << 16
			r := mrand.New(mrand.NewPCG(3, 4))
			absent := newIDSlab(m, func(i int) string { return benchID(n + 100_000 + i) })
			present := newIDSlab(m, func(int) string { return benchID(r.IntN(n)) })
			absentKeys := make([]crl.Key, m)
			for i := range absentKeys {
				absentKeys[i] = crl.KeyOf(issuer, absent.id(i))
			}
			// Each loop iteration makes m checks, so that the figure holds
			// even with -benchtime 1x; it is reported as ns/check.
			run := func(name string, check func(i int) error) {
				b.Run(name, func(b *testing.B) {
					iters := 0
					for b.Loop() {
						for i := range m {
							if err := check(i); err != nil {
								b.Fatal(err)
							}
						}
						iters++
					}
					b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(iters*m), "ns/check")
				})
			}
			want := func(res Result, err error, present bool) error {
				if err != nil {
					return err
				}
				if (res.Entry != nil) != present {
					return fmt.Errorf("unexpected %v", res.Status)
				}
				return nil
			}
			run("absent", func(i int) error { r, err := s.Check(issuer, absent.id(i), at); return want(r, err, false) })
			run("absent-key", func(i int) error { r, err := s.CheckKey(issuer, absentKeys[i], at); return want(r, err, false) })
			run("present", func(i int) error { r, err := s.Check(issuer, present.id(i), at); return want(r, err, true) })
			if fileSize(b, path) > DefaultResidentLimit {
				su := mustOpen(b, path, &Options{ReadOnly: true, ResidentLimit: -1})
				defer su.Close()
				run("present-unlimited", func(i int) error { r, err := su.Check(issuer, present.id(i), at); return want(r, err, true) })
			}
		})
	}
}

const rssEnv = "CRLVERIFY_STORE_RSS_CHILD"

// BenchmarkCheckRSS measures, in a fresh child process, the peak resident
// memory of opening a store and running 1M checks of absent ids and 10k of
// present ones (a verifier's day: mostly valid certificates), with the
// default ResidentLimit and, for comparison at 10M, with no limit.
func BenchmarkCheckRSS(b *testing.B) {
	for _, c := range []struct {
		n     int
		limit int64
	}{{1_000_000, 0}, {10_000_000, 0}, {10_000_000, -1}} {
		name := fmt.Sprintf("entries=%dM", c.n/1_000_000)
		if c.limit < 0 {
			name += "/unlimited"
		}
		b.Run(name, func(b *testing.B) {
			n := c.n
			path := benchStore(b, n)
			var res rssReport
			for b.Loop() {
				cmd := exec.Command(os.Args[0], "-test.run=^TestRSSChild$", "-test.count=1")
				cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%d|%d", rssEnv, path, n, c.limit))
				out, err := cmd.Output()
				if err != nil {
					b.Fatalf("child: %v\n%s", err, out)
				}
				line := out[bytes.Index(out, []byte("{")):]
				line = line[:bytes.IndexByte(line, '\n')]
				if err := json.Unmarshal(line, &res); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(res.PeakRSS)/(1<<20), "peak-RSS-MB")
			b.ReportMetric(float64(res.RSSAnon)/(1<<20), "anon-RSS-MB")
			b.ReportMetric(float64(res.RSSFile)/(1<<20), "file-RSS-MB")
			b.ReportMetric(float64(res.Heap)/(1<<20), "heap-MB")
			b.ReportMetric(float64(res.StoreBytes)/(1<<20), "store-file-MB")
			b.ReportMetric(float64(res.AbsentOnlyRSS)/(1<<20), "RSS-after-absent-MB")
			b.ReportMetric(float64(res.AfterOpenRSS)/(1<<20), "RSS-after-open-MB")
		})
	}
}

type rssReport struct {
	PeakRSS, RSSAnon, RSSFile, Heap, StoreBytes, AbsentOnlyRSS, AfterOpenRSS int64
}

// procStatus reads the kB figures of /proc/self/status.
func procStatus() map[string]int64 {
	out := map[string]int64{}
	st, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(st), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			out[strings.TrimSuffix(f[0], ":")] = kb << 10
		}
	}
	return out
}

// TestRSSChild is BenchmarkCheckRSS's child; it does nothing otherwise.
func TestRSSChild(t *testing.T) {
	arg := os.Getenv(rssEnv)
	if arg == "" {
		t.Skip("runs only as the child of BenchmarkCheckRSS")
	}
	parts := strings.Split(arg, "|")
	if len(parts) != 3 {
		t.Fatalf("%s=%q: want path|entries|limit", rssEnv, arg)
	}
	path := parts[0]
	n, _ := strconv.Atoi(parts[1])
	limit, _ := strconv.ParseInt(parts[2], 10, 64)
	s, err := Open(path, &Options{ReadOnly: true, ResidentLimit: limit})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	afterOpen := procStatus()["VmRSS"]
	at := benchThis.Add(time.Hour)
	r := mrand.New(mrand.NewPCG(5, 6))
	for i := range 1_000_000 {
		if res, err := s.Check(issuer, benchID(n+100_000+i), at); err != nil || res.Status != NotRevoked {
			t.Fatal(res.Status, err)
		}
	}
	absentOnly := procStatus()["VmRSS"]
	for range 10_000 {
		if res, err := s.Check(issuer, benchID(r.IntN(n)), at); err != nil || res.Entry == nil {
			t.Fatal(res.Status, err)
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	ps := procStatus()
	rep := rssReport{Heap: int64(ms.HeapAlloc), PeakRSS: ps["VmHWM"], RSSAnon: ps["RssAnon"], RSSFile: ps["RssFile"], AbsentOnlyRSS: absentOnly, AfterOpenRSS: afterOpen}
	if fi, err := os.Stat(path); err == nil {
		rep.StoreBytes = fi.Size()
	}
	out, _ := json.Marshal(rep)
	fmt.Printf("%s\n", out)
}
