package registry

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// TestBackupChainFollowsTheTrail: the clock stepped back an hour between
// the daily full backup and the next incremental one. The incremental
// backup continues from the full one (its base is the full's audit head),
// so restore must apply it and prune must keep it, though its name
// carries an earlier time; restoring only the full one would silently
// lose the revocations made since.
func TestBackupChainFollowsTheTrail(t *testing.T) {
	r, c := openTest(t)
	dir := t.TempDir()
	steps := history(t, r, c, t.TempDir())
	steps[0]()
	steps[1]()
	c.t = c.t.Add(time.Hour)
	if _, err := r.BackupTo(dir, nil); err != nil {
		t.Fatal(err)
	}
	c.t = c.t.Add(-time.Hour) // the clock is put right
	for _, s := range steps[2:] {
		s()
	}
	inc, err := r.BackupTo(dir, &BackupOptions{Incremental: true})
	if err != nil {
		t.Fatal(err)
	}
	if removed, err := PruneBackups(dir, DefaultRetention, c.t, true); err != nil || len(removed) != 0 {
		t.Fatalf("prune would remove %+v (%v): the incremental backup after the newest full one", removed, err)
	}
	got, res := restoreFrom(t, dir, nil)
	if len(res.Backups) != 2 || res.Backups[1] != inc.Name {
		t.Fatalf("restored from %v, want the full backup and %s", res.Backups, inc.Name)
	}
	sameContent(t, contentOf(t, got), contentOf(t, r))
}

// TestBackupRefusesAnOlderTrail: a directory holding the backups of a
// registry up to audit record N takes no backup of a registry whose trail
// is shorter (an old copy put back, another registry): a restore from the
// directory would pick one history or the other.
func TestBackupRefusesAnOlderTrail(t *testing.T) {
	r, c := openTest(t)
	dir := t.TempDir()
	for _, s := range history(t, r, c, t.TempDir()) {
		s()
	}
	if _, err := r.BackupTo(dir, nil); err != nil {
		t.Fatal(err)
	}
	other, oc := openAt(t, filepath.Join(t.TempDir(), "other.db"))
	oc.t = c.t.Add(time.Hour)
	history(t, other, oc, t.TempDir())[0]()
	before, _ := ListBackups(dir)
	_, err := other.BackupTo(dir, nil)
	if !errors.Is(err, ErrBackup) {
		t.Fatalf("backup of a shorter trail into %s: %v", dir, err)
	}
	if after, _ := ListBackups(dir); len(after) != len(before) {
		t.Fatalf("backups now %+v", after)
	}
}
