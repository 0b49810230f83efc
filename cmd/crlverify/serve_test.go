package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl/service/oidctest"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/crlsync"
	"github.com/crlverify/crlverify/verify/store"
)

// published sets up an authority that published the demo list once.
func published(t *testing.T) authority {
	t.Helper()
	a := newAuthority(t)
	mustRun(t, "", "revoke", "--registry", a.reg, "--from-file", demoCSV)
	mustRun(t, "", "publish", "--registry", a.reg, "--key", a.key, "--out", a.pub, "--publisher", "Test Health Authority")
	return a
}

// tlsFiles writes a self-signed certificate for 127.0.0.1 with common name
// cn over certPath and keyPath, and returns a pool trusting it.
func tlsFiles(t *testing.T, certPath, keyPath, cn string) *x509.CertPool {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	must(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	must(t, err)
	kb, err := x509.MarshalECPrivateKey(k)
	must(t, err)
	must(t, os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	must(t, os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600))
	c, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return pool
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	defer ln.Close()
	return ln.Addr().String()
}

// startServe runs "crlverify serve" in-process until the test ends, and
// waits until it answers at url.
func startServe(t *testing.T, client *http.Client, url string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var stderr strings.Builder
	go func() {
		root := NewRootCommand()
		root.SetContext(ctx)
		root.SetOut(io.Discard)
		root.SetErr(&stderr)
		done <- execute(root, append([]string{"serve"}, args...), io.Discard)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != ExitOK {
			t.Errorf("serve exited %d", code)
		}
	})
	for i := 0; ; i++ {
		resp, err := client.Get(url + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before answering", code)
		default:
		}
		if i == 500 {
			t.Fatalf("serve does not answer: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func call(t *testing.T, client *http.Client, method, url, token, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	must(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func addToken(t *testing.T, tokens, role, name string) string {
	t.Helper()
	var out struct{ Name, Role, Token string }
	must(t, json.Unmarshal([]byte(mustRun(t, "", "token", "add", "--tokens", tokens, "--role", role, "--name", name, "--json")), &out))
	if out.Name != name || out.Role != role || !strings.HasPrefix(out.Token, "crlv_") {
		t.Fatalf("token add --json: %+v", out)
	}
	return out.Token
}

// The authority end to end over TLS on loopback: tokens made with the CLI,
// issued certificates imported, serve started; revocations through the API
// by id, by beneficiary and doses and by batch, with API tokens and an OIDC
// access token, refused without the right role; the command line revoking
// and publishing on the same registry file while serve runs and answers a
// stream of revocations; a publication through the API; and a verifier
// syncing from the server that sees each revocation. Then the certificate
// is replaced and reloaded on SIGHUP.
func TestServeEndToEnd(t *testing.T) {
	a := published(t)
	tokens := filepath.Join(a.dir, "tokens.json")
	revoker := addToken(t, tokens, "revoker", "vaccination-platform")
	publisher := addToken(t, tokens, "publisher", "release-job")
	reader := addToken(t, tokens, "reader", "verifier-backend")
	auditor := addToken(t, tokens, "auditor", "audit-office")
	idp := oidctest.Start(t, oidctest.Options{Clients: []oidctest.Client{{ID: "ops", Secret: "s", Audience: []string{"crlverify-api"},
		Claims: map[string]any{"preferred_username": "asha.ops", "realm_access": map[string]any{"roles": []string{"revoker"}}}}}})
	jwks := filepath.Join(a.dir, "idp.jwks")
	must(t, os.WriteFile(jwks, idp.JWKS(t), 0o644))
	certPath, keyPath := filepath.Join(a.dir, "cert.pem"), filepath.Join(a.dir, "key.pem")
	pool := tlsFiles(t, certPath, keyPath, "first")
	logFile := filepath.Join(a.dir, "serve.log")
	// Issued certificates, for the revocations by beneficiary and batch.
	certs := filepath.Join(a.dir, "issued.csv")
	must(t, os.WriteFile(certs, []byte("certificate_id,issuer,beneficiary_id,dose,batch,issued_at\n"+
		"9200000000001,https://cowin.gov.in/,PEC-1,1,B-7,2021-05-01\n9200000000002,https://cowin.gov.in/,PEC-1,2,B-8,2021-08-01\n"+
		"9200000000003,https://cowin.gov.in/,PEC-1,3,B-8,2022-01-10\n9200000000004,https://cowin.gov.in/,PEC-2,1,B-8,2021-06-01\n"), 0o644))
	mustRun(t, "", "registry", "import", "--registry", a.reg, certs)
	addr := freeAddr(t)
	base := "https://" + addr
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}, Timeout: time.Minute}
	startServe(t, client, base, "--dir", a.pub, "--registry", a.reg, "--key", a.key, "--tokens", tokens,
		"--tls-cert", certPath, "--tls-key", keyPath, "--addr", addr,
		"--oidc-issuer", idp.Issuer, "--oidc-audience", "crlverify-api", "--oidc-jwks", jwks, "--oidc-roles-claim", "realm_access.roles",
		"--trust", "../../testdata/trust.json", "--log-file", logFile, "--log-key", filepath.Join(a.dir, "log.key"))

	const issuer = "https://cowin.gov.in/"
	oidc := idp.Token(t, "ops", "s")
	for _, c := range []struct {
		what, token, body string
		code              int
		want              string
	}{
		{"by id with an API token", revoker, `{"certificate_id":"9100000000001","issuer":"` + issuer + `","reason":"dataError"}`, 200, `"matched":1`},
		{"by id with an OIDC token", oidc, `{"certificate_id":"9100000000002","issuer":"` + issuer + `","reason":"tampering","note":"ticket 42"}`, 200, `"matched":1`},
		{"by id as a reader", reader, `{"certificate_id":"9100000000003"}`, http.StatusForbidden, "revoker"},
		{"by id without a token", "", `{"certificate_id":"9100000000003"}`, http.StatusUnauthorized, "error"},
		{"dose 1 of 3", revoker, `{"beneficiary_id":"PEC-1","doses":[1],"issuer":"` + issuer + `"}`, http.StatusUnprocessableEntity, `"rule":"doses-include-latest"`},
		{"doses 2 and 3 as a reader", reader, `{"beneficiary_id":"PEC-1","doses":[2,3]}`, http.StatusForbidden, "revoker"},
		{"doses 2 and 3", revoker, `{"beneficiary_id":"PEC-1","doses":[2,3],"issuer":"` + issuer + `","reason":"dataError"}`, 200, `"matched":2,"unchanged":0`},
		{"a batch as a publisher", publisher, `{"batch":"B-8"}`, http.StatusForbidden, "revoker"},
		{"a batch with an OIDC token", oidc, `{"batch":"B-8","issuer":"` + issuer + `"}`, 200, `"matched":3,"unchanged":2`},
	} {
		if code, body := call(t, client, "POST", base+"/v1/revoke", c.token, c.body); code != c.code || !strings.Contains(body, c.want) {
			t.Errorf("revoke %s: %d %s, want %d with %s", c.what, code, body, c.code, c.want)
		}
	}
	revoked := []string{"9100000000001", "9100000000002", "7000003421003", "9200000000002", "9200000000003", "9200000000004"}
	if _, body := call(t, client, "GET", base+"/v1/status?id=9200000000004&issuer="+issuer, reader, ""); !strings.Contains(body, `"reason":"faultyBatch"`) || !strings.Contains(body, `"imported":true`) {
		t.Errorf("status of a certificate of the batch: %s", body)
	}
	if _, body := call(t, client, "GET", base+"/v1/status?id=9200000000001&issuer="+issuer, reader, ""); !strings.Contains(body, `"status":"not_revoked"`) {
		t.Errorf("dose 1 after the refused request: %s", body)
	}

	// The command line works on the registry while serve runs, even while
	// it commits a stream of revocations.
	stream := make(chan int, 1)
	go func() {
		n := 0
		var wg sync.WaitGroup
		var mu sync.Mutex
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := range 25 {
					req, _ := http.NewRequest("POST", base+"/v1/revoke", strings.NewReader(fmt.Sprintf(`{"certificate_id":"93%02d%08d","issuer":"%s"}`, w, i, issuer)))
					req.Header.Set("Authorization", "Bearer "+revoker)
					if resp, err := client.Do(req); err == nil {
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						if resp.StatusCode == 200 {
							mu.Lock()
							n++
							mu.Unlock()
						}
					}
				}
			}()
		}
		wg.Wait()
		stream <- n
	}()
	if code, out, errs := runCLI(t, "revoke", "--registry", a.reg, "--issuer", issuer, "--id", "9100000000009", "--reason", "tampering", "--actor", "cli:asha"); code != ExitOK || strings.Contains(errs, "in use") {
		t.Errorf("revoke on the command line while serve runs: exit %d %q %q", code, out, errs)
	}
	if code, out, errs := runCLI(t, "publish", "--registry", a.reg, "--key", a.key, "--out", a.pub); code != ExitOK || strings.Contains(errs, "in use") {
		t.Errorf("publish on the command line while serve runs: exit %d %q %q", code, out, errs)
	}
	if code, out, errs := runCLI(t, "revocations", "--registry", a.reg, "--json"); code != ExitOK || !strings.Contains(out, "9100000000009") {
		t.Errorf("revocations on the command line while serve runs: exit %d %q", code, errs)
	}
	if n := <-stream; n != 200 {
		t.Errorf("%d of 200 revocations through the API acknowledged while the command line worked", n)
	}
	revoked = append(revoked, "9100000000009", "930000000000", "930700000024")
	if code, body := call(t, client, "GET", base+"/v1/status?id=9100000000009&issuer="+issuer, reader, ""); code != 200 || !strings.Contains(body, `"status":"revoked"`) || !strings.Contains(body, `"imported":false`) {
		t.Errorf("status of the certificate revoked on the command line: %d %s", code, body)
	}
	if code, body := call(t, client, "GET", base+"/v1/status?id=9100000000002&issuer="+issuer, reader, ""); code != 200 || !strings.Contains(body, `"status":"revoked"`) {
		t.Errorf("status: %d %s", code, body)
	}
	payload, err := os.ReadFile("../../testdata/divoc/payloads/valid.zip")
	must(t, err)
	if code, body := call(t, client, "POST", base+"/v1/verify?at=2026-06-01T00:00:00Z", reader, string(payload)); code != 200 || !strings.Contains(body, `"status":"VALID"`) {
		t.Errorf("verify: %d %.300s", code, body)
	}
	code, body := call(t, client, "POST", base+"/v1/publish", publisher, "")
	if code != 200 || !strings.Contains(body, `"serial":3`) || !strings.Contains(body, fmt.Sprintf(`"entries":%d`, 202+5+200+1)) {
		t.Fatalf("publish: %d %s", code, body)
	}
	if code, _ := call(t, client, "POST", base+"/v1/publish", revoker, ""); code != http.StatusForbidden {
		t.Errorf("publish as a revoker: %d, want 403", code)
	}

	// The audit trail names who did what: the token's name, the OIDC
	// user, the command line's actor.
	code, body = call(t, client, "GET", base+"/v1/audit?limit=1000", auditor, "")
	for _, who := range []string{`"actor":"token:vaccination-platform"`, `"actor":"oidc:asha.ops"`, `"actor":"cli:asha"`, `"actor":"token:release-job"`} {
		if code != 200 || !strings.Contains(body, who) {
			t.Errorf("audit trail without %s: %d %.500s", who, code, body)
		}
	}

	// A verifier syncs from the server and sees every revocation.
	jf, err := os.Open(a.jwks)
	must(t, err)
	set, err := snapshot.ReadJWKS(jf)
	jf.Close()
	must(t, err)
	st, err := store.Open(filepath.Join(a.dir, "verifier.db"), nil)
	must(t, err)
	defer st.Close()
	syncer, err := crlsync.New(st, base+"/", snapshot.KeysFromSet(set), &crlsync.Options{HTTPClient: client})
	must(t, err)
	if _, err := syncer.Sync(context.Background()); err != nil {
		t.Fatalf("sync from serve: %v", err)
	}
	for _, id := range revoked {
		if r, err := st.Check(issuer, id, time.Now()); err != nil || r.Status != store.Revoked {
			t.Errorf("verifier's answer for %s: %v %v", id, r.Status, err)
		}
	}

	// SIGHUP: a new certificate is served from the next handshake.
	tlsFiles(t, certPath, keyPath, "second")
	must(t, syscall.Kill(os.Getpid(), syscall.SIGHUP))
	var cn string
	for i := 0; i < 500 && cn != "second"; i++ {
		time.Sleep(20 * time.Millisecond)
		conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true})
		must(t, err)
		cn = conn.ConnectionState().PeerCertificates[0].Subject.CommonName
		conn.Close()
	}
	if cn != "second" {
		t.Errorf("after SIGHUP the server presents %q", cn)
	}

	// The log: mode 0600, who did what, no secret, no id in clear.
	fi, err := os.Stat(logFile)
	must(t, err)
	logs, _ := os.ReadFile(logFile)
	if fi.Mode().Perm() != 0o600 || !strings.Contains(string(logs), `"actor":"oidc:asha.ops"`) || !strings.Contains(string(logs), `"actor":"token:vaccination-platform"`) ||
		!strings.Contains(string(logs), `"msg":"reloaded on SIGHUP"`) {
		t.Errorf("log (mode %v):\n%s", fi.Mode(), logs)
	}
	for _, secret := range []string{revoker, publisher, reader, "9100000000001", "9100000000002", "PEC-1", "ticket 42"} {
		if strings.Contains(string(logs), secret) {
			t.Errorf("%q is in the log", secret)
		}
	}
}

func TestServeStaticOnly(t *testing.T) {
	a := published(t)
	addr := freeAddr(t)
	startServe(t, http.DefaultClient, "http://"+addr, "--dir", a.pub, "--addr", addr)
	code, body := call(t, http.DefaultClient, "GET", "http://"+addr+"/"+snapshot.IndexName, "", "")
	index, _ := os.ReadFile(filepath.Join(a.pub, snapshot.IndexName))
	if code != 200 || body != string(index) {
		t.Errorf("GET index: %d", code)
	}
	if code, _ := call(t, http.DefaultClient, "POST", "http://"+addr+"/v1/revoke", "", `{"certificate_id":"1"}`); code != http.StatusNotFound {
		t.Errorf("API without --registry: %d, want 404", code)
	}
}

func TestServeUsageErrors(t *testing.T) {
	a := published(t)
	tokens := filepath.Join(a.dir, "tokens.json")
	addToken(t, tokens, "reader", "r")
	api := []string{"serve", "--dir", a.pub, "--registry", a.reg, "--key", a.key, "--tokens", tokens, "--addr", "127.0.0.1:0"}
	for _, c := range []struct {
		args []string
		want string
	}{
		{append(api, "--max-body", "-5"), "--max-body"},
		{append(api, "--max-body", "0"), "--max-body"},
		{append(api, "--read-timeout", "0s"), "timeout"},
		{append(api, "--publish-every", "1s"), "at least 1m"},
		{append(api, "--publish-every", "1h", "--next-update", "30m"), "longer than --publish-every"},
		{append(api, "--oidc-issuer", "https://idp.example/"), "together"},
		{append(api, "--oidc-jwks", "x.jwks"), "go with --oidc-issuer"},
		{append(api, "--tls-cert", "c.pem"), "together"},
		{[]string{"serve", "--dir", a.pub, "--addr", "0.0.0.0:0"}, "--tls-cert"},
		{[]string{"serve", "--dir", a.pub, "--tokens", tokens}, "give --registry"},
		{[]string{"serve", "--dir", a.pub, "--registry", a.reg, "--tokens", tokens}, "needs --key"},
		{[]string{"serve", "--dir", a.pub, "--registry", a.reg, "--key", a.key}, "authenticate callers"},
		{[]string{"serve", "--dir", a.pub, "--registry", a.reg, "--key", a.key, "--tokens", filepath.Join(a.dir, "none.json")}, "token add"},
		{[]string{"serve", "--dir", filepath.Join(a.dir, "none")}, "no such file"},
		{[]string{"serve"}, `"dir" not set`},
	} {
		code, _, stderr := runCLIStdin(t, "", c.args...)
		if code != ExitError || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q, want 2 and %q", c.args[1:], code, stderr, c.want)
		}
	}
}

func TestTokenCommands(t *testing.T) {
	dir := t.TempDir()
	tokens := filepath.Join(dir, "tokens.json")
	code, stdout, stderr := runCLIStdin(t, "", "token", "add", "--tokens", tokens, "--role", "revoker", "--name", "vaccination-platform")
	tok := strings.TrimSpace(stdout)
	if code != 0 || !strings.HasPrefix(tok, "crlv_") || strings.Count(stdout, "\n") != 1 || !strings.Contains(stderr, "only this once") {
		t.Fatalf("token add: %d %q %q", code, stdout, stderr)
	}
	addToken(t, tokens, "reader", "verifier-app")
	file, _ := os.ReadFile(tokens)
	if fi, _ := os.Stat(tokens); fi.Mode().Perm() != 0o600 || strings.Contains(string(file), tok) {
		t.Errorf("token file mode %v, or holds the token", fi.Mode())
	}
	out := mustRun(t, "", "token", "list", "--tokens", tokens)
	if !strings.Contains(out, "vaccination-platform  revoker") || !strings.Contains(out, "verifier-app") || strings.Contains(out, "crlv_") || strings.Contains(out, "sha256") {
		t.Errorf("token list:\n%s", out)
	}
	out = mustRun(t, "", "token", "list", "--tokens", tokens, "--json")
	var first struct {
		Name, Role string
		CreatedAt  time.Time `json:"created_at"`
	}
	if lines := strings.Split(strings.TrimSpace(out), "\n"); len(lines) != 2 || json.Unmarshal([]byte(lines[0]), &first) != nil ||
		first.Name != "vaccination-platform" || first.Role != "revoker" || first.CreatedAt.IsZero() || strings.Contains(out, "hash") {
		t.Errorf("token list --json:\n%s", out)
	}
	mustRun(t, "", "token", "revoke", "--tokens", tokens, "--name", "verifier-app")
	if out := mustRun(t, "", "token", "list", "--tokens", tokens); strings.Contains(out, "verifier-app") {
		t.Errorf("revoked token still listed:\n%s", out)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"token", "revoke", "--tokens", tokens, "--name", "verifier-app"}, "no token named"},
		{[]string{"token", "add", "--tokens", tokens, "--role", "admin", "--name", "x"}, "unknown role"},
		{[]string{"token", "add", "--tokens", tokens, "--role", "reader", "--name", "vaccination-platform"}, "exists"},
		{[]string{"token", "add", "--tokens", tokens, "--role", "reader", "--name", "a b"}, "token name"},
		{[]string{"token", "add", "--tokens", tokens, "--role", "reader"}, `"name" not set`},
		{[]string{"token", "list", "--tokens", filepath.Join(dir, "none.json")}, "no such file"},
	} {
		code, _, stderr := runCLIStdin(t, "", c.args...)
		if code != ExitError || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d %q, want 2 and %q", c.args, code, stderr, c.want)
		}
	}
}
