package snapshot

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Version is the format version this package writes and the only one it
// reads: the "v" field of every header and index, and the digit in the
// magic lines.
const Version = 1

// Kind says whether a snapshot holds a whole list or the changes to one.
type Kind string

// The kinds of snapshot.
const (
	// KindFull is a complete list: its body's upserts are every entry.
	KindFull Kind = "full"
	// KindDelta turns the list at BaseSerial into the list at Serial.
	KindDelta Kind = "delta"
)

// Digest is a SHA-256 digest. Its text form is "sha256:" followed by 64
// lower-case hex digits.
type Digest [sha256.Size]byte

const digestPrefix = "sha256:"

// String returns "sha256:<hex>".
func (d Digest) String() string { return digestPrefix + hex.EncodeToString(d[:]) }

// IsZero reports whether d is all zero bytes (the value of an absent digest).
func (d Digest) IsZero() bool { return d == Digest{} }

// ParseDigest parses the form [Digest.String] returns. Only lower-case hex
// is accepted, so every digest has exactly one text form.
func ParseDigest(s string) (Digest, error) {
	var d Digest
	hx, ok := strings.CutPrefix(s, digestPrefix)
	if !ok || len(hx) != 2*len(d) {
		return d, malformed("digest %q is not sha256:<64 hex digits>", clip(s))
	}
	for i := 0; i < len(hx); i++ {
		c := hx[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return d, malformed("digest %q is not sha256:<64 lower-case hex digits>", clip(s))
		}
	}
	hex.Decode(d[:], []byte(hx))
	return d, nil
}

// MarshalText returns [Digest.String].
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText accepts what [ParseDigest] accepts.
func (d *Digest) UnmarshalText(b []byte) error {
	v, err := ParseDigest(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Header is the signed header of a snapshot file: everything a reader
// needs to decide whether to trust, apply or skip the body that follows.
// The package documentation describes each field's rules.
type Header struct {
	// Version is the format version; always [Version].
	Version int
	// Publisher names who publishes the list (1 to 256 bytes of UTF-8).
	Publisher string
	// Issuers are the certificate issuers the list is authoritative for,
	// sorted and unique (at most 1024, each 1 to 256 bytes).
	Issuers []string
	// Serial increases strictly with every publication (1 to 2^53-1).
	Serial uint64
	// ThisUpdate is when the list was made; NextUpdate is when the next one
	// is due. Both are UTC with second resolution, and NextUpdate is after
	// ThisUpdate.
	ThisUpdate time.Time
	NextUpdate time.Time
	// Kind is [KindFull] or [KindDelta].
	Kind Kind
	// BaseSerial and BaseDigest name the list a delta applies to: its
	// serial and its ListDigest. Zero for a full snapshot.
	BaseSerial uint64
	BaseDigest Digest
	// ListDigest is the body digest of the full snapshot of the list at
	// Serial; for a full snapshot it equals BodyDigest. A reader that
	// applied a delta can re-encode its list with a [BodyWriter] and compare.
	ListDigest Digest
	// ListCount is the number of entries in the list at Serial.
	ListCount uint64
	// Upserts and Removals count the items in the body. A full snapshot
	// has Upserts == ListCount and no removals.
	Upserts  uint64
	Removals uint64
	// BodyLength and BodyDigest are the length and SHA-256 of the body.
	BodyLength int64
	BodyDigest Digest
	// KeyID and Algorithm come from the JWS protected header: the "kid"
	// of the signing key and "EdDSA" or "ES256". On write they are taken
	// from the signing key.
	KeyID     string
	Algorithm string
}

// Limits bounds what a reader accepts. A nil *Limits means [DefaultLimits];
// a zero field means that field's default.
type Limits struct {
	// MaxHeaderBytes bounds the JWS line of a snapshot.
	MaxHeaderBytes int
	// MaxBodyBytes bounds a snapshot body.
	MaxBodyBytes int64
	// MaxEntries bounds list_count, upserts and removals.
	MaxEntries uint64
}

// DefaultLimits are the bounds used when none are given.
var DefaultLimits = Limits{MaxHeaderBytes: 64 << 10, MaxBodyBytes: 2 << 30, MaxEntries: 200_000_000}

// withDefaults returns lim with every zero field set to its default.
func (lim *Limits) withDefaults() Limits {
	l := DefaultLimits
	if lim == nil {
		return l
	}
	if lim.MaxHeaderBytes > 0 {
		l.MaxHeaderBytes = lim.MaxHeaderBytes
	}
	if lim.MaxBodyBytes > 0 {
		l.MaxBodyBytes = lim.MaxBodyBytes
	}
	if lim.MaxEntries > 0 {
		l.MaxEntries = lim.MaxEntries
	}
	return l
}

// noLimits is what writers check against: the format's own bounds only.
var noLimits = Limits{MaxHeaderBytes: 1 << 30, MaxBodyBytes: 1<<63 - 1, MaxEntries: 1<<64 - 1}

// Format bounds that hold whatever the [Limits].
const (
	// MaxSerial is the largest serial: 2^53-1, so that every serial is
	// exact in any JSON implementation.
	MaxSerial = 1<<53 - 1
	// MaxIssuers bounds the issuers list of a header or index.
	MaxIssuers = 1024
	// MaxNameBytes bounds the publisher and each issuer.
	MaxNameBytes = 256
)

// timeLayout is RFC 3339 in UTC with second resolution.
const timeLayout = "2006-01-02T15:04:05Z"

// wireTime is a time in the header's one text form. It does not embed
// time.Time, whose JSON methods would accept other forms.
type wireTime struct{ t time.Time }

func (t wireTime) MarshalText() ([]byte, error) {
	return []byte(t.t.UTC().Format(timeLayout)), nil
}

func (t *wireTime) UnmarshalText(b []byte) error {
	v, err := time.Parse(timeLayout, string(b))
	if err != nil || v.Format(timeLayout) != string(b) {
		return malformed("time %q is not RFC 3339 UTC with second resolution (like 2026-11-22T09:00:00Z)", clip(string(b)))
	}
	t.t = v
	return nil
}

// wireHeader is the JSON payload of a snapshot's JWS. Field order here is
// the order on the wire.
type wireHeader struct {
	V          int       `json:"v"`
	Publisher  string    `json:"publisher"`
	Issuers    []string  `json:"issuers"`
	Serial     uint64    `json:"serial"`
	ThisUpdate wireTime  `json:"this_update"`
	NextUpdate wireTime  `json:"next_update"`
	Kind       Kind      `json:"kind"`
	BaseSerial uint64    `json:"base_serial,omitempty"`
	BaseDigest *Digest   `json:"base_digest,omitempty"`
	ListDigest Digest    `json:"list_digest"`
	ListCount  uint64    `json:"list_count"`
	Upserts    uint64    `json:"upserts"`
	Removals   *uint64   `json:"removals,omitempty"`
	BodyLength int64     `json:"body_length"`
	BodyDigest Digest    `json:"body_digest"`
	Crit       *[]string `json:"crit,omitempty"`
}

// headerFields are the payload fields version 1 defines; a "crit" list may
// name only these.
var headerFields = map[string]bool{
	"v": true, "publisher": true, "issuers": true, "serial": true,
	"this_update": true, "next_update": true, "kind": true,
	"base_serial": true, "base_digest": true, "list_digest": true,
	"list_count": true, "upserts": true, "removals": true,
	"body_length": true, "body_digest": true, "crit": true,
}

// requiredHeaderFields must be present in every header; deltas also need
// base_serial, base_digest and removals.
var requiredHeaderFields = []string{
	"v", "publisher", "issuers", "serial", "this_update", "next_update", "kind",
	"list_digest", "list_count", "upserts", "body_length", "body_digest",
}

func (h *Header) wire() wireHeader {
	w := wireHeader{
		V:          h.Version,
		Publisher:  h.Publisher,
		Issuers:    h.Issuers,
		Serial:     h.Serial,
		ThisUpdate: wireTime{h.ThisUpdate},
		NextUpdate: wireTime{h.NextUpdate},
		Kind:       h.Kind,
		ListDigest: h.ListDigest,
		ListCount:  h.ListCount,
		Upserts:    h.Upserts,
		BodyLength: h.BodyLength,
		BodyDigest: h.BodyDigest,
	}
	if w.Issuers == nil {
		w.Issuers = []string{}
	}
	if h.Kind == KindDelta {
		w.BaseSerial = h.BaseSerial
		bd := h.BaseDigest
		w.BaseDigest = &bd
		r := h.Removals
		w.Removals = &r
	}
	return w
}

// parseHeaderPayload decodes and validates a snapshot header payload. The
// version and "crit" are checked first, so that a header from a newer
// version fails with ErrUnsupportedVersion rather than as malformed.
func parseHeaderPayload(payload []byte, lim Limits) (*Header, error) {
	fields, err := checkObject(payload, headerFields)
	if err != nil {
		return nil, err
	}
	for _, f := range requiredHeaderFields {
		if !fields[f] {
			return nil, malformed("header lacks %q", f)
		}
	}
	var w wireHeader
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&w); err != nil {
		return nil, jsonError("header", err)
	}
	h := &Header{
		Version:    w.V,
		Publisher:  w.Publisher,
		Issuers:    w.Issuers,
		Serial:     w.Serial,
		ThisUpdate: w.ThisUpdate.t,
		NextUpdate: w.NextUpdate.t,
		Kind:       w.Kind,
		BaseSerial: w.BaseSerial,
		ListDigest: w.ListDigest,
		ListCount:  w.ListCount,
		Upserts:    w.Upserts,
		BodyLength: w.BodyLength,
		BodyDigest: w.BodyDigest,
	}
	if w.Kind == KindDelta {
		for _, f := range []string{"base_serial", "base_digest", "removals"} {
			if !fields[f] {
				return nil, malformed("delta header lacks %q", f)
			}
		}
	} else {
		for _, f := range []string{"base_serial", "base_digest", "removals"} {
			if fields[f] {
				return nil, malformed("%q is only for deltas", f)
			}
		}
	}
	if w.BaseDigest != nil {
		h.BaseDigest = *w.BaseDigest
	}
	if w.Removals != nil {
		h.Removals = *w.Removals
	}
	if err := h.validate(lim); err != nil {
		return nil, err
	}
	return h, nil
}

// checkObject checks that payload is one JSON object with unique member
// names, then applies the version rule: "v" must be [Version], and every
// name in "crit" must be in known. It returns the member names present.
func checkObject(payload []byte, known map[string]bool) (map[string]bool, error) {
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return nil, malformed("payload is not a JSON object")
	}
	fields := make(map[string]bool)
	var version json.Number
	var crit []string
	critSeen := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, jsonError("payload", err)
		}
		name, _ := tok.(string)
		if fields[name] {
			return nil, malformed("duplicate field %q", clip(name))
		}
		if len(fields) >= 256 {
			return nil, malformed("too many fields")
		}
		fields[name] = true
		switch name {
		case "v":
			if err := dec.Decode(&version); err != nil {
				return nil, malformed("field \"v\" is not a number")
			}
		case "crit":
			critSeen = true
			if err := dec.Decode(&crit); err != nil {
				return nil, malformed("field \"crit\" is not a list of strings")
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, jsonError("payload", err)
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return nil, jsonError("payload", err)
	}
	if _, err := dec.Token(); err == nil {
		return nil, malformed("data after the JSON object")
	}
	if !fields["v"] {
		return nil, malformed("no version field \"v\"")
	}
	if version.String() != "1" {
		return nil, fmt.Errorf("%w: format version %s (this reader knows %d)", ErrUnsupportedVersion, clip(version.String()), Version)
	}
	if critSeen {
		if len(crit) == 0 {
			return nil, malformed("\"crit\" is empty")
		}
		for _, c := range crit {
			if !known[c] {
				return nil, fmt.Errorf("%w: critical field %q is not understood", ErrUnsupportedVersion, clip(c))
			}
		}
	}
	return fields, nil
}

// jsonError turns a JSON decoding error into an ErrMalformed one, keeping
// our own errors (from UnmarshalText) as they are.
func jsonError(what string, err error) error {
	if isOurs(err) {
		return err
	}
	return malformed("%s: %v", what, err)
}

// validate checks every field rule against the limits.
func (h *Header) validate(lim Limits) error {
	if h.Version != Version {
		return fmt.Errorf("%w: format version %d", ErrUnsupportedVersion, h.Version)
	}
	if err := checkNames(h.Publisher, h.Issuers); err != nil {
		return err
	}
	if err := checkSerial("serial", h.Serial); err != nil {
		return err
	}
	if err := checkDates(h.ThisUpdate, h.NextUpdate); err != nil {
		return err
	}
	for _, c := range []struct {
		name string
		n    uint64
	}{{"list_count", h.ListCount}, {"upserts", h.Upserts}, {"removals", h.Removals}} {
		if c.n > lim.MaxEntries {
			return fmt.Errorf("%w: %s %d is above the limit of %d entries", ErrTooLarge, c.name, c.n, lim.MaxEntries)
		}
	}
	if h.BodyLength > lim.MaxBodyBytes {
		return fmt.Errorf("%w: body_length %d is above the limit of %d bytes", ErrTooLarge, h.BodyLength, lim.MaxBodyBytes)
	}
	if h.BodyLength < minBodyLength {
		return malformed("body_length %d is below the minimum of %d", h.BodyLength, minBodyLength)
	}
	// Every item but the first of a block costs at least one bit.
	if maxItems := 8 * uint64(h.BodyLength); h.BodyLength < 1<<60 && (h.Upserts > maxItems || h.Removals > maxItems) {
		return malformed("%d upserts and %d removals cannot fit in %d bytes", h.Upserts, h.Removals, h.BodyLength)
	}
	if h.Upserts > h.ListCount {
		return malformed("upserts %d exceed list_count %d", h.Upserts, h.ListCount)
	}
	switch h.Kind {
	case KindFull:
		if h.BaseSerial != 0 || !h.BaseDigest.IsZero() || h.Removals != 0 {
			return malformed("a full snapshot has no base and no removals")
		}
		if h.Upserts != h.ListCount {
			return malformed("full snapshot: upserts %d differ from list_count %d", h.Upserts, h.ListCount)
		}
		if h.ListDigest != h.BodyDigest {
			return malformed("full snapshot: list_digest differs from body_digest")
		}
	case KindDelta:
		if err := checkSerial("base_serial", h.BaseSerial); err != nil {
			return err
		}
		if h.BaseSerial >= h.Serial {
			return malformed("base_serial %d is not below serial %d", h.BaseSerial, h.Serial)
		}
	default:
		return malformed("kind %q is neither %q nor %q", clip(string(h.Kind)), KindFull, KindDelta)
	}
	return nil
}

func checkNames(publisher string, issuers []string) error {
	if err := checkName("publisher", publisher); err != nil {
		return err
	}
	if len(issuers) > MaxIssuers {
		return fmt.Errorf("%w: %d issuers (at most %d)", ErrTooLarge, len(issuers), MaxIssuers)
	}
	for i, is := range issuers {
		if err := checkName("issuer", is); err != nil {
			return err
		}
		if i > 0 && issuers[i-1] >= is {
			return malformed("issuers are not sorted and unique at %q", clip(is))
		}
	}
	return nil
}

func checkName(what, s string) error {
	if s == "" || len(s) > MaxNameBytes || !utf8.ValidString(s) {
		return malformed("%s %q must be 1 to %d bytes of UTF-8", what, clip(s), MaxNameBytes)
	}
	return nil
}

func checkSerial(what string, s uint64) error {
	if s < 1 || s > MaxSerial {
		return malformed("%s %d is outside 1..2^53-1", what, s)
	}
	return nil
}

func checkDates(this, next time.Time) error {
	for _, t := range []time.Time{this, next} {
		if t.Year() < 1 || t.Year() > 9999 || t.Nanosecond() != 0 {
			return malformed("time %v is not a whole second in years 1..9999", t)
		}
	}
	if !next.After(this) {
		return malformed("next_update %s is not after this_update %s", next.UTC().Format(timeLayout), this.UTC().Format(timeLayout))
	}
	return nil
}

// clip shortens s for an error message, so hostile input cannot make
// errors huge.
func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// isOurs reports whether err wraps one of the sentinels above.
func isOurs(err error) bool {
	for _, s := range []error{ErrBadSignature, ErrUnknownKey, ErrDigestMismatch, ErrUnsupportedVersion, ErrTooLarge, ErrMalformed} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}
