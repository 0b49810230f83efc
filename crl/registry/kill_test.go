package registry

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl"
)

// Each kill test runs itself again as a child process (selected by
// CRLVERIFY_KILL_CHILD), lets it work, kills it with SIGKILL at a random
// moment, and checks the registry file it leaves.

const killEnv = "CRLVERIFY_KILL_CHILD"

// runKilled starts the child for test name with arg, waits for its first
// line starting with ready, kills it after a random pause, and returns
// everything it printed.
func runKilled(t *testing.T, name, arg, ready string, rng *rand.Rand, maxPause time.Duration) []string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	cmd := exec.Command(exe, "-test.run=^"+name+"$")
	cmd.Env = append(os.Environ(), killEnv+"="+arg)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	started := make(chan bool, 1)
	var mu sync.Mutex
	var lines []string
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			mu.Lock()
			lines = append(lines, sc.Text())
			mu.Unlock()
			if strings.HasPrefix(sc.Text(), ready) {
				select {
				case started <- true:
				default:
				}
			}
		}
		select {
		case started <- false:
		default:
		}
	}()
	if !<-started {
		<-done
		t.Fatalf("the child stopped before %q:\n%s", ready, strings.Join(lines, "\n"))
	}
	time.Sleep(time.Duration(rng.Int64N(int64(maxPause))))
	cmd.Process.Kill()
	<-done
	cmd.Wait()
	mu.Lock()
	defer mu.Unlock()
	for _, l := range lines {
		if strings.Contains(l, "FAIL") || strings.HasPrefix(l, "panic") {
			t.Fatalf("the child failed:\n%s", strings.Join(lines, "\n"))
		}
	}
	return lines
}

// TestImportSurvivesKill kills a process importing certificate files (each
// correcting some certificates of the one before) and revoking batches in
// bulk. After every kill the registry opens, finishes what was
// committed, its audit trail verifies, and each import is there whole or
// not at all.
func TestImportSurvivesKill(t *testing.T) {
	if arg := os.Getenv(killEnv); arg != "" {
		importLoop(t, arg)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	regPath := filepath.Join(t.TempDir(), "registry.db")
	rng := rand.New(rand.NewPCG(3, 4))
	for round := range 5 {
		lines := runKilled(t, "TestImportSurvivesKill", regPath+"|"+strconv.Itoa(round), "ready", rng, 3*time.Second)
		r, err := Open(regPath, nil)
		if err != nil {
			t.Fatalf("round %d: open after the kill: %v", round, err)
		}
		rep, err := r.VerifyAudit()
		if err != nil {
			t.Fatalf("round %d: audit verify after the kill: %v", round, err)
		}
		// Every import record stands for a whole file.
		var imports []uint64
		r.AuditList(AuditFilter{Action: ActionImport}, func(a *AuditRecord) error {
			if a.ItemCount != killFileRows {
				t.Errorf("round %d: import record %d has %d certificates, want %d", round, a.Seq, a.ItemCount, killFileRows)
			}
			imports = append(imports, a.Seq)
			return nil
		})
		s, _ := r.Stats()
		if s.Certificates != uint64(len(imports))*killFileRows {
			t.Fatalf("round %d: %d certificates for %d imports", round, s.Certificates, len(imports))
		}
		r.Close()
		t.Logf("round %d: killed after %d lines; %d imports, %d records, %d revocation records", round, len(lines), len(imports), rep.Records, rep.Revocations)
	}
}

const killFileRows = 20_000

func importLoop(t *testing.T, arg string) {
	path, roundStr, _ := strings.Cut(arg, "|")
	round, _ := strconv.Atoi(roundStr)
	r, err := Open(path, &Options{Actor: "loop", LockAttempts: 500})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	for i := 0; ; i++ {
		var b strings.Builder
		b.WriteString("certificate_id,issuer,beneficiary_id,dose,batch,issued_at,previous_certificate_id\n")
		for j := range killFileRows {
			prev := ""
			if j < 500 && i > 0 {
				prev = fmt.Sprintf("R%d-F%d-%d", round, i-1, j)
			}
			fmt.Fprintf(&b, "R%d-F%d-%d,moh,B%d-%d,1,LOT-%d-%d,2021-01-01,%s\n", round, i, j, i, j, i, j%3, prev)
		}
		if _, err := r.ImportCertificates(context.Background(), strings.NewReader(b.String()), nil); err != nil {
			t.Fatal(err)
		}
		fmt.Println("imported", i)
		if _, err := r.Revoke(context.Background(), Request{Selector: Selector{Batch: fmt.Sprintf("LOT-%d-0", i)}, Actor: "loop"}); err != nil {
			t.Fatal(err)
		}
		fmt.Println("revoked batch", i)
	}
}

// TestGroupCommitSurvivesKill kills a process in which many goroutines
// revoke and lift certificates. Every revocation acknowledged before the
// kill is in the registry afterwards, and the audit trail verifies.
func TestGroupCommitSurvivesKill(t *testing.T) {
	if arg := os.Getenv(killEnv); arg != "" {
		commitLoop(t, arg)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	regPath := filepath.Join(t.TempDir(), "registry.db")
	r, err := Open(regPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	r.AddIssuers("moh")
	r.Close()
	rng := rand.New(rand.NewPCG(5, 6))
	for round := range 5 {
		lines := runKilled(t, "TestGroupCommitSurvivesKill", regPath+"|"+strconv.Itoa(round), "ack", rng, 1500*time.Millisecond)
		r, err := Open(regPath, nil)
		if err != nil {
			t.Fatalf("round %d: open after the kill: %v", round, err)
		}
		acked := 0
		for _, l := range lines {
			id, ok := strings.CutPrefix(l, "ack ")
			if !ok {
				continue
			}
			acked++
			st, err := r.Status("moh", id, time.Time{})
			if err != nil || st.State != StateRevoked {
				t.Fatalf("round %d: acknowledged revocation of %s is %+v (%v)", round, id, st, err)
			}
		}
		if _, err := r.VerifyAudit(); err != nil {
			t.Fatalf("round %d: audit verify: %v", round, err)
		}
		r.Close()
		t.Logf("round %d: %d revocations acknowledged before the kill", round, acked)
	}
}

func commitLoop(t *testing.T, arg string) {
	path, round, _ := strings.Cut(arg, "|")
	r, err := Open(path, &Options{Actor: "loop", LockAttempts: 500})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for g := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				id := fmt.Sprintf("%s-%d-%d", round, g, i)
				if _, err := r.Revoke(context.Background(), Request{Selector: Selector{Issuer: "moh", CertificateID: id}, Actor: "loop", Reason: crl.ReasonDataError}); err != nil {
					fmt.Println("FAIL", err)
					return
				}
				mu.Lock()
				fmt.Println("ack", id)
				mu.Unlock()
				if i%5 == 4 {
					prev := fmt.Sprintf("%s-%d-%d", round, g, i-4)
					if _, err := r.Suspend(context.Background(), Request{Selector: Selector{Issuer: "moh", CertificateID: prev + "s"}, Actor: "loop", Until: time.Now().Add(time.Hour)}); err != nil {
						fmt.Println("FAIL", err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}

// TestPublishSurvivesKill kills a process that revokes and publishes in a
// loop, and checks after each kill that the directory's index verifies and
// names complete files, and that the registry opens and publishes on.
func TestPublishSurvivesKill(t *testing.T) {
	if arg := os.Getenv(killEnv); arg != "" {
		publishLoop(t, arg)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	key, keys := testKey(t)
	tmp := t.TempDir()
	dir, regPath := filepath.Join(tmp, "pub"), filepath.Join(tmp, "registry.db")
	os.Mkdir(dir, 0o755)
	r, err := Open(regPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("id,issuer,revoked_at\n")
	for i := range 20_000 {
		fmt.Fprintf(&b, "%d,did:in:cowin,%d\n", 1_000_000+i*7, 1735689600+i*60)
	}
	if _, err := r.ImportRevocations(ctx, strings.NewReader(b.String()), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Publish(dir, key, &PublishOptions{Publisher: "Example Health Authority"}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 5 {
		runKilled(t, "TestPublishSurvivesKill", regPath+"|"+dir+"|"+strconv.Itoa(round), "published", rng, 300*time.Millisecond)
		ix := readIndex(t, dir, keys)
		checkFiles(t, dir, ix)
		h, ups, _ := readSnapshot(t, filepath.Join(dir, ix.Full.Name), keys)
		if uint64(len(ups)) != h.ListCount {
			t.Fatalf("round %d: full has %d entries, header says %d", round, len(ups), h.ListCount)
		}
		for _, d := range ix.Deltas {
			readSnapshot(t, filepath.Join(dir, d.Name), keys)
		}
	}
	r, err = Open(regPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := r.Publish(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, ups, _ := readSnapshot(t, filepath.Join(dir, res.Full.Name), keys)
	if want := entries(t, r, res.ThisUpdate); len(ups) != len(want) {
		t.Fatalf("after the kills: full has %d entries, registry %d", len(ups), len(want))
	}
	mustVerify(t, r)
}

func publishLoop(t *testing.T, arg string) {
	parts := strings.SplitN(arg, "|", 3)
	regPath, dir, round := parts[0], parts[1], parts[2]
	key, _ := testKey(t)
	r, err := Open(regPath, &Options{LockAttempts: 500, Actor: "loop"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		id := fmt.Sprintf("loop-%s-%d", round, i)
		if _, err := r.Revoke(context.Background(), Request{Selector: Selector{Issuer: "did:in:cowin", CertificateID: id}, Actor: "loop"}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 2 {
			r.Lift(context.Background(), Request{Selector: Selector{Issuer: "did:in:cowin", CertificateID: fmt.Sprintf("loop-%s-%d", round, i-1)}, Actor: "loop"})
		}
		res, err := r.Publish(dir, key, &PublishOptions{KeepSerials: 3})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("published", res.Serial)
	}
}

var errCrash = fmt.Errorf("simulated crash")

// crashAt makes the registry stop dead (a panic unwinding out of the
// operation, the file left as written so far) at the n-th step of kind.
func crashAt(r *Registry, kind string, n int) {
	count := 0
	r.stepHook = func(k string) {
		if k == kind {
			if count++; count == n {
				panic(errCrash)
			}
		}
	}
}

func crashed(t *testing.T, fn func()) {
	t.Helper()
	defer func() {
		if p := recover(); p != errCrash {
			t.Fatalf("no simulated crash: %v", p)
		}
	}()
	fn()
}

// A bulk operation of many chunks, rows at random times: every
// revocation lands in the chronological index, in order. The second
// import falls between the first in every table.
func TestBulkManyChunks(t *testing.T) {
	defer func(n int) { bulkChunk = n }(bulkChunk)
	bulkChunk = 300
	r, _ := openTest(t)
	const n = 5000
	rng := rand.New(rand.NewPCG(9, 9))
	for half := range 2 {
		var b strings.Builder
		b.WriteString("id,issuer,reason,revoked_at\n")
		for i := half; i < n; i += 2 {
			fmt.Fprintf(&b, "X-%d,moh,dataError,%d\n", i, 1_700_000_000+rng.IntN(50_000_000))
		}
		res, err := r.ImportRevocations(ctx, strings.NewReader(b.String()), nil)
		if err != nil || res.Changed != n/2 {
			t.Fatalf("%+v %v", res, err)
		}
	}
	var got []RevocationRecord
	q := RevocationQuery{Limit: 777}
	for {
		page, next, err := r.Revocations(q)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if len(got) != n || !slices.IsSortedFunc(got, func(a, b RevocationRecord) int { return a.RevokedAt.Compare(b.RevokedAt) }) {
		t.Fatalf("%d revocations listed (want %d), sorted %v", len(got), n, slices.IsSortedFunc(got, func(a, b RevocationRecord) int { return a.RevokedAt.Compare(b.RevokedAt) }))
	}
	// Lifting half of them in bulk (by batch) takes them out of the index.
	mustVerify(t, r)
}

// A bulk operation interrupted after its commit is finished by the next
// process to open the file; one interrupted before it leaves nothing.
func TestBulkRollsForward(t *testing.T) {
	defer func(n int) { bulkChunk = n }(bulkChunk)
	bulkChunk = 1000
	path := filepath.Join(t.TempDir(), "registry.db")
	r, err := Open(path, &Options{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	// The second half of the revocations falls between the first in every
	// table but the audit items: its blocks are merged after the commit.
	const n = 40_000
	half := func(odd int) string {
		var b strings.Builder
		b.WriteString("id,issuer,reason\n")
		for i := odd; i < n; i += 2 {
			fmt.Fprintf(&b, "X-%d,moh,dataError\n", i)
		}
		return b.String()
	}
	if _, err := r.ImportRevocations(ctx, strings.NewReader(half(0)), nil); err != nil {
		t.Fatal(err)
	}
	crashAt(r, "bulk", 2) // two steps applied, more to go
	crashed(t, func() { r.ImportRevocations(ctx, strings.NewReader(half(1)), nil) })
	r.stepHook = nil
	r.Close()

	r, err = Open(path, &Options{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if s, _ := r.Stats(); s.Revoked != n {
		t.Fatalf("after the crash: %+v", s)
	}
	rep := mustVerify(t, r)
	if rep.Items != n {
		t.Errorf("report %+v", rep)
	}

	// The corrections of a certificate import: staged changes, applied in
	// chunks.
	certs := func(prefix, prev string) string {
		var c strings.Builder
		c.WriteString("certificate_id,issuer,beneficiary_id,dose,batch,issued_at,previous_certificate_id\n")
		for i := range 3*bulkChunk + 10 {
			p := ""
			if prev != "" {
				p = fmt.Sprintf("%s-%d", prev, i)
			}
			fmt.Fprintf(&c, "%s-%d,moh,B-%s-%d,1,,2021-01-01,%s\n", prefix, i, prefix, i, p)
		}
		return c.String()
	}
	mustImportCerts(t, r, certs("P", ""))
	crashAt(r, "bulk", 2) // two chunks applied, two to go
	crashed(t, func() { r.ImportCertificates(ctx, strings.NewReader(certs("Q", "P")), nil) })
	r.stepHook = nil
	r.Close()
	r, err = Open(path, &Options{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if s, _ := r.Stats(); s.Revoked != n+uint64(3*bulkChunk+10) || s.Certificates != uint64(6*bulkChunk+20) {
		t.Fatalf("after the crash: %+v", s)
	}
	mustVerify(t, r)

	// An import interrupted while writing its run leaves no trace.
	var c strings.Builder
	c.WriteString("certificate_id,issuer,beneficiary_id,dose,batch,issued_at\n")
	for i := range 200_000 {
		fmt.Fprintf(&c, "C-%d,moh,B-%d,1,LOT-%d,2021-01-01\n", i, i, i%10)
	}
	head, _, _ := r.AuditHead()
	before, _ := r.Stats()
	crashAt(r, "import", 1)
	crashed(t, func() { r.ImportCertificates(ctx, strings.NewReader(c.String()), nil) })
	r.stepHook = nil
	r.Close()
	r, err = Open(path, &Options{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	s, _ := r.Stats()
	if h, _, _ := r.AuditHead(); s.Certificates != before.Certificates || s.Runs != before.Runs || h != head {
		t.Fatalf("after a crash during an import: %+v (was %+v), head %d (was %d)", s, before, h, head)
	}
	mustVerify(t, r)
	// And the same import then goes through.
	res, err := r.ImportCertificates(ctx, strings.NewReader(c.String()), nil)
	if err != nil || res.Imported != 200_000 {
		t.Fatalf("%+v %v", res, err)
	}
	mustVerify(t, r)
}
