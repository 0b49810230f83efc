package verify

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/crlverify/crlverify/verify/divoc"
	"github.com/crlverify/crlverify/verify/qr"
	"github.com/crlverify/crlverify/verify/store"
	"github.com/crlverify/crlverify/verify/trust"
)

// Revocations answers whether a certificate is revoked. [*store.Store]
// implements it.
type Revocations interface {
	Check(issuer, certificateID string, at time.Time) (store.Result, error)
}

// Options configures a [Verifier]. A nil *Options means defaults.
type Options struct {
	// Contexts resolves the JSON-LD contexts DIVOC credentials name. Nil:
	// the bundled ones with the trust store's context mappings
	// ([ContextsFor]), as they are when the Verifier is made.
	Contexts *divoc.Contexts
	// QR bounds and tunes image decoding. Nil: qr's defaults.
	QR *qr.Options
	// ClockSkew tolerates a certificate issued or signed this much after the
	// time of the check (device clocks drift). Default: none.
	ClockSkew time.Duration
}

// Verifier checks certificates against a trust store and a CRL store. It is
// safe for concurrent use when its stores are.
type Verifier struct {
	trust *trust.Store
	crls  Revocations
	opts  Options
}

// New returns a Verifier. crls may be nil: every revocation status is then
// unknown, and no certificate is conclusively VALID.
func New(ts *trust.Store, crls Revocations, opts *Options) *Verifier {
	v := &Verifier{trust: ts, crls: crls}
	if opts != nil {
		v.opts = *opts
	}
	if v.trust == nil {
		v.trust = trust.New()
	}
	if v.opts.Contexts == nil && len(v.trust.Contexts()) > 0 {
		// A mapping that cannot be used leaves its URL unknown, so the
		// credentials naming it are refused; ContextsFor says why.
		// Without mappings, the bundled contexts are shared (nil), their
		// processed forms cached across Verifiers.
		v.opts.Contexts, _ = ContextsFor(v.trust)
	}
	return v
}

// ContextsFor returns the bundled JSON-LD contexts ([divoc.DefaultContexts])
// with the context mappings of ts added: a URL mapped to a bundled URL is
// served that URL's document, a URL mapped to an embedded document that
// document. A bundled URL keeps its bundled document whatever ts says. The
// error lists the mappings that could not be used (a same_as URL that is
// not bundled, a document that is not a context); their URLs stay unknown.
func ContextsFor(ts *trust.Store) (*divoc.Contexts, error) {
	c := divoc.DefaultContexts()
	var errs []error
	for _, m := range ts.Contexts() {
		var err error
		switch {
		case divoc.IsBundled(m.URL):
			err = errors.New("it is bundled, and keeps its bundled document")
		case m.SameAs != "" && !divoc.IsBundled(m.SameAs):
			err = fmt.Errorf("same as %s, which is not a bundled context", m.SameAs)
		case m.SameAs != "":
			err = c.Alias(m.URL, m.SameAs)
		default:
			if err = c.Add(m.URL, []byte(m.Document)); err == nil {
				err = c.Check(m.URL)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("trust store context %s: %w", m.URL, err))
		}
	}
	return c, errors.Join(errs...)
}

// VerifyFile reads a photo of a QR code (PNG, JPEG, GIF) or a file holding
// the payload itself, and verifies what it carries at time at.
func (v *Verifier) VerifyFile(path string, at time.Time) Result {
	r, _ := v.VerifyFileContext(context.Background(), path, at)
	return r
}

// VerifyFileContext is [Verifier.VerifyFile] with a context for the QR
// decoding, the one step that can take long. When ctx ends before the
// verdict is reached, it returns an error wrapping ctx.Err() and no
// verdict; otherwise the error is nil. The verdict never depends on how
// long the steps took.
func (v *Verifier) VerifyFileContext(ctx context.Context, path string, at time.Time) (Result, error) {
	payload, fromImage, err := qr.ReadPayloadFileContext(ctx, path, v.opts.QR)
	if stopped(ctx, err) {
		return Result{}, err
	}
	return v.afterRead(path, payload, fromImage, err, at), nil
}

// VerifyReader is [Verifier.VerifyFile] for a stream (standard input).
func (v *Verifier) VerifyReader(name string, r io.Reader, at time.Time) Result {
	res, _ := v.VerifyReaderContext(context.Background(), name, r, at)
	return res
}

// VerifyReaderContext is [Verifier.VerifyReader] with a context, as
// [Verifier.VerifyFileContext].
func (v *Verifier) VerifyReaderContext(ctx context.Context, name string, r io.Reader, at time.Time) (Result, error) {
	payload, fromImage, err := qr.ReadPayloadContext(ctx, r, v.opts.QR)
	if stopped(ctx, err) {
		return Result{}, err
	}
	return v.afterRead(name, payload, fromImage, err, at), nil
}

// stopped reports whether err is ctx ending rather than a verdict.
func stopped(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err())
}

// VerifyImage decodes the QR code in img and verifies its payload.
func (v *Verifier) VerifyImage(img image.Image, at time.Time) Result {
	payload, err := qr.Decode(img, v.opts.QR)
	return v.afterRead("", payload, true, err, at)
}

func (v *Verifier) afterRead(name string, payload []byte, fromImage bool, err error, at time.Time) Result {
	if err != nil {
		r := malformedResult(at, "%v", err)
		r.Input, r.FromImage = name, fromImage
		return r
	}
	r := v.VerifyPayload(payload, at)
	r.Input, r.FromImage = name, fromImage
	return r
}

func malformedResult(at time.Time, format string, args ...any) Result {
	return Result{
		Status:     StatusMalformed,
		Detail:     fmt.Sprintf(format, args...),
		Revocation: Revocation{Status: "not_checked"},
		At:         at,
	}
}

// VerifyPayload verifies the bytes of a QR code (a DIVOC ZIP, its
// UTF-8-expanded form, or the credential JSON) at time at. The checks run
// in this order, and the first that fails decides the status: the payload
// is readable (MALFORMED, which includes a term no context defines); an
// issuer key is trusted for it (UNKNOWN_ISSUER); the signature verifies
// with that key, which is neither terminated nor outside its window when
// the certificate was signed (BAD_SIGNATURE); the signature covers the
// holder, unless the issuer's policy accepts that it does not
// (UNSIGNED_HOLDER; accepted, the holder's fields are listed in
// UnsignedFields); the revocation list does not revoke or suspend it
// (REVOKED, SUSPENDED); it is within the validity the issuer's policy
// gives (NOT_YET_VALID, EXPIRED).
func (v *Verifier) VerifyPayload(payload []byte, at time.Time) Result {
	cred, form, err := divoc.ParsePayload(payload)
	if err != nil {
		return malformedResult(at, "%v", err)
	}
	r := Result{
		Format:      "divoc",
		PayloadForm: form.String(),
		Certificate: certificateOf(cred),
		Revocation:  Revocation{Status: "not_checked"},
		At:          at,
	}
	signed, err := divoc.Prepare(cred, &divoc.Options{Contexts: v.opts.Contexts})
	if err != nil {
		if errors.Is(err, divoc.ErrBadSignature) {
			return r.with(StatusBadSignature, err)
		}
		return r.with(StatusMalformed, err)
	}
	entry, key, err := v.trust.Check(cred.Proof.VerificationMethod, signingTime(cred, at), signed.Verify)
	if entry != nil {
		r.Certificate.IssuerName = entry.Name
	}
	if key != nil {
		r.Certificate.KeyID = key.ID
	}
	switch {
	case errors.Is(err, trust.ErrUnknownIssuer):
		return r.with(StatusUnknownIssuer, err)
	case errors.Is(err, trust.ErrKeyTerminated):
		return r.with(StatusBadSignature, fmt.Errorf("signed with a terminated key: %w", err))
	case errors.Is(err, trust.ErrKeyNotValidAt):
		return r.with(StatusBadSignature, fmt.Errorf("signed outside its key's validity: %w", err))
	case err != nil:
		return r.with(StatusBadSignature, err)
	}

	policy := entry.Policy
	if unsigned := signed.UnsignedHolder(); len(unsigned) > 0 {
		r.UnsignedFields = unsignedFields(r.Certificate, unsigned)
		if !policy.AcceptUnsignedHolder {
			r.Status = StatusUnsignedHolder
			r.Detail = UnsignedHolderDetail + " (" + unsignedWhy(cred) + ")"
			return r
		}
	}
	r.Revocation = v.revocation(entry.CRLIssuerFor(cred.Issuer), signed.RevocationIDs(), at)
	if cred.Evidence.CertificateID == "" && r.Revocation.Status == "not_revoked" {
		// The other signed values were looked up (a revocation of any of
		// them counts), but without a certificate id "not revoked" means
		// nothing.
		r.Revocation.Known = false
		r.Revocation.Status = "unknown"
		r.Revocation.Explanation = "the certificate has no certificate id to look up"
	}
	switch r.Revocation.Status {
	case "revoked":
		return r.with(StatusRevoked, fmt.Errorf("revoked on %s (%s)", day(r.Revocation.RevokedAt), r.Revocation.Reason))
	case "suspended":
		return r.with(StatusSuspended, fmt.Errorf("suspended until %s (%s)", r.Revocation.SuspendedUntil.Format(time.RFC3339), r.Revocation.Reason))
	}
	if st, why := v.validity(cred, policy, at); st != "" {
		r.Status, r.Detail = st, why
		return r
	}
	r.Status = StatusValid
	var details []string
	if len(r.UnsignedFields) > 0 {
		details = append(details, "the issuer signed this certificate, but not the holder's "+
			strings.ReplaceAll(strings.Join(r.UnsignedFields, ", "), "_", " ")+
			" (accepted by the issuer's policy): check who it belongs to another way")
	}
	if !r.Revocation.Known {
		details = append(details, "genuine and valid, but revocation status unknown: "+r.Revocation.Explanation)
	}
	r.Detail = strings.Join(details, "; ")
	return r
}

// unsignedFields maps the credentialSubject keys the signature does not
// cover to the Certificate fields they fill (by JSON name). Keys no
// Certificate field shows (the subject's id, refId, nationality) are left
// out.
func unsignedFields(c *Certificate, keys []string) []string {
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

// unsignedWhy says why a DIVOC credential's holder is not signed.
func unsignedWhy(c *divoc.Credential) string {
	if c.Subject.ID == "" {
		return "its credentialSubject has an empty id, so its signature covers nothing about the holder"
	}
	return fmt.Sprintf("its credentialSubject id %q is not an absolute IRI, so its signature covers nothing about the holder", c.Subject.ID)
}

func (r Result) with(s Status, err error) Result {
	r.Status, r.Detail = s, err.Error()
	return r
}

// signingTime is when the certificate says it was signed: the proof's
// creation, else its issuance, else the time of the check.
func signingTime(c *divoc.Credential, at time.Time) time.Time {
	switch {
	case !c.Proof.Created.IsZero():
		return c.Proof.Created.Time
	case !c.IssuanceDate.IsZero():
		return c.IssuanceDate.Time
	}
	return at
}

// validity applies the certificate's own dates and the issuer's policy.
func (v *Verifier) validity(c *divoc.Credential, p trust.Policy, at time.Time) (Status, string) {
	latest := at.Add(v.opts.ClockSkew)
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

// revocation asks the CRL store about every id the signature binds (the
// certificate id first); a revocation or suspension of any of them decides.
func (v *Verifier) revocation(issuer string, ids []string, at time.Time) Revocation {
	rev := Revocation{Status: "unknown", Freshness: "no_list", CRLIssuer: issuer}
	if len(ids) == 0 {
		rev.Explanation = "the certificate has no certificate id"
		return rev
	}
	if v.crls == nil {
		rev.Explanation = "no revocation list store"
		return rev
	}
	var first *store.Result
	for _, id := range ids {
		res, err := v.crls.Check(issuer, id, at)
		if err != nil {
			rev.Explanation = "revocation store: " + err.Error()
			return rev
		}
		if first == nil {
			first = &res
		}
		if res.Status == store.Revoked || res.Status == store.Suspended {
			return revocationOf(res, id)
		}
	}
	return revocationOf(*first, ids[0])
}

func revocationOf(res store.Result, id string) Revocation {
	rev := Revocation{
		Known:       res.Conclusive(),
		Status:      res.Status.String(),
		Freshness:   res.Freshness.String(),
		Explanation: res.Reason(),
		CRLIssuer:   res.Issuer,
		MatchedID:   id,
		Publisher:   res.Publisher,
		Serial:      res.Serial,
		ThisUpdate:  res.ThisUpdate,
		NextUpdate:  res.NextUpdate,
		AgeSeconds:  int64(res.Age / time.Second),
	}
	if res.Status == store.Revoked || res.Status == store.Suspended {
		rev.RevokedAt = res.Entry.Revoked()
		rev.Reason = res.Entry.Reason.String()
		rev.SuspendedUntil = res.Entry.Until()
	} else {
		rev.MatchedID = ""
	}
	return rev
}

func day(t time.Time) string { return t.UTC().Format("2006-01-02") }

func certificateOf(c *divoc.Credential) *Certificate {
	return &Certificate{
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
	}
}
