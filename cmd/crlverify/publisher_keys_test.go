package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCRLPublisherKeys: status shows the key that signed each list; a
// trust entry naming the publisher keys that may answer for its issuer
// (trust add --crl-publisher-key) ignores a list signed by another, so
// scan says the revocation status is unknown; naming the list's key makes
// it count again.
func TestCRLPublisherKeys(t *testing.T) {
	trustFile := filepath.Join(t.TempDir(), "trust.json")
	copyFile(t, filepath.Join(fixtureDir, "trust.json"), trustFile)
	st := filepath.Join(t.TempDir(), "store.db")
	code, _, errs := runCLI(t, "sync", "--from", filepath.Join(fixtureDir, "crl"), "--jwks", filepath.Join(fixtureDir, "publisher", "publisher.jwks"),
		"--store", st, "--allow-expired", "--issuers", "https://cowin.gov.in/,https://divoc.dev/,https://expiring.example/,https://terminated.example/")
	if code != ExitOK && code != ExitUnknown { // the fixture list is stale by the wall clock after 2026-07-01
		t.Fatalf("sync: %d %q", code, errs)
	}
	_, out, _ := runCLI(t, "status", "--store", st, "--json")
	var line struct {
		SignerKey string `json:"signer_key"`
	}
	must(t, json.Unmarshal([]byte(strings.Split(out, "\n")[0]), &line))
	if len(line.SignerKey) != 43 {
		t.Fatalf("status --json: signer key %q in %s", line.SignerKey, out)
	}
	if _, out, _ := runCLI(t, "status", "--store", st); !strings.Contains(out, "thumbprint "+line.SignerKey) {
		t.Errorf("status does not show the signer key:\n%s", out)
	}

	// did:india's key, to re-add it with a policy.
	_, list, _ := runCLI(t, "trust", "list", "--trust", trustFile, "--json")
	var keyPEM string
	for _, l := range strings.Split(strings.TrimSpace(list), "\n") {
		var e struct {
			VM   string `json:"verification_method"`
			Keys []struct {
				PublicKey string `json:"public_key"`
			} `json:"keys"`
		}
		must(t, json.Unmarshal([]byte(l), &e))
		if e.VM == "did:india" {
			keyPEM = e.Keys[0].PublicKey
		}
	}
	keyFile := filepath.Join(t.TempDir(), "india.pem")
	must(t, os.WriteFile(keyFile, []byte(keyPEM), 0o644))

	revoked := filepath.Join(fixtureDir, "divoc", "certs", "revoked.json")
	scan := func() (int, string) {
		code, out, _ := runCLI(t, "scan", "--trust", trustFile, "--store", st, "--at", "2026-06-01T00:00:00Z", "--color", "never", revoked)
		return code, out
	}
	if code, out := scan(); code != ExitInvalid || !strings.Contains(out, ": REVOKED") {
		t.Fatalf("scan: %d %q", code, out)
	}
	other := strings.Repeat("A", 43)
	for _, tc := range []struct {
		keys     []string
		code     int
		want     string
		listNote string
	}{
		{[]string{other}, ExitUnknown, "VALID, REVOCATION STATUS UNKNOWN", "revocations from lists signed by publisher key " + other + " only"},
		{[]string{other, line.SignerKey}, ExitInvalid, ": REVOKED", "publisher key " + other + ", " + line.SignerKey + " only"},
		{[]string{""}, ExitInvalid, ": REVOKED", ""},
	} {
		args := []string{"trust", "add", "--trust", trustFile, "did:india", keyFile}
		for _, k := range tc.keys {
			args = append(args, "--crl-publisher-key", k)
		}
		if code, _, errs := runCLI(t, args...); code != ExitOK {
			t.Fatalf("trust add %v: %d %q", tc.keys, code, errs)
		}
		code, out := scan()
		if code != tc.code || !strings.Contains(out, tc.want) {
			t.Errorf("publisher keys %v: scan %d %q", tc.keys, code, out)
		}
		if code == ExitUnknown && !strings.Contains(out, "crl_publisher_keys") {
			t.Errorf("publisher keys %v: the scan does not say why: %q", tc.keys, out)
		}
		_, list, _ := runCLI(t, "trust", "list", "--trust", trustFile)
		if tc.listNote != "" && !strings.Contains(list, tc.listNote) || tc.listNote == "" && strings.Contains(list, "publisher key") {
			t.Errorf("publisher keys %v: trust list\n%s", tc.keys, list)
		}
	}
	if code, _, errs := runCLI(t, "trust", "add", "--trust", trustFile, "did:india", keyFile, "--crl-publisher-key", "abc"); code != ExitError || !strings.Contains(errs, "not a key thumbprint") {
		t.Errorf("a malformed publisher key: %d %q", code, errs)
	}
}
