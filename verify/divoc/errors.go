package divoc

import "errors"

// Sentinel errors. Every error this package returns wraps one of them, so a
// caller can branch with [errors.Is].
var (
	// ErrTooLarge: a payload, an inflated entry, a credential or a context
	// is over its size bound, or the credential is nested too deeply.
	ErrTooLarge = errors.New("divoc: too large")

	// ErrMalformed: the bytes are not a well-formed DIVOC payload or
	// credential (bad ZIP, bad UTF-8, bad JSON, a field of the wrong shape).
	ErrMalformed = errors.New("divoc: malformed")

	// ErrNotDIVOC: the payload is neither a ZIP nor a JSON object, so it is
	// probably another certificate format. It is always reported together
	// with ErrMalformed.
	ErrNotDIVOC = errors.New("not a DIVOC payload (neither a ZIP nor a JSON object)")

	// ErrUnsupportedProof: the proof is of a type, algorithm or purpose this
	// package does not verify.
	ErrUnsupportedProof = errors.New("divoc: unsupported proof")

	// ErrUnknownContext: the credential names a JSON-LD context that is not
	// in the configured [Contexts]. Contexts are never fetched.
	ErrUnknownContext = errors.New("divoc: unknown JSON-LD context")

	// ErrBadSignature: the signature does not verify with the given key, the
	// key does not fit the proof, or the credential is not signed.
	ErrBadSignature = errors.New("divoc: bad signature")

	// ErrUnsignedField: a field this package reports (a name, a date, the
	// certificate id ...) is not covered by the signature: JSON-LD dropped
	// it because no context defines it. It is always reported together with
	// ErrBadSignature.
	ErrUnsignedField = errors.New("field not covered by the signature")
)
