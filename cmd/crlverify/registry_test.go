package main

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl/registry"
)

const demoCerts = "../../crl/registry/testdata/demo/certificates.csv"

// jsonLines decodes one JSON object per line.
func jsonLines[T any](t *testing.T, out string) []T {
	t.Helper()
	var all []T
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Fatalf("%v: %s", err, sc.Text())
		}
		all = append(all, v)
	}
	return all
}

func TestRegistryImportAndShow(t *testing.T) {
	a := newAuthority(t)
	out := mustRun(t, "", "registry", "import", "--registry", a.reg, demoCerts)
	if want := demoCerts + ": 120 rows: 120 certificates imported, 0 already in the registry, 0 duplicate rows; 1 corrected certificates revoked as superseded (0 already were); audit record 2\n"; out != want {
		t.Errorf("import printed %q, want %q", out, want)
	}
	// Again, from stdin, as JSON: nothing new.
	in, _ := os.ReadFile(demoCerts)
	out = mustRun(t, string(in), "registry", "import", "--registry", a.reg, "-", "--json")
	var res struct {
		Source string `json:"source"`
		registry.CertImportResult
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.Source != "stdin" || res.Imported != 0 || res.Unchanged != 120 {
		t.Errorf("re-import printed %q (%v)", out, err)
	}
	// Duplicates are reported on stderr, counted once.
	dup := filepath.Join(a.dir, "dup.jsonl")
	os.WriteFile(dup, []byte(`{"certificate_id":"N-1","issuer":"https://cowin.gov.in/","beneficiary_id":"B9","dose":1,"issued_at":"2022-01-01"}
{"certificate_id":"N-1","issuer":"https://cowin.gov.in/","beneficiary_id":"B9","dose":1,"issued_at":"2022-01-01"}
`), 0o644)
	code, stdout, stderr := runCLIStdin(t, "", "registry", "import", "--registry", a.reg, dup)
	if code != ExitOK || !strings.Contains(stdout, "1 certificates imported") || !strings.Contains(stderr, dup+":2: duplicate of line 1 (certificate N-1), counted once") {
		t.Errorf("duplicates: exit %d\n%s%s", code, stdout, stderr)
	}
	// Bad rows are named by line; nothing is imported.
	bad := filepath.Join(a.dir, "bad.csv")
	os.WriteFile(bad, []byte("certificate_id,beneficiary_id,dose,issued_at\nB-1,X,1,2021-01-01\nB-2,X,0,2021-01-01\nB-3,X,1,someday\n"), 0o644)
	code, stdout, stderr = runCLIStdin(t, "", "registry", "import", "--registry", a.reg, bad)
	if code != ExitError || stdout != "" || !strings.Contains(stderr, bad+`:3: registry: invalid request: dose "0"`) ||
		!strings.Contains(stderr, bad+":4:") || !strings.Contains(stderr, "nothing applied: 2 bad rows") {
		t.Errorf("bad rows: exit %d\n%s%s", code, stdout, stderr)
	}
	out = mustRun(t, "", "registry", "show", "--registry", a.reg, "--beneficiary", "91000000000001")
	for _, want := range []string{"https://cowin.gov.in/ 9100000000003: valid", "beneficiary 91000000000001, dose 3, batch EX-7790, issued 2021-08-17T22:00:00Z", "3 certificates"} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, "", "registry", "show", "--registry", a.reg, "--id", "9100000000004", "--json")
	cs := jsonLines[registry.Certificate](t, out)
	if len(cs) != 1 || cs[0].State != registry.StateRevoked || cs[0].SupersededBy != "9100000000120" || cs[0].Reason.String() != "superseded" {
		t.Errorf("the corrected certificate: %s", out)
	}
	out = mustRun(t, "", "registry", "show", "--registry", a.reg, "--batch", "EX-7790", "--json")
	if n := len(jsonLines[registry.Certificate](t, out)); n != 25 {
		t.Errorf("batch EX-7790: %d certificates", n)
	}
	code, _, stderr = runCLIStdin(t, "", "registry", "show", "--registry", a.reg, "--id", "nope")
	if code != ExitError || !strings.Contains(stderr, "neither imported nor revoked") {
		t.Errorf("show unknown: %d %s", code, stderr)
	}
	out = mustRun(t, "", "registry", "stats", "--registry", a.reg, "--json")
	var s registry.Stats
	if json.Unmarshal([]byte(out), &s); s.Certificates != 121 || s.Revoked != 1 || s.Issuers != 1 {
		t.Errorf("stats %s", out)
	}
}

func TestRevokeRulesCLI(t *testing.T) {
	a := newAuthority(t)
	mustRun(t, "", "registry", "import", "--registry", a.reg, demoCerts, "--actor", "importer")
	// DIVOC's dose rule: the latest dose must be included.
	for _, c := range []struct{ doses, rule string }{{"1", "doses-include-latest"}, {"1,3", "doses-consecutive"}, {"2", "doses-include-latest"}, {"3,4", "dose-not-issued"}} {
		code, stdout, stderr := runCLIStdin(t, "", "revoke", "--registry", a.reg, "--beneficiary", "91000000000001", "--doses", c.doses)
		if code != ExitError || stdout != "" || !strings.Contains(stderr, "rule "+c.rule) {
			t.Errorf("--doses %s: exit %d, stderr %q; want rule %s", c.doses, code, stderr, c.rule)
		}
	}
	out := mustRun(t, "", "revoke", "--registry", a.reg, "--beneficiary", "91000000000001", "--doses", "2,3", "--reason", "dataError", "--note", "wrong name", "--actor", "alice")
	if !strings.HasPrefix(out, "revoked 2 of 2 certificates, audit record ") || !strings.Contains(out, "9100000000003: valid -> revoked (dataError") {
		t.Errorf("revoke by doses printed\n%s", out)
	}
	out = mustRun(t, "", "revoke", "--registry", a.reg, "--batch", "EX-7790", "--json")
	var oc registry.Outcome
	if err := json.Unmarshal([]byte(out), &oc); err != nil || oc.Matched != 25 || oc.Changed != 24 || oc.Unchanged != 1 {
		t.Errorf("batch: %+v %v", oc, err)
	}
	if oc.Certificates[0].After.Reason.String() != "faultyBatch" && oc.Certificates[0].After.Reason.String() != "dataError" {
		t.Errorf("batch reason %v", oc.Certificates[0].After.Reason)
	}
	out = mustRun(t, "", "suspend", "--registry", a.reg, "--id", "9100000000010", "--until", "2030-01-01", "--at", "2026-01-01")
	if !strings.Contains(out, "suspended 1 of 1 certificate") {
		t.Errorf("suspend printed %q", out)
	}
	code, _, stderr := runCLIStdin(t, "", "suspend", "--registry", a.reg, "--id", "9100000000003", "--until", "2030-01-01")
	if code != ExitError || !strings.Contains(stderr, "rule revoked-not-suspendable") {
		t.Errorf("suspend a revoked certificate: %d %q", code, stderr)
	}
	out = mustRun(t, "", "unrevoke", "--registry", a.reg, "--id", "9100000000010", "--note", "cleared")
	if !strings.HasPrefix(out, "lifted 1 of 1 certificate") {
		t.Errorf("unrevoke printed %q", out)
	}
	// The chronological list, oldest first.
	out = mustRun(t, "", "revocations", "--registry", a.reg, "--json")
	type rev struct {
		CertificateID string    `json:"certificate_id"`
		Issuer        string    `json:"issuer"`
		RevokedAt     time.Time `json:"revoked_at"`
		Reason        string    `json:"reason"`
	}
	revs := jsonLines[rev](t, out)
	if len(revs) != 27 || revs[0].CertificateID != "9100000000004" || revs[0].Reason != "superseded" || revs[0].Issuer != "https://cowin.gov.in/" {
		t.Fatalf("%d revocations, first %+v", len(revs), revs[0])
	}
	if !slices.IsSortedFunc(revs, func(a, b rev) int { return a.RevokedAt.Compare(b.RevokedAt) }) {
		t.Error("revocations not in chronological order")
	}
	code, stdout, stderr := runCLIStdin(t, "", "revocations", "--registry", a.reg, "--since", "2021-12-02")
	if code != ExitOK || strings.Count(stdout, "\n") != 26 || !strings.Contains(stderr, "26 revocations in force") {
		t.Errorf("revocations --since: %d\n%s%s", code, stdout, stderr)
	}
	// The audit trail: verified; filtered by certificate and actor.
	out = mustRun(t, "", "audit", "verify", "--registry", a.reg)
	if !strings.HasPrefix(out, "audit trail verified: ") {
		t.Errorf("audit verify: %q", out)
	}
	out = mustRun(t, "", "audit", "list", "--registry", a.reg, "--certificate", "9100000000003")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	// The batch found it revoked already: that record did not change it.
	if len(lines) != 2 || !strings.Contains(lines[0], "import") || !strings.Contains(lines[1], "revoke     alice") || !strings.Contains(lines[1], `note "wrong name"`) {
		t.Errorf("audit list --certificate:\n%s", out)
	}
	out = mustRun(t, "", "audit", "list", "--registry", a.reg, "--actor", "alice", "--json", "--items")
	type rec struct {
		Seq   uint64               `json:"seq"`
		Hash  string               `json:"hash"`
		Items []registry.AuditItem `json:"items"`
	}
	recs := jsonLines[rec](t, out)
	if len(recs) != 1 || len(recs[0].Items) != 2 || len(recs[0].Hash) != 64 {
		t.Errorf("audit list --json --items: %s", out)
	}
}

// An audit trail edited in the file: audit verify names the record and
// exits 1.
func TestAuditVerifyCLIFindsTampering(t *testing.T) {
	a := newAuthority(t)
	mustRun(t, "", "revoke", "--registry", a.reg, "--issuer", "moh", "--id", "A-1", "--reason", "dataError", "--actor", "bob")
	mustRun(t, "", "revoke", "--registry", a.reg, "--issuer", "moh", "--id", "A-2", "--actor", "alice")
	db, err := bolt.Open(a.reg, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Change record 3's actor (records: 1 add-issuer, 2 and 3 revoke).
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("audit"))
		k, v := b.Cursor().First() // one block holds the three records
		v = []byte(strings.Replace(string(v), "alice", "alicf", 1))
		return b.Put(append([]byte(nil), k...), v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr := runCLIStdin(t, "", "audit", "verify", "--registry", a.reg)
	if code != ExitInvalid || stdout != "" || !strings.Contains(stderr, "audit trail broken at record 3: hash does not match") {
		t.Errorf("audit verify of a tampered trail: exit %d\n%s%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLIStdin(t, "", "audit", "verify", "--registry", a.reg, "--json")
	if code != ExitInvalid || !strings.Contains(stdout, `"ok":false,"seq":3`) {
		t.Errorf("audit verify --json: %d %s", code, stdout)
	}
}
