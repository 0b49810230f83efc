package shc

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Every error this package returns wraps one of the first
// five, each of which maps to one verdict (see the package documentation),
// so a caller can branch with [errors.Is].
var (
	// ErrMalformed: the bytes are not a well-formed SMART Health Card, key
	// set or revocation list (bad numeric encoding, bad base64url, bad
	// DEFLATE, bad JSON, a header or claim of the wrong shape, a bound
	// exceeded, chunks that do not fit together).
	ErrMalformed = errors.New("shc: malformed")

	// ErrUnknownIssuer: no key set is configured for the card's issuer, or
	// the issuer's key set has no key with the card's kid
	// ([ErrUnknownKey]).
	ErrUnknownIssuer = errors.New("shc: unknown issuer")

	// ErrBadSignature: the signature does not verify with the issuer's key,
	// is not in the 64-byte r||s form ES256 requires, or the key the card
	// names is not usable (not an ES256 signing key, its private part
	// published, its x5c chain inconsistent or not trusted).
	ErrBadSignature = errors.New("shc: bad signature")

	// ErrExpired: the card's exp is not after the time of the check. It is
	// reported inside a [*ValidityError].
	ErrExpired = errors.New("shc: expired")

	// ErrNotYetValid: the card's nbf is after the time of the check. It is
	// reported inside a [*ValidityError].
	ErrNotYetValid = errors.New("shc: not yet valid")
)

// Refinements, always reported together with one of the sentinels above.
var (
	// ErrTooLarge: an input is over one of the package's bounds. Always
	// reported with ErrMalformed.
	ErrTooLarge = errors.New("too large")

	// ErrIncomplete: a chunk of a multi-chunk card was given without every
	// other chunk. Always reported with ErrMalformed; a scanning UI can ask
	// for the remaining codes (see [Joiner.Missing]).
	ErrIncomplete = errors.New("not every chunk of the card is present")

	// ErrUnknownKey: the issuer is configured but its key set has no
	// signing key with the card's kid. Always reported with
	// ErrUnknownIssuer, inside an [*UnknownKeyError].
	ErrUnknownKey = errors.New("unknown key")

	// ErrCRLVersion: a revocation list's ctr is not the crlVersion of the
	// key it belongs to, so it is not the list the issuer currently
	// publishes for that key. Reported inside a [*CRLVersionError].
	ErrCRLVersion = errors.New("shc: revocation list counter does not match the key's crlVersion")
)

// malformed returns an error wrapping ErrMalformed.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// tooLarge returns an error wrapping ErrMalformed and ErrTooLarge.
func tooLarge(format string, args ...any) error {
	return fmt.Errorf("%w: %w: %s", ErrMalformed, ErrTooLarge, fmt.Sprintf(format, args...))
}

// badSignature returns an error wrapping ErrBadSignature.
func badSignature(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadSignature, fmt.Sprintf(format, args...))
}

// NumericError reports where a numeric QR payload ("shc:/…") breaks the
// encoding. It wraps [ErrMalformed].
type NumericError struct {
	// Offset is the byte offset in the payload of the first bad byte.
	Offset int
	// Reason says what is wrong there.
	Reason string
}

func (e *NumericError) Error() string {
	return fmt.Sprintf("shc: malformed numeric payload: %s at offset %d", e.Reason, e.Offset)
}

// Unwrap returns ErrMalformed.
func (e *NumericError) Unwrap() error { return ErrMalformed }

// UnknownKeyError reports a kid the issuer's key set does not hold. It
// wraps [ErrUnknownKey] and [ErrUnknownIssuer].
type UnknownKeyError struct {
	Issuer string
	KID    string
}

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("shc: unknown key: the key set of %s has no signing key %q", e.Issuer, e.KID)
}

// Unwrap returns ErrUnknownKey and ErrUnknownIssuer.
func (e *UnknownKeyError) Unwrap() []error { return []error{ErrUnknownKey, ErrUnknownIssuer} }

// ValidityError reports a card outside its validity at the time of the
// check. It wraps [ErrExpired] or [ErrNotYetValid] (Err).
type ValidityError struct {
	// Err is ErrExpired or ErrNotYetValid.
	Err error
	// At is the time of the check.
	At time.Time
	// NotBefore and Expires are the card's nbf and exp (Expires is zero
	// when the card has no exp).
	NotBefore, Expires time.Time
}

func (e *ValidityError) Error() string {
	at := e.At.UTC().Format(time.RFC3339)
	if errors.Is(e.Err, ErrExpired) {
		return fmt.Sprintf("shc: expired %s (exp), before the time of the check %s", formatTime(e.Expires), at)
	}
	return fmt.Sprintf("shc: not yet valid: issued %s (nbf), after the time of the check %s", formatTime(e.NotBefore), at)
}

// Unwrap returns Err.
func (e *ValidityError) Unwrap() error { return e.Err }

// CRLVersionError reports a revocation list whose ctr differs from its
// key's crlVersion. It wraps [ErrCRLVersion].
type CRLVersionError struct {
	KID string
	// KeyVersion is the crlVersion of the key in the issuer's key set;
	// ListCounter the ctr of the list.
	KeyVersion, ListCounter int64
}

func (e *CRLVersionError) Error() string {
	which := "the list is older than the key set"
	if e.ListCounter > e.KeyVersion {
		which = "the key set is older than the list"
	}
	return fmt.Sprintf("shc: revocation list of key %q has ctr %d, the key's crlVersion is %d: %s",
		e.KID, e.ListCounter, e.KeyVersion, which)
}

// Unwrap returns ErrCRLVersion.
func (e *CRLVersionError) Unwrap() error { return ErrCRLVersion }

// formatTime writes t in RFC 3339, with milliseconds when it has them.
func formatTime(t time.Time) string {
	if t.Nanosecond() == 0 {
		return t.UTC().Format(time.RFC3339)
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z07:00")
}
