package verify

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crlverify/crlverify/verify/divoc"
	"github.com/crlverify/crlverify/verify/trust"
)

// NewDIVOCFormat returns the [Format] of DIVOC W3C credentials (package
// divoc): a QR code's ZIP, raw or UTF-8-expanded, or the credential's
// JSON. contexts resolves the JSON-LD contexts credentials name (nil: the
// bundled ones).
//
// The signature is checked with the keys of the proof's verification
// method in the trust store, at the proof's creation time (else the
// issuance date); the holder is unsigned when the signature does not cover
// the credentialSubject (the issuer's policy may accept it); the ids
// looked up are every value the signature binds that a revocation could
// name, under the issuer the trust entry is bound to (its crl_issuer),
// never the issuer the credential names: a signer could name another
// authority's and be judged by its list. Without a crl_issuer the
// revocation status is unknown. The dates are the issuance, proof and
// expiration dates, and the policy's effective window and maximum age.
func NewDIVOCFormat(contexts *divoc.Contexts) Format { return divocFormat{contexts} }

type divocFormat struct{ contexts *divoc.Contexts }

func (divocFormat) Name() string { return FormatDIVOC }

// Detect: a ZIP (raw, or UTF-8-expanded: its first bytes are the same), or
// a JSON object.
func (divocFormat) Detect(b []byte) bool {
	if bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		return true
	}
	j := bytes.TrimLeft(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), " \t\r\n")
	return len(j) > 0 && j[0] == '{'
}

func (f divocFormat) Read(b []byte, _ bool) ([]Document, error) {
	cred, form, err := divoc.ParsePayload(b)
	if err != nil {
		return nil, err
	}
	return []Document{&divocDoc{cred: cred, form: form, contexts: f.contexts}}, nil
}

type divocDoc struct {
	cred     *divoc.Credential
	form     divoc.Form
	contexts *divoc.Contexts
}

func (d *divocDoc) Describe() Description {
	c := d.cred
	return Description{
		PayloadForm: d.form.String(),
		Certificate: &Certificate{
			ID:                 c.Evidence.CertificateID,
			Issuer:             c.Issuer,
			VerificationMethod: c.Proof.VerificationMethod,
			ProofType:          c.Proof.Type,
			Name:               c.Subject.Name,
			DateOfBirth:        c.Subject.DOB.Raw,
			Gender:             c.Subject.Gender,
			Age:                c.Subject.Age,
			Dose:               c.Evidence.Dose,
			TotalDoses:         c.Evidence.TotalDoses,
			Vaccine:            c.Evidence.Vaccine,
			Manufacturer:       c.Evidence.Manufacturer,
			Batch:              c.Evidence.Batch,
			VaccinationDate:    c.Evidence.Date.Raw,
			IssuedAt:           c.IssuanceDate.Time,
		},
	}
}

func (d *divocDoc) Verify(ts *trust.Store, at time.Time) (*Checks, error) {
	cred := d.cred
	signed, err := divoc.Prepare(cred, &divoc.Options{Contexts: d.contexts})
	if err != nil {
		if errors.Is(err, divoc.ErrBadSignature) {
			return nil, err
		}
		return nil, Reject(StatusMalformed, err)
	}
	entry, key, err := ts.Check(cred.Proof.VerificationMethod, divocSigningTime(cred, at), signed.Verify)
	chk := &Checks{}
	if entry != nil {
		chk.IssuerName = entry.Name
	}
	if key != nil {
		chk.KeyID = key.ID
	}
	switch {
	case errors.Is(err, trust.ErrUnknownIssuer):
		return chk, Reject(StatusUnknownIssuer, err)
	case errors.Is(err, trust.ErrKeyTerminated):
		return chk, fmt.Errorf("signed with a terminated key: %w", err)
	case errors.Is(err, trust.ErrKeyNotValidAt):
		return chk, fmt.Errorf("signed outside its key's validity: %w", err)
	case err != nil:
		return chk, err
	}
	policy := entry.Policy
	if unsigned := signed.UnsignedHolder(); len(unsigned) > 0 {
		chk.UnsignedFields = divocUnsignedFields(d.Describe().Certificate, unsigned)
		chk.UnsignedWhy = divocUnsignedWhy(cred)
		chk.AcceptUnsignedHolder = policy.AcceptUnsignedHolder
	}
	// The issuer the trust entry is bound to, never the one the credential
	// names: its signer chose that, and could name another authority's.
	if is, ok := entry.RevocationIssuer(); ok {
		chk.CRLIssuer, chk.CRLPublisherKeys = is, entry.CRLPublisherKeys
	} else {
		chk.NoCRLIssuer = fmt.Sprintf("the trust store binds %s to no revocation issuer (crl_issuer): the issuer the credential names (%s) is its signer's choice, not the verifier's, and is not used; "+
			"bind it with crlverify trust add %s KEYFILE --crl-issuer ISSUER", entry.VerificationMethod, cred.Issuer, entry.VerificationMethod)
	}
	chk.IDs = signed.RevocationIDs()
	if cred.Evidence.CertificateID == "" {
		// The other signed values are looked up (a revocation of any of
		// them counts), but without a certificate id "not revoked" means
		// nothing.
		chk.NoID = "the certificate has no certificate id to look up"
	}
	chk.Validity = func(at time.Time, skew time.Duration) (Status, string) {
		return divocValidity(cred, policy, at, skew)
	}
	return chk, nil
}

// divocUnsignedFields maps the credentialSubject keys the signature does
// not cover to the Certificate fields they fill (by JSON name). Keys no
// Certificate field shows (the subject's id, refId, nationality) are left
// out.
func divocUnsignedFields(c *Certificate, keys []string) []string {
	var out []string
	for _, f := range []struct{ key, field, value string }{
		{"name", "name", c.Name}, {"dob", "date_of_birth", c.DateOfBirth}, {"gender", "gender", c.Gender}, {"age", "age", c.Age},
	} {
		if f.value != "" && slices.Contains(keys, f.key) {
			out = append(out, f.field)
		}
	}
	return out
}

// divocUnsignedWhy says why a DIVOC credential's holder is not signed.
func divocUnsignedWhy(c *divoc.Credential) string {
	if c.Subject.ID == "" {
		return "its credentialSubject has an empty id, so its signature covers nothing about the holder"
	}
	return fmt.Sprintf("its credentialSubject id %q is not an absolute IRI, so its signature covers nothing about the holder", c.Subject.ID)
}

// divocSigningTime is when the certificate says it was signed: the
// proof's creation, else its issuance, else the time of the check.
func divocSigningTime(c *divoc.Credential, at time.Time) time.Time {
	switch {
	case !c.Proof.Created.IsZero():
		return c.Proof.Created.Time
	case !c.IssuanceDate.IsZero():
		return c.IssuanceDate.Time
	}
	return at
}

// divocValidity applies the certificate's own dates and the issuer's
// policy.
func divocValidity(c *divoc.Credential, p trust.Policy, at time.Time, skew time.Duration) (Status, string) {
	latest := at.Add(skew)
	for _, d := range []struct {
		name string
		date divoc.Date
	}{{"issued", c.IssuanceDate}, {"signed", c.Proof.Created}} {
		if !d.date.IsZero() && d.date.Time.After(latest) {
			return StatusNotYetValid, fmt.Sprintf("%s %s, after the time of the check (%s)", d.name, d.date.Raw, at.UTC().Format(time.RFC3339))
		}
	}
	if !c.ExpirationDate.IsZero() && !at.Before(endOf(c.ExpirationDate)) {
		return StatusExpired, "expired " + c.ExpirationDate.Raw
	}
	if p.EnforceEffectiveWindow {
		e := c.Evidence
		if !e.EffectiveStart.IsZero() && e.EffectiveStart.Time.After(latest) {
			return StatusNotYetValid, "effective from " + e.EffectiveStart.Raw
		}
		if !e.EffectiveUntil.IsZero() && !at.Before(endOf(e.EffectiveUntil)) {
			return StatusExpired, "effective until " + e.EffectiveUntil.Raw
		}
	}
	if p.MaxAge > 0 && !c.IssuanceDate.IsZero() {
		if end := c.IssuanceDate.Time.Add(time.Duration(p.MaxAge)); !at.Before(end) {
			return StatusExpired, fmt.Sprintf("issued %s; the issuer's policy limits certificates to %s", c.IssuanceDate.Raw, p.MaxAge)
		}
	}
	return "", ""
}

// endOf returns the first instant after d: the next midnight for a date,
// the instant itself for a timestamp.
func endOf(d divoc.Date) time.Time {
	if d.DateOnly {
		return d.Time.AddDate(0, 0, 1)
	}
	return d.Time
}
