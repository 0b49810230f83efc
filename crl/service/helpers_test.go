package service_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/crl/service"
	"github.com/crlverify/crlverify/crl/service/auth"
	"github.com/crlverify/crlverify/snapshot"
)

const (
	cowin = "https://cowin.gov.in/"
	divoc = "https://divoc.dev/"
)

// authority is a registry file on disk, a signing key, a publication
// directory published once, and a token file with one token per role.
type authority struct {
	dir, pubDir, tokensPath string
	reg                     *registry.Registry
	key                     any
	backend                 *service.RegistryBackend
	tokens                  map[auth.Role]string
}

func newAuthority(t testing.TB, issuers ...string) *authority {
	t.Helper()
	if len(issuers) == 0 {
		issuers = []string{cowin}
	}
	d := t.TempDir()
	a := &authority{dir: d, pubDir: filepath.Join(d, "pub"), tokensPath: filepath.Join(d, "tokens.json"), tokens: map[auth.Role]string{}}
	if err := os.Mkdir(a.pubDir, 0o755); err != nil {
		t.Fatal(err)
	}
	key, err := snapshot.GenerateKey("EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	a.key = key
	a.reg, err = registry.Open(filepath.Join(d, "moh.db"), &registry.Options{Actor: "serve"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.reg.Close() })
	if err := a.reg.AddIssuers(issuers...); err != nil {
		t.Fatal(err)
	}
	pub := &service.Publication{Dir: a.pubDir, Key: key,
		Options: registry.PublishOptions{Publisher: "Test Health Authority", NextUpdate: time.Hour}}
	a.backend = service.NewRegistryBackend(a.reg, pub)
	if _, err := a.backend.Publish(context.Background(), "test"); err != nil {
		t.Fatal(err)
	}
	for _, r := range auth.Roles() {
		tok, err := auth.AddToken(a.tokensPath, string(r)+"-svc", r, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		a.tokens[r] = tok
	}
	return a
}

// logBuffer collects JSON log lines, safe for concurrent use.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// lines returns the log records whose msg is msg.
func (l *logBuffer) lines(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(l.String()))
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// testServer is a Service behind a real TLS listener on loopback.
type testServer struct {
	url    string
	client *http.Client
	logs   *logBuffer
	srv    *service.Server
	certs  *certFiles
}

type serverOpt func(*service.Config, *service.ServerOptions)

func startServer(t testing.TB, a *authority, opts ...serverOpt) *testServer {
	t.Helper()
	logs := &logBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	tokens, err := auth.OpenTokens(a.tokensPath)
	if err != nil {
		t.Fatal(err)
	}
	cfg := service.Config{Dir: a.pubDir, Backend: a.backend, Auth: &auth.Authenticator{Tokens: tokens},
		Logger: logger, LogKey: []byte("test log key")}
	certs := newCertFiles(t, "first")
	sopts := service.ServerOptions{Addr: "127.0.0.1:0", CertFile: certs.cert, KeyFile: certs.key, Logger: logger}
	for _, o := range opts {
		o(&cfg, &sopts)
	}
	svc, err := service.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := service.Listen(svc, sopts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: certs.pool}, MaxIdleConnsPerHost: 64, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &testServer{url: srv.URL(), client: &http.Client{Transport: tr, Timeout: 2 * time.Minute}, logs: logs, srv: srv, certs: certs}
}

// do sends a request and returns the status and the body.
func (s *testServer) do(t testing.TB, method, path, token string, body any, header ...string) (int, string) {
	t.Helper()
	resp := s.doResp(t, method, path, token, body, header...)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

func (s *testServer) doResp(t testing.TB, method, path, token string, body any, header ...string) *http.Response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return resp
}

// decode unmarshals a JSON answer.
func decode[T any](t testing.TB, body string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("answer is not the JSON expected: %v\n%s", err, body)
	}
	return v
}

// certFiles is a self-signed TLS certificate for 127.0.0.1 in PEM files.
type certFiles struct {
	cert, key string
	pool      *x509.CertPool
	der       []byte
}

func newCertFiles(t testing.TB, cn string) *certFiles {
	t.Helper()
	d := t.TempDir()
	c := &certFiles{cert: filepath.Join(d, "cert.pem"), key: filepath.Join(d, "key.pem")}
	c.write(t, cn)
	return c
}

// write makes a new certificate with common name cn over the files, and
// adds it to the pool.
func (c *certFiles) write(t testing.TB, cn string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c.key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	if c.pool == nil {
		c.pool = x509.NewCertPool()
	}
	cert, _ := x509.ParseCertificate(der)
	c.pool.AddCert(cert)
	c.der = der
}

func stringsReader(s string) io.Reader { return strings.NewReader(s) }

// noAuth refuses everyone.
type noAuth struct{}

func (noAuth) Authenticate(*http.Request) (auth.Principal, error) {
	return auth.Principal{}, auth.ErrNoCredentials
}
