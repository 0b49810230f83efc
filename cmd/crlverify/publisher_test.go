package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/crl/service"
	"github.com/crlverify/crlverify/snapshot"
)

// mustRun runs a command that must succeed and returns its stdout.
func mustRun(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	code, stdout, stderr := runCLIStdin(t, stdin, args...)
	if code != ExitOK {
		t.Fatalf("crlverify %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// authority sets up a signing key and an empty registry in a temp dir.
type authority struct {
	dir, key, jwks, reg, pub string
}

func newAuthority(t *testing.T) authority {
	t.Helper()
	d := t.TempDir()
	a := authority{dir: d, key: filepath.Join(d, "keys", "signing.jwk"), jwks: filepath.Join(d, "keys", "publisher.jwks"),
		reg: filepath.Join(d, "moh.db"), pub: filepath.Join(d, "pub")}
	mustRun(t, "", "keygen", "--out", filepath.Join(d, "keys"))
	return a
}

const demoCSV = "../../testdata/demo/revocations.csv"
const demoJSONL = "../../testdata/demo/revocations.jsonl"

func TestPublisherEndToEnd(t *testing.T) {
	a := newAuthority(t)
	out := mustRun(t, "", "revoke", "--registry", a.reg, "--from-file", demoCSV)
	if want := demoCSV + ": 202 rows: 202 certificates revoked, suspended or updated, 0 unchanged; audit record 4\n"; out != want {
		t.Errorf("revoke --from-file printed %q, want %q", out, want)
	}
	jsonl, err := os.ReadFile(demoJSONL)
	if err != nil {
		t.Fatal(err)
	}
	out = mustRun(t, string(jsonl), "revoke", "--registry", a.reg, "--from-file", "-", "--json")
	var imp struct {
		Source  string `json:"source"`
		Rows    int    `json:"rows"`
		Changed int    `json:"changed"`
	}
	if err := json.Unmarshal([]byte(out), &imp); err != nil || imp.Source != "stdin" || imp.Rows != 4 || imp.Changed != 4 {
		t.Errorf("revoke --json printed %q (%v)", out, err)
	}
	out = mustRun(t, "", "suspend", "--registry", a.reg, "--issuer", "https://cowin.gov.in/", "--id", "9000000000001",
		"--reason", "certificateHold", "--at", "2026-11-01T00:00:00Z", "--until", "+720h")
	if !strings.Contains(out, "suspended 1 of 1 certificate") || !strings.Contains(out, "https://cowin.gov.in/ 9000000000001: unknown -> suspended (certificateHold, from 2026-11-01T00:00:00Z until 2026-12-01T00:00:00Z)") {
		t.Errorf("suspend printed %q", out)
	}
	out = mustRun(t, "", "revoke", "--registry", a.reg, "--issuer", "https://divoc.dev/", "--id", "9000000000002",
		"--reason", "12", "--at", "1767225600", "--json")
	var oc service.Outcome
	if err := json.Unmarshal([]byte(out), &oc); err != nil || len(oc.Changed) != 1 || oc.Changed[0].After.Reason != crl.ReasonTampering ||
		oc.Changed[0].After.Status != "revoked" || oc.Action != "revoke" {
		t.Errorf("revoke --json printed\n%s", out)
	}
	mustRun(t, "", "unrevoke", "--registry", a.reg, "--issuer", "https://divoc.dev/", "--id", "9000000000002")

	out = mustRun(t, "", "publish", "--registry", a.reg, "--key", a.key, "--out", a.pub,
		"--publisher", "Test Health Authority", "--at", "2026-11-22T09:00:00Z", "--json")
	var res registry.PublishResult
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("publish --json: %v: %s", err, out)
	}
	// 205 revocations in force: the demo's two suspensions have ended.
	if res.Serial != 1 || res.ListCount != 205 || res.Expired != 2 || res.Full.Name != snapshot.FullName(1) || res.NextUpdate.Format("2006-01-02T15") != "2026-11-23T09" {
		t.Errorf("publish result %+v", res)
	}
	out = mustRun(t, "", "inspect", "--jwks", a.jwks, filepath.Join(a.pub, res.Full.Name))
	for _, want := range []string{"signature:    verified", "205 entries", "length and digest verified", "Test Health Authority"} {
		if !strings.Contains(out, want) {
			t.Errorf("inspect output lacks %q:\n%s", want, out)
		}
	}

	out = mustRun(t, "", "unrevoke", "--registry", a.reg, "--issuer", "https://cowin.gov.in/", "--id", "9000000000001")
	if !strings.HasPrefix(out, "lifted 1 of 1 certificate") {
		t.Errorf("unrevoke printed %q", out)
	}
	out = mustRun(t, "", "unrevoke", "--registry", a.reg, "--issuer", "https://cowin.gov.in/", "--id", "9000000000001")
	if !strings.HasPrefix(out, "lifted 0 of 1 certificate (1 already so)") {
		t.Errorf("second unrevoke printed %q", out)
	}
	code, _, stderr := runCLIStdin(t, "", "unrevoke", "--registry", a.reg, "--issuer", "https://cowin.gov.in/", "--id", "never-heard-of")
	if code != ExitError || !strings.Contains(stderr, "neither imported nor revoked") {
		t.Errorf("unrevoke of an unknown id: exit %d, stderr %q", code, stderr)
	}
	out = mustRun(t, "", "publish", "--registry", a.reg, "--key", a.key, "--out", a.pub, "--at", "2026-11-23T09:00:00Z")
	delta := snapshot.DeltaName(1, 2)
	for _, want := range []string{`published serial 2 of "Test Health Authority": 204 entries, next update 2026-11-24T09:00:00Z`, delta, "+0 -1", "index.jws"} {
		if !strings.Contains(out, want) {
			t.Errorf("publish output lacks %q:\n%s", want, out)
		}
	}
	out = mustRun(t, "", "inspect", "--jwks", a.jwks, filepath.Join(a.pub, delta))
	if !strings.Contains(out, "0 upserts (0 suspensions), 1 removals") || !strings.Contains(out, "base:         serial 1") {
		t.Errorf("inspect delta:\n%s", out)
	}
	// Another key cannot pass for the publisher's.
	other := newAuthority(t)
	code, _, stderr = runCLIStdin(t, "", "inspect", "--jwks", other.jwks, filepath.Join(a.pub, snapshot.IndexName))
	if code != ExitInvalid || stderr == "" {
		t.Errorf("inspect with the wrong JWKS: exit %d, stderr %q", code, stderr)
	}
	out = mustRun(t, "", "audit", "verify", "--registry", a.reg)
	if !strings.HasPrefix(out, "audit trail verified: ") {
		t.Errorf("audit verify: %q", out)
	}
}

func TestRevokeBadRowsApplyNothing(t *testing.T) {
	a := newAuthority(t)
	bad := filepath.Join(a.dir, "bad.csv")
	os.WriteFile(bad, []byte("id,issuer,reason,revoked_at\n"+
		"1,moh,dataError,2026-01-01\n"+
		"2,moh,mistake,2026-01-01\n"+
		"3,moh,dataError,last tuesday\n"+
		"4,moh,7,2026-01-01\n"), 0o644)
	code, stdout, stderr := runCLIStdin(t, "", "revoke", "--registry", a.reg, "--from-file", bad)
	if code != ExitError || stdout != "" {
		t.Fatalf("exit %d, stdout %q", code, stdout)
	}
	for _, want := range []string{bad + `:3: unknown revocation reason "mistake"`, bad + `:4: revoked_at: bad time "last tuesday"`,
		bad + `:5: unknown revocation reason "7"`, "nothing applied: 3 bad rows"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	reg, err := registry.Open(a.reg, &registry.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	if s, _ := reg.Stats(); s.Revoked != 0 || s.Issuers != 0 {
		t.Errorf("registry after a refused file: %+v", s)
	}
}

func TestRevokeUsageErrors(t *testing.T) {
	a := newAuthority(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"revoke", "--registry", a.reg}, "give --id, --beneficiary"},
		{[]string{"revoke", "--registry", a.reg, "--id", "1", "--from-file", demoCSV}, "not both"},
		{[]string{"revoke", "--registry", a.reg, "--id", "1", "--batch", "x"}, "give one of --id, --beneficiary or --batch"},
		{[]string{"revoke", "--registry", a.reg, "--beneficiary", "B"}, "--beneficiary needs --doses"},
		{[]string{"revoke", "--registry", a.reg, "--beneficiary", "B", "--doses", "2,x"}, "--doses \"2,x\""},
		{[]string{"revoke", "--registry", a.reg, "--beneficiary", "B", "--doses", "2", "--all-doses"}, "not both"},
		{[]string{"revoke", "--registry", a.reg, "--id", "1", "--doses", "2"}, "go with --beneficiary"},
		{[]string{"revoke", "--registry", a.reg, "--from-file", demoCSV, "--reason", "dataError"}, "per row"},
		{[]string{"revoke", "--registry", a.reg, "--id", "1"}, "give --issuer"},
		{[]string{"revoke", "--registry", a.reg, "--id", "1", "--issuer", "moh", "--reason", "oops"}, "--reason: unknown revocation reason"},
		{[]string{"revoke", "--registry", a.reg, "--id", "1", "--issuer", "moh", "--reason", "7"}, `--reason: unknown revocation reason "7"`},
		{[]string{"revoke", "--registry", a.reg, "--id", "1", "--issuer", "moh", "--at", "soon"}, "--at: bad time"},
		{[]string{"revoke", "--registry", a.reg, "--id", "1", "--issuer", "moh", "--at", "0001-01-01T00:00:00Z"}, "--at: time \"0001-01-01T00:00:00Z\" out of range"},
		{[]string{"revoke", "--registry", a.reg, "--id", "1", "--issuer", "moh", "--until", "2027-01-01"}, "use \"crlverify suspend"},
		{[]string{"revoke", "--registry", a.reg, "--id", "1", "--issuer", "moh", "--note", "a\x1b[31mred"}, "note has control characters"},
		{[]string{"suspend", "--registry", a.reg, "--id", "1", "--issuer", "moh", "--until", "+forever"}, "--until: bad duration"},
		{[]string{"suspend", "--registry", a.reg, "--id", "1", "--issuer", "moh", "--at", "2026-02-01", "--until", "2026-01-01"}, "is not after its start"},
		{[]string{"suspend", "--registry", a.reg, "--id", "1", "--issuer", "moh"}, `required flag(s) "until" not set`},
		{[]string{"revoke", "--id", "1"}, `required flag(s) "registry" not set`},
		{[]string{"revoke", "--registry", a.reg, "--from-file", filepath.Join(a.dir, "missing.csv")}, "no such file"},
		{[]string{"publish", "--registry", a.reg, "--key", a.jwks, "--out", a.pub}, "not a private key"},
		{[]string{"publish", "--registry", a.reg, "--key", a.key, "--out", a.pub}, "publisher name required"},
		{[]string{"publish", "--registry", a.reg, "--key", a.key, "--out", a.pub, "--keep", "0", "--publisher", "x"}, "--keep"},
		{[]string{"publish", "--registry", a.reg, "--key", a.key, "--out", a.pub, "--publisher", "x", "--next-update", "0s"}, "--next-update 0s"},
		{[]string{"publish", "--registry", a.reg, "--key", a.key, "--out", a.pub, "--publisher", "x", "--at", "0001-01-01T00:00:00Z"}, "--at: time \"0001-01-01T00:00:00Z\" out of range"},
		{[]string{"revocations", "--registry", filepath.Join(a.dir, "missing.db")}, "no such file"},
		{[]string{"revocations", "--registry", a.reg, "--since", "last week"}, "--since: bad time"},
		{[]string{"audit", "list", "--registry", a.reg, "--action", "delete"}, "--action: unknown action"},
		{[]string{"registry", "show", "--registry", a.reg}, "give --id, --beneficiary"},
	} {
		code, stdout, stderr := runCLIStdin(t, "", c.args...)
		if code != ExitError || stdout != "" || !strings.Contains(stderr, c.want) {
			t.Errorf("crlverify %s: exit %d, stdout %q, stderr %q; want exit 2 and %q", strings.Join(c.args, " "), code, stdout, stderr, c.want)
		}
	}
}
