package snapshot

import (
	"errors"
	"fmt"
)

// Errors a caller can branch on with errors.Is. Every error this package
// returns for a refused input wraps exactly one of them.
var (
	// ErrBadSignature: the signature does not verify, is missing, or uses an
	// algorithm that is not accepted (only EdDSA and ES256 are).
	ErrBadSignature = errors.New("snapshot: bad signature")
	// ErrUnknownKey: the signing key id is not among the trusted keys.
	ErrUnknownKey = errors.New("snapshot: unknown signing key")
	// ErrDigestMismatch: the body's length or SHA-256 differs from the
	// signed header's.
	ErrDigestMismatch = errors.New("snapshot: body digest mismatch")
	// ErrUnsupportedVersion: the file's format version, or a critical
	// header field, is not understood by this implementation.
	ErrUnsupportedVersion = errors.New("snapshot: unsupported format version or critical field")
	// ErrTooLarge: a length, count or size exceeds the configured bound.
	ErrTooLarge = errors.New("snapshot: too large")
	// ErrMalformed: the bytes do not follow the format.
	ErrMalformed = errors.New("snapshot: malformed")

	// ErrRollback: the snapshot's serial is not above the one already held.
	ErrRollback = errors.New("snapshot: rollback to an older or equal serial")
	// ErrExpired: the snapshot is past its next-update time (a replay or a
	// frozen feed).
	ErrExpired = errors.New("snapshot: past next-update")
	// ErrWrongBase: a delta's base serial or base digest is not the list it
	// is being applied to.
	ErrWrongBase = errors.New("snapshot: delta applied to the wrong base")
	// ErrFastForward: the serial jumps implausibly far ahead.
	ErrFastForward = errors.New("snapshot: serial jumps too far ahead")
)

// malformed returns an error wrapping [ErrMalformed] with a description.
func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}
