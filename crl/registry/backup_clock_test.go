package registry

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
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

// TestBackupChainReachesTheNewest: incremental backups taken with
// --base-seq may overlap. The chain restored is the one that reaches the
// newest record any backup holds; when none does, restore refuses rather
// than stopping short of it silently.
func TestBackupChainReachesTheNewest(t *testing.T) {
	at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	entry := func(kind string, base, seq uint64) BackupEntry {
		at = at.Add(time.Hour)
		m := BackupManifest{Kind: kind, Created: at, BaseSeq: base, AuditSeq: seq}
		e, _ := ParseBackupName(BackupName(&m))
		return e
	}
	chainOf := func(es ...BackupEntry) ([]string, error) {
		slices.SortFunc(es, func(a, b BackupEntry) int { return cmpU64(a.AuditSeq, b.AuditSeq) })
		chain, err := backupChain(es)
		var names []string
		for _, e := range chain {
			names = append(names, e.Name)
		}
		return names, err
	}
	full := entry(BackupFull, 0, 10)
	a := entry(BackupIncremental, 10, 20)
	b := entry(BackupIncremental, 10, 15)
	c := entry(BackupIncremental, 15, 25)
	got, err := chainOf(full, a, b, c)
	if err != nil || !slices.Equal(got, []string{full.Name, b.Name, c.Name}) {
		t.Fatalf("chain %v (%v), want %s, %s, %s", got, err, full.Name, b.Name, c.Name)
	}
	// Records 31 to 35 are only in an increment continuing from record
	// 15, inside the chain: no chain reaches them.
	at = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	full = entry(BackupFull, 0, 10)
	a = entry(BackupIncremental, 10, 20)
	b = entry(BackupIncremental, 20, 30)
	d := entry(BackupIncremental, 15, 35)
	got, err = chainOf(full, a, b, d)
	if !errors.Is(err, ErrBackup) || !strings.Contains(err.Error(), d.Name) {
		t.Fatalf("chain %v (%v): want a refusal naming %s", got, err, d.Name)
	}
}

// TestPruneFullSupersedesSameHead: a full backup taken in the same second
// as an incremental one reaching the same record supersedes it.
func TestPruneFullSupersedesSameHead(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var names []string
	for _, m := range []BackupManifest{
		{Kind: BackupFull, Created: at, AuditSeq: 10},
		{Kind: BackupIncremental, Created: at.Add(time.Hour), BaseSeq: 10, AuditSeq: 20},
		{Kind: BackupFull, Created: at.Add(time.Hour), AuditSeq: 20},
	} {
		n := BackupName(&m)
		if err := os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	removed, err := PruneBackups(dir, DefaultRetention, at.Add(2*time.Hour), true)
	if err != nil || len(removed) != 1 || removed[0].Name != names[1] {
		t.Fatalf("prune removes %+v (%v), want %s", removed, err, names[1])
	}
}
