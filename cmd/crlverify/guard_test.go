package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPublishOldCopyKeepsRevocations is the scenario of a registry put
// back from an old copy: revoke R1, publish, copy the registry; revoke R2,
// publish, sync a verifier (R2 REVOKED); put the copy back and publish:
// refused; with --carry-forward published, and after the next sync the
// verifier still says R2 is REVOKED.
func TestPublishOldCopyKeepsRevocations(t *testing.T) {
	a := newAuthority(t)
	st := filepath.Join(a.dir, "store.db")
	revoke := func(id string) {
		mustRun(t, "", "revoke", "--registry", a.reg, "--issuer", testIssuer, "--id", id, "--reason", "dataError")
	}
	publish := func(extra ...string) (int, string, string) {
		return runCLI(t, append([]string{"publish", "--registry", a.reg, "--key", a.key, "--out", a.pub, "--publisher", "ministry"}, extra...)...)
	}
	revoke("R1")
	if code, _, errs := publish(); code != ExitOK {
		t.Fatalf("publish 1: %d %s", code, errs)
	}
	old, err := os.ReadFile(a.reg)
	must(t, err)
	revoke("R2")
	if code, _, errs := publish(); code != ExitOK {
		t.Fatalf("publish 2: %d %s", code, errs)
	}
	mustRun(t, "", "sync", "--from", a.pub, "--jwks", a.jwks, "--store", st)
	if code, out, _ := runCLI(t, "check", "--store", st, "R2"); code != ExitInvalid || !strings.Contains(out, "R2: REVOKED") {
		t.Fatalf("before: %d %q", code, out)
	}
	must(t, os.WriteFile(a.reg, old, 0o600))

	index, _ := os.ReadFile(filepath.Join(a.pub, "index.jws"))
	code, out, errs := publish()
	if code != ExitInvalid || out != "" || !strings.Contains(errs, "holds serial 2") || !strings.Contains(errs, "revokes 1 certificate this registry would not") ||
		!strings.Contains(errs, "--carry-forward") || !strings.Contains(errs, "crlverify restore") {
		t.Fatalf("publish of the old copy: %d %q %q", code, out, errs)
	}
	if after, _ := os.ReadFile(filepath.Join(a.pub, "index.jws")); string(after) != string(index) {
		t.Fatal("the refused publication changed the index")
	}
	// The audit trail of the copy lacks the records serial 2 signed.
	code, out, errs = runCLI(t, "audit", "verify", "--registry", a.reg, "--publication", a.pub, "--jwks", a.jwks)
	if code != ExitInvalid || !strings.Contains(errs, "lacks records") {
		t.Fatalf("audit verify of the old copy: %d %q %q", code, out, errs)
	}

	code, out, errs = publish("--carry-forward", "--json")
	if code != ExitOK {
		t.Fatalf("carry forward: %d %q %q", code, out, errs)
	}
	var res struct {
		Serial         uint64 `json:"serial"`
		CarriedForward struct {
			Serial  uint64 `json:"serial"`
			Carried uint64 `json:"carried"`
		} `json:"carried_forward"`
	}
	must(t, json.Unmarshal([]byte(out), &res))
	if res.Serial != 3 || res.CarriedForward.Serial != 2 || res.CarriedForward.Carried != 1 {
		t.Fatalf("carry forward printed %s", out)
	}
	mustRun(t, "", "sync", "--from", a.pub, "--jwks", a.jwks, "--store", st)
	if code, out, _ := runCLI(t, "check", "--store", st, "R2", "R1"); code != ExitInvalid || !strings.Contains(out, "R2: REVOKED") || !strings.Contains(out, "R1: REVOKED") {
		t.Fatalf("after: %d %q", code, out)
	}
	out = mustRun(t, "", "audit", "list", "--registry", a.reg, "--action", "carry-forward")
	if !strings.Contains(out, "carry-forward") || !strings.Contains(out, "serial 2") {
		t.Errorf("audit list: %q", out)
	}
	mustRun(t, "", "audit", "verify", "--registry", a.reg)
	// The next publication needs no carrying.
	if code, _, errs := publish(); code != ExitOK {
		t.Fatalf("publish 4: %d %s", code, errs)
	}
}

// TestAuditVerifyPublication: a registry whose trail was rewritten whole
// (so that it verifies on its own) is found from the signed checkpoints.
func TestAuditVerifyPublication(t *testing.T) {
	a := newAuthority(t)
	history := func(reg, pub, actor string) {
		mustRun(t, "", "revoke", "--registry", reg, "--issuer", testIssuer, "--id", "C1", "--actor", actor, "--at", "2026-01-01T00:00:00Z")
		mustRun(t, "", "publish", "--registry", reg, "--key", a.key, "--out", pub, "--publisher", "ministry", "--at", "2026-01-02T00:00:00Z", "--actor", "pub")
	}
	history(a.reg, a.pub, "alice")
	out := mustRun(t, "", "audit", "verify", "--registry", a.reg, "--publication", a.pub, "--jwks", a.jwks)
	if !strings.Contains(out, "consistent with 1 signed checkpoint") {
		t.Fatalf("verify: %q", out)
	}
	// The same history with another actor, its chain whole, put in place
	// of the registry the publication signed.
	forged, forgedPub := filepath.Join(a.dir, "forged.db"), filepath.Join(a.dir, "forged-pub")
	history(forged, forgedPub, "mallory")
	mustRun(t, "", "audit", "verify", "--registry", forged)
	b, err := os.ReadFile(forged)
	must(t, err)
	must(t, os.WriteFile(a.reg, b, 0o600))
	code, out, errs := runCLI(t, "audit", "verify", "--registry", a.reg, "--publication", a.pub, "--jwks", a.jwks, "--json")
	if code != ExitInvalid || !strings.Contains(out, `"ok":false`) || !strings.Contains(errs, "not the one publication of serial 1 signed") {
		t.Fatalf("forged: %d %q %q", code, out, errs)
	}
	// Checkpoints not signed by the keys given are refused.
	other := newAuthority(t)
	code, _, errs = runCLI(t, "audit", "verify", "--registry", a.reg, "--publication", a.pub, "--jwks", other.jwks)
	if code != ExitInvalid || !strings.Contains(errs, "checkpoint-") {
		t.Fatalf("other keys: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "audit", "verify", "--registry", a.reg, "--publication", a.pub); code != ExitError {
		t.Fatalf("--publication without --jwks: %d", code)
	}
}
