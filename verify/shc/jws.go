package shc

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Bounds on a card.
const (
	// MaxJWSSize is the most characters a card's compact JWS may have. The
	// specification keeps a JWS meant for one QR code to 1195 characters
	// and a chunk to 1191; cards in files may be larger (its own
	// International Patient Summary example is 3285). This bound is 55
	// times the single-code limit.
	MaxJWSSize = 64 << 10

	// MaxInflatedSize is the most bytes a card's payload may inflate to
	// (the specification's largest example inflates to 30178).
	MaxInflatedSize = 1 << 20
)

// The JOSE header values a SMART Health Card must carry.
const (
	AlgES256   = "ES256"
	ZipDeflate = "DEF"
)

// Header is the protected header of a card's JWS.
type Header struct {
	// Alg is always "ES256", Zip always "DEF".
	Alg, Zip string
	// KID names the issuer's key: the base64url SHA-256 JWK thumbprint
	// (RFC 7638) of its public key, looked up in the key set of the
	// card's issuer only.
	KID string
}

// Card is a parsed SMART Health Card: its JWS, the claims of its payload,
// and what its FHIR bundle says about the holder and their immunizations.
// Parsing does not check the signature; see [Verify].
//
// Strings are the issuer's text as signed, unmodified: escape them before
// writing them to a terminal. The exported fields are for reading:
// verification and revocation checks use the values as parsed.
type Card struct {
	// JWS is the compact JWS the card was parsed from.
	JWS    string
	Header Header
	// Payload is the inflated JSON payload (the JWT claims).
	Payload []byte

	// Issuer is the "iss" claim: the issuer's URL, under which its key set
	// is published (Issuer + "/.well-known/jwks.json") and under which its
	// revocations are keyed.
	Issuer string
	// NotBefore is the "nbf" claim, the card's issuance time (fractional
	// seconds kept to the nanosecond).
	NotBefore time.Time
	// Expires is the "exp" claim; zero when the card has none (most cards
	// never expire).
	Expires time.Time
	// Types is vc.type; it always holds [TypeHealthCard].
	Types []string
	// FHIRVersion is vc.credentialSubject.fhirVersion ("4.0.1").
	FHIRVersion string
	// RevocationID is vc.rid, the id the issuer revokes the card by; empty
	// when the card has none (cards before version 1.2.0 of the
	// specification).
	RevocationID string

	// Patient is the bundle's Patient resource; zero when it has none (a
	// patient summary may name its subject otherwise). A bundle with more
	// than one Patient is refused: it would not say whose card it is.
	Patient Patient
	// Immunizations are the bundle's Immunization resources, in bundle
	// order.
	Immunizations []Immunization
	// ResourceTypes lists the resourceType of every bundle entry, in order.
	ResourceTypes []string

	signingInput string
	signature    []byte
	// signed holds what verification and revocation checks use, as
	// parsed, whatever a caller does to the exported fields.
	signed signedClaims
}

type signedClaims struct {
	iss, kid, rid string
	nbf, exp      time.Time
}

// TypeHealthCard is the vc.type every SMART Health Card holds.
const TypeHealthCard = "https://smarthealth.cards#health-card"

// Parse reads a card from its compact JWS, checking its form: three
// base64url parts (strict: no padding, no line breaks, no stray bits); a
// header with alg "ES256", zip "DEF", a kid and no crit; a payload of raw
// DEFLATE (no zlib or gzip wrapper, nothing after the final block)
// inflating to at most [MaxInflatedSize] bytes of JSON; and the claims and
// FHIR bundle described at [Card]. Errors wrap [ErrMalformed].
func Parse(jws string) (*Card, error) {
	c, _, err := parse(jws, MaxInflatedSize, "")
	return c, err
}

// parse is [Parse] with the payload bounded by limit (at most
// MaxInflatedSize) bytes; beyond, the error says why, if why is given. It
// also returns how many bytes it inflated, whether the card is read or not.
func parse(jws string, limit int, why string) (_ *Card, inflated int, _ error) {
	if len(jws) > MaxJWSSize {
		return nil, 0, tooLarge("JWS of %d characters, more than %d", len(jws), MaxJWSSize)
	}
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return nil, 0, malformed("a compact JWS has 3 parts separated by \".\", this has %d", len(parts))
	}
	var raw [3][]byte
	for i, name := range []string{"header", "payload", "signature"} {
		b, err := decodeB64(parts[i])
		if err != nil {
			return nil, 0, malformed("JWS %s: %v", name, err)
		}
		raw[i] = b
	}
	c := &Card{
		JWS:          jws,
		signingInput: jws[:len(parts[0])+1+len(parts[1])],
		signature:    raw[2],
	}
	h, err := parseHeader(raw[0])
	if err != nil {
		return nil, 0, err
	}
	c.Header = h
	c.Payload, inflated, err = inflate(raw[1], limit, why)
	if err != nil {
		return nil, inflated, err
	}
	if err := c.parseClaims(); err != nil {
		return nil, inflated, err
	}
	c.signed = signedClaims{iss: c.Issuer, kid: c.Header.KID, rid: c.RevocationID, nbf: c.NotBefore, exp: c.Expires}
	return c, inflated, nil
}

var b64 = base64.RawURLEncoding.Strict()

// decodeB64 decodes unpadded base64url strictly: the standard decoder
// skips line breaks, so every character is checked first.
func decodeB64(s string) ([]byte, error) {
	if s == "" {
		return nil, errors.New("empty")
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !isJWSChar(c) || c == '.' {
			return nil, fmt.Errorf("bad base64url: %q at offset %d", c, i)
		}
	}
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, errors.New("bad base64url: " + err.Error())
	}
	return b, nil
}

func parseHeader(b []byte) (Header, error) {
	m, err := decodeObject(b)
	if err != nil {
		return Header{}, malformed("JWS header: %v", err)
	}
	var h Header
	for _, f := range []struct {
		key  string
		dst  *string
		want string
	}{{"alg", &h.Alg, AlgES256}, {"zip", &h.Zip, ZipDeflate}, {"kid", &h.KID, ""}} {
		v, ok := m[f.key]
		if !ok {
			return Header{}, malformed("JWS header: no %q (a SMART Health Card has alg ES256, zip DEF and a kid)", f.key)
		}
		s, ok := v.(string)
		if !ok {
			return Header{}, malformed("JWS header: %q is not a string", f.key)
		}
		switch {
		case f.want != "" && s != f.want:
			return Header{}, malformed("JWS header: %s %q, a SMART Health Card has %s", f.key, s, f.want)
		case s == "":
			return Header{}, malformed("JWS header: empty %q", f.key)
		}
		*f.dst = s
	}
	if _, ok := m["crit"]; ok {
		return Header{}, malformed("JWS header: critical extensions (crit) are not supported")
	}
	return h, nil
}

// decodeObject decodes one JSON object (numbers as json.Number), with
// nothing after it.
func decodeObject(b []byte) (map[string]any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, errors.New("bad JSON: " + err.Error())
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errors.New("bad JSON: data after the top-level value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("not a JSON object")
	}
	return m, nil
}

// inflaters keeps DEFLATE readers (some 40 kB of tables each) for reuse.
var inflaters = sync.Pool{New: func() any { return flate.NewReader(bytes.NewReader(nil)) }}

// inflate decompresses a raw DEFLATE stream (RFC 1951) of at most limit
// bytes, with nothing after its final block. why explains a limit below
// MaxInflatedSize.
func inflate(b []byte, limit int, why string) (out []byte, inflated int, err error) {
	br := bytes.NewReader(b) // an io.ByteReader: flate reads no further than the stream
	fr := inflaters.Get().(io.ReadCloser)
	defer inflaters.Put(fr)
	if err := fr.(flate.Resetter).Reset(br, nil); err != nil {
		return nil, 0, malformed("JWS payload: %v", err)
	}
	out, err = io.ReadAll(io.LimitReader(fr, int64(limit)+1))
	if err != nil {
		if isZlib(b) {
			return nil, len(out), malformed("JWS payload is zlib-wrapped; SMART Health Cards use raw DEFLATE (RFC 1951) without a header")
		}
		return nil, len(out), malformed("JWS payload: bad DEFLATE data: %v", err)
	}
	if len(out) > limit {
		if why != "" {
			return nil, len(out), tooLarge("JWS payload inflates to more than %d bytes: %s", limit, why)
		}
		return nil, len(out), tooLarge("JWS payload inflates to more than %d bytes", limit)
	}
	if br.Len() != 0 {
		return nil, len(out), malformed("JWS payload: %d bytes after the end of the DEFLATE stream", br.Len())
	}
	return out, len(out), nil
}

// isZlib reports whether b is a zlib stream that inflates within the bound.
func isZlib(b []byte) bool {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return false
	}
	n, err := io.Copy(io.Discard, io.LimitReader(zr, MaxInflatedSize+1))
	return err == nil && n <= MaxInflatedSize
}
