package verify

import (
	"errors"
	"fmt"
	"time"

	"github.com/crlverify/crlverify/verify/trust"
)

// Format reads one kind of certificate for the verdict. The verdict
// ([Verifier.VerifyPayload]) asks each of the Verifier's formats in turn
// whether a payload is theirs ([Format.Detect]), hands it to the first
// that says yes, and then calls what it returns in a fixed order, the
// first failure deciding the status:
//
//  1. [Format.Read] parses the payload: an error is MALFORMED.
//  2. [Document.Describe] gives what the certificate says, for display.
//  3. [Document.Verify] checks the signature against the trust store: an
//     error is BAD_SIGNATURE, or the status it carries ([Reject]), such as
//     UNKNOWN_ISSUER. It returns the [Checks] the rest of the verdict
//     needs.
//  4. The holder: fields the signature does not cover are UNSIGNED_HOLDER
//     unless the issuer's policy accepts them (Checks.UnsignedFields).
//  5. Revocation: the ids of Checks.IDs under Checks.CRLIssuer in the
//     signed snapshots of the CRL store, and the issuer's own list
//     (Checks.IssuerList): REVOKED, SUSPENDED.
//  6. Validity: Checks.Validity says NOT_YET_VALID or EXPIRED.
//  7. Otherwise VALID, with the revocation status known or not.
//
// A new format is a new implementation of Format, given to the Verifier
// in [Options.Formats]; the verdict does not change. The formats this
// package has are [NewSHCFormat], [NewDCCFormat] and [NewDIVOCFormat].
type Format interface {
	// Name is the format's name, as [Result.Format] reports it.
	Name() string
	// Detect reports, from the first bytes of payload alone, whether it
	// is in this format.
	Detect(payload []byte) bool
	// Read parses payload into the certificates it holds: normally one,
	// several for a file that bundles them (a .smart-health-card file).
	// typed is true when the payload was read from a file or a terminal
	// rather than from a 2D code, and may end with a line break. An error
	// makes the verdict MALFORMED.
	Read(payload []byte, typed bool) ([]Document, error)
}

// Document is one certificate a [Format] has read, not yet trusted.
type Document interface {
	// Describe returns what the certificate says, for display.
	Describe() Description
	// Verify checks the certificate's signature against the trust store
	// at time at (the time of the check; the format decides which
	// signing time a key's validity is judged at). An error is
	// BAD_SIGNATURE unless it carries another status ([Reject]).
	Verify(ts *trust.Store, at time.Time) (*Checks, error)
}

// Description is what a [Document] says before it is verified.
type Description struct {
	// Certificate holds the display fields (Result.Certificate).
	Certificate *Certificate
	// PayloadForm says how the payload carried the certificate
	// (Result.PayloadForm); Type what kind of certificate it is, where the
	// format has kinds (Result.CertificateType).
	PayloadForm string
	Type        string
}

// Checks is what the verdict needs of a certificate whose signature
// verified.
type Checks struct {
	// IssuerName and KeyID name the issuer and key that signed, for
	// display (Certificate.IssuerName, Certificate.KeyID); empty leaves
	// what Describe said.
	IssuerName, KeyID string

	// UnsignedFields names the Certificate fields (by JSON name) the
	// signature does not cover; UnsignedWhy says why. With
	// AcceptUnsignedHolder (the issuer's policy) the certificate may still
	// be VALID, its fields marked unsigned; otherwise it is
	// UNSIGNED_HOLDER.
	UnsignedFields       []string
	UnsignedWhy          string
	AcceptUnsignedHolder bool

	// CRLIssuer is the issuer the certificate is looked up under in the
	// signed snapshots, IDs the ids looked up (the certificate's own id
	// first): a revocation or suspension of any of them decides.
	CRLIssuer string
	IDs       []string
	// CRLPublisherKeys, when set, are the thumbprints of the publisher
	// keys whose lists may answer under CRLIssuer (the trust entry's
	// crl_publisher_keys): an answer from a list signed by another key is
	// ignored, the status then unknown.
	CRLPublisherKeys []string
	// NoCRLIssuer, when set, says why there is no issuer to look the
	// certificate up under (its trust entry is bound to none): the
	// snapshots are not asked, and the revocation status is unknown.
	NoCRLIssuer string
	// NoID, when set, says why the certificate has no id of its own: a
	// list that does not revoke it then leaves its revocation status
	// unknown, with this explanation.
	NoID string
	// IssuerList, when set, answers from the issuer's own revocation list
	// (a SMART Health Cards issuer's), beside the snapshots. It is called
	// with the Verifier's CRL store (nil when there is none).
	IssuerList func(crls Revocations, at time.Time) Revocation

	// Validity judges the certificate's dates and its issuer's policy at
	// the time of the check, tolerating skew (a certificate issued up to
	// skew after it): NOT_YET_VALID or EXPIRED with the reason, or "" when
	// it is valid. Nil: no dates to judge.
	Validity func(at time.Time, skew time.Duration) (Status, string)
}

// Rejection is an error of [Format.Read] or [Document.Verify] that gives
// the verdict a status of its own.
type Rejection struct {
	Status Status
	Err    error
}

func (r *Rejection) Error() string { return r.Err.Error() }
func (r *Rejection) Unwrap() error { return r.Err }

// Reject returns err with the status it gives the verdict.
func Reject(s Status, err error) error { return &Rejection{Status: s, Err: err} }

// statusOf returns the status an error of Verify gives.
func statusOf(err error, otherwise Status) Status {
	var r *Rejection
	if errors.As(err, &r) {
		return r.Status
	}
	return otherwise
}

// formats returns the Verifier's formats.
func (v *Verifier) formats() []Format {
	if v.opts.Formats != nil {
		return v.opts.Formats
	}
	return v.defaults
}

// detect returns the format of payload, or nil.
func (v *Verifier) detect(payload []byte) Format {
	for _, f := range v.formats() {
		if f.Detect(payload) {
			return f
		}
	}
	return nil
}

// notACertificate explains a payload no format claims.
func (v *Verifier) notACertificate() string {
	names := ""
	fs := v.formats()
	for i, f := range fs {
		switch {
		case i == 0:
		case i == len(fs)-1:
			names += " nor "
		default:
			names += ", "
		}
		names += describeFormat(f.Name())
	}
	if names == "" {
		return "no certificate format is configured"
	}
	return fmt.Sprintf("not a certificate this verifier reads: neither %s", names)
}

func describeFormat(name string) string {
	switch name {
	case FormatDIVOC:
		return "a DIVOC credential (ZIP or JSON)"
	case FormatSHC:
		return `a SMART Health Card ("shc:/", a JWS or a .smart-health-card file)`
	case FormatDCC:
		return `an EU Digital COVID Certificate ("HC1:")`
	}
	return "a " + name + " certificate"
}

// The names of the formats this package has, as Result.Format reports
// them.
const (
	FormatDIVOC = "divoc"
	FormatSHC   = "shc"
	FormatDCC   = "dcc"
)
