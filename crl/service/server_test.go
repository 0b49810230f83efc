package service_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/crl/service"
	"github.com/crlverify/crlverify/crl/service/auth"
	"github.com/crlverify/crlverify/snapshot"
)

func TestPublicationFiles(t *testing.T) {
	a := newAuthority(t)
	// A link in the directory named like a snapshot, pointing at the token
	// file, and one pointing inside; a stray file; a directory.
	if err := os.Symlink(a.tokensPath, filepath.Join(a.pubDir, snapshot.FullName(99))); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(snapshot.FullName(1), filepath.Join(a.pubDir, snapshot.FullName(98))); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(a.pubDir, "api.token"), []byte("secret"), 0o644)
	os.Mkdir(filepath.Join(a.pubDir, snapshot.FullName(97)), 0o755)
	now := time.Now()
	clock := func() time.Time { return now }
	s := startServer(t, a, func(c *service.Config, _ *service.ServerOptions) { c.Now = func() time.Time { return clock() } })

	for _, path := range []string{"/" + snapshot.FullName(99), "/" + snapshot.FullName(98), "/" + snapshot.FullName(97),
		"/api.token", "/tokens.json", "/../tokens.json", "/%2e%2e/tokens.json", "/moh.db", "/.x"} {
		code, body := s.do(t, "GET", path, "", nil)
		if code != http.StatusNotFound || strings.Contains(body, "sha256:") || strings.Contains(body, "secret") {
			t.Errorf("GET %s: %d %.80q, want 404", path, code, body)
		}
	}
	if code, _ := s.do(t, "POST", "/"+snapshot.IndexName, "", nil); code != http.StatusMethodNotAllowed {
		t.Errorf("POST a file: %d", code)
	}

	index, _ := os.ReadFile(filepath.Join(a.pubDir, snapshot.IndexName))
	resp := s.doResp(t, "GET", "/"+snapshot.IndexName, "", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	etag, cc := resp.Header.Get("ETag"), resp.Header.Get("Cache-Control")
	if resp.StatusCode != 200 || string(body) != string(index) || etag == "" {
		t.Fatalf("GET index: %d etag %q", resp.StatusCode, etag)
	}
	// Published with a one-hour next-update: cacheable for the bound (5
	// minutes), revalidated after.
	if cc != "public, max-age=300, must-revalidate" {
		t.Errorf("index Cache-Control %q", cc)
	}
	if code, _ := s.do(t, "GET", "/"+snapshot.IndexName, "", nil, "If-None-Match", etag); code != http.StatusNotModified {
		t.Errorf("revalidation: %d, want 304", code)
	}
	// Close to the next-update, the max-age shrinks to what is left; past
	// it, no caching.
	ix, _ := snapshot.ReadIndexUnverified(strings.NewReader(string(index)), nil)
	now = ix.NextUpdate.Add(-42 * time.Second)
	if resp := s.doResp(t, "GET", "/"+snapshot.IndexName, "", nil); resp.Header.Get("Cache-Control") != "public, max-age=42, must-revalidate" {
		t.Errorf("near next-update: %q", resp.Header.Get("Cache-Control"))
	}
	now = ix.NextUpdate.Add(time.Second)
	if resp := s.doResp(t, "GET", "/"+snapshot.IndexName, "", nil); resp.Header.Get("Cache-Control") != "no-cache" {
		t.Errorf("past next-update: %q", resp.Header.Get("Cache-Control"))
	}
	now = time.Now()

	full, _ := os.ReadFile(filepath.Join(a.pubDir, snapshot.FullName(1)))
	resp = s.doResp(t, "GET", "/"+snapshot.FullName(1), "", nil, "Range", "bytes=10-")
	part, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusPartialContent || string(part) != string(full[10:]) {
		t.Errorf("resumed download: %d, %d bytes", resp.StatusCode, len(part))
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=31536000, immutable" {
		t.Errorf("snapshot Cache-Control %q", cc)
	}
	// A new publication is served at once, with a new ETag.
	if code, body := s.do(t, "POST", "/v1/publish", a.tokens[auth.RolePublisher], nil); code != 200 || !strings.Contains(body, `"serial":2`) {
		t.Fatalf("publish: %d %s", code, body)
	}
	if resp := s.doResp(t, "GET", "/"+snapshot.IndexName, "", nil, "If-None-Match", etag); resp.StatusCode != 200 || resp.Header.Get("ETag") == etag {
		t.Errorf("index after publish: %d %q", resp.StatusCode, resp.Header.Get("ETag"))
	}
}

func TestTLSReload(t *testing.T) {
	a := newAuthority(t)
	s := startServer(t, a)
	seen := func() string {
		t.Helper()
		conn, err := tls.Dial("tcp", strings.TrimPrefix(s.url, "https://"), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	if got := seen(); got != "first" {
		t.Fatalf("certificate %q", got)
	}
	s.certs.write(t, "second")
	if err := s.srv.ReloadTLS(); err != nil {
		t.Fatal(err)
	}
	if got := seen(); got != "second" {
		t.Errorf("after reload: certificate %q", got)
	}
	// A broken pair keeps the certificate in use.
	os.WriteFile(s.certs.key, []byte("garbage"), 0o600)
	if err := s.srv.ReloadTLS(); err == nil {
		t.Error("reload of a broken key succeeded")
	}
	if got := seen(); got != "second" {
		t.Errorf("after a failed reload: certificate %q", got)
	}
}

func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	h := http.NotFoundHandler()
	for _, addr := range []string{":0", "0.0.0.0:0", "[::]:0", "example.org:0"} {
		if _, err := service.Listen(h, service.ServerOptions{Addr: addr}); !errors.Is(err, service.ErrPlainHTTP) {
			t.Errorf("Listen(%s) without TLS: %v, want ErrPlainHTTP", addr, err)
		}
	}
	srv, err := service.Listen(h, service.ServerOptions{Addr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(srv.URL(), "http://127.0.0.1:") {
		t.Errorf("URL %s", srv.URL())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := srv.Serve(ctx); err != nil {
		t.Error(err)
	}
	c := newCertFiles(t, "x")
	if _, err := service.Listen(h, service.ServerOptions{Addr: "127.0.0.1:0", CertFile: c.cert}); err == nil {
		t.Error("a certificate without its key was accepted")
	}
}

// A request body trickled slower than the read timeout allows is cut: the
// request fails, however long the client would go on.
func TestTrickledBodyIsCut(t *testing.T) {
	a := newAuthority(t)
	s := startServer(t, a, func(_ *service.Config, o *service.ServerOptions) { o.ReadTimeout = 500 * time.Millisecond })
	conn, err := tls.Dial("tcp", strings.TrimPrefix(s.url, "https://"), &tls.Config{RootCAs: s.certs.pool, NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	const size = 2000
	fmt.Fprintf(conn, "POST /v1/revoke HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n",
		a.tokens[auth.RoleRevoker], size)
	// One byte every 50 ms: the whole body would take 100 s.
	body := `{"certificate_id":"` + strings.Repeat("9", size-len(`{"certificate_id":""}`)) + `"}`
	sent := 0
	for ; sent < size; sent++ {
		if _, err := conn.Write([]byte{body[sent]}); err != nil {
			break
		}
		conn.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
		var b [1]byte
		if n, err := conn.Read(b[:]); n > 0 || err != nil && !errors.Is(err, os.ErrDeadlineExceeded) {
			break // the server answered or closed the connection
		}
	}
	t.Logf("the server cut the request after %d of %d bytes", sent, size)
	if sent == size {
		conn.SetReadDeadline(time.Now().Add(time.Minute))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err == nil && resp.StatusCode == http.StatusOK {
			t.Fatal("a body trickled for the whole read timeout and more was accepted")
		}
	}
	if st, err := a.reg.Stats(); err != nil || st.Revoked != 0 {
		t.Error("the trickled request was applied")
	}
}

// Serve returns within the shutdown bound even when a request hangs.
func TestShutdownIsBounded(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block })
	srv, err := service.Listen(h, service.ServerOptions{Addr: "127.0.0.1:0", ShutdownTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	started := make(chan struct{})
	go func() {
		c, err := net.Dial("tcp", srv.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
		close(started)
		io.Copy(io.Discard, c)
	}()
	<-started
	// Let the request reach the handler before shutting down.
	for i := 0; i < 100; i++ {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "cut") {
			t.Errorf("Serve after a cut shutdown: %v", err)
		}
	case <-time.After(time.Minute):
		t.Fatal("Serve did not return after its context ended")
	}
}

// TestPublishRefusesGoingBackwards: another copy of the registry published
// a serial into the directory; POST /v1/publish is refused with 409 (never
// a publication dropping that serial's revocation), and the log says what
// differs.
func TestPublishRefusesGoingBackwards(t *testing.T) {
	a := newAuthority(t)
	s := startServer(t, a)
	b, err := os.ReadFile(a.reg.Path())
	if err != nil {
		t.Fatal(err)
	}
	otherPath := filepath.Join(a.dir, "copy.db")
	if err := os.WriteFile(otherPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	other, err := registry.Open(otherPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if _, err := other.Revoke(context.Background(), registry.Request{Selector: registry.Selector{Issuer: cowin, CertificateID: "ELSEWHERE"}, Actor: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Publish(a.pubDir, a.key.(jwk.Key), nil); err != nil {
		t.Fatal(err)
	}
	index, _ := os.ReadFile(filepath.Join(a.pubDir, snapshot.IndexName))
	code, body := s.do(t, "POST", "/v1/publish", a.tokens[auth.RolePublisher], nil)
	if code != http.StatusConflict || !strings.Contains(body, "would go backwards") {
		t.Fatalf("publish: %d %s", code, body)
	}
	if after, _ := os.ReadFile(filepath.Join(a.pubDir, snapshot.IndexName)); string(after) != string(index) {
		t.Fatal("the refused publication changed the index")
	}
	lines := s.logs.lines(t, "request")
	last := lines[len(lines)-1]
	if last["status"] != float64(http.StatusConflict) || !strings.Contains(fmt.Sprint(last["error"]), "un-revoke") {
		t.Errorf("log: %v", last)
	}
}
