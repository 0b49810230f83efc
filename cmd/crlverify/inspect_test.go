package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeygen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	code, stdout, stderr := runCLIStdin(t, "", "keygen", "--out", dir, "--json")
	if code != ExitOK {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var got struct{ KeyID, SigningKey, PublicKeys string }
	if err := json.Unmarshal([]byte(stdout), &struct {
		KeyID      *string `json:"key_id"`
		SigningKey *string `json:"signing_key"`
		PublicKeys *string `json:"public_keys"`
	}{&got.KeyID, &got.SigningKey, &got.PublicKeys}); err != nil || got.KeyID == "" {
		t.Fatalf("%v: %s", err, stdout)
	}
	fi, err := os.Stat(got.SigningKey)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("signing key %v mode %v", err, fi.Mode())
	}
	if _, err := readKeys(got.PublicKeys); err != nil {
		t.Fatalf("public keys unreadable: %v", err)
	}
	before, _ := os.ReadFile(got.SigningKey)
	code, _, stderr = runCLIStdin(t, "", "keygen", "--out", dir)
	after, _ := os.ReadFile(got.SigningKey)
	if code != ExitError || !strings.Contains(stderr, "never overwrites") || string(before) != string(after) {
		t.Fatalf("second keygen: exit %d %s", code, stderr)
	}
	if code, _, _ := runCLIStdin(t, "", "keygen", "--out", t.TempDir(), "--alg", "RS256"); code != ExitError {
		t.Fatalf("RS256 accepted")
	}
}

func TestInspect(t *testing.T) {
	full := filepath.Join("..", "..", "testdata", "crl", "full-00000000000000000001.crl")
	index := filepath.Join("..", "..", "testdata", "crl", "index.jws")
	jwks := filepath.Join("..", "..", "testdata", "publisher", "publisher.jwks")

	code, stdout, stderr := runCLIStdin(t, "", "inspect", "--jwks", jwks, full)
	if code != ExitOK || !strings.Contains(stdout, "signature:    verified") || !strings.Contains(stdout, "206 entries") ||
		!strings.Contains(stdout, "length and digest verified") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	code, stdout, _ = runCLIStdin(t, "", "inspect", full)
	if code != ExitOK || !strings.Contains(stdout, "NOT CHECKED") {
		t.Fatalf("without --jwks: exit %d\n%s", code, stdout)
	}
	code, stdout, _ = runCLIStdin(t, "", "inspect", "--json", "--jwks", jwks, index)
	var ix struct {
		Type      string `json:"type"`
		Signature string `json:"signature"`
		Serial    uint64 `json:"serial"`
	}
	if err := json.Unmarshal([]byte(stdout), &ix); code != ExitOK || err != nil || ix.Type != "index" || ix.Signature != "verified" || ix.Serial != 1 {
		t.Fatalf("index: exit %d %v %s", code, err, stdout)
	}

	// A flipped body byte, and a key set without the publisher's key.
	b, err := os.ReadFile(full)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)-10] ^= 0x40
	tampered := filepath.Join(t.TempDir(), "tampered.crl")
	if err := os.WriteFile(tampered, b, 0o644); err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLIStdin(t, "", "inspect", "--jwks", jwks, tampered)
	if code != ExitInvalid || stdout != "" || !strings.Contains(stderr, "digest mismatch") {
		t.Fatalf("tampered: exit %d\n%s\n%s", code, stdout, stderr)
	}
	other := t.TempDir()
	if code, _, _ := runCLIStdin(t, "", "keygen", "--out", other); code != ExitOK {
		t.Fatal("keygen")
	}
	code, _, stderr = runCLIStdin(t, "", "inspect", "--jwks", filepath.Join(other, publicKeysFile), full)
	if code != ExitInvalid || !strings.Contains(stderr, "unknown signing key") {
		t.Fatalf("wrong keys: exit %d %s", code, stderr)
	}
	if code, _, _ := runCLIStdin(t, "", "inspect", filepath.Join(other, "missing.crl")); code != ExitError {
		t.Fatalf("missing file: exit %d", code)
	}
}
