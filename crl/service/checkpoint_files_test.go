package service_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/crlverify/crlverify/snapshot"
)

// TestPublicationServesCheckpoints: the signed checkpoints are part of
// the publication (the proof, from the published files alone, that the
// audit trail was not rewritten): an auditor or a mirror fetching the
// publication from serve gets them like the snapshots.
func TestPublicationServesCheckpoints(t *testing.T) {
	a := newAuthority(t)
	s := startServer(t, a)
	name := snapshot.CheckpointName(1)
	want, err := os.ReadFile(filepath.Join(a.pubDir, name))
	if err != nil {
		t.Fatal(err)
	}
	resp := s.doResp(t, "GET", "/"+name, "", nil)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != string(want) || resp.Header.Get("ETag") == "" {
		t.Fatalf("GET /%s: %d %.80q", name, resp.StatusCode, body)
	}
	if code, _ := s.do(t, "GET", "/checkpoint-1.jws", "", nil); code != http.StatusNotFound {
		t.Errorf("GET /checkpoint-1.jws: %d, want 404", code)
	}
}
