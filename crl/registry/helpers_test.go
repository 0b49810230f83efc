package registry

import (
	"bufio"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

var t0 = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

var ctx = context.Background()

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func openTest(t testing.TB) (*Registry, *clock) {
	t.Helper()
	return openAt(t, filepath.Join(t.TempDir(), "registry.db"))
}

func openAt(t testing.TB, path string) (*Registry, *clock) {
	t.Helper()
	c := &clock{t: t0}
	r, err := Open(path, &Options{Now: c.now, Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r, c
}

func entries(t testing.TB, r *Registry, at time.Time) []crl.Entry {
	t.Helper()
	var out []crl.Entry
	if err := r.Entries(at, func(e crl.Entry) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

// certsCSV is a certificate import file of the rows given, each
// "id,issuer,beneficiary,dose,batch,issued_at[,valid_until[,previous]]".
func certsCSV(rows ...string) string {
	var b strings.Builder
	b.WriteString("certificate_id,issuer,beneficiary_id,dose,batch,issued_at,valid_until,previous_certificate_id\n")
	for _, r := range rows {
		n, quoted := 0, false
		for _, c := range r {
			switch {
			case c == '"':
				quoted = !quoted
			case c == ',' && !quoted:
				n++
			}
		}
		b.WriteString(r)
		b.WriteString(strings.Repeat(",", 7-n))
		b.WriteString("\n")
	}
	return b.String()
}

func mustImportCerts(t testing.TB, r *Registry, in string) CertImportResult {
	t.Helper()
	res, err := r.ImportCertificates(ctx, strings.NewReader(in), &ImportOptions{Source: "test.csv"})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// moh is a registry of one issuer with three beneficiaries:
// B1 doses 1-3 (C1-1..C1-3, batch LOT-A for doses 1-2, LOT-B for 3),
// B2 dose 1 (C2-1, LOT-A), B3 doses 1-2 (C3-1, C3-2, LOT-B).
func mohRegistry(t testing.TB) (*Registry, *clock) {
	t.Helper()
	r, c := openTest(t)
	mustImportCerts(t, r, certsCSV(
		"C1-1,did:in:moh,B1,1,LOT-A,2021-03-01",
		"C1-2,did:in:moh,B1,2,LOT-A,2021-06-01",
		"C1-3,did:in:moh,B1,3,LOT-B,2022-01-10",
		"C2-1,did:in:moh,B2,1,LOT-A,2021-04-01",
		"C3-1,did:in:moh,B3,1,LOT-B,2021-05-01",
		"C3-2,did:in:moh,B3,2,LOT-B,2021-08-01",
	))
	return r, c
}

func changedIDs(out Outcome) []string {
	var ids []string
	for _, c := range out.Certificates {
		if c.Changed {
			ids = append(ids, c.CertificateID)
		}
	}
	return ids
}

func stateOf(t testing.TB, r *Registry, id string) CertificateStatus {
	t.Helper()
	st, err := r.Status("", id, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// testKey is a fixed Ed25519 signing key and the verifier's view of it.
func testKey(t testing.TB) (jwk.Key, snapshot.Keys) {
	t.Helper()
	seed := make([]byte, ed25519.SeedSize)
	copy(seed, "crlverify registry test key seed")
	key, err := snapshot.KeyFromRaw(ed25519.NewKeyFromSeed(seed))
	if err != nil {
		t.Fatal(err)
	}
	set, err := snapshot.PublicSet(key)
	if err != nil {
		t.Fatal(err)
	}
	return key, snapshot.KeysFromSet(set)
}

// readSnapshot decodes a published snapshot file completely.
func readSnapshot(t testing.TB, path string, keys snapshot.Keys) (*snapshot.Header, []crl.Entry, []crl.Key) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br := bufio.NewReader(f)
	h, err := snapshot.ReadHeader(br, keys, nil)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	rd := snapshot.NewBodyReader(br, h, nil)
	var ups []crl.Entry
	var rms []crl.Key
	for {
		e, removed, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if removed {
			rms = append(rms, e.Key)
		} else {
			ups = append(ups, e)
		}
	}
	return h, ups, rms
}

func readIndex(t testing.TB, dir string, keys snapshot.Keys) *snapshot.Index {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, snapshot.IndexName))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ix, err := snapshot.ReadIndex(f, keys, nil)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// checkFiles verifies that every file the index names exists with the
// length and digest the index gives.
func checkFiles(t testing.TB, dir string, ix *snapshot.Index) {
	t.Helper()
	for _, f := range append([]snapshot.IndexFile{ix.Full}, ix.Deltas...) {
		b, err := os.ReadFile(filepath.Join(dir, f.Name))
		if err != nil {
			t.Fatalf("index names %s: %v", f.Name, err)
		}
		if int64(len(b)) != f.Length || snapshot.Digest(sha256.Sum256(b)) != f.Digest {
			t.Fatalf("%s: %d bytes, index says %d (or digest differs)", f.Name, len(b), f.Length)
		}
	}
}

func mustVerify(t testing.TB, r *Registry) AuditReport {
	t.Helper()
	rep, err := r.VerifyAudit()
	if err != nil {
		t.Fatalf("audit verify: %v", err)
	}
	return rep
}

func sprint(v ...any) string { return fmt.Sprint(v...) }
