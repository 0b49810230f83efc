package crlsync

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/store"
)

// trickle answers with the real length and then one byte per tenth of a
// second: a 700-byte index takes over a minute.
func trickle(w http.ResponseWriter, r *http.Request, body []byte) {
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	for _, c := range body {
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
}

// TestTotalTimeout: a server that sends a byte every tenth of a second
// keeps the stall timer from firing, but the sync ends at its time limit
// with ErrTimeout, and the store keeps its list.
func TestTotalTimeout(t *testing.T) {
	p := newTestPub(t)
	revokeN(p, "a", 300)
	p.publish(t0)
	srv := newServer(t, p)
	st := openStore(t)
	now := t0.Add(time.Hour)
	if _, err := newSyncer(t, st, srv.URL+"/pub", p.keys, &now, nil).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.revoke("b")
	p.publish(t0.Add(2 * time.Hour))
	for _, slow := range []string{snapshot.IndexName, ".crl"} {
		t.Run(slow, func(t *testing.T) {
			srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
				if !strings.HasSuffix(r.URL.Path, slow) {
					return false
				}
				trickle(w, r, p.read(filepath.Base(r.URL.Path)))
				return true
			})
			defer srv.setHook(nil)
			s := newSyncer(t, st, srv.URL+"/pub", p.keys, &now, &Options{Timeout: 2 * time.Second, Backoff: time.Millisecond})
			_, err := s.Sync(context.Background())
			if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "time limit of 2s") {
				t.Fatalf("got %v, want ErrTimeout", err)
			}
			t.Log(err)
			if l, _ := st.List("ministry"); l.Serial != 1 {
				t.Fatalf("store changed: serial %d", l.Serial)
			}
			if r, err := st.Check(issuer, "a-1", now); err != nil || r.Status != store.Revoked || r.Serial != 1 {
				t.Fatalf("store after the time limit: %+v %v", r, err)
			}
		})
	}
}

// countingDoer counts the requests a real client sends.
type countingDoer struct {
	c *http.Client
	n atomic.Int32
}

func (d *countingDoer) Do(r *http.Request) (*http.Response, error) {
	d.n.Add(1)
	return d.c.Do(r)
}

// TestTransportErrorsRetried: a refused connection is retried, and the
// error wraps ErrSource, not a cancellation.
func TestTransportErrorsRetried(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := newTestPub(t)
	st := openStore(t)
	now := t0
	doer := &countingDoer{c: &http.Client{}}
	s := newSyncer(t, st, "http://"+addr+"/pub", p.keys, &now, &Options{HTTPClient: doer, Attempts: 3, Backoff: time.Millisecond})
	_, err = s.Sync(context.Background())
	if !errors.Is(err, ErrSource) || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "refused") {
		t.Fatalf("refused connection: %v", err)
	}
	if n := doer.n.Load(); n != 3 {
		t.Fatalf("%d attempts, want 3", n)
	}
	// A sync cancelled by its caller is not retried.
	doer.n.Store(0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.Sync(ctx); !errors.Is(err, context.Canceled) || doer.n.Load() > 1 {
		t.Fatalf("cancelled sync: %v after %d attempts", err, doer.n.Load())
	}
}

// TestNotModifiedToUnconditionalRequest: a server that answers 304 to a
// request that named no version lies; the sync fails, and leaves nothing.
func TestNotModifiedToUnconditionalRequest(t *testing.T) {
	p := newTestPub(t)
	p.publish(t0)
	srv := newServer(t, p)
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusNotModified)
		return true
	})
	st := openStore(t)
	now := t0
	s := newSyncer(t, st, srv.URL+"/pub", p.keys, &now, nil)
	sum, err := s.Sync(context.Background())
	if !errors.Is(err, ErrSource) || sum.UpToDate {
		t.Fatalf("304 to an unconditional request: %+v %v", sum, err)
	}
	assertNothingStored(t, st)
}

// assertNothingStored: st holds no list, no record, and no file.
func assertNothingStored(t *testing.T, st *store.Store) {
	t.Helper()
	if recs, err := st.SyncRecords(); err != nil || len(recs) != 0 || len(st.Lists()) != 0 {
		t.Fatalf("left behind: records %+v, lists %+v, %v", recs, st.Lists(), err)
	}
	if _, err := os.Stat(st.Path()); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("store file: %v", err)
	}
}

// TestFailedSyncLeavesNothing: a publisher whose signed index is made ten
// days ahead, and whose snapshot then fails to download, leaves nothing
// in the store: another publisher's checks stay fresh; and a source that
// never delivered a list leaves no record.
func TestFailedSyncLeavesNothing(t *testing.T) {
	st := openStore(t)
	now := t0.Add(time.Hour)
	s := newSyncer(t, st, t.TempDir(), nil, &now, nil) // no index
	if _, err := s.Sync(context.Background()); !errors.Is(err, ErrSource) {
		t.Fatalf("missing source: %v", err)
	}
	assertNothingStored(t, st)

	good := newTestPub(t)
	revokeN(good, "a", 10)
	good.publish(t0)
	if _, err := newSyncer(t, st, good.dir, good.keys, &now, nil).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	ahead := newTestPub(t)
	ahead.name, ahead.issuers = "province", []string{"did:web:province.example"}
	ahead.publish(t0.Add(10 * 24 * time.Hour))
	srv := newServer(t, ahead)
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if strings.HasSuffix(r.URL.Path, ".crl") {
			http.NotFound(w, r)
			return true
		}
		return false
	})
	if _, err := newSyncer(t, st, srv.URL+"/pub", ahead.keys, &now, nil).Sync(context.Background()); !errors.Is(err, ErrSource) {
		t.Fatalf("snapshot not found: %v", err)
	}
	if r, err := st.Check(issuer, "fine", now); err != nil || r.Freshness != store.Fresh || !r.Conclusive() {
		t.Fatalf("after another publisher's failed sync: %+v %v", r, err)
	}
	if recs, _ := st.SyncRecords(); len(recs) != 1 || recs[0].Source != good.dir {
		t.Fatalf("records: %+v", recs)
	}
}

// TestPartialFilesPerStore: two stores in one directory keep their
// partial downloads apart: a download cut for one is resumed by it alone.
func TestPartialFilesPerStore(t *testing.T) {
	p := newTestPub(t)
	revokeN(p, "a", 20000)
	p.publish(t0)
	srv := newServer(t, p)
	full := p.read(p.index.Full.Name)
	cutOnce(srv, full)
	dir := t.TempDir()
	open := func(name string) *store.Store {
		st, err := store.Open(filepath.Join(dir, name), nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	a, b := open("a.db"), open("b.db")
	now := t0
	if _, err := newSyncer(t, a, srv.URL+"/pub", p.keys, &now, &Options{Attempts: 1}).Sync(context.Background()); !errors.Is(err, ErrSource) {
		t.Fatalf("cut download: %v", err)
	}
	parts, _ := filepath.Glob(filepath.Join(dir, "*-part-*"))
	if len(parts) != 1 || !strings.HasPrefix(filepath.Base(parts[0]), "a.db-part-") {
		t.Fatalf("partial downloads: %v", parts)
	}
	if _, err := newSyncer(t, b, srv.URL+"/pub", p.keys, &now, nil).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(parts[0]); err != nil {
		t.Fatalf("the other store's partial download: %v", err)
	}
	srv.setHook(nil)
	if _, err := newSyncer(t, a, srv.URL+"/pub", p.keys, &now, nil).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	if log := srv.log(); len(log) != 2 || !strings.Contains(log[1], fmt.Sprintf(`range="bytes=%d-"`, len(full)/2)) {
		t.Fatalf("requests %q", log)
	}
	assertNoParts(t, a)
}
