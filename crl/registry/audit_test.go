package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
)

// auditRegistry makes a registry with a history of ten or so records:
// imports, revocations by every rule, a suspension, a lift, a
// publication.
func auditRegistry(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "registry.db")
	r, c := openAt(t, path)
	mustImportCerts(t, r, certsCSV(
		"C1-1,did:in:moh,B1,1,LOT-A,2021-03-01",
		"C1-2,did:in:moh,B1,2,LOT-A,2021-06-01",
		"C2-1,did:in:moh,B2,1,LOT-B,2021-04-01",
		"C3-1,did:in:moh,B3,1,LOT-B,2021-05-01",
	)) // 1 add-issuer, 2 import
	steps := []func() error{
		func() error { // 3
			_, err := r.Revoke(ctx, Request{Selector: Selector{CertificateID: "C1-1"}, Actor: "alice", Reason: crl.ReasonDataError, Note: "typo in name"})
			return err
		},
		func() error { // 4
			_, err := r.Revoke(ctx, Request{Selector: Selector{BeneficiaryID: "B1", Doses: []int{2}}, Actor: "bob", Reason: crl.ReasonTampering})
			return err
		},
		func() error { // 5
			_, err := r.Suspend(ctx, Request{Selector: Selector{CertificateID: "C2-1"}, Actor: "alice", Until: c.t.Add(30 * 24 * time.Hour)})
			return err
		},
		func() error { // 6
			_, err := r.Revoke(ctx, Request{Selector: Selector{Batch: "LOT-B"}, Actor: "carol"})
			return err
		},
		func() error { // 7
			_, err := r.Lift(ctx, Request{Selector: Selector{CertificateID: "C3-1"}, Actor: "alice", Note: "wrong batch"})
			return err
		},
		func() error { // 8
			_, err := r.ImportRevocations(ctx, strings.NewReader("id,reason\nX-1,dataError\nX-2,superseded\n"), &ImportOptions{Source: "r.csv"})
			return err
		},
	}
	for _, step := range steps {
		c.t = c.t.Add(time.Minute)
		if err := step(); err != nil {
			t.Fatal(err)
		}
	}
	key, _ := testKey(t)
	if _, err := r.Publish(t.TempDir(), key, &PublishOptions{Now: c.t}); err != nil { // 9
		t.Fatal(err)
	}
	mustVerify(t, r)
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	return path
}

// tamper edits the bbolt file directly, as someone with write access to
// it could.
func tamper(t *testing.T, path string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
}

func auditTable(tx *bolt.Tx, name []byte) table { return newTable(tx.Bucket(name), 4096) }

func getRecord(t *testing.T, tx *bolt.Tx, seq uint64) AuditRecord {
	v, ok, err := auditTable(tx, bucketAudit).get(u64(seq))
	if err != nil || !ok {
		t.Fatalf("record %d: %v %v", seq, ok, err)
	}
	rec, err := decodeRecord(seq, v)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func putRecordRaw(t *testing.T, tx *bolt.Tx, rec *AuditRecord) {
	if _, _, err := auditTable(tx, bucketAudit).apply([]mut{{key: u64(rec.Seq), val: encodeRecord(rec)}}); err != nil {
		t.Fatal(err)
	}
}

func verifyFile(t *testing.T, path string) error {
	t.Helper()
	r, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	_, err = r.VerifyAudit()
	return err
}

func wantBroken(t *testing.T, err error, seq uint64, problem string) {
	t.Helper()
	var ae *AuditError
	if !errors.As(err, &ae) || !errors.Is(err, ErrAuditBroken) {
		t.Fatalf("verify: %v, want an *AuditError", err)
	}
	if ae.Seq != seq || !strings.Contains(ae.Problem, problem) {
		t.Fatalf("verify: %v; want record %d and %q", err, seq, problem)
	}
}

func TestAuditTamperEditActor(t *testing.T) {
	path := auditRegistry(t)
	tamper(t, path, func(tx *bolt.Tx) error {
		rec := getRecord(t, tx, 3)
		if rec.Actor != "alice" {
			t.Fatalf("record 3 is %+v", rec)
		}
		rec.Actor = "mallory"
		putRecordRaw(t, tx, &rec)
		return nil
	})
	wantBroken(t, verifyFile(t, path), 3, "hash does not match")
}

func TestAuditTamperEditReason(t *testing.T) {
	path := auditRegistry(t)
	tamper(t, path, func(tx *bolt.Tx) error {
		rec := getRecord(t, tx, 4)
		rec.Reason = crl.ReasonUnspecified
		putRecordRaw(t, tx, &rec)
		return nil
	})
	wantBroken(t, verifyFile(t, path), 4, "hash does not match")
}

func TestAuditTamperDelete(t *testing.T) {
	path := auditRegistry(t)
	tamper(t, path, func(tx *bolt.Tx) error {
		_, _, err := auditTable(tx, bucketAudit).apply([]mut{{key: u64(6), del: true}})
		return err
	})
	wantBroken(t, verifyFile(t, path), 6, "record 6 is missing")
}

func TestAuditTamperDeleteLast(t *testing.T) {
	path := auditRegistry(t)
	tamper(t, path, func(tx *bolt.Tx) error {
		_, _, err := auditTable(tx, bucketAudit).apply([]mut{{key: u64(9), del: true}})
		return err
	})
	wantBroken(t, verifyFile(t, path), 9, "missing (the registry's head is 9)")
}

func TestAuditTamperReorder(t *testing.T) {
	path := auditRegistry(t)
	tamper(t, path, func(tx *bolt.Tx) error {
		a, b := getRecord(t, tx, 3), getRecord(t, tx, 5)
		a.Seq, b.Seq = 5, 3
		putRecordRaw(t, tx, &a)
		putRecordRaw(t, tx, &b)
		return nil
	})
	wantBroken(t, verifyFile(t, path), 3, "hash does not match")
}

func TestAuditTamperAppend(t *testing.T) {
	for _, rightHash := range []bool{false, true} {
		t.Run(fmt.Sprint("right hash ", rightHash), func(t *testing.T) {
			path := auditRegistry(t)
			tamper(t, path, func(tx *bolt.Tx) error {
				last := getRecord(t, tx, 9)
				rec := AuditRecord{Seq: 10, Time: last.Time.Add(time.Minute), Action: ActionLift, Actor: "mallory",
					CertificateID: "C1-1", PrevHash: last.Hash, ItemsRoot: sha256.Sum256(nil)}
				if rightHash {
					rec.Hash = rec.ComputeHash()
				}
				putRecordRaw(t, tx, &rec)
				return nil
			})
			problem := "hash does not match"
			if rightHash {
				problem = "past the head"
			}
			wantBroken(t, verifyFile(t, path), 10, problem)
		})
	}
}

func TestAuditTamperItem(t *testing.T) {
	path := auditRegistry(t)
	tamper(t, path, func(tx *bolt.Tx) error {
		// Record 6 (the batch) changed two certificates; say it lifted one.
		items := auditTable(tx, bucketItems)
		v, ok, err := items.get(itemKey(6, 1))
		if err != nil || !ok {
			t.Fatalf("item: %v %v", ok, err)
		}
		ai, _ := decodeAuditItem(v)
		ai.st.Status = StatusLifted
		_, _, err = items.apply([]mut{{key: itemKey(6, 1), val: ai.encode()}})
		return err
	})
	wantBroken(t, verifyFile(t, path), 6, "items do not hash")
}

// A revocation record changed without an audit record: the chain holds,
// but the registry no longer follows from it.
func TestAuditTamperState(t *testing.T) {
	path := auditRegistry(t)
	tamper(t, path, func(tx *bolt.Tx) error {
		state := auditTable(tx, bucketState)
		it := state.iter(nil)
		for it.next() {
			_, _, id, _ := splitStateKey(it.key())
			if id != "C1-1" {
				continue
			}
			st, _ := decodeState(it.val())
			st.Status = StatusLifted // quietly un-revoke
			k := bytes.Clone(it.key())
			_, _, err := state.apply([]mut{{key: k, val: st.encode()}})
			return err
		}
		t.Fatal("no record of C1-1")
		return nil
	})
	wantBroken(t, verifyFile(t, path), 3, `revocation record of "C1-1"`)
}

// An imported certificate edited in its run: the import's items root no
// longer holds.
func TestAuditTamperCertificate(t *testing.T) {
	path := auditRegistry(t)
	tamper(t, path, func(tx *bolt.Tx) error {
		runs := tx.Bucket(bucketRuns)
		c := runs.Cursor()
		k, _ := c.First()
		certs := newTable(runs.Bucket(k).Bucket(runTableNames[indexCerts]), 4096)
		it := certs.iter(nil)
		if !it.next() {
			t.Fatal("no certificate")
		}
		rec, _ := decodeCert(it.key(), it.val())
		rec.Beneficiary = "SOMEONE-ELSE"
		_, _, err := certs.apply([]mut{{key: bytes.Clone(it.key()), val: rec.appendValue(nil)}})
		return err
	})
	wantBroken(t, verifyFile(t, path), 2, "certificates of this import")
}

func TestAuditListFilters(t *testing.T) {
	path := auditRegistry(t)
	r, _ := openAt(t, path)
	list := func(f AuditFilter) string {
		var out []string
		if err := r.AuditList(f, func(a *AuditRecord) error {
			out = append(out, fmt.Sprintf("%d:%s:%s", a.Seq, a.Action, a.Actor))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		f    AuditFilter
		want string
	}{
		{AuditFilter{Actor: "alice"}, "3:revoke:alice 5:suspend:alice 7:lift:alice"},
		{AuditFilter{Action: ActionRevoke}, "3:revoke:alice 4:revoke:bob 6:revoke:carol 8:revoke:test"},
		{AuditFilter{CertificateID: "C3-1"}, "2:import:test 6:revoke:carol 7:lift:alice"},
		{AuditFilter{CertificateID: "X-2"}, "8:revoke:test"},
		{AuditFilter{Since: t0.Add(3 * time.Minute), Until: t0.Add(5 * time.Minute)}, "5:suspend:alice 6:revoke:carol"},
	} {
		if got := list(c.f); got != c.want {
			t.Errorf("%+v: %s, want %s", c.f, got, c.want)
		}
	}
	// The walker gives what verify checks: each record chained to the one
	// before, ending at the head.
	var prev Hash
	var last uint64
	r.Audit(1, func(a *AuditRecord) error {
		if a.PrevHash != prev || a.ComputeHash() != a.Hash {
			t.Errorf("record %d does not chain", a.Seq)
		}
		prev, last = a.Hash, a.Seq
		return nil
	})
	seq, head, _ := r.AuditHead()
	if seq != last || Hash(head) != prev {
		t.Errorf("head %d %x, walk ended at %d %x", seq, head, last, prev)
	}
	var from5 []uint64
	r.Audit(5, func(a *AuditRecord) error {
		from5 = append(from5, a.Seq)
		if a.Seq == 5 && a.PrevHash == (Hash{}) {
			t.Error("walking from 5: no previous hash")
		}
		return nil
	})
	if fmt.Sprint(from5) != "[5 6 7 8 9]" {
		t.Errorf("from 5: %v", from5)
	}
	var items []string
	r.AuditItems(6, func(it AuditItem) error {
		items = append(items, it.CertificateID+":"+it.Status.String()+":"+it.Reason.String())
		return nil
	})
	if strings.Join(items, " ") != "C2-1:revoked:faultyBatch C3-1:revoked:faultyBatch" && strings.Join(items, " ") != "C3-1:revoked:faultyBatch C2-1:revoked:faultyBatch" {
		t.Errorf("items of record 6: %v", items)
	}
}

// The worked example of the package documentation: a record, its
// canonical encoding and its hash, which another implementation can check
// itself against.
func TestAuditWorkedExample(t *testing.T) {
	item := AuditItem{Kind: "revocation", Issuer: "did:in:moh", CertificateID: "C1-1", Status: StatusRevoked,
		Reason: crl.ReasonDataError, RevokedAt: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	rec := AuditRecord{Seq: 3, Time: time.Date(2026, 11, 22, 9, 1, 0, 0, time.UTC), Action: ActionRevoke, Actor: "alice",
		Reason: crl.ReasonDataError, Note: "typo", CertificateID: "C1-1", ItemCount: 1, ItemsRoot: ItemsRoot([]AuditItem{item})}
	copy(rec.PrevHash[:], bytes.Repeat([]byte{0xab}, 32))
	const (
		wantItem = "01" + "0000000a6469643a696e3a6d6f68" + "0000000443312d31" + "01" + "0b" + "000000006b02af10" + "0000000000000000" + "00000000"
	)
	if got := hex.EncodeToString(item.Canonical()); got != wantItem {
		t.Errorf("item encoding\n%s\nwant\n%s", got, wantItem)
	}
	leaf := sha256.Sum256(append([]byte{0}, item.Canonical()...))
	if rec.ItemsRoot != Hash(leaf) {
		t.Errorf("one item's root is not its leaf hash")
	}
	canon := hex.EncodeToString(rec.Canonical())
	hash := rec.ComputeHash().String()
	doc, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	// The documentation shows the encoding in lines of 32 bytes.
	var lines []string
	for i := 0; i < len(canon); i += 64 {
		lines = append(lines, canon[i:min(i+64, len(canon))])
	}
	for _, want := range append(lines, hash, hex.EncodeToString(leaf[:]), wantItem) {
		if !bytes.Contains(doc, []byte(want)) {
			t.Errorf("doc.go lacks %s (canonical encoding:\n%s\nhash %s, items root %x)", want, strings.Join(lines, "\n"), hash, leaf)
		}
	}
	// And the Merkle tree of more items follows RFC 6962: two leaves hash
	// as SHA-256(0x01 || leaf0 || leaf1).
	item2 := item
	item2.CertificateID = "C1-2"
	l2 := sha256.Sum256(append([]byte{0}, item2.Canonical()...))
	if got, want := ItemsRoot([]AuditItem{item, item2}), nodeHash(leaf, l2); got != want {
		t.Errorf("two-leaf root %x, want %x", got, want)
	}
	three := []AuditItem{item, item2, item}
	if got, want := ItemsRoot(three), nodeHash(nodeHash(leaf, l2), leaf); got != want {
		t.Errorf("three-leaf root %x, want %x", got, want)
	}
}

// TestAuditTamperThenCarryOn is the attack as an operator with write
// access to the file would make it: record 3 edited (actor and reason),
// record 6 deleted, then the registry used on: revocations and a
// publication go through, and audit verify still names record 3, and
// the publication's signed checkpoint no longer matches the trail.
func TestAuditTamperThenCarryOn(t *testing.T) {
	path := auditRegistry(t)
	tamper(t, path, func(tx *bolt.Tx) error {
		rec := getRecord(t, tx, 3)
		rec.Actor, rec.Reason = "someone-else", crl.ReasonUnspecified
		putRecordRaw(t, tx, &rec)
		_, _, err := auditTable(tx, bucketAudit).apply([]mut{{key: u64(6), del: true}})
		return err
	})
	r, c := openAt(t, path)
	c.t = c.t.Add(time.Hour)
	if _, err := r.Revoke(ctx, Request{Selector: Selector{Issuer: "did:in:moh", CertificateID: "LATER"}, Actor: "alice"}); err != nil {
		t.Fatal(err)
	}
	key, keys := testKey(t)
	pub := t.TempDir()
	if _, err := r.Publish(pub, key, &PublishOptions{Now: c.t}); err != nil {
		t.Fatal(err)
	}
	_, err := r.VerifyAudit()
	wantBroken(t, err, 3, "hash does not match")
	if _, err := r.VerifyCheckpoints(pub, keys); err == nil {
		t.Error("the checkpoints verify over a broken trail")
	}
}
