package crl

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"
)

// keyDomain separates entry-key digests from every other use of SHA-256.
const keyDomain = "crlverify/v1 entry key\x00"

// Key names a revoked certificate in public lists: the first 8 bytes, read
// big-endian, of SHA-256(keyDomain || uvarint(len(issuer)) || issuer ||
// uvarint(len(id)) || id). Keys sort as unsigned integers, which is also the
// byte order of [Key.Bytes].
type Key uint64

// KeyOf returns the public key of the certificate id issued by issuer.
// It does not allocate.
func KeyOf(issuer, certificateID string) Key {
	var (
		sum [sha256.Size]byte
		buf [keyBufSize]byte
	)
	if len(keyDomain)+2*binary.MaxVarintLen64+len(issuer)+len(certificateID) <= len(buf) {
		// The usual case: the whole message is built on the stack and
		// hashed in one call.
		m := append(buf[:0], keyDomain...)
		m = binary.AppendUvarint(m, uint64(len(issuer)))
		m = append(m, issuer...)
		m = binary.AppendUvarint(m, uint64(len(certificateID)))
		m = append(m, certificateID...)
		sum = sha256.Sum256(m)
		return Key(binary.BigEndian.Uint64(sum[:]))
	}
	// Longer inputs stream through the hash, a buffer at a time.
	h := sha256.New()
	h.Write(binary.AppendUvarint(append(buf[:0], keyDomain...), uint64(len(issuer))))
	for s := issuer; len(s) > 0; {
		n := copy(buf[:], s)
		h.Write(buf[:n])
		s = s[n:]
	}
	h.Write(binary.AppendUvarint(buf[:0], uint64(len(certificateID))))
	for s := certificateID; len(s) > 0; {
		n := copy(buf[:], s)
		h.Write(buf[:n])
		s = s[n:]
	}
	h.Sum(sum[:0])
	return Key(binary.BigEndian.Uint64(sum[:]))
}

// keyBufSize bounds the messages [KeyOf] builds on the stack: an issuer and
// id of up to about 200 bytes together.
const keyBufSize = 256

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

// ParseReason accepts a reason's name (case-sensitive, as in the table) or
// its decimal code. The empty string is [ReasonUnspecified].
func ParseReason(s string) (Reason, error) {
	if s == "" {
		return ReasonUnspecified, nil
	}
	for r, name := range reasonNames {
		if name == s {
			return r, nil
		}
	}
	if n, err := strconv.ParseUint(s, 10, 8); err == nil && Reason(n) <= MaxReason {
		return Reason(n), nil
	}
	return 0, fmt.Errorf("unknown revocation reason %q (want one of %s)", s, reasonList())
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
