package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

const (
	cowinV2   = "https://cowin.gov.in/credentials/vaccination/v2"
	ownV2     = "https://vc.health.example/credentials/vaccination/v2"
	ownTest   = "https://vc.health.example/credentials/test/v1"
	ownDocRaw = `{"@context": {"@version": 1.1, "name": "https://schema.org/name", "note": "<&>"}}` + "\n"
)

// TestContextsRoundTrip: mappings to a bundled URL and embedded documents
// are saved and read back as they were, the document byte for byte, and
// are policies of no issuer.
func TestContextsRoundTrip(t *testing.T) {
	s := New()
	if added, err := s.MapContext(ownV2, cowinV2); err != nil || !added {
		t.Fatalf("MapContext = %v, %v", added, err)
	}
	c, added, err := s.EmbedContext(ownTest, []byte(ownDocRaw), "test-context.json")
	if err != nil || !added {
		t.Fatalf("EmbedContext = %v, %v", added, err)
	}
	sum := sha256.Sum256([]byte(ownDocRaw))
	if c.SHA256 != hex.EncodeToString(sum[:]) || c.Source != "test-context.json" || c.Document != ownDocRaw {
		t.Errorf("embedded %+v", c)
	}
	path := filepath.Join(t.TempDir(), "trust.json")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	l, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got := l.Contexts()
	if len(got) != 2 || got[0].URL != ownTest || got[0].Document != ownDocRaw || got[1].URL != ownV2 || got[1].SameAs != cowinV2 {
		t.Fatalf("loaded %+v", got)
	}
	m1, _ := s.Marshal()
	m2, _ := l.Marshal()
	if !bytes.Equal(m1, m2) {
		t.Errorf("changed through save and load:\n%s\n---\n%s", m1, m2)
	}
	// Replacing and removing.
	if added, err := l.MapContext(ownTest, cowinV2); err != nil || added {
		t.Fatalf("replacing: %v, %v", added, err)
	}
	if err := l.RemoveContext(ownV2); err != nil {
		t.Fatal(err)
	}
	if err := l.RemoveContext(ownV2); !errors.Is(err, ErrUnknownContext) {
		t.Fatalf("removing twice: %v", err)
	}
	if got := l.Contexts(); len(got) != 1 || got[0].SameAs != cowinV2 || got[0].Document != "" {
		t.Fatalf("after replace and remove: %+v", got)
	}
}

func TestContextsRefused(t *testing.T) {
	s := New()
	for name, url := range map[string]string{
		"empty": "", "relative": "credentials/v1", "space": "https://a.example/x y", "newline": "https://a.example/\n",
		"no host": "https:///x", "too long": "https://a.example/" + strings.Repeat("a", maxURL),
	} {
		if _, err := s.MapContext(url, cowinV2); !errors.Is(err, ErrMalformed) {
			t.Errorf("MapContext(%s) = %v, want ErrMalformed", name, err)
		}
	}
	if _, err := s.MapContext(ownV2, ownV2); !errors.Is(err, ErrMalformed) {
		t.Errorf("mapped to itself: %v", err)
	}
	if _, err := s.MapContext(ownV2, "not a url"); !errors.Is(err, ErrMalformed) {
		t.Errorf("same as a non-URL: %v", err)
	}
	for name, tc := range map[string]struct {
		doc  string
		want error
	}{
		"not JSON":       {"{", ErrMalformed},
		"array":          {"[]", ErrMalformed},
		"null":           {"null", ErrMalformed},
		"no @context":    {`{"name": "x"}`, ErrMalformed},
		"trailing data":  {`{"@context": {}} {}`, ErrMalformed},
		"not UTF-8":      {"{\"@context\": \"\xff\"}", ErrMalformed},
		"too large":      {`{"@context": {}, "pad": "` + strings.Repeat("x", MaxContextSize) + `"}`, ErrTooLarge},
		"empty document": {"", ErrMalformed},
	} {
		if _, _, err := s.EmbedContext(ownTest, []byte(tc.doc), "x.json"); !errors.Is(err, tc.want) {
			t.Errorf("EmbedContext(%s) = %v, want %v", name, err, tc.want)
		}
	}
	if len(s.Contexts()) != 0 {
		t.Fatal("a refused mapping changed the store")
	}
}

// TestParseRefusesContexts: a store file whose mapping was edited by hand
// (a changed document, a missing digest, both kinds at once) is refused,
// never half used.
func TestParseRefusesContexts(t *testing.T) {
	s := New()
	s.EmbedContext(ownTest, []byte(ownDocRaw), "x.json")
	s.MapContext(ownV2, cowinV2)
	good, err := s.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(good); err != nil {
		t.Fatalf("the good file: %v", err)
	}
	for name, b := range map[string]string{
		"document changed": strings.Replace(string(good), `schema.org/name`, `schema.org/alternateName`, 1),
		"digest removed":   strings.Replace(string(good), `"sha256"`, `"sha256x"`, 1),
		"both kinds":       strings.Replace(string(good), `"same_as"`, `"document": "{\"@context\":{}}", "same_as"`, 1),
		"neither":          strings.Replace(string(good), `"same_as": "`+cowinV2+`"`, `"source": "x"`, 1),
		"null mapping":     `{"version":1,"issuers":{},"contexts":{"` + ownV2 + `":null}}`,
		"relative URL":     `{"version":1,"issuers":{},"contexts":{"v2":{"same_as":"` + cowinV2 + `"}}}`,
		"self":             `{"version":1,"issuers":{},"contexts":{"` + ownV2 + `":{"same_as":"` + ownV2 + `"}}}`,
		"unknown field":    strings.Replace(string(good), `"same_as"`, `"alias": "x", "same_as"`, 1),
	} {
		if b == string(good) {
			t.Fatalf("%s: nothing changed", name)
		}
		if _, err := Parse([]byte(b)); !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

// TestStoreSizeBound: a store that could not be read back is never
// written.
func TestStoreSizeBound(t *testing.T) {
	s := New()
	doc := []byte(`{"@context": {}, "pad": "` + strings.Repeat("x", MaxContextSize-100) + `"}`)
	for i := 0; i < MaxFileSize/MaxContextSize+1; i++ {
		if _, _, err := s.EmbedContext(fmt.Sprintf("%s%d", ownTest, i), doc, "pad.json"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Marshal(); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("got %v, want ErrTooLarge once the file would pass %d bytes", err, MaxFileSize)
	}
	path := filepath.Join(t.TempDir(), "trust.json")
	if err := s.Save(path); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Save = %v, want ErrTooLarge", err)
	}
}

// TestPolicyAcceptUnsignedHolder round-trips the policy and keeps it off
// by default.
func TestPolicyAcceptUnsignedHolder(t *testing.T) {
	s := New()
	k := newEdKey(t)
	s.Add("did:srilanka:moh", k.base58(), nil)
	if e, _ := s.Entry("did:srilanka:moh"); e.AcceptUnsignedHolder {
		t.Fatal("on by default")
	}
	if err := s.SetPolicy("did:srilanka:moh", Policy{AcceptUnsignedHolder: true}); err != nil {
		t.Fatal(err)
	}
	b, _ := s.Marshal()
	if !bytes.Contains(b, []byte(`"accept_unsigned_holder": true`)) {
		t.Fatalf("not in the file:\n%s", b)
	}
	l, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if e, _ := l.Entry("did:srilanka:moh"); !e.AcceptUnsignedHolder {
		t.Fatal("lost through save and load")
	}
}
