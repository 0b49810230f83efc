package service

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/crl/registry"
)

// Bounds on the fields of a write request.
const (
	MaxIDBytes     = registry.MaxIDBytes     // certificate_id
	MaxNameBytes   = registry.MaxNameBytes   // beneficiary_id, batch
	MaxIssuerBytes = registry.MaxIssuerBytes // issuer
	MaxNoteBytes   = registry.MaxNoteBytes   // note
	MaxDoses       = 32                      // entries of doses
	MaxDose        = registry.MaxDose        // a dose number
)

// Operations of the write endpoints.
const (
	OpRevoke  = "revoke"
	OpSuspend = "suspend"
	OpLift    = "lift"
)

// writeBody is the JSON body of POST /v1/revoke, /v1/suspend, /v1/lift.
type writeBody struct {
	CertificateID *string         `json:"certificate_id"`
	BeneficiaryID *string         `json:"beneficiary_id"`
	Doses         []int           `json:"doses"`
	AllDoses      bool            `json:"all_doses"`
	Batch         *string         `json:"batch"`
	Issuer        string          `json:"issuer"`
	Reason        json.RawMessage `json:"reason"`
	Note          string          `json:"note"`
	Until         string          `json:"until"`
}

// ParseRequest reads the JSON body of a write endpoint (op is OpRevoke,
// OpSuspend or OpLift) into a registry request, checking every field; now
// is the time a suspension must end after. The Actor is left empty, and so
// is a reason not given: the registry's default for the rule applies
// (faultyBatch for a batch, certificateHold for a suspension, and a
// revoked certificate keeps its reason). Every error wraps ErrInvalid and
// says what is wrong in words fit for the client.
func ParseRequest(op string, body []byte, now time.Time) (registry.Request, error) {
	var req registry.Request
	var b writeBody
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		return req, invalid("the body must be one JSON object with known fields: %s", jsonProblem(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return req, invalid("the body must hold one JSON object and nothing after it")
	}
	n := 0
	for _, s := range []*string{b.CertificateID, b.BeneficiaryID, b.Batch} {
		if s != nil {
			n++
		}
	}
	if n != 1 {
		return req, invalid(`give exactly one of "certificate_id", "beneficiary_id" (with "doses" or "all_doses") and "batch"`)
	}
	var err error
	switch {
	case b.CertificateID != nil:
		req.CertificateID, err = field("certificate_id", *b.CertificateID, MaxIDBytes)
	case b.BeneficiaryID != nil:
		req.BeneficiaryID, err = field("beneficiary_id", *b.BeneficiaryID, MaxNameBytes)
	default:
		req.Batch, err = field("batch", *b.Batch, MaxNameBytes)
	}
	if err != nil {
		return req, err
	}
	if req.BeneficiaryID == "" && (b.Doses != nil || b.AllDoses) {
		return req, invalid(`"doses" and "all_doses" go with "beneficiary_id"`)
	}
	if req.BeneficiaryID != "" {
		switch {
		case b.AllDoses && b.Doses != nil:
			return req, invalid(`give "doses" or "all_doses": true, not both`)
		case b.AllDoses:
			req.AllDoses = true
		case len(b.Doses) == 0:
			return req, invalid(`"beneficiary_id" needs "doses" (e.g. [2,3]) or "all_doses": true`)
		case len(b.Doses) > MaxDoses:
			return req, invalid(`"doses" lists more than %d doses`, MaxDoses)
		default:
			for _, d := range b.Doses {
				if d < 1 || d > MaxDose {
					return req, invalid(`dose %d: doses are numbered 1 to %d`, d, MaxDose)
				}
			}
			req.Doses = b.Doses
		}
	}
	if b.Issuer != "" {
		if req.Issuer, err = field("issuer", b.Issuer, MaxIssuerBytes); err != nil {
			return req, err
		}
	}
	if b.Note != "" {
		if len(b.Note) > MaxNoteBytes || !utf8.ValidString(b.Note) || strings.ContainsFunc(b.Note, isControl) {
			return req, invalid(`"note": at most %d bytes of UTF-8 text without control characters`, MaxNoteBytes)
		}
		req.Note = b.Note
	}
	switch op {
	case OpLift:
		if b.Reason != nil || b.Until != "" {
			return req, invalid(`a lift takes no "reason" or "until"`)
		}
		return req, nil
	case OpRevoke:
		if b.Until != "" {
			return req, invalid(`"until" is for /v1/suspend`)
		}
	case OpSuspend:
		if b.Until == "" {
			return req, invalid(`a suspension needs "until" (RFC 3339 time or date)`)
		}
		if req.Until, err = registry.ParseTime(b.Until); err != nil {
			return req, invalid(`"until": %v`, err)
		}
		if !req.Until.After(now) {
			return req, invalid(`"until" %s is not in the future`, req.Until.Format(time.RFC3339))
		}
	default:
		return req, invalid("unknown operation %q", op)
	}
	if b.Reason != nil {
		if req.Reason, err = parseReason(b.Reason); err != nil {
			return req, err
		}
	}
	return req, nil
}

// parseReason accepts a reason's name or code, as a JSON string or number,
// and only the reasons a revocation may give.
func parseReason(raw json.RawMessage) (crl.Reason, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		var n json.Number
		if json.Unmarshal(raw, &n) != nil {
			return 0, invalid(`"reason" must be a reason name or code`)
		}
		s = n.String()
	}
	r, err := crl.ParseReason(s)
	if err != nil || s == "" || !slices.Contains(crl.Reasons(), r) || r == crl.ReasonRemoveFromCRL {
		return 0, invalid(`"reason" %q: use one of %s`, s, reasonNames())
	}
	return r, nil
}

func reasonNames() string {
	var names []string
	for _, r := range crl.Reasons() {
		if r != crl.ReasonRemoveFromCRL {
			names = append(names, r.String())
		}
	}
	return strings.Join(names, ", ")
}

// field checks one identifier: not empty, at most max bytes of UTF-8, no
// control characters, no leading or trailing white space (which would make
// another list key than the certificate carries).
func field(name, s string, max int) (string, error) {
	switch {
	case s == "":
		return "", invalid("%q is empty", name)
	case len(s) > max:
		return "", invalid("%q is longer than %d bytes", name, max)
	case !utf8.ValidString(s):
		return "", invalid("%q is not UTF-8", name)
	case strings.TrimSpace(s) != s:
		return "", invalid("%q has leading or trailing white space", name)
	case strings.ContainsFunc(s, isControl):
		return "", invalid("%q has control characters", name)
	}
	return s, nil
}

func isControl(r rune) bool { return unicode.IsControl(r) || r == utf8.RuneError }

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}

// jsonProblem describes a JSON decoding error without echoing the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case errors.As(err, &te):
		return fmt.Sprintf("%q must be a JSON %s", te.Field, jsonKind(te.Type.Kind().String()))
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "the body ends early"
	}
	msg := err.Error()
	if f, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		if len(f) > 80 {
			f = f[:80] + `…"`
		}
		return "unknown field " + strings.ToValidUTF8(f, "?")
	}
	return "not valid JSON"
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64":
		return "integer"
	case "slice":
		return "array"
	case "ptr", "string":
		return "string"
	}
	return k
}
