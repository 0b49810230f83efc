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

	// ErrUnsignedField: a field this package reports (an issuer, a date,
	// the certificate id ...) that the signature does not cover, because
	// JSON-LD dropped the statement holding it (its node's id, or the
	// value itself, is not an absolute IRI). The issuer made the
	// credential that way; it is refused. It is always reported together
	// with ErrMalformed. The holder's fields are not refused this way:
	// see ErrUnsignedHolder.
	ErrUnsignedField = errors.New("field not covered by the signature")

	// ErrUndefinedTerm: the credential or its proof carries a key none of
	// its contexts defines. JSON-LD would drop it from the signed data
	// without a word, so whatever it says is unsigned; DIVOC's own
	// verifier (jsonld-signatures' strict expansion) refuses it too. It is
	// always reported together with ErrMalformed, and names the key.
	ErrUndefinedTerm = errors.New("a term none of its contexts defines")

	// ErrUnsignedHolder: the signature verifies, but does not cover the
	// holder. JSON-LD drops every statement about a credentialSubject
	// whose id is a relative IRI or empty (real Sri Lanka and Jamaica
	// credentials are made so), so the name, date of birth, gender and
	// age shown are not signed: anyone may change them. [Verify] returns
	// it only after the signature checked out; it does not wrap
	// ErrBadSignature. [Signed.UnsignedHolder] lists the fields.
	ErrUnsignedHolder = errors.New("divoc: the signature does not cover the holder")
)
