package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

const testIssuer = "did:web:health.example"

// publication writes a signed publication directory (full snapshot and
// index) revoking "revoked-1" and suspending "suspended-1", made an hour
// ago and due for replacement in a day, plus its JWKS; it returns the
// directory and the JWKS path.
func publication(t *testing.T, serial uint64, key jwk.Key) (dir, jwksPath string) {
	t.Helper()
	dir = t.TempDir()
	return dir, publishInto(t, dir, serial, key)
}

func publishInto(t *testing.T, dir string, serial uint64, key jwk.Key) (jwksPath string) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	es := []crl.Entry{
		{Key: crl.KeyOf(testIssuer, "revoked-1"), RevokedAt: now.Add(-2 * time.Hour).Unix(), Reason: crl.ReasonFaultyBatch},
		{Key: crl.KeyOf(testIssuer, "suspended-1"), RevokedAt: now.Add(-2 * time.Hour).Unix(), Reason: crl.ReasonCertificateHold, SuspendedUntil: now.Add(240 * time.Hour).Unix()},
	}
	if es[0].Key > es[1].Key {
		es[0], es[1] = es[1], es[0]
	}
	var body bytes.Buffer
	w := snapshot.NewBodyWriter(&body)
	for _, e := range es {
		if err := w.Upsert(e); err != nil {
			t.Fatal(err)
		}
	}
	info, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	h := &snapshot.Header{Publisher: "ministry", Issuers: []string{testIssuer}, Serial: serial,
		ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(23 * time.Hour), Kind: snapshot.KindFull,
		ListDigest: info.Digest, ListCount: 2, Upserts: 2, BodyLength: info.Length, BodyDigest: info.Digest}
	var file bytes.Buffer
	if err := snapshot.WriteSnapshot(&file, h, key, &body); err != nil {
		t.Fatal(err)
	}
	name := snapshot.FullName(serial)
	must(t, os.WriteFile(filepath.Join(dir, name), file.Bytes(), 0o644))
	ix := &snapshot.Index{Publisher: "ministry", Issuers: []string{testIssuer}, Serial: serial,
		ThisUpdate: h.ThisUpdate, NextUpdate: h.NextUpdate,
		Full: snapshot.IndexFile{Name: name, Kind: snapshot.KindFull, Serial: serial, Length: int64(file.Len()), Digest: sha256.Sum256(file.Bytes())}}
	var ixb bytes.Buffer
	must(t, snapshot.WriteIndex(&ixb, ix, key))
	must(t, os.WriteFile(filepath.Join(dir, snapshot.IndexName), ixb.Bytes(), 0o644))
	return writeJWKS(t, key)
}

func writeJWKS(t *testing.T, keys ...jwk.Key) string {
	t.Helper()
	set, err := snapshot.PublicSet(keys...)
	must(t, err)
	b, err := json.Marshal(set)
	must(t, err)
	path := filepath.Join(t.TempDir(), "publisher.jwks")
	must(t, os.WriteFile(path, b, 0o644))
	return path
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newKey(t *testing.T) jwk.Key {
	k, err := snapshot.GenerateKey("")
	must(t, err)
	return k
}

func TestSyncCheckStatus(t *testing.T) {
	key := newKey(t)
	dir, jwks := publication(t, 1, key)
	st := filepath.Join(t.TempDir(), "store.db")

	code, out, errs := runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st)
	if code != ExitOK || !strings.Contains(out, "ministry: none -> serial 1 (full), 2 entries") {
		t.Fatalf("sync: %d %q %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "check", "--store", st, "revoked-1", "fine-1")
	if code != ExitInvalid || !strings.Contains(out, "revoked-1: REVOKED (faultyBatch") || !strings.Contains(out, "fine-1: NOT REVOKED; list ministry serial 1") {
		t.Fatalf("check: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "check", "--store", st, "--issuer", testIssuer, "fine-1")
	if code != ExitOK {
		t.Fatalf("check fine: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "check", "--store", st, "suspended-1")
	if code != ExitInvalid || !strings.Contains(out, "SUSPENDED until") {
		t.Fatalf("check suspended: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "check", "--store", st, "--json", "fine-1", "revoked-1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitInvalid || len(lines) != 2 {
		t.Fatalf("check --json: %d %q", code, out)
	}
	var first, second map[string]any
	must(t, json.Unmarshal([]byte(lines[0]), &first))
	must(t, json.Unmarshal([]byte(lines[1]), &second))
	if first["id"] != "fine-1" || first["status"] != "not_revoked" || first["freshness"] != "fresh" || first["known"] != true || first["serial"] != 1.0 {
		t.Fatalf("json line %v", first)
	}
	// The revocation reason is "reason", as in scan's output; times are
	// UTC to the second.
	if second["status"] != "revoked" || second["reason"] != "faultyBatch" || second["known"] != true ||
		!regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`).MatchString(fmt.Sprint(second["at"])) {
		t.Fatalf("json line %v", second)
	}
	// Past next-update: not revoked is not conclusive (3); within grace it is.
	later := time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)
	code, out, _ = runCLI(t, "check", "--store", st, "--at", later, "fine-1")
	if code != ExitUnknown || !strings.Contains(out, "NOT CONCLUSIVE") {
		t.Fatalf("stale check: %d %q", code, out)
	}
	if code, _, _ = runCLI(t, "check", "--store", st, "--at", later, "--grace", "72h", "fine-1"); code != ExitOK {
		t.Fatalf("within grace: %d", code)
	}
	// Revoked stays revoked on a stale list.
	if code, _, _ = runCLI(t, "check", "--store", st, "--at", later, "revoked-1"); code != ExitInvalid {
		t.Fatalf("stale revoked: %d", code)
	}
	if code, _, _ = runCLI(t, "check", "--store", st, "--issuer", "did:web:other", "x"); code != ExitUnknown {
		t.Fatalf("unknown issuer: %d", code)
	}

	code, out, _ = runCLI(t, "status", "--store", st, "--json")
	var sl map[string]any
	must(t, json.Unmarshal([]byte(out), &sl))
	if code != ExitOK || sl["serial"] != 1.0 || sl["freshness"] != "fresh" || sl["entries"] != 2.0 || sl["last_error"] != nil || sl["source"] != dir {
		t.Fatalf("status: %d %v", code, sl)
	}
	code, out, _ = runCLI(t, "status", "--store", st)
	if code != ExitOK || !strings.Contains(out, "ministry  serial 1  FRESH  2 entries") || !strings.Contains(out, "last sync:") {
		t.Fatalf("status text: %d %q", code, out)
	}

	// Over HTTP: the same publication is up to date.
	srv := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer srv.Close()
	code, out, errs = runCLI(t, "sync", "--from", srv.URL, "--jwks", jwks, "--store", st)
	if code != ExitOK || !strings.Contains(out, "serial 1 up to date") {
		t.Fatalf("http sync: %d %q %q", code, out, errs)
	}

	// A publication signed by a key not in the JWKS is refused (1), and the
	// store keeps answering; status shows the error.
	publishInto(t, dir, 2, newKey(t))
	code, _, errs = runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st)
	if code != ExitInvalid || !strings.Contains(errs, "unknown signing key") {
		t.Fatalf("forged sync: %d %q", code, errs)
	}
	code, out, _ = runCLI(t, "status", "--store", st, "--json")
	must(t, json.Unmarshal([]byte(out), &sl))
	if code != ExitOK || sl["serial"] != 1.0 || !strings.Contains(sl["last_error"].(string), "unknown signing key") {
		t.Fatalf("status after refusal: %v", sl)
	}
	// A source that never delivered a list leaves nothing behind: sync
	// said why it failed.
	empty := t.TempDir()
	if code, _, errs = runCLI(t, "sync", "--from", empty, "--jwks", jwks, "--store", st); code != ExitError || !strings.Contains(errs, "no such file") {
		t.Fatalf("sync from an empty directory: %d %q", code, errs)
	}
	code, out, _ = runCLI(t, "status", "--store", st)
	if code != ExitOK || strings.Contains(out, empty) || strings.Contains(out, "no list") {
		t.Fatalf("status after a failing source: %d %q", code, out)
	}
}

// TestSyncKeyChangeThenForget: a publication signed by a new key that the
// given key set alone vouches for is refused (1) with the way out in the
// message; after forget, sync trusts it.
func TestSyncKeyChangeThenForget(t *testing.T) {
	dir, jwks := publication(t, 1, newKey(t))
	st := filepath.Join(t.TempDir(), "store.db")
	if code, out, errs := runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st); code != ExitOK {
		t.Fatalf("sync: %d %q %q", code, out, errs)
	}
	next := newKey(t)
	nextJWKS := publishInto(t, dir, 2, next)
	code, _, errs := runCLI(t, "sync", "--from", dir, "--jwks", nextJWKS, "--store", st)
	if code != ExitInvalid || !strings.Contains(errs, "was never signed by") || !strings.Contains(errs, "crlverify forget PUBLISHER") {
		t.Fatalf("sync with a new key set: %d %q", code, errs)
	}
	if code, out, _ := runCLI(t, "check", "--store", st, "revoked-1"); code != ExitInvalid || !strings.Contains(out, "serial 1") {
		t.Fatalf("store after refusal: %d %q", code, out)
	}
	if code, _, errs := runCLI(t, "forget", "--store", st, "ministry", "nobody"); code != ExitError || !strings.Contains(errs, `no list of publisher "nobody"`) {
		t.Fatalf("forget an unknown publisher: %d %q", code, errs)
	}
	if code, out, _ := runCLI(t, "forget", "--store", st, "ministry"); code != ExitOK || out != "forgot ministry: serial 1, 2 entries\n" {
		t.Fatalf("forget: %d %q", code, out)
	}
	if code, _, _ := runCLI(t, "check", "--store", st, "revoked-1"); code != ExitUnknown {
		t.Fatalf("check after forget: %d", code)
	}
	if code, out, errs := runCLI(t, "sync", "--from", dir, "--jwks", nextJWKS, "--store", st); code != ExitOK || !strings.Contains(out, "none -> serial 2") {
		t.Fatalf("sync after forget: %d %q %q", code, out, errs)
	}
	if code, _, errs := runCLI(t, "forget", "--store", filepath.Join(t.TempDir(), "none.db"), "ministry"); code != ExitError || !strings.Contains(errs, "no store at") {
		t.Fatalf("forget without a store: %d %q", code, errs)
	}
}

func TestCommandErrors(t *testing.T) {
	st := filepath.Join(t.TempDir(), "none.db")
	if code, _, _ := runCLI(t, "check", "--store", st); code != ExitError {
		t.Errorf("check without ids: %d", code)
	}
	if code, _, errs := runCLI(t, "check", "--store", st, "x"); code != ExitUnknown || !strings.Contains(errs, "run crlverify sync") {
		t.Errorf("check without store: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "status", "--store", st); code != ExitUnknown {
		t.Errorf("status without store: %d", code)
	}
	if code, _, _ := runCLI(t, "sync", "--from", t.TempDir()); code != ExitError {
		t.Errorf("sync without --jwks: %d", code)
	}
	if code, _, _ := runCLI(t, "check", "--store", st, "--at", "yesterday", "x"); code != ExitError {
		t.Errorf("bad --at: %d", code)
	}
	jwks := writeJWKS(t, newKey(t))
	if code, _, _ := runCLI(t, "sync", "--from", filepath.Join(t.TempDir(), "missing"), "--jwks", jwks, "--store", st); code != ExitError {
		t.Errorf("missing source: %d", code)
	}
}

func TestDefaultStoreUnderXDGDataHome(t *testing.T) {
	data := t.TempDir()
	t.Setenv("XDG_DATA_HOME", data)
	key := newKey(t)
	dir, jwks := publication(t, 1, key)
	if code, _, errs := runCLI(t, "sync", "--from", dir, "--jwks", jwks); code != ExitOK {
		t.Fatalf("sync: %d %s", code, errs)
	}
	if _, err := os.Stat(filepath.Join(data, "crlverify", "store.db")); err != nil {
		t.Fatal(err)
	}
	if code, out, _ := runCLI(t, "check", "revoked-1"); code != ExitInvalid {
		t.Fatalf("check with the default store: %d %s", code, out)
	}
}
