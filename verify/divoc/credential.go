package divoc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Bounds on a credential's JSON. A DIVOC credential is about 2 KiB with
// fewer than ten objects; the bounds leave room for richer deployments while
// keeping canonicalisation cheap: URDNA2015 work grows factorially with
// look-alike blank nodes (a tree of 40 identical objects, three to a level,
// takes some 90 ms; the worst shapes tried within these bounds, under 20).
const (
	// MaxCredentialSize bounds the credential JSON, and the inflated
	// certificate.json of a ZIP payload.
	MaxCredentialSize = 1 << 20
	// maxDepth bounds the nesting of JSON objects and arrays.
	maxDepth = 16
	// maxObjects bounds the number of JSON objects in a credential.
	maxObjects = 32
	// maxArrayObjects bounds the number of objects in one JSON array.
	maxArrayObjects = 4
)

// Credential is a parsed DIVOC credential: what a verdict displays, the
// certificate id revocations are keyed by, and the proof. Parse fills it
// from the JSON without checking the signature; [Prepare] checks that every
// field reported here is covered by the signature, the holder's fields
// apart ([Signed.UnsignedHolder]).
//
// String fields are empty when the credential does not have them. Numbers
// given where strings are expected are formatted as decimals.
type Credential struct {
	// Contexts are the @context URLs, in order (inline contexts are not
	// listed).
	Contexts []string
	// Types is the credential's "type", e.g. VerifiableCredential,
	// ProofOfVaccinationCredential.
	Types []string
	// ID is the credential's own "id", rarely present.
	ID string
	// Issuer is the credential's "issuer" (its "id" when it is an object),
	// e.g. "https://cowin.gov.in/". Revocations are keyed under it unless the
	// trust store's policy names another.
	Issuer         string
	IssuanceDate   Date
	ExpirationDate Date

	Subject  Subject
	Evidence Evidence
	Proof    Proof

	doc      map[string]any // the credential without "proof"
	proof    map[string]any // the proof without the signature
	fields   []field        // the reported fields, checked against the signed data
	subject  string         // JSON pointer of the credentialSubject object
	evidence string         // JSON pointer of the evidence object
}

// Subject is credentialSubject: the person the certificate is about.
type Subject struct {
	ID          string // e.g. "did:in.gov.uidai.aadhaar:2342343334"
	RefID       string
	Name        string
	DOB         Date // date of birth, when given ("dob")
	Age         string
	Gender      string
	Nationality string
}

// Evidence is the first entry of "evidence": the vaccination or test.
type Evidence struct {
	ID   string
	Type []string // e.g. Vaccination
	// CertificateID is evidence[0].certificateId, the id revocation lists
	// name (scoped by issuer). Empty when the credential has none.
	CertificateID string
	// Dose and TotalDoses are 0 when absent or not a whole number (DIVOC
	// writes them as numbers or as strings).
	Dose, TotalDoses int
	Vaccine          string
	Manufacturer     string
	Batch            string
	ICD11Code        string
	Prophylaxis      string
	// Date is when the vaccine was given (or the sample collected).
	Date Date
	// EffectiveStart and EffectiveUntil are as written. They are not
	// reliable validity dates in production data; enforce them only where
	// an issuer's policy says so.
	EffectiveStart Date
	EffectiveUntil Date
	Facility       string // facility.name
	Verifier       string // verifier.name: the vaccinator
}

// Proof is the credential's JSON-LD proof.
type Proof struct {
	Type               string // RsaSignature2018 or Ed25519Signature2018
	Created            Date
	VerificationMethod string // e.g. "did:india": the trust store key
	ProofPurpose       string
	JWS                string
}

// Date is a date or timestamp as written in the credential, with its
// parsed value. DIVOC data holds RFC 3339 timestamps, plain dates
// (2021-04-15) and compact dates (20210415).
type Date struct {
	// Raw is the value as written; empty when absent.
	Raw string
	// Time is the parsed instant, in UTC; zero when absent or unparsable.
	Time time.Time
	// DateOnly is set when Raw names a day, not an instant: Time is that
	// day's start (UTC).
	DateOnly bool
}

// IsZero reports whether the date is absent or could not be parsed.
func (d Date) IsZero() bool { return d.Time.IsZero() }

// String returns the date as written.
func (d Date) String() string { return d.Raw }

var timeLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	"2006-01-02 15:04:05.999999999",
}

var dateLayouts = []string{"2006-01-02", "20060102"}

func parseDate(raw string) Date {
	d := Date{Raw: raw}
	s := strings.TrimSpace(raw)
	if s == "" {
		return d
	}
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			d.Time = t.UTC()
			return d
		}
	}
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, s); err == nil {
			d.Time, d.DateOnly = t, true
			return d
		}
	}
	return d
}

// field is a reported value and where it sits, so that verification can
// check it survived JSON-LD expansion (and so is signed).
type field struct {
	node  string // JSON pointer of the object holding it
	key   string
	value any
	doc   bool // in the credential (else in the proof)
}

// Parse parses credential JSON (the certificate.json of a payload). It checks
// shape and size, not the signature.
func Parse(b []byte) (*Credential, error) {
	if len(b) > MaxCredentialSize {
		return nil, fmt.Errorf("%w: credential is %d bytes, the limit is %d", ErrTooLarge, len(b), MaxCredentialSize)
	}
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		return nil, fmt.Errorf("%w: credential is not valid UTF-8", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: credential is not JSON: %v", ErrMalformed, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the credential's JSON object", ErrMalformed)
	}
	top, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%w: credential is not a JSON object", ErrMalformed)
	}
	objects := 0
	if err := checkShape(top, 0, &objects); err != nil {
		return nil, err
	}
	p := &parser{}
	c := p.credential(top)
	if p.err != nil {
		return nil, p.err
	}
	return c, nil
}

// checkShape enforces the nesting and count bounds and refuses blank node
// labels ("_:..."), which no credential needs and which let a document
// describe graphs that are costly to canonicalise.
func checkShape(v any, depth int, objects *int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: credential nests deeper than %d", ErrTooLarge, maxDepth)
	}
	switch v := v.(type) {
	case map[string]any:
		*objects++
		if *objects > maxObjects {
			return fmt.Errorf("%w: credential has more than %d objects", ErrTooLarge, maxObjects)
		}
		for k, e := range v {
			if strings.HasPrefix(k, "_:") {
				return fmt.Errorf("%w: blank node label %q", ErrMalformed, k)
			}
			if err := checkShape(e, depth+1, objects); err != nil {
				return err
			}
		}
	case []any:
		n := 0
		for _, e := range v {
			if _, ok := e.(map[string]any); ok {
				if n++; n > maxArrayObjects {
					return fmt.Errorf("%w: an array holds more than %d objects", ErrTooLarge, maxArrayObjects)
				}
			}
			if err := checkShape(e, depth+1, objects); err != nil {
				return err
			}
		}
	case string:
		if strings.HasPrefix(v, "_:") {
			return fmt.Errorf("%w: blank node label %q", ErrMalformed, v)
		}
	}
	return nil
}

// parser collects the first shape error.
type parser struct {
	err    error
	fields []field
}

func (p *parser) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("%w: "+format, append([]any{ErrMalformed}, args...)...)
	}
}

func (p *parser) credential(top map[string]any) *Credential {
	c := &Credential{}
	c.doc = maps.Clone(top)
	delete(c.doc, "proof")

	c.Contexts = p.contexts(top["@context"])
	c.Types = p.strings(top, "type")
	c.ID = p.str("", top, "id", true)
	switch iss := top["issuer"].(type) {
	case map[string]any:
		c.Issuer = p.str("/issuer", iss, "id", true)
	default:
		c.Issuer = p.str("", top, "issuer", true)
	}
	c.IssuanceDate = parseDate(p.str("", top, "issuanceDate", true))
	c.ExpirationDate = parseDate(p.str("", top, "expirationDate", true))

	if ptr, s := p.object(top, "credentialSubject"); s != nil {
		c.subject = ptr
		c.Subject = Subject{
			ID:          p.str(ptr, s, "id", true),
			RefID:       p.str(ptr, s, "refId", true),
			Name:        p.str(ptr, s, "name", true),
			DOB:         parseDate(p.str(ptr, s, "dob", true)),
			Age:         p.str(ptr, s, "age", true),
			Gender:      p.str(ptr, s, "gender", true),
			Nationality: p.str(ptr, s, "nationality", true),
		}
	}
	if ptr, e := p.object(top, "evidence"); e != nil {
		c.evidence = ptr
		ev := &c.Evidence
		ev.ID = p.str(ptr, e, "id", true)
		ev.Type = p.strings(e, "type")
		ev.CertificateID = p.str(ptr, e, "certificateId", true)
		ev.Dose = p.count(ptr, e, "dose")
		ev.TotalDoses = p.count(ptr, e, "totalDoses")
		ev.Vaccine = p.str(ptr, e, "vaccine", true)
		ev.Manufacturer = p.str(ptr, e, "manufacturer", true)
		ev.Batch = p.str(ptr, e, "batch", true)
		ev.ICD11Code = p.str(ptr, e, "icd11Code", true)
		ev.Prophylaxis = p.str(ptr, e, "prophylaxis", true)
		ev.Date = parseDate(p.str(ptr, e, "date", true))
		ev.EffectiveStart = parseDate(p.str(ptr, e, "effectiveStart", true))
		ev.EffectiveUntil = parseDate(p.str(ptr, e, "effectiveUntil", true))
		if f, ok := e["facility"].(map[string]any); ok {
			ev.Facility = p.str(ptr+"/facility", f, "name", true)
		}
		if v, ok := e["verifier"].(map[string]any); ok {
			ev.Verifier = p.str(ptr+"/verifier", v, "name", true)
		}
	}
	c.fields = p.fields
	p.fields = nil

	switch pr := top["proof"].(type) {
	case nil:
	case map[string]any:
		c.Proof = Proof{
			Type:               p.str("", pr, "type", false),
			Created:            parseDate(p.str("", pr, "created", false)),
			VerificationMethod: p.str("", pr, "verificationMethod", false),
			ProofPurpose:       p.str("", pr, "proofPurpose", false),
			JWS:                p.str("", pr, "jws", false),
		}
		// Type and purpose are checked by verification itself; the
		// others are reported and so must be signed.
		for _, f := range p.fields {
			if f.key == "created" || f.key == "verificationMethod" {
				c.fields = append(c.fields, f)
			}
		}
		c.proof = maps.Clone(pr)
		delete(c.proof, "jws")
		delete(c.proof, "signatureValue")
		delete(c.proof, "proofValue")
		c.proof["@context"] = securityV2
	default:
		p.fail("proof is not a JSON object")
	}
	return c
}

func (p *parser) contexts(v any) []string {
	var out []string
	switch v := v.(type) {
	case nil:
		p.fail("credential has no @context")
	case string:
		out = append(out, v)
	case []any:
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
	}
	return out
}

// object returns m[key] when it is an object, or the first element when it
// is an array whose first element is an object, with its JSON pointer.
func (p *parser) object(m map[string]any, key string) (string, map[string]any) {
	ptr := "/" + escapePointer(key)
	switch v := m[key].(type) {
	case nil:
		return "", nil
	case map[string]any:
		return ptr, v
	case []any:
		if len(v) == 0 {
			return "", nil
		}
		if o, ok := v[0].(map[string]any); ok {
			return ptr + "/0", o
		}
	}
	p.fail("%s is not an object", key)
	return "", nil
}

// str returns a scalar as a string and records it as a reported field.
func (p *parser) str(node string, m map[string]any, key string, doc bool) string {
	v, ok := m[key]
	if !ok || v == nil {
		return ""
	}
	var s string
	switch x := v.(type) {
	case string:
		s = x
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		s = strconv.FormatBool(x)
	default:
		p.fail("%s/%s is not a string", node, key)
		return ""
	}
	p.fields = append(p.fields, field{node: node, key: key, value: v, doc: doc})
	return s
}

// count reads a dose number given as a number or a string.
func (p *parser) count(node string, m map[string]any, key string) int {
	s := strings.TrimSpace(p.str(node, m, key, true))
	if s == "" {
		return 0
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f > 1000 {
		return 0
	}
	return int(f)
}

// strings reads a string or an array of strings (a "type").
func (p *parser) strings(m map[string]any, key string) []string {
	switch v := m[key].(type) {
	case string:
		return []string{v}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}

func escapePointer(s string) string {
	s = strings.ReplaceAll(s, "~", "~0")
	return strings.ReplaceAll(s, "/", "~1")
}
