package registry

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"filippo.io/age"

	"github.com/crlverify/crlverify/crl"
)

// registryContent is everything a registry holds that a restore must
// reproduce, read through the registry.
type registryContent struct {
	Records  []AuditRecord
	Items    map[uint64][]AuditItem
	Certs    []certRec
	States   map[string]revState
	Carried  []carriedEntry
	Serials  []Published
	Issuers  []string
	Stats    Stats
	Entries  []crl.Entry
	Head     Hash
	HeadSeq  uint64
	Publishr string
}

func contentOf(t testing.TB, r *Registry) registryContent {
	t.Helper()
	c := registryContent{Items: map[uint64][]AuditItem{}, States: map[string]revState{}}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.Audit(1, func(a *AuditRecord) error {
		c.Records = append(c.Records, *a)
		return nil
	}))
	for _, a := range c.Records {
		must(r.AuditItems(a.Seq, func(it AuditItem) error {
			c.Items[a.Seq] = append(c.Items[a.Seq], it)
			return nil
		}))
	}
	must(r.view(func(tx *txc) error {
		if err := tx.eachCert(func(cr *certRec) error {
			x := *cr
			x.BatchNo = 0 // numbering is the registry's own
			c.Certs = append(c.Certs, x)
			return nil
		}); err != nil {
			return err
		}
		it := tx.state.iter(nil)
		for it.next() {
			st, err := decodeState(it.val())
			if err != nil {
				return err
			}
			c.States[string(it.key())] = st
		}
		ca := tx.carriedIter()
		for ca.next() {
			e, err := decodeCarried(ca.key(), ca.val())
			if err != nil {
				return err
			}
			c.Carried = append(c.Carried, e)
		}
		c.Publishr = string(tx.meta.Get(metaPublisher))
		return it.err
	}))
	var err error
	c.Serials, err = r.PublishedSerials()
	must(err)
	c.Issuers, err = r.Issuers()
	must(err)
	c.Stats, err = r.Stats()
	must(err)
	c.Stats.FileBytes, c.Stats.Runs = 0, 0
	c.Entries = entries(t, r, t0.Add(400*24*time.Hour))
	c.HeadSeq, c.Head, err = r.AuditHead()
	must(err)
	return c
}

func sameContent(t *testing.T, got, want registryContent) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		gv, wv := reflect.ValueOf(got), reflect.ValueOf(want)
		for i := range gv.NumField() {
			if !reflect.DeepEqual(gv.Field(i).Interface(), wv.Field(i).Interface()) {
				t.Errorf("%s differs:\n got %+v\nwant %+v", gv.Type().Field(i).Name, gv.Field(i).Interface(), wv.Field(i).Interface())
			}
		}
	}
}

// history makes changes of every kind, step by step; each call to next
// applies the next group.
func history(t testing.TB, r *Registry, c *clock, pub string) []func() {
	t.Helper()
	key, _ := testKey(t)
	step := func(fn func() error) func() {
		return func() {
			t.Helper()
			c.t = c.t.Add(time.Minute)
			if err := fn(); err != nil {
				t.Fatal(err)
			}
		}
	}
	return []func(){
		step(func() error {
			_, err := r.ImportCertificates(ctx, strings.NewReader(certsCSV(
				"C1-1,did:in:moh,B1,1,LOT-A,2021-03-01",
				"C1-2,did:in:moh,B1,2,LOT-A,2021-06-01",
				"C2-1,did:in:moh,B2,1,LOT-B,2021-04-01",
				"C3-1,did:in:moh,B3,1,LOT-B,2021-05-01",
			)), &ImportOptions{Source: "a.csv", Actor: "loader"})
			return err
		}),
		step(func() error {
			_, err := r.Revoke(ctx, Request{Selector: Selector{CertificateID: "C1-1"}, Actor: "alice", Reason: crl.ReasonDataError, Note: "typo"})
			return err
		}),
		step(func() error {
			_, err := r.Publish(pub, key, &PublishOptions{Now: c.t})
			return err
		}),
		step(func() error {
			_, err := r.Suspend(ctx, Request{Selector: Selector{CertificateID: "C2-1"}, Actor: "bob", Until: c.t.Add(30 * 24 * time.Hour)})
			return err
		}),
		step(func() error { // an import with a correction, and a new issuer
			_, err := r.ImportCertificates(ctx, strings.NewReader(certsCSV(
				"C3-2,did:in:moh,B3,2,LOT-C,2021-08-01",
				"C2-9,did:in:moh,B2,1,LOT-B,2021-04-02,,C2-1",
				"S-1,https://shc.example,B9,1,,2022-01-01",
			)), &ImportOptions{Source: "b.csv", Actor: "loader"})
			return err
		}),
		step(func() error {
			_, err := r.Revoke(ctx, Request{Selector: Selector{Batch: "LOT-B"}, Actor: "carol"})
			return err
		}),
		step(func() error {
			_, err := r.Lift(ctx, Request{Selector: Selector{CertificateID: "C3-1"}, Actor: "alice", Note: "wrong batch"})
			return err
		}),
		step(func() error {
			_, err := r.ImportRevocations(ctx, strings.NewReader("id,issuer,reason\nX-1,did:in:moh,dataError\nX-2,did:other,superseded\n"), &ImportOptions{Source: "r.csv", Actor: "loader"})
			return err
		}),
		step(func() error {
			_, err := r.Publish(pub, key, &PublishOptions{Now: c.t})
			return err
		}),
		step(func() error {
			_, err := r.Revoke(ctx, Request{Selector: Selector{BeneficiaryID: "B1", AllDoses: true}, Actor: "dave", Reason: crl.ReasonTampering})
			return err
		}),
	}
}

func restoreFrom(t *testing.T, dir string, opts *RestoreOptions) (*Registry, *RestoreResult) {
	t.Helper()
	target := filepath.Join(t.TempDir(), "restored.db")
	res, err := Restore(target, dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Open(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, res
}

// TestBackupRestoreRecordForRecord: a full backup and incremental backups
// taken between changes of every kind restore to the live registry,
// record for record, encrypted or not.
func TestBackupRestoreRecordForRecord(t *testing.T) {
	for _, encrypted := range []bool{false, true} {
		t.Run(fmt.Sprint("encrypted=", encrypted), func(t *testing.T) {
			r, c := openTest(t)
			dir, pub := t.TempDir(), t.TempDir()
			var opts BackupOptions
			var ropts RestoreOptions
			if encrypted {
				id, err := age.GenerateX25519Identity()
				if err != nil {
					t.Fatal(err)
				}
				opts.Recipients = []age.Recipient{id.Recipient()}
				ropts.Identities = []age.Identity{id}
			}
			steps := history(t, r, c, pub)
			steps[0]()
			steps[1]()
			if _, err := r.BackupTo(dir, &opts); err != nil {
				t.Fatal(err)
			}
			incr := opts
			incr.Incremental = true
			incr.SliceRecords, incr.SliceItems = 2, 2 // many slices
			for i, s := range steps[2:] {
				s()
				if i%3 == 2 || i == len(steps)-3 {
					c.t = c.t.Add(time.Second)
					res, err := r.BackupTo(dir, &incr)
					if err != nil {
						t.Fatal(err)
					}
					if res.Encrypted != encrypted || res.Manifest.Records == 0 {
						t.Fatalf("%+v", res)
					}
				}
			}
			mustVerify(t, r)
			list, _ := ListBackups(dir)
			if len(list) != 4 {
				t.Fatalf("backups %+v", list)
			}
			got, res := restoreFrom(t, dir, &ropts)
			if len(res.Backups) != 4 || res.Replayed == 0 {
				t.Fatalf("restore %+v", res)
			}
			sameContent(t, contentOf(t, got), contentOf(t, r))
			// The restored registry works on: a publication, a revocation.
			key, _ := testKey(t)
			if _, err := got.Publish(pub, key, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := got.Revoke(ctx, Request{Selector: Selector{CertificateID: "C3-2"}, Actor: "eve"}); err != nil {
				t.Fatal(err)
			}
			mustVerify(t, got)
		})
	}
}

// damaged takes a registry with a full and two incremental backups and
// returns the backup directory and the restore target, which holds a
// registry of its own.
func damaged(t *testing.T, encrypt *age.X25519Identity) (dir, target string, list []BackupEntry) {
	t.Helper()
	r, c := openTest(t)
	dir = t.TempDir()
	var opts BackupOptions
	if encrypt != nil {
		opts.Recipients = []age.Recipient{encrypt.Recipient()}
	}
	steps := history(t, r, c, t.TempDir())
	for i, s := range steps {
		s()
		switch i {
		case 2:
			if _, err := r.BackupTo(dir, &opts); err != nil {
				t.Fatal(err)
			}
		case 5, 8:
			o := opts
			o.Incremental = true
			if _, err := r.BackupTo(dir, &o); err != nil {
				t.Fatal(err)
			}
		}
	}
	target = filepath.Join(t.TempDir(), "current.db")
	cur, err := Open(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cur.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: "KEEP"}, Actor: "x"}); err != nil {
		t.Fatal(err)
	}
	cur.Close()
	list, _ = ListBackups(dir)
	if len(list) != 3 {
		t.Fatalf("%+v", list)
	}
	return dir, target, list
}

func wantRefused(t *testing.T, dir, target string, opts *RestoreOptions, want error, msg string) {
	t.Helper()
	before, err := os.ReadFile(target)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Restore(target, dir, opts)
	if err == nil || (want != nil && !errors.Is(err, want)) || !strings.Contains(err.Error(), msg) {
		t.Fatalf("restore: got %v, want %v containing %q", err, want, msg)
	}
	after, _ := os.ReadFile(target)
	if !bytes.Equal(before, after) {
		t.Fatal("a refused restore changed the registry")
	}
	left, _ := filepath.Glob(filepath.Join(filepath.Dir(target), ".*"))
	if len(left) > 0 {
		t.Fatalf("temporary files left: %v", left)
	}
}

func flipByte(t *testing.T, path string, at int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if at < 0 {
		at += int64(len(b))
	}
	b[at] ^= 0x01
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestRestoreRefusesDamage: a flipped byte (anywhere: the full backup, an
// increment, encrypted or not), a wrong identity, a missing increment, a
// truncated file: restore refuses and the registry stays as it was.
func TestRestoreRefusesDamage(t *testing.T) {
	id, _ := age.GenerateX25519Identity()
	other, _ := age.GenerateX25519Identity()
	ok := &RestoreOptions{Identities: []age.Identity{id}}
	t.Run("flipped byte in the full backup", func(t *testing.T) {
		for _, at := range []int64{30, 2000, -40} {
			dir, target, list := damaged(t, nil)
			flipByte(t, filepath.Join(dir, list[0].Name), at)
			wantRefused(t, dir, target, nil, ErrBackup, "")
		}
	})
	t.Run("flipped byte in an increment", func(t *testing.T) {
		dir, target, list := damaged(t, nil)
		flipByte(t, filepath.Join(dir, list[2].Name), 300)
		wantRefused(t, dir, target, nil, ErrBackup, list[2].Name)
	})
	t.Run("flipped byte, encrypted", func(t *testing.T) {
		for _, i := range []int{0, 1} {
			dir, target, list := damaged(t, id)
			flipByte(t, filepath.Join(dir, list[i].Name), -100)
			wantRefused(t, dir, target, ok, ErrBackup, list[i].Name)
		}
	})
	t.Run("wrong identity", func(t *testing.T) {
		dir, target, _ := damaged(t, id)
		wantRefused(t, dir, target, &RestoreOptions{Identities: []age.Identity{other}}, ErrBackup, "did not match")
		wantRefused(t, dir, target, nil, ErrBackup, "give the identity")
	})
	t.Run("missing increment", func(t *testing.T) {
		dir, target, list := damaged(t, nil)
		os.Remove(filepath.Join(dir, list[1].Name))
		wantRefused(t, dir, target, nil, ErrBackup, "an incremental backup is missing")
	})
	t.Run("truncated", func(t *testing.T) {
		// Anywhere: empty, inside the header, halfway, one byte short.
		for _, enc := range []*age.X25519Identity{nil, id} {
			opts := ok
			if enc == nil {
				opts = nil
			}
			for _, i := range []int{0, 2} {
				for _, cut := range []func(int64) int64{
					func(int64) int64 { return 0 },
					func(int64) int64 { return 10 },
					func(n int64) int64 { return n / 2 },
					func(n int64) int64 { return n - 1 },
				} {
					dir, target, list := damaged(t, enc)
					p := filepath.Join(dir, list[i].Name)
					fi, _ := os.Stat(p)
					os.Truncate(p, cut(fi.Size()))
					wantRefused(t, dir, target, opts, ErrBackup, list[i].Name)
				}
			}
		}
	})
	t.Run("increment of another registry", func(t *testing.T) {
		dir, target, list := damaged(t, nil)
		// Another history: one more record at the start.
		r, c := openTest(t)
		if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "did:in:moh", CertificateID: "OTHER"}, Actor: "mallory"}); err != nil {
			t.Fatal(err)
		}
		for _, s := range history(t, r, c, t.TempDir()) {
			s()
		}
		var buf bytes.Buffer
		res, err := r.Backup(&buf, &BackupOptions{Incremental: true, BaseSeq: list[1].AuditSeq, Now: list[2].Created})
		if err != nil {
			t.Fatal(err)
		}
		os.Remove(filepath.Join(dir, list[2].Name))
		os.WriteFile(filepath.Join(dir, BackupName(&res.Manifest)), buf.Bytes(), 0o600)
		wantRefused(t, dir, target, nil, ErrBackup, "continues from audit record")
	})
}

// TestBackupUnderLoad: a backup taken while concurrent revocations arrive
// restores to a registry whose audit trail verifies and which holds every
// revocation acknowledged before the backup started.
func TestBackupUnderLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	r, err := Open(path, &Options{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := r.AddIssuers("moh"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var mu sync.Mutex
	var acked []string
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 400; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("L%d-%d", w, i)
				if _, err := r.Revoke(ctx, Request{Selector: Selector{CertificateID: id}, Actor: "load"}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				acked = append(acked, id)
				mu.Unlock()
			}
		}()
	}
	// Back up once some revocations are in, while others keep coming.
	for {
		mu.Lock()
		n := len(acked)
		mu.Unlock()
		if n >= 200 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	before := append([]string(nil), acked...)
	mu.Unlock()
	if _, err := r.BackupTo(dir, nil); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	mid := append([]string(nil), acked...)
	mu.Unlock()
	if _, err := r.BackupTo(dir, &BackupOptions{Incremental: true, Now: time.Now().Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	close(stop)
	wg.Wait()
	got, _ := restoreFrom(t, dir, nil)
	for _, ids := range [][]string{before, mid} {
		for _, id := range ids {
			st, err := got.Status("moh", id, time.Time{})
			if err != nil || st.State != StateRevoked {
				t.Fatalf("%s acknowledged before the backup: %+v %v", id, st, err)
			}
		}
	}
	t.Logf("%d revocations acknowledged before the full backup, %d before the incremental", len(before), len(mid))
}

// TestPruneBackups applies the default policy: fulls kept 14 days (the
// newest always), incrementals purged once a newer full exists.
func TestPruneBackups(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	var names []string
	seq := uint64(0)
	add := func(kind string, age time.Duration) string {
		m := BackupManifest{Kind: kind, Created: now.Add(-age), BaseSeq: seq, AuditSeq: seq + 10}
		seq += 10
		n := BackupName(&m)
		os.WriteFile(filepath.Join(dir, n), []byte("x"), 0o600)
		names = append(names, n)
		return n
	}
	oldFull := add(BackupFull, 20*24*time.Hour)
	add(BackupIncremental, 20*24*time.Hour-time.Hour)
	full13 := add(BackupFull, 13*24*time.Hour)
	inc1 := add(BackupIncremental, 25*time.Hour)
	fullNew := add(BackupFull, 2*time.Hour)
	incNew := add(BackupIncremental, time.Hour)
	os.WriteFile(filepath.Join(dir, "notes.txt"), nil, 0o600)
	removed, err := PruneBackups(dir, DefaultRetention, now, true)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range removed {
		got = append(got, e.Name)
	}
	want := []string{oldFull, names[1], inc1}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("dry run removes %v, want %v", got, want)
	}
	if _, err := os.Stat(filepath.Join(dir, oldFull)); err != nil {
		t.Fatal("dry run removed a file")
	}
	if _, err := PruneBackups(dir, DefaultRetention, now, false); err != nil {
		t.Fatal(err)
	}
	left, _ := ListBackups(dir)
	var leftNames []string
	for _, e := range left {
		leftNames = append(leftNames, e.Name)
	}
	if !reflect.DeepEqual(leftNames, []string{full13, fullNew, incNew}) {
		t.Fatalf("left %v", leftNames)
	}
	// Adjusted: fulls kept a day.
	removed, _ = PruneBackups(dir, Retention{Full: 24 * time.Hour}, now, false)
	if len(removed) != 1 || removed[0].Name != full13 {
		t.Fatalf("removed %+v", removed)
	}

	// Superseded incrementals kept a day when asked; those after the
	// newest full always, whatever their age (the restore to now needs
	// them: the daily full failed for two days).
	dir = t.TempDir()
	seq = 0
	add(BackupFull, 80*time.Hour)
	incOld := add(BackupIncremental, 79*time.Hour)
	add(BackupFull, 70*time.Hour)
	incDays := add(BackupIncremental, 60*time.Hour)
	incDay := add(BackupIncremental, 23*time.Hour)
	removed, _ = PruneBackups(dir, Retention{KeepSuperseded: true}, now, true)
	if len(removed) != 1 || removed[0].Name != incOld {
		t.Fatalf("keep superseded: removes %+v, want %s only", removed, incOld)
	}
	removed, _ = PruneBackups(dir, DefaultRetention, now, false)
	if len(removed) != 1 || removed[0].Name != incOld {
		t.Fatalf("default: removed %+v, want %s only", removed, incOld)
	}
	if left, _ := ListBackups(dir); len(left) != 4 || left[2].Name != incDays || left[3].Name != incDay {
		t.Fatalf("left %+v", left)
	}

	// A full backup taken in the same second as an incremental one, up to
	// the same record, supersedes it, though "full-" sorts first by name.
	dir = t.TempDir()
	seq = 0
	add(BackupFull, time.Hour)
	incSame := add(BackupIncremental, 0)
	m := BackupManifest{Kind: BackupFull, Created: now, AuditSeq: seq}
	os.WriteFile(filepath.Join(dir, BackupName(&m)), []byte("x"), 0o600)
	removed, _ = PruneBackups(dir, DefaultRetention, now, true)
	if len(removed) != 1 || removed[0].Name != incSame {
		t.Fatalf("same second: removes %+v, want %s only", removed, incSame)
	}
}

// TestRestoreStream: a full backup written to a stream restores from it.
func TestRestoreStream(t *testing.T) {
	r, c := openTest(t)
	for _, s := range history(t, r, c, t.TempDir()) {
		s()
	}
	var buf bytes.Buffer
	if _, err := r.Backup(&buf, nil); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "r.db")
	if _, err := RestoreStream(target, bytes.NewReader(buf.Bytes()), nil); err != nil {
		t.Fatal(err)
	}
	got, err := Open(target, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	sameContent(t, contentOf(t, got), contentOf(t, r))
	// An incremental stream alone is refused.
	buf.Reset()
	if _, err := r.Backup(&buf, &BackupOptions{Incremental: true, BaseSeq: 3}); err != nil {
		t.Fatal(err)
	}
	if _, err := RestoreStream(filepath.Join(t.TempDir(), "x.db"), &buf, nil); !errors.Is(err, ErrBackup) {
		t.Fatalf("incremental stream: %v", err)
	}
}
