package main

import (
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

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

// showTime is the time a "registry show" line is judged at: the clock
// when it runs, which differs between two runs a second apart.
var showTime = regexp.MustCompile(`,"at":"[^"]*"`)

// registryView is what a restore must reproduce, as the CLI shows it.
func registryView(t *testing.T, reg string) string {
	t.Helper()
	show := mustRun(t, "", "registry", "show", "--registry", reg, "--batch", "EX-7790", "--json")
	return mustRun(t, "", "audit", "list", "--registry", reg, "--json", "--items") +
		showTime.ReplaceAllString(show, "") +
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
	// A stream cut short anywhere is refused, the registry left as it was.
	before, _ = os.ReadFile(fromStream)
	for _, n := range []int{0, 100, len(stream) / 2, len(stream) - 1} {
		code, out, errs := runCLIStdin(t, stream[:n], "restore", "--from", "-", "--registry", fromStream)
		if code != ExitInvalid || out != "" || !strings.Contains(errs, "was not changed") {
			t.Fatalf("stream of %d of %d bytes: %d %q %q", n, len(stream), code, out, errs)
		}
	}
	if after, _ := os.ReadFile(fromStream); string(after) != string(before) {
		t.Fatal("a refused restore from a stream changed the registry")
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

// TestBackupWhileServeRevokes: serve runs over TLS on loopback and takes
// a bounded load of revocations through the API; backup (full, then
// incremental) runs on the same registry meanwhile. The restored registry's
// audit trail verifies, and it holds every revocation the API acknowledged
// before each backup started.
func TestBackupWhileServeRevokes(t *testing.T) {
	a := published(t)
	tokens := filepath.Join(a.dir, "tokens.json")
	revoker := addToken(t, tokens, "revoker", "vaccination-platform")
	certPath, keyPath := filepath.Join(a.dir, "cert.pem"), filepath.Join(a.dir, "key.pem")
	pool := tlsFiles(t, certPath, keyPath, "serve")
	addr := freeAddr(t)
	base := "https://" + addr
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}, Timeout: time.Minute}
	startServe(t, client, base, "--dir", a.pub, "--registry", a.reg, "--key", a.key, "--tokens", tokens,
		"--tls-cert", certPath, "--tls-key", keyPath, "--addr", addr)

	const workers, each = 6, 40
	var mu sync.Mutex
	var acked []string
	var failed []string
	done := 0 // requests answered or failed
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("LOAD-%d-%03d", w, i)
				req, _ := http.NewRequest("POST", base+"/v1/revoke", strings.NewReader(`{"certificate_id":"`+id+`","issuer":"https://cowin.gov.in/","reason":"dataError"}`))
				req.Header.Set("Authorization", "Bearer "+revoker)
				resp, err := client.Do(req)
				if err != nil {
					mu.Lock()
					failed = append(failed, err.Error())
					done++
					mu.Unlock()
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				mu.Lock()
				done++
				if resp.StatusCode == http.StatusOK {
					acked = append(acked, id)
				} else if resp.StatusCode != http.StatusServiceUnavailable {
					failed = append(failed, fmt.Sprintf("%d %s", resp.StatusCode, body))
				}
				mu.Unlock()
			}
		}()
	}
	// Each backup starts once more revocations are in, while the rest
	// keep coming; what was acknowledged before it started must be in it.
	ackedSoFar := func(n int) []string {
		for {
			mu.Lock()
			if len(acked) >= n || done == workers*each {
				out := append([]string(nil), acked...)
				mu.Unlock()
				return out
			}
			mu.Unlock()
			time.Sleep(5 * time.Millisecond)
		}
	}
	backups := filepath.Join(a.dir, "backups")
	beforeFull := ackedSoFar(workers * each / 4)
	mustRun(t, "", "backup", "--registry", a.reg, "--to", backups)
	beforeIncr := ackedSoFar(len(beforeFull) + workers*each/4)
	mustRun(t, "", "backup", "--registry", a.reg, "--to", backups, "--incremental")
	wg.Wait()
	if len(failed) > 0 {
		t.Fatalf("revocations failed: %v", failed)
	}

	restored := filepath.Join(a.dir, "restored.db")
	mustRun(t, "", "restore", "--from", backups, "--registry", restored)
	if out := mustRun(t, "", "audit", "verify", "--registry", restored); !strings.HasPrefix(out, "audit trail verified: ") {
		t.Fatalf("audit verify of the restored registry: %q", out)
	}
	listed := mustRun(t, "", "revocations", "--registry", restored, "--json")
	for _, id := range beforeIncr {
		if !strings.Contains(listed, `"`+id+`"`) {
			t.Fatalf("%s, acknowledged before the backup started, is not in the restored registry", id)
		}
	}
	t.Logf("%d of %d revocations acknowledged; %d before the full backup, %d before the incremental",
		len(acked), workers*each, len(beforeFull), len(beforeIncr))
}
