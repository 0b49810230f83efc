package registry

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A work directory whose owner is alive is kept however old it is; the
// unlocked leftovers of killed operations are removed by the next one.
func TestWorkDirLeftovers(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "reg.db")
	old := time.Now().Add(-3 * staleWork)

	live, err := newWorkDir(path)
	if err != nil {
		t.Fatal(err)
	}
	defer live.remove()
	if err := os.WriteFile(filepath.Join(live.path, "data"), []byte("in use"), 0o600); err != nil {
		t.Fatal(err)
	}
	mk := func(name string, at time.Time) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(p, "run"), []byte("left"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, at, at); err != nil {
			t.Fatal(err)
		}
		return p
	}
	if err := os.Chtimes(live.path, old, old); err != nil {
		t.Fatal(err)
	}
	killed := mk(".reg.db.tmp-killed", time.Now())
	oldNew := mk(".reg.db.new-old", old)
	freshNew := mk(".reg.db.new-fresh", time.Now())
	other := mk(".other.db.tmp-x", old)

	next, err := newWorkDir(path)
	if err != nil {
		t.Fatal(err)
	}
	next.remove()
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	if !exists(filepath.Join(live.path, "data")) {
		t.Error("the work directory of a live operation was removed")
	}
	if haveGate && exists(killed) {
		t.Error("an unlocked work directory was kept")
	}
	if exists(oldNew) {
		t.Error("an hour-old directory killed before it was locked was kept")
	}
	if !exists(freshNew) {
		t.Error("a directory being made was removed")
	}
	if !exists(other) {
		t.Error("another registry's work directory was removed")
	}
	if exists(next.path) {
		t.Error("remove left the directory")
	}
}

// Prune removes the temporary file of a backup that did not finish, never
// that of a backup being written.
func TestPruneKeepsBackupInProgress(t *testing.T) {
	dir := t.TempDir()
	writing, err := os.CreateTemp(dir, tempPrefix+"backup-*"+tempSuffix)
	if err != nil {
		t.Fatal(err)
	}
	defer writing.Close()
	if ok, err := tryLock(writing); !ok || err != nil {
		t.Fatal("lock:", ok, err)
	}
	dead := filepath.Join(dir, tempPrefix+"backup-dead"+tempSuffix)
	if err := os.WriteFile(dead, []byte("half a backup"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := PruneBackups(dir, DefaultRetention, time.Now().Add(2*staleWork), false); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(writing.Name()); err != nil {
		t.Error("the file of a backup being written was removed:", err)
	}
	if _, err := os.Stat(dead); haveGate && err == nil {
		t.Error("the file of a backup that did not finish was kept")
	}
}
