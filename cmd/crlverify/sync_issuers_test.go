package main

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

const provinceIssuer = "did:web:province.example"

// publishFor writes into dir a full snapshot of publisher covering
// issuers, revoking the ids given per issuer, as serial, made an hour ago,
// and its index; it returns the JWKS path.
func publishFor(t *testing.T, dir, publisher string, issuers []string, serial uint64, key jwk.Key, revoked map[string][]string) string {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Second)
	var es []crl.Entry
	for is, ids := range revoked {
		for _, id := range ids {
			es = append(es, crl.Entry{Key: crl.KeyOf(is, id), RevokedAt: now.Add(-2 * time.Hour).Unix(), Reason: crl.ReasonDataError})
		}
	}
	slices.SortFunc(es, func(a, b crl.Entry) int { return cmp.Compare(a.Key, b.Key) })
	var body bytes.Buffer
	w := snapshot.NewBodyWriter(&body)
	for _, e := range es {
		must(t, w.Upsert(e))
	}
	info, err := w.Close()
	must(t, err)
	issuers = slices.Sorted(slices.Values(issuers))
	h := &snapshot.Header{Publisher: publisher, Issuers: issuers, Serial: serial,
		ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(23 * time.Hour), Kind: snapshot.KindFull,
		ListDigest: info.Digest, ListCount: uint64(len(es)), Upserts: uint64(len(es)), BodyLength: info.Length, BodyDigest: info.Digest}
	var file bytes.Buffer
	must(t, snapshot.WriteSnapshot(&file, h, key, &body))
	name := snapshot.FullName(serial)
	must(t, os.WriteFile(filepath.Join(dir, name), file.Bytes(), 0o644))
	ix := &snapshot.Index{Publisher: publisher, Issuers: issuers, Serial: serial, ThisUpdate: h.ThisUpdate, NextUpdate: h.NextUpdate,
		Full: snapshot.IndexFile{Name: name, Kind: snapshot.KindFull, Serial: serial, Length: int64(file.Len()), Digest: sha256.Sum256(file.Bytes())}}
	var ixb bytes.Buffer
	must(t, snapshot.WriteIndex(&ixb, ix, key))
	must(t, os.WriteFile(filepath.Join(dir, snapshot.IndexName), ixb.Bytes(), 0o644))
	return writeJWKS(t, key)
}

// TestSyncIssuers: sync --issuers binds a publisher to the issuers it may
// answer for; a trusted publisher claiming another's issuer is refused
// (exit 1, the way out on stderr, the store unchanged); without
// --issuers the binding is learned from the first list and the user told;
// status shows each binding.
func TestSyncIssuers(t *testing.T) {
	ministryDir, provinceDir := t.TempDir(), t.TempDir()
	ministryKey := newKey(t)
	ministryJWKS := publishFor(t, ministryDir, "ministry", []string{testIssuer}, 1, ministryKey,
		map[string][]string{testIssuer: {"revoked-1"}})
	// The province's list also covers the ministry's issuer: it would
	// revoke a good certificate of the ministry's.
	provinceJWKS := publishFor(t, provinceDir, "province", []string{testIssuer, provinceIssuer}, 1, newKey(t),
		map[string][]string{testIssuer: {"fine-1"}, provinceIssuer: {"p-1"}})
	srv := httptest.NewServer(http.FileServer(http.Dir(provinceDir)))
	t.Cleanup(srv.Close)
	province := srv.URL + "/"
	st := filepath.Join(t.TempDir(), "store.db")

	code, out, errs := runCLI(t, "sync", "--from", ministryDir, "--jwks", ministryJWKS, "--issuers", testIssuer, "--store", st)
	if code != ExitOK || !strings.Contains(out, "ministry: none -> serial 1") || strings.Contains(errs, "--issuers") {
		t.Fatalf("sync --issuers: %d %q %q", code, out, errs)
	}
	before, err := os.ReadFile(st)
	must(t, err)
	code, out, errs = runCLI(t, "sync", "--from", province, "--jwks", provinceJWKS, "--store", st)
	if code != ExitInvalid || out != "" ||
		!strings.Contains(errs, `Issuer "`+testIssuer+`" is bound to publisher "ministry" in this store`) ||
		!strings.Contains(errs, "crlverify forget ministry") {
		t.Fatalf("the province claiming the ministry's issuer: %d %q %q", code, out, errs)
	}
	code, _, errs = runCLI(t, "sync", "--from", province, "--jwks", provinceJWKS, "--issuers", provinceIssuer, "--store", st)
	if code != ExitInvalid || !strings.Contains(errs, `covers issuer "`+testIssuer+`"`) ||
		!strings.Contains(errs, `The publication of "province" covers "`+testIssuer+`", which --issuers does not name`) {
		t.Fatalf("the province bound to its own issuer: %d %q", code, errs)
	}
	if after, _ := os.ReadFile(st); !bytes.Equal(before, after) {
		t.Fatal("a refused sync changed the store file")
	}
	if code, out, _ := runCLI(t, "check", "--store", st, "--issuer", testIssuer, "fine-1", "revoked-1"); code != ExitInvalid ||
		!strings.Contains(out, "fine-1: NOT REVOKED; list ministry serial 1") || !strings.Contains(out, "revoked-1: REVOKED") {
		t.Fatalf("check after the refusals: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "status", "--store", st)
	if code != ExitOK || !strings.Contains(out, "  bound to:    "+testIssuer+" (set with sync --issuers)") {
		t.Fatalf("status: %d %q", code, out)
	}
	code, out, _ = runCLI(t, "status", "--store", st, "--json")
	var line map[string]any
	must(t, json.Unmarshal([]byte(out), &line))
	if code != ExitOK || line["bound_explicitly"] != true || !slices.Equal(anyStrings(line["bound_issuers"]), []string{testIssuer}) {
		t.Fatalf("status --json: %d %v", code, line)
	}

	// Trust on first use, said on stderr and in --json; the binding then
	// holds against the ministry.
	st2 := filepath.Join(t.TempDir(), "store.db")
	code, out, errs = runCLI(t, "sync", "--from", province, "--jwks", provinceJWKS, "--store", st2, "--json")
	line = nil
	must(t, json.Unmarshal([]byte(out), &line))
	if code != ExitOK || line["binding_learned"] != true || line["bound_explicitly"] != nil ||
		!slices.Equal(anyStrings(line["bound_issuers"]), []string{testIssuer, provinceIssuer}) ||
		!strings.Contains(errs, `publisher "province" now answers for issuers `+testIssuer+", "+provinceIssuer) ||
		!strings.Contains(errs, "pass --issuers "+testIssuer+","+provinceIssuer) {
		t.Fatalf("first sync without --issuers: %d %q %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "status", "--store", st2)
	if code != ExitOK || !strings.Contains(out, "taken from its first list: pass sync --issuers to fix them") {
		t.Fatalf("status of a learned binding: %d %q", code, out)
	}
	code, _, errs = runCLI(t, "sync", "--from", ministryDir, "--jwks", ministryJWKS, "--issuers", testIssuer, "--store", st2)
	if code != ExitInvalid || !strings.Contains(errs, `bound to publisher "province"`) || !strings.Contains(errs, "crlverify forget province") {
		t.Fatalf("the ministry after the province: %d %q", code, errs)
	}
	if code, _, _ := runCLI(t, "forget", "--store", st2, "province"); code != ExitOK {
		t.Fatalf("forget: %d", code)
	}
	if code, _, errs := runCLI(t, "sync", "--from", ministryDir, "--jwks", ministryJWKS, "--issuers", testIssuer, "--store", st2); code != ExitOK {
		t.Fatalf("the ministry once the province is forgotten: %d %q", code, errs)
	}

	// The ministry widens its list: refused until --issuers allows it.
	publishFor(t, ministryDir, "ministry", []string{testIssuer, provinceIssuer}, 2, ministryKey,
		map[string][]string{testIssuer: {"revoked-1"}, provinceIssuer: {"p-2"}})
	code, _, errs = runCLI(t, "sync", "--from", ministryDir, "--jwks", ministryJWKS, "--store", st)
	if code != ExitInvalid || !strings.Contains(errs, "allow it with --issuers "+testIssuer+","+provinceIssuer) {
		t.Fatalf("widened list: %d %q", code, errs)
	}
	code, out, errs = runCLI(t, "sync", "--from", ministryDir, "--jwks", ministryJWKS, "--store", st, "--issuers", testIssuer+","+provinceIssuer)
	if code != ExitOK || !strings.Contains(out, "serial 1 -> 2") {
		t.Fatalf("widened by --issuers: %d %q %q", code, out, errs)
	}

	for _, bad := range []string{"", " " + testIssuer, testIssuer + ","} {
		if code, _, errs := runCLI(t, "sync", "--from", ministryDir, "--jwks", ministryJWKS, "--store", st, "--issuers", bad); code != ExitError || !strings.Contains(errs, "--issuers") {
			t.Errorf("--issuers %q: %d %q", bad, code, errs)
		}
	}
}

func anyStrings(v any) []string {
	list, _ := v.([]any)
	out := make([]string, 0, len(list))
	for _, e := range list {
		s, _ := e.(string)
		out = append(out, s)
	}
	return out
}
