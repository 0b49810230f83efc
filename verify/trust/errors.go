package trust

import "errors"

// Sentinel errors; every error this package returns about a store or a key
// wraps one of them, or is an I/O error.
var (
	// ErrUnknownIssuer: the store has no key for the verification method.
	ErrUnknownIssuer = errors.New("trust: unknown issuer")
	// ErrKeyTerminated: the key that signed is marked terminated.
	ErrKeyTerminated = errors.New("trust: key terminated")
	// ErrKeyNotValidAt: the key is outside its validity window at the
	// time asked about.
	ErrKeyNotValidAt = errors.New("trust: key not valid at that time")
	// ErrUnknownContext: the store maps no context with that URL.
	ErrUnknownContext = errors.New("trust: unknown context mapping")
	// ErrUnknownKey: the entry has no key with that id.
	ErrUnknownKey = errors.New("trust: unknown key")
	// ErrUnsupportedKey: a private key, or a key of a kind or size a
	// verifier does not use.
	ErrUnsupportedKey = errors.New("trust: unsupported key")
	// ErrMalformed: a store file or a key that cannot be read.
	ErrMalformed = errors.New("trust: malformed")
	// ErrTooLarge: a store file or a key over its size bound.
	ErrTooLarge = errors.New("trust: too large")
)
