package registry

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// killRegistry makes a registry of n imported certificates and a few
// revocations, big enough that a backup or restore takes a while.
func killRegistry(t *testing.T, path, prefix string, n int) {
	t.Helper()
	r, err := Open(path, &Options{Actor: "setup"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var b strings.Builder
	b.WriteString("certificate_id,issuer,beneficiary_id,dose,batch,issued_at\n")
	for i := range n {
		fmt.Fprintf(&b, "%s%07d,did:in:moh,%sB%d,1,LOT-%d,2021-05-01\n", prefix, i, prefix, i, i%50)
	}
	if _, err := r.ImportCertificates(ctx, strings.NewReader(b.String()), &ImportOptions{Source: prefix + ".csv"}); err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		if _, err := r.Revoke(ctx, Request{Selector: Selector{CertificateID: fmt.Sprintf("%s%07d", prefix, i*7)}, Actor: prefix}); err != nil {
			t.Fatal(err)
		}
	}
}

// leftovers lists what operations left beside a registry or in a backup
// directory: work directories and temporary files.
func leftovers(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		if n := de.Name(); strings.Contains(n, ".tmp-") || strings.Contains(n, ".new-") || strings.HasSuffix(n, tempSuffix) {
			out = append(out, n)
		}
	}
	return out
}

// TestBackupSurvivesKill kills a process that revokes and backs up (full
// and incremental) in a loop. After every kill the registry opens and its
// audit trail verifies; the backup directory holds only complete backups,
// which restore to a registry holding every revocation acknowledged
// before the last backup began; and the next backup and prune remove what
// the killed one left.
func TestBackupSurvivesKill(t *testing.T) {
	if arg := os.Getenv(killEnv); arg != "" {
		backupLoop(t, arg)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	tmp := t.TempDir()
	regPath, dir := filepath.Join(tmp, "registry.db"), filepath.Join(tmp, "backups")
	os.Mkdir(dir, 0o700)
	killRegistry(t, regPath, "K", 30_000)
	// A first backup, so that the directory has one whenever the first
	// child is killed.
	r, err := Open(regPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.BackupTo(dir, nil); err != nil {
		t.Fatal(err)
	}
	r.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	for round := range 6 {
		lines := runKilled(t, "TestBackupSurvivesKill", regPath+"|"+dir+"|"+strconv.Itoa(round), "ready", rng, 1500*time.Millisecond)
		left := append(leftovers(t, tmp), leftovers(t, dir)...)
		r, err := Open(regPath, nil)
		if err != nil {
			t.Fatalf("round %d: open after the kill: %v", round, err)
		}
		if _, err := r.VerifyAudit(); err != nil {
			t.Fatalf("round %d: audit verify after the kill: %v", round, err)
		}
		r.Close()
		// What was acknowledged before the last completed backup began.
		var acked, backedUp []string
		for _, l := range lines {
			if id, ok := strings.CutPrefix(l, "ack "); ok {
				acked = append(acked, id)
			}
			if strings.HasPrefix(l, "backup ") {
				backedUp = append(backedUp[:0], acked...)
			}
		}
		list, err := ListBackups(dir)
		if err != nil || len(list) == 0 {
			t.Fatalf("round %d: backups %v %v", round, list, err)
		}
		target := filepath.Join(t.TempDir(), "restored.db")
		res, err := Restore(target, dir, nil)
		if err != nil {
			t.Fatalf("round %d: restore after the kill: %v", round, err)
		}
		if newest := list[len(list)-1]; res.AuditSeq != newest.AuditSeq {
			t.Fatalf("round %d: restored to record %d, the newest backup reaches %d", round, res.AuditSeq, newest.AuditSeq)
		}
		got, err := Open(target, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range backedUp {
			if st, err := got.Status("did:in:moh", id, time.Time{}); err != nil || st.State != StateRevoked {
				t.Fatalf("round %d: %s, acknowledged before the last backup, restored as %+v %v", round, id, st, err)
			}
		}
		got.Close()
		t.Logf("round %d: %d backups, %d revocations in the last; left by the kill: %v", round, len(list), len(backedUp), left)
	}
	// The next backup removes the work directory a killed one left beside
	// the registry; prune removes its unfinished file in the directory
	// (an hour on: its age is checked too).
	r, err = Open(regPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.BackupTo(dir, &BackupOptions{Now: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := PruneBackups(dir, DefaultRetention, time.Now().Add(2*time.Hour), false); err != nil {
		t.Fatal(err)
	}
	if left := append(leftovers(t, tmp), leftovers(t, dir)...); len(left) > 0 {
		t.Fatalf("left after the next backup and prune: %v", left)
	}
}

func backupLoop(t *testing.T, arg string) {
	parts := strings.SplitN(arg, "|", 3)
	regPath, dir, round := parts[0], parts[1], parts[2]
	r, err := Open(regPath, &Options{Actor: "loop", LockAttempts: 500})
	if err != nil {
		t.Fatal(err)
	}
	fmt.Println("ready")
	// Names carry the time to the second: each backup a second after the
	// newest in the directory.
	at := time.Now()
	for i := 0; ; i++ {
		for j := range 3 {
			id := fmt.Sprintf("L%s-%d-%d", round, i, j)
			if _, err := r.Revoke(context.Background(), Request{Selector: Selector{Issuer: "did:in:moh", CertificateID: id}, Actor: "loop"}); err != nil {
				fmt.Println("FAIL", err)
				return
			}
			fmt.Println("ack", id)
		}
		list, _ := ListBackups(dir)
		if len(list) > 0 && !at.After(list[len(list)-1].Created) {
			at = list[len(list)-1].Created.Add(time.Second)
		}
		res, err := r.BackupTo(dir, &BackupOptions{Now: at, Incremental: i%3 != 0 && len(list) > 0})
		if err != nil {
			fmt.Println("FAIL", err)
			return
		}
		fmt.Println("backup", res.Name)
		at = at.Add(time.Second)
	}
}

// TestRestoreSurvivesKill kills a process that restores one registry and
// then another over the same file, again and again. After every kill the
// file is one of the two registries, whole (record for record, its audit
// trail verifying), never a mix or half; and the next restore removes what
// the killed one left beside it.
func TestRestoreSurvivesKill(t *testing.T) {
	if arg := os.Getenv(killEnv); arg != "" {
		restoreLoop(t, arg)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	tmp := t.TempDir()
	var live [2]*Registry
	var dirs [2]string
	for i, prefix := range []string{"A", "B"} {
		path := filepath.Join(tmp, prefix+".db")
		killRegistry(t, path, prefix, 20_000+10_000*i)
		dirs[i] = filepath.Join(tmp, "backups-"+prefix)
		os.Mkdir(dirs[i], 0o700)
		r, err := Open(path, &Options{Actor: prefix})
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		at := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
		if _, err := r.BackupTo(dirs[i], &BackupOptions{Now: at}); err != nil {
			t.Fatal(err)
		}
		for j := range 50 { // an increment to replay
			if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "did:in:moh", CertificateID: fmt.Sprint(prefix, "-late-", j)}, Actor: prefix}); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := r.BackupTo(dirs[i], &BackupOptions{Now: at.Add(time.Hour), Incremental: true}); err != nil {
			t.Fatal(err)
		}
		live[i] = r
	}
	want := [2]registryContent{contentOf(t, live[0]), contentOf(t, live[1])}
	targetDir := filepath.Join(tmp, "target")
	os.Mkdir(targetDir, 0o700)
	target := filepath.Join(targetDir, "registry.db")
	if _, err := Restore(target, dirs[0], nil); err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(9, 10))
	for round := range 6 {
		lines := runKilled(t, "TestRestoreSurvivesKill", target+"|"+dirs[0]+"|"+dirs[1], "ready", rng, 2*time.Second)
		left := leftovers(t, targetDir)
		r, err := Open(target, nil)
		if err != nil {
			t.Fatalf("round %d: open after the kill: %v", round, err)
		}
		if _, err := r.VerifyAudit(); err != nil {
			t.Fatalf("round %d: audit verify after the kill: %v", round, err)
		}
		got := contentOf(t, r)
		r.Close()
		which := -1
		for i := range want {
			if got.Head == want[i].Head {
				which = i
			}
		}
		if which < 0 {
			t.Fatalf("round %d: the registry is neither A nor B: head %d %s", round, got.HeadSeq, got.Head)
		}
		sameContent(t, got, want[which])
		t.Logf("round %d: killed after %d restores; the file is %c; left: %v", round, len(lines)-1, 'A'+which, left)
	}
	if _, err := Restore(target, dirs[1], nil); err != nil {
		t.Fatal(err)
	}
	if left := leftovers(t, targetDir); len(left) > 0 {
		t.Fatalf("left after the next restore: %v", left)
	}
}

func restoreLoop(t *testing.T, arg string) {
	parts := strings.SplitN(arg, "|", 3)
	target, dirs := parts[0], parts[1:]
	fmt.Println("ready")
	for i := 1; ; i++ {
		if _, err := Restore(target, dirs[i%2], nil); err != nil {
			fmt.Println("FAIL", err)
			return
		}
		fmt.Println("restored", i%2)
	}
}
