package dcc

import (
	"strings"
	"time"
)

// Display is what a certificate says, for a person to read: codes are
// replaced by the names of the value sets, control characters removed.
// Fields that do not apply to the certificate's type are empty.
type Display struct {
	Type Type `json:"type"`
	// Name is the holder's name as written ("Given Family"), or the
	// transliterated name when that is all there is; NameTransliterated is
	// the ICAO form ("FAMILY<<GIVEN").
	Name               string `json:"name"`
	NameTransliterated string `json:"name_transliterated,omitempty"`
	FamilyName         string `json:"family_name,omitempty"`
	GivenName          string `json:"given_name,omitempty"`
	DateOfBirth        string `json:"date_of_birth"`
	// CertificateID is the UVCI (ci) of the entry.
	CertificateID string `json:"certificate_id"`
	Disease       string `json:"disease,omitempty"`
	// Vaccination: dose dn of sd; the vaccine (medicinal product), its
	// type and marketing authorisation holder; the date.
	Dose         int    `json:"dose,omitempty"`
	TotalDoses   int    `json:"total_doses,omitempty"`
	Vaccine      string `json:"vaccine,omitempty"`
	VaccineType  string `json:"vaccine_type,omitempty"`
	Manufacturer string `json:"manufacturer,omitempty"`
	// Date is the vaccination date, the test's sample collection time or
	// the date of the first positive test of a recovery.
	Date string `json:"date,omitempty"`
	// Test.
	TestType   string `json:"test_type,omitempty"`
	TestName   string `json:"test_name,omitempty"`
	TestDevice string `json:"test_device,omitempty"`
	TestResult string `json:"test_result,omitempty"`
	TestCentre string `json:"test_centre,omitempty"`
	// Recovery.
	ValidFrom  string `json:"valid_from,omitempty"`
	ValidUntil string `json:"valid_until,omitempty"`
	// Country is the country of vaccination or test (name), CountryCode
	// its code.
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	// CertificateIssuer is the entry's issuer (is): an authority's name.
	CertificateIssuer string `json:"certificate_issuer,omitempty"`
	// IssuerCountry is the CWT issuer country (iss).
	IssuerCountry string    `json:"issuer_country,omitempty"`
	IssuedAt      time.Time `json:"issued_at"`
	Expires       time.Time `json:"expires"`
	SchemaVersion string    `json:"schema_version,omitempty"`
}

// Display returns the certificate's fields for display, with names from
// vs (nil: [DefaultValueSets]). A certificate holding several entries shows
// the first.
func (c *Certificate) Display(vs *ValueSets) Display {
	if vs == nil {
		vs = defaultValueSets
	}
	d := c.DCC
	n := d.Name
	out := Display{
		Type:          d.Type(),
		FamilyName:    clean(n.Family),
		GivenName:     clean(n.Given),
		DateOfBirth:   clean(d.DateOfBirth),
		IssuerCountry: clean(c.Issuer),
		IssuedAt:      c.IssuedAt,
		Expires:       c.Expires,
		SchemaVersion: clean(d.Version),
	}
	out.Name = strings.TrimSpace(out.GivenName + " " + out.FamilyName)
	if n.FamilyTransliterated != "" || n.GivenTransliterated != "" {
		out.NameTransliterated = clean(n.FamilyTransliterated + "<<" + n.GivenTransliterated)
	}
	if out.Name == "" {
		out.Name = strings.TrimSpace(strings.ReplaceAll(clean(n.GivenTransliterated+" "+n.FamilyTransliterated), "<", " "))
	}
	country := func(code string) {
		out.CountryCode = clean(code)
		out.Country = vs.nameOr(ValueSetCountry, code)
	}
	switch {
	case len(d.Vaccinations) > 0:
		v := d.Vaccinations[0]
		out.Type = TypeVaccination
		out.CertificateID = clean(v.ID)
		out.Disease = vs.nameOr(ValueSetDisease, v.Disease)
		out.Dose, out.TotalDoses = v.Dose, v.Doses
		out.Vaccine = vs.nameOr(ValueSetVaccineProduct, v.Product)
		out.VaccineType = vs.nameOr(ValueSetVaccineType, v.VaccineType)
		out.Manufacturer = vs.nameOr(ValueSetVaccineHolder, v.Manufacturer)
		out.Date = clean(v.Date)
		out.CertificateIssuer = clean(v.Issuer)
		country(v.Country)
	case len(d.Tests) > 0:
		t := d.Tests[0]
		out.Type = TypeTest
		out.CertificateID = clean(t.ID)
		out.Disease = vs.nameOr(ValueSetDisease, t.Disease)
		out.TestType = vs.nameOr(ValueSetTestType, t.TestType)
		out.TestName = clean(t.Name)
		if t.Device != "" {
			out.TestDevice = vs.nameOr(ValueSetTestDevice, t.Device)
		}
		out.TestResult = vs.nameOr(ValueSetTestResult, t.Result)
		out.TestCentre = clean(t.Centre)
		out.Date = clean(t.SampleTime)
		out.CertificateIssuer = clean(t.Issuer)
		country(t.Country)
	case len(d.Recoveries) > 0:
		r := d.Recoveries[0]
		out.Type = TypeRecovery
		out.CertificateID = clean(r.ID)
		out.Disease = vs.nameOr(ValueSetDisease, r.Disease)
		out.Date = clean(r.FirstPositive)
		out.ValidFrom, out.ValidUntil = clean(r.ValidFrom), clean(r.ValidUntil)
		out.CertificateIssuer = clean(r.Issuer)
		country(r.Country)
	}
	return out
}
