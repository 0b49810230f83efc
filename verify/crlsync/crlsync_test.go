package crlsync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/store"
)

// server serves a publication directory over loopback HTTP, with ETags
// and Range support, and lets a test break it on purpose.
type server struct {
	*httptest.Server
	p *testPub

	mu       sync.Mutex
	requests []string // "name range if-none-match -> status"
	// gen counts setHook calls: a request that began before the last one
	// (a handler still streaming when its test ended) is not logged.
	gen int
	// hook, if set, may answer a request itself (returning true).
	hook func(w http.ResponseWriter, r *http.Request) bool
}

func newServer(t *testing.T, p *testPub) *server {
	s := &server{p: p}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

func (s *server) serve(w http.ResponseWriter, r *http.Request) {
	name := strings.TrimPrefix(r.URL.Path, "/pub/")
	rw := &statusRecorder{ResponseWriter: w, status: 200}
	s.mu.Lock()
	hook, gen := s.hook, s.gen
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.gen == gen {
			s.requests = append(s.requests, fmt.Sprintf("%s range=%q inm=%q -> %d", name, r.Header.Get("Range"), r.Header.Get("If-None-Match"), rw.status))
		}
		s.mu.Unlock()
	}()
	if hook != nil && hook(rw, r) {
		return
	}
	b, err := os.ReadFile(filepath.Join(s.p.dir, filepath.Base(name)))
	if err != nil {
		http.NotFound(rw, r)
		return
	}
	sum := sha256.Sum256(b)
	rw.Header().Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	http.ServeContent(rw, r, name, time.Time{}, bytes.NewReader(b))
}

func (s *server) log() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
}

func (s *server) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	s.hook = h
	s.requests = nil
	s.gen++
	s.mu.Unlock()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Flush() {
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "store.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// fixedClock returns a clock stopped at *now.
func fixedClock(now *time.Time) func() time.Time { return func() time.Time { return *now } }

func newSyncer(t *testing.T, st *store.Store, from string, keys snapshot.Keys, now *time.Time, opts *Options) *Syncer {
	t.Helper()
	o := Options{Backoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond}
	if opts != nil {
		o = *opts
	}
	o.Now = fixedClock(now)
	s, err := New(st, from, keys, &o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func revokeN(p *testPub, prefix string, n int) {
	for i := range n {
		p.revoke(fmt.Sprintf("%s-%d", prefix, i))
	}
}

func TestSyncOverHTTP(t *testing.T) {
	p := newTestPub(t)
	revokeN(p, "a", 500)
	p.publish(t0)
	srv := newServer(t, p)
	st := openStore(t)
	now := t0.Add(time.Hour)
	var phases []Phase
	s := newSyncer(t, st, srv.URL+"/pub", p.keys, &now, &Options{
		Backoff: time.Millisecond, Progress: func(pr Progress) {
			if len(phases) == 0 || phases[len(phases)-1] != pr.Phase {
				phases = append(phases, pr.Phase)
			}
		}})

	sum, err := s.Sync(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if sum.OldSerial != 0 || sum.NewSerial != 1 || sum.Entries != 500 || !slices.Equal(sum.Applied, []snapshot.Kind{snapshot.KindFull}) {
		t.Fatalf("first sync: %+v", sum)
	}
	if !slices.Contains(phases, PhaseDownload) || !slices.Contains(phases, PhaseIndex) {
		t.Errorf("progress phases %v", phases)
	}
	if r, _ := st.Check(issuer, "a-7", now); r.Status != store.Revoked || !r.Conclusive() {
		t.Fatalf("check after sync: %+v", r)
	}
	// Nothing new: a conditional GET answered 304, nothing else fetched.
	srv.setHook(nil)
	sum, err = s.Sync(context.Background())
	if err != nil || !sum.UpToDate || sum.NewSerial != 1 {
		t.Fatalf("second sync: %+v %v", sum, err)
	}
	if log := srv.log(); len(log) != 1 || !strings.HasSuffix(log[0], "-> 304") {
		t.Fatalf("requests: %q", log)
	}
	// A new serial comes as the small delta.
	p.revoke("b-1")
	p.publish(t0.Add(2 * time.Hour))
	now = t0.Add(3 * time.Hour)
	sum, err = s.Sync(context.Background())
	if err != nil || sum.OldSerial != 1 || sum.NewSerial != 2 || !slices.Equal(sum.Applied, []snapshot.Kind{snapshot.KindDelta}) {
		t.Fatalf("delta sync: %+v %v", sum, err)
	}
	if sum.BytesFetched >= p.index.Full.Length {
		t.Errorf("fetched %d bytes for a one-entry delta", sum.BytesFetched)
	}
	if !strings.Contains(sum.String(), "serial 1 -> 2 (delta), 501 entries") {
		t.Errorf("summary line %q", sum.String())
	}
	rec, ok, err := st.SyncRecord(s.Source())
	if err != nil || !ok || rec.LastError != "" || !rec.LastSuccess.Equal(now) || rec.Publisher != "ministry" {
		t.Fatalf("bookkeeping %+v %v", rec, err)
	}
	// Two serials behind with a delta available from the base: one hop.
	p.revoke("c-1")
	p.publish(t0.Add(4 * time.Hour))
	p.revoke("c-2")
	p.publish(t0.Add(5 * time.Hour))
	now = t0.Add(5 * time.Hour)
	sum, err = s.Sync(context.Background())
	if err != nil || sum.NewSerial != 4 || !slices.Equal(sum.Applied, []snapshot.Kind{snapshot.KindDelta}) {
		t.Fatalf("two behind: %+v %v", sum, err)
	}
}

// TestMassRevocationFallsBackToFull: when the delta is larger than the full
// snapshot, the full one is fetched.
func TestMassRevocationFallsBackToFull(t *testing.T) {
	p := newTestPub(t)
	revokeN(p, "a", 3000)
	p.publish(t0)
	srv := newServer(t, p)
	st := openStore(t)
	now := t0.Add(time.Hour)
	s := newSyncer(t, st, srv.URL+"/pub", p.keys, &now, nil)
	if _, err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	// replace the whole list: the delta removes 3000 and adds 3000
	clear(p.list)
	revokeN(p, "batch", 3000)
	p.publish(t0.Add(2 * time.Hour))
	var delta snapshot.IndexFile
	for _, d := range p.index.Deltas {
		if d.BaseSerial == 1 {
			delta = d
		}
	}
	if delta.Length <= p.index.Full.Length {
		t.Fatalf("fixture: delta %d bytes, full %d", delta.Length, p.index.Full.Length)
	}
	sum, err := s.Sync(context.Background())
	if err != nil || !slices.Equal(sum.Applied, []snapshot.Kind{snapshot.KindFull}) || sum.NewSerial != 2 {
		t.Fatalf("mass revocation: %+v %v", sum, err)
	}
	for _, req := range srv.log() {
		if strings.HasPrefix(req, "delta-") {
			t.Errorf("delta fetched: %s", req)
		}
	}
	if r, _ := st.Check(issuer, "batch-5", now); r.Status != store.Revoked {
		t.Fatal("new list not applied")
	}
	if r, _ := st.Check(issuer, "a-5", now); r.Status != store.NotRevoked {
		t.Fatal("old list still answering")
	}
}

// refusal runs a sync that must fail with want, and checks the store kept
// its list, still answers from it, and recorded the error.
func refusal(t *testing.T, s *Syncer, st *store.Store, want error, serial uint64) {
	t.Helper()
	_, err := s.Sync(context.Background())
	if !errors.Is(err, want) {
		t.Fatalf("got %v, want %v", err, want)
	}
	l, ok := st.List("ministry")
	if serial == 0 && ok || serial != 0 && (!ok || l.Serial != serial) {
		t.Fatalf("store changed: %+v", l)
	}
	rec, _, _ := st.SyncRecord(s.Source())
	if rec.LastError == "" {
		t.Fatal("error not recorded")
	}
	if serial != 0 {
		r, _ := st.Check(issuer, "a-1", t0.Add(time.Hour))
		if r.Status != store.Revoked || r.Serial != serial {
			t.Fatalf("after refusal: %+v", r)
		}
	}
}

func TestRefusedOverHTTP(t *testing.T) {
	p := newTestPub(t)
	revokeN(p, "a", 200)
	p.publish(t0)
	srv := newServer(t, p)
	st := openStore(t)
	now := t0.Add(time.Hour)
	s := newSyncer(t, st, srv.URL+"/pub", p.keys, &now, nil)
	if _, err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	p.revoke("new")
	p.publish(t0.Add(2 * time.Hour))
	good := p.read(snapshot.IndexName)

	t.Run("index signed by an unknown key", func(t *testing.T) {
		other := newTestPub(t)
		p.writeIndex(p.index, other.key)
		defer os.WriteFile(filepath.Join(p.dir, snapshot.IndexName), good, 0o644)
		refusal(t, s, st, snapshot.ErrUnknownKey, 1)
	})
	t.Run("tampered snapshot", func(t *testing.T) {
		name := p.index.Deltas[0].Name
		orig := p.read(name)
		bad := bytes.Clone(orig)
		bad[len(bad)-2] ^= 0x10
		os.WriteFile(filepath.Join(p.dir, name), bad, 0o644)
		defer os.WriteFile(filepath.Join(p.dir, name), orig, 0o644)
		refusal(t, s, st, snapshot.ErrDigestMismatch, 1)
	})
	t.Run("endless index", func(t *testing.T) {
		srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, snapshot.IndexName) {
				return false
			}
			endless(w, r)
			return true
		})
		defer srv.setHook(nil)
		refusal(t, s, st, snapshot.ErrTooLarge, 1)
	})
	t.Run("endless snapshot", func(t *testing.T) {
		srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
			if !strings.HasSuffix(r.URL.Path, ".crl") {
				return false
			}
			endless(w, r)
			return true
		})
		defer srv.setHook(nil)
		refusal(t, s, st, snapshot.ErrTooLarge, 1)
		if rec, _, _ := st.SyncRecord(s.Source()); rec.BytesFetched > p.index.Deltas[0].Length+int64(len(good))+1 {
			t.Fatalf("read %d bytes of an endless body", rec.BytesFetched)
		}
	})
	t.Run("server error then gives up", func(t *testing.T) {
		srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
			http.Error(w, "overloaded", http.StatusServiceUnavailable)
			return true
		})
		defer srv.setHook(nil)
		refusal(t, s, st, ErrSource, 1)
		if n := len(srv.log()); n != DefaultAttempts {
			t.Fatalf("%d attempts, want %d", n, DefaultAttempts)
		}
	})
	t.Run("rollback of the index", func(t *testing.T) {
		// the store moves to serial 2; the server goes back to serial 1's index
		if _, err := s.Sync(context.Background()); err != nil {
			t.Fatal(err)
		}
		old := *p.index
		old.Serial, old.Full, old.Deltas = 1, p.files[snapshot.FullName(1)], nil
		p.writeIndex(&old, p.key)
		defer os.WriteFile(filepath.Join(p.dir, snapshot.IndexName), good, 0o644)
		refusal(t, s, st, snapshot.ErrRollback, 2)
	})
}

// endless streams zeros forever, without a Content-Length.
func endless(w http.ResponseWriter, r *http.Request) {
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 32<<10)
	for r.Context().Err() == nil {
		if _, err := w.Write(buf); err != nil {
			return
		}
	}
}

// TestRetryAfterServerErrors: two 503s, then the file.
func TestRetryAfterServerErrors(t *testing.T) {
	p := newTestPub(t)
	revokeN(p, "a", 10)
	p.publish(t0)
	srv := newServer(t, p)
	st := openStore(t)
	now := t0
	fails := 2
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if fails > 0 {
			fails--
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return true
		}
		return false
	})
	s := newSyncer(t, st, srv.URL+"/pub/", p.keys, &now, nil)
	if sum, err := s.Sync(context.Background()); err != nil || sum.NewSerial != 1 {
		t.Fatalf("%+v %v", sum, err)
	}
}

// cutOnce makes srv send the first snapshot it is asked for (full) only
// half-way, then drop the connection.
func cutOnce(srv *server, full []byte) {
	cut := true
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		if !cut || !strings.HasSuffix(r.URL.Path, ".crl") {
			return false
		}
		cut = false
		w.Header().Set("Content-Length", fmt.Sprint(len(full)))
		w.WriteHeader(http.StatusOK)
		w.Write(full[:len(full)/2])
		w.(http.Flusher).Flush()
		if conn, _, err := http.NewResponseController(w).Hijack(); err == nil {
			conn.Close()
		}
		return true
	})
}

// TestResumeCutDownload: the connection drops half-way through the
// snapshot; the next attempt asks for the rest with a Range request.
func TestResumeCutDownload(t *testing.T) {
	p := newTestPub(t)
	revokeN(p, "a", 20000)
	p.publish(t0)
	srv := newServer(t, p)
	full := p.read(p.index.Full.Name)
	cutOnce(srv, full)
	st := openStore(t)
	now := t0
	s := newSyncer(t, st, srv.URL+"/pub", p.keys, &now, nil)
	sum, err := s.Sync(context.Background())
	if err != nil || sum.NewSerial != 1 || sum.Entries != 20000 {
		t.Fatalf("%+v %v", sum, err)
	}
	log := srv.log()
	if len(log) != 3 || !strings.Contains(log[2], fmt.Sprintf(`range="bytes=%d-"`, len(full)/2)) || !strings.HasSuffix(log[2], "206") {
		t.Fatalf("requests %q", log)
	}
	idx := int64(len(p.read(snapshot.IndexName)))
	if sum.BytesFetched != int64(len(full))+idx {
		t.Errorf("fetched %d bytes, file is %d + index %d", sum.BytesFetched, len(full), idx)
	}
	assertNoParts(t, st)
}

// TestStalledDownload: a server that sends headers and then nothing is
// abandoned after the stall timeout.
func TestStalledDownload(t *testing.T) {
	p := newTestPub(t)
	p.publish(t0)
	srv := newServer(t, p)
	srv.setHook(func(w http.ResponseWriter, r *http.Request) bool {
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		<-r.Context().Done()
		return true
	})
	st := openStore(t)
	now := t0
	s := newSyncer(t, st, srv.URL, p.keys, &now, &Options{Attempts: 2, Backoff: time.Millisecond, StallTimeout: 50 * time.Millisecond})
	if _, err := s.Sync(context.Background()); !errors.Is(err, ErrSource) {
		t.Fatalf("stalled: %v", err)
	}
}

// TestFrozenFeed: the source keeps serving the same index past its
// next-update: the sync finds nothing new and says the list is stale; an
// index that is newer but already expired is refused.
func TestFrozenFeed(t *testing.T) {
	p := newTestPub(t)
	revokeN(p, "a", 5)
	p.publish(t0)
	st := openStore(t)
	now := t0
	s := newSyncer(t, st, p.dir, p.keys, &now, nil)
	if _, err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	now = t0.Add(48 * time.Hour)
	sum, err := s.Sync(context.Background())
	if !errors.Is(err, ErrStale) || !sum.UpToDate || !sum.Stale || !strings.Contains(sum.String(), "STALE") {
		t.Fatalf("frozen: %+v %v", sum, err)
	}
	if rec, _, _ := st.SyncRecord(s.Source()); !strings.Contains(rec.LastError, "feed is stale") || !rec.LastSuccess.Equal(t0) {
		t.Fatalf("frozen feed recorded as %+v", rec)
	}
	if r, _ := st.Check(issuer, "zzz", now); r.Conclusive() || r.Freshness != store.Stale {
		t.Fatalf("check on a frozen feed: %+v", r)
	}
	p.revoke("b")
	p.publish(t0.Add(time.Hour)) // valid until t0+25h, now is t0+48h
	refusal(t, s, st, snapshot.ErrExpired, 1)
}

// TestSyncFromDirectoryAndFile: a publication directory (a USB stick) and
// a single snapshot file.
func TestSyncFromDirectoryAndFile(t *testing.T) {
	p := newTestPub(t)
	revokeN(p, "a", 100)
	p.publish(t0)
	p.revoke("b")
	p.publish(t0.Add(time.Hour))
	now := t0.Add(time.Hour)

	st := openStore(t)
	s := newSyncer(t, st, p.dir, p.keys, &now, nil)
	sum, err := s.Sync(context.Background())
	if err != nil || sum.NewSerial != 2 || !slices.Equal(sum.Applied, []snapshot.Kind{snapshot.KindFull}) {
		t.Fatalf("directory: %+v %v", sum, err)
	}

	st2 := openStore(t)
	f1 := filepath.Join(p.dir, snapshot.FullName(1))
	sum, err = newSyncer(t, st2, f1, p.keys, &now, nil).Sync(context.Background())
	if err != nil || sum.NewSerial != 1 {
		t.Fatalf("file: %+v %v", sum, err)
	}
	d := filepath.Join(p.dir, snapshot.DeltaName(1, 2))
	sum, err = newSyncer(t, st2, d, p.keys, &now, nil).Sync(context.Background())
	if err != nil || sum.OldSerial != 1 || sum.NewSerial != 2 {
		t.Fatalf("delta file: %+v %v", sum, err)
	}
	// the same file again is up to date; the older one a rollback
	if sum, err := newSyncer(t, st2, d, p.keys, &now, nil).Sync(context.Background()); err != nil || !sum.UpToDate {
		t.Fatalf("same file: %+v %v", sum, err)
	}
	if _, err := newSyncer(t, st2, f1, p.keys, &now, nil).Sync(context.Background()); !errors.Is(err, snapshot.ErrRollback) {
		t.Fatalf("older file: %v", err)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	p := newTestPub(t)
	p.publish(t0)
	st := openStore(t)
	now := t0
	runs := 0
	ctx, cancel := context.WithCancel(context.Background())
	s := newSyncer(t, st, p.dir, p.keys, &now, &Options{OnSync: func(_ Summary, err error) {
		if err != nil {
			t.Error(err)
		}
		if runs++; runs == 3 {
			cancel()
		}
	}})
	if err := s.Run(ctx, time.Millisecond); !errors.Is(err, context.Canceled) || runs != 3 {
		t.Fatalf("run: %v after %d syncs", err, runs)
	}
}

// assertNoParts: no partial download of st's is left.
func assertNoParts(t *testing.T, st *store.Store) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Dir(st.Path()))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if strings.Contains(e.Name(), "part") || strings.Contains(e.Name(), "-new-") {
			t.Errorf("temporary file left: %s", e.Name())
		}
	}
}

func FuzzRangeStart(f *testing.F) {
	for _, s := range []string{"bytes 100-199/200", "bytes 0-0/1", "bytes */200", "", "bytes -1-2/3", "items 1-2/3"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := rangeStart(s)
		if n < -1 {
			t.Fatalf("%q: %d", s, n)
		}
		if n >= 0 && !strings.HasPrefix(s, "bytes ") {
			t.Fatalf("%q accepted", s)
		}
	})
}

// A URL of a scheme other than http or https is refused as a source,
// never taken for a local path (which "ftp://host/pub" would also be).
func TestNewRefusesOtherURLSchemes(t *testing.T) {
	st := openStore(t)
	for _, from := range []string{"ftp://crl.example.org/pub/", "file:///srv/pub", "HTTPS://crl.example.org/pub/", "s3+tls://bucket/pub", ""} {
		if _, err := New(st, from, nil, nil); !errors.Is(err, ErrSource) {
			t.Errorf("New(%q): %v, want ErrSource", from, err)
		}
	}
	// A path that merely holds "://" further on is a path.
	if got := urlScheme("./pub://x"); got != "" {
		t.Errorf(`urlScheme("./pub://x") = %q`, got)
	}
}
