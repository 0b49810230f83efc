package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestStatusDamagedSHCList: status reads back every SMART Health Cards
// list it shows: a damaged one is shown DAMAGED, with exit 2 and the way
// out, not as fine; importing the list again repairs it.
func TestStatusDamagedSHCList(t *testing.T) {
	trustFile := fixtureTrust(t)
	st := filepath.Join(t.TempDir(), "crl.db")
	mustRun(t, "", "sync", "--from", shcFixtureCRL(), "--trust", trustFile, "--store", st)
	if code, out, errs := runCLI(t, "status", "--store", st); code != ExitOK || strings.Contains(out, "DAMAGED") {
		t.Fatalf("status of a sound list: %d %q %q", code, out, errs)
	}
	b, err := os.ReadFile(st)
	must(t, err)
	i := strings.Index(string(b), `"rids"`)
	if i < 0 {
		t.Fatal("the imported list is not in the store file")
	}
	b[i+1] ^= 0x20
	must(t, os.WriteFile(st, b, 0o600))

	listURL := shcFixtureIssuer + "/.well-known/crl/" + shcFixtureKID + ".json"
	code, out, errs := runCLI(t, "status", "--store", st)
	if code != ExitError || !strings.Contains(out, listURL+"  ctr 3  2 rids  DAMAGED") || !strings.Contains(out, "  damaged:     store: damaged store file") ||
		!strings.Contains(errs, "holds 1 damaged SMART Health Cards revocation lists") || !strings.Contains(errs, "crlverify forget LIST-URL") {
		t.Fatalf("status of a damaged list: %d\nstdout %q\nstderr %q", code, out, errs)
	}
	code, out, _ = runCLI(t, "status", "--store", st, "--json")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var line, errLine map[string]any
	if code != ExitError || len(lines) != 2 {
		t.Fatalf("status --json: %d %q", code, out)
	}
	must(t, json.Unmarshal([]byte(lines[0]), &line))
	must(t, json.Unmarshal([]byte(lines[1]), &errLine))
	if line["shc_crl"] != listURL || line["damaged"] != true || !strings.Contains(line["error"].(string), "checksum mismatch") || errLine["exit_code"] != 2.0 {
		t.Fatalf("status --json lines %v %v", line, errLine)
	}

	// The way out: import the list again.
	if code, out, errs := runCLI(t, "sync", "--from", shcFixtureCRL(), "--trust", trustFile, "--store", st); code != ExitOK ||
		!strings.Contains(out, "repaired the damaged stored copy of its revocation list of key "+shcFixtureKID) {
		t.Fatalf("import again: %d %q %q", code, out, errs)
	}
	if code, out, errs := runCLI(t, "status", "--store", st); code != ExitOK || strings.Contains(out, "DAMAGED") {
		t.Fatalf("status after the repair: %d %q %q", code, out, errs)
	}
}
