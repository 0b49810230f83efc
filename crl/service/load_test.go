package service_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
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
	"github.com/crlverify/crlverify/crl/service/auth"
	"github.com/crlverify/crlverify/snapshot"
)

// loadClient is an HTTP/1.1 client over TLS with a bounded number of
// connections.
func loadClient(s *testServer, conns int) *http.Client {
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: s.certs.pool},
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1: one request per connection at a time
		MaxConnsPerHost:     conns,
		MaxIdleConnsPerHost: conns,
	}
	return &http.Client{Transport: tr, Timeout: 5 * time.Minute}
}

// revokeLoad sends n revoke requests of distinct certificate ids from
// workers goroutines, and returns the ids acknowledged with a change and
// each request's latency.
// Every publishEvery acknowledgements it signals on publish, if not nil.
func revokeLoad(tb testing.TB, s *testServer, token string, prefix string, n, workers int, publish chan<- struct{}) (acked []string, lat []time.Duration) {
	client := loadClient(s, workers)
	defer client.Transport.(*http.Transport).CloseIdleConnections()
	var next atomic.Int64
	var mu sync.Mutex
	lat = make([]time.Duration, 0, n)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				id := fmt.Sprintf("%s%07d", prefix, i)
				body := fmt.Sprintf(`{"certificate_id":%q,"reason":"dataError"}`, id)
				req, _ := http.NewRequest("POST", s.url+"/v1/revoke", stringsReader(body))
				req.Header.Set("Authorization", "Bearer "+token)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
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
				if len(w.Changed) == 1 {
					acked = append(acked, id)
					if publish != nil && len(acked)%publishEvery == 0 {
						select {
						case publish <- struct{}{}:
						default:
						}
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
	return acked, lat
}

func decodeTB[T any](tb testing.TB, body string) T { return decode[T](tb, body) }

// loadRequests is the size of the load test: 10,000 revocations, each its
// own request, over 50 connections. It runs in make test; the registry
// commits each request durably, so its time is the registry's.
const loadRequests = 10_000

// publishEvery is how many acknowledged revocations of the load test
// trigger a publication, which runs while the requests go on.
const publishEvery = 500

// Every acknowledged revocation of a concurrent load, with publications
// running meanwhile, is in the registry, the audit trail and the next full
// snapshot, exactly once.
func TestLoadRevokeWhilePublishing(t *testing.T) {
	n := loadRequests
	if testing.Short() {
		n = 1000
	}
	a := newAuthority(t)
	s := startServer(t, a)
	stop := make(chan struct{})
	publish := make(chan struct{}, 1)
	var published atomic.Int64
	var pubWG sync.WaitGroup
	pubWG.Add(1)
	go func() {
		defer pubWG.Done()
		for {
			select {
			case <-stop:
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
	acked, lat := revokeLoad(t, s, a.tokens[auth.RoleRevoker], "L-", n, 50, publish)
	elapsed := time.Since(start)
	close(stop)
	pubWG.Wait()
	t.Logf("%d revocations acknowledged in %v (%.0f/s), p99 %v, %d publications meanwhile",
		len(acked), elapsed.Round(time.Millisecond), float64(len(acked))/elapsed.Seconds(), percentile(lat, 0.99), published.Load())
	if len(acked) != n {
		t.Fatalf("%d of %d revocations acknowledged", len(acked), n)
	}
	if published.Load() == 0 {
		t.Error("no publication ran during the load")
	}

	for _, id := range acked {
		if st, err := a.reg.Status(cowin, id, time.Time{}); err != nil || st.State != registry.StateRevoked {
			t.Fatalf("acknowledged %s is not in the registry (%v)", id, err)
		}
	}
	seen := map[string]int{}
	a.reg.Audit(0, func(r *registry.AuditRecord) error {
		if r.Action == registry.ActionRevoke {
			seen[r.CertificateID]++
		}
		return nil
	})
	for _, id := range acked {
		if seen[id] != 1 {
			t.Fatalf("%s is %d times in the audit trail", id, seen[id])
		}
	}
	// The next full snapshot lists each exactly once.
	code, body := s.do(t, "POST", "/v1/publish", a.tokens[auth.RolePublisher], nil)
	res := decode[registry.PublishResult](t, body)
	if code != 200 {
		t.Fatalf("final publish: %d %s", code, body)
	}
	keys := readFullSnapshot(t, a, res.Full.Name)
	if len(keys) != n {
		t.Errorf("the full snapshot lists %d entries, want %d", len(keys), n)
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

// BenchmarkRevokeAPI measures acknowledged durable revocations per second
// through the API over TLS on loopback, 50 connections, one certificate
// per request, and the 99th percentile latency.
func BenchmarkRevokeAPI(b *testing.B) {
	a := newAuthority(b)
	s := startServer(b, a)
	b.ResetTimer()
	start := time.Now()
	acked, lat := revokeLoad(b, s, a.tokens[auth.RoleRevoker], fmt.Sprintf("B%d-", b.N), b.N, 50, nil)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(len(acked))/elapsed.Seconds(), "revocations/s")
	b.ReportMetric(float64(percentile(lat, 0.99).Microseconds())/1000, "p99-ms")
}

// BenchmarkRevokeBackend is BenchmarkRevokeAPI without HTTP: 50
// goroutines calling the Backend, to tell the registry's share of the time
// from the service's.
func BenchmarkRevokeBackend(b *testing.B) {
	a := newAuthority(b)
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for range 50 {
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
				if _, err := a.backend.Revoke(context.Background(), req); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "revocations/s")
}
