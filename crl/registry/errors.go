package registry

import (
	"errors"
	"fmt"
	"strings"
)

// Errors a caller can branch on with errors.Is.
var (
	// ErrInvalid: a request or an input row is malformed or out of bounds
	// (no selector or two, an empty actor, a note too long, a suspension
	// that ends before it starts, ...).
	ErrInvalid = errors.New("registry: invalid request")
	// ErrRule: a request breaks one of the revocation rules; the error is
	// a *RuleError naming the rule.
	ErrRule = errors.New("registry: revocation rule")
	// ErrNotFound: the registry knows no certificate for a selector that
	// needs one (an unknown beneficiary or batch, lifting an id it never
	// heard of).
	ErrNotFound = errors.New("registry: not found")
	// ErrIssuerRequired: no issuer was given and the registry cannot tell
	// which one is meant. It wraps ErrInvalid.
	ErrIssuerRequired = fmt.Errorf("%w: issuer required", ErrInvalid)
	// ErrLocked: another process kept the registry file for longer than
	// the lock attempts allowed.
	ErrLocked = errors.New("registry: file is in use by another process")
	// ErrClosed: the Registry was closed.
	ErrClosed = errors.New("registry: closed")
	// ErrTooManyIssuers: adding an issuer would exceed MaxIssuers.
	ErrTooManyIssuers = errors.New("registry: too many issuers")
	// ErrLayout: the file is not a registry of the layout this version
	// reads (not a registry at all, or one written by an older version).
	ErrLayout = errors.New("registry: unsupported file")

	errCorrupt = errors.New("registry: corrupt registry file")
)

// The revocation rules a *RuleError names.
const (
	// RuleDoseNotIssued: a dose asked for was not issued to the
	// beneficiary.
	RuleDoseNotIssued = "dose-not-issued"
	// RuleDosesConsecutive: the doses asked for are not consecutive (or
	// repeat one).
	RuleDosesConsecutive = "doses-consecutive"
	// RuleDosesIncludeLatest: the doses asked for leave the beneficiary's
	// latest dose standing: revoking an earlier dose alone is refused,
	// because the later certificate restates it.
	RuleDosesIncludeLatest = "doses-include-latest"
	// RuleRevokedNotSuspendable: a permanently revoked certificate cannot
	// be suspended (lift the revocation first).
	RuleRevokedNotSuspendable = "revoked-not-suspendable"
	// RuleIssuerAmbiguous: the selector matches certificates of several
	// issuers and no issuer was given.
	RuleIssuerAmbiguous = "issuer-ambiguous"
)

// RuleError is a request refused by a revocation rule.
type RuleError struct {
	Rule string // one of the Rule* names
	Msg  string // what was asked and why it breaks the rule
}

func (e *RuleError) Error() string { return "registry: rule " + e.Rule + ": " + e.Msg }

// Is makes errors.Is(err, ErrRule) true.
func (e *RuleError) Is(target error) bool { return target == ErrRule }

func ruleErr(rule, format string, args ...any) error {
	return &RuleError{Rule: rule, Msg: fmt.Sprintf(format, args...)}
}

// RowError is one bad input row of an import.
type RowError struct {
	Line int   // 1-based line number in the input
	Err  error // why
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// ImportError lists the bad rows of an input that was refused as a whole:
// nothing of it was applied.
type ImportError struct {
	Rows []*RowError
	// Truncated is set when more bad rows followed than were reported.
	Truncated bool
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nothing imported: %d bad row", len(e.Rows))
	if len(e.Rows) != 1 {
		b.WriteString("s")
	}
	if e.Truncated {
		b.WriteString(" (and more)")
	}
	for i, r := range e.Rows {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(r.Error())
	}
	return b.String()
}

// Unwrap returns the row errors, so errors.Is finds e.g. ErrInvalid.
func (e *ImportError) Unwrap() []error {
	out := make([]error, len(e.Rows))
	for i, r := range e.Rows {
		out[i] = r
	}
	return out
}
