package store

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/shc"
)

// The SMART Health Cards fixtures of package shc (go generate ./verify/shc).
const (
	shcIssuer = "https://shc.example.org/issuer"
	shcKID    = "vfeLDcXEQL5i0d2chkSDDbETJ0cCWkx9e8ILpsM1Lr8"
)

func shcFixture(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{"..", "shc", "testdata"}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func shcFixtureCRL(t *testing.T) []byte {
	return shcFixture(t, "issuer", ".well-known", "crl", shcKID+".json")
}

func shcFixtureCard(t *testing.T, name string) *shc.Card {
	t.Helper()
	c, err := shc.Parse(strings.TrimSpace(string(shcFixture(t, name+".jws"))))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestSHCListImport imports an issuer's list, finds it from this store and
// another open on the file, and keeps it through the writes of snapshots.
func TestSHCListImport(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "crl.db")
	s := mustOpen(t, path, nil)
	defer s.Close()
	raw := shcFixtureCRL(t)
	res, err := s.ImportSHCList(shcIssuer, raw, "crl.json", at)
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged || res.Previous != nil || res.List.Counter != 3 || res.List.RIDs != 2 || res.List.Size != len(raw) {
		t.Fatalf("import = %+v", res)
	}
	reader := mustOpen(t, path, &Options{ReadOnly: true})
	defer reader.Close()
	for name, st := range map[string]*Store{"writer": s, "reader": reader} {
		l, info, found, err := st.SHCList(shcIssuer, shcKID)
		if err != nil || !found || info != res.List {
			t.Fatalf("%s: SHCList = %+v, %v, %v", name, info, found, err)
		}
		if !l.RevokesCard(shcFixtureCard(t, "revoked")) || !l.RevokesCard(shcFixtureCard(t, "superseded")) {
			t.Errorf("%s: the list does not revoke the revoked cards", name)
		}
		if l.RevokesCard(shcFixtureCard(t, "valid")) || l.RevokesCard(shcFixtureCard(t, "reissued")) {
			t.Errorf("%s: the list revokes a valid card", name)
		}
		if _, _, found, _ := st.SHCList(shcIssuer, "another-kid"); found {
			t.Errorf("%s: a list for a kid never imported", name)
		}
		if got := st.SHCLists(); len(got) != 1 || got[0] != res.List {
			t.Errorf("%s: SHCLists = %+v", name, got)
		}
	}

	// The same list again writes nothing.
	fi, _ := os.Stat(path)
	again, err := s.ImportSHCList(shcIssuer, raw, "crl.json", at.Add(time.Hour))
	if err != nil || !again.Unchanged || again.List.ImportedAt != at {
		t.Fatalf("import again = %+v, %v", again, err)
	}
	if fi2, _ := os.Stat(path); !os.SameFile(fi, fi2) {
		t.Error("importing the same list again wrote a new file")
	}

	// Snapshots applied, and a publisher removed, keep the list.
	p := newTestPub(t, "ministry", issuer)
	p.revoke(issuer, "a", at, crl.ReasonDataError, time.Time{})
	if _, err := s.ApplySnapshot(bytes.NewReader(p.publish(at).Full), p.keys, at, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("ministry"); err != nil {
		t.Fatal(err)
	}
	if _, err := reader.Reload(); err != nil {
		t.Fatal(err)
	}
	for name, st := range map[string]*Store{"writer": s, "reader": reader} {
		if l, _, found, err := st.SHCList(shcIssuer, shcKID); err != nil || !found || !l.RevokesCard(shcFixtureCard(t, "revoked")) {
			t.Errorf("%s: after other writes: %v, %v", name, found, err)
		}
	}

	// A newer counter replaces it; an older one, or the same with other
	// content, is refused.
	newer := bytes.Replace(raw, []byte(`"ctr": 3`), []byte(`"ctr": 4`), 1)
	newer = bytes.Replace(newer, []byte(`"YYisjdg0HJk",`), nil, 1)
	res, err = s.ImportSHCList(shcIssuer, newer, "crl-4.json", at)
	if err != nil || res.Previous == nil || res.Previous.Counter != 3 || res.List.Counter != 4 || res.List.RIDs != 1 {
		t.Fatalf("newer list: %+v, %v", res, err)
	}
	if l, _, _, _ := s.SHCList(shcIssuer, shcKID); l.RevokesCard(shcFixtureCard(t, "revoked")) {
		t.Error("the replaced list still answers")
	}
	if _, err := s.ImportSHCList(shcIssuer, raw, "crl.json", at); !errors.Is(err, snapshot.ErrRollback) {
		t.Errorf("older counter: %v, want ErrRollback", err)
	}
	conflict := bytes.Replace(newer, []byte(`"rids": [`), []byte(`"rids": ["AAAAAAAAAAA", `), 1)
	if _, err := s.ImportSHCList(shcIssuer, conflict, "other.json", at); !errors.Is(err, ErrSHCListConflict) {
		t.Errorf("same counter, other content: %v, want ErrSHCListConflict", err)
	}
	if _, err := s.ImportSHCList("https://shc.example.org/issuer/", raw, "", at); !errors.Is(err, shc.ErrMalformed) {
		t.Errorf("bad issuer URL: %v", err)
	}
	if _, err := s.ImportSHCList(shcIssuer, []byte(`{"kid":"x","method":"other","ctr":1,"rids":[]}`), "", at); !errors.Is(err, shc.ErrMalformed) {
		t.Errorf("another method: %v", err)
	}

	found, err := s.RemoveSHCList(shcIssuer, shcKID)
	if err != nil || !found || len(s.SHCLists()) != 0 {
		t.Fatalf("RemoveSHCList: %v, %v, %+v", found, err, s.SHCLists())
	}
	if found, err := s.RemoveSHCList(shcIssuer, shcKID); err != nil || found {
		t.Errorf("RemoveSHCList again: %v, %v", found, err)
	}
}

// A flipped bit in a stored list is reported as damage, never read as
// another list.
func TestSHCListDamage(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crl.db")
	s := mustOpen(t, path, nil)
	if _, err := s.ImportSHCList(shcIssuer, shcFixtureCRL(t), "crl.json", time.Now()); err != nil {
		t.Fatal(err)
	}
	s.Close()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("YYisjdg0HJk"))
	if i < 0 {
		t.Fatal("the list is not in the file")
	}
	b[i] ^= 0x01 // "XYisjdg0HJk": still a well-formed list
	writeFile(t, path, b)
	s = mustOpen(t, path, &Options{ReadOnly: true})
	defer s.Close()
	if _, _, _, err := s.SHCList(shcIssuer, shcKID); !errors.Is(err, ErrCorrupt) {
		t.Errorf("damaged list: %v, want ErrCorrupt", err)
	}
}

// An apply that fails leaves the stored SMART Health Cards lists, like
// everything else, as they were; a reader that opened the file before an
// import keeps its answers until it reloads.
func TestSHCListAcrossFailedWrites(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "crl.db")
	s := mustOpen(t, path, nil)
	defer s.Close()
	raw := shcFixtureCRL(t)
	if _, err := s.ImportSHCList(shcIssuer, raw, "crl.json", at); err != nil {
		t.Fatal(err)
	}
	reader := mustOpen(t, path, &Options{ReadOnly: true})
	defer reader.Close()
	newer := bytes.Replace(raw, []byte(`"ctr": 3`), []byte(`"ctr": 4`), 1)
	if _, err := s.ImportSHCList(shcIssuer, newer, "crl-4.json", at); err != nil {
		t.Fatal(err)
	}
	if _, info, _, _ := reader.SHCList(shcIssuer, shcKID); info.Counter != 3 {
		t.Errorf("a reader sees an import before it reloads: ctr %d", info.Counter)
	}
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := newTestPub(t, "ministry", issuer)
	p.revoke(issuer, "a", at, crl.ReasonDataError, time.Time{})
	full := p.publish(at).Full
	full[len(full)-1] ^= 0xff // the body no longer has its signed digest
	if _, err := s.ApplySnapshot(bytes.NewReader(full), p.keys, at, nil); !errors.Is(err, snapshot.ErrDigestMismatch) {
		t.Fatalf("tampered snapshot: %v", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("a failed apply changed the store file")
	}
	if l, _, found, err := s.SHCList(shcIssuer, shcKID); err != nil || !found || !l.RevokesCard(shcFixtureCard(t, "revoked")) {
		t.Errorf("after the failed apply: %v %v", found, err)
	}
	if _, err := reader.Reload(); err != nil {
		t.Fatal(err)
	}
	if _, info, _, _ := reader.SHCList(shcIssuer, shcKID); info.Counter != 4 {
		t.Errorf("a reader does not see the import after it reloads: ctr %d", info.Counter)
	}
}

// damageSHCList flips a byte of the stored copy of the list of issuer's
// key kid in the store file at path, as a disk would: its checksum no
// longer holds.
func damageSHCList(t *testing.T, path, issuer, kid string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bktSHC).Bucket([]byte(shcName(issuer, kid)))
		v := bytes.Clone(b.Get(keySHCList))
		v[len(v)/2] ^= 0x20
		return b.Put(keySHCList, v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestSHCListDamaged: a damaged stored list is an error naming the store
// when it is read, and makes a write that would copy it fail; importing
// the list again repairs it, and removing it works without reading it.
func TestSHCListDamaged(t *testing.T) {
	at := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	path := filepath.Join(t.TempDir(), "crl.db")
	s := mustOpen(t, path, nil)
	raw := shcFixtureCRL(t)
	if _, err := s.ImportSHCList(shcIssuer, raw, "crl.json", at); err != nil {
		t.Fatal(err)
	}
	s.Close()
	damageSHCList(t, path, shcIssuer, shcKID)

	s = mustOpen(t, path, nil)
	defer func() { s.Close() }()
	if got := s.SHCLists(); len(got) != 1 {
		t.Fatalf("lists %+v", got)
	}
	_, _, found, err := s.SHCList(shcIssuer, shcKID)
	if !found || !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), path) {
		t.Fatalf("damaged list: found %v, %v", found, err)
	}
	p := newTestPub(t, "ministry", issuer)
	if _, err := applyWith(s, p.publish(t0).Full, p, t0); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a write copying the damaged list: %v", err)
	}
	res, err := s.ImportSHCList(shcIssuer, raw, "crl.json again", at.Add(time.Hour))
	if err != nil || res.Unchanged || !res.Repaired || res.List.Source != "crl.json again" {
		t.Fatalf("import again: %+v %v", res, err)
	}
	if l, _, _, err := s.SHCList(shcIssuer, shcKID); err != nil || !l.RevokesCard(shcFixtureCard(t, "revoked")) {
		t.Fatalf("repaired list: %v", err)
	}
	if _, err := applyWith(s, p.publish(t0).Full, p, t0); err != nil {
		t.Fatalf("a write after the repair: %v", err)
	}

	s.Close()
	damageSHCList(t, path, shcIssuer, shcKID)
	s = mustOpen(t, path, nil)
	if removed, err := s.RemoveSHCList(shcIssuer, shcKID); err != nil || !removed {
		t.Fatalf("remove the damaged list: %v %v", removed, err)
	}
	if _, _, found, err := s.SHCList(shcIssuer, shcKID); found || err != nil {
		t.Fatalf("after removal: %v %v", found, err)
	}
	if r, err := s.Check(issuer, "x", t0); err != nil || r.Publisher != "ministry" {
		t.Fatalf("the snapshot list after removal: %+v %v", r, err)
	}
}

// TestCheckSHCID looks revocation ids up in an issuer's own lists alone,
// and joins the answer with the signed snapshots'.
func TestCheckSHCID(t *testing.T) {
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "crl.db"), nil)
	defer s.Close()
	current := []SHCKey{{KID: shcKID, CRLVersion: 3}}
	if _, ok, err := s.CheckSHCID(shcIssuer, "YYisjdg0HJk", nil, at); ok || err != nil {
		t.Fatalf("no list, no key: ok %v, %v", ok, err)
	}
	r, ok, err := s.CheckSHCID(shcIssuer, "YYisjdg0HJk", current, at)
	if !ok || err != nil || r.Status != NotRevoked || r.Conclusive() || r.Freshness != NoList || !strings.Contains(r.Reason(), "no list of key "+shcKID) {
		t.Fatalf("a key with a crlVersion, no list: %+v %v %v", r, ok, err)
	}
	if _, err := s.ImportSHCList(shcIssuer, shcFixtureCRL(t), "crl.json", at); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		rid        string
		keys       []SHCKey
		status     Status
		conclusive bool
		reason     string
	}{
		{"YYisjdg0HJk", current, Revoked, true, ""},
		{"YYisjdg0HJk", nil, Revoked, true, ""},
		{"akb4ux9h210", current, Unknown, false, "issued before 2024-01-01T00:00:00Z"},
		{"not-listed", current, NotRevoked, true, ""},
		{"not-listed", nil, NotRevoked, false, "key set is not known"},
		{"not-listed", []SHCKey{{KID: shcKID, CRLVersion: 4}}, NotRevoked, false, "has ctr 3, the key's crlVersion is 4"},
		{"not-listed", append([]SHCKey{{KID: "another", CRLVersion: 1}}, current...), NotRevoked, false, "no list of key another"},
	} {
		r, ok, err := s.CheckSHCID(shcIssuer, tc.rid, tc.keys, at)
		if !ok || err != nil || r.Status != tc.status || r.Conclusive() != tc.conclusive || !strings.Contains(r.Reason(), tc.reason) || r.Source != SourceSHCList {
			t.Errorf("%s with keys %v: %v conclusive %v %q (%v %v)", tc.rid, tc.keys, r.Status, r.Conclusive(), r.Reason(), ok, err)
		}
	}

	// Joined with a snapshot list of the issuer.
	p := newTestPub(t, "authority", shcIssuer)
	p.revoke(shcIssuer, "c25hcHNob3Q", at, crl.ReasonDataError, time.Time{})
	if _, err := applyWith(s, p.publish(at).Full, p, at); err != nil {
		t.Fatal(err)
	}
	joined := func(rid string, keys []SHCKey) Result {
		snap, err := s.Check(shcIssuer, rid, at)
		if err != nil {
			t.Fatal(err)
		}
		own, _, err := s.CheckSHCID(shcIssuer, rid, keys, at)
		if err != nil {
			t.Fatal(err)
		}
		return snap.WithSHC(own)
	}
	if r := joined("c25hcHNob3Q", current); r.Status != Revoked || r.Entry == nil || r.Publisher != "authority" {
		t.Errorf("revoked by the snapshot: %+v", r)
	}
	if r := joined("YYisjdg0HJk", current); r.Status != Revoked || r.Source != SourceSHCList || r.SHC.KID != shcKID {
		t.Errorf("revoked by the issuer's list: %+v", r)
	}
	if r := joined("akb4ux9h210", current); r.Status != Unknown || r.Conclusive() {
		t.Errorf("revoked before a time: %+v", r)
	}
	if r := joined("not-listed", current); r.Status != NotRevoked || !r.Conclusive() || r.Publisher != "authority" {
		t.Errorf("listed by neither: %+v", r)
	}
	if r := joined("not-listed", nil); r.Status != NotRevoked || r.Conclusive() || !strings.Contains(r.Reason(), "key set is not known") {
		t.Errorf("listed by neither, lists not judged: %+v %q", r, r.Reason())
	}
}

// TestCheckSHCIDWhileRemoved looks an id up while the issuer's list is
// imported and removed: a list gone between the lookup's steps is one the
// store no longer holds, never a crash.
func TestCheckSHCIDWhileRemoved(t *testing.T) {
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	s := mustOpen(t, filepath.Join(t.TempDir(), "crl.db"), nil)
	defer s.Close()
	raw := shcFixtureCRL(t)
	current := []SHCKey{{KID: shcKID, CRLVersion: 3}}
	done := make(chan error, 1)
	go func() {
		for range 30 {
			if _, err := s.ImportSHCList(shcIssuer, raw, "crl.json", at); err != nil {
				done <- err
				return
			}
			if _, err := s.RemoveSHCList(shcIssuer, shcKID); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			return
		default:
		}
		r, ok, err := s.CheckSHCID(shcIssuer, "YYisjdg0HJk", current, at)
		switch {
		case err != nil || !ok:
			t.Fatalf("ok %v, %v", ok, err)
		case r.Status == Revoked && r.Conclusive():
		case r.Status == NotRevoked && !r.Conclusive() && strings.Contains(r.Reason(), "no list of key "+shcKID):
		default:
			t.Fatalf("%v conclusive %v %q", r.Status, r.Conclusive(), r.Reason())
		}
	}
}
