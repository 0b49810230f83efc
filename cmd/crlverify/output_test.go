package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/mr-tron/base58"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/divoc"
)

// hostile is text an attacker writes into a certificate, an id or a list:
// a window title change, a screen clear, a colour, a C1 cursor move, a
// bidi override, a line feed forging a line of output, DEL and a byte
// that is not UTF-8.
const hostile = "Mallory\x1b]0;pwned\x07\x1b[2J\x1b[31m\u009b1A\u202egnp.exe\nVALID\x7f\xff"

// hostileShown is hostile as text output prints it.
const hostileShown = `Mallory\x1b]0;pwned\x07\x1b[2J\x1b[31m\u009b1A\u202egnp.exe\nVALID\x7f\xff`

// hostileUTF8 is hostile without its last byte, for the places that hold
// UTF-8 only (JSON, snapshot names); hostileUTF8Shown is how it is shown.
var (
	hostileUTF8      = strings.TrimSuffix(hostile, "\xff")
	hostileUTF8Shown = strings.TrimSuffix(hostileShown, `\xff`)
)

// ownColour matches the colour sequences scan --color always writes itself.
var ownColour = regexp.MustCompile(`\x1b\[(1;3[123]|0)m`)

// assertInert fails when out holds a character a terminal acts on, other
// than line feeds.
func assertInert(t *testing.T, what, out string) {
	t.Helper()
	for i, r := range out {
		if r != '\n' && (unsafeRune(r) || r == utf8.RuneError) {
			t.Errorf("%s: raw %U at byte %d:\n%q", what, r, i, out)
			return
		}
	}
}

func TestClean(t *testing.T) {
	for in, want := range map[string]string{
		"Kavya Nair": "Kavya Nair",
		"ශ්\u200dරී லங்கா José Ñúñez": "ශ්\u200dරී லங்கா José Ñúñez", // Sinhala spells with U+200D
		"a\\x1b b":                 "a\\x1b b",
		hostile:                    hostileShown,
		"tab\there\r":              `tab\there\r`,
		"\u2028\u2029\ufeff\u00ad": `\u2028\u2029\ufeff\u00ad`,
		"flag\U000e0067":           `flag\U000e0067`,
		"\ufffd stays":             "\ufffd stays",
	} {
		if got := clean(in); got != want {
			t.Errorf("clean(%q) = %q, want %q", in, got, want)
		}
	}
	if got, want := cleanLines("line one\n\tline two\x1b[2J"), "line one\n\tline two\\x1b[2J"; got != want {
		t.Errorf("cleanLines = %q, want %q", got, want)
	}
}

// JSON output decodes to the exact value, and its bytes hold no raw
// control or format character: encoding/json leaves DEL, C1 controls and
// bidi overrides raw, writeJSON escapes them.
func TestWriteJSONIsExactAndInert(t *testing.T) {
	for _, s := range []string{hostileUTF8, "\u0085\u009b\u202e\u2066\ufeff", "tag \U000e0041", "plain <&> ascii", "ශ්\u200dරී"} {
		var b bytes.Buffer
		if err := writeJSON(&b, map[string]string{"name": s}); err != nil {
			t.Fatal(err)
		}
		assertInert(t, "writeJSON", strings.TrimSuffix(b.String(), "\n"))
		var back map[string]string
		if err := json.Unmarshal(b.Bytes(), &back); err != nil || back["name"] != s {
			t.Errorf("%q: decoded %q (%v) from %s", s, back["name"], err, b.String())
		}
	}
}

func FuzzClean(f *testing.F) {
	for _, s := range []string{hostile, "Kavya Nair", "ශ්\u200dරී", "\U000e0041\u2028", "\xc2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c := clean(s)
		if !utf8.ValidString(c) || strings.ContainsFunc(c, unsafeRune) {
			t.Fatalf("clean(%q) = %q", s, c)
		}
		if !strings.ContainsFunc(s, unsafeRune) && utf8.ValidString(s) && c != s {
			t.Fatalf("clean changed harmless %q to %q", s, c)
		}
		var b bytes.Buffer
		if err := writeJSON(&b, s); err != nil {
			t.Fatal(err)
		}
		if strings.ContainsFunc(strings.TrimSuffix(b.String(), "\n"), unsafeRune) {
			t.Fatalf("writeJSON(%q) = %q", s, b.String())
		}
		var back string
		if err := json.Unmarshal(b.Bytes(), &back); err != nil || (utf8.ValidString(s) && back != s) {
			t.Fatalf("writeJSON(%q) decodes to %q (%v)", s, back, err)
		}
	})
}

// TestScanHostileCertificate: a genuinely signed certificate whose
// holder's name, vaccine and file name hold terminal escapes is shown
// with the escapes made visible, with or without colour; --json carries
// the exact name, escaped.
func TestScanHostileCertificate(t *testing.T) {
	dir := t.TempDir()
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	trustFile := filepath.Join(dir, "trust.json")
	keyFile := filepath.Join(dir, "hostile.pub.base58")
	must(t, os.WriteFile(keyFile, []byte(base58.Encode(key.Public().(ed25519.PublicKey))), 0o644))
	if code, _, errs := runCLI(t, "trust", "add", "--trust", trustFile, "--name", "Issuer "+hostileUTF8, "did:hostile", keyFile); code != ExitOK {
		t.Fatal(errs)
	}
	b, err := os.ReadFile(filepath.Join(fixtureDir, "divoc", "certs", "valid-ed25519.json"))
	must(t, err)
	var m map[string]any
	must(t, json.Unmarshal(b, &m))
	delete(m, "proof")
	m["credentialSubject"].(map[string]any)["name"] = hostileUTF8
	m["evidence"].([]any)[0].(map[string]any)["vaccine"] = "CoVax\x1b[8m"
	unsigned, err := json.Marshal(m)
	must(t, err)
	signed, err := divoc.Sign(unsigned, key, divoc.SignOptions{VerificationMethod: "did:hostile", Created: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)})
	must(t, err)
	cert := filepath.Join(dir, "cert\x1b[2J.json")
	must(t, os.WriteFile(cert, signed, 0o644))
	args := []string{"scan", "--trust", trustFile, "--store", filepath.Join(dir, "absent.db"), "--at", "2026-06-01T00:00:00Z"}

	code, out, errs := runCLI(t, append(args, "--color", "never", cert)...)
	if code != ExitUnknown {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	assertInert(t, "scan --color never", out)
	assertInert(t, "scan stderr", errs)
	for _, want := range []string{
		`cert\x1b[2J.json: VALID, REVOCATION STATUS UNKNOWN`,
		"name:        " + hostileUTF8Shown + "\n",
		`vaccine:     CoVax\x1b[8m (COVPharma)`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, append(args, "--color", "always", cert)...)
	if code != ExitUnknown || !ownColour.MatchString(out) {
		t.Fatalf("--color always: exit %d\n%q", code, out)
	}
	assertInert(t, "scan --color always", ownColour.ReplaceAllString(out, ""))

	code, out, _ = runCLI(t, append(args, "--json", cert)...)
	assertInert(t, "scan --json", strings.TrimSuffix(out, "\n"))
	var r struct {
		Input       string `json:"input"`
		Certificate struct {
			Name string `json:"name"`
		} `json:"certificate"`
	}
	if err := json.Unmarshal([]byte(out), &r); code != ExitUnknown || err != nil || r.Input != cert || r.Certificate.Name != hostileUTF8 {
		t.Fatalf("--json: exit %d, %v, %+v", code, err, r)
	}

	_, out, _ = runCLI(t, "trust", "list", "--trust", trustFile)
	assertInert(t, "trust list", out)
	if !strings.Contains(out, "Issuer "+hostileUTF8Shown) {
		t.Errorf("trust list:\n%s", out)
	}
}

// hostilePublication publishes a list whose publisher and issuer names
// hold terminal escapes, revoking the id hostile.
func hostilePublication(t *testing.T, key jwk.Key) (dir, jwks, publisher, issuer string) {
	t.Helper()
	dir = t.TempDir()
	publisher, issuer = "ministry "+hostileUTF8, "did:web:"+hostileUTF8
	now := time.Now().UTC().Truncate(time.Second)
	var body bytes.Buffer
	w := snapshot.NewBodyWriter(&body)
	must(t, w.Upsert(crl.Entry{Key: crl.KeyOf(issuer, hostile), RevokedAt: now.Add(-2 * time.Hour).Unix(), Reason: crl.ReasonTampering}))
	info, err := w.Close()
	must(t, err)
	h := &snapshot.Header{Publisher: publisher, Issuers: []string{issuer}, Serial: 1,
		ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(23 * time.Hour), Kind: snapshot.KindFull,
		ListDigest: info.Digest, ListCount: 1, Upserts: 1, BodyLength: info.Length, BodyDigest: info.Digest}
	var file bytes.Buffer
	must(t, snapshot.WriteSnapshot(&file, h, key, &body))
	name := snapshot.FullName(1)
	must(t, os.WriteFile(filepath.Join(dir, name), file.Bytes(), 0o644))
	ix := &snapshot.Index{Publisher: publisher, Issuers: []string{issuer}, Serial: 1, ThisUpdate: h.ThisUpdate, NextUpdate: h.NextUpdate,
		Full: snapshot.IndexFile{Name: name, Kind: snapshot.KindFull, Serial: 1, Length: int64(file.Len()), Digest: sha256.Sum256(file.Bytes())}}
	var ixb bytes.Buffer
	must(t, snapshot.WriteIndex(&ixb, ix, key))
	must(t, os.WriteFile(filepath.Join(dir, snapshot.IndexName), ixb.Bytes(), 0o644))
	return dir, writeJWKS(t, key), publisher, issuer
}

// TestHostileNamesFromAList: check echoes ids, and sync, status, check and
// inspect print publisher and issuer names from a signed list, all with
// escapes made visible; --json keeps them exact.
func TestHostileNamesFromAList(t *testing.T) {
	dir, jwks, publisher, issuer := hostilePublication(t, newKey(t))
	st := filepath.Join(t.TempDir(), "store.db")
	for _, c := range [][]string{
		{"sync", "--from", dir, "--jwks", jwks, "--store", st},
		{"status", "--store", st},
		{"check", "--store", st, hostile},
		{"check", "--store", st, "--issuer", hostile, "x"},
		{"inspect", "--jwks", jwks, filepath.Join(dir, snapshot.IndexName)},
		{"inspect", filepath.Join(dir, snapshot.FullName(1))},
	} {
		code, out, errs := runCLI(t, c...)
		if code > ExitInvalid && c[0] != "check" {
			t.Fatalf("%v: exit %d\n%s", c, code, errs)
		}
		assertInert(t, c[0]+" stdout", out)
		assertInert(t, c[0]+" stderr", errs)
		if !strings.Contains(out, "ministry "+hostileUTF8Shown) && !strings.Contains(out, "did:web:"+hostileUTF8Shown) && !strings.Contains(out, hostileShown) {
			t.Errorf("%v: the names are not shown:\n%s", c, out)
		}
	}
	code, out, _ := runCLI(t, "check", "--store", st, hostile)
	if code != ExitInvalid || !strings.HasPrefix(out, hostileShown+": REVOKED (tampering") {
		t.Errorf("check: exit %d\n%s", code, out)
	}

	code, out, _ = runCLI(t, "check", "--json", "--store", st, hostile)
	assertInert(t, "check --json", strings.TrimSuffix(out, "\n"))
	var line map[string]any
	if err := json.Unmarshal([]byte(out), &line); code != ExitInvalid || err != nil || line["id"] != strings.ToValidUTF8(hostile, "\ufffd") ||
		line["publisher"] != publisher || line["issuer"] != issuer || line["reason"] != "tampering" {
		t.Errorf("check --json: exit %d\n%s", code, out)
	}
	code, out, _ = runCLI(t, "status", "--json", "--store", st)
	assertInert(t, "status --json", strings.TrimSuffix(out, "\n"))
	if err := json.Unmarshal([]byte(out), &line); code != ExitOK || err != nil || line["publisher"] != publisher {
		t.Errorf("status --json: exit %d\n%s", code, out)
	}
}

// Each of these is a usage error (exit 2) that says what is wrong, before
// anything is read, written or fetched.
func TestUsageErrors(t *testing.T) {
	dir := t.TempDir()
	st := filepath.Join(dir, "store.db")
	jwks := writeJWKS(t, newKey(t))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--store", st, "--issuer", "I", ""}, "certificate id 1 of 1 is empty"},
		{[]string{"check", "--store", st, "--issuer", "I", "123", " "}, "certificate id 2 of 2 is empty"},
		{[]string{"sync", "--from", dir, "--jwks", jwks, "--store", st, "--every", "1ns"}, "--every 1ns: the shortest interval is 1m0s"},
		{[]string{"sync", "--from", dir, "--jwks", jwks, "--store", st, "--every", "59s"}, "the shortest interval is 1m0s"},
		{[]string{"sync", "--from", dir, "--jwks", jwks, "--store", st, "--every", "-1s"}, "--every -1s: want a positive interval"},
		{[]string{"sync", "--from", dir, "--jwks", jwks, "--store", st, "--timeout", "-1s"}, "--timeout -1s: want a positive time limit"},
		{[]string{"sync", "--from", "ftp://crl.example.org/pub/", "--jwks", jwks, "--store", st}, `unsupported URL scheme "ftp"`},
		{[]string{"sync", "--from", "file://crl.example.org/pub/", "--jwks", jwks, "--store", st}, "must name a local path"},
		{[]string{"sync", "--from", "", "--jwks", jwks, "--store", st}, "--from is empty"},
	} {
		code, out, errs := runCLI(t, c.args...)
		if code != ExitError || out != "" || !strings.Contains(errs, c.want) {
			t.Errorf("%q: exit %d, stdout %q, stderr %q, want %q", c.args, code, out, errs, c.want)
		}
	}
	if _, err := os.Stat(st); err == nil {
		t.Error("a refused command created the store")
	}
}

// A file:// URL is the local path it names; an HTTP URL with an upper-case
// scheme is an HTTP URL.
func TestSyncFromFileURL(t *testing.T) {
	dir, jwks := publication(t, 1, newKey(t))
	st := filepath.Join(t.TempDir(), "store.db")
	code, out, errs := runCLI(t, "sync", "--from", "file://"+filepath.ToSlash(dir), "--jwks", jwks, "--store", st)
	if code != ExitOK || !strings.Contains(out, "none -> serial 1") {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	if got, err := sourceOf("HTTPS://crl.example.org/pub/"); err != nil || got != "https://crl.example.org/pub/" {
		t.Errorf("sourceOf(HTTPS://...) = %q, %v", got, err)
	}
}

// An error under --json is also a JSON object on stdout, with the exit
// code; without --json stdout stays empty.
func TestJSONErrors(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"check", "--json", "--store", filepath.Join(dir, "none.db"), "123"}, ExitUnknown, "no store at"},
		{[]string{"check", "--json"}, ExitError, "requires at least 1 arg"},
		{[]string{"check", "--json", "--bogus", "1"}, ExitError, "unknown flag: --bogus"},
		{[]string{"status", "--json", "--store", filepath.Join(dir, "none.db")}, ExitUnknown, "no store at"},
		{[]string{"scan", "--json", "--trust", filepath.Join(dir, "none.json"), "x.png"}, ExitError, "no trust store at"},
		{[]string{"trust", "list", "--json", "--trust", filepath.Join(dir, "bad", "\x00")}, ExitError, ""},
		{[]string{"forget", "--json", "--store", filepath.Join(dir, "none.db"), "ministry"}, ExitError, "no store at"},
		{[]string{"inspect", "--json", filepath.Join(dir, "none.crl")}, ExitError, "no such file"},
		{[]string{"keygen", "--json"}, ExitError, `"out" not set`},
	} {
		code, out, errs := runCLI(t, c.args...)
		var e struct {
			Error    string `json:"error"`
			ExitCode int    `json:"exit_code"`
		}
		lines := strings.Split(strings.TrimSpace(out), "\n")
		if err := json.Unmarshal([]byte(lines[len(lines)-1]), &e); err != nil || code != c.code || e.ExitCode != c.code ||
			!strings.Contains(e.Error, c.want) || !strings.Contains(errs, "crlverify: ") {
			t.Errorf("%q: exit %d, stdout %q (%v), stderr %q", c.args, code, out, err, errs)
		}
		text := slicesWithout(c.args, "--json")
		if _, out, _ := runCLI(t, text...); out != "" {
			t.Errorf("%q: stdout %q", text, out)
		}
	}
}

func slicesWithout(args []string, drop string) []string {
	var out []string
	for _, a := range args {
		if a != drop {
			out = append(out, a)
		}
	}
	return out
}

// TestForgetJSON: forget --json prints one object per name.
func TestForgetJSON(t *testing.T) {
	dir, jwks := publication(t, 1, newKey(t))
	st := filepath.Join(t.TempDir(), "store.db")
	if code, _, errs := runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st); code != ExitOK {
		t.Fatal(errs)
	}
	code, out, _ := runCLI(t, "forget", "--json", "--store", st, "ministry", dir)
	want := `{"removed":"publisher","publisher":"ministry","list":{"serial":1,"entries":2}}` + "\n" +
		`{"removed":"source","source":"` + dir + `"}` + "\n"
	if code != ExitOK || out != want {
		t.Errorf("exit %d\n got %s\nwant %s", code, out, want)
	}
}

// TestJSONVocabulary: the same things have the same names in every
// command's JSON, at every depth, with times in UTC to the second.
func TestJSONVocabulary(t *testing.T) {
	key := newKey(t)
	dir, jwks := publication(t, 1, key)
	st := filepath.Join(t.TempDir(), "store.db")
	if code, _, errs := runCLI(t, "sync", "--from", dir, "--jwks", jwks, "--store", st); code != ExitOK {
		t.Fatal(errs)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9]*(_[a-z0-9]+)*$`)
	second := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$`)
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if !snake.MatchString(k) && !strings.HasPrefix(where, "inspect.reasons") {
					t.Errorf("%s: field %q is not snake_case", where, k)
				}
				if k == "explanation" || k == "conclusive" || k == "revocation_reason" || k == "alg" || k == "list_count" {
					t.Errorf("%s: old name %q", where, k)
				}
				if s, ok := x.(string); ok && (k == "at" || strings.HasSuffix(k, "_at") || strings.HasSuffix(k, "_update") ||
					strings.HasPrefix(k, "last_") && k != "last_error" || k == "suspended_until" || k == "not_after" || k == "revision_time") && !second.MatchString(s) {
					t.Errorf("%s.%s = %q: not RFC 3339 UTC to the second", where, k, s)
				}
				walk(where+"."+k, x)
			}
		case []any:
			for _, x := range v {
				walk(where, x)
			}
		}
	}
	commands := [][]string{
		{"check", "--json", "--store", st, "revoked-1", "fine-1", "suspended-1"},
		{"status", "--json", "--store", st},
		{"inspect", "--json", "--jwks", jwks, filepath.Join(dir, snapshot.IndexName)},
		{"inspect", "--json", filepath.Join(dir, snapshot.FullName(1))},
		{"trust", "list", "--json", "--trust", filepath.Join(fixtureDir, "trust.json")},
		{"scan", "--json", "--trust", filepath.Join(fixtureDir, "trust.json"), "--store", st,
			filepath.Join(fixtureDir, "divoc", "qr", "revoked.png"), filepath.Join(fixtureDir, "divoc", "qr", "valid.png")},
		{"version", "--json"},
		{"keygen", "--json", "--out", filepath.Join(t.TempDir(), "keys")},
		{"sync", "--json", "--from", dir, "--jwks", jwks, "--store", st},
	}
	// The authority's commands.
	au := newAuthority(t)
	reg := []string{"--registry", au.reg, "--json"}
	for _, c := range [][]string{
		{"registry", "import", demoCerts},
		{"revoke", "--from-file", demoCSV},
		{"revoke", "--batch", "EX-7790"},
		{"suspend", "--id", "9100000000001", "--until", "+720h", "--note", "review"},
		{"unrevoke", "--id", "9100000000001"},
		{"registry", "show", "--beneficiary", "91000000000001"},
		{"registry", "stats"},
		{"revocations"},
		{"audit", "list", "--items"},
		{"audit", "verify"},
		{"publish", "--key", au.key, "--out", au.pub},
	} {
		commands = append(commands, append(c, reg...))
	}
	for _, c := range commands {
		_, out, errs := runCLI(t, c...)
		if out == "" {
			t.Fatalf("%v: no output: %s", c, errs)
		}
		for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
			var v any
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("%v: %v: %s", c, err, l)
			}
			walk(c[0], v)
		}
	}
	// The revocation reason and its explanation have one name each, in
	// check and scan alike.
	_, out, _ := runCLI(t, "check", "--json", "--store", st, "revoked-1")
	var chk map[string]any
	must(t, json.Unmarshal([]byte(out), &chk))
	if chk["reason"] != "faultyBatch" || chk["known"] != true || chk["status"] != "revoked" {
		t.Errorf("check: %s", out)
	}
	_, out, _ = runCLI(t, "scan", "--json", "--trust", filepath.Join(fixtureDir, "trust.json"), "--store", filepath.Join(t.TempDir(), "absent.db"),
		"--at", "2026-06-01T00:00:00.123456789+02:00", filepath.Join(fixtureDir, "divoc", "qr", "valid.png"))
	var sc struct {
		At         string `json:"at"`
		Revocation struct {
			Known  bool   `json:"known"`
			Detail string `json:"detail"`
		} `json:"revocation"`
	}
	must(t, json.Unmarshal([]byte(out), &sc))
	if sc.At != "2026-05-31T22:00:00Z" || sc.Revocation.Known || !strings.Contains(sc.Revocation.Detail, "no revocation list store") {
		t.Errorf("scan: %s", out)
	}
}

func TestVersion(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/crlverify/crlverify", Version: "(devel)"},
		Settings: []debug.BuildSetting{
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "0123456789abcdef0123456789abcdef01234567"},
			{Key: "vcs.time", Value: "2026-05-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	if got, want := versionOf(bi, "").line(), "devel (commit 0123456789abcdef0123456789abcdef01234567 modified, 2026-05-01T10:00:00Z; go1.26.8; snapshot format v1)"; got != want {
		t.Errorf("from a checkout:\n got %s\nwant %s", got, want)
	}
	// go install: the module version, no VCS.
	bi = &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.4.0"}}
	if got, want := versionOf(bi, "").line(), "v1.4.0 (go1.26.8; snapshot format v1)"; got != want {
		t.Errorf("go install: got %s, want %s", got, want)
	}
	// -ldflags "-X main.version=..." wins.
	if got := versionOf(bi, "2026.06-rc1"); got.Version != "2026.06-rc1" {
		t.Errorf("override: %+v", got)
	}
	if got := versionOf(nil, ""); got.Version != "devel" || got.SnapshotFormat != snapshot.Version {
		t.Errorf("no build info: %+v", got)
	}

	_, text, _ := runCLI(t, "version")
	_, flag, _ := runCLI(t, "--version")
	if want := "crlverify " + buildVersion().line() + "\n"; text != want || flag != want {
		t.Errorf("version printed %q, --version %q, want %q", text, flag, want)
	}
	code, out, _ := runCLI(t, "version", "--json")
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); code != ExitOK || err != nil || v["snapshot_format"] != 1.0 || v["go_version"] == "" || v["version"] == "" {
		t.Errorf("version --json: %d %s", code, out)
	}
}
