package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/snapshot"
)

// published sets up an authority that published the demo list once.
func published(t *testing.T) authority {
	t.Helper()
	a := newAuthority(t)
	mustRun(t, "", "revoke", "--registry", a.reg, "--from-file", demoCSV)
	mustRun(t, "", "publish", "--registry", a.reg, "--key", a.key, "--out", a.pub, "--publisher", "Test Health Authority")
	return a
}

func get(t *testing.T, url string, header ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func TestServeStatic(t *testing.T) {
	a := published(t)
	os.WriteFile(filepath.Join(a.pub, ".crlverify-x.tmp"), []byte("partial"), 0o644)
	os.Mkdir(filepath.Join(a.pub, "sub"), 0o755)
	srv := httptest.NewServer(newServeHandler(a.pub, nil))
	defer srv.Close()

	index, _ := os.ReadFile(filepath.Join(a.pub, snapshot.IndexName))
	resp, body := get(t, srv.URL+"/"+snapshot.IndexName)
	etag := resp.Header.Get("ETag")
	if resp.StatusCode != 200 || body != string(index) || etag == "" || resp.Header.Get("Cache-Control") != "no-cache" {
		t.Fatalf("GET index: %d etag %q cache %q", resp.StatusCode, etag, resp.Header.Get("Cache-Control"))
	}
	if resp, _ := get(t, srv.URL+"/"+snapshot.IndexName, "If-None-Match", etag); resp.StatusCode != http.StatusNotModified {
		t.Errorf("revalidation with the ETag: %d, want 304", resp.StatusCode)
	}
	full, _ := os.ReadFile(filepath.Join(a.pub, snapshot.FullName(1)))
	resp, body = get(t, srv.URL+"/"+snapshot.FullName(1), "Range", "bytes=100-")
	if resp.StatusCode != http.StatusPartialContent || body != string(full[100:]) {
		t.Errorf("resumed download: %d, %d bytes, want 206 and %d", resp.StatusCode, len(body), len(full)-100)
	}
	for _, path := range []string{"/.crlverify-x.tmp", "/sub", "/sub/", "/missing.crl", "/../moh.db", "/%2e%2e/moh.db"} {
		if resp, _ := get(t, srv.URL+path); resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, resp.StatusCode)
		}
	}
	resp, err := http.Post(srv.URL+"/"+snapshot.IndexName, "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST a file: %d", resp.StatusCode)
	}
	if resp, _ := get(t, srv.URL+"/revoke"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("API path without the API: %d, want 404", resp.StatusCode)
	}
}

func TestServeAPI(t *testing.T) {
	a := published(t)
	reg, err := registry.Open(a.reg, &registry.Options{Actor: "api"})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	key, err := readSigningKey(a.key, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	const token = "0123456789abcdef-test-token"
	api := &revokeAPI{reg: reg, key: key, token: []byte(token), dir: a.pub, maxBody: 1 << 20}
	srv := httptest.NewServer(newServeHandler(a.pub, api))
	defer srv.Close()
	post := func(path, tok, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, srv.URL+path, strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tok := range []string{"", "wrong-token-wrong-token"} {
		if code, _ := post("/revoke", tok, `{"id":"1","issuer":"https://cowin.gov.in/"}`); code != http.StatusUnauthorized {
			t.Errorf("token %q: %d, want 401", tok, code)
		}
	}
	if resp, _ := get(t, srv.URL+"/publish", "Authorization", "Bearer "+token); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /publish: %d", resp.StatusCode)
	}
	code, body := post("/revoke", token, `{"id":"9000000000001","issuer":"https://cowin.gov.in/","reason":"dataError"}`+"\n"+
		`{"id":"9000000000002","issuer":"https://cowin.gov.in/","reason":"nonsense"}`)
	if code != http.StatusBadRequest || !strings.Contains(body, `"line":2`) {
		t.Errorf("bad row: %d %s", code, body)
	}
	if st, _ := reg.Status("https://cowin.gov.in/", "9000000000001", time.Time{}); st.State != registry.StateUnknown {
		t.Error("a refused request applied a row")
	}
	if code, body = post("/revoke", token, strings.Repeat(`{"id":"1"}`+"\n", 200_000)); code != http.StatusRequestEntityTooLarge {
		t.Errorf("oversized body: %d %.200s", code, body)
	}
	code, body = post("/revoke", token, `{"id":"9000000000001","issuer":"https://cowin.gov.in/","reason":"dataError"}`)
	if code != http.StatusOK || !strings.Contains(body, `"changed":1`) {
		t.Errorf("revoke: %d %s", code, body)
	}
	if code, body = post("/unrevoke", token, `{"issuer":"https://cowin.gov.in/","id":"nope"}`); code != http.StatusNotFound {
		t.Errorf("unrevoke of an unknown id: %d %s", code, body)
	}
	code, body = post("/publish", token, "")
	var res registry.PublishResult
	if code != http.StatusOK || json.Unmarshal([]byte(body), &res) != nil || res.Serial != 2 || res.ListCount != 203 {
		t.Fatalf("publish: %d %s", code, body)
	}
	// The new index is what the static side serves.
	_, idx := get(t, srv.URL+"/"+snapshot.IndexName)
	jf, _ := os.Open(a.jwks)
	defer jf.Close()
	set, err := snapshot.ReadJWKS(jf)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := snapshot.ReadIndex(strings.NewReader(idx), snapshot.KeysFromSet(set), nil)
	if err != nil || ix.Serial != 2 || len(ix.Deltas) != 1 {
		t.Fatalf("served index after publish: %+v %v", ix, err)
	}
	var audit []string
	reg.Audit(0, func(r *registry.AuditRecord) error {
		if r.Actor == "api" {
			audit = append(audit, r.Action.String()+" "+r.Source)
		}
		return nil
	})
	if strings.Join(audit, ",") != "revoke api,publish " {
		t.Errorf("API audit records %q", audit)
	}
}

// The serve command itself, on a loopback port, until its context ends.
func TestServeCommand(t *testing.T) {
	a := published(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int)
	go func() {
		root := NewRootCommand()
		root.SetContext(ctx)
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		done <- execute(root, []string{"serve", "--dir", a.pub, "--addr", addr}, io.Discard)
	}()
	var resp *http.Response
	for i := 0; i < 100; i++ {
		if resp, err = http.Get(fmt.Sprintf("http://%s/%s", addr, snapshot.IndexName)); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET index: %d", resp.StatusCode)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Errorf("serve exited %d", code)
	}
	if code, _, stderr := runCLIStdin(t, "", "serve", "--dir", a.pub, "--token-file", filepath.Join(a.dir, "none")); code != ExitError || !strings.Contains(stderr, "needs --registry and --key") {
		t.Errorf("API without registry: %d %q", code, stderr)
	}
}
