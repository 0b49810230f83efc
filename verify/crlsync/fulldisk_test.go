//go:build linux

package crlsync

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/store"
)

// childEnv makes the test binary a child that syncs with a file size
// limit: "store|source|jwks".
const childEnv = "CRLVERIFY_CRLSYNC_TEST_CHILD"

// TestChildProcess is the child's side; it does nothing in a normal run.
func TestChildProcess(t *testing.T) {
	arg := os.Getenv(childEnv)
	if arg == "" {
		t.Skip("runs only as the child of TestPartialDownloadOnFullDisk")
	}
	parts := strings.Split(arg, "|")
	f, err := os.Open(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	set, err := snapshot.ReadJWKS(f)
	if err != nil {
		t.Fatal(err)
	}
	// Writes past 64 KiB fail with EFBIG, as on a full disk.
	signal.Ignore(syscall.SIGXFSZ)
	limit := uint64(64 << 10)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(parts[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := t0
	s := newSyncer(t, st, parts[1], snapshot.KeysFromSet(set), &now, nil)
	if _, err := s.Sync(context.Background()); err == nil {
		t.Fatal("sync succeeded on a full disk")
	} else {
		fmt.Printf("refused: %v\n", err)
	}
}

// TestPartialDownloadOnFullDisk: a download that the disk stops is not
// left behind to fail every later sync the same way; once there is room,
// the sync goes through.
func TestPartialDownloadOnFullDisk(t *testing.T) {
	p := newTestPub(t)
	revokeN(p, "a", 30000)
	p.publish(t0)
	if p.index.Full.Length < 128<<10 {
		t.Fatalf("fixture: snapshot of %d bytes", p.index.Full.Length)
	}
	srv := newServer(t, p)
	set, err := snapshot.PublicSet(p.key)
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	jwks := filepath.Join(dir, "keys.jwks")
	if err := os.WriteFile(jwks, b, 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "store.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+strings.Join([]string{path, srv.URL + "/pub", jwks}, "|"))
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "refused:") || !strings.Contains(string(out), "file too large") {
		t.Fatalf("child: %v\n%s", err, out)
	}
	st, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	assertNoParts(t, st)
	now := t0
	if sum, err := newSyncer(t, st, srv.URL+"/pub", p.keys, &now, &Options{Timeout: time.Minute}).Sync(context.Background()); err != nil || sum.Entries != 30000 {
		t.Fatalf("with room: %+v %v", sum, err)
	}
	assertNoParts(t, st)
}
