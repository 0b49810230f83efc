package main

import "errors"

// Exit codes, one table for every command.
const (
	// ExitOK: success; for check and scan, every input is valid and not
	// revoked on a fresh list.
	ExitOK = 0
	// ExitInvalid: some certificate is not valid (revoked, suspended,
	// expired, not yet valid, bad signature, holder not signed, unknown
	// issuer, malformed), or a downloaded list was refused (forged, rolled
	// back, wrong base).
	ExitInvalid = 1
	// ExitError: usage error, or an I/O error that stopped the work.
	ExitError = 2
	// ExitUnknown: otherwise valid, but revocation status is unknown: no
	// list for the issuer, or the list is past next-update beyond the grace.
	ExitUnknown = 3
)

// When the inputs of one command call for different codes (scan's batch:
// one revoked, one unreadable, one valid with no list), the code is the
// first that applies in this order: 1, 2, 3, 0. A certificate found not
// valid is never hidden behind another input's I/O error; 2 then says
// some input was not judged at all, so neither "all valid" (0) nor "only
// the revocation status is missing" (3) would be true. A usage error, or
// an I/O error that stops the whole command (a damaged store), is 2 with
// no verdicts.

const exitCodeHelp = `Exit codes (every command):
  0  success; for check/scan every input valid and not revoked on a fresh list
  1  some certificate not valid (revoked, suspended, expired, bad signature,
     holder not signed, unknown issuer, malformed), or a downloaded list was
     refused
  2  usage or I/O error (for scan: some input could not be read)
  3  revocation status unknown (no list for the issuer, or list too old)
When inputs call for different codes (a scan of many files), the first of
1, 2, 3 that applies wins: a certificate not valid is never hidden behind
another input that could not be read.`

// exitError carries an exit code through cobra to run. A nil err means the
// command already reported everything it had to say.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string {
	if e.err == nil {
		return "exit status " + itoa(e.code)
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }

// withCode makes err end the process with code.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// exitCode maps an error returned by a command to its exit code. Errors that
// carry no code are usage or I/O errors.
func exitCode(err error) int {
	var e *exitError
	if errors.As(err, &e) {
		return e.code
	}
	return ExitError
}

func itoa(n int) string {
	if n >= 0 && n < 10 {
		return string(rune('0' + n))
	}
	return "?"
}
