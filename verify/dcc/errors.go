package dcc

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, one per step of decoding and verifying. Every error this
// package returns wraps exactly one of them, so a caller (and a test
// honouring a step's expected result) branches with [errors.Is].
var (
	// ErrTooLarge: an input or an intermediate form is over its bound
	// (payload length, inflated size, CBOR nesting or element count).
	ErrTooLarge = errors.New("dcc: too large")

	// ErrPrefix: the payload does not start with the context identifier
	// "HC1:" (another version such as "HC2:", a typo such as "HL0:", or
	// bare base45).
	ErrPrefix = errors.New("dcc: not an HC1 payload")

	// ErrBase45: the text after the prefix is not valid base45: a character
	// outside the alphabet, a length that leaves one character over, or a
	// group whose value does not fit its bytes.
	ErrBase45 = errors.New("dcc: invalid base45")

	// ErrCompression: the base45 content is not one complete zlib stream
	// (not compressed at all, corrupt, truncated, bad checksum, trailing
	// bytes).
	ErrCompression = errors.New("dcc: invalid zlib compression")

	// ErrCOSE: the decompressed bytes are not a well-formed COSE_Sign1
	// message (tagged 18 or untagged, possibly inside CWT tag 61) with a
	// byte-string payload and signature and valid headers.
	ErrCOSE = errors.New("dcc: invalid COSE_Sign1 message")

	// ErrCWT: the COSE payload is not a CWT claims map as the hcert
	// specification defines it: iss (1) a string, iat (6) and exp (4)
	// present and numeric, hcert (-260) a map holding key 1.
	ErrCWT = errors.New("dcc: invalid CWT claims")

	// ErrDCC: the certificate (claim -260, key 1) is not JSON-compatible
	// CBOR: a map with string keys whose values are strings, numbers,
	// booleans, null, arrays and maps.
	ErrDCC = errors.New("dcc: invalid certificate data")

	// ErrSchema: the certificate does not follow the EU DCC JSON schema of
	// the version it names. A [*SchemaError] lists the violations.
	ErrSchema = errors.New("dcc: certificate does not follow the DCC schema")

	// ErrUnsupportedAlgorithm: the COSE algorithm is not ES256 or PS256, or
	// does not fit the document signer's key.
	ErrUnsupportedAlgorithm = errors.New("dcc: unsupported signature algorithm")

	// ErrUnknownSigner: no trusted document signer certificate has the
	// message's key identifier, or the message has none.
	ErrUnknownSigner = errors.New("dcc: unknown document signer")

	// ErrKIDMismatch: the message's key identifier is not the one of the
	// document signer certificate it was checked against.
	ErrKIDMismatch = errors.New("dcc: key identifier does not match the document signer certificate")

	// ErrBadSignature: the signature does not verify with the document
	// signer's key.
	ErrBadSignature = errors.New("dcc: bad signature")

	// ErrKeyUsage: the document signer certificate's extended key usage
	// does not allow the certificate's type (vaccination, test, recovery).
	ErrKeyUsage = errors.New("dcc: document signer not allowed to sign this certificate type")

	// ErrSignerValidity: the certificate was issued (iat) before its
	// document signer certificate's validity began, or expires (exp) after
	// it ends.
	ErrSignerValidity = errors.New("dcc: outside the document signer certificate's validity")

	// ErrCountryMismatch: the CWT issuer country is not the document
	// signer's country.
	ErrCountryMismatch = errors.New("dcc: issuer country does not match the document signer")

	// ErrNotYetValid: the certificate was issued (iat) after the time of
	// the check.
	ErrNotYetValid = errors.New("dcc: not yet valid")

	// ErrExpired: the time of the check is at or after the certificate's
	// expiry (exp).
	ErrExpired = errors.New("dcc: expired")

	// ErrSignerList: a document signer certificate file, directory or list
	// cannot be read: bad PEM or DER, bad JSON, a kid that does not match
	// its certificate, over a bound.
	ErrSignerList = errors.New("dcc: invalid document signer list")

	// ErrValueSet: a value set file cannot be read.
	ErrValueSet = errors.New("dcc: invalid value set")
)

// SchemaError lists how a certificate departs from the DCC schema. It
// wraps [ErrSchema].
type SchemaError struct {
	// Version is the schema version the certificate names ("ver").
	Version string
	// Problems holds one line per violation, each starting with the JSON
	// path of the value ("nam.fnt: ...").
	Problems []string
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("%v (version %q): %s", ErrSchema, e.Version, strings.Join(e.Problems, "; "))
}

func (e *SchemaError) Unwrap() error { return ErrSchema }

// wrap returns an error wrapping sentinel with a formatted explanation.
func wrap(sentinel error, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}
