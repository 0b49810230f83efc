package verify

import (
	"encoding/json"
	"time"

	"github.com/crlverify/crlverify/verify/store"
)

// Status is the verdict on one certificate.
type Status string

// The verdicts. Only [StatusValid] lets a certificate through, and then only
// with [Revocation.Known] (see [Result.Conclusive]).
const (
	// StatusValid: genuine, within its validity, and not revoked.
	StatusValid Status = "VALID"
	// StatusRevoked: the issuer's revocation list revokes it.
	StatusRevoked Status = "REVOKED"
	// StatusSuspended: revoked until [Revocation.SuspendedUntil].
	StatusSuspended Status = "SUSPENDED"
	// StatusExpired: past the validity the issuer's policy gives it.
	StatusExpired Status = "EXPIRED"
	// StatusNotYetValid: issued or signed after the time of the check, or
	// before the start of its validity under the issuer's policy.
	StatusNotYetValid Status = "NOT_YET_VALID"
	// StatusBadSignature: the signature does not verify with the issuer's
	// trusted key, or that key is terminated or outside its validity.
	StatusBadSignature Status = "BAD_SIGNATURE"
	// StatusUnknownIssuer: no trusted key for the certificate's
	// verification method.
	StatusUnknownIssuer Status = "UNKNOWN_ISSUER"
	// StatusUnsignedHolder: the issuer's signature is genuine, but it does
	// not cover the holder (a DIVOC credentialSubject with a relative or
	// empty id): the name, date of birth, gender and age shown are not
	// signed, so the certificate cannot prove whom it belongs to. An
	// issuer's policy may accept such certificates
	// (trust.Policy.AcceptUnsignedHolder): they are then VALID with
	// [Result.UnsignedFields] set.
	StatusUnsignedHolder Status = "UNSIGNED_HOLDER"
	// StatusMalformed: not a readable certificate (no QR code, bad ZIP,
	// bad JSON, an unknown context, a term no context defines, too large).
	StatusMalformed Status = "MALFORMED"
)

// UnsignedHolderDetail is the explanation of [StatusUnsignedHolder], in
// words a field officer acts on.
const UnsignedHolderDetail = "the issuer signed this certificate, but not the holder's name: it cannot prove who it belongs to"

// Result is a verdict and the facts behind it. Its JSON form (snake_case
// fields, times in UTC to the second) is what `crlverify scan --json`
// prints, one object per line: status and detail (prose) for the verdict;
// under revocation, known, status, detail and reason (the revocation
// reason's name) for the list's answer.
type Result struct {
	// Input names what was checked (a file name, "-"); set by the caller.
	Input  string `json:"input,omitempty"`
	Status Status `json:"status"`
	// Detail explains the status in one sentence; empty for a conclusive
	// VALID whose fields are all signed.
	Detail string `json:"detail,omitempty"`
	// Format is the certificate format: "divoc", "shc" (SMART Health
	// Cards) or "dcc" (EU Digital COVID Certificate); empty when none was
	// recognised. PayloadForm is how the payload carried it: for DIVOC
	// "raw-zip", "utf8-zip", "json"; for SMART Health Cards "numeric",
	// "numeric-chunk" (joined from several codes), "jws", "file"; for an EU
	// DCC how its COSE message is tagged, "cose", "cwt+cose", "untagged".
	// FromImage is whether it was read from a QR or Aztec image.
	Format      string `json:"format,omitempty"`
	PayloadForm string `json:"payload_form,omitempty"`
	FromImage   bool   `json:"from_image"`
	// CertificateType is the kind of an EU DCC: "vaccination", "test" or
	// "recovery".
	CertificateType string `json:"certificate_type,omitempty"`
	// Card and Cards place a SMART Health Card in a .smart-health-card
	// file that holds several: card Card (from 1) of Cards. Zero
	// otherwise.
	Card  int `json:"card,omitempty"`
	Cards int `json:"cards,omitempty"`
	// ChunkInputs names the inputs that held the QR codes of a SMART
	// Health Card split over several, in chunk order; Input is the first
	// of them. Empty otherwise.
	ChunkInputs []string `json:"chunk_inputs,omitempty"`
	// Certificate is what the certificate says, for display; nil when it
	// could not be read.
	Certificate *Certificate `json:"certificate,omitempty"`
	// UnsignedFields names the fields of Certificate (by their JSON names:
	// "name", "date_of_birth", "gender", "age") that the issuer's
	// signature does not cover, with a genuine signature otherwise: set
	// for UNSIGNED_HOLDER, and for a VALID certificate an issuer's policy
	// accepts without them. Every display must mark them unsigned.
	UnsignedFields []string `json:"unsigned_fields,omitempty"`
	// Revocation is what the revocation list says.
	Revocation Revocation `json:"revocation"`
	// At is the time of the check.
	At time.Time `json:"at"`
}

// Certificate is what a certificate says about its holder and itself. Every
// field is covered by the signature when the status is not MALFORMED or
// BAD_SIGNATURE, except those [Result.UnsignedFields] names. Vaccines,
// manufacturers, diseases and test results are named from the formats'
// code systems (the EU DCC value sets, the CVX and SNOMED CT codes of SMART
// Health Cards); an unknown code is shown as it is. Text is the issuer's:
// escape it before writing it to a terminal.
type Certificate struct {
	// ID is the certificate's own id: DIVOC's certificate id, an EU DCC's
	// UVCI (ci), a SMART Health Card's rid (the id it is revoked by).
	ID string `json:"id,omitempty"`
	// Issuer is the issuer as the certificate names it: DIVOC's issuer, a
	// SMART Health Card's iss (a URL), an EU DCC's issuing country; the
	// trust store's name for it is IssuerName.
	Issuer     string `json:"issuer,omitempty"`
	IssuerName string `json:"issuer_name,omitempty"`
	// VerificationMethod (DIVOC) or KeyID (the trust store's id of a
	// DIVOC key, a SMART Health Card's kid, an EU DCC's kid in base64)
	// names the key that signed; ProofType how (RsaSignature2018, ES256,
	// PS256...).
	VerificationMethod string `json:"verification_method,omitempty"`
	KeyID              string `json:"key_id,omitempty"`
	ProofType          string `json:"proof_type,omitempty"`
	Name               string `json:"name,omitempty"`
	// NameTransliterated is an EU DCC holder's name in the ICAO form
	// ("FAMILY<<GIVEN").
	NameTransliterated string `json:"name_transliterated,omitempty"`
	DateOfBirth        string `json:"date_of_birth,omitempty"`
	Gender             string `json:"gender,omitempty"`
	Age                string `json:"age,omitempty"`
	// Disease is the disease or agent targeted.
	Disease    string `json:"disease,omitempty"`
	Dose       int    `json:"dose,omitempty"`
	TotalDoses int    `json:"total_doses,omitempty"`
	Vaccine    string `json:"vaccine,omitempty"`
	// VaccineType is an EU DCC's vaccine or prophylaxis (mRNA...).
	VaccineType  string `json:"vaccine_type,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	Batch        string `json:"batch,omitempty"`
	// VaccinationDate is the date of the (latest) dose.
	VaccinationDate string `json:"vaccination_date,omitempty"`
	// Performer is who gave the dose (a SMART Health Card's performer).
	Performer string `json:"performer,omitempty"`
	// An EU DCC test certificate: the type of test, its name or device,
	// its result, the testing centre and when the sample was taken.
	TestType   string `json:"test_type,omitempty"`
	TestName   string `json:"test_name,omitempty"`
	TestDevice string `json:"test_device,omitempty"`
	TestResult string `json:"test_result,omitempty"`
	TestCentre string `json:"test_centre,omitempty"`
	SampledAt  string `json:"sampled_at,omitempty"`
	// An EU DCC recovery certificate: the first positive test, and the
	// dates it is valid from and until.
	FirstPositive string `json:"first_positive,omitempty"`
	ValidFrom     string `json:"valid_from,omitempty"`
	ValidUntil    string `json:"valid_until,omitempty"`
	// Country is where an EU DCC's vaccination or test took place;
	// CertificateIssuer the authority its entry names (is).
	Country           string `json:"country,omitempty"`
	CertificateIssuer string `json:"certificate_issuer,omitempty"`
	// IssuedAt is when it was issued (DIVOC issuanceDate, SHC nbf, DCC
	// iat); ExpiresAt when it expires by its own dates (SHC exp, DCC exp),
	// zero when it does not say.
	IssuedAt  time.Time `json:"issued_at,omitzero"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// Revocation is the revocation list's answer for a certificate.
type Revocation struct {
	// Known is true when the answer can be relied on: the certificate is
	// revoked or suspended, or a fresh list covering its issuer does not
	// hold it.
	Known bool `json:"known"`
	// Status is "revoked", "suspended", "not_revoked" or "unknown";
	// "not_checked" when the verdict was reached before the list was asked.
	Status string `json:"status"`
	// Freshness of the list: "fresh", "stale", "clock_behind", "no_list".
	Freshness string `json:"freshness,omitempty"`
	// Explanation says why Known is false; its JSON name is "detail", the
	// name of prose explaining a status in every output.
	Explanation string `json:"detail,omitempty"`
	// Source is what answered: "snapshot" (a signed snapshot in the
	// store), "shc_crl" (a SMART Health Cards issuer's own list for the
	// card's key), "snapshot+shc_crl" (both, neither revoking), or
	// "online" (the authority's status endpoint, asked because no list
	// answered conclusively: see package verify/online).
	Source string `json:"source,omitempty"`
	// CRLIssuer is the issuer name the certificate was looked up under;
	// MatchedID the id found in the list (normally the certificate id).
	CRLIssuer string `json:"crl_issuer,omitempty"`
	MatchedID string `json:"matched_id,omitempty"`
	// ListKID and ListCounter name a SMART Health Cards issuer's own list:
	// the key it is for, and its ctr.
	ListKID     string `json:"list_kid,omitempty"`
	ListCounter int64  `json:"list_counter,omitempty"`
	// The entry, for revoked and suspended certificates. Reason is the
	// revocation reason's name ("dataError", "tampering").
	RevokedAt      time.Time `json:"revoked_at,omitzero"`
	Reason         string    `json:"reason,omitempty"`
	SuspendedUntil time.Time `json:"suspended_until,omitzero"`
	// The list that answered.
	Publisher  string    `json:"publisher,omitempty"`
	Serial     uint64    `json:"serial,omitempty"`
	ThisUpdate time.Time `json:"this_update,omitzero"`
	NextUpdate time.Time `json:"next_update,omitzero"`
	AgeSeconds int64     `json:"age_seconds,omitempty"`
	// Err is why the revocation store could not answer, when it could
	// not (Known is then false, Explanation says it): a damaged store
	// file wraps store.ErrCorrupt.
	Err error `json:"-"`
}

// The values of [Revocation.Source].
const (
	SourceSnapshot = "snapshot"
	SourceSHCList  = "shc_crl"
	SourceOnline   = store.SourceOnline
)

// Conclusive reports whether the result can be acted on as it stands: any
// status but VALID is a rejection whatever the list's freshness; VALID is
// conclusive only when the revocation status is known.
func (r *Result) Conclusive() bool {
	return r.Status != StatusValid || r.Revocation.Known
}

// OK reports whether the certificate may be accepted: VALID with a known
// revocation status.
func (r *Result) OK() bool { return r.Status == StatusValid && r.Revocation.Known }

// MarshalJSON encodes r with its fields' JSON names and every time in UTC,
// to the second, so that outputs compare and parse alike.
func (r Result) MarshalJSON() ([]byte, error) {
	type plain Result // without this method
	p := plain(r)
	p.At = jsonTime(p.At)
	if c := p.Certificate; c != nil {
		cc := *c
		cc.IssuedAt = jsonTime(cc.IssuedAt)
		p.Certificate = &cc
	}
	rv := &p.Revocation
	rv.RevokedAt, rv.SuspendedUntil = jsonTime(rv.RevokedAt), jsonTime(rv.SuspendedUntil)
	rv.ThisUpdate, rv.NextUpdate = jsonTime(rv.ThisUpdate), jsonTime(rv.NextUpdate)
	return json.Marshal(p)
}

func jsonTime(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}
