package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/store"
)

// cliEnv makes the test binary run a crlverify command line (a JSON list
// of arguments) as its own process: see TestCLIProcess.
const cliEnv = "CRLVERIFY_CLI_TEST_ARGS"

// TestCLIProcess is the child's side; it does nothing in a normal run.
func TestCLIProcess(t *testing.T) {
	arg := os.Getenv(cliEnv)
	if arg == "" {
		t.Skip("runs only as a child of the tests that need crlverify in its own process")
	}
	var args []string
	if err := json.Unmarshal([]byte(arg), &args); err != nil {
		t.Fatal(err)
	}
	if len(args) > 0 && args[0] == "damage-cases" {
		damageCases(args[1:])
		os.Exit(0)
	}
	os.Exit(run(args))
}

// cliProcess returns crlverify args as a command of its own.
func cliProcess(t *testing.T, args ...string) *exec.Cmd {
	t.Helper()
	b, err := json.Marshal(args)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestCLIProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), cliEnv+"="+string(b))
	return cmd
}

// runProcess runs crlverify args in a process of its own and returns its
// exit code, stdout and stderr.
func runProcess(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	cmd := cliProcess(t, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		if !ee.Exited() {
			t.Fatalf("crlverify %v: %v\n%s", args, err, errb.String())
		}
		return ee.ExitCode(), out.String(), errb.String()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0, out.String(), errb.String()
}

// publishList writes into dir a full snapshot of publisher "ministry"
// revoking ids, as serial, made at this and due at next, and its index;
// it returns the JWKS path.
func publishList(t *testing.T, dir string, serial uint64, key jwk.Key, ids []string, this, next time.Time) string {
	t.Helper()
	es := make([]crl.Entry, 0, len(ids))
	for _, id := range ids {
		es = append(es, crl.Entry{Key: crl.KeyOf(testIssuer, id), RevokedAt: this.Add(-time.Hour).Unix(), Reason: crl.ReasonDataError})
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
	var body bytes.Buffer
	w := snapshot.NewBodyWriter(&body)
	for _, e := range es {
		must(t, w.Upsert(e))
	}
	info, err := w.Close()
	must(t, err)
	h := &snapshot.Header{Publisher: "ministry", Issuers: []string{testIssuer}, Serial: serial,
		ThisUpdate: this, NextUpdate: next, Kind: snapshot.KindFull,
		ListDigest: info.Digest, ListCount: uint64(len(es)), Upserts: uint64(len(es)), BodyLength: info.Length, BodyDigest: info.Digest}
	var file bytes.Buffer
	must(t, snapshot.WriteSnapshot(&file, h, key, &body))
	name := snapshot.FullName(serial)
	must(t, os.WriteFile(filepath.Join(dir, name), file.Bytes(), 0o644))
	ix := &snapshot.Index{Publisher: "ministry", Issuers: []string{testIssuer}, Serial: serial, ThisUpdate: this, NextUpdate: next,
		Full: snapshot.IndexFile{Name: name, Kind: snapshot.KindFull, Serial: serial, Length: int64(file.Len()), Digest: sha256.Sum256(file.Bytes())}}
	var ixb bytes.Buffer
	must(t, snapshot.WriteIndex(&ixb, ix, key))
	must(t, os.WriteFile(filepath.Join(dir, snapshot.IndexName), ixb.Bytes(), 0o644))
	return writeJWKS(t, key)
}

func ids(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// TestChecksWhileSyncDownloads: a sync in its own process is held in the
// middle of a download (and then applies); check and status in other
// processes keep answering from the stored list meanwhile, and from the
// new one after.
func TestChecksWhileSyncDownloads(t *testing.T) {
	key := newKey(t)
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	jwks := publishList(t, dir, 1, key, ids("old", 20000), now.Add(-time.Hour), now.Add(23*time.Hour))
	st := filepath.Join(t.TempDir(), "store.db")
	if code, out, errs := runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st); code != ExitOK {
		t.Fatalf("first sync: %d %q %q", code, out, errs)
	}
	publishList(t, dir, 2, key, append(ids("old", 20000), ids("new", 20000)...), now.Add(-time.Minute), now.Add(23*time.Hour))

	requested := make(chan struct{})
	release := make(chan struct{})
	var once sync.Once
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, ".crl") {
			http.FileServer(http.Dir(dir)).ServeHTTP(w, r)
			return
		}
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.WriteHeader(http.StatusOK)
		w.Write(b[:len(b)/2])
		w.(http.Flusher).Flush()
		once.Do(func() { close(requested) })
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		w.Write(b[len(b)/2:])
	}))
	defer srv.Close()
	defer func() {
		select {
		case <-release:
		default:
			close(release)
		}
	}()

	syncer := cliProcess(t, "sync", "--from", srv.URL, "--jwks", jwks, "--store", st)
	var syncOut, syncErr bytes.Buffer
	syncer.Stdout, syncer.Stderr = &syncOut, &syncErr
	must(t, syncer.Start())
	select {
	case <-requested:
	case <-time.After(2 * time.Minute):
		t.Fatal("the sync never asked for the snapshot")
	}
	code, out, errs := runProcess(t, "check", "--store", st, "old-7", "new-7")
	if code != ExitInvalid || !strings.Contains(out, "old-7: REVOKED") || !strings.Contains(out, "new-7: NOT REVOKED; list ministry serial 1") {
		t.Fatalf("check during the sync: %d %q %q", code, out, errs)
	}
	code, out, errs = runProcess(t, "status", "--store", st)
	if code != ExitOK || !strings.Contains(out, "ministry  serial 1  FRESH  20000 entries") {
		t.Fatalf("status during the sync: %d %q %q", code, out, errs)
	}
	close(release)
	if err := syncer.Wait(); err != nil || !strings.Contains(syncOut.String(), "serial 1 -> 2 (full), 40000 entries") {
		t.Fatalf("sync: %v %q %q", err, syncOut.String(), syncErr.String())
	}
	code, out, _ = runProcess(t, "check", "--store", st, "new-7")
	if code != ExitInvalid || !strings.Contains(out, "new-7: REVOKED") || !strings.Contains(out, "serial 2") {
		t.Fatalf("check after the sync: %d %q", code, out)
	}
}

// TestSyncTimeout: a server that sends a byte a tenth of a second keeps
// sync going until --timeout; the store keeps its list.
func TestSyncTimeout(t *testing.T) {
	key := newKey(t)
	dir, jwks := publication(t, 1, key)
	st := filepath.Join(t.TempDir(), "store.db")
	if code, _, errs := runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st); code != ExitOK {
		t.Fatalf("first sync: %d %q", code, errs)
	}
	publishInto(t, dir, 2, key)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := os.ReadFile(filepath.Join(dir, filepath.Base(r.URL.Path)))
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(b)))
		w.WriteHeader(http.StatusOK)
		for _, c := range b {
			select {
			case <-r.Context().Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
			if _, err := w.Write([]byte{c}); err != nil {
				return
			}
			w.(http.Flusher).Flush()
		}
	}))
	defer srv.Close()
	code, out, errs := runCLI(t, "sync", "--from", srv.URL, "--jwks", jwks, "--store", st, "--timeout", "2s")
	if code != ExitError || out != "" || !strings.Contains(errs, "did not finish within its time limit of 2s") {
		t.Fatalf("trickled sync: %d %q %q", code, out, errs)
	}
	if code, out, _ := runCLI(t, "check", "--store", st, "revoked-1"); code != ExitInvalid || !strings.Contains(out, "serial 1") {
		t.Fatalf("store after the time limit: %d %q", code, out)
	}
}

// TestSyncExitCodes: a 304 to a request that named no version is an
// error, not "up to date"; a feed that offers nothing newer than a stale
// list exits 3 and says so, and status says so too.
func TestSyncExitCodes(t *testing.T) {
	key := newKey(t)
	dir, jwks := publication(t, 1, key)
	st := filepath.Join(t.TempDir(), "store.db")
	liar := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNotModified)
	}))
	defer liar.Close()
	code, out, errs := runCLI(t, "sync", "--from", liar.URL, "--jwks", jwks, "--store", st)
	if code != ExitError || strings.Contains(out, "up to date") || !strings.Contains(errs, "304 Not Modified") {
		t.Fatalf("304 to an unconditional request: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, "status", "--store", st); code != ExitUnknown || !strings.Contains(errs, "no store") {
		t.Fatalf("status after the lie: %d %q", code, errs)
	}

	// A publication already past its next update, applied on purpose:
	// the list is stored, and the feed is stale.
	now := time.Now().UTC().Truncate(time.Second)
	publishList(t, dir, 2, key, ids("r", 3), now.Add(-72*time.Hour), now.Add(-48*time.Hour))
	code, out, errs = runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st, "--allow-expired")
	if code != ExitUnknown || !strings.Contains(out, "none -> serial 2") || !strings.Contains(errs, "the publisher's feed is stale") {
		t.Fatalf("stale feed: %d %q %q", code, out, errs)
	}
	// Frozen: the next sync finds nothing newer.
	code, out, errs = runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st)
	if code != ExitUnknown || !strings.Contains(out, "serial 2 up to date") || !strings.Contains(out, "STALE") ||
		!strings.Contains(errs, "offers nothing newer than serial 2, which was due to be replaced at") {
		t.Fatalf("frozen feed: %d %q %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "status", "--store", st)
	if code != ExitUnknown || !strings.Contains(out, "STALE") || !strings.Contains(out, "the publisher's feed is stale") || strings.Contains(out, ": ok") {
		t.Fatalf("status of a frozen feed: %d %q", code, out)
	}
	// Under --json the summary, then the error that ends the sync, as
	// its last line.
	code, out, _ = runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st, "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var sum, end map[string]any
	must(t, json.Unmarshal([]byte(lines[0]), &sum))
	must(t, json.Unmarshal([]byte(lines[len(lines)-1]), &end))
	if code != ExitUnknown || len(lines) != 2 || sum["stale"] != true || sum["up_to_date"] != true ||
		end["exit_code"] != 3.0 || !strings.Contains(fmt.Sprint(end["error"]), "the publisher's feed is stale") {
		t.Fatalf("frozen feed, --json: %d %q", code, out)
	}
}

// TestTimesAtTheExtremes: a check at the year 1 and a list made in the
// year 9999 are answered (clock behind, exit 3), not a crash.
func TestTimesAtTheExtremes(t *testing.T) {
	key := newKey(t)
	dir, jwks := publication(t, 1, key)
	st := filepath.Join(t.TempDir(), "store.db")
	if code, _, errs := runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st); code != ExitOK {
		t.Fatalf("sync: %d %q", code, errs)
	}
	for _, at := range []string{"0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"} {
		code, out, errs := runCLI(t, "check", "--store", st, "--at", at, "fine-1", "revoked-1")
		if code != ExitInvalid || !strings.Contains(out, "fine-1: NOT REVOKED") || !strings.Contains(out, "over 290 years") {
			t.Fatalf("check at %s: %d %q %q", at, code, out, errs)
		}
	}
	far := filepath.Join(t.TempDir(), "far.db")
	farDir := t.TempDir()
	this := time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)
	jwks = publishList(t, farDir, 1, key, ids("r", 2), this, this.AddDate(0, 6, 0))
	if code, _, errs := runCLI(t, "sync", "--from", farDir, "--jwks", jwks, "--store", far); code != ExitOK {
		t.Fatalf("sync of a list made in 9999: %d %q", code, errs)
	}
	code, out, errs := runCLI(t, "check", "--store", far, "r-1", "x")
	if code != ExitInvalid || !strings.Contains(out, "clock_behind") {
		t.Fatalf("check against a list made in 9999: %d %q %q", code, out, errs)
	}
	code, out, errs = runCLI(t, "status", "--store", far)
	if code != ExitUnknown || !strings.Contains(out, "CLOCK_BEHIND") || !strings.Contains(out, "in over 290 years") {
		t.Fatalf("status of a list made in 9999: %d %q %q", code, out, errs)
	}
	if code, _, _ := runCLI(t, "status", "--store", far, "--json"); code != ExitUnknown {
		t.Fatalf("status --json of a list made in 9999: %d", code)
	}
}

// TestForgetSources: a record of syncs from a source that has no list (as
// an earlier version left after failed syncs) shows in status, and forget
// removes it; forgetting a publisher removes its sources' records too.
func TestForgetSources(t *testing.T) {
	key := newKey(t)
	dir, jwks := publication(t, 1, key)
	st := filepath.Join(t.TempDir(), "store.db")
	if code, _, errs := runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st); code != ExitOK {
		t.Fatalf("sync: %d %q", code, errs)
	}
	s, err := store.Open(st, nil)
	must(t, err)
	must(t, s.PutSyncRecord(store.SyncRecord{Source: "https://typo.example/crl/", LastAttempt: time.Now(), LastError: "no such host"}))
	s.Close()
	code, out, _ := runCLI(t, "status", "--store", st)
	if code != ExitOK || !strings.Contains(out, "source https://typo.example/crl/  no list (crlverify forget https://typo.example/crl/ removes this record)") {
		t.Fatalf("status: %d %q", code, out)
	}
	if code, out, errs := runCLI(t, "forget", "--store", st, "https://typo.example/crl/"); code != ExitOK || out != "forgot source https://typo.example/crl/\n" {
		t.Fatalf("forget a source: %d %q %q", code, out, errs)
	}
	if code, out, _ := runCLI(t, "status", "--store", st); code != ExitOK || strings.Contains(out, "typo") {
		t.Fatalf("status after forget: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, "forget", "--store", st, "https://typo.example/crl/"); code != ExitError || !strings.Contains(errs, "nor a record of syncs") {
		t.Fatalf("forget it again: %d %q", code, errs)
	}
	if code, out, _ := runCLI(t, "forget", "--store", st, "ministry"); code != ExitOK || out != "forgot ministry: serial 1, 2 entries\n" {
		t.Fatalf("forget ministry: %d %q", code, out)
	}
	code, out, errs := runCLI(t, "status", "--store", st)
	if code != ExitUnknown || strings.Contains(out, "no list") || strings.Contains(out, dir) {
		t.Fatalf("status after forgetting the publisher: %d %q %q", code, out, errs)
	}
}

// damageCases runs, in this process, status, check, sync and forget on
// damaged copies of a store: args are the directory of the fixture and
// the names of the cases (files in it). Each command's outcome is one
// JSON line on stdout; a "begin" line before it names what a crash
// interrupted.
func damageCases(args []string) {
	dir := args[0]
	enc := json.NewEncoder(os.Stdout)
	for _, name := range args[1:] {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			panic(err)
		}
		work, err := os.MkdirTemp("", "damage")
		if err != nil {
			panic(err)
		}
		st := filepath.Join(work, "store.db")
		if err := os.WriteFile(st, b, 0o600); err != nil {
			panic(err)
		}
		for _, cmd := range damageCommands(dir, st) {
			fmt.Printf("begin %s %s\n", name, cmd[0])
			var out, errb bytes.Buffer
			root := NewRootCommand()
			root.SetOut(&out)
			root.SetErr(&errb)
			code := execute(root, cmd, &errb)
			enc.Encode(damageOutcome{Case: name, Command: cmd[0], Code: code, Stdout: out.String(), Stderr: errb.String()})
		}
		os.RemoveAll(work)
	}
}

type damageOutcome struct {
	Case, Command  string
	Code           int
	Stdout, Stderr string
}

func damageCommands(fixture, st string) [][]string {
	return [][]string{
		{"status", "--store", st},
		{"check", "--store", st, "r-1", "r-777", "absent-1", "absent-2"},
		{"sync", "--from", filepath.Join(fixture, "pub"), "--jwks", filepath.Join(fixture, "keys.jwks"), "--store", st},
		{"forget", "--store", st, "ministry"},
	}
}

// TestDamagedStore: status, check, sync and forget on a store file cut at
// several sizes, emptied, or with random bits flipped, each in a process
// of its own (a memory fault ends a process): every command either
// reports the damage (exit 2, naming the file and the way out) or does
// exactly what it does with the intact file; none crashes.
func TestDamagedStore(t *testing.T) {
	fixture := t.TempDir()
	key := newKey(t)
	pub := filepath.Join(fixture, "pub")
	must(t, os.Mkdir(pub, 0o755))
	now := time.Now().UTC().Truncate(time.Second)
	jwks := publishList(t, pub, 1, key, ids("r", 5000), now.Add(-time.Hour), now.Add(23*time.Hour))
	must(t, os.Rename(jwks, filepath.Join(fixture, "keys.jwks")))
	st := filepath.Join(t.TempDir(), "store.db")
	if code, _, errs := runCLI(t, "sync", "--from", pub, "--jwks", filepath.Join(fixture, "keys.jwks"), "--store", st); code != ExitOK {
		t.Fatalf("sync: %d %q", code, errs)
	}
	publishList(t, pub, 2, key, ids("r", 5001), now.Add(-time.Minute), now.Add(23*time.Hour))
	pristine, err := os.ReadFile(st)
	must(t, err)
	var cases []string
	add := func(name string, b []byte) {
		must(t, os.WriteFile(filepath.Join(fixture, name), b, 0o600))
		cases = append(cases, name)
	}
	add("intact", pristine)
	n := len(pristine)
	for _, size := range []int{0, 100, 8191, 10000, n / 2, n - 4096, n - 1} {
		add(fmt.Sprintf("cut-%d", size), pristine[:size])
	}
	seeds := 120
	if testing.Short() {
		seeds = 20
	}
	for seed := range seeds {
		r := rand.New(rand.NewPCG(uint64(seed), 5))
		b := bytes.Clone(pristine)
		for range 1 + seed%2 {
			i := r.IntN(len(b))
			b[i] ^= 1 << r.IntN(8)
		}
		add(fmt.Sprintf("flip-%d", seed), b)
	}
	cmd := cliProcess(t, append([]string{"damage-cases", fixture}, cases...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	var intact = map[string]damageOutcome{}
	last := ""
	reported := map[string]bool{}
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "begin ") {
			last = line
			continue
		}
		var o damageOutcome
		must(t, json.Unmarshal([]byte(line), &o))
		switch {
		case o.Case == "intact":
			intact[o.Command] = o
			if o.Code != ExitOK && o.Code != ExitInvalid {
				t.Fatalf("intact store: %+v", o)
			}
		case o.Code == ExitError && strings.Contains(o.Stderr, "damaged store file") &&
			strings.Contains(o.Stderr, "store.db") && strings.Contains(o.Stderr, "run crlverify sync"):
			reported[o.Case] = true
		case o.Code == intact[o.Command].Code && agesAside(o.Stdout) == agesAside(intact[o.Command].Stdout):
		default:
			t.Errorf("%s: %s: exit %d\nstdout %q\nstderr %q\nthe intact store gives exit %d, %q", o.Case, o.Command, o.Code, o.Stdout, o.Stderr,
				intact[o.Command].Code, intact[o.Command].Stdout)
		}
		last = ""
	}
	err = cmd.Wait()
	if err != nil || last != "" {
		t.Fatalf("the commands' process ended during %q: %v\n%s", last, err, stderr.String())
	}
	for _, c := range cases {
		if strings.HasPrefix(c, "cut-") && !reported[c] {
			t.Errorf("%s: no damage reported", c)
		}
	}
	t.Logf("%d of %d damaged copies reported as damaged; the others behaved as the intact one", len(reported), len(cases)-1)
}

var ageRE = regexp.MustCompile(`[0-9hms.d-]+ (old|ago)`)

// agesAside drops what changes between two runs of a command: ages, and
// the time of the last sync.
func agesAside(s string) string {
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if !strings.Contains(line, "last sync:") {
			b.WriteString(ageRE.ReplaceAllString(line, "AGE") + "\n")
		}
	}
	return b.String()
}

// TestSyncForkedHistory: after the publisher's registry is restored from a
// backup and publishes the stored serial again with other entries, sync
// replaces the list from the full snapshot and says so, and check answers
// from the list the publisher publishes now.
func TestSyncForkedHistory(t *testing.T) {
	key := newKey(t)
	jwks := writeJWKS(t, key)
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	open := func(path string) *registry.Registry {
		r, err := registry.Open(path, nil)
		must(t, err)
		t.Cleanup(func() { r.Close() })
		return r
	}
	publish := func(r *registry.Registry, pub string, at time.Time, ids ...string) {
		for _, id := range ids {
			_, err := r.Revoke(context.Background(), registry.Request{Selector: registry.Selector{Issuer: testIssuer, CertificateID: id},
				Reason: crl.ReasonDataError, At: at.Add(-time.Hour), Actor: "test"})
			must(t, err)
		}
		_, err := r.Publish(pub, key, &registry.PublishOptions{Publisher: "ministry", Now: at})
		must(t, err)
	}
	orig, restored := filepath.Join(dir, "pub"), filepath.Join(dir, "pub-restored")
	must(t, os.Mkdir(orig, 0o755))
	regPath := filepath.Join(dir, "registry.db")
	r := open(regPath)
	publish(r, orig, now.Add(-3*time.Hour), ids("base", 300)...)
	r.Close()
	b, err := os.ReadFile(regPath)
	must(t, err)
	backup := filepath.Join(dir, "backup.db")
	must(t, os.WriteFile(backup, b, 0o600))
	must(t, os.CopyFS(restored, os.DirFS(orig)))
	publish(open(regPath), orig, now.Add(-2*time.Hour), "y")
	st := filepath.Join(t.TempDir(), "store.db")
	if code, out, errs := runCLI(t, "sync", "--from", orig, "--jwks", jwks, "--store", st); code != ExitOK || !strings.Contains(out, "serial 2") {
		t.Fatalf("original history: %d %q %q", code, out, errs)
	}
	publish(open(backup), restored, now.Add(-time.Hour), "z")
	code, out, errs := runCLI(t, "sync", "--from", restored, "--jwks", jwks, "--store", st)
	if code != ExitOK || !strings.Contains(out, "ministry: serial 2 -> 2 (full)") || !strings.Contains(out, "the publisher's history forked at serial 2") {
		t.Fatalf("forked history: %d %q %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "check", "--store", st, "z", "y")
	if code != ExitInvalid || !strings.Contains(out, "z: REVOKED") || !strings.Contains(out, "y: NOT REVOKED") {
		t.Fatalf("check after the fork: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "sync", "--from", restored, "--jwks", jwks, "--store", st, "--json")
	var sum map[string]any
	must(t, json.Unmarshal([]byte(out), &sum))
	if code != ExitOK || sum["up_to_date"] != true || sum["forked"] != nil {
		t.Fatalf("again: %d %v", code, sum)
	}
}

// TestConcurrentSyncs: two sync processes on one store at once both end
// well, and the store holds the new list.
func TestConcurrentSyncs(t *testing.T) {
	key := newKey(t)
	dir := t.TempDir()
	now := time.Now().UTC().Truncate(time.Second)
	jwks := publishList(t, dir, 1, key, ids("a", 1000), now.Add(-time.Hour), now.Add(23*time.Hour))
	st := filepath.Join(t.TempDir(), "store.db")
	if code, _, errs := runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st); code != ExitOK {
		t.Fatalf("first sync: %d %q", code, errs)
	}
	publishList(t, dir, 2, key, ids("a", 30000), now.Add(-time.Minute), now.Add(23*time.Hour))
	var wg sync.WaitGroup
	results := make([]string, 2)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			code, out, errs := runProcess(t, "sync", "--from", dir, "--jwks", jwks, "--store", st)
			results[i] = fmt.Sprintf("%d %q %q", code, out, errs)
			if code != ExitOK {
				t.Errorf("sync %d: %s", i, results[i])
			}
		}()
	}
	wg.Wait()
	if code, out, _ := runCLI(t, "check", "--store", st, "a-29999"); code != ExitInvalid || !strings.Contains(out, "serial 2") {
		t.Fatalf("after two syncs (%v): %d %q", results, code, out)
	}
}
