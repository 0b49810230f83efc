//go:build unix

package main

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

const readOnlyChildEnv = "CRLVERIFY_TEST_READONLY_AUDIT"

// TestAuditVerifyReadOnlyCopy: an auditor given a copy of the registry
// they may only read (the file 0444, its directory 0555) verifies it
// against the publication, and lists its records. Run as root, the check
// runs in a child process as an unprivileged user, for whom the
// permissions hold.
func TestAuditVerifyReadOnlyCopy(t *testing.T) {
	if d := os.Getenv(readOnlyChildEnv); d != "" {
		t.Skip("the child runs TestAuditVerifyReadOnlyChild")
	}
	a := newAuthority(t)
	must(t, os.MkdirAll(a.pub, 0o755))
	for _, id := range []string{"R1", "R2"} {
		mustRun(t, "", "revoke", "--registry", a.reg, "--issuer", testIssuer, "--id", id, "--reason", "dataError")
		mustRun(t, "", "publish", "--registry", a.reg, "--key", a.key, "--out", a.pub, "--publisher", "ministry")
	}
	// The auditor's copy, in a directory of its own that nobody may write.
	base, err := os.MkdirTemp("", "crlverify-ro-")
	must(t, err)
	t.Cleanup(func() {
		os.Chmod(filepath.Join(base, "audit"), 0o755)
		os.RemoveAll(base)
	})
	must(t, os.Chmod(base, 0o755))
	dir := filepath.Join(base, "audit")
	must(t, os.Mkdir(dir, 0o755))
	copyMode(t, a.reg, filepath.Join(dir, "moh.db"), 0o444)
	copyMode(t, a.jwks, filepath.Join(base, "publisher.jwks"), 0o444)
	must(t, os.Mkdir(filepath.Join(base, "pub"), 0o755))
	des, err := os.ReadDir(a.pub)
	must(t, err)
	for _, de := range des {
		if de.Type().IsRegular() {
			copyMode(t, filepath.Join(a.pub, de.Name()), filepath.Join(base, "pub", de.Name()), 0o444)
		}
	}
	must(t, os.Chmod(dir, 0o555))

	var code int
	var out, errs string
	if os.Geteuid() != 0 {
		code, out, errs = runReadOnlyAudit(t, base)
	} else {
		exe, err := os.Executable()
		must(t, err)
		bin := filepath.Join(base, "test.bin")
		copyMode(t, exe, bin, 0o755)
		cmd := exec.Command(bin, "-test.run=^TestAuditVerifyReadOnlyChild$", "-test.v")
		cmd.Env = append(os.Environ(), readOnlyChildEnv+"="+base, "HOME="+base, "TMPDIR=/tmp")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		b, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("the unprivileged child: %v\n%s", err, b)
		}
		s := string(b)
		if strings.Contains(s, "--- SKIP") {
			t.Skipf("the child could not run: %s", s)
		}
		_, rest, ok := strings.Cut(s, "RESULT ")
		if !ok {
			t.Fatalf("the child said: %s", s)
		}
		if _, err := fmt.Sscanf(rest, "%d", &code); err != nil {
			t.Fatalf("the child said: %s", s)
		}
		out, errs = s, s
	}
	if code != ExitOK || !strings.Contains(out, "audit trail verified: 5 records") || !strings.Contains(out, "consistent with 2 signed checkpoints") ||
		!strings.Contains(out, "revoke     cli:") {
		t.Fatalf("audit verify of a read-only copy: %d %q %q", code, out, errs)
	}
	if after, err := os.ReadDir(dir); err != nil || len(after) != 1 {
		t.Fatalf("the read-only directory now holds %v (%v)", after, err)
	}
}

// TestAuditVerifyReadOnlyChild is TestAuditVerifyReadOnlyCopy's child.
func TestAuditVerifyReadOnlyChild(t *testing.T) {
	base := os.Getenv(readOnlyChildEnv)
	if base == "" {
		t.Skip("run by TestAuditVerifyReadOnlyCopy")
	}
	code, out, errs := runReadOnlyAudit(t, base)
	fmt.Printf("%s\n%s\nRESULT %d\n", out, errs, code)
}

// runReadOnlyAudit runs audit verify and audit list on the copy in base;
// the exit code is the first that is not 0.
func runReadOnlyAudit(t *testing.T, base string) (int, string, string) {
	reg := filepath.Join(base, "audit", "moh.db")
	code, out, errs := runCLI(t, "audit", "verify", "--registry", reg, "--publication", filepath.Join(base, "pub"), "--jwks", filepath.Join(base, "publisher.jwks"))
	if code != ExitOK {
		return code, out, errs
	}
	code, out2, errs2 := runCLI(t, "audit", "list", "--registry", reg)
	return code, out + out2, errs + errs2
}

func copyMode(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	in, err := os.Open(from)
	must(t, err)
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	must(t, err)
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	must(t, out.Close())
	must(t, os.Chmod(to, mode))
}
