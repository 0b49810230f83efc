package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/crlverify/crlverify/verify/trust"
)

func divocVectorsDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "vectors", "divoc")
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("DIVOC test vectors not found at %s (clone with ../shared beside the repository): %v", dir, err)
	}
	return dir
}

// scanLine is the part of scan's JSON output the tests look at.
type scanLine struct {
	Input       string `json:"input"`
	Status      string `json:"status"`
	PayloadForm string `json:"payload_form"`
	Revocation  struct {
		Known  bool   `json:"known"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"revocation"`
}

func TestScanVectorsWithoutStore(t *testing.T) {
	v := divocVectorsDir(t)
	dir := t.TempDir()
	trustFile := filepath.Join(dir, "trust.json")
	if code, _, stderr := runCLIStdin(t, "", "trust", "add", "--trust", trustFile, "did:india", filepath.Join(v, "keys", "divoc-dev-rsa.pub.pem")); code != 0 {
		t.Fatalf("trust add: %d %s", code, stderr)
	}
	png := filepath.Join(v, "qr", "divoc-dev-rsa2018.divoc-node-style.png")
	store := filepath.Join(dir, "absent.db")
	at := "--at=2026-06-01T00:00:00Z"

	// Genuine, but no list: valid with revocation status unknown, exit 3.
	code, stdout, stderr := runCLIStdin(t, "", "scan", "--trust", trustFile, "--store", store, at, png)
	if code != ExitUnknown || !strings.Contains(stdout, "VALID, REVOCATION STATUS UNKNOWN") || !strings.Contains(stderr, "run crlverify sync") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// JSON lines, the payload on standard input, and a bad signature (the
	// Ed25519 vector, whose key is not trusted): exit 1, a tally on stderr.
	zip, err := os.ReadFile(filepath.Join(v, "qr", "divoc-dev-rsa2018.divoc-node-style.zip"))
	if err != nil {
		t.Fatal(err)
	}
	code, stdout, stderr = runCLIStdin(t, string(zip), "scan", "--json", "--trust", trustFile, "--store", store, at,
		"-", filepath.Join(v, "certs", "divoc-dev-ed25519-2018.json"))
	if code != ExitInvalid {
		t.Fatalf("exit %d, want %d\n%s\n%s", code, ExitInvalid, stdout, stderr)
	}
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 JSON lines, got:\n%s", stdout)
	}
	var got []scanLine
	for _, l := range lines {
		var r scanLine
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("%v: %s", err, l)
		}
		got = append(got, r)
	}
	if got[0].Input != "-" || got[0].Status != "VALID" || got[0].PayloadForm != "raw-zip" || got[0].Revocation.Known {
		t.Errorf("stdin result %+v", got[0])
	}
	if got[1].Status != "BAD_SIGNATURE" {
		t.Errorf("ed25519 vector with an RSA key: %+v", got[1])
	}
	if !strings.Contains(stderr, "scanned 2: 1 VALID (1 with revocation status unknown), 1 BAD_SIGNATURE") {
		t.Errorf("tally missing from stderr:\n%s", stderr)
	}
}

func TestScanUsageErrors(t *testing.T) {
	dir := t.TempDir()
	trustFile := filepath.Join(dir, "trust.json")
	for name, args := range map[string][]string{
		"no trust store": {"scan", "--trust", trustFile, "x.png"},
		"bad --at":       {"scan", "--at", "yesterday", "x.png"},
		"no inputs":      {"scan"},
		"bad --color":    {"scan", "--color", "pink", "x.png"},
	} {
		code, stdout, stderr := runCLIStdin(t, "", args...)
		if code != ExitError || stdout != "" || stderr == "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q", name, code, stdout, stderr)
		}
	}
}

func TestScanUnreadableInputIsAnIOError(t *testing.T) {
	dir := t.TempDir()
	trustFile := filepath.Join(dir, "trust.json")
	if err := trust.New().Save(trustFile); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "absent.png")
	code, stdout, stderr := runCLI(t, "scan", "--trust", trustFile, "--store", filepath.Join(dir, "crl.db"), missing)
	if code != ExitError || stdout != "" || !strings.Contains(stderr, "absent.png") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}
