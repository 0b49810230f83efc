package verify

import (
	"errors"
	"fmt"
	"time"

	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/trust"
)

// NewDCCFormat returns the [Format] of EU Digital COVID Certificates
// (package dcc): an "HC1:" payload from a QR or Aztec code or a text
// file. Its fields are named from vs (nil: [dcc.DefaultValueSets]); the
// certificate data must follow the DCC schema ([dcc.DCC.Validate]), else
// it is MALFORMED.
//
// The signature is checked with the trusted document signers of the
// message's kid ([trust.Store.DCCSigners]): the algorithm, the signature,
// the issuer country against the signer's, the signer's extended key usage
// for the certificate's type and its validity around the certificate's
// iat and exp ([dcc.Certificate.Verify]); no signer with the kid is
// UNKNOWN_ISSUER. The id looked up is the UVCI (ci), under the issuing
// country (or the country's crl_issuer). The dates are iat and exp, and
// the country's maximum age counted from iat.
func NewDCCFormat(vs *dcc.ValueSets) Format { return dccFormat{vs} }

type dccFormat struct{ vs *dcc.ValueSets }

func (dccFormat) Name() string { return FormatDCC }

func (dccFormat) Detect(b []byte) bool { return dcc.IsPayload(b) }

func (f dccFormat) Read(b []byte, _ bool) ([]Document, error) {
	c, err := dcc.Decode(b)
	if err != nil {
		return nil, err
	}
	if err := c.DCC.Validate(); err != nil {
		return nil, err
	}
	return []Document{&dccDoc{c: c, vs: f.vs}}, nil
}

type dccDoc struct {
	c  *dcc.Certificate
	vs *dcc.ValueSets
}

func (d *dccDoc) Describe() Description {
	c := d.c
	dp := c.Display(d.vs)
	cert := &Certificate{
		ID:                 dp.CertificateID,
		Issuer:             dp.IssuerCountry,
		ProofType:          c.Algorithm.String(),
		Name:               dp.Name,
		NameTransliterated: dp.NameTransliterated,
		DateOfBirth:        dp.DateOfBirth,
		Dose:               dp.Dose,
		TotalDoses:         dp.TotalDoses,
		Vaccine:            dp.Vaccine,
		VaccineType:        dp.VaccineType,
		Manufacturer:       dp.Manufacturer,
		Disease:            dp.Disease,
		TestType:           dp.TestType,
		TestName:           dp.TestName,
		TestDevice:         dp.TestDevice,
		TestResult:         dp.TestResult,
		TestCentre:         dp.TestCentre,
		ValidFrom:          dp.ValidFrom,
		ValidUntil:         dp.ValidUntil,
		Country:            dp.Country,
		CertificateIssuer:  dp.CertificateIssuer,
		IssuedAt:           c.IssuedAt,
		ExpiresAt:          c.Expires,
	}
	if c.KID != nil {
		cert.KeyID = dcc.KIDString(c.KID)
	}
	switch dp.Type {
	case dcc.TypeVaccination:
		cert.VaccinationDate = dp.Date
	case dcc.TypeTest:
		cert.SampledAt = dp.Date
	case dcc.TypeRecovery:
		cert.FirstPositive = dp.Date
	}
	typ := ""
	if dp.Type != "" {
		typ = dp.Type.String()
	}
	return Description{Certificate: cert, PayloadForm: string(c.Form), Type: typ}
}

func (d *dccDoc) Verify(ts *trust.Store, at time.Time) (*Checks, error) {
	c := d.c
	signer, err := c.Verify(ts.DCCSigners())
	chk := &Checks{}
	if err != nil {
		if errors.Is(err, dcc.ErrUnknownSigner) {
			return chk, Reject(StatusUnknownIssuer, err)
		}
		return chk, err
	}
	v := &dcc.Verified{Certificate: c, Signer: signer}
	entry, _ := ts.DCCIssuer(signer.Country)
	chk.IssuerName = entry.Name
	// The signer's country, which the certificate's iss (when it has one,
	// v.RevocationIssuer) was checked to be.
	chk.CRLIssuer, chk.CRLPublisherKeys = entry.RevocationIssuer(), entry.CRLPublisherKeys
	chk.IDs = v.RevocationIDs()
	if len(chk.IDs) == 0 {
		chk.NoID = "the certificate has no unique certificate identifier (ci) to look up"
	}
	maxAge := time.Duration(entry.MaxAge)
	chk.Validity = func(at time.Time, skew time.Duration) (Status, string) {
		if err := c.CheckValidity(at, skew); err != nil {
			if errors.Is(err, dcc.ErrNotYetValid) {
				return StatusNotYetValid, fmt.Sprintf("issued %s, after the time of the check (%s)", stamp(c.IssuedAt), stamp(at))
			}
			return StatusExpired, "expired " + stamp(c.Expires)
		}
		if maxAge > 0 && !at.Before(c.IssuedAt.Add(maxAge)) {
			return StatusExpired, fmt.Sprintf("issued %s; the issuer's policy limits certificates to %s", stamp(c.IssuedAt), entry.MaxAge)
		}
		return "", ""
	}
	return chk, nil
}
