package dcc

import (
	"bytes"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"math"
	"sync"
	"time"

	"github.com/fxamacker/cbor/v2"
	"github.com/veraison/go-cose"
)

// Bounds on every form a payload takes on its way in.
const (
	// MaxPayloadSize bounds the payload ("HC1:" and base45 text). The
	// largest QR code holds 4296 alphanumeric characters, an Aztec code
	// fewer; four times that leaves room for other carriers.
	MaxPayloadSize = 16 << 10
	// MaxMessageSize bounds the COSE message after zlib inflation. A
	// certificate takes a few hundred bytes.
	MaxMessageSize = 64 << 10
	// MaxNesting bounds how deeply CBOR arrays and maps nest.
	MaxNesting = 16
	// MaxElements bounds the elements of one CBOR array and the pairs of
	// one CBOR map.
	MaxElements = 1024
)

// Prefix is the context identifier of version 1 of the hcert barcode
// encoding.
const Prefix = "HC1:"

// COSE and CWT labels the hcert specification uses.
const (
	claimIssuer    = 1
	claimExpires   = 4
	claimIssuedAt  = 6
	claimHcert     = -260
	hcertEUv1      = 1
	tagCOSESign1   = 18
	tagCWT         = 61
	headerAlg      = cose.HeaderLabelAlgorithm
	headerKID      = cose.HeaderLabelKeyID
	headerCritical = cose.HeaderLabelCritical
)

// Algorithm is a COSE signature algorithm identifier.
type Algorithm int64

// The algorithms the hcert specification allows; any other is refused with
// [ErrUnsupportedAlgorithm].
const (
	ES256 Algorithm = -7  // ECDSA with P-256 and SHA-256
	PS256 Algorithm = -37 // RSASSA-PSS with SHA-256, MGF1 with SHA-256
)

func (a Algorithm) String() string {
	switch a {
	case ES256:
		return "ES256"
	case PS256:
		return "PS256"
	case 0:
		return "none"
	}
	return fmt.Sprintf("COSE algorithm %d", int64(a))
}

// Form says how the COSE_Sign1 message was wrapped.
type Form string

const (
	FormUntagged Form = "untagged" // a bare COSE_Sign1 array
	FormTagged   Form = "cose"     // COSE_Sign1_Tagged (tag 18)
	FormCWT      Form = "cwt+cose" // tag 18 inside CWT tag 61
)

// Certificate is a decoded EU Digital COVID Certificate: the CWT claims,
// the COSE headers that matter and the certificate data. Nothing in it is
// trusted until [Certificate.Verify] (or [Certificate.VerifyWith]) returns
// nil.
type Certificate struct {
	// Issuer is the CWT iss claim (1): the ISO 3166-1 alpha-2 code of the
	// issuing country. The claim is optional; empty when absent.
	Issuer string
	// IssuedAt (iat, 6) and Expires (exp, 4), to the second.
	IssuedAt time.Time
	Expires  time.Time
	// KID is the key identifier: from the protected header, or else the
	// unprotected one (KIDProtected tells which). The hcert specification
	// makes it the first 8 bytes of the SHA-256 of the document signer
	// certificate; nil when neither header has one.
	KID          []byte
	KIDProtected bool
	// Algorithm is the COSE alg header, protected header first.
	Algorithm Algorithm
	// Form is how the COSE message was tagged.
	Form Form
	// DCC is the certificate data (claim -260, key 1).
	DCC *DCC

	protected []byte // the protected header as encoded (a CBOR byte string)
	payload   []byte
	signature []byte
}

// decMode decodes CWT claims and certificate data strictly: bounded
// nesting and sizes, duplicate map keys refused, no tags, valid UTF-8, no
// NaN or infinity, no "undefined", integers that fit an int64.
var decMode = func() cbor.DecMode {
	sv, err := cbor.NewSimpleValueRegistryFromDefaults(cbor.WithRejectedSimpleValue(cbor.SimpleValue(23)))
	if err != nil {
		panic(err)
	}
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  MaxNesting,
		MaxArrayElements: MaxElements,
		MaxMapPairs:      MaxElements,
		IndefLength:      cbor.IndefLengthAllowed,
		TagsMd:           cbor.TagsForbidden,
		IntDec:           cbor.IntDecConvertSignedOrFail,
		UTF8:             cbor.UTF8RejectInvalid,
		NaN:              cbor.NaNDecodeForbidden,
		Inf:              cbor.InfDecodeForbidden,
		SimpleValues:     sv,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// encMode encodes the Sig_structure (RFC 9052 section 4.4).
var encMode = func() cbor.EncMode {
	em, err := cbor.EncOptions{IndefLength: cbor.IndefLengthForbidden}.EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// Decode reads an HC1 payload (the text of the QR or Aztec code) into a
// [Certificate], step by step: [Unprefix], [DecodeBase45], [Inflate],
// [DecodeCOSE]. It checks structure only: neither the signature, nor the
// schema, nor any date. A trailing line break (from a file or a terminal)
// is ignored. Each step's failure wraps its sentinel error ([ErrPrefix],
// [ErrBase45], [ErrCompression], [ErrCOSE], [ErrCWT], [ErrDCC], or
// [ErrTooLarge]).
func Decode(payload []byte) (*Certificate, error) {
	payload = bytes.TrimRight(payload, "\r\n")
	b45, err := Unprefix(payload)
	if err != nil {
		return nil, err
	}
	compressed, err := DecodeBase45(b45)
	if err != nil {
		return nil, err
	}
	msg, err := Inflate(compressed)
	if err != nil {
		return nil, err
	}
	return DecodeCOSE(msg)
}

// IsPayload reports whether b looks like an EU DCC payload: it starts with
// the "HC1:" context identifier. Other formats never do.
func IsPayload(b []byte) bool { return bytes.HasPrefix(b, []byte(Prefix)) }

// Unprefix checks the context identifier and returns the base45 text after
// it. Anything but exactly "HC1:" (upper case) fails with [ErrPrefix]:
// another version ("HC2:") is a format this package does not know.
func Unprefix(payload []byte) ([]byte, error) {
	if len(payload) > MaxPayloadSize {
		return nil, wrap(ErrTooLarge, "payload of %d bytes, more than %d", len(payload), MaxPayloadSize)
	}
	if !bytes.HasPrefix(payload, []byte(Prefix)) {
		head := payload[:min(len(payload), 4)]
		return nil, wrap(ErrPrefix, "starts with %q, not %q", head, Prefix)
	}
	return payload[len(Prefix):], nil
}

// Inflate decompresses a zlib stream (RFC 1950) of at most
// [MaxMessageSize] inflated bytes. The stream must be complete, its
// checksum right and nothing may follow it. The hcert specification makes
// compression mandatory, so uncompressed data fails with [ErrCompression]
// like a corrupt stream does.
func Inflate(compressed []byte) ([]byte, error) {
	src := bytes.NewReader(compressed)
	zr, err := newZlibReader(src)
	if zr != nil {
		defer zlibReaders.Put(zr)
	}
	if err != nil {
		return nil, wrap(ErrCompression, "%v", err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, MaxMessageSize+1))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, wrap(ErrCompression, "truncated stream")
		}
		return nil, wrap(ErrCompression, "%v", err)
	}
	if len(out) > MaxMessageSize {
		return nil, wrap(ErrTooLarge, "inflates to more than %d bytes", MaxMessageSize)
	}
	// A bytes.Reader is read byte by byte (it is an io.ByteReader), so
	// what is left is exactly what follows the stream.
	if src.Len() > 0 {
		return nil, wrap(ErrCompression, "%d bytes after the end of the zlib stream", src.Len())
	}
	return out, nil
}

// zlibReaders keeps zlib readers (each holds a 32 KiB window) for reuse.
var zlibReaders sync.Pool

// newZlibReader returns a pooled zlib reader reading src; the caller puts
// it back into zlibReaders when done, also after an error.
func newZlibReader(src io.Reader) (io.ReadCloser, error) {
	if zr, ok := zlibReaders.Get().(io.ReadCloser); ok {
		return zr, zr.(zlib.Resetter).Reset(src, nil)
	}
	zr, err := zlib.NewReader(src)
	if err != nil {
		return nil, err
	}
	return zr, nil
}

// DecodeCOSE reads a COSE_Sign1 message (untagged, tagged 18, or tagged 18
// inside CWT tag 61), its headers, its CWT claims and the certificate data
// in claim -260, key 1. Failures wrap [ErrCOSE], [ErrCWT], [ErrDCC] or
// [ErrTooLarge].
func DecodeCOSE(msg []byte) (*Certificate, error) {
	if len(msg) > MaxMessageSize {
		return nil, wrap(ErrTooLarge, "COSE message of %d bytes, more than %d", len(msg), MaxMessageSize)
	}
	c := &Certificate{Form: FormUntagged}
	rest := msg
	if bytes.HasPrefix(rest, []byte{0xd8, tagCWT}) {
		rest, c.Form = rest[2:], FormCWT
		if !bytes.HasPrefix(rest, []byte{0xc0 | tagCOSESign1}) {
			return nil, wrap(ErrCOSE, "CWT tag 61 not followed by COSE_Sign1 tag 18")
		}
	}
	if bytes.HasPrefix(rest, []byte{0xc0 | tagCOSESign1}) {
		rest = rest[1:]
		if c.Form == FormUntagged {
			c.Form = FormTagged
		}
	}
	var m cose.UntaggedSign1Message
	if err := m.UnmarshalCBOR(rest); err != nil {
		return nil, wrap(ErrCOSE, "%v", err)
	}
	if m.Payload == nil {
		return nil, wrap(ErrCOSE, "detached payload")
	}
	if _, ok := m.Headers.Protected[headerCritical]; ok {
		return nil, wrap(ErrCOSE, "critical header parameters are not supported")
	}
	c.protected = m.Headers.RawProtected
	c.payload = m.Payload
	c.signature = m.Signature

	var err error
	if c.KID, c.KIDProtected, err = kidOf(m.Headers); err != nil {
		return nil, err
	}
	if c.Algorithm, err = algorithmOf(m.Headers); err != nil {
		return nil, err
	}
	if err := c.readClaims(); err != nil {
		return nil, err
	}
	return c, nil
}

// kidOf returns the key identifier: the protected header's when it has
// one, else the unprotected header's. The hcert specification lets issuers
// put it in either, and the protected one is the one that counts when both
// are there.
func kidOf(h cose.Headers) (kid []byte, protected bool, err error) {
	for _, hdr := range []struct {
		m         map[any]any
		protected bool
	}{{h.Protected, true}, {h.Unprotected, false}} {
		v, ok := hdr.m[headerKID]
		if !ok {
			continue
		}
		b, ok := v.([]byte)
		if !ok {
			return nil, false, wrap(ErrCOSE, "kid is not a byte string")
		}
		return b, hdr.protected, nil
	}
	return nil, false, nil
}

// algorithmOf returns the alg header: the protected one, or else the
// unprotected one. An unprotected alg cannot be swapped to an attacker's
// advantage here: each key type allows exactly one algorithm (EC P-256
// only ES256, RSA only PS256), so the key decides in the end.
func algorithmOf(h cose.Headers) (Algorithm, error) {
	for _, m := range []map[any]any{h.Protected, h.Unprotected} {
		v, ok := m[headerAlg]
		if !ok {
			continue
		}
		switch a := v.(type) {
		case cose.Algorithm:
			return Algorithm(a), nil
		case int64:
			return Algorithm(a), nil
		default:
			// COSE allows text algorithm names; hcert uses integers only.
			return 0, wrap(ErrCOSE, "alg %v is not an integer", v)
		}
	}
	return 0, nil
}

// DecodeClaims reads a CWT claims map on its own, as a COSE message
// carries it, into a [Certificate] without headers or signature, which
// therefore never verifies. It is for inspecting claims; failures wrap
// [ErrCWT], [ErrDCC] or [ErrTooLarge].
func DecodeClaims(b []byte) (*Certificate, error) {
	if len(b) > MaxMessageSize {
		return nil, wrap(ErrTooLarge, "claims of %d bytes, more than %d", len(b), MaxMessageSize)
	}
	c := &Certificate{payload: b}
	if err := c.readClaims(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Certificate) readClaims() error {
	var claims map[any]any
	if err := decMode.Unmarshal(c.payload, &claims); err != nil {
		return cborError(ErrCWT, "claims", err)
	}
	if claims == nil {
		return wrap(ErrCWT, "claims are not a map")
	}
	if v, ok := claims[int64(claimIssuer)]; ok {
		s, ok := v.(string)
		if !ok {
			return wrap(ErrCWT, "iss is not a text string")
		}
		c.Issuer = s
	}
	var err error
	if c.IssuedAt, err = numericDate(claims, claimIssuedAt, "iat"); err != nil {
		return err
	}
	if c.Expires, err = numericDate(claims, claimExpires, "exp"); err != nil {
		return err
	}
	hv, ok := claims[int64(claimHcert)]
	if !ok {
		return wrap(ErrCWT, "no hcert claim (-260)")
	}
	hcert, ok := hv.(map[any]any)
	if !ok {
		return wrap(ErrCWT, "hcert claim (-260) is not a map")
	}
	dv, ok := hcert[int64(hcertEUv1)]
	if !ok {
		return wrap(ErrCWT, "hcert claim (-260) has no EU DCC v1 (key 1)")
	}
	c.DCC, err = dccFromCBORValue(dv)
	return err
}

// maxNumericDate is 9999-12-31T23:59:59Z; later or negative dates are
// refused.
const maxNumericDate = 253402300799

func numericDate(claims map[any]any, label int64, name string) (time.Time, error) {
	v, ok := claims[label]
	if !ok {
		return time.Time{}, wrap(ErrCWT, "no %s claim (%d)", name, label)
	}
	var sec int64
	switch n := v.(type) {
	case int64:
		sec = n
	case float64:
		if n != math.Trunc(n) || n < 0 || n > maxNumericDate {
			return time.Time{}, wrap(ErrCWT, "%s %v is not a whole number of seconds in range", name, n)
		}
		sec = int64(n)
	default:
		return time.Time{}, wrap(ErrCWT, "%s is not a number", name)
	}
	if sec < 0 || sec > maxNumericDate {
		return time.Time{}, wrap(ErrCWT, "%s %d is out of range", name, sec)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// cborError wraps a CBOR decoding error under sentinel, or under
// [ErrTooLarge] for a bound.
func cborError(sentinel error, what string, err error) error {
	var tooMany *cbor.MaxArrayElementsError
	var tooManyPairs *cbor.MaxMapPairsError
	var tooDeep *cbor.MaxNestedLevelError
	if errors.As(err, &tooMany) || errors.As(err, &tooManyPairs) || errors.As(err, &tooDeep) {
		return fmt.Errorf("%w: %s: %v", ErrTooLarge, what, err)
	}
	return fmt.Errorf("%w: %s: %v", sentinel, what, err)
}
