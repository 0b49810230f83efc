package main

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mr-tron/base58"

	"github.com/crlverify/crlverify/verify/divoc"
	"github.com/crlverify/crlverify/verify/trust"
)

const (
	cowinV2   = "https://cowin.gov.in/credentials/vaccination/v2"
	ownV2     = "https://vc.health.example/credentials/vaccination/v2"
	ownTestV1 = "https://vc.health.example/credentials/test/v1"
)

// bundledV2 is the built-in vaccination v2 context document.
func bundledV2(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "verify", "divoc", "contexts", "vaccinationContextV2.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestTrustContextAddListRemove(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "trust.json")
	doc := bundledV2(t)
	docFile := filepath.Join(dir, "test-context.json")
	noErr(t, os.WriteFile(docFile, doc, 0o644))
	sum := sha256.Sum256(doc)

	code, out, errs := runCLI(t, "trust", "context", "add", "--trust", store, ownV2, "--same-as", cowinV2)
	if code != ExitOK || out != "added "+ownV2+": same as "+cowinV2+"\n" {
		t.Fatalf("add --same-as: %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLI(t, "trust", "context", "add", "--trust", store, ownTestV1, "--file", docFile)
	if code != ExitOK || !strings.Contains(out, "added "+ownTestV1+": document test-context.json") || !strings.Contains(out, hex.EncodeToString(sum[:])) {
		t.Fatalf("add --file: %d\n%s%s", code, out, errs)
	}
	// Replacing a mapping says so; standard input works as a file.
	code, out, errs = runCLIStdin(t, string(doc), "trust", "context", "add", "--trust", store, ownTestV1, "--file", "-")
	if code != ExitOK || !strings.HasPrefix(out, "replaced "+ownTestV1+": document standard input") {
		t.Fatalf("replace from stdin: %d\n%s%s", code, out, errs)
	}

	code, out, errs = runCLI(t, "trust", "context", "list", "--trust", store)
	if code != ExitOK || errs != "" {
		t.Fatalf("list: %d %s", code, errs)
	}
	for _, want := range []string{
		"https://www.pedulilindungi.id/credentials/vaccination/v2  built in: vaccinationContextV2.json",
		"https://divoc.lgcc.gov.lk/credentials/vaccination/v1  built in: vaccinationContextV2.json",
		ownV2 + "  same as " + cowinV2,
		ownTestV1 + "  document standard input (" + strconv.Itoa(len(doc)) + " bytes, sha256 " + hex.EncodeToString(sum[:]) + ")",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "trust", "context", "list", "--trust", store, "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitOK || len(lines) != len(divoc.Bundled())+2 {
		t.Fatalf("list --json: %d, %d lines\n%s", code, len(lines), out)
	}
	var last struct {
		URL    string `json:"url"`
		Kind   string `json:"kind"`
		Bytes  int    `json:"bytes"`
		SHA256 string `json:"sha256"`
	}
	noErr(t, json.Unmarshal([]byte(lines[len(lines)-2]), &last))
	if last.URL != ownTestV1 || last.Kind != "document" || last.Bytes != len(doc) || last.SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("list --json: %+v", last)
	}

	// The file the commands wrote is what the library loads.
	s, err := trust.Load(store)
	if err != nil {
		t.Fatal(err)
	}
	if cs := s.Contexts(); len(cs) != 2 || cs[0].Document != string(doc) || cs[1].SameAs != cowinV2 {
		t.Fatalf("stored %+v", cs)
	}

	code, out, errs = runCLI(t, "trust", "context", "remove", "--trust", store, ownTestV1)
	if code != ExitOK || out != "removed "+ownTestV1+"\n" {
		t.Fatalf("remove: %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runCLI(t, "trust", "context", "remove", "--trust", store, ownTestV1); code != ExitError || !strings.Contains(errs, "maps no context") {
		t.Fatalf("remove twice: %d %s", code, errs)
	}
}

func TestTrustContextErrors(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "trust.json")
	notJSON := filepath.Join(dir, "bad.json")
	noErr(t, os.WriteFile(notJSON, []byte("{"), 0o644))
	noContext := filepath.Join(dir, "nocontext.json")
	noErr(t, os.WriteFile(noContext, []byte(`{"name": "x"}`), 0o644))
	badContext := filepath.Join(dir, "badcontext.json")
	noErr(t, os.WriteFile(badContext, []byte(`{"@context": {"@version": 1.1, "name": {"@id": 5}}}`), 0o644))
	huge := filepath.Join(dir, "huge.json")
	noErr(t, os.WriteFile(huge, append([]byte(`{"@context": {}, "pad": "`), bytes.Repeat([]byte("x"), trust.MaxContextSize)...), 0o644))

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"neither", []string{"add", ownV2}, "either --same-as"},
		{"both", []string{"add", ownV2, "--same-as", cowinV2, "--file", notJSON}, "either --same-as"},
		{"remap a built-in URL", []string{"add", cowinV2, "--same-as", "https://cowin.gov.in/credentials/vaccination/v1"}, "is built in"},
		{"same as a URL not built in", []string{"add", ownV2, "--same-as", "https://other.example/v1"}, "not a built-in context URL"},
		{"not JSON", []string{"add", ownV2, "--file", notJSON}, "not JSON"},
		{"no @context", []string{"add", ownV2, "--file", noContext}, `no "@context"`},
		{"not a context", []string{"add", ownV2, "--file", badContext}, "not a usable JSON-LD context"},
		{"too large", []string{"add", ownV2, "--file", huge}, "more than"},
		{"missing file", []string{"add", ownV2, "--file", filepath.Join(dir, "absent.json")}, "no such file"},
		{"relative URL", []string{"add", "credentials/v2", "--same-as", cowinV2}, "not an absolute URL"},
		{"one argument too many", []string{"add", ownV2, ownTestV1, "--same-as", cowinV2}, "accepts 1 arg"},
		{"remove from no store", []string{"remove", ownV2}, "no trust store at"},
		{"remove a built-in URL", []string{"remove", cowinV2}, "is built in"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLI(t, append([]string{"trust", "context", "--trust", store}, tc.args...)...)
			if code != ExitError || out != "" || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errs, tc.want)
			}
		})
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Fatalf("failed commands wrote the store: %v", err)
	}
}

// TestTrustContextListWarns: a mapping a hand-edited (or older) store
// holds that cannot be used is listed, with a warning on stderr.
func TestTrustContextListWarns(t *testing.T) {
	store := filepath.Join(t.TempDir(), "trust.json")
	s := trust.New()
	s.MapContext(ownV2, "https://gone.example/credentials/v1")
	noErr(t, s.Save(store))
	code, out, errs := runCLI(t, "trust", "context", "list", "--trust", store)
	if code != ExitOK || !strings.Contains(out, ownV2+"  same as https://gone.example/credentials/v1") ||
		!strings.Contains(errs, "warning: trust store context "+ownV2+": same as https://gone.example/credentials/v1, which is not a bundled context") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
}

// TestScanUsesTrustContexts: a credential naming a deployment's own
// context URL is MALFORMED (exit 1) until the trust store maps the URL;
// then it verifies.
func TestScanUsesTrustContexts(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "trust.json")
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{9}, ed25519.SeedSize))
	keyFile := filepath.Join(dir, "health.pub.base58")
	noErr(t, os.WriteFile(keyFile, []byte(base58.Encode(key.Public().(ed25519.PublicKey))), 0o644))
	if code, _, errs := runCLI(t, "trust", "add", "--trust", store, "did:health", keyFile); code != ExitOK {
		t.Fatal(errs)
	}
	cred := signOwnContext(t, key)
	credFile := filepath.Join(dir, "cred.json")
	noErr(t, os.WriteFile(credFile, cred, 0o644))
	crl := filepath.Join(dir, "absent.db")

	code, out, _ := runCLI(t, "scan", "--trust", store, "--store", crl, "--at", "2026-06-01T00:00:00Z", credFile)
	if code != ExitInvalid || !strings.Contains(out, "MALFORMED") || !strings.Contains(out, ownV2) {
		t.Fatalf("unmapped: exit %d\n%s", code, out)
	}
	if code, _, errs := runCLI(t, "trust", "context", "add", "--trust", store, ownV2, "--same-as", cowinV2); code != ExitOK {
		t.Fatal(errs)
	}
	code, out, _ = runCLI(t, "scan", "--trust", store, "--store", crl, "--at", "2026-06-01T00:00:00Z", credFile)
	if code != ExitUnknown || !strings.Contains(out, "VALID, REVOCATION STATUS UNKNOWN") {
		t.Fatalf("mapped: exit %d\n%s", code, out)
	}
}

// signOwnContext signs a credential naming ownV2 (whose document is
// CoWIN's v2) with key, under did:health.
func signOwnContext(t *testing.T, key ed25519.PrivateKey) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "testdata", "divoc", "certs", "context-indonesia.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	noErr(t, json.Unmarshal(b, &m))
	delete(m, "proof")
	m["@context"] = []any{"https://www.w3.org/2018/credentials/v1", ownV2}
	unsigned, _ := json.Marshal(m)
	ctxs := divoc.DefaultContexts()
	noErr(t, ctxs.Alias(ownV2, cowinV2))
	signed, err := divoc.Sign(unsigned, key, divoc.SignOptions{VerificationMethod: "did:health", Created: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Contexts: ctxs})
	if err != nil {
		t.Fatal(err)
	}
	return signed
}
