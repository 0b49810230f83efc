package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"crypto/tls"
)

// scan --online and check --online against "crlverify serve" on loopback
// over TLS: with no list in the store, the authority's status endpoint
// answers, marked online; with the wrong role or no endpoint the status
// stays unknown and says why.
func TestOnlineFallbackCLI(t *testing.T) {
	a := newAuthority(t)
	const issuer = "https://cowin.gov.in/"
	mustRun(t, "", "revoke", "--registry", a.reg, "--issuer", issuer, "--id", "8000000000011", "--reason", "tampering", "--at", "2026-01-01")
	must(t, os.MkdirAll(a.pub, 0o755))
	tokens := filepath.Join(a.dir, "tokens.json")
	readerFile, publisherFile := filepath.Join(a.dir, "reader.token"), filepath.Join(a.dir, "publisher.token")
	must(t, os.WriteFile(readerFile, []byte(addToken(t, tokens, "reader", "verifier-app")+"\n"), 0o600))
	must(t, os.WriteFile(publisherFile, []byte(addToken(t, tokens, "publisher", "release")+"\n"), 0o600))
	certPath, keyPath := filepath.Join(a.dir, "cert.pem"), filepath.Join(a.dir, "key.pem")
	pool := tlsFiles(t, certPath, keyPath, "authority")
	addr := freeAddr(t)
	base := "https://" + addr
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: time.Minute}
	startServe(t, client, base, "--dir", a.pub, "--registry", a.reg, "--key", a.key, "--tokens", tokens,
		"--tls-cert", certPath, "--tls-key", keyPath, "--addr", addr)

	noStore := filepath.Join(t.TempDir(), "none.db")
	payload := filepath.Join(fixtureDir, "divoc", "payloads", "valid.zip")
	scan := []string{"scan", "--trust", filepath.Join(fixtureDir, "trust.json"), "--store", noStore, "--at", "2026-06-01T00:00:00Z", "--json", payload}
	on := []string{"--online", base, "--online-ca", certPath}

	code, out, errs := runCLI(t, append(scan, append(on, "--online-token-file", readerFile)...)...)
	var v struct {
		Status     string `json:"status"`
		Revocation struct {
			Known     bool   `json:"known"`
			Source    string `json:"source"`
			Freshness string `json:"freshness"`
			Reason    string `json:"reason"`
			Detail    string `json:"detail"`
		} `json:"revocation"`
	}
	must(t, json.Unmarshal([]byte(out), &v))
	if code != ExitInvalid || v.Status != "REVOKED" || !v.Revocation.Known || v.Revocation.Source != "online" || v.Revocation.Reason != "tampering" || v.Revocation.Freshness != "fresh" {
		t.Errorf("scan --online: exit %d %s %s", code, out, errs)
	}
	// Without --online: unknown, exit 3.
	if code, out, _ := runCLI(t, scan...); code != ExitUnknown || !strings.Contains(out, `"known":false`) {
		t.Errorf("scan without --online: exit %d %s", code, out)
	}
	// The wrong role: unknown, and why.
	code, out, _ = runCLI(t, append(scan, append(on, "--online-token-file", publisherFile)...)...)
	if code != ExitUnknown || !strings.Contains(out, "reader role") {
		t.Errorf("scan --online with a publisher's token: exit %d %s", code, out)
	}
	// An endpoint that is not there: unknown, and why.
	code, out, _ = runCLI(t, append(scan, "--online", "http://"+freeAddr(t), "--online-token-file", readerFile)...)
	if code != ExitUnknown || !strings.Contains(out, "online status:") {
		t.Errorf("scan --online to nothing: exit %d %s", code, out)
	}

	check := []string{"check", "--store", noStore, "--issuer", issuer, "--online-token-file", readerFile}
	code, out, errs = runCLI(t, append(append(check, on...), "8000000000011", "8000000000012")...)
	if code != ExitInvalid || !strings.Contains(out, "8000000000011: REVOKED (tampering") || !strings.Contains(out, "8000000000012: NOT REVOKED; answered online") {
		t.Errorf("check --online: exit %d %q %q", code, out, errs)
	}
	code, out, _ = runCLI(t, append(append(check, on...), "--json", "8000000000012")...)
	if code != ExitOK || !strings.Contains(out, `"source":"online"`) || !strings.Contains(out, `"known":true`) {
		t.Errorf("check --online --json: exit %d %s", code, out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"check", "--store", noStore, "--issuer", issuer, "--online", "http://crl.example.org", "1"}, "https"},
		{[]string{"check", "--store", noStore, "--issuer", issuer, "--online-token-file", readerFile, "1"}, "go with --online"},
		{[]string{"check", "--store", noStore, "--online", base, "1"}, "--issuer"},
		{append(append([]string{"check", "--store", noStore, "--issuer", issuer}, on...), "--online-ca", readerFile, "1"), "no PEM certificate"},
	} {
		if code, _, errs := runCLI(t, c.args...); code != ExitError || !strings.Contains(errs, c.want) {
			t.Errorf("%v: exit %d %q, want 2 and %q", c.args, code, errs, c.want)
		}
	}
}
