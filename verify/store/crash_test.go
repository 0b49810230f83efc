//go:build linux

package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// The crash and full-disk tests run the apply in a child process: this
// test binary re-executed with childEnv set to a directory holding the
// store, the snapshot to apply and the trusted keys.
const childEnv = "CRLVERIFY_STORE_TEST_CHILD"

// crashFixture is a store at serial 1 and snapshots to serial 2.
type crashFixture struct {
	dir          string
	keys         snapshot.Keys
	list1, list2 map[crl.Key]crl.Entry
	digest1      snapshot.Digest
	digest2      snapshot.Digest
	pristine     []byte
}

func newCrashFixture(t *testing.T, n int) *crashFixture {
	t.Helper()
	dir := t.TempDir()
	p := newTestPub(t, "ministry", issuer)
	r := rand.New(rand.NewPCG(7, 7))
	for range n {
		p.upsert(crl.Entry{Key: crl.Key(r.Uint64()), RevokedAt: t0.Unix() - int64(r.IntN(6e7)), Reason: crl.Reason(r.IntN(14))})
	}
	f1 := p.publish(t0)
	fx := &crashFixture{dir: dir, keys: p.keys, list1: clone(p.list), digest1: p.digest}
	for k := range p.list {
		if r.IntN(3) == 0 {
			p.remove(k)
		}
	}
	for range n / 2 {
		p.upsert(crl.Entry{Key: crl.Key(r.Uint64()), RevokedAt: t0.Unix(), Reason: crl.ReasonFaultyBatch})
	}
	f2 := p.publish(t0.Add(time.Hour))
	fx.list2, fx.digest2 = clone(p.list), p.digest
	writeFile(t, filepath.Join(dir, "full-2.crl"), f2.Full)
	writeFile(t, filepath.Join(dir, "delta-2.crl"), f2.Delta)
	pub, err := snapshot.PublicSet(p.key)
	if err != nil {
		t.Fatal(err)
	}
	var jwks bytes.Buffer
	if err := json.NewEncoder(&jwks).Encode(pub); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "jwks.json"), jwks.Bytes())
	s := mustOpen(t, filepath.Join(dir, "store.db"), nil)
	apply(t, s, f1.Full, p.keys, t0)
	s.Close()
	fx.pristine, err = os.ReadFile(filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	return fx
}

func clone(m map[crl.Key]crl.Entry) map[crl.Key]crl.Entry {
	out := make(map[crl.Key]crl.Entry, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// verify opens the store and checks it holds list 1 or list 2 exactly,
// returning the serial.
func (fx *crashFixture) verify(t *testing.T) uint64 {
	t.Helper()
	s, err := Open(filepath.Join(fx.dir, "store.db"), nil)
	if err != nil {
		t.Fatalf("store does not open after the kill: %v", err)
	}
	defer s.Close()
	l, ok := s.List("ministry")
	if !ok {
		t.Fatal("list lost")
	}
	want, digest := fx.list1, fx.digest1
	if l.Serial == 2 {
		want, digest = fx.list2, fx.digest2
	} else if l.Serial != 1 {
		t.Fatalf("serial %d", l.Serial)
	}
	if l.ListDigest != digest || l.Count != uint64(len(want)) {
		t.Fatalf("serial %d: header does not match its list", l.Serial)
	}
	got := 0
	err = s.Entries("ministry", func(e crl.Entry) error {
		if want[e.Key] != e {
			return fmt.Errorf("entry %v is not in list %d", e.Key, l.Serial)
		}
		got++
		return nil
	})
	if err != nil || got != len(want) {
		t.Fatalf("serial %d: %d of %d entries: %v", l.Serial, got, len(want), err)
	}
	// checks answer from the list, through the Bloom filter
	n := 0
	for k, e := range want {
		r, err := s.CheckKey(issuer, k, t0.Add(time.Hour))
		if err != nil || r.Status != Revoked || *r.Entry != e || r.Serial != l.Serial {
			t.Fatalf("check after kill: %+v %v", r, err)
		}
		if n++; n == 200 {
			break
		}
	}
	assertNoGarbage(t, s)
	return l.Serial
}

func (fx *crashFixture) child(mode, file string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{mode, fx.dir, file}, "|"))
	return cmd
}

// TestChildProcess is the child's side; it does nothing in a normal run.
func TestChildProcess(t *testing.T) {
	arg := os.Getenv(childEnv)
	if arg == "" {
		t.Skip("runs only as the child of the crash and full-disk tests")
	}
	parts := strings.Split(arg, "|")
	mode, dir, file := parts[0], parts[1], parts[2]
	jwks, err := os.Open(filepath.Join(dir, "jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := snapshot.ReadJWKS(jwks)
	if err != nil {
		t.Fatal(err)
	}
	keys := snapshot.KeysFromSet(set)
	path := filepath.Join(dir, "store.db")
	if mode == "check" {
		// A reader in another process: it answers, from some list.
		s, err := Open(path, &Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		l, _ := s.List("ministry")
		r, err := s.Check(issuer, "x", t0.Add(time.Hour))
		if err != nil || r.Serial != l.Serial {
			t.Fatalf("check: %+v %v", r, err)
		}
		n := 0
		if err := s.Entries("ministry", func(crl.Entry) error { n++; return nil }); err != nil || uint64(n) != l.Count {
			t.Fatalf("entries: %d of %d: %v", n, l.Count, err)
		}
		fmt.Printf("serial=%d\n", l.Serial)
		return
	}
	s, err := Open(path, &Options{BatchEntries: 5000})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if mode == "fulldisk" {
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		signal.Ignore(syscall.SIGXFSZ)
		limit := uint64(fi.Size()) + 64<<10
		if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(filepath.Join(dir, file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var ao *ApplyOptions
	if mode == "pause" {
		// Stop in the middle of the apply until the parent closes stdin.
		paused := false
		ao = &ApplyOptions{Progress: func(done, total uint64) {
			if !paused {
				paused = true
				fmt.Printf("paused at %d of %d\n", done, total)
				io.Copy(io.Discard, os.Stdin)
			}
		}}
	}
	_, err = s.ApplySnapshot(f, keys, t0.Add(time.Hour), ao)
	if mode == "fulldisk" {
		if err == nil {
			t.Fatal("apply succeeded on a full disk")
		}
		fmt.Printf("refused: %v\n", err)
		// The store still answers from the old list.
		l, _ := s.List("ministry")
		r, cerr := s.Check(issuer, "x", t0.Add(time.Hour))
		if l.Serial != 1 || cerr != nil || r.Serial != 1 {
			t.Fatalf("after the failed apply: serial %d, check %+v %v", l.Serial, r, cerr)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
}

// TestKilledWhileApplying kills a child process applying a large snapshot
// with SIGKILL at random points, then reopens the store: it always holds
// the old list or the new one, whole.
func TestKilledWhileApplying(t *testing.T) {
	if testing.Short() {
		t.Skip("kills child processes; skipped with -short")
	}
	fx := newCrashFixture(t, 60_000)
	path := filepath.Join(fx.dir, "store.db")
	// One run to completion tells how long an apply takes here.
	start := time.Now()
	if out, err := fx.child("apply", "full-2.crl").CombinedOutput(); err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	span := time.Since(start)
	if fx.verify(t) != 2 {
		t.Fatal("completed apply did not give serial 2")
	}
	r := rand.New(rand.NewPCG(11, 12))
	seen := map[uint64]int{}
	for i := range 20 {
		writeFile(t, path, fx.pristine)
		// Some rounds kill a store that earlier kills left behind.
		for round := 0; round < 1+i%2; round++ {
			file := []string{"full-2.crl", "delta-2.crl"}[(i+round)%2]
			cmd := fx.child("apply", file)
			cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Duration(r.Int64N(int64(span))))
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			serial := fx.verify(t)
			seen[serial]++
			if serial == 2 {
				break
			}
		}
	}
	t.Logf("after kills: serial 1 %d times, serial 2 %d times", seen[1], seen[2])
}

// TestFullDisk applies a large snapshot in a child process whose file
// size limit stops the store from growing (writes fail with EFBIG, as on a
// full disk): the apply fails, the old list keeps answering, and once
// there is room the same snapshot applies.
func TestFullDisk(t *testing.T) {
	fx := newCrashFixture(t, 40_000)
	out, err := fx.child("fulldisk", "full-2.crl").CombinedOutput()
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	i := strings.Index(string(out), "refused:")
	if i < 0 {
		t.Fatalf("child output: %s", out)
	}
	t.Log(strings.SplitN(string(out[i:]), "\n", 2)[0])
	if fx.verify(t) != 1 {
		t.Fatal("old list lost")
	}
	s := mustOpen(t, filepath.Join(fx.dir, "store.db"), nil)
	defer s.Close()
	f, err := os.ReadFile(filepath.Join(fx.dir, "full-2.crl"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ApplySnapshot(bytes.NewReader(f), fx.keys, t0.Add(time.Hour), nil); err != nil {
		t.Fatal(err)
	}
}

// TestReadersInOtherProcessesDuringApply stops a child process in the
// middle of an apply: meanwhile the store opens and answers, from the old
// list, in this process and in another child; a store opened before the
// apply goes on answering from the old list after it, and from the new
// one once reloaded.
func TestReadersInOtherProcessesDuringApply(t *testing.T) {
	fx := newCrashFixture(t, 100_000)
	path := filepath.Join(fx.dir, "store.db")
	before := mustOpen(t, path, &Options{ReadOnly: true})
	defer before.Close()
	writer := fx.child("pause", "full-2.crl")
	stdin, err := writer.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := writer.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	writer.Stderr = os.Stderr
	if err := writer.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "paused") {
		t.Fatalf("writer: %q %v", line, err)
	}
	t.Logf("writer %s", strings.TrimSpace(line))
	at := t0.Add(time.Hour)
	for _, s := range []*Store{before, mustOpen(t, path, &Options{ReadOnly: true})} {
		if r, err := s.Check(issuer, "x", at); err != nil || r.Serial != 1 || r.Freshness != Fresh {
			t.Fatalf("check during the apply: %+v %v", r, err)
		}
	}
	if out, err := fx.child("check", "").Output(); err != nil || !strings.Contains(string(out), "serial=1\n") {
		t.Fatalf("check in another process during the apply: %v\n%s", err, out)
	}
	stdin.Close()
	io.Copy(io.Discard, stdout)
	if err := writer.Wait(); err != nil {
		t.Fatalf("writer: %v", err)
	}
	if r, err := before.Check(issuer, "x", at); err != nil || r.Serial != 1 {
		t.Fatalf("store opened before the apply: %+v %v", r, err)
	}
	if changed, err := before.Reload(); err != nil || !changed {
		t.Fatalf("reload: %v %v", changed, err)
	}
	if r, err := before.Check(issuer, "x", at); err != nil || r.Serial != 2 {
		t.Fatalf("after reload: %+v %v", r, err)
	}
	if out, err := fx.child("check", "").Output(); err != nil || !strings.Contains(string(out), "serial=2\n") {
		t.Fatalf("check in another process after the apply: %v\n%s", err, out)
	}
	if fx.verify(t) != 2 {
		t.Fatal("apply lost")
	}
}
