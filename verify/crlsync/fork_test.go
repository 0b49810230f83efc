package crlsync

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/store"
)

// history is an authority's registry publishing into a directory.
type history struct {
	t   *testing.T
	reg *registry.Registry
	dir string
	key jwk.Key
}

func (h *history) revoke(id string) {
	h.t.Helper()
	if _, err := h.reg.Revoke(context.Background(), registry.Request{Selector: registry.Selector{Issuer: issuer, CertificateID: id},
		Reason: crl.ReasonDataError, At: t0, Actor: "test"}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *history) publish(at time.Time) *registry.PublishResult {
	h.t.Helper()
	res, err := h.reg.Publish(h.dir, h.key, &registry.PublishOptions{Publisher: "ministry", Now: at})
	if err != nil {
		h.t.Fatal(err)
	}
	return res
}

func copyTree(t *testing.T, from, to string) {
	t.Helper()
	if err := os.CopyFS(to, os.DirFS(from)); err != nil {
		t.Fatal(err)
	}
}

// forkedHistories returns a registry that has published serials 1 and 2
// (revoking x, then y), and the same registry restored from its backup
// taken at serial 1, with a copy of its publication directory of then:
// the next serial it publishes is 2 again, with other entries.
func forkedHistories(t *testing.T) (orig, restored *history, keys snapshot.Keys) {
	key, err := snapshot.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	set, err := snapshot.PublicSet(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "registry.db")
	open := func(path string) *registry.Registry {
		r, err := registry.Open(path, nil)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	orig = &history{t: t, reg: open(path), dir: filepath.Join(dir, "pub"), key: key}
	if err := os.Mkdir(orig.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// Enough entries that a delta is smaller than a full snapshot.
	var base strings.Builder
	base.WriteString("id,issuer,reason,revoked_at\n")
	for i := range 500 {
		fmt.Fprintf(&base, "base-%d,%s,superseded,%s\n", i, issuer, t0.Format(time.RFC3339))
	}
	if _, err := orig.reg.ImportRevocations(context.Background(), strings.NewReader(base.String()), &registry.ImportOptions{Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	orig.revoke("x")
	orig.publish(t0)
	// The backup: the registry file and its publication as of serial 1.
	orig.reg.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(dir, "backup.db")
	if err := os.WriteFile(backup, b, 0o600); err != nil {
		t.Fatal(err)
	}
	copyTree(t, orig.dir, filepath.Join(dir, "pub-restored"))
	orig.reg = open(path)
	orig.revoke("y")
	orig.publish(t0.Add(time.Hour))
	restored = &history{t: t, reg: open(backup), dir: filepath.Join(dir, "pub-restored"), key: key}
	return orig, restored, snapshot.KeysFromSet(set)
}

func checkIDs(t *testing.T, st *store.Store, at time.Time, want map[string]store.Status) {
	t.Helper()
	for id, status := range want {
		if r, err := st.Check(issuer, id, at); err != nil || r.Status != status {
			t.Errorf("%s: %v %v, want %v", id, r.Status, err, status)
		}
	}
}

// TestForkedHistory: a verifier holds serial 2 of the original history;
// the restored registry publishes serial 2 again (revoking z, not y), and
// then serial 3. Whether the verifier meets the fork at serial 2 or at the
// delta to serial 3, it recovers from the full snapshot, says so, and
// answers from the list the publisher publishes now.
func TestForkedHistory(t *testing.T) {
	for _, meet := range []string{"at-equal-serial", "at-delta"} {
		t.Run(meet, func(t *testing.T) {
			orig, restored, keys := forkedHistories(t)
			srv := httptest.NewServer(http.FileServer(http.Dir(orig.dir)))
			defer srv.Close()
			st := openStore(t)
			now := t0.Add(4 * time.Hour)
			s := newSyncer(t, st, srv.URL, keys, &now, nil)
			if sum, err := s.Sync(context.Background()); err != nil || sum.NewSerial != 2 {
				t.Fatalf("original history: %+v %v", sum, err)
			}
			checkIDs(t, st, now, map[string]store.Status{"x": store.Revoked, "y": store.Revoked, "z": store.NotRevoked})

			restored.revoke("z")
			restored.publish(t0.Add(2 * time.Hour))
			if meet == "at-delta" {
				restored.revoke("w")
				restored.publish(t0.Add(3 * time.Hour))
			}
			fsrv := httptest.NewServer(http.FileServer(http.Dir(restored.dir)))
			defer fsrv.Close()
			s = newSyncer(t, st, fsrv.URL, keys, &now, nil)
			sum, err := s.Sync(context.Background())
			if err != nil || !sum.Forked || sum.ForkedAt != 2 || sum.UpToDate || !slices.Equal(sum.Applied, []snapshot.Kind{snapshot.KindFull}) {
				t.Fatalf("fork: %+v %v", sum, err)
			}
			t.Log(sum)
			checkIDs(t, st, now, map[string]store.Status{"x": store.Revoked, "y": store.NotRevoked, "z": store.Revoked})
			// The new history goes on with deltas.
			restored.revoke("v")
			restored.publish(t0.Add(4 * time.Hour))
			sum, err = s.Sync(context.Background())
			if err != nil || sum.Forked || !slices.Equal(sum.Applied, []snapshot.Kind{snapshot.KindDelta}) {
				t.Fatalf("after the fork: %+v %v", sum, err)
			}
			checkIDs(t, st, now, map[string]store.Status{"v": store.Revoked, "y": store.NotRevoked})
			// The same list again is up to date; the original history,
			// now behind, is a rollback.
			if sum, err := s.Sync(context.Background()); err != nil || !sum.UpToDate || sum.Forked {
				t.Fatalf("again: %+v %v", sum, err)
			}
		})
	}
}

// TestForkAtEqualSerialFromDirectory: the same over a directory source,
// and an index of the stored serial whose list turns out to be the stored
// one is up to date.
func TestForkAtEqualSerialFromDirectory(t *testing.T) {
	orig, restored, keys := forkedHistories(t)
	st := openStore(t)
	now := t0.Add(4 * time.Hour)
	if _, err := newSyncer(t, st, orig.dir, keys, &now, nil).Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	restored.revoke("z")
	restored.publish(t0.Add(2 * time.Hour))
	sum, err := newSyncer(t, st, restored.dir, keys, &now, nil).Sync(context.Background())
	if err != nil || !sum.Forked {
		t.Fatalf("fork: %+v %v", sum, err)
	}
	checkIDs(t, st, now, map[string]store.Status{"y": store.NotRevoked, "z": store.Revoked})
	// An index re-signed with other times, naming the same list.
	ix, err := snapshot.ReadIndex(openFile(t, filepath.Join(restored.dir, snapshot.IndexName)), keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	ix.ThisUpdate = ix.ThisUpdate.Add(time.Minute)
	f, err := os.Create(filepath.Join(restored.dir, snapshot.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	if err := snapshot.WriteIndex(f, ix, restored.key); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sum, err = newSyncer(t, st, restored.dir, keys, &now, nil).Sync(context.Background())
	if err != nil || sum.Forked || !sum.UpToDate || len(sum.Applied) != 0 {
		t.Fatalf("same list, other index times: %+v %v", sum, err)
	}
}

func openFile(t *testing.T, path string) io.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}
