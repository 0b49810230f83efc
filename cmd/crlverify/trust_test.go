package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/mr-tron/base58"

	"github.com/crlverify/crlverify/verify/trust"
)

// keyFiles writes a fresh RSA key as PEM, and a fresh Ed25519 key as base58
// and as a JWK, and returns their paths.
func keyFiles(t *testing.T) (rsaPEM, edBase58, edJWK string, edPub ed25519.PublicKey) {
	t.Helper()
	dir := t.TempDir()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&rk.PublicKey)
	rsaPEM = filepath.Join(dir, "issuer.pem")
	noErr(t, os.WriteFile(rsaPEM, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644))
	edPub, _, _ = ed25519.GenerateKey(rand.Reader)
	edBase58 = filepath.Join(dir, "issuer.pub.base58")
	noErr(t, os.WriteFile(edBase58, []byte(base58.Encode(edPub)+"\n"), 0o644))
	j, err := jwk.FromRaw(edPub)
	if err != nil {
		t.Fatal(err)
	}
	jb, _ := json.Marshal(j)
	edJWK = filepath.Join(dir, "issuer.jwk")
	noErr(t, os.WriteFile(edJWK, jb, 0o644))
	return rsaPEM, edBase58, edJWK, edPub
}

func TestTrustAddListRemove(t *testing.T) {
	rsaPEM, edBase58, edJWK, _ := keyFiles(t)
	store := filepath.Join(t.TempDir(), "trust.json")

	code, out, errs := runCLIStdin(t, "", "trust", "add", "--trust", store, "did:india", rsaPEM,
		"--name", "Government of India", "--not-before", "2021-01-01")
	if code != ExitOK || !strings.Contains(out, "did:india: added key") || !strings.Contains(out, "RSA-2048") {
		t.Fatalf("add: %d\n%s%s", code, out, errs)
	}
	code, out, errs = runCLIStdin(t, "", "trust", "add", "--trust", store, "did:divoc", edBase58,
		"--not-after", "2023-12-31", "--max-age", "365d", "--enforce-effective-window", "--crl-issuer", "https://divoc.dev/")
	if code != ExitOK || !strings.Contains(out, "until 2023-12-31T23:59:59Z") {
		t.Fatalf("add base58: %d\n%s%s", code, out, errs)
	}
	// The same key as a JWK is the same key: an update, not a second key.
	code, out, errs = runCLIStdin(t, "", "trust", "add", "--trust", store, "did:divoc", edJWK, "--status", "terminated")
	if code != ExitOK || !strings.Contains(out, "did:divoc: updated key") || !strings.Contains(out, "terminated") {
		t.Fatalf("terminate: %d\n%s%s", code, out, errs)
	}

	code, out, errs = runCLIStdin(t, "", "trust", "list", "--trust", store)
	if code != ExitOK {
		t.Fatalf("list: %d %s", code, errs)
	}
	for _, want := range []string{
		"did:divoc\n", "expires 365d after issuance", "effective window enforced", "revocations under https://divoc.dev/",
		"Ed25519   terminated until 2023-12-31T23:59:59Z  (added as base58)",
		"did:india  Government of India", "RSA-2048  active     from 2021-01-01T00:00:00Z  (added as pem)",
		"bound to no revocation issuer: revocation status unknown (--crl-issuer)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if strings.Index(out, "did:divoc") > strings.Index(out, "did:india") {
		t.Errorf("list not sorted:\n%s", out)
	}

	code, out, _ = runCLIStdin(t, "", "trust", "list", "--trust", store, "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitOK || len(lines) != 2 {
		t.Fatalf("list --json: %d\n%s", code, out)
	}
	var divoc struct {
		VerificationMethod     string `json:"verification_method"`
		MaxAgeSeconds          int64  `json:"max_age_seconds"`
		EnforceEffectiveWindow bool   `json:"enforce_effective_window"`
		CRLIssuer              string `json:"crl_issuer"`
		Keys                   []struct {
			KeyID     string `json:"key_id"`
			Algorithm string `json:"algorithm"`
			Status    string `json:"status"`
			NotAfter  string `json:"not_after"`
			PublicKey string `json:"public_key"`
		} `json:"keys"`
	}
	noErr(t, json.Unmarshal([]byte(lines[0]), &divoc))
	if divoc.VerificationMethod != "did:divoc" || divoc.MaxAgeSeconds != 365*24*3600 || !divoc.EnforceEffectiveWindow || divoc.Keys[0].Algorithm != "Ed25519" ||
		divoc.CRLIssuer != "https://divoc.dev/" || len(divoc.Keys) != 1 || divoc.Keys[0].Status != "terminated" ||
		divoc.Keys[0].NotAfter != "2023-12-31T23:59:59Z" || !strings.HasPrefix(divoc.Keys[0].PublicKey, "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("list --json: %+v", divoc)
	}

	// The file the commands wrote is what the library loads.
	s, err := trust.Load(store)
	if err != nil {
		t.Fatal(err)
	}
	if e, ok := s.Entry("did:india"); !ok || e.Name != "Government of India" {
		t.Errorf("loaded entry %+v", e)
	}

	code, out, errs = runCLIStdin(t, "", "trust", "remove", "--trust", store, "did:divoc", "--key", divoc.Keys[0].KeyID)
	if code != ExitOK || !strings.Contains(out, "removed did:divoc key "+divoc.Keys[0].KeyID) {
		t.Fatalf("remove --key: %d\n%s%s", code, out, errs)
	}
	_, out, _ = runCLIStdin(t, "", "trust", "list", "--trust", store)
	if !strings.Contains(out, "no keys: its certificates fail as from an unknown issuer") {
		t.Errorf("list after removing the only key:\n%s", out)
	}
	for _, vm := range []string{"did:divoc", "did:india"} {
		if code, _, errs := runCLIStdin(t, "", "trust", "remove", "--trust", store, vm); code != ExitOK {
			t.Fatalf("remove %s: %d %s", vm, code, errs)
		}
	}
	code, out, errs = runCLIStdin(t, "", "trust", "list", "--trust", store)
	if code != ExitOK || out != "" || !strings.Contains(errs, "no trusted issuers") {
		t.Errorf("list of an empty store: %d %q %q", code, out, errs)
	}
}

func TestTrustAddFromStdin(t *testing.T) {
	_, edBase58, _, edPub := keyFiles(t)
	b, _ := os.ReadFile(edBase58)
	store := filepath.Join(t.TempDir(), "trust.json")
	if code, out, errs := runCLIStdin(t, string(b), "trust", "add", "--trust", store, "did:jamaica", "-"); code != ExitOK {
		t.Fatalf("add -: %d %s%s", code, out, errs)
	}
	s, err := trust.Load(store)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := s.Entry("did:jamaica")
	if len(e.Keys) != 1 || !edPub.Equal(e.Keys[0].Public()) {
		t.Fatalf("stored %+v", e)
	}
}

func TestTrustDefaultPath(t *testing.T) {
	cfg := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", cfg)
	t.Setenv("HOME", cfg)
	t.Setenv("AppData", cfg)
	want, err := trust.DefaultPath()
	if err != nil {
		t.Skipf("no user config directory here: %v", err)
	}
	if !strings.HasPrefix(want, cfg) {
		t.Skipf("user config directory %s is not under the test's HOME", want)
	}
	_, edBase58, _, _ := keyFiles(t)
	if code, _, errs := runCLIStdin(t, "", "trust", "add", "did:divoc", edBase58); code != ExitOK {
		t.Fatalf("add: %d %s", code, errs)
	}
	if _, err := os.Stat(want); err != nil {
		t.Fatalf("default store not written: %v", err)
	}
	if code, out, _ := runCLIStdin(t, "", "trust", "list"); code != ExitOK || !strings.Contains(out, "did:divoc") {
		t.Errorf("list with the default store: %d %s", code, out)
	}
}

func TestTrustErrors(t *testing.T) {
	rsaPEM, _, _, _ := keyFiles(t)
	dir := t.TempDir()
	store := filepath.Join(dir, "trust.json")
	garbage := filepath.Join(dir, "garbage.txt")
	noErr(t, os.WriteFile(garbage, []byte("not a key"), 0o644))
	priv := filepath.Join(dir, "private.pem")
	noErr(t, os.WriteFile(priv, []byte("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n"), 0o644))

	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"not a key", []string{"add", "did:india", garbage}, "not a PEM, JWK, base58 Ed25519 or DER key"},
		{"private key", []string{"add", "did:india", priv}, "give the public key"},
		{"missing key file", []string{"add", "did:india", filepath.Join(dir, "nope.pem")}, "no such file"},
		{"bad status", []string{"add", "did:india", rsaPEM, "--status", "revoked"}, "want active or terminated"},
		{"bad time", []string{"add", "did:india", rsaPEM, "--not-before", "last year"}, "want RFC 3339"},
		{"reversed window", []string{"add", "did:india", rsaPEM, "--not-before", "2022-01-01", "--not-after", "2021-01-01"}, "before not-before"},
		{"bad max age", []string{"add", "did:india", rsaPEM, "--max-age", "a year"}, "--max-age"},
		{"one argument", []string{"add", "did:india"}, "requires at least 2 arg"},
		{"two keys for DIVOC", []string{"add", "did:india", rsaPEM, rsaPEM}, "takes one key file"},
		{"bad format", []string{"add", "--format", "x509", "did:india", rsaPEM}, "want divoc, shc or dcc"},
		{"remove from no store", []string{"remove", "did:india"}, "no trust store at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCLIStdin(t, "", append([]string{"trust", "--trust", store}, tc.args...)...)
			if code != ExitError || out != "" || !strings.Contains(errs, tc.want) {
				t.Fatalf("exit %d, stdout %q, stderr %q; want exit 2 and %q", code, out, errs, tc.want)
			}
		})
	}
	if _, err := os.Stat(store); !os.IsNotExist(err) {
		t.Fatalf("failed commands wrote the store: %v", err)
	}
	if code, _, errs := runCLIStdin(t, "", "trust", "add", "--trust", store, "did:india", rsaPEM); code != ExitOK {
		t.Fatal(errs)
	}
	if code, _, errs := runCLIStdin(t, "", "trust", "remove", "--trust", store, "did:philippines"); code != ExitError || !strings.Contains(errs, "unknown issuer") {
		t.Fatalf("remove unknown: %d %s", code, errs)
	}
	// A corrupt store is refused, never silently replaced.
	noErr(t, os.WriteFile(store, []byte(`{"version":7}`), 0o644))
	if code, _, errs := runCLIStdin(t, "", "trust", "add", "--trust", store, "did:india", rsaPEM); code != ExitError || !strings.Contains(errs, "version 7") {
		t.Fatalf("add to a corrupt store: %d %s", code, errs)
	}
	if b, _ := os.ReadFile(store); string(b) != `{"version":7}` {
		t.Fatalf("corrupt store overwritten: %s", b)
	}
}

func TestTrustImport(t *testing.T) {
	reg := filepath.Join("..", "..", "..", "shared", "vectors", "divoc", "keys", "pathcheck-trust-registry-DIVOC.json")
	if _, err := os.Stat(reg); err != nil {
		t.Skipf("DIVOC vectors not present: %v", err)
	}
	store := filepath.Join(t.TempDir(), "trust.json")
	code, out, errs := runCLIStdin(t, "", "trust", "import", "--trust", store, reg)
	if code != ExitOK || strings.Count(out, "imported ") != 5 {
		t.Fatalf("import: %d\n%s%s", code, out, errs)
	}
	_, out, _ = runCLIStdin(t, "", "trust", "list", "--trust", store)
	if !strings.Contains(out, "did:srilanka:moh  Gov of Sri Lanka") || !strings.Contains(out, "did:jamaica  Gov of Jamaica") {
		t.Errorf("list after import:\n%s", out)
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
