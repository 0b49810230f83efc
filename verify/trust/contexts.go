package trust

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxContextSize bounds one JSON-LD context document embedded in a store.
// The contexts DIVOC deployments use are 2 to 8 KiB.
const MaxContextSize = 64 << 10

// maxURL bounds a context URL.
const maxURL = 2048

// Context maps a JSON-LD context URL that credentials name to the document
// it stands for, for a deployment whose URL the verifier does not bundle:
// either the document of a bundled URL (SameAs), or a document embedded in
// the store, byte for byte as it was added. Exactly one of the two is set.
//
// The URL itself is not signed, only what its document expands to, so a
// mapping decides what credentials naming the URL mean: add one only for a
// document known to be the deployment's.
type Context struct {
	// URL is the mapping's name in the store.
	URL string `json:"-"`
	// SameAs is a bundled context URL whose document URL stands for.
	SameAs string `json:"same_as,omitempty"`
	// Document is the context document (a JSON object with "@context").
	Document string `json:"document,omitempty"`
	// SHA256 is the hex SHA-256 of Document, checked when the store is
	// read.
	SHA256 string `json:"sha256,omitempty"`
	// Source names the file the document was added from, for display.
	Source string `json:"source,omitempty"`
}

// MapContext maps url to the document of the bundled context URL sameAs,
// replacing any earlier mapping of url, and reports whether url is new. The
// store does not know which URLs a verifier bundles: the caller checks
// sameAs (a verifier that does not bundle it treats url as unknown).
func (s *Store) MapContext(url, sameAs string) (bool, error) {
	if err := checkContextURL(url); err != nil {
		return false, err
	}
	if err := checkContextURL(sameAs); err != nil {
		return false, fmt.Errorf("same as: %w", err)
	}
	if sameAs == url {
		return false, fmt.Errorf("%w: context %s mapped to itself", ErrMalformed, url)
	}
	return s.putContext(&Context{URL: url, SameAs: sameAs})
}

// EmbedContext maps url to doc, a JSON-LD context document embedded in the
// store byte for byte, replacing any earlier mapping of url. source names
// where it came from (a file name), for display. It returns the mapping as
// stored and whether url is new.
func (s *Store) EmbedContext(url string, doc []byte, source string) (Context, bool, error) {
	if err := checkContextURL(url); err != nil {
		return Context{}, false, err
	}
	if err := checkContextDocument(url, doc); err != nil {
		return Context{}, false, err
	}
	if !utf8.ValidString(source) || len(source) > maxURL {
		source = ""
	}
	sum := sha256.Sum256(doc)
	c := &Context{URL: url, Document: string(doc), SHA256: hex.EncodeToString(sum[:]), Source: source}
	added, err := s.putContext(c)
	return *c, added, err
}

func (s *Store) putContext(c *Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, had := s.contexts[c.URL]
	if s.contexts == nil {
		s.contexts = make(map[string]*Context)
	}
	s.contexts[c.URL] = c
	return !had, nil
}

// RemoveContext removes the mapping of url.
func (s *Store) RemoveContext(url string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.contexts[url]; !ok {
		return fmt.Errorf("%w: %q", ErrUnknownContext, url)
	}
	delete(s.contexts, url)
	return nil
}

// Contexts returns the context mappings, sorted by URL.
func (s *Store) Contexts() []Context {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Context, 0, len(s.contexts))
	for _, c := range s.contexts {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Context) int { return strings.Compare(a.URL, b.URL) })
	return out
}

// checkContext checks a mapping read from a store file.
func checkContext(u string, c *Context) error {
	if c == nil {
		return fmt.Errorf("%w: trust store: context %s is null", ErrMalformed, u)
	}
	if err := checkContextURL(u); err != nil {
		return err
	}
	switch {
	case c.SameAs != "" && c.Document == "" && c.SHA256 == "" && c.Source == "":
		if err := checkContextURL(c.SameAs); err != nil {
			return fmt.Errorf("trust store: context %s same as: %w", u, err)
		}
		if c.SameAs == u {
			return fmt.Errorf("%w: trust store: context %s mapped to itself", ErrMalformed, u)
		}
	case c.SameAs == "" && c.Document != "":
		if err := checkContextDocument(u, []byte(c.Document)); err != nil {
			return fmt.Errorf("trust store: %w", err)
		}
		sum := sha256.Sum256([]byte(c.Document))
		if c.SHA256 != hex.EncodeToString(sum[:]) {
			return fmt.Errorf("%w: trust store: context %s: its document's SHA-256 is %x, the store says %q (edited by hand?)", ErrMalformed, u, sum, c.SHA256)
		}
	default:
		return fmt.Errorf("%w: trust store: context %s needs either same_as or a document (with its sha256)", ErrMalformed, u)
	}
	c.URL = u
	return nil
}

// checkContextURL refuses what no credential's @context could name: the
// URL must be absolute (a scheme and a host), printable and bounded.
func checkContextURL(s string) error {
	if s == "" || len(s) > maxURL || !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return fmt.Errorf("%w: context URL %q", ErrMalformed, s)
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" || (u.Host == "" && u.Opaque == "") {
		return fmt.Errorf("%w: context URL %q is not an absolute URL", ErrMalformed, s)
	}
	return nil
}

// checkContextDocument checks that doc is one JSON object holding
// "@context", within MaxContextSize. What it defines is checked by the
// verifier that processes it.
func checkContextDocument(u string, doc []byte) error {
	if len(doc) > MaxContextSize {
		return fmt.Errorf("%w: context document for %s is %d bytes, the limit is %d", ErrTooLarge, u, len(doc), MaxContextSize)
	}
	if !utf8.Valid(doc) {
		return fmt.Errorf("%w: context document for %s is not UTF-8", ErrMalformed, u)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	var m map[string]json.RawMessage
	if err := dec.Decode(&m); err != nil {
		return fmt.Errorf("%w: context document for %s is not a JSON object: %v", ErrMalformed, u, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: context document for %s has data after its JSON object", ErrMalformed, u)
	}
	if _, ok := m["@context"]; !ok {
		return fmt.Errorf("%w: context document for %s has no \"@context\"", ErrMalformed, u)
	}
	return nil
}
