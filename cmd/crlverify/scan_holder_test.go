package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/crlverify/crlverify/verify/trust"
)

// fixtureDir is the committed DIVOC fixtures.
var fixtureDir = filepath.Join("..", "..", "testdata")

// TestScanUnsignedHolder: a certificate whose signature does not cover its
// holder is UNSIGNED_HOLDER, exit 1, with the officer's explanation and the
// unsigned fields in the text and the JSON; once the issuer's policy
// accepts it, it is VALID with its holder's fields marked unsigned.
func TestScanUnsignedHolder(t *testing.T) {
	dir := t.TempDir()
	trustFile := filepath.Join(dir, "trust.json")
	crl := filepath.Join(dir, "absent.db")
	at := "--at=2026-06-01T00:00:00Z"
	cert := filepath.Join(fixtureDir, "divoc", "qr", "unsigned-holder-empty-id.png")
	key := filepath.Join(dir, "dev.pub.base58")
	copyFile(t, filepath.Join(fixtureDir, "trust.json"), trustFile)
	// did:divoc:ed25519 signs the fixture; its policy does not accept an
	// unsigned holder.
	code, out, errs := runCLI(t, "scan", "--trust", trustFile, "--store", crl, at, "--color", "never", cert)
	if code != ExitInvalid {
		t.Fatalf("exit %d, want %d\n%s%s", code, ExitInvalid, out, errs)
	}
	for _, want := range []string{
		"unsigned-holder-empty-id.png: UNSIGNED_HOLDER\n",
		"why:         the issuer signed this certificate, but not the holder's name: it cannot prove who it belongs to",
		"name:        Andre Campbell  [NOT SIGNED by the issuer]",
		"gender:      Male  [NOT SIGNED by the issuer]",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("text output lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = runCLI(t, "scan", "--json", "--trust", trustFile, "--store", crl, at, cert, filepath.Join(fixtureDir, "divoc", "qr", "valid-ed25519.png"))
	var r struct {
		Status         string   `json:"status"`
		UnsignedFields []string `json:"unsigned_fields"`
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if code != ExitInvalid || len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &r) != nil ||
		r.Status != "UNSIGNED_HOLDER" || !slices.Equal(r.UnsignedFields, []string{"name", "gender", "age"}) {
		t.Fatalf("--json: exit %d\n%s", code, out)
	}
	if strings.Contains(lines[1], "unsigned_fields") {
		t.Errorf("a signed holder has unsigned fields: %s", lines[1])
	}

	// The issuer's policy accepts it: VALID (revocation unknown here, no
	// list), the fields still marked.
	writeDevEd25519(t, key)
	if code, _, errs := runCLI(t, "trust", "add", "--trust", trustFile, "did:divoc:ed25519", key, "--accept-unsigned-holder"); code != ExitOK {
		t.Fatal(errs)
	}
	_, list, _ := runCLI(t, "trust", "list", "--trust", trustFile)
	if !strings.Contains(list, "unsigned holder accepted (shown unsigned)") {
		t.Errorf("trust list does not show the policy:\n%s", list)
	}
	_, list, _ = runCLI(t, "trust", "list", "--json", "--trust", trustFile)
	if !strings.Contains(list, `"verification_method":"did:divoc:ed25519","name":"Test issuer: DIVOC (development Ed25519 key)","enforce_effective_window":false,"crl_issuer":"https://divoc.dev/","accept_unsigned_holder":true`) {
		t.Errorf("trust list --json does not show the policy:\n%s", list)
	}
	code, out, _ = runCLI(t, "scan", "--trust", trustFile, "--store", crl, at, "--color", "never", cert)
	if code != ExitUnknown || !strings.Contains(out, "VALID, REVOCATION STATUS UNKNOWN, HOLDER NOT SIGNED") ||
		!strings.Contains(out, "name:        Andre Campbell  [NOT SIGNED by the issuer]") ||
		!strings.Contains(out, "accepted by the issuer's policy") {
		t.Fatalf("accepted: exit %d\n%s", code, out)
	}
	// And off again.
	if code, _, errs := runCLI(t, "trust", "add", "--trust", trustFile, "did:divoc:ed25519", key, "--accept-unsigned-holder=false"); code != ExitOK {
		t.Fatal(errs)
	}
	if code, _, _ := runCLI(t, "scan", "--trust", trustFile, "--store", crl, at, cert); code != ExitInvalid {
		t.Fatalf("policy removed: exit %d", code)
	}
}

// TestScanUndefinedTerm: a term no context defines is MALFORMED, named.
func TestScanUndefinedTerm(t *testing.T) {
	code, out, _ := runCLI(t, "scan", "--trust", filepath.Join(fixtureDir, "trust.json"), "--store", filepath.Join(t.TempDir(), "absent.db"),
		"--at=2026-06-01T00:00:00Z", filepath.Join(fixtureDir, "divoc", "qr", "undefined-term.png"))
	if code != ExitInvalid || !strings.Contains(out, "MALFORMED") || !strings.Contains(out, `a term none of its contexts defines: "dob" (in /credentialSubject)`) {
		t.Fatalf("exit %d\n%s", code, out)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	noErr(t, err)
	noErr(t, os.WriteFile(to, b, 0o644))
}

// writeDevEd25519 writes DIVOC's development Ed25519 public key (the key
// of did:divoc:ed25519 in the fixture trust store) to path.
func writeDevEd25519(t *testing.T, path string) {
	t.Helper()
	s, err := trust.Load(filepath.Join(fixtureDir, "trust.json"))
	noErr(t, err)
	e, _ := s.Entry("did:divoc:ed25519")
	noErr(t, os.WriteFile(path, []byte(e.Keys[0].PEM), 0o644))
}
