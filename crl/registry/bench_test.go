package registry

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"filippo.io/age"
)

// The big benchmarks run at 10,000,000 rows, or CRLVERIFY_BENCH_N; they
// skip under -short.
func benchN(b *testing.B) int {
	if testing.Short() {
		b.Skip("a 10M-row benchmark; run without -short")
	}
	if v, err := strconv.Atoi(os.Getenv("CRLVERIFY_BENCH_N")); err == nil && v > 0 {
		return v
	}
	return 10_000_000
}

// writeBenchCerts writes n realistic certificate rows: CoWIN-like 13-digit
// ids rising with gaps, 14-digit beneficiary reference ids with one to
// three doses each, about 20,000 batches, issue times over two years; one
// row in ten of a second issuer.
func writeBenchCerts(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString("certificate_id,issuer,beneficiary_id,dose,batch,issued_at\n")
	const start = 1609459200 // 2021-01-01
	x := uint64(0x9e3779b97f4a7c15)
	next := func() uint64 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		return x
	}
	id := uint64(7_000_000_000_000)
	var line []byte
	for i := 0; i < n; {
		ben := 10_000_000_000_000 + next()%89_999_999_999_999
		doses := 1 + int(next()%3)
		at := int64(start + next()%(2*365*86400))
		for d := 1; d <= doses && i < n; d++ {
			id += 1 + next()%5
			issuer := "https://cowin.gov.in/"
			if i%10 == 9 {
				issuer = "https://state.example.gov/"
			}
			batch := next() % 20000
			line = strconv.AppendUint(line[:0], id, 10)
			line = append(line, ',')
			line = append(line, issuer...)
			line = append(line, ',')
			line = strconv.AppendUint(line, ben, 10)
			line = append(line, ',')
			line = strconv.AppendInt(line, int64(d), 10)
			line = append(line, ",B"...)
			line = strconv.AppendUint(line, 4_000_000+batch, 36)
			line = append(line, ',')
			line = time.Unix(at, 0).UTC().AppendFormat(line, time.RFC3339)
			line = append(line, '\n')
			bw.Write(line)
			at += 60 * 86400
			i++
		}
	}
	return bw.Flush()
}

// writeBenchRevocations writes n realistic revocation rows: numeric ids,
// two issuers, revocation times over two years, a mix of reasons, one
// suspension in fifty.
func writeBenchRevocations(w io.Writer, n int) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString("id,issuer,reason,revoked_at,suspended_until\n")
	const start = 1735689600 // 2025-01-01
	reasons := []string{"dataError", "superseded", "tampering", "faultyBatch", "keyCompromise"}
	x := uint64(0x9e3779b97f4a7c15)
	for i := range n {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		at := start + int64(x%(2*365*86400))
		issuer := "https://cowin.gov.in/"
		if i%10 == 0 {
			issuer = "https://state.example.gov/"
		}
		if i%50 == 0 {
			fmt.Fprintf(bw, "%d,%s,certificateHold,%d,%d\n", 7_000_000_000_000+i*7, issuer, at, at+3*365*86400)
			continue
		}
		fmt.Fprintf(bw, "%d,%s,%s,%d,\n", 7_000_000_000_000+i*7, issuer, reasons[x%uint64(len(reasons))], at)
	}
	return bw.Flush()
}

var benchFiles sync.Map // n -> path of a generated certificate file

// benchCertsFile returns a generated file of n rows, made once per test
// binary run in a directory that outlives the benchmark functions.
func benchCertsFile(b *testing.B, n int) string { return benchFile(b, "certs", n, writeBenchCerts) }

func benchRevocationsFile(b *testing.B, n int) string {
	return benchFile(b, "revocations", n, writeBenchRevocations)
}

func benchFile(b *testing.B, kind string, n int, write func(io.Writer, int) error) string {
	name := fmt.Sprintf("%s-%d.csv", kind, n)
	if p, ok := benchFiles.Load(name); ok {
		return p.(string)
	}
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("crlverify-bench-%d", os.Getpid()))
	os.MkdirAll(dir, 0o700)
	path := filepath.Join(dir, name)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := write(f, n); err != nil {
		b.Fatal(err)
	}
	f.Close()
	benchFiles.Store(name, path)
	return path
}

func TestMain(m *testing.M) {
	code := m.Run()
	os.RemoveAll(filepath.Join(os.TempDir(), fmt.Sprintf("crlverify-bench-%d", os.Getpid())))
	os.Exit(code)
}

// BenchmarkImport10M imports 10M certificate rows (CSV) into a fresh
// registry: rows/s, bytes of registry file per record.
func BenchmarkImport10M(b *testing.B) {
	n := benchN(b)
	benchImport(b, benchCertsFile(b, n), n, "record", func(r *Registry, f io.Reader) (int64, error) {
		res, err := r.ImportCertificates(ctx, f, &ImportOptions{Source: "bench.csv"})
		return res.Imported, err
	})
}

// BenchmarkImportRevocations1M imports 1M revocation rows (CSV) into a
// fresh registry, as one bulk operation: rows/s and bytes of registry file
// per revocation (before a publication prunes the change log).
func BenchmarkImportRevocations1M(b *testing.B) {
	n := benchN(b) / 10
	benchImport(b, benchRevocationsFile(b, n), n, "revocation", func(r *Registry, f io.Reader) (int64, error) {
		res, err := r.ImportRevocations(ctx, f, &ImportOptions{Source: "bench.csv"})
		return res.Changed, err
	})
}

// benchImport times run, which imports the n rows of the file at path
// into a fresh registry and returns how many it took, and reports rows/s,
// rows per CPU second and bytes of registry file per unit.
func benchImport(b *testing.B, path string, n int, unit string, run func(*Registry, io.Reader) (int64, error)) {
	dir := b.TempDir()
	i := 0
	for b.Loop() {
		b.StopTimer()
		i++
		regPath := filepath.Join(dir, fmt.Sprintf("r%d.db", i))
		r, err := Open(regPath, &Options{Actor: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime()
		got, err := run(r, f)
		elapsed, cpu := time.Since(start), cpuTime()-cpu0
		b.StopTimer()
		f.Close()
		if err != nil || got != int64(n) {
			b.Fatal(got, err)
		}
		s, _ := r.Stats()
		r.Close()
		fi, _ := os.Stat(regPath)
		b.ReportMetric(float64(n)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(float64(n)/cpu.Seconds(), "rows/cpu-s")
		b.ReportMetric(float64(fi.Size())/float64(n), "file-bytes/"+unit)
		b.ReportMetric(float64(s.FileBytes)/float64(n), "used-bytes/"+unit)
		os.Remove(regPath)
		b.StartTimer()
	}
}

// cpuTime is the CPU time (user and system) this process used so far:
// on a machine others share, rows per CPU second is the figure that does
// not depend on their load.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkImportCLIPeakRSS10M builds the command and runs "crlverify
// registry import" of a generated 10M-row file under /usr/bin/time -v,
// reporting its peak resident memory; at 1M rows too, to show that it
// does not grow with the input.
func BenchmarkImportCLIPeakRSS10M(b *testing.B) {
	n := benchN(b)
	if _, err := os.Stat("/usr/bin/time"); err != nil {
		b.Skip("needs /usr/bin/time (GNU time) to measure peak RSS")
	}
	dir := b.TempDir()
	bin := filepath.Join(dir, "crlverify")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/crlverify").CombinedOutput(); err != nil {
		b.Fatalf("building the command: %v\n%s", err, out)
	}
	rss := regexp.MustCompile(`Maximum resident set size \(kbytes\): (\d+)`)
	measure := func(rows int, name string) {
		path := benchCertsFile(b, rows)
		reg := filepath.Join(dir, name+".db")
		args := []string{"-v", bin, "registry", "import", "--registry", reg, path}
		if name == "revocations" {
			path = benchRevocationsFile(b, rows)
			args = []string{"-v", bin, "revoke", "--registry", reg, "--from-file", path}
		}
		cmd := exec.Command("/usr/bin/time", args...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		start := time.Now()
		if err := cmd.Run(); err != nil {
			b.Fatalf("%v\n%s", err, stderr.String())
		}
		elapsed := time.Since(start)
		m := rss.FindStringSubmatch(stderr.String())
		if m == nil {
			b.Fatalf("no peak RSS in\n%s", stderr.String())
		}
		kb, _ := strconv.Atoi(m[1])
		b.ReportMetric(float64(kb)/1024, "peak-RSS-MB-"+name)
		b.ReportMetric(float64(rows)/elapsed.Seconds(), "rows/s-"+name)
		os.Remove(reg)
	}
	for b.Loop() {
		measure(n/10, "tenth")
		measure(n, "full")
		measure(n/10, "revocations")
	}
}

// benchRegistry is a registry of n imported certificates (the generated
// rows), shared by the benchmarks of one run.
var benchRegs sync.Map

func benchRegistry(b *testing.B, n int) (*Registry, string) {
	if v, ok := benchRegs.Load(n); ok {
		return v.(*Registry), ""
	}
	path := benchCertsFile(b, n)
	regPath := filepath.Join(filepath.Dir(path), fmt.Sprintf("reg-%d.db", n))
	r, err := Open(regPath, &Options{Actor: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if _, err := r.ImportCertificates(ctx, f, nil); err != nil {
		b.Fatal(err)
	}
	benchRegs.Store(n, r)
	return r, regPath
}

// benchSample reads every k-th row of the generated file: ids,
// beneficiaries and batches to revoke.
func benchSample(b *testing.B, n, k int) [][]string {
	f, err := os.Open(benchCertsFile(b, n))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	var out [][]string
	for i := 0; sc.Scan(); i++ {
		if i%k == 0 {
			out = append(out, splitComma(sc.Text()))
		}
	}
	return out
}

func splitComma(s string) []string {
	var out []string
	for {
		i := bytes.IndexByte([]byte(s), ',')
		if i < 0 {
			return append(out, s)
		}
		out = append(out, s[:i])
		s = s[i+1:]
	}
}

// BenchmarkRevokeRules10M times each revoke rule on a registry of 10M
// imported certificates: one request per op, each its own durable commit
// (one caller). Batch revocations of a whole batch (~500 certificates).
func BenchmarkRevokeRules10M(b *testing.B) {
	n := benchN(b)
	r, _ := benchRegistry(b, n)
	rows := benchSample(b, n, 97)
	for _, rule := range []string{"id", "beneficiary-all-doses", "beneficiary-latest-dose", "batch", "status"} {
		b.Run(rule, func(b *testing.B) {
			i := 0
			for b.Loop() {
				row := rows[i%len(rows)]
				i++
				q := Request{Actor: "bench", Selector: Selector{Issuer: row[1]}}
				var err error
				switch rule {
				case "id":
					q.CertificateID = row[0]
					_, err = r.Revoke(ctx, q)
				case "beneficiary-all-doses":
					q.BeneficiaryID, q.AllDoses = row[2], true
					_, err = r.Revoke(ctx, q)
				case "beneficiary-latest-dose":
					q.BeneficiaryID = row[2]
					var cs []Certificate
					if cs, err = r.Certificates(Selector{Issuer: row[1], BeneficiaryID: row[2]}); err == nil {
						latest := 0
						for _, c := range cs {
							latest = max(latest, c.Dose)
						}
						q.Doses = []int{latest}
						_, err = r.Revoke(ctx, q)
					}
				case "batch":
					q.Batch = row[4]
					var out Outcome
					out, err = r.Revoke(ctx, q)
					if i == 1 {
						b.ReportMetric(float64(out.Matched), "certs/batch")
					}
				case "status":
					_, err = r.Status(row[1], row[0], time.Time{})
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkGroupCommit has many goroutines revoke certificates by id at
// once, each call returning once its change is durable: acknowledged
// revocations per second and the 99th percentile latency of a call.
func BenchmarkGroupCommit(b *testing.B) {
	r, _ := openTest(b)
	r.AddIssuers("moh")
	const callers = 256
	var lat []time.Duration
	var mu sync.Mutex
	var next atomic.Int64
	start := time.Now()
	for b.Loop() {
		const perRound = 20_000
		end := next.Load() + perRound
		var wg sync.WaitGroup
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var mine []time.Duration
				for {
					i := next.Add(1)
					if i > end {
						break
					}
					t := time.Now()
					if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: strconv.FormatInt(i, 10)}, Actor: "bench"}); err != nil {
						b.Error(err)
						return
					}
					mine = append(mine, time.Since(t))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			}()
		}
		wg.Wait()
		next.Store(end)
	}
	elapsed := time.Since(start)
	slices.Sort(lat)
	b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "revocations/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(runtime.NumCPU()), "cpus")
}

// BenchmarkPublish1M publishes a registry of 1,000,000 revocations: the full
// snapshot, a delta from the previous serial with 1,000 changes, the index.
func BenchmarkPublish1M(b *testing.B) {
	n := benchN(b) / 10
	r, err := Open(filepath.Join(b.TempDir(), "r.db"), &Options{Actor: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	f, err := os.Open(benchRevocationsFile(b, n))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := r.ImportRevocations(ctx, f, nil); err != nil {
		b.Fatal(err)
	}
	f.Close()
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
		var in bytes.Buffer
		in.WriteString("id,issuer\n")
		for i := range 1000 {
			fmt.Fprintf(&in, "bench-%d-%d,https://cowin.gov.in/\n", round, i)
		}
		if _, err := r.ImportRevocations(ctx, &in, nil); err != nil {
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

// BenchmarkBackup10M takes a full backup of a registry of 10M imported
// certificates (gzip'd, and age-encrypted), an incremental one after a
// thousand revocations, and restores both; it reports the backup's size,
// how long the backup held the registry file in one go (what another
// process, such as serve, waits at most), and the longest a revocation of
// this process waited while the full backup ran.
func BenchmarkBackup10M(b *testing.B) {
	n := benchN(b)
	r, _ := benchRegistry(b, n)
	dir := b.TempDir()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		b.Fatal(err)
	}
	enc := &BackupOptions{Recipients: []age.Recipient{id.Recipient()}}
	fi, _ := os.Stat(r.Path())
	b.Logf("registry file: %d MB", fi.Size()>>20)
	b.Run("full", func(b *testing.B) {
		for b.Loop() {
			os.RemoveAll(dir)
			os.MkdirAll(dir, 0o700)
			// Revocations keep arriving meanwhile, one caller at a time.
			stop := make(chan struct{})
			var worst time.Duration
			var wg sync.WaitGroup
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					default:
					}
					t := time.Now()
					if _, err := r.Revoke(ctx, Request{Actor: "bench", Selector: Selector{Issuer: "https://cowin.gov.in/", CertificateID: fmt.Sprint("during-backup-", i)}}); err != nil {
						b.Error(err)
						return
					}
					worst = max(worst, time.Since(t))
				}
			}()
			res, err := r.BackupTo(dir, enc)
			close(stop)
			wg.Wait()
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(res.Bytes)/(1<<20), "MB")
			b.ReportMetric(float64(res.Manifest.Files[0].Size)/(1<<20), "MB-raw")
			b.ReportMetric(float64(res.Held.Milliseconds()), "ms-held")
			b.ReportMetric(float64(worst.Milliseconds()), "ms-worst-revoke")
		}
	})
	b.Run("incremental-1k", func(b *testing.B) {
		for b.Loop() {
			b.StopTimer()
			for i := range 1000 {
				if _, err := r.Revoke(ctx, Request{Actor: "bench", Selector: Selector{Issuer: "https://cowin.gov.in/", CertificateID: fmt.Sprint("incr-", i)}}); err != nil {
					b.Fatal(err)
				}
			}
			b.StartTimer()
			res, err := r.BackupTo(dir, &BackupOptions{Recipients: enc.Recipients, Incremental: true})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(res.Bytes)/(1<<10), "KB")
			b.ReportMetric(float64(res.Held.Milliseconds()), "ms-held")
		}
	})
	b.Run("restore", func(b *testing.B) {
		target := filepath.Join(b.TempDir(), "restored.db")
		for b.Loop() {
			res, err := Restore(target, dir, &RestoreOptions{Identities: []age.Identity{id}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(res.Audit.Certificates), "certs")
			if fi, err := os.Stat(target); err == nil {
				b.ReportMetric(float64(fi.Size())/(1<<20), "MB-restored")
			}
		}
	})
}
