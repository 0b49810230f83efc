package shc

import (
	"slices"
	"strings"
	"time"
)

// Display is what a verifier shows of a card: the holder, the latest dose
// and the issuer. Codes are resolved with [LookupVaccine]; a code it does
// not know is shown as system|code.
type Display struct {
	Name        string
	DateOfBirth string
	Issuer      string
	// RevocationID is vc.rid, the id to look up in revocation lists.
	RevocationID string
	IssuedAt     time.Time
	Expires      time.Time

	// The latest completed immunization (by date): its vaccine's name,
	// manufacturer and disease, the code they were read from, its date,
	// lot and performer.
	Vaccine      string
	Manufacturer string
	Disease      string
	VaccineCode  Coding
	Date         string
	Lot          string
	Performer    string
	// Dose is the latest immunization's dose number: the one the card
	// states (protocolApplied), else its position among the card's
	// completed immunizations in date order. Doses is how many completed
	// immunizations the card lists. Both are 0 when it lists none.
	Dose, Doses int
}

// Display returns the card's display fields.
func (c *Card) Display() Display {
	d := Display{
		Name:         c.Patient.Name(),
		DateOfBirth:  c.Patient.BirthDate,
		Issuer:       c.Issuer,
		RevocationID: c.RevocationID,
		IssuedAt:     c.NotBefore,
		Expires:      c.Expires,
	}
	var done []Immunization
	for _, im := range c.Immunizations {
		if im.Status == "" || im.Status == "completed" {
			done = append(done, im)
		}
	}
	if len(done) == 0 {
		return d
	}
	// Stable, so doses of one date keep their bundle order. Dates of one
	// precision sort as strings; a date's prefix sorts first.
	slices.SortStableFunc(done, func(a, b Immunization) int { return strings.Compare(a.Date, b.Date) })
	last := done[len(done)-1]
	code, v := last.Vaccine()
	d.VaccineCode = code
	d.Vaccine, d.Manufacturer, d.Disease = v.Name, v.Manufacturer, v.Disease
	if d.Vaccine == "" && code.Code != "" {
		d.Vaccine = code.System + "|" + code.Code
	}
	if d.Manufacturer == "" {
		d.Manufacturer = last.Manufacturer
	}
	d.Date, d.Lot, d.Performer = last.Date, last.Lot, last.Performer
	d.Doses = len(done)
	d.Dose = last.DoseNumber
	if d.Dose == 0 {
		d.Dose = len(done)
	}
	return d
}
