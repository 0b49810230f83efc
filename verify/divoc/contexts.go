package divoc

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"

	"github.com/piprate/json-gold/ld"
)

// MaxContextSize bounds one JSON-LD context document given to [Contexts.Add].
const MaxContextSize = 256 << 10

//go:embed contexts/*.json
var bundledFS embed.FS

// bundled maps the context URLs DIVOC deployments' credentials name to the
// files under contexts/ that are their content. contexts/README.md gives
// the origin of every mapping; a URL is here only where its content is
// known to be that file.
var bundled = map[string]string{
	"https://www.w3.org/2018/credentials/v1": "credentials-v1.json",
	"https://w3id.org/security/v1":           "security-v1.json",
	"https://w3id.org/security/v2":           "security-v2.json",
	// India (CoWIN) and the DIVOC platform's defaults.
	"https://cowin.gov.in/credentials/vaccination/v1":     "vaccinationContext.json",
	"https://cowin.gov.in/credentials/vaccination/v2":     "vaccinationContextV2.json",
	"https://cowin.gov.in/credentials/testCertificate/v1": "testCertificateContext.json",
	"https://divoc.dev/credentials/vaccination/v1":        "vaccinationContext.json",
	"https://divoc.dev/credentials/vaccination/v2":        "vaccinationContextV2.json",
	// Sri Lanka, the Philippines, Indonesia. Jamaica's credentials name
	// CoWIN's v2 URL.
	"https://divoc.lgcc.gov.lk/credentials/vaccination/v1":     "vaccinationContextV2.json",
	"https://divoc.prod/vaccine/credentials/vaccination/v1":    "vaccinationContextV2.json",
	"https://www.pedulilindungi.id/credentials/vaccination/v2": "vaccinationContextV2.json",
}

// Bundled returns the bundled context URLs, each with the name of the
// file under contexts/ that is its content (several URLs share a file).
func Bundled() map[string]string { return maps.Clone(bundled) }

// IsBundled reports whether url is one of the bundled context URLs.
func IsBundled(url string) bool {
	_, ok := bundled[url]
	return ok
}

// securityV2 is the context the proof options are canonicalised under;
// credentialsV1 the context every credential names first.
const (
	securityV1    = "https://w3id.org/security/v1"
	securityV2    = "https://w3id.org/security/v2"
	credentialsV1 = "https://www.w3.org/2018/credentials/v1"
)

// Contexts maps JSON-LD context URLs to context documents. It is the only
// source of contexts when canonicalising: a URL that is not in the map is an
// error wrapping [ErrUnknownContext], and nothing is ever fetched.
//
// Documents are parsed once, when added. A Contexts is safe for concurrent
// use; adding while verifying is allowed.
type Contexts struct {
	mu   sync.RWMutex
	docs map[string]*contextDoc
	// active caches processed contexts by their URL list, so each list is
	// processed once, not per credential. Cleared when a mapping changes.
	active map[string]*ld.Context
}

type contextDoc struct {
	parsed any
	// mutable is set when json-gold may write into the document while
	// processing it (an @import merges into the imported map), so each use
	// gets a copy.
	mutable bool
}

// NewContexts returns an empty map. Most callers want [DefaultContexts].
func NewContexts() *Contexts {
	return &Contexts{docs: make(map[string]*contextDoc), active: make(map[string]*ld.Context)}
}

var (
	bundledOnce sync.Once
	bundledDocs map[string]*contextDoc
	bundledErr  error
)

func loadBundled() (map[string]*contextDoc, error) {
	bundledOnce.Do(func() {
		byFile := make(map[string]*contextDoc)
		bundledDocs = make(map[string]*contextDoc, len(bundled))
		for url, file := range bundled {
			d, ok := byFile[file]
			if !ok {
				b, err := bundledFS.ReadFile("contexts/" + file)
				if err != nil {
					bundledErr = err
					return
				}
				if d, err = parseContext(b); err != nil {
					bundledErr = fmt.Errorf("bundled context %s: %w", file, err)
					return
				}
				byFile[file] = d
			}
			bundledDocs[url] = d
		}
	})
	return bundledDocs, bundledErr
}

// DefaultContexts returns a new map holding the bundled contexts: the W3C
// credentials and security contexts and the DIVOC vaccination and test
// certificate contexts under the URLs DIVOC deployments use. The result is
// the caller's own: adding to it changes no other map.
func DefaultContexts() *Contexts {
	docs, err := loadBundled()
	if err != nil {
		// The bundled files are part of the binary; a test covers them.
		panic(err)
	}
	c := NewContexts()
	for u, d := range docs {
		c.docs[u] = d
	}
	return c
}

var defaultContexts = sync.OnceValue(DefaultContexts)

// Add maps url to the context document doc (JSON with a top-level
// "@context"), replacing any earlier mapping. The document is parsed now.
func (c *Contexts) Add(url string, doc []byte) error {
	if url == "" {
		return fmt.Errorf("%w: empty context URL", ErrMalformed)
	}
	if len(doc) > MaxContextSize {
		return fmt.Errorf("%w: context %s is %d bytes, the limit is %d", ErrTooLarge, url, len(doc), MaxContextSize)
	}
	d, err := parseContext(doc)
	if err != nil {
		return fmt.Errorf("context %s: %w", url, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.docs[url] = d
	clear(c.active)
	return nil
}

// Alias maps url to the document already mapped from existing, for a
// deployment that publishes a known context under its own URL.
func (c *Contexts) Alias(url, existing string) error {
	if url == "" {
		return fmt.Errorf("%w: empty context URL", ErrMalformed)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	d, ok := c.docs[existing]
	if !ok {
		return fmt.Errorf("%w: %s", ErrUnknownContext, existing)
	}
	c.docs[url] = d
	clear(c.active)
	return nil
}

// Check processes the document mapped from url as a credential naming it
// after the W3C credentials context would have it processed (the security
// contexts, which only proof options use, on their own), and returns what
// goes wrong: ErrUnknownContext when url is not mapped, ErrMalformed when
// the document is not a valid JSON-LD context or redefines a protected
// term of the credentials context (it would make every credential naming
// it malformed).
func (c *Contexts) Check(url string) error {
	c.mu.RLock()
	_, ok := c.docs[url]
	_, hasV1 := c.docs[credentialsV1]
	c.mu.RUnlock()
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownContext, url)
	}
	list := []any{url}
	if hasV1 && url != credentialsV1 && url != securityV2 && url != securityV1 {
		list = []any{credentialsV1, url}
	}
	_, err := c.activeContext(list)
	return err
}

// URLs returns the mapped URLs, sorted.
func (c *Contexts) URLs() []string {
	c.mu.RLock()
	defer c.mu.RUnlock()
	urls := make([]string, 0, len(c.docs))
	for u := range c.docs {
		urls = append(urls, u)
	}
	slices.Sort(urls)
	return urls
}

func parseContext(b []byte) (*contextDoc, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: context is not JSON: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: context has data after its JSON object", ErrMalformed)
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: context is not a JSON object", ErrMalformed)
	}
	if _, ok := m["@context"]; !ok {
		return nil, fmt.Errorf("%w: context document has no \"@context\"", ErrMalformed)
	}
	return &contextDoc{parsed: doc, mutable: bytes.Contains(b, []byte(`"@import"`))}, nil
}

// loader adapts a Contexts to json-gold's document loader.
type loader struct{ c *Contexts }

func (l loader) LoadDocument(u string) (*ld.RemoteDocument, error) {
	l.c.mu.RLock()
	d, ok := l.c.docs[u]
	l.c.mu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("%w: %q (add it to the contexts; nothing is fetched)", ErrUnknownContext, u)
	}
	doc := d.parsed
	if d.mutable {
		doc = ld.CloneDocument(doc)
	}
	return &ld.RemoteDocument{DocumentURL: u, Document: doc}, nil
}

// maxActive bounds the cache of processed contexts; past it, lists are
// processed per use.
const maxActive = 64

// activeContext returns the processed form of a document's top-level
// @context when it is a URL or a list of URLs, processed once and cached.
// json-gold takes a processed *ld.Context in place of a @context value.
// It returns nil for inline contexts, which are processed per use.
func (c *Contexts) activeContext(v any) (_ *ld.Context, err error) {
	defer recoverLD(&err)
	var urls []string
	switch v := v.(type) {
	case string:
		urls = []string{v}
	case []any:
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, nil
			}
			urls = append(urls, s)
		}
	default:
		return nil, nil
	}
	key := strings.Join(urls, "\n")
	c.mu.RLock()
	ac := c.active[key]
	c.mu.RUnlock()
	if ac != nil {
		return ac, nil
	}
	list := make([]any, len(urls))
	for i, u := range urls {
		list[i] = u
	}
	ac, err = ld.NewContext(nil, ldOptions(loader{c})).Parse(list)
	if err != nil {
		return nil, ldError(err)
	}
	c.mu.Lock()
	if len(c.active) < maxActive {
		c.active[key] = ac
	}
	c.mu.Unlock()
	return ac, nil
}
