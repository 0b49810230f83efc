package registry

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Two registries on one file (as "crlverify serve" and a command line
// are: each its own open file and locks) both get their work done while
// one of them commits revocations without pause.
func TestSharedFileTakesTurns(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	server, err := Open(path, &Options{Actor: "server"})
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	server.AddIssuers("moh")
	stop := make(chan struct{})
	var served atomic.Int64
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := server.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: fmt.Sprintf("s-%d-%d", g, i)}, Actor: "server"}); err != nil {
					t.Error(err)
					return
				}
				served.Add(1)
			}
		}()
	}
	time.Sleep(100 * time.Millisecond)
	cli, err := Open(path, &Options{Actor: "cli"})
	if err != nil {
		t.Fatalf("a second process opening the file: %v", err)
	}
	defer cli.Close()
	key, _ := testKey(t)
	for i := range 3 {
		before := served.Load()
		if _, err := cli.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: fmt.Sprint("cli-", i)}, Actor: "cli"}); err != nil {
			t.Fatalf("revoke from the other side: %v", err)
		}
		if _, err := cli.Publish(t.TempDir(), key, nil); err != nil {
			t.Fatalf("publish from the other side: %v", err)
		}
		if _, err := cli.ImportCertificates(ctx, strings.NewReader(certsCSV(fmt.Sprintf("I-%d,moh,B,1,L,2021-01-01", i))), nil); err != nil {
			t.Fatalf("import from the other side: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
		if served.Load() == before {
			t.Logf("round %d: the server made no progress meanwhile", i)
		}
	}
	close(stop)
	wg.Wait()
	if served.Load() == 0 {
		t.Fatal("the server revoked nothing")
	}
	mustVerify(t, cli)
}

// A process that keeps the file longer than the attempts allow gets a
// clear ErrLocked.
func TestLockedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	holder, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer holder.Close()
	held, release := make(chan struct{}), make(chan struct{})
	go holder.exclusive(func(*bolt.DB) error {
		close(held)
		<-release
		return nil
	})
	<-held
	_, err = Open(path, &Options{LockAttempts: 3})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "try again when it is done") {
		t.Errorf("open of a held file: %v", err)
	}
	close(release)
	other, err := Open(path, &Options{LockAttempts: 100})
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	other.Close()
}

// A request whose context ends while it waits is not applied.
func TestRequestContextCancelled(t *testing.T) {
	r, _ := openTest(t)
	r.AddIssuers("moh")
	held, release := make(chan struct{}), make(chan struct{})
	go r.exclusive(func(*bolt.DB) error {
		close(held)
		<-release
		return nil
	})
	<-held
	c, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	_, err := r.Revoke(c, Request{Selector: Selector{Issuer: "moh", CertificateID: "late"}, Actor: "x"})
	close(release)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v", err)
	}
	if st, _ := r.Status("moh", "late", time.Time{}); st.State != StateUnknown {
		t.Errorf("a cancelled request was applied: %+v", st)
	}
}

// Requests refused by a rule fail alone; the others of their group
// commit.
func TestGroupFailsAlone(t *testing.T) {
	r, _ := mohRegistry(t)
	var wg sync.WaitGroup
	errs := make([]error, 40)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := Request{Selector: Selector{CertificateID: fmt.Sprint("G-", i)}, Actor: "x"}
			if i%4 == 0 {
				q.Selector = Selector{BeneficiaryID: "B1", Doses: []int{1}} // refused by the dose rule
			}
			_, errs[i] = r.Revoke(ctx, q)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		switch {
		case i%4 == 0 && !errors.Is(err, ErrRule):
			t.Errorf("request %d: %v, want a rule error", i, err)
		case i%4 != 0 && err != nil:
			t.Errorf("request %d: %v", i, err)
		}
	}
	if s, _ := r.Stats(); s.Revoked != 30 {
		t.Errorf("%d revoked, want 30", s.Revoked)
	}
	mustVerify(t, r)
}

// A batch too large for a shared commit goes through the bulk path.
func TestLargeBatchRevocation(t *testing.T) {
	r, _ := openTest(t)
	var rows []string
	for i := range bulkThreshold + 100 {
		rows = append(rows, fmt.Sprintf("L-%d,moh,B-%d,1,BIG,2021-01-01", i, i))
	}
	rows = append(rows, "S-1,moh,B-x,1,SMALL,2021-01-01")
	mustImportCerts(t, r, certsCSV(rows...))
	out, err := r.Revoke(ctx, Request{Selector: Selector{Batch: "BIG"}, Actor: "x", Note: "recall"})
	if err != nil || out.Matched != bulkThreshold+100 || out.Changed != out.Matched || !out.Truncated || len(out.Certificates) != MaxOutcomeCertificates || out.AuditSeq == 0 {
		t.Fatalf("%d matched, %d changed, %d listed, %v", out.Matched, out.Changed, len(out.Certificates), err)
	}
	if st := stateOf(t, r, "S-1"); st.State != StateValid {
		t.Errorf("the other batch: %+v", st)
	}
	var rec *AuditRecord
	r.AuditList(AuditFilter{Action: ActionRevoke}, func(a *AuditRecord) error { rec = a; return nil })
	if rec == nil || rec.ItemCount != bulkThreshold+100 || rec.Batch != "BIG" || rec.Note != "recall" {
		t.Errorf("audit record %+v", rec)
	}
	// Suspending the batch now is refused whole: its certificates are
	// revoked.
	if _, err := r.Suspend(ctx, Request{Selector: Selector{Batch: "BIG"}, Actor: "x", Until: t0.Add(time.Hour)}); !errors.Is(err, ErrRule) {
		t.Errorf("suspend a revoked batch: %v", err)
	}
	// Lifting it.
	if out, err := r.Lift(ctx, Request{Selector: Selector{Batch: "BIG"}, Actor: "x"}); err != nil || out.Changed != bulkThreshold+100 {
		t.Errorf("lift: %+v %v", out.Changed, err)
	}
	mustVerify(t, r)
}

// An old file is refused with a clear message.
func TestOldLayoutRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	db, _ := bolt.Open(path, 0o600, nil)
	db.Update(func(tx *bolt.Tx) error {
		b, _ := tx.CreateBucket([]byte("meta"))
		return b.Put([]byte("version"), []byte{1})
	})
	db.Close()
	_, err := Open(path, nil)
	if !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "layout 1 was written by an earlier crlverify") {
		t.Errorf("open of a layout-1 file: %v", err)
	}
	other := filepath.Join(t.TempDir(), "other.db")
	db, _ = bolt.Open(other, 0o600, nil)
	db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("stuff")); return err })
	db.Close()
	if _, err := Open(other, nil); !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), "not a crlverify registry") {
		t.Errorf("open of another bbolt file: %v", err)
	}
}

// A truncated file (a copy cut short, a full disk) is refused with a
// clear error, not a crash of the process reading past its end.
func TestTruncatedFileRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	r, _ := openAt(t, path)
	var rows []string
	for i := range 20000 {
		rows = append(rows, fmt.Sprintf("C-%d,moh,B-%d,1,L,2021-01-01", i, i))
	}
	mustImportCerts(t, r, certsCSV(rows...))
	r.Close()
	fi, _ := os.Stat(path)
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	_, err := Open(path, nil)
	if err == nil || !strings.Contains(err.Error(), "is truncated") || !strings.Contains(err.Error(), "restore it from a backup") {
		t.Fatalf("open of a truncated file: %v", err)
	}
	os.WriteFile(path, []byte("not a database at all, just some text"), 0o600)
	if _, err := Open(path, nil); !errors.Is(err, ErrLayout) {
		t.Fatalf("open of a text file: %v", err)
	}
}
