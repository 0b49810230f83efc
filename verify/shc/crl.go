package shc

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Bounds on revocation identifiers and lists.
const (
	// MaxRIDLength is the most characters a rid may have (the
	// specification's limit).
	MaxRIDLength = 24
	// MaxCRLSize is the most bytes a revocation list may have: some
	// 400,000 entries.
	MaxCRLSize = 16 << 20
)

// MethodRID is the revocation method of the specification's lists.
const MethodRID = "rid"

// checkRID checks a revocation id: 1 to MaxRIDLength characters of the
// base64url alphabet.
func checkRID(rid string) error {
	if rid == "" {
		return errors.New("empty revocation id")
	}
	if len(rid) > MaxRIDLength {
		return fmt.Errorf("revocation id of %d characters, more than %d", len(rid), MaxRIDLength)
	}
	for i := 0; i < len(rid); i++ {
		if c := rid[i]; !isJWSChar(c) || c == '.' {
			return fmt.Errorf("revocation id %q holds %q, outside the base64url alphabet", rid, c)
		}
	}
	return nil
}

// DeriveRID computes a revocation id the way the specification recommends
// issuers do: the base64url encoding of the first 64 bits of
// HMAC-SHA-256, keyed with the issuer's secret followed by the kid of the
// signing key, over the issuer's own id for the holder (or the card). The
// result has 11 characters. Verifiers never derive rids; they read vc.rid.
func DeriveRID(secret []byte, kid, id string) string {
	m := hmac.New(sha256.New, append(slices.Clone(secret), kid...))
	m.Write([]byte(id))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:8])
}

// CRL is an issuer's card revocation list for one of its keys, as
// published at Issuer + "/.well-known/crl/" + kid + ".json":
//
//	{"kid": "…", "method": "rid", "ctr": 3, "rids": ["AQPCj4wwk6Mt", "lHKzqFUMjhs.1636977600"]}
//
// A rid alone revokes every card of the key with that vc.rid; "rid.T"
// revokes only those whose nbf is before T (seconds since 1970), so an
// issuer can revoke every card of a holder up to a time and issue new ones
// after it. The list applies only to cards signed with its kid; ctr counts
// its updates and must equal the key's crlVersion in the issuer's key set.
type CRL struct {
	KID     string
	Method  string
	Counter int64
	entries map[string]time.Time
}

// Entry is one revoked rid of a [CRL]: every card of the key with vc.rid
// ID, or, when Before is not zero, only those with nbf before it.
type Entry struct {
	ID     string
	Before time.Time
}

// ParseCRL reads a revocation list (at most [MaxCRLSize] bytes): a JSON
// object with a kid, method "rid" (other methods are refused), ctr (a
// positive integer) and rids, an array of rids (see [CRL]) each optionally
// followed by "." and a timestamp (seconds, a fraction allowed, before the
// year 5138). Unknown members are ignored. When a rid is listed more than
// once, the entries merge: a plain rid revokes every card, else the latest
// timestamp wins.
func ParseCRL(b []byte) (*CRL, error) {
	if len(b) > MaxCRLSize {
		return nil, tooLarge("revocation list of %d bytes, more than %d", len(b), MaxCRLSize)
	}
	top, err := decodeObject(b)
	if err != nil {
		return nil, malformed("revocation list: %v", err)
	}
	l := &CRL{entries: map[string]time.Time{}}
	var ok bool
	if l.KID, ok = top["kid"].(string); !ok || l.KID == "" {
		return nil, malformed("revocation list: no kid")
	}
	if l.Method, ok = top["method"].(string); !ok {
		return nil, malformed("revocation list: no method")
	}
	if l.Method != MethodRID {
		return nil, malformed("revocation list: method %q is not supported (only %q)", l.Method, MethodRID)
	}
	ctr, ok := top["ctr"]
	if !ok {
		return nil, malformed("revocation list: no ctr")
	}
	if l.Counter, err = positiveInt(ctr); err != nil {
		return nil, malformed("revocation list: ctr: %v", err)
	}
	rids, ok := top["rids"].([]any)
	if !ok {
		return nil, malformed("revocation list: no rids array")
	}
	for i, v := range rids {
		s, ok := v.(string)
		if !ok {
			return nil, malformed("revocation list: rids[%d] is not a string", i)
		}
		e, err := parseEntry(s)
		if err != nil {
			return nil, malformed("revocation list: rids[%d]: %v", i, err)
		}
		prev, seen := l.entries[e.ID]
		switch {
		case !seen, e.Before.IsZero(), !prev.IsZero() && e.Before.After(prev):
			l.entries[e.ID] = e.Before
		}
	}
	return l, nil
}

// parseEntry reads "rid" or "rid.timestamp".
func parseEntry(s string) (Entry, error) {
	rid, ts, hasTS := strings.Cut(s, ".")
	if err := checkRID(rid); err != nil {
		return Entry{}, err
	}
	e := Entry{ID: rid}
	if !hasTS {
		return e, nil
	}
	ip, frac, hasFrac := strings.Cut(ts, ".")
	if ip == "" || !allDigits(ip) || hasFrac && (frac == "" || !allDigits(frac)) {
		return Entry{}, fmt.Errorf("%q: the timestamp after %q is not a number of seconds", s, rid)
	}
	t, err := parseNumericDate(ts)
	if err != nil {
		return Entry{}, fmt.Errorf("%q: timestamp %v", s, err)
	}
	e.Before = t
	return e, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Len returns the number of distinct rids the list revokes.
func (l *CRL) Len() int { return len(l.entries) }

// Revokes reports whether the list revokes a card of its key with
// revocation id rid issued at nbf.
func (l *CRL) Revokes(rid string, nbf time.Time) bool {
	before, ok := l.entries[rid]
	return ok && (before.IsZero() || nbf.Before(before))
}

// Lookup returns the list's entry for the revocation id rid, if it has
// one.
func (l *CRL) Lookup(rid string) (Entry, bool) {
	before, ok := l.entries[rid]
	return Entry{ID: rid, Before: before}, ok
}

// RevokesCard reports whether the list revokes c: c is signed with the
// list's key and [CRL.Revokes] its rid and nbf. A card without a rid is
// never revoked by a list.
func (l *CRL) RevokesCard(c *Card) bool {
	s := c.signed
	return s.kid == l.KID && s.rid != "" && l.Revokes(s.rid, s.nbf)
}

// Entries returns the list's entries sorted by ID, one per rid. A list
// carries no revocation times: an entry with a zero Before was revoked at
// an unknown time, one with Before revokes the cards issued before it.
func (l *CRL) Entries() []Entry {
	out := make([]Entry, 0, len(l.entries))
	for id, before := range l.entries {
		out = append(out, Entry{ID: id, Before: before})
	}
	slices.SortFunc(out, func(a, b Entry) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// CheckKey checks that the list belongs to k and is the one the issuer
// currently publishes for it: the kids match, and the list's ctr equals the
// key's crlVersion (a [*CRLVersionError] otherwise). A key without
// crlVersion has no list to match.
func (l *CRL) CheckKey(k *Key) error {
	if l.KID != k.ID {
		return malformed("revocation list of key %q, not of key %q", l.KID, k.ID)
	}
	if k.CRLVersion == 0 {
		return fmt.Errorf("%w: key %q has no crlVersion: its issuer publishes no revocation list for it", ErrCRLVersion, k.ID)
	}
	if l.Counter != k.CRLVersion {
		return &CRLVersionError{KID: k.ID, KeyVersion: k.CRLVersion, ListCounter: l.Counter}
	}
	return nil
}
