package registry

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// checkpointed makes a registry with two publications (keeping one serial
// of snapshots) and returns its path and publication directory.
func checkpointed(t *testing.T) (string, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "registry.db")
	dir := t.TempDir()
	r, c := openAt(t, path)
	key, _ := testKey(t)
	for i, id := range []string{"R1", "R2", "R3"} {
		c.t = c.t.Add(time.Hour)
		if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: id}, Actor: "alice", Reason: crl.ReasonDataError}); err != nil {
			t.Fatal(err)
		}
		if i == 1 {
			continue
		}
		if _, err := r.Publish(dir, key, &PublishOptions{Now: c.t, KeepSerials: 1}); err != nil {
			t.Fatal(err)
		}
	}
	c.t = c.t.Add(time.Hour)
	if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: "R4"}, Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return path, dir
}

func TestCheckpointsHold(t *testing.T) {
	path, dir := checkpointed(t)
	_, keys := testKey(t)
	// Snapshots of serial 1 are pruned; its checkpoint stays.
	if _, err := os.Stat(filepath.Join(dir, snapshot.FullName(1))); !os.IsNotExist(err) {
		t.Fatalf("serial 1 not pruned: %v", err)
	}
	r, _ := openAt(t, path)
	rep, err := r.VerifyCheckpoints(dir, keys)
	if err != nil {
		t.Fatal(err)
	}
	// add-issuer 1, R1 2, publish 3, R2 4, R3 5, publish 6, R4 7
	if len(rep.Checkpoints) != 2 || rep.Checkpoints[0].AuditSeq != 3 || rep.Checkpoints[1].AuditSeq != 6 || !rep.Checkpoints[1].OK {
		t.Fatalf("report %+v", rep)
	}
	cp := readCP(t, dir, 2, keys)
	seq, head, err := r.AuditHead()
	if err != nil || seq != 7 {
		t.Fatal(seq, err)
	}
	_ = head
	var rec6 AuditRecord
	r.Audit(6, func(a *AuditRecord) error {
		if a.Seq == 6 {
			rec6 = *a
		}
		return nil
	})
	if snapshot.Digest(rec6.Hash) != cp.AuditHead || rec6.Action != ActionPublish || rec6.Serial != 2 || snapshot.Digest(rec6.ListDigest) != cp.ListDigest {
		t.Errorf("checkpoint %+v, record 6 %+v", cp, rec6)
	}
	ix := readIndex(t, dir, keys)
	if ix.ListDigest != cp.ListDigest {
		t.Errorf("index list digest %v, checkpoint %v", ix.ListDigest, cp.ListDigest)
	}
}

func readCP(t *testing.T, dir string, serial uint64, keys snapshot.Keys) *snapshot.Checkpoint {
	t.Helper()
	c, err := readCheckpointFile(filepath.Join(dir, snapshot.CheckpointName(serial)), keys)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// rewriteChain edits record seq with edit and recomputes every hash after
// it, and the head, as someone with write access to the file and this
// package's source could: the chain alone then verifies.
func rewriteChain(t *testing.T, path string, seq uint64, edit func(*AuditRecord)) {
	t.Helper()
	tamper(t, path, func(tx *bolt.Tx) error {
		r := &Registry{now: time.Now, keyOf: crl.KeyOf}
		tc, err := r.newTxc(tx)
		if err != nil {
			return err
		}
		var recs []AuditRecord
		if err := tc.walkAudit(1, func(a *AuditRecord) error {
			recs = append(recs, *a)
			return nil
		}); err != nil {
			return err
		}
		var prev Hash
		for i := range recs {
			if recs[i].Seq == seq {
				edit(&recs[i])
			}
			recs[i].PrevHash = prev
			recs[i].Hash = recs[i].ComputeHash()
			prev = recs[i].Hash
			putRecordRaw(t, tx, &recs[i])
		}
		v := make([]byte, 40)
		binary.BigEndian.PutUint64(v, recs[len(recs)-1].Seq)
		copy(v[8:], prev[:])
		return tx.Bucket(bucketMeta).Put(metaAuditHead, v)
	})
}

// TestCheckpointFindsConsistentRewrite: a rewrite of published history
// that recomputes the whole chain passes VerifyAudit, and the signed
// checkpoint of the first publication after it finds it.
func TestCheckpointFindsConsistentRewrite(t *testing.T) {
	path, dir := checkpointed(t)
	_, keys := testKey(t)
	rewriteChain(t, path, 4, func(a *AuditRecord) { a.Actor, a.Note = "mallory", "nothing to see" })
	r, _ := openAt(t, path)
	mustVerify(t, r)
	_, err := r.VerifyCheckpoints(dir, keys)
	var ae *AuditError
	if !errors.As(err, &ae) || ae.Seq != 6 || !strings.Contains(ae.Problem, "serial 2") || !strings.Contains(ae.Problem, "after record 3") {
		t.Fatalf("got %v", err)
	}
	// A rewrite of unpublished history is not provable from the publication.
	path, dir = checkpointed(t)
	rewriteChain(t, path, 7, func(a *AuditRecord) { a.Actor = "mallory" })
	r, _ = openAt(t, path)
	if _, err := r.VerifyCheckpoints(dir, keys); err != nil {
		t.Fatal(err)
	}
}

// TestCheckpointOldCopy: a registry restored from a copy older than the
// newest publication lacks records the checkpoint committed to.
func TestCheckpointOldCopy(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	dir := t.TempDir()
	r, c := openAt(t, path)
	key, keys := testKey(t)
	if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: "R1"}, Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	old := copyFile(t, path)
	c.t = c.t.Add(time.Hour)
	if _, err := r.Publish(dir, key, &PublishOptions{Now: c.t}); err != nil {
		t.Fatal(err)
	}
	r.Close()
	r2, _ := openAt(t, old)
	_, err := r2.VerifyCheckpoints(dir, keys)
	var ae *AuditError
	if !errors.As(err, &ae) || ae.Seq != 3 || !strings.Contains(ae.Problem, "lacks records 3 to 3") {
		t.Fatalf("got %v", err)
	}
	// A checkpoint signed by another key is refused.
	other, _ := snapshot.GenerateKey(snapshot.AlgEdDSA)
	set, _ := snapshot.PublicSet(other)
	if _, err := r2.VerifyCheckpoints(dir, snapshot.KeysFromSet(set)); !errors.Is(err, snapshot.ErrUnknownKey) {
		t.Fatalf("other key: %v", err)
	}
}

func copyFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(out, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCheckpointRemovedIsFound: whoever rewrites the trail and can write
// the publication directory removes the checkpoints that would find the
// rewrite. The signed index names its serial, whose checkpoint was written
// before it: its absence is a finding, not a pass.
func TestCheckpointRemovedIsFound(t *testing.T) {
	_, keys := testKey(t)
	for _, remove := range [][]uint64{{2}, {1, 2}} {
		path, dir := checkpointed(t)
		rewriteChain(t, path, 4, func(a *AuditRecord) { a.Actor = "mallory" })
		for _, s := range remove {
			if err := os.Remove(filepath.Join(dir, snapshot.CheckpointName(s))); err != nil {
				t.Fatal(err)
			}
		}
		r, _ := openAt(t, path)
		mustVerify(t, r)
		_, err := r.VerifyCheckpoints(dir, keys)
		if !errors.Is(err, ErrAuditBroken) || !strings.Contains(err.Error(), snapshot.CheckpointName(2)) {
			t.Fatalf("checkpoints %v removed: %v", remove, err)
		}
	}
}
