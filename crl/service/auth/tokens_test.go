package auth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl/service/auth"
)

func TestTokenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	now := time.Date(2026, 1, 5, 10, 0, 0, 0, time.UTC)
	tok, err := auth.AddToken(path, "vaccination-platform", auth.RoleRevoker, now)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(tok, auth.TokenPrefix) || len(tok) != len(auth.TokenPrefix)+43 {
		t.Errorf("token %q", tok)
	}
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("token file mode %v %v", fi.Mode(), err)
	}
	b, _ := os.ReadFile(path)
	if strings.Contains(string(b), tok) || strings.Contains(string(b), tok[len(auth.TokenPrefix):]) {
		t.Fatal("the token file holds the token")
	}
	if _, err := auth.AddToken(path, "vaccination-platform", auth.RoleReader, now); !errors.Is(err, auth.ErrTokenExists) {
		t.Errorf("duplicate name: %v", err)
	}
	for _, bad := range []string{"", "-x", "a b", "a/b", strings.Repeat("a", 65), "ünï"} {
		if _, err := auth.AddToken(path, bad, auth.RoleReader, now); err == nil {
			t.Errorf("name %q accepted", bad)
		}
	}
	if _, err := auth.AddToken(path, "x", auth.Role("admin"), now); err == nil {
		t.Error("role admin accepted")
	}
	reader, _ := auth.AddToken(path, "verifier-app", auth.RoleReader, now)
	list, err := auth.ListTokens(path)
	if err != nil || len(list) != 2 || list[0].Name != "vaccination-platform" || list[0].Role != auth.RoleRevoker ||
		!list[0].CreatedAt.Equal(now) || !strings.HasPrefix(list[0].Hash, "sha256:") {
		t.Fatalf("list: %+v %v", list, err)
	}

	ts, err := auth.OpenTokens(path)
	if err != nil {
		t.Fatal(err)
	}
	p, err := ts.Authenticate(tok)
	if err != nil || p.Name != "token:vaccination-platform" || !p.Has(auth.RoleRevoker) || p.Has(auth.RoleReader) {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
	for _, bad := range []string{tok + "x", tok[:len(tok)-1], auth.TokenPrefix, strings.ToUpper(tok)} {
		if _, err := ts.Authenticate(bad); !errors.Is(err, auth.ErrBadCredentials) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	// Revocation and additions take effect without a restart.
	if err := auth.RevokeToken(path, "vaccination-platform"); err != nil {
		t.Fatal(err)
	}
	if err := auth.RevokeToken(path, "vaccination-platform"); !errors.Is(err, auth.ErrUnknownToken) {
		t.Errorf("revoke twice: %v", err)
	}
	if _, err := ts.Authenticate(tok); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("revoked token: %v", err)
	}
	late, _ := auth.AddToken(path, "late", auth.RolePublisher, now)
	if p, err := ts.Authenticate(late); err != nil || !p.Has(auth.RolePublisher) {
		t.Errorf("token added while running: %+v %v", p, err)
	}
	// A damaged file fails closed, and recovers when mended.
	good, _ := os.ReadFile(path)
	os.WriteFile(path, good[:len(good)/2], 0o600)
	if _, err := ts.Authenticate(reader); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("damaged token file: %v", err)
	}
	os.WriteFile(path, good, 0o600)
	if _, err := ts.Authenticate(reader); err != nil {
		t.Errorf("mended token file: %v", err)
	}
	// Anyone who may write the file may grant themselves a role.
	os.Chmod(path, 0o620)
	if _, err := ts.Authenticate(reader); !errors.Is(err, auth.ErrBadCredentials) {
		t.Errorf("group-writable token file: %v", err)
	}
	if _, err := auth.OpenTokens(path); !errors.Is(err, auth.ErrTokenFile) {
		t.Errorf("open a group-writable token file: %v", err)
	}
	os.Chmod(path, 0o600)
	if _, err := auth.OpenTokens(filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Error("a missing token file opened")
	}
}

func TestTokenFileRefusesBadContent(t *testing.T) {
	dir := t.TempDir()
	hash := "sha256:" + strings.Repeat("ab", 32)
	for i, content := range []string{
		`{"version":2,"tokens":[]}`,
		`{"version":1,"tokens":[{"name":"a","role":"revoker","hash":"` + hash + `"},{"name":"a","role":"reader","hash":"` + hash + `"}]}`,
		`{"version":1,"tokens":[{"name":"a","role":"root","hash":"` + hash + `"}]}`,
		`{"version":1,"tokens":[{"name":"a","role":"reader","hash":"md5:00"}]}`,
		`{"version":1,"tokens":[{"name":"a","role":"reader","hash":"` + strings.ToUpper(hash) + `"}]}`,
		`{"version":1,"tokens":[],"admin":true}`,
		`[]`,
	} {
		path := filepath.Join(dir, fmt.Sprint(i))
		os.WriteFile(path, []byte(content), 0o600)
		if _, err := auth.OpenTokens(path); !errors.Is(err, auth.ErrTokenFile) {
			t.Errorf("%s: %v", content, err)
		}
	}
}

// Concurrent additions under the file's lock all survive.
func TestTokenFileConcurrentAdds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.json")
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := auth.AddToken(path, fmt.Sprintf("t%d", i), auth.RoleReader, time.Now()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	list, err := auth.ListTokens(path)
	if err != nil || len(list) != 16 {
		t.Fatalf("%d tokens after 16 concurrent adds: %v", len(list), err)
	}
	b, _ := os.ReadFile(path)
	var f map[string]any
	if json.Unmarshal(b, &f) != nil || f["version"] != float64(1) {
		t.Errorf("file %s", b)
	}
}

func TestBearerToken(t *testing.T) {
	for _, c := range []struct {
		header []string
		want   error
	}{
		{nil, auth.ErrNoCredentials},
		{[]string{"Bearer "}, auth.ErrNoCredentials},
		{[]string{"Basic dTpw"}, auth.ErrBadCredentials},
		{[]string{"Bearer a", "Bearer b"}, auth.ErrBadCredentials},
		{[]string{"Bearer " + strings.Repeat("a", auth.MaxBearerBytes+1)}, auth.ErrBadCredentials},
		{[]string{"bearer crlv_x"}, nil},
	} {
		r, _ := http.NewRequest("GET", "/", nil)
		for _, h := range c.header {
			r.Header.Add("Authorization", h)
		}
		if _, err := auth.BearerToken(r); !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
			t.Errorf("%q: %v, want %v", c.header, err, c.want)
		}
	}
}
