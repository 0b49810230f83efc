package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"filippo.io/age"
)

// backupKeys writes an age identity file and returns it with its
// recipient.
func backupKeys(t *testing.T, dir string) (identityFile, recipient string) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	must(t, err)
	identityFile = filepath.Join(dir, "backup-key.txt")
	must(t, os.WriteFile(identityFile, []byte("# backup key\n"+id.String()+"\n"), 0o600))
	return identityFile, id.Recipient().String()
}

// registryView is what a restore must reproduce, as the CLI shows it.
func registryView(t *testing.T, reg string) string {
	t.Helper()
	return mustRun(t, "", "audit", "list", "--registry", reg, "--json", "--items") +
		mustRun(t, "", "registry", "show", "--registry", reg, "--batch", "EX-7790", "--json") +
		mustRun(t, "", "revocations", "--registry", reg, "--json")
}

func TestBackupRestoreCLI(t *testing.T) {
	a := newAuthority(t)
	idFile, recipient := backupKeys(t, a.dir)
	backups := filepath.Join(a.dir, "backups")
	mustRun(t, "", "registry", "import", "--registry", a.reg, demoCerts)
	mustRun(t, "", "revoke", "--registry", a.reg, "--batch", "EX-7790", "--note", "recall")
	out := mustRun(t, "", "backup", "--registry", a.reg, "--to", backups, "--recipient", recipient)
	if !strings.Contains(out, "full backup: audit records 1 to ") || !strings.Contains(out, "encrypted to 1 recipient") {
		t.Fatalf("backup printed %q", out)
	}
	mustRun(t, "", "revoke", "--registry", a.reg, "--from-file", demoCSV)
	mustRun(t, "", "suspend", "--registry", a.reg, "--id", "9100000000010", "--until", "+720h")
	recipients := filepath.Join(a.dir, "recipients.txt")
	must(t, os.WriteFile(recipients, []byte("# the vault\n"+recipient+"\n"), 0o644))
	out = mustRun(t, "", "backup", "--registry", a.reg, "--to", backups, "--incremental", "--recipients-file", recipients, "--json")
	var line struct {
		File      string `json:"file"`
		Kind      string `json:"kind"`
		Encrypted bool   `json:"encrypted"`
		BaseSeq   uint64 `json:"base_seq"`
		AuditSeq  uint64 `json:"audit_seq"`
		Records   uint64 `json:"records"`
	}
	must(t, json.Unmarshal([]byte(out), &line))
	if line.Kind != "incremental" || !line.Encrypted || line.Records != line.AuditSeq-line.BaseSeq || line.Records < 2 {
		t.Fatalf("incremental backup printed %s", out)
	}

	restored := filepath.Join(a.dir, "restored.db")
	out = mustRun(t, "", "restore", "--from", backups, "--registry", restored, "--identity", idFile)
	if !strings.Contains(out, "restored "+restored) || !strings.Contains(out, " + incr-") {
		t.Fatalf("restore printed %q", out)
	}
	if got, want := registryView(t, restored), registryView(t, a.reg); got != want {
		t.Fatalf("restored registry differs:\n%s\nlive:\n%s", got, want)
	}

	// Refused: no identity, a flipped byte; the registry stays as it was.
	before, _ := os.ReadFile(restored)
	code, _, errs := runCLI(t, "restore", "--from", backups, "--registry", restored)
	if code != ExitInvalid || !strings.Contains(errs, "encrypted") || !strings.Contains(errs, "was not changed") {
		t.Fatalf("no identity: %d %q", code, errs)
	}
	p := filepath.Join(line.File)
	b, _ := os.ReadFile(p)
	b[len(b)/2] ^= 0x20
	must(t, os.WriteFile(p, b, 0o600))
	code, _, errs = runCLI(t, "restore", "--from", backups, "--registry", restored, "--identity", idFile)
	if code != ExitInvalid || !strings.Contains(errs, filepath.Base(p)) {
		t.Fatalf("flipped byte: %d %q", code, errs)
	}
	if after, _ := os.ReadFile(restored); string(after) != string(before) {
		t.Fatal("a refused restore changed the registry")
	}

	// A stream: backup --to - | restore --from -.
	stream := mustRun(t, "", "backup", "--registry", a.reg, "--to", "-")
	fromStream := filepath.Join(a.dir, "stream.db")
	mustRun(t, stream, "restore", "--from", "-", "--registry", fromStream)
	if got, want := registryView(t, fromStream), registryView(t, a.reg); got != want {
		t.Fatal("the registry restored from a stream differs")
	}

	// Prune: the newest full is kept, the incremental before it purged.
	mustRun(t, "", "backup", "--registry", a.reg, "--to", backups, "--recipient", recipient)
	out = mustRun(t, "", "backup", "prune", "--to", backups, "--dry-run")
	if !strings.Contains(out, "would remove incr-") || strings.Contains(out, "would remove full-") {
		t.Fatalf("prune --dry-run printed %q", out)
	}
	out = mustRun(t, "", "backup", "prune", "--to", backups, "--json")
	if !strings.Contains(out, `"kind":"incremental"`) || !strings.Contains(out, `"removed":true`) {
		t.Fatalf("prune printed %q", out)
	}
	if out = mustRun(t, "", "backup", "prune", "--to", backups); out != "nothing to remove\n" {
		t.Fatalf("second prune printed %q", out)
	}
	if code, _, _ := runCLI(t, "backup", "--registry", a.reg, "--to", "-", "--incremental"); code != ExitError {
		t.Fatalf("incremental to stdout without --base-seq: %d", code)
	}
	if code, _, _ := runCLI(t, "backup", "--registry", a.reg, "--to", backups, "--recipient", "age1nope"); code != ExitError {
		t.Fatalf("bad recipient: %d", code)
	}
}
