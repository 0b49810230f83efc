package online_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/crl/service"
	"github.com/crlverify/crlverify/crl/service/auth"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/crlsync"
	"github.com/crlverify/crlverify/verify/online"
	"github.com/crlverify/crlverify/verify/store"
	"github.com/crlverify/crlverify/verify/trust"
)

const cowin = "https://cowin.gov.in/"

// authority is a real revocation service on loopback over TLS: a registry
// file, an API token per role, and a count of status requests.
type authority struct {
	url      string
	reg      *registry.Registry
	tokens   map[auth.Role]string
	pool     *x509.CertPool
	statuses atomic.Int64
	pubDir   string
	key      any
}

func startAuthority(t *testing.T) *authority {
	t.Helper()
	d := t.TempDir()
	a := &authority{tokens: map[auth.Role]string{}, pubDir: filepath.Join(d, "pub")}
	if err := os.Mkdir(a.pubDir, 0o755); err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Open(filepath.Join(d, "moh.db"), &registry.Options{Actor: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { reg.Close() })
	if err := reg.AddIssuers(cowin); err != nil {
		t.Fatal(err)
	}
	a.reg = reg
	key, err := snapshot.GenerateKey("EdDSA")
	if err != nil {
		t.Fatal(err)
	}
	a.key = key
	tokensPath := filepath.Join(d, "tokens.json")
	for _, r := range auth.Roles() {
		tok, err := auth.AddToken(tokensPath, string(r)+"-app", r, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		a.tokens[r] = tok
	}
	tokens, err := auth.OpenTokens(tokensPath)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := service.New(service.Config{Backend: service.NewRegistryBackend(reg, &service.Publication{Dir: a.pubDir, Key: key}),
		Auth: &auth.Authenticator{Tokens: tokens}})
	if err != nil {
		t.Fatal(err)
	}
	count := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/status" {
			a.statuses.Add(1)
		}
		svc.ServeHTTP(w, r)
	})
	cert, keyFile, pool := tlsFiles(t)
	a.pool = pool
	srv, err := service.Listen(count, service.ServerOptions{Addr: "127.0.0.1:0", CertFile: cert, KeyFile: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	a.url = srv.URL()
	return a
}

func (a *authority) revoke(t *testing.T, id string, reason crl.Reason) {
	t.Helper()
	if _, err := a.reg.Revoke(context.Background(), registry.Request{Selector: registry.Selector{CertificateID: id}, Reason: reason, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
}

func (a *authority) client(t *testing.T, role auth.Role, o *online.Options) *online.Client {
	t.Helper()
	if o == nil {
		o = &online.Options{}
	}
	if o.Token == "" {
		o.Token = a.tokens[role]
	}
	if o.RootCAs == nil {
		o.RootCAs = a.pool
	}
	c, err := online.New(a.url, o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// tlsFiles writes a self-signed certificate for 127.0.0.1.
func tlsFiles(t *testing.T) (cert, key string, pool *x509.CertPool) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "authority"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	d := t.TempDir()
	cert, key = filepath.Join(d, "cert.pem"), filepath.Join(d, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	c, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(c)
	return cert, key, pool
}

// Without a list, the endpoint answers, marked online and conclusive.
func TestFallbackWithoutList(t *testing.T) {
	a := startAuthority(t)
	a.revoke(t, "R-1", crl.ReasonTampering)
	f := a.client(t, auth.RoleReader, nil).Fallback(context.Background(), nil)
	at := time.Now()
	r, err := f.Check(cowin, "R-1", at)
	if err != nil || r.Status != store.Revoked || r.Source != store.SourceOnline || r.Freshness != store.Fresh || !r.Conclusive() ||
		r.Entry == nil || r.Entry.Reason != crl.ReasonTampering {
		t.Fatalf("revoked: %+v %v", r, err)
	}
	r, err = f.Check(cowin, "FINE-1", at)
	if err != nil || r.Status != store.NotRevoked || r.Source != store.SourceOnline || !r.Conclusive() {
		t.Fatalf("not revoked: %+v %v", r, err)
	}
	// An issuer the authority does not cover: no answer, and why.
	r, err = f.Check("https://elsewhere.example/", "X-1", at)
	if err != nil || r.Status != store.Unknown || r.Conclusive() || !strings.Contains(r.Reason(), "online status: the authority's list does not cover issuer") {
		t.Fatalf("uncovered issuer: %+v %v (%s)", r, err, r.Reason())
	}
}

// A fresh list answers: the endpoint is never asked, even when it would
// say otherwise. A stale list's "not revoked" is not conclusive: the
// endpoint is asked, and its answer marked online.
func TestFallbackNeverOverridesFreshList(t *testing.T) {
	a := startAuthority(t)
	now := time.Now().UTC().Truncate(time.Second)
	t0 := now.Add(-10 * time.Minute)
	if _, err := a.reg.Publish(a.pubDir, a.key.(jwk.Key), &registry.PublishOptions{Publisher: "ministry", Now: t0, NextUpdate: time.Hour}); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "store.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	set, err := snapshot.PublicSet(a.key.(jwk.Key))
	if err != nil {
		t.Fatal(err)
	}
	s, err := crlsync.New(st, a.pubDir, snapshot.KeysFromSet(set), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	a.revoke(t, "LATE-1", crl.ReasonDataError) // after the list was published
	f := a.client(t, auth.RoleReader, nil).Fallback(context.Background(), st)
	if _, ok := f.(verify.SHCLists); !ok {
		t.Error("the fallback hides the store's SMART Health Cards lists")
	}
	r, err := f.Check(cowin, "LATE-1", now)
	if err != nil || r.Status != store.NotRevoked || r.Source != "" || r.Freshness != store.Fresh || a.statuses.Load() != 0 {
		t.Fatalf("fresh list: %+v %v, %d status requests", r, err, a.statuses.Load())
	}
	later := now.Add(2 * time.Hour)
	r, err = f.Check(cowin, "LATE-1", later)
	if err != nil || r.Status != store.Revoked || r.Source != store.SourceOnline || !r.Conclusive() || a.statuses.Load() != 1 {
		t.Fatalf("stale list: %+v %v, %d status requests", r, err, a.statuses.Load())
	}
}

// The verdict marks an online answer: revocation.source "online",
// freshness fresh, known.
func TestVerdictOnline(t *testing.T) {
	ts, err := trust.Load("../../testdata/trust.json")
	if err != nil {
		t.Fatal(err)
	}
	payload, err := os.ReadFile("../../testdata/divoc/payloads/valid.zip")
	if err != nil {
		t.Fatal(err)
	}
	a := startAuthority(t)
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	v := verify.New(ts, a.client(t, auth.RoleReader, nil).Fallback(context.Background(), nil), nil)
	res := v.VerifyPayload(payload, at)
	if res.Status != verify.StatusValid || !res.Revocation.Known || res.Revocation.Source != verify.SourceOnline || res.Revocation.Freshness != "fresh" {
		t.Fatalf("before the revocation: %s %+v", res.Status, res.Revocation)
	}
	if _, err := a.reg.Revoke(context.Background(), registry.Request{Selector: registry.Selector{CertificateID: "8000000000011"},
		Reason: crl.ReasonTampering, At: at.Add(-24 * time.Hour), Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	res = v.VerifyPayload(payload, at)
	if res.Status != verify.StatusRevoked || res.Revocation.Source != verify.SourceOnline || res.Revocation.Reason != "tampering" {
		t.Fatalf("after the revocation: %s %+v", res.Status, res.Revocation)
	}
	// Without the reader role the endpoint refuses: the status stays
	// unknown, and the detail says why.
	v = verify.New(ts, a.client(t, auth.RolePublisher, nil).Fallback(context.Background(), nil), nil)
	res = v.VerifyPayload(payload, at)
	if res.Status != verify.StatusValid || res.Revocation.Known || !strings.Contains(res.Revocation.Explanation, "reader role") {
		t.Fatalf("wrong role: %s %+v", res.Status, res.Revocation)
	}
}

// An endpoint that does not answer costs one timeout: later checks do
// not ask, and say why.
func TestFallbackTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close() // read nothing, answer nothing
		}
	}()
	c, err := online.New("http://"+ln.Addr().String(), &online.Options{Timeout: 200 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Fallback(context.Background(), nil)
	r, err := f.Check(cowin, "A-1", time.Now())
	if err != nil || r.Status != store.Unknown || !strings.Contains(r.Reason(), "online status: no answer within 200ms") {
		t.Fatalf("first: %+v %v (%s)", r, err, r.Reason())
	}
	r, _ = f.Check(cowin, "A-2", time.Now())
	if !strings.Contains(r.Reason(), "online status: not asked: no answer within") {
		t.Fatalf("second: %s", r.Reason())
	}
	// The caller's context bounds it too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, _ = c.Fallback(ctx, nil).Check(cowin, "A-3", time.Now())
	if r.Conclusive() || r.OnlineError == "" {
		t.Fatalf("cancelled: %+v", r)
	}
}

// A server that lies or never stops sending is refused.
func TestFallbackBadAnswers(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       string
	}{
		{"another certificate", `{"issuer":"` + cowin + `","certificate_id":"OTHER","status":"not_revoked","at":"2026-06-01T00:00:00Z"}`, "another certificate"},
		{"another issuer", `{"issuer":"https://x.example/","certificate_id":"A-1","status":"not_revoked","at":"2026-06-01T00:00:00Z"}`, "another issuer"},
		{"unknown status", `{"issuer":"` + cowin + `","certificate_id":"A-1","status":"fine","at":"2026-06-01T00:00:00Z"}`, "unknown status"},
		{"revoked without a date", `{"issuer":"` + cowin + `","certificate_id":"A-1","status":"revoked","reason":"tampering","at":"2026-06-01T00:00:00Z"}`, "without revoked_at"},
		{"too large", `{"issuer":"` + strings.Repeat("x", online.MaxResponseBytes) + `"}`, "larger than"},
		{"not JSON", `<html>`, "not the JSON"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Write([]byte(c.body))
			})}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go srv.Serve(ln)
			defer srv.Close()
			cl, err := online.New("http://"+ln.Addr().String(), nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = cl.Status(context.Background(), cowin, "A-1", time.Now())
			if !errors.Is(err, online.ErrAnswer) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want %q", err, c.want)
			}
			r, _ := cl.Fallback(context.Background(), nil).Check(cowin, "A-1", time.Now())
			if r.Conclusive() || r.Source != "" {
				t.Errorf("a bad answer was used: %+v", r)
			}
		})
	}
}

// HTTPS is required except to loopback; redirects are not followed.
func TestURLs(t *testing.T) {
	for _, u := range []string{"http://crl.example.org", "ftp://crl.example.org/", "crl.example.org", "https://user:pw@crl.example.org", "http://10.0.0.1:80"} {
		if _, err := online.New(u, nil); !errors.Is(err, online.ErrURL) {
			t.Errorf("%s: %v, want ErrURL", u, err)
		}
	}
	for _, u := range []string{"https://crl.example.org", "https://crl.example.org:8443/api/", "http://127.0.0.1:8080", "http://[::1]:8080", "http://localhost:1"} {
		c, err := online.New(u, nil)
		if err != nil || !strings.HasSuffix(c.URL(), "/v1/status") {
			t.Errorf("%s: %v", u, err)
		}
	}
	srv := &http.Server{Handler: http.RedirectHandler("http://crl.example.org/v1/status", http.StatusFound)}
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	go srv.Serve(ln)
	defer srv.Close()
	c, _ := online.New("http://"+ln.Addr().String(), nil)
	if _, err := c.Status(context.Background(), cowin, "A-1", time.Now()); err == nil || !strings.Contains(err.Error(), "HTTP 302") {
		t.Errorf("redirect: %v", err)
	}
}
