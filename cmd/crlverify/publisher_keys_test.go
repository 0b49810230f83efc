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
	trustFile, st, signer := publisherKeysFixture(t)
	if _, out, _ := runCLI(t, "status", "--store", st); !strings.Contains(out, "thumbprint "+signer) {
		t.Errorf("status does not show the signer key:\n%s", out)
	}
	keyFile := trustKeyFile(t, trustFile, "did:india")

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
		{[]string{other, signer}, ExitInvalid, ": REVOKED", "publisher key " + other + ", " + signer + " only"},
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

// publisherKeysFixture makes a copy of the fixture trust store and a CRL
// store holding the fixture list, and returns their paths and the
// thumbprint of the key that signed the list, as status --json shows it.
func publisherKeysFixture(t *testing.T) (trustFile, st, signer string) {
	t.Helper()
	trustFile = filepath.Join(t.TempDir(), "trust.json")
	copyFile(t, filepath.Join(fixtureDir, "trust.json"), trustFile)
	st = filepath.Join(t.TempDir(), "store.db")
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
	return trustFile, st, line.SignerKey
}

// trustKeyFile writes the first key of the DIVOC entry vm of trustFile to
// a PEM file, to add it again with a policy, and returns its path.
func trustKeyFile(t *testing.T, trustFile, vm string) string {
	t.Helper()
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
		if e.VM == vm && len(e.Keys) > 0 {
			keyPEM = e.Keys[0].PublicKey
		}
	}
	if keyPEM == "" {
		t.Fatalf("no key of %s in %s", vm, trustFile)
	}
	keyFile := filepath.Join(t.TempDir(), strings.ReplaceAll(vm, ":", "_")+".pem")
	must(t, os.WriteFile(keyFile, []byte(keyPEM), 0o644))
	return keyFile
}

// setPublisherKeys sets the crl_publisher_keys of the DIVOC entry vm
// (whose key is in keyFile); no keys lets any publisher answer again.
func setPublisherKeys(t *testing.T, trustFile, vm, keyFile string, keys ...string) {
	t.Helper()
	args := []string{"trust", "add", "--trust", trustFile, vm, keyFile, "--crl-publisher-key", ""}
	for _, k := range keys {
		args = append(args, "--crl-publisher-key", k)
	}
	if code, _, errs := runCLI(t, args...); code != ExitOK {
		t.Fatalf("trust add %s %v: %d %q", vm, keys, code, errs)
	}
}

// TestCheckCRLPublisherKeys: check --trust holds the store's answer to the
// trust file's publisher-key policy as scan does. A list signed by a key
// the entry bound to the issuer does not name is ignored, whether it
// revokes the id or not: UNKNOWN, exit 3, saying which key answered, in
// text and JSON. Naming the key lets the answer stand; without a trust
// store every list answers.
func TestCheckCRLPublisherKeys(t *testing.T) {
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no default trust store
	trustFile, st, signer := publisherKeysFixture(t)
	keyFile := trustKeyFile(t, trustFile, "did:india")
	const issuer, revokedID, fineID = "https://cowin.gov.in/", "8000000000035", "8000000000011"
	check := func(extra ...string) (int, string) {
		args := append([]string{"check", "--store", st, "--at", "2026-06-01T00:00:00Z", "--issuer", issuer}, extra...)
		code, out, errs := runCLI(t, args...)
		if errs != "" && code != ExitInvalid && code != ExitUnknown {
			t.Errorf("check %v: stderr %q", extra, errs)
		}
		return code, out
	}
	other := strings.Repeat("A", 43)
	ignored := "is signed by key " + signer + ", which the trust store does not name among the publisher keys that may answer for it (crl_publisher_keys): its answer is ignored"
	for _, tc := range []struct {
		name  string
		keys  []string
		trust bool
		id    string
		code  int
		want  string
	}{
		{"excluded publisher, revoked", []string{other}, true, revokedID, ExitUnknown, revokedID + ": UNKNOWN (the list of Test Health Authority (serial 1) answering for issuer " + issuer + " " + ignored + ")"},
		{"excluded publisher, not revoked", []string{other}, true, fineID, ExitUnknown, fineID + ": UNKNOWN (the list of Test Health Authority (serial 1) answering for issuer " + issuer + " " + ignored + ")"},
		{"excluded publisher, no trust store", []string{other}, false, revokedID, ExitInvalid, revokedID + ": REVOKED"},
		{"allowed publisher, revoked", []string{other, signer}, true, revokedID, ExitInvalid, revokedID + ": REVOKED"},
		{"allowed publisher, not revoked", []string{other, signer}, true, fineID, ExitOK, fineID + ": NOT REVOKED; list Test Health Authority serial 1"},
		{"any publisher, revoked", nil, true, revokedID, ExitInvalid, revokedID + ": REVOKED"},
		{"any publisher, not revoked", nil, true, fineID, ExitOK, fineID + ": NOT REVOKED; list Test Health Authority serial 1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setPublisherKeys(t, trustFile, "did:india", keyFile, tc.keys...)
			var extra []string
			if tc.trust {
				extra = []string{"--trust", trustFile}
			}
			code, out := check(append(extra, tc.id)...)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Fatalf("check: %d %q, want %d %q", code, out, tc.code, tc.want)
			}
			code, out = check(append(extra, "--json", tc.id)...)
			var line struct {
				ID        string `json:"id"`
				Status    string `json:"status"`
				Known     bool   `json:"known"`
				Detail    string `json:"detail"`
				Publisher string `json:"publisher"`
			}
			must(t, json.Unmarshal([]byte(out), &line))
			if code != tc.code || line.ID != tc.id {
				t.Fatalf("check --json: %d %s", code, out)
			}
			if tc.code == ExitUnknown && (line.Status != "unknown" || line.Known || !strings.Contains(line.Detail, ignored) || line.Publisher != "") {
				t.Errorf("check --json of an ignored answer: %s", out)
			}
			if tc.code != ExitUnknown && (line.Status == "unknown" || !line.Known || line.Publisher != "Test Health Authority") {
				t.Errorf("check --json of an answer that stands: %s", out)
			}
		})
	}

	// The default trust store is the one check judges by without --trust.
	t.Run("default trust store", func(t *testing.T) {
		setPublisherKeys(t, trustFile, "did:india", keyFile, other)
		cfg := t.TempDir()
		t.Setenv("XDG_CONFIG_HOME", cfg)
		t.Setenv("HOME", cfg)
		def, err := os.UserConfigDir()
		must(t, err)
		must(t, os.MkdirAll(filepath.Join(def, "crlverify"), 0o755))
		copyFile(t, trustFile, filepath.Join(def, "crlverify", "trust.json"))
		if code, out := check(fineID); code != ExitUnknown || !strings.Contains(out, ignored) {
			t.Errorf("check with the default trust store: %d %q", code, out)
		}
	})
}

// TestCheckCRLPublisherKeysEntriesDisagree: when several trust entries are
// bound to the issuer (did:divoc:ed25519 and did:lenient both to
// https://divoc.dev/), an id does not tell which issued it, so a key must
// be allowed by every one: an entry naming no keys does not lift another's
// restriction, and entries naming different keys leave none.
func TestCheckCRLPublisherKeysEntriesDisagree(t *testing.T) {
	trustFile, st, signer := publisherKeysFixture(t)
	ed25519Key := trustKeyFile(t, trustFile, "did:divoc:ed25519")
	lenientKey := trustKeyFile(t, trustFile, "did:lenient")
	const issuer, fineID = "https://divoc.dev/", "8000000000028"
	other := strings.Repeat("A", 43)
	for _, tc := range []struct {
		name             string
		ed25519, lenient []string
		code             int
		want             string
	}{
		{"neither names keys", nil, nil, ExitOK, ": NOT REVOKED"},
		{"one names the signer, one none", []string{signer}, nil, ExitOK, ": NOT REVOKED"},
		{"one names another key, one none", nil, []string{other}, ExitUnknown, "which the trust store does not name among the publisher keys that may answer for it (crl_publisher_keys)"},
		{"both name the signer", []string{signer, other}, []string{signer}, ExitOK, ": NOT REVOKED"},
		{"they name different keys", []string{signer}, []string{other}, ExitUnknown,
			"(the crl_publisher_keys of did:divoc:ed25519, did:lenient; a list answers for the issuer only if every one of them names its key)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			setPublisherKeys(t, trustFile, "did:divoc:ed25519", ed25519Key, tc.ed25519...)
			setPublisherKeys(t, trustFile, "did:lenient", lenientKey, tc.lenient...)
			code, out, _ := runCLI(t, "check", "--trust", trustFile, "--store", st, "--at", "2026-06-01T00:00:00Z", "--issuer", issuer, fineID)
			if code != tc.code || !strings.Contains(out, tc.want) {
				t.Errorf("check: %d %q, want %d %q", code, out, tc.code, tc.want)
			}
		})
	}
}
