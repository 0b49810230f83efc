package crl

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
	"unsafe"

	"github.com/dchest/siphash"
)

// keyDomain is the SipHash key under which issuers' keys are derived: 16
// ASCII bytes that set crlverify's keys apart from every other use of
// SipHash.
const keyDomain = "crlverify/v1 key"

// The two 64-bit halves of keyDomain, read little-endian as the SipHash
// specification reads its key.
var (
	domainK0 = binary.LittleEndian.Uint64([]byte(keyDomain[:8]))
	domainK1 = binary.LittleEndian.Uint64([]byte(keyDomain[8:]))
)

// Key names a revoked certificate in public lists. It is computed in two
// steps with SipHash-2-4 (Aumasson and Bernstein):
//
//	k0, k1 = SipHash-2-4-128(key "crlverify/v1 key", issuer)
//	Key    = SipHash-2-4(key k0, k1, certificate id)
//
// Issuer and id are the exact bytes of the UTF-8 strings the certificate
// carries. SipHash's key is 16 bytes, read as two little-endian 64-bit
// halves; the 128-bit variant's 16 output bytes split the same way into k0
// and k1, and Key is the 64-bit value SipHash returns (its 8 output bytes
// read little-endian). Keys sort as unsigned integers, which is also the
// byte order of [Key.Bytes].
//
// SipHash is a keyed pseudorandom function built for short inputs, so keys
// are uniform, which the Bloom filter and the snapshot encoding rely on,
// and cheap: a verifier derives an issuer's key once ([Keyer]) and then
// pays about 10 ns per certificate id, where a truncated SHA-256 costs
// 80–120 ns. The keys involved are public, so this is not a
// collision-resistant hash: whoever picks certificate ids could make two
// share a key. Issuers pick ids and sign them, and a collision an issuer
// makes only revokes two of its own certificates at once. No public
// function of a guessable id can hide it: a key keeps a certificate id out
// of plain sight, not out of reach of someone trying candidate ids.
type Key uint64

// Keyer computes the keys of one issuer's certificates. Deriving it costs
// a hash of the issuer; each key then costs a hash of the certificate id
// alone. The zero Keyer is not useful; make one with [KeyerOf].
type Keyer struct{ k0, k1 uint64 }

// KeyerOf returns the Keyer of issuer.
func KeyerOf(issuer string) Keyer {
	k0, k1 := siphash.Hash128(domainK0, domainK1, bytesOf(issuer))
	return Keyer{k0, k1}
}

// Key returns the key of certificateID. It does not allocate.
func (kr Keyer) Key(certificateID string) Key {
	return Key(siphash.Hash(kr.k0, kr.k1, bytesOf(certificateID)))
}

// KeyOf returns the public key of the certificate id issued by issuer:
// KeyerOf(issuer).Key(certificateID). It does not allocate.
func KeyOf(issuer, certificateID string) Key {
	return KeyerOf(issuer).Key(certificateID)
}

// bytesOf returns the bytes of s without copying them, for the hash
// functions, which only read their input.
func bytesOf(s string) []byte { return unsafe.Slice(unsafe.StringData(s), len(s)) }

// Bytes returns k as 8 big-endian bytes (the form used as a bbolt key).
func (k Key) Bytes() [8]byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(k))
	return b
}

// KeyFromBytes is the inverse of [Key.Bytes]; b must hold 8 bytes.
func KeyFromBytes(b []byte) Key { return Key(binary.BigEndian.Uint64(b)) }

// String returns k as 16 lower-case hex digits.
func (k Key) String() string { return fmt.Sprintf("%016x", uint64(k)) }

// Entry is one revocation. Times are Unix seconds (UTC, second resolution),
// which keeps an Entry small when lists hold millions of them.
type Entry struct {
	Key Key
	// RevokedAt is when the certificate was revoked or suspended.
	RevokedAt int64
	// Reason says why.
	Reason Reason
	// SuspendedUntil, when non-zero, makes the entry a suspension: the
	// certificate is revoked before this instant and valid again from it.
	SuspendedUntil int64
}

// Revoked returns when the entry was made, as a time.Time.
func (e Entry) Revoked() time.Time { return time.Unix(e.RevokedAt, 0).UTC() }

// Until returns the end of a suspension, or the zero time for a permanent
// revocation.
func (e Entry) Until() time.Time {
	if e.SuspendedUntil == 0 {
		return time.Time{}
	}
	return time.Unix(e.SuspendedUntil, 0).UTC()
}

// IsSuspension reports whether the entry ends at [Entry.SuspendedUntil].
func (e Entry) IsSuspension() bool { return e.SuspendedUntil != 0 }

// InForce reports whether the entry makes its certificate not valid at time
// at: a revocation always is; a suspension until its end.
func (e Entry) InForce(at time.Time) bool {
	return e.SuspendedUntil == 0 || at.Unix() < e.SuspendedUntil
}

// Reason is why a certificate was revoked. Codes 0–10 are RFC 5280's
// CRLReason values under their RFC names; 11–13 are the reasons health
// certificate platforms such as DIVOC revoke for. Every code is below 16.
//
//	code  name                  meaning
//	0     unspecified           no reason given
//	1     keyCompromise         the holder's key was compromised
//	2     cACompromise          the issuing authority's key was compromised
//	3     affiliationChanged    the subject's affiliation changed
//	4     superseded            replaced by a corrected certificate (DIVOC "update")
//	5     cessationOfOperation  the issuer stopped operating
//	6     certificateHold       temporarily on hold (see Entry.SuspendedUntil)
//	8     removeFromCRL         (RFC 5280 delta CRLs; kept for completeness)
//	9     privilegeWithdrawn    the right the certificate grants was withdrawn
//	10    aACompromise          an attribute authority was compromised
//	11    dataError             the encoded data was wrong
//	12    tampering             tampering or unauthorised access at issuance
//	13    faultyBatch           the vaccine batch was recalled or faulty
type Reason uint8

// The reason codes; see [Reason] for the table.
const (
	ReasonUnspecified          Reason = 0
	ReasonKeyCompromise        Reason = 1
	ReasonCACompromise         Reason = 2
	ReasonAffiliationChanged   Reason = 3
	ReasonSuperseded           Reason = 4
	ReasonCessationOfOperation Reason = 5
	ReasonCertificateHold      Reason = 6
	ReasonRemoveFromCRL        Reason = 8
	ReasonPrivilegeWithdrawn   Reason = 9
	ReasonAACompromise         Reason = 10
	ReasonDataError            Reason = 11
	ReasonTampering            Reason = 12
	ReasonFaultyBatch          Reason = 13
)

// MaxReason is the largest reason code a list may carry.
const MaxReason Reason = 15

var reasonNames = map[Reason]string{
	ReasonUnspecified:          "unspecified",
	ReasonKeyCompromise:        "keyCompromise",
	ReasonCACompromise:         "cACompromise",
	ReasonAffiliationChanged:   "affiliationChanged",
	ReasonSuperseded:           "superseded",
	ReasonCessationOfOperation: "cessationOfOperation",
	ReasonCertificateHold:      "certificateHold",
	ReasonRemoveFromCRL:        "removeFromCRL",
	ReasonPrivilegeWithdrawn:   "privilegeWithdrawn",
	ReasonAACompromise:         "aACompromise",
	ReasonDataError:            "dataError",
	ReasonTampering:            "tampering",
	ReasonFaultyBatch:          "faultyBatch",
}

// String returns the reason's name, or "reason(N)" for an unassigned code.
func (r Reason) String() string {
	if s, ok := reasonNames[r]; ok {
		return s
	}
	return "reason(" + strconv.Itoa(int(r)) + ")"
}

// Valid reports whether r is one of the named reasons of the table (7 and
// 14–15 are not).
func (r Reason) Valid() bool {
	_, ok := reasonNames[r]
	return ok
}

// ParseReason accepts a reason's name (case-sensitive, as in the table) or
// its decimal code; a code without a name (7, 14, 15) is refused. The
// empty string is [ReasonUnspecified].
func ParseReason(s string) (Reason, error) {
	if s == "" {
		return ReasonUnspecified, nil
	}
	for r, name := range reasonNames {
		if name == s {
			return r, nil
		}
	}
	if n, err := strconv.ParseUint(s, 10, 8); err == nil && Reason(n).Valid() {
		return Reason(n), nil
	}
	return 0, fmt.Errorf("unknown revocation reason %q (want one of %s, or its code)", s, reasonList())
}

// Reasons returns every named reason in code order.
func Reasons() []Reason {
	var rs []Reason
	for r := Reason(0); r <= MaxReason; r++ {
		if _, ok := reasonNames[r]; ok {
			rs = append(rs, r)
		}
	}
	return rs
}

func reasonList() string {
	s := ""
	for i, r := range Reasons() {
		if i > 0 {
			s += ", "
		}
		s += r.String()
	}
	return s
}

// MarshalText encodes r as its name.
func (r Reason) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText accepts what [ParseReason] accepts.
func (r *Reason) UnmarshalText(b []byte) error {
	v, err := ParseReason(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
