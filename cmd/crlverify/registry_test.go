package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/crl/service"
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
	cs := jsonLines[certificateJSON](t, out)
	if len(cs) != 1 || cs[0].Status != "revoked" || cs[0].SupersededBy != "9100000000120" || cs[0].Reason == nil || cs[0].Reason.String() != "superseded" ||
		cs[0].BeneficiaryID != "91000000000002" || !cs[0].Imported {
		t.Errorf("the corrected certificate: %s", out)
	}
	out = mustRun(t, "", "registry", "show", "--registry", a.reg, "--batch", "EX-7790", "--json")
	if n := len(jsonLines[certificateJSON](t, out)); n != 25 {
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
	var oc service.Outcome
	if err := json.Unmarshal([]byte(out), &oc); err != nil || oc.Matched != 25 || len(oc.Changed) != 24 || oc.Unchanged != 1 {
		t.Fatalf("batch: %+v %v", oc, err)
	}
	if oc.Changed[0].After.Reason.String() != "faultyBatch" {
		t.Errorf("batch reason %v", oc.Changed[0].After.Reason)
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

// TestRegistryOutputHostileText: ids, beneficiary ids, batches, notes,
// actors, publisher names and file names holding characters that drive a
// terminal or disguise text (a bidi override, a line separator, a
// zero-width space, an escape sequence in a file name) come out of every
// registry command escaped in text, and as exact \u escapes in JSON.
func TestRegistryOutputHostileText(t *testing.T) {
	a := newAuthority(t)
	const (
		issuer = "https://cowin.gov.in/"
		id     = "C-1\u202egnp.exe"
		ben    = "B\u2028EN"
		batch  = "LOT\u200b7"
		note   = "see \u202eticket\u2028 42"
		actor  = "cli:\u202eroot"
		pub    = "Evil \u202e Authority"
	)
	// Control characters are refused by the registry; what it accepts is
	// still never printed raw.
	hostile := []string{"\u202e", "\u2028", "\u200b", "\x1b"}
	certs := filepath.Join(a.dir, "issued\x1b[2J.csv")
	must(t, os.WriteFile(certs, []byte("certificate_id,issuer,beneficiary_id,dose,batch,issued_at\n"+
		id+","+issuer+","+ben+",1,"+batch+",2021-05-01\n"), 0o644))
	type run struct {
		args []string
		json bool
	}
	var outputs []string
	do := func(r run) string {
		t.Helper()
		code, stdout, stderr := runCLI(t, r.args...)
		for _, h := range hostile {
			if strings.Contains(stdout, h) || strings.Contains(stderr, h) {
				t.Errorf("%q printed %q raw:\n%s%s", r.args, h, stdout, stderr)
			}
		}
		if code != ExitOK {
			t.Fatalf("%q: exit %d: %s", r.args, code, stderr)
		}
		outputs = append(outputs, stdout)
		return stdout
	}
	reg := []string{"--registry", a.reg}
	for _, j := range []bool{false, true} {
		with := func(args ...string) run {
			if j {
				args = append(args, "--json")
			}
			return run{args, j}
		}
		out := do(with(append([]string{"registry", "import", certs, "--actor", actor, "--note", note}, reg...)...))
		if !j && !strings.Contains(out, `issued\x1b[2J.csv`) {
			t.Errorf("import did not escape the file name: %q", out)
		}
		do(with(append([]string{"registry", "show", "--beneficiary", ben}, reg...)...))
		do(with(append([]string{"registry", "show", "--batch", batch}, reg...)...))
		out = do(with(append([]string{"revoke", "--id", id, "--note", note, "--actor", actor, "--reason", "tampering"}, reg...)...))
		if !j && !strings.Contains(out, `C-1\u202egnp.exe`) {
			t.Errorf("revoke did not escape the id: %q", out)
		}
		do(with(append([]string{"revocations"}, reg...)...))
		out = do(with(append([]string{"audit", "list"}, reg...)...))
		if !j && (!strings.Contains(out, `cli:\u202eroot`) || !strings.Contains(out, `see \u202eticket\u2028 42`)) {
			t.Errorf("audit list did not escape the actor and the note:\n%s", out)
		}
		do(with(append([]string{"unrevoke", "--id", id, "--note", note}, reg...)...))
		do(with(append([]string{"suspend", "--batch", batch, "--until", "+24h", "--note", note}, reg...)...))
		out = do(with(append([]string{"publish", "--key", a.key, "--out", a.pub, "--publisher", pub}, reg...)...))
		if !j && !strings.Contains(out, `Evil \u202e Authority`) {
			t.Errorf("publish did not escape the publisher: %q", out)
		}
	}
	// The JSON holds the exact values.
	var sawID, sawNote, sawPub bool
	for _, out := range outputs {
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var v map[string]any
			if json.Unmarshal([]byte(l), &v) != nil {
				continue
			}
			sawID = sawID || v["certificate_id"] == id
			sawNote = sawNote || v["note"] == note
			sawPub = sawPub || v["publisher"] == pub
		}
	}
	if !sawID || !sawNote || !sawPub {
		t.Errorf("JSON values not exact: id %v note %v publisher %v", sawID, sawNote, sawPub)
	}
}

// TestAuditListFiltersCLI: audit list by time (since inclusive, until
// exclusive), actor, action and certificate, alone and together, in text
// and as JSON lines.
func TestAuditListFiltersCLI(t *testing.T) {
	a := newAuthority(t)
	t1 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	now := t1
	r, err := registry.Open(a.reg, &registry.Options{Now: func() time.Time { return now }})
	must(t, err)
	for i, step := range []func() error{
		func() error { return r.AddIssuers("moh") }, // 1
		func() error { // 2
			_, err := r.Revoke(t.Context(), registry.Request{Selector: registry.Selector{Issuer: "moh", CertificateID: "A-1"}, Actor: "bob"})
			return err
		},
		func() error { // 3
			_, err := r.Revoke(t.Context(), registry.Request{Selector: registry.Selector{Issuer: "moh", CertificateID: "A-2"}, Actor: "alice"})
			return err
		},
		func() error { // 4
			_, err := r.Suspend(t.Context(), registry.Request{Selector: registry.Selector{Issuer: "moh", CertificateID: "A-3"}, Actor: "alice", Until: now.Add(24 * time.Hour)})
			return err
		},
		func() error { // 5
			_, err := r.Lift(t.Context(), registry.Request{Selector: registry.Selector{Issuer: "moh", CertificateID: "A-1"}, Actor: "alice"})
			return err
		},
	} {
		now = t1.Add(time.Duration(i) * time.Hour)
		must(t, step())
	}
	must(t, r.Close())
	type rec struct {
		Seq    uint64 `json:"seq"`
		Action string `json:"action"`
		Actor  string `json:"actor"`
	}
	seqs := func(args ...string) string {
		t.Helper()
		out := mustRun(t, "", append([]string{"audit", "list", "--registry", a.reg, "--json"}, args...)...)
		var s []string
		for _, r := range jsonLines[rec](t, out) {
			s = append(s, fmt.Sprint(r.Seq))
		}
		text := mustRun(t, "", append([]string{"audit", "list", "--registry", a.reg}, args...)...)
		if n := strings.Count(text, "\n"); n != len(s) {
			t.Errorf("%q: %d lines of text, %d JSON objects", args, n, len(s))
		}
		return strings.Join(s, " ")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "1 2 3 4 5"},
		{[]string{"--since", "2026-03-01T10:00:00Z"}, "2 3 4 5"},
		{[]string{"--until", "2026-03-01T11:00:00Z"}, "1 2"},
		{[]string{"--since", "2026-03-01T10:00:00Z", "--until", "2026-03-01T12:00:00Z"}, "2 3"},
		{[]string{"--actor", "alice"}, "3 4 5"},
		{[]string{"--action", "revoke"}, "2 3"},
		{[]string{"--action", "suspend"}, "4"},
		{[]string{"--certificate", "A-1", "--issuer", "moh"}, "2 5"},
		{[]string{"--actor", "alice", "--action", "revoke"}, "3"},
		{[]string{"--certificate", "A-1", "--actor", "alice", "--since", "2026-03-01T13:00:00Z"}, "5"},
		{[]string{"--actor", "mallory"}, ""},
	} {
		if got := seqs(c.args...); got != c.want {
			t.Errorf("audit list %q: records %q, want %q", c.args, got, c.want)
		}
	}
	if code, _, errs := runCLI(t, "audit", "list", "--registry", a.reg, "--action", "explode"); code != ExitError || errs == "" {
		t.Errorf("an unknown action: %d %q", code, errs)
	}
}
