// Package shctest is the issuer side of SMART Health Cards, for tests and
// fixtures only: deterministic keys, key sets, card payloads, raw DEFLATE,
// ES256 signing (RFC 6979, so the same input always gives the same card),
// numeric QR encoding and chunking.
package shctest

import (
	"bytes"
	"compress/flate"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

var b64 = base64.RawURLEncoding

// Key returns the P-256 key named label: its scalar is SHA-256 of a fixed
// prefix and label (hashed again in the rare case it is not below the
// curve order). Never trusted outside tests.
func Key(label string) *ecdsa.PrivateKey {
	seed := sha256.Sum256([]byte("crlverify shc test key: " + label))
	for {
		k, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), seed[:])
		if err == nil {
			return k
		}
		seed = sha256.Sum256(seed[:])
	}
}

func coords(pub *ecdsa.PublicKey) (x, y []byte) {
	p, err := pub.Bytes()
	if err != nil {
		panic(err)
	}
	return p[1:33], p[33:]
}

// KID returns the RFC 7638 thumbprint of pub, the kid the specification
// gives it.
func KID(pub *ecdsa.PublicKey) string {
	x, y := coords(pub)
	j := `{"crv":"P-256","kty":"EC","x":"` + b64.EncodeToString(x) + `","y":"` + b64.EncodeToString(y) + `"}`
	sum := sha256.Sum256([]byte(j))
	return b64.EncodeToString(sum[:])
}

// JWK returns pub as a key set entry of an ES256 signing key with its
// thumbprint as kid; extra members (crlVersion, x5c …) are added or
// override.
func JWK(pub *ecdsa.PublicKey, extra map[string]any) map[string]any {
	x, y := coords(pub)
	m := map[string]any{
		"kty": "EC", "kid": KID(pub), "use": "sig", "alg": "ES256", "crv": "P-256",
		"x": b64.EncodeToString(x), "y": b64.EncodeToString(y),
	}
	for k, v := range extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// JWKS returns a key set of the given entries, indented.
func JWKS(keys ...map[string]any) []byte {
	b, err := json.MarshalIndent(map[string]any{"keys": keys}, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// Deflate compresses b as raw DEFLATE (RFC 1951), best compression.
func Deflate(b []byte) []byte {
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		panic(err)
	}
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// Header returns the header a card carries: zip DEF, alg ES256, kid.
func Header(kid string) []byte {
	return []byte(`{"zip":"DEF","alg":"ES256","kid":"` + kid + `"}`)
}

// SignParts signs header and (already compressed) payload as a compact
// JWS with key: ES256, r||s, deterministic (RFC 6979).
func SignParts(header, payload []byte, key *ecdsa.PrivateKey) string {
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	return input + "." + b64.EncodeToString(RawSignature(SignDER(input, key)))
}

// SignDER returns the DER (ASN.1) ECDSA signature of a JWS signing input,
// deterministic: the form ES256 does not allow.
func SignDER(input string, key *ecdsa.PrivateKey) []byte {
	h := sha256.Sum256([]byte(input))
	der, err := key.Sign(nil, h[:], crypto.SHA256)
	if err != nil {
		panic(err)
	}
	return der
}

// RawSignature converts a DER ECDSA P-256 signature to r||s.
func RawSignature(der []byte) []byte {
	var rs struct{ R, S *big.Int }
	if _, err := asn1.Unmarshal(der, &rs); err != nil {
		panic(err)
	}
	out := make([]byte, 64)
	rs.R.FillBytes(out[:32])
	rs.S.FillBytes(out[32:])
	return out
}

// Sign makes the compact JWS of a card: claims deflated, signed with key
// under kid.
func Sign(claims []byte, key *ecdsa.PrivateKey, kid string) string {
	return SignParts(Header(kid), Deflate(claims), key)
}

// Numeric encodes a JWS as one numeric QR payload: "shc:/" and, for each
// character, its code minus 45 as two digits.
func Numeric(jws string) string {
	return NumericChunk(jws, 0, 0)
}

// NumericChunk is [Numeric] for chunk i of n ("shc:/i/n/…"); n == 0 writes
// no chunk header.
func NumericChunk(part string, i, n int) string {
	var sb strings.Builder
	sb.WriteString("shc:/")
	if n > 0 {
		fmt.Fprintf(&sb, "%d/%d/", i, n)
	}
	for j := 0; j < len(part); j++ {
		fmt.Fprintf(&sb, "%02d", int(part[j])-45)
	}
	return sb.String()
}

// Chunks splits a JWS into n balanced numeric payloads "shc:/i/n/…".
func Chunks(jws string, n int) []string {
	out := make([]string, n)
	size := (len(jws) + n - 1) / n
	for i := range n {
		lo, hi := min(i*size, len(jws)), min((i+1)*size, len(jws))
		out[i] = NumericChunk(jws[lo:hi], i+1, n)
	}
	return out
}

// Dose is one Immunization of a card.
type Dose struct {
	System    string // default CVX
	Code      string
	Date      string
	Lot       string
	Performer string
}

// Card describes the claims of a card.
type Card struct {
	Issuer string
	// NBF and Exp are JSON numbers as written ("1705311000.25"); Exp ""
	// means none.
	NBF, Exp  string
	RID       string
	Family    string
	Given     []string
	BirthDate string
	Doses     []Dose
}

// JSON returns the card's claims, minified, members in the order issuers
// write them.
func (c Card) JSON() []byte {
	var sb strings.Builder
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	fmt.Fprintf(&sb, `{"iss":%s,"nbf":%s,`, q(c.Issuer), c.NBF)
	if c.Exp != "" {
		fmt.Fprintf(&sb, `"exp":%s,`, c.Exp)
	}
	given, _ := json.Marshal(c.Given)
	fmt.Fprintf(&sb, `"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirVersion":"4.0.1","fhirBundle":{"resourceType":"Bundle","type":"collection","entry":[`)
	fmt.Fprintf(&sb, `{"fullUrl":"resource:0","resource":{"resourceType":"Patient","name":[{"family":%s,"given":%s}],"birthDate":%s}}`,
		q(c.Family), given, q(c.BirthDate))
	for i, d := range c.Doses {
		sys := d.System
		if sys == "" {
			sys = "http://hl7.org/fhir/sid/cvx"
		}
		fmt.Fprintf(&sb, `,{"fullUrl":"resource:%d","resource":{"resourceType":"Immunization","status":"completed","vaccineCode":{"coding":[{"system":%s,"code":%s}]},"patient":{"reference":"resource:0"},"occurrenceDateTime":%s,"performer":[{"actor":{"display":%s}}],"lotNumber":%s}}`,
			i+1, q(sys), q(d.Code), q(d.Date), q(d.Performer), q(d.Lot))
	}
	sb.WriteString(`]}}`)
	if c.RID != "" {
		fmt.Fprintf(&sb, `,"rid":%s`, q(c.RID))
	}
	sb.WriteString(`}}`)
	return []byte(sb.String())
}

// CRL returns a revocation list for kid, indented.
func CRL(kid string, ctr int, rids ...string) []byte {
	b, err := json.MarshalIndent(map[string]any{"kid": kid, "method": "rid", "ctr": ctr, "rids": rids}, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// Unix writes t seconds as a JSON number.
func Unix(sec int64) string { return strconv.FormatInt(sec, 10) }
