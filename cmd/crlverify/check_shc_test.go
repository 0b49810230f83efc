package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCheckSHCLists: check by id asks a SMART Health Cards issuer's own
// lists (issuer the iss URL, id the rid) besides the signed snapshots: a
// rid the list revokes is REVOKED, one it revokes for the cards issued
// before a time is unknown, one it does not hold is not revoked only when
// the trust store says the lists are the issuer's current ones.
func TestCheckSHCLists(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no default trust store
	trustFile := fixtureTrust(t)
	st := filepath.Join(t.TempDir(), "crl.db")
	mustRun(t, "", "sync", "--from", shcFixtureCRL(), "--trust", trustFile, "--store", st)
	const (
		revokedRID   = "YYisjdg0HJk"
		beforeRID    = "akb4ux9h210"
		notListedRID = "Zm9vYmFyYmF6"
	)
	listKey := "key " + shcFixtureKID + " (ctr 3)"
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--issuer", shcFixtureIssuer, revokedRID}, ExitInvalid, revokedRID + ": REVOKED by its issuer's revocation list of " + listKey},
		// The store's only issuer is the SHC issuer.
		{[]string{revokedRID}, ExitInvalid, "REVOKED by its issuer's revocation list"},
		{[]string{beforeRID}, ExitUnknown, beforeRID + ": UNKNOWN (its issuer's revocation list of " + listKey + " revokes the cards of this id issued before 2024-01-01T00:00:00Z"},
		{[]string{notListedRID}, ExitOK, notListedRID + ": NOT REVOKED; its issuer's own revocation lists\n"},
	} {
		code, out, errs := runCLI(t, append([]string{"check", "--store", st, "--trust", trustFile}, tc.args...)...)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("check %q: exit %d, stdout %q, stderr %q; want %d and %q", tc.args, code, out, errs, tc.code, tc.want)
		}
	}
	code, out, _ := runCLI(t, "check", "--store", st, "--trust", trustFile, "--json", revokedRID, beforeRID)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitInvalid || len(lines) != 2 {
		t.Fatalf("check --json: %d %q", code, out)
	}
	var revoked, before map[string]any
	must(t, json.Unmarshal([]byte(lines[0]), &revoked))
	must(t, json.Unmarshal([]byte(lines[1]), &before))
	if revoked["status"] != "revoked" || revoked["known"] != true || revoked["source"] != "shc_crl" || revoked["list_kid"] != shcFixtureKID || revoked["list_counter"] != 3.0 {
		t.Errorf("revoked line %v", revoked)
	}
	if before["status"] != "unknown" || before["known"] != false || before["revoked_before"] != "2024-01-01T00:00:00Z" || !strings.Contains(before["detail"].(string), "only the card") {
		t.Errorf("revoked-before line %v", before)
	}

	// Without the issuer's key set, or with one whose crlVersion is
	// newer than the stored list's ctr, a rid not listed is not
	// conclusively not revoked; a listed one is still revoked.
	code, out, _ = runCLI(t, "check", "--store", st, notListedRID)
	if code != ExitUnknown || !strings.Contains(out, "NOT CONCLUSIVE, the issuer "+shcFixtureIssuer+"'s key set is not known") {
		t.Errorf("without a trust store: %d %q", code, out)
	}
	jwks, err := os.ReadFile(shcFixtureJWKS())
	must(t, err)
	newer := strings.Replace(string(jwks), `"crlVersion": 3`, `"crlVersion": 4`, 1)
	if newer == string(jwks) {
		t.Fatalf("no crlVersion 3 in %s", jwks)
	}
	newerPath := filepath.Join(t.TempDir(), "jwks.json")
	must(t, os.WriteFile(newerPath, []byte(newer), 0o644))
	newerTrust := filepath.Join(t.TempDir(), "trust.json")
	mustRun(t, "", "trust", "add", "--trust", newerTrust, shcFixtureIssuer, newerPath)
	code, out, _ = runCLI(t, "check", "--store", st, "--trust", newerTrust, notListedRID, revokedRID)
	if code != ExitInvalid || !strings.Contains(out, "the list of key "+shcFixtureKID+" has ctr 3, the key's crlVersion is 4") || !strings.Contains(out, revokedRID+": REVOKED") {
		t.Errorf("with a newer key set: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, "check", "--store", st, "--trust", filepath.Join(t.TempDir(), "none.json"), notListedRID); code != ExitError || !strings.Contains(errs, "no trust store") {
		t.Errorf("a --trust that is not there: %d %q", code, errs)
	}

	// With a signed snapshot covering the issuer too, either may revoke.
	dir := t.TempDir()
	jwksPath := publishFor(t, dir, "authority", []string{shcFixtureIssuer}, 1, newKey(t), map[string][]string{shcFixtureIssuer: {"c25hcHNob3Q"}})
	mustRun(t, "", "sync", "--from", dir, "--jwks", jwksPath, "--store", st)
	for _, tc := range []struct {
		id   string
		code int
		want string
	}{
		{"c25hcHNob3Q", ExitInvalid, "c25hcHNob3Q: REVOKED (dataError"},
		{revokedRID, ExitInvalid, revokedRID + ": REVOKED by its issuer's revocation list"},
		{notListedRID, ExitOK, notListedRID + ": NOT REVOKED; list authority serial 1"},
		{beforeRID, ExitUnknown, beforeRID + ": UNKNOWN (its issuer's revocation list"},
	} {
		code, out, errs := runCLI(t, "check", "--store", st, "--trust", trustFile, "--issuer", shcFixtureIssuer, tc.id)
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("with a snapshot, %s: exit %d, stdout %q, stderr %q", tc.id, code, out, errs)
		}
	}
}
