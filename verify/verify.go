package verify

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"strings"
	"time"

	"github.com/crlverify/crlverify/verify/dcc"
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
	// ValueSets names the codes of EU DCC certificates for display. Nil:
	// dcc.DefaultValueSets (add the published files with
	// dcc.LoadValueSets).
	ValueSets *dcc.ValueSets
	// Formats are the certificate formats read, in the order they are
	// tried (see [Format]). Nil: SMART Health Cards, EU DCC, then DIVOC,
	// made from the other options.
	Formats []Format
	// QR bounds and tunes image decoding. Nil: qr's defaults. Images are
	// read for a QR code and, when there is none, an Aztec code
	// (qr.Options.Aztec is set on a copy).
	QR *qr.Options
	// ClockSkew tolerates a certificate issued or signed this much after the
	// time of the check (device clocks drift). Default: none.
	ClockSkew time.Duration
}

// Verifier checks certificates against a trust store and a CRL store. It is
// safe for concurrent use when its stores are.
type Verifier struct {
	trust    *trust.Store
	crls     Revocations
	opts     Options
	defaults []Format
	qr       qr.Options
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
	v.defaults = []Format{NewSHCFormat(), NewDCCFormat(v.opts.ValueSets), NewDIVOCFormat(v.opts.Contexts)}
	if v.opts.QR != nil {
		v.qr = *v.opts.QR
	}
	v.qr.Aztec = true
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

// VerifyFile reads a photo of a QR or Aztec code (PNG, JPEG, GIF) or a
// file holding the payload itself, and verifies what it carries at time
// at. A file holding several certificates (a .smart-health-card file)
// gives the verdict on the first; [Verifier.VerifyScanned] gives all.
func (v *Verifier) VerifyFile(path string, at time.Time) Result {
	r, _ := v.VerifyFileContext(context.Background(), path, at)
	return r
}

// VerifyFileContext is [Verifier.VerifyFile] with a context for the image
// decoding, the one step that can take long. When ctx ends before the
// verdict is reached, it returns an error wrapping ctx.Err() and no
// verdict; otherwise the error is nil. The verdict never depends on how
// long the steps took.
func (v *Verifier) VerifyFileContext(ctx context.Context, path string, at time.Time) (Result, error) {
	s, err := v.ReadFileContext(ctx, path)
	if err != nil {
		return Result{}, err
	}
	return v.VerifyScanned(s, at)[0], nil
}

// VerifyReader is [Verifier.VerifyFile] for a stream (standard input).
func (v *Verifier) VerifyReader(name string, r io.Reader, at time.Time) Result {
	res, _ := v.VerifyReaderContext(context.Background(), name, r, at)
	return res
}

// VerifyReaderContext is [Verifier.VerifyReader] with a context, as
// [Verifier.VerifyFileContext].
func (v *Verifier) VerifyReaderContext(ctx context.Context, name string, r io.Reader, at time.Time) (Result, error) {
	s, err := v.ReadReaderContext(ctx, name, r)
	if err != nil {
		return Result{}, err
	}
	return v.VerifyScanned(s, at)[0], nil
}

// Scanned is what one scan input held: the payload of its 2D code or of
// the file itself, or why it could not be read.
type Scanned struct {
	// Input names the input (a file name, "-").
	Input string
	// Payload is the payload read; FromImage whether it came from an
	// image's QR or Aztec code rather than from the file itself.
	Payload   []byte
	FromImage bool
	// Err says why nothing could be read (no code in the image, an image
	// too large): the input's verdict is MALFORMED.
	Err error
}

// ReadFileContext reads the file at path as [Verifier.VerifyFile] does,
// without verifying: an image's QR code (or Aztec code), or the file's
// bytes. The error is not nil only when ctx ended first.
func (v *Verifier) ReadFileContext(ctx context.Context, path string) (Scanned, error) {
	payload, fromImage, err := qr.ReadPayloadFileContext(ctx, path, &v.qr)
	if stopped(ctx, err) {
		return Scanned{}, err
	}
	return Scanned{Input: path, Payload: payload, FromImage: fromImage, Err: err}, nil
}

// ReadReaderContext is [Verifier.ReadFileContext] for a stream.
func (v *Verifier) ReadReaderContext(ctx context.Context, name string, r io.Reader) (Scanned, error) {
	payload, fromImage, err := qr.ReadPayloadContext(ctx, r, &v.qr)
	if stopped(ctx, err) {
		return Scanned{}, err
	}
	return Scanned{Input: name, Payload: payload, FromImage: fromImage, Err: err}, nil
}

// stopped reports whether err is ctx ending rather than a verdict.
func stopped(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() != nil && errors.Is(err, ctx.Err())
}

// VerifyImage decodes the QR code (or, when there is none, the Aztec code)
// in img and verifies its payload.
func (v *Verifier) VerifyImage(img image.Image, at time.Time) Result {
	payload, err := qr.Decode(img, &v.qr)
	return v.VerifyScanned(Scanned{Payload: payload, FromImage: true, Err: err}, at)[0]
}

// VerifyScanned verifies what one input held at time at: one Result per
// certificate, in order (several for a .smart-health-card file, each with
// [Result.Card] set; at least one). A payload read from a file rather than
// an image may end with a line break.
func (v *Verifier) VerifyScanned(s Scanned, at time.Time) []Result {
	var rs []Result
	if s.Err != nil {
		rs = []Result{malformedResult(at, "%v", s.Err)}
	} else {
		rs = v.verifyPayloads(s.Payload, !s.FromImage, at)
	}
	for i := range rs {
		rs[i].Input, rs[i].FromImage = s.Input, s.FromImage
	}
	return rs
}

func malformedResult(at time.Time, format string, args ...any) Result {
	return Result{
		Status:     StatusMalformed,
		Detail:     fmt.Sprintf(format, args...),
		Revocation: Revocation{Status: "not_checked"},
		At:         at,
	}
}

// VerifyPayload verifies the bytes of a QR or Aztec code at time at: a
// SMART Health Card ("shc:/" and digits, or its JWS), an EU Digital COVID
// Certificate ("HC1:"), or a DIVOC credential (a ZIP, its UTF-8-expanded
// form, or the credential's JSON). A .smart-health-card file holding
// several cards gives the verdict on the first; [Verifier.VerifyPayloads]
// gives all.
//
// The format is detected from the payload (see [Format]). The checks run
// in this order, and the first that fails decides the status: the payload
// is readable (MALFORMED, which includes a DIVOC term no context defines
// and an EU DCC off its schema); an issuer key is trusted for it
// (UNKNOWN_ISSUER); the signature verifies with that key, which is
// neither terminated nor outside its window when the certificate was
// signed (BAD_SIGNATURE; for an EU DCC also a document signer whose
// country, key usage or validity does not fit); the signature covers the
// holder, unless the issuer's policy accepts that it does not
// (UNSIGNED_HOLDER, DIVOC; accepted, the holder's fields are listed in
// UnsignedFields); the revocation lists do not revoke or suspend it
// (REVOKED, SUSPENDED); it is within its own dates and the validity the
// issuer's policy gives (NOT_YET_VALID, EXPIRED).
func (v *Verifier) VerifyPayload(payload []byte, at time.Time) Result {
	return v.verifyPayloads(payload, false, at)[0]
}

// VerifyPayloads is [Verifier.VerifyPayload] giving one Result per
// certificate the payload holds, in order: several for a
// .smart-health-card file (each with [Result.Card] set), one otherwise.
func (v *Verifier) VerifyPayloads(payload []byte, at time.Time) []Result {
	return v.verifyPayloads(payload, false, at)
}

func (v *Verifier) verifyPayloads(payload []byte, typed bool, at time.Time) []Result {
	f := v.detect(payload)
	if f == nil {
		return []Result{malformedResult(at, "%s", v.notACertificate())}
	}
	docs, err := f.Read(payload, typed)
	if err != nil || len(docs) == 0 {
		if err == nil {
			err = errors.New("no certificate in the payload")
		}
		r := malformedResult(at, "%v", err)
		r.Format = f.Name()
		return []Result{r}
	}
	out := make([]Result, len(docs))
	for i, d := range docs {
		out[i] = v.verdict(f.Name(), d, at)
		if len(docs) > 1 {
			out[i].Card, out[i].Cards = i+1, len(docs)
		}
	}
	return out
}

// verdict runs the checks on a document read by the format named format.
func (v *Verifier) verdict(format string, d Document, at time.Time) Result {
	desc := d.Describe()
	r := Result{
		Format:          format,
		PayloadForm:     desc.PayloadForm,
		CertificateType: desc.Type,
		Certificate:     desc.Certificate,
		Revocation:      Revocation{Status: "not_checked"},
		At:              at,
	}
	chk, err := d.Verify(v.trust, at)
	if chk != nil && r.Certificate != nil {
		if chk.IssuerName != "" {
			r.Certificate.IssuerName = chk.IssuerName
		}
		if chk.KeyID != "" {
			r.Certificate.KeyID = chk.KeyID
		}
	}
	if err != nil {
		return r.with(statusOf(err, StatusBadSignature), err)
	}
	if chk == nil {
		return r.with(StatusBadSignature, errors.New("the format gave no checks"))
	}

	if len(chk.UnsignedFields) > 0 {
		r.UnsignedFields = chk.UnsignedFields
		if !chk.AcceptUnsignedHolder {
			r.Status = StatusUnsignedHolder
			r.Detail = UnsignedHolderDetail
			if chk.UnsignedWhy != "" {
				r.Detail += " (" + chk.UnsignedWhy + ")"
			}
			return r
		}
	}
	if chk.NoCRLIssuer != "" {
		r.Revocation = Revocation{Status: "unknown", Freshness: "no_list", Explanation: chk.NoCRLIssuer}
	} else {
		r.Revocation = v.revocation(chk.CRLIssuer, chk.IDs, chk.CRLPublisherKeys, at)
	}
	if chk.IssuerList != nil {
		r.Revocation = combine(r.Revocation, chk.IssuerList(v.crls, at))
	}
	if chk.NoID != "" && r.Revocation.Status == "not_revoked" {
		r.Revocation.Known = false
		r.Revocation.Status = "unknown"
		r.Revocation.Explanation = chk.NoID
	}
	switch r.Revocation.Status {
	case "revoked":
		return r.with(StatusRevoked, errors.New(revokedDetail(&r.Revocation)))
	case "suspended":
		return r.with(StatusSuspended, fmt.Errorf("suspended until %s (%s)", r.Revocation.SuspendedUntil.Format(time.RFC3339), r.Revocation.Reason))
	}
	if chk.Validity != nil {
		if st, why := chk.Validity(at, v.opts.ClockSkew); st != "" {
			r.Status, r.Detail = st, why
			return r
		}
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

// revokedDetail says who revoked a certificate, when, and why, as far as
// the list tells.
func revokedDetail(rv *Revocation) string {
	if rv.Source == SourceSHCList {
		return fmt.Sprintf("revoked by its issuer's revocation list (key %s, ctr %d)", rv.ListKID, rv.ListCounter)
	}
	return fmt.Sprintf("revoked on %s (%s)", day(rv.RevokedAt), rv.Reason)
}

func (r Result) with(s Status, err error) Result {
	r.Status, r.Detail = s, err.Error()
	return r
}

// revocation asks the CRL store about every id the signature binds (the
// certificate id first); a revocation or suspension of any of them decides.
// When publisherKeys is not empty, a list signed by a key it does not name
// is not listened to: the status is then unknown.
func (v *Verifier) revocation(issuer string, ids []string, publisherKeys []string, at time.Time) Revocation {
	rev := Revocation{Status: "unknown", Freshness: "no_list", CRLIssuer: issuer}
	if len(ids) == 0 {
		rev.Explanation = "the certificate has no certificate id"
		return rev
	}
	if v.crls == nil {
		rev.Explanation = "no revocation list store"
		return rev
	}
	allowed := trust.EntryPublisherKeys(publisherKeys)
	var first *store.Result
	for _, id := range ids {
		res, err := v.crls.Check(issuer, id, at)
		if err != nil {
			rev.Explanation, rev.Err = "revocation store: "+err.Error(), err
			return rev
		}
		if res = heedSigner(res, &allowed); res.Ignored != "" {
			rev.Explanation = res.Ignored
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

// CheckID looks the certificate id of issuer up in crls at at, and holds
// the answer to the publisher-key policy the trust store ts has for issuer
// ([trust.Store.CRLPublisherKeys]; none when ts is nil), as a verdict
// holds it to a certificate's own trust entry: the answer of a stored list
// signed by a key the policy does not allow is ignored, the result then
// [store.Unknown] with [store.Result.Ignored] saying which key answered
// and that the trust store does not allow it. An answer from elsewhere
// than a stored list (an authority online) is not a list's, and stands.
func CheckID(crls Revocations, ts *trust.Store, issuer, id string, at time.Time) (store.Result, error) {
	return NewIDChecker(crls, ts, issuer).Check(id, at)
}

// IDChecker looks certificate ids of one issuer up as [CheckID] does,
// with the trust store's publisher-key policy for the issuer worked out
// once, when it is made, rather than for every id.
type IDChecker struct {
	crls    Revocations
	issuer  string
	allowed trust.PublisherKeys
}

// NewIDChecker returns the IDChecker of issuer's ids in crls, held to the
// publisher-key policy ts has for issuer (none when ts is nil) at the
// time it is made.
func NewIDChecker(crls Revocations, ts *trust.Store, issuer string) *IDChecker {
	c := &IDChecker{crls: crls, issuer: issuer}
	if ts != nil {
		c.allowed = ts.CRLPublisherKeys(issuer)
	}
	return c
}

// Check is [CheckID] for the certificate id id of the checker's issuer.
func (c *IDChecker) Check(id string, at time.Time) (store.Result, error) {
	res, err := c.crls.Check(c.issuer, id, at)
	if err != nil {
		return res, err
	}
	return heedSigner(res, &c.allowed), nil
}

// heedSigner returns res as it is when allowed lets the key that signed
// the stored list that answered it answer (or no stored list answered);
// otherwise res ignored: Unknown, the list's fields cleared, Ignored
// saying why.
func heedSigner(res store.Result, allowed *trust.PublisherKeys) store.Result {
	if res.Status == store.Unknown || res.Source != "" || allowed.Allows(res.SignerKey) {
		return res
	}
	var why string
	if res.SignerKey == "" {
		why = fmt.Sprintf("the list of %s (serial %d) answering for issuer %s was stored before its signing key was recorded, and the trust store names the publisher keys that may answer for it (crl_publisher_keys): its next list records it (or forget the publisher and sync again)",
			res.Publisher, res.Serial, res.Issuer)
	} else {
		policy := "crl_publisher_keys"
		if len(allowed.Entries) > 1 {
			policy = fmt.Sprintf("the crl_publisher_keys of %s; a list answers for the issuer only if every one of them names its key", strings.Join(allowed.Entries, ", "))
		}
		why = fmt.Sprintf("the list of %s (serial %d) answering for issuer %s is signed by key %s, which the trust store does not name among the publisher keys that may answer for it (%s): its answer is ignored",
			res.Publisher, res.Serial, res.Issuer, res.SignerKey, policy)
	}
	return store.Result{Status: store.Unknown, Issuer: res.Issuer, Key: res.Key, At: res.At, OnlineError: res.OnlineError, Ignored: why}
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
	switch {
	case res.Source != "":
		rev.Source = res.Source
	case res.Status != store.Unknown:
		rev.Source = SourceSnapshot
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
