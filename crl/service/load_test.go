package service_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/crl/service"
	"github.com/crlverify/crlverify/crl/service/auth"
	"github.com/crlverify/crlverify/snapshot"
)

// loadClient is a client over TLS: HTTP/2 (every request multiplexed on
// a connection or a few), or HTTP/1.1 with up to conns connections (one
// request per connection at a time).
func loadClient(s *testServer, conns int, h2 bool) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: s.certs.pool},
		MaxConnsPerHost:     conns,
		MaxIdleConnsPerHost: conns,
	}
	if h2 {
		tr.ForceAttemptHTTP2 = true
		tr.MaxConnsPerHost = 0
	} else {
		tr.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

// warm opens the clients' connections (TLS handshakes) with n concurrent
// health checks.
func warm(tb testing.TB, s *testServer, n int, clients ...*http.Client) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := clients[i%len(clients)].Get(s.url + "/healthz")
			if err != nil {
				tb.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	wg.Wait()
}

// revokeLoad sends n revoke requests of distinct certificate ids (prefix
// and a number), concurrency of them in flight at any time, worker i
// through clients[i%len(clients)]. It returns the ids acknowledged with a
// change and each request's latency, and calls acked (if not nil) after
// each acknowledgement.
func revokeLoad(tb testing.TB, s *testServer, clients []*http.Client, token, prefix string, n, concurrency int, acked func(int)) (ids []string, lat []time.Duration) {
	var next atomic.Int64
	var mu sync.Mutex
	lat = make([]time.Duration, 0, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for w := range concurrency {
		wg.Add(1)
		client := clients[w%len(clients)]
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				id := fmt.Sprintf("%s%07d", prefix, i)
				body := `{"certificate_id":"` + id + `","reason":"dataError"}`
				req, _ := http.NewRequest("POST", s.url+"/v1/revoke", stringsReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if failed.Add(1) < 5 {
						tb.Logf("revoke %s: %v", id, err)
					}
					continue
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				d := time.Since(start)
				if resp.StatusCode != http.StatusOK {
					if failed.Add(1) < 5 {
						tb.Logf("revoke %s: %d %s", id, resp.StatusCode, b)
					}
					continue
				}
				w := decodeTB[writeAnswer](tb, string(b))
				mu.Lock()
				lat = append(lat, d)
				if len(w.Changed) == 1 && w.Changed[0].CertificateID == id {
					ids = append(ids, id)
					if acked != nil {
						acked(len(ids))
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		tb.Errorf("%d of %d revoke requests failed", f, n)
	}
	return ids, lat
}

func decodeTB[T any](tb testing.TB, body string) T { return decode[T](tb, body) }

// The load test's size: 10,000 revoke requests, each its own request,
// 256 in flight at a time, half over HTTP/2 (one connection) and half over
// HTTP/1.1 connections; a publication every publishEvery acknowledgements
// runs meanwhile. The race detector's limit of 8,128 live goroutines bounds
// how many can be in flight in one process. make test runs it in full;
// -short runs a fifth.
const (
	loadRequests    = 10_000
	loadConcurrency = 256
	publishEvery    = 1_000
)

// patient gives the server read and write timeouts no request of a load
// test reaches, however busy the machine: with the defaults a request
// that waits over 30 s for its durable commit (the race detector on a
// loaded machine) is cut, and the test would judge the machine, not the
// service. The timeouts have their own tests.
func patient(_ *service.Config, o *service.ServerOptions) {
	o.ReadTimeout, o.WriteTimeout = 30*time.Minute, 30*time.Minute
}

// Every acknowledged revocation of a concurrent load, with publications
// running meanwhile, is in the registry, its chronological list, the audit
// trail and the next full snapshot, exactly once; the audit chain holds.
func TestLoadRevokeWhilePublishing(t *testing.T) {
	n := loadRequests
	if testing.Short() {
		n /= 5
	}
	a := newAuthority(t)
	s := startServer(t, a, patient)
	h1, h2 := loadClient(s, loadConcurrency/2, false), loadClient(s, 1, true)
	defer h1.Transport.(*http.Transport).CloseIdleConnections()
	defer h2.Transport.(*http.Transport).CloseIdleConnections()
	publish := make(chan struct{}, 1)
	done := make(chan struct{})
	var published atomic.Int64
	var pubWG sync.WaitGroup
	pubWG.Add(1)
	go func() {
		defer pubWG.Done()
		for {
			select {
			case <-done:
				return
			case <-publish:
			}
			code, body := s.do(t, "POST", "/v1/publish", a.tokens[auth.RolePublisher], nil)
			if code != http.StatusOK {
				t.Errorf("publish during the load: %d %s", code, body)
				return
			}
			published.Add(1)
		}
	}()
	start := time.Now()
	acked, lat := revokeLoad(t, s, []*http.Client{h1, h2}, a.tokens[auth.RoleRevoker], "L-", n, loadConcurrency, func(k int) {
		if k%publishEvery == 0 {
			select {
			case publish <- struct{}{}:
			default:
			}
		}
	})
	elapsed := time.Since(start)
	close(done)
	pubWG.Wait()
	t.Logf("%d revocations acknowledged in %v (%.0f/s), p99 %v, %d publications meanwhile",
		len(acked), elapsed.Round(time.Millisecond), float64(len(acked))/elapsed.Seconds(), percentile(lat, 0.99), published.Load())
	if len(acked) != n {
		t.Fatalf("%d of %d revocations acknowledged", len(acked), n)
	}
	if published.Load() == 0 {
		t.Error("no publication ran during the load")
	}

	// The registry: each acknowledged id revoked (its status, for a
	// sample), listed once in its chronological list.
	for i := 0; i < len(acked); i += 97 {
		if st, err := a.reg.Status(cowin, acked[i], time.Time{}); err != nil || st.State != registry.StateRevoked {
			t.Fatalf("acknowledged %s is not revoked in the registry (%v)", acked[i], err)
		}
	}
	listed := map[string]int{}
	q := registry.RevocationQuery{Limit: registry.MaxRevocationsPage}
	for {
		page, next, err := a.reg.Revocations(q)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page {
			listed[r.CertificateID]++
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	// The audit trail: one revoke record per request, by its actor.
	audited := map[string]int{}
	err := a.reg.AuditList(registry.AuditFilter{Action: registry.ActionRevoke}, func(r *registry.AuditRecord) error {
		audited[r.CertificateID]++
		if r.Actor != "token:revoker-svc" || r.ItemCount != 1 {
			t.Errorf("audit record %d: actor %q, %d items", r.Seq, r.Actor, r.ItemCount)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != n || len(audited) != n {
		t.Errorf("%d ids in the chronological list, %d in the audit trail, want %d", len(listed), len(audited), n)
	}
	for _, id := range acked {
		if listed[id] != 1 || audited[id] != 1 {
			t.Fatalf("%s is %d times in the chronological list and %d times in the audit trail", id, listed[id], audited[id])
		}
	}
	if _, err := a.reg.VerifyAudit(); err != nil {
		t.Errorf("audit chain after the load: %v", err)
	}
	// The next full snapshot lists each exactly once.
	code, body := s.do(t, "POST", "/v1/publish", a.tokens[auth.RolePublisher], nil)
	res := decode[registry.PublishResult](t, body)
	if code != 200 {
		t.Fatalf("final publish: %d %s", code, body)
	}
	keys := readFullSnapshot(t, a, res.Full.Name)
	if len(keys) != n || res.ListCount != uint64(n) {
		t.Errorf("the full snapshot lists %d entries (says %d), want %d", len(keys), res.ListCount, n)
	}
	for _, id := range acked {
		if keys[crl.KeyOf(cowin, id)] != 1 {
			t.Fatalf("%s is %d times in the snapshot", id, keys[crl.KeyOf(cowin, id)])
		}
	}
}

// readFullSnapshot verifies a full snapshot of the publication and counts
// its keys.
func readFullSnapshot(t testing.TB, a *authority, name string) map[crl.Key]int {
	t.Helper()
	f, err := os.Open(filepath.Join(a.pubDir, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	set, err := snapshot.PublicSet(a.key.(jwk.Key))
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(f)
	h, err := snapshot.ReadHeader(br, snapshot.KeysFromSet(set), nil)
	if err != nil {
		t.Fatal(err)
	}
	body := snapshot.NewBodyReader(br, h, nil)
	keys := map[crl.Key]int{}
	for {
		e, _, err := body.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		keys[e.Key]++
	}
	return keys
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// benchConcurrency is how many revoke requests the benchmarks keep in
// flight: a platform's burst, enough for the registry's group commit to
// fill its commits.
const benchConcurrency = 256

// BenchmarkRevokeAPI measures acknowledged durable revocations per second
// through the API over HTTPS on loopback, one certificate per request,
// benchConcurrency requests in flight, and the 99th percentile latency of a
// request: over HTTP/2 (one connection, the requests multiplexed) and over
// HTTP/1.1 (benchConcurrency connections). Client and server share the
// machine; the log goes to a file, as serve writes it.
func BenchmarkRevokeAPI(b *testing.B) {
	for _, h2 := range []bool{true, false} {
		name := "http1.1"
		if h2 {
			name = "http2"
		}
		b.Run(name, func(b *testing.B) {
			a := newAuthority(b)
			s := startServer(b, a, func(c *service.Config, _ *service.ServerOptions) {
				f, err := os.Create(filepath.Join(b.TempDir(), "serve.log"))
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { f.Close() })
				c.Logger = slog.New(slog.NewJSONHandler(f, nil))
			})
			client := loadClient(s, benchConcurrency, h2)
			defer client.Transport.(*http.Transport).CloseIdleConnections()
			warm(b, s, benchConcurrency, client)
			b.ResetTimer()
			start := time.Now()
			acked, lat := revokeLoad(b, s, []*http.Client{client}, a.tokens[auth.RoleRevoker], fmt.Sprintf("B%d-", b.N), b.N, benchConcurrency, nil)
			elapsed := time.Since(start)
			b.StopTimer()
			b.ReportMetric(float64(len(acked))/elapsed.Seconds(), "revocations/s")
			b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
		})
	}
}

// BenchmarkRevokeBackend is BenchmarkRevokeAPI without HTTP:
// benchConcurrency goroutines calling the Backend, to tell the registry's
// share of the time from the service's.
func BenchmarkRevokeBackend(b *testing.B) {
	a := newAuthority(b)
	var next atomic.Int64
	var wg sync.WaitGroup
	var mu sync.Mutex
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	start := time.Now()
	for range benchConcurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(b.N) {
					return
				}
				req := registry.Request{Selector: registry.Selector{CertificateID: fmt.Sprintf("D%d-%07d", b.N, i)},
					Reason: crl.ReasonDataError, Actor: "token:bench"}
				t0 := time.Now()
				if _, err := a.backend.Revoke(context.Background(), req); err != nil {
					b.Error(err)
					return
				}
				d := time.Since(t0)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "revocations/s")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
}
