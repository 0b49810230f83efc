package shc

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Patient is what a card says about its holder.
type Patient struct {
	// Family and Given are the first HumanName of Patient.name; Text its
	// text, when given.
	Family string
	Given  []string
	Text   string
	// BirthDate is Patient.birthDate as written (YYYY, YYYY-MM or
	// YYYY-MM-DD).
	BirthDate string
}

// Name returns the holder's name for display: the given names then the
// family name, or the name's text when neither is given.
func (p Patient) Name() string {
	s := strings.TrimSpace(strings.Join(append(slices.Clone(p.Given), p.Family), " "))
	if s == "" {
		return p.Text
	}
	return s
}

// Coding is one code of a FHIR CodeableConcept.
type Coding struct {
	System, Code string
}

// Immunization is one Immunization resource of a card.
type Immunization struct {
	// Status is "completed" for a dose given ("entered-in-error" and
	// "not-done" are possible).
	Status string
	// VaccineCodes are vaccineCode.coding, in order (CVX, SNOMED CT,
	// ICD-11 ...).
	VaccineCodes []Coding
	// Date is occurrenceDateTime as written, or occurrenceString.
	Date string
	// Lot is lotNumber.
	Lot string
	// Performer is the display of the first performer's actor (the
	// organization that gave the dose).
	Performer string
	// Manufacturer is the value of manufacturer.identifier (an MVX code
	// such as "PFR"), when given.
	Manufacturer string
	// DoseNumber is protocolApplied[0].doseNumberPositiveInt; 0 when the
	// card does not say.
	DoseNumber int
}

// Vaccine returns the first of the immunization's codes that
// [LookupVaccine] knows, with its name; else its first code and an empty
// Vaccine.
func (im Immunization) Vaccine() (Coding, Vaccine) {
	for _, c := range im.VaccineCodes {
		if v, ok := LookupVaccine(c.System, c.Code); ok {
			return c, v
		}
	}
	if len(im.VaccineCodes) > 0 {
		return im.VaccineCodes[0], Vaccine{}
	}
	return Coding{}, Vaccine{}
}

// maxTimestamp bounds nbf, exp and revocation list timestamps: 1e11
// seconds is the year 5138, so a larger value is read as milliseconds
// (a frequent issuer mistake) or nonsense, and refused.
const maxTimestamp = 1e11

// claims walks the payload JSON and records the first error, with the
// JSON path where it happened.
type claims struct {
	err error
}

func (w *claims) fail(path, format string, args ...any) {
	if w.err == nil {
		w.err = malformed("JWS payload %s: %s", path, fmt.Sprintf(format, args...))
	}
}

// object returns m[key] as an object, failing when it is absent (if
// required) or not an object.
func (w *claims) object(m map[string]any, path, key string, required bool) map[string]any {
	v, ok := m[key]
	if !ok {
		if required {
			w.fail(path, "no %q", key)
		}
		return nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		w.fail(path+"."+key, "not an object")
	}
	return o
}

func (w *claims) str(m map[string]any, path, key string, required bool) string {
	v, ok := m[key]
	if !ok {
		if required {
			w.fail(path, "no %q", key)
		}
		return ""
	}
	s, ok := v.(string)
	if !ok {
		w.fail(path+"."+key, "not a string")
	}
	return s
}

func (w *claims) array(m map[string]any, path, key string, required bool) []any {
	v, ok := m[key]
	if !ok {
		if required {
			w.fail(path, "no %q", key)
		}
		return nil
	}
	a, ok := v.([]any)
	if !ok {
		w.fail(path+"."+key, "not an array")
	}
	return a
}

func (w *claims) strings(m map[string]any, path, key string, required bool) []string {
	a := w.array(m, path, key, required)
	out := make([]string, 0, len(a))
	for i, v := range a {
		s, ok := v.(string)
		if !ok {
			w.fail(fmt.Sprintf("%s.%s[%d]", path, key, i), "not a string")
			return nil
		}
		out = append(out, s)
	}
	return out
}

// first returns the first element of the array m[key] as an object.
func (w *claims) first(m map[string]any, path, key string) map[string]any {
	a := w.array(m, path, key, false)
	if len(a) == 0 {
		return nil
	}
	o, ok := a[0].(map[string]any)
	if !ok {
		w.fail(path+"."+key+"[0]", "not an object")
	}
	return o
}

func (w *claims) time(m map[string]any, path, key string, required bool) time.Time {
	v, ok := m[key]
	if !ok {
		if required {
			w.fail(path, "no %q", key)
		}
		return time.Time{}
	}
	n, ok := v.(json.Number)
	if !ok {
		w.fail(path+"."+key, "not a number")
		return time.Time{}
	}
	t, err := parseNumericDate(string(n))
	if err != nil {
		w.fail(path+"."+key, "%v", err)
	}
	return t
}

// parseClaims fills the card from its payload.
func (c *Card) parseClaims() error {
	top, err := decodeObject(c.Payload)
	if err != nil {
		return malformed("JWS payload: %v", err)
	}
	w := &claims{}
	c.Issuer = w.str(top, "$", "iss", true)
	if w.err == nil && c.Issuer == "" {
		w.fail("$.iss", "empty")
	}
	c.NotBefore = w.time(top, "$", "nbf", true)
	c.Expires = w.time(top, "$", "exp", false)
	vc := w.object(top, "$", "vc", true)
	c.Types = w.strings(vc, "$.vc", "type", true)
	if w.err == nil && !slices.Contains(c.Types, TypeHealthCard) {
		w.fail("$.vc.type", "no %q", TypeHealthCard)
	}
	if _, ok := vc["rid"]; ok {
		c.RevocationID = w.str(vc, "$.vc", "rid", true)
		if w.err == nil {
			if err := checkRID(c.RevocationID); err != nil {
				w.fail("$.vc.rid", "%v", err)
			}
		}
	}
	cs := w.object(vc, "$.vc", "credentialSubject", true)
	c.FHIRVersion = w.str(cs, "$.vc.credentialSubject", "fhirVersion", true)
	bundle := w.object(cs, "$.vc.credentialSubject", "fhirBundle", true)
	if w.err != nil {
		return w.err
	}
	c.parseBundle(w, bundle)
	return w.err
}

func (c *Card) parseBundle(w *claims, bundle map[string]any) {
	const bp = "$.vc.credentialSubject.fhirBundle"
	if rt := w.str(bundle, bp, "resourceType", true); w.err == nil && rt != "Bundle" {
		w.fail(bp+".resourceType", "%q, not \"Bundle\"", rt)
	}
	patients := 0
	for i, e := range w.array(bundle, bp, "entry", true) {
		ep := fmt.Sprintf("%s.entry[%d]", bp, i)
		entry, ok := e.(map[string]any)
		if !ok {
			w.fail(ep, "not an object")
			return
		}
		res := w.object(entry, ep, "resource", true)
		rp := ep + ".resource"
		rt := w.str(res, rp, "resourceType", true)
		if w.err != nil {
			return
		}
		c.ResourceTypes = append(c.ResourceTypes, rt)
		switch rt {
		case "Patient":
			patients++
			c.Patient = parsePatient(w, res, rp)
		case "Immunization":
			c.Immunizations = append(c.Immunizations, parseImmunization(w, res, rp))
		}
		if w.err != nil {
			return
		}
	}
	if w.err == nil && patients > 1 {
		w.fail(bp, "%d Patient resources; a card is about one person", patients)
	}
}

func parsePatient(w *claims, res map[string]any, path string) Patient {
	var p Patient
	if name := w.first(res, path, "name"); name != nil {
		np := path + ".name[0]"
		p.Family = w.str(name, np, "family", false)
		p.Given = w.strings(name, np, "given", false)
		p.Text = w.str(name, np, "text", false)
	}
	p.BirthDate = w.str(res, path, "birthDate", false)
	return p
}

func parseImmunization(w *claims, res map[string]any, path string) Immunization {
	var im Immunization
	im.Status = w.str(res, path, "status", false)
	if vc := w.object(res, path, "vaccineCode", false); vc != nil {
		for i, v := range w.array(vc, path+".vaccineCode", "coding", false) {
			cp := fmt.Sprintf("%s.vaccineCode.coding[%d]", path, i)
			cd, ok := v.(map[string]any)
			if !ok {
				w.fail(cp, "not an object")
				return im
			}
			im.VaccineCodes = append(im.VaccineCodes, Coding{
				System: w.str(cd, cp, "system", false),
				Code:   w.str(cd, cp, "code", false),
			})
		}
	}
	im.Date = w.str(res, path, "occurrenceDateTime", false)
	if im.Date == "" {
		im.Date = w.str(res, path, "occurrenceString", false)
	}
	im.Lot = w.str(res, path, "lotNumber", false)
	if perf := w.first(res, path, "performer"); perf != nil {
		if actor := w.object(perf, path+".performer[0]", "actor", false); actor != nil {
			im.Performer = w.str(actor, path+".performer[0].actor", "display", false)
		}
	}
	if m := w.object(res, path, "manufacturer", false); m != nil {
		if id := w.object(m, path+".manufacturer", "identifier", false); id != nil {
			im.Manufacturer = w.str(id, path+".manufacturer.identifier", "value", false)
		}
	}
	if pa := w.first(res, path, "protocolApplied"); pa != nil {
		if v, ok := pa["doseNumberPositiveInt"]; ok {
			n, ok := v.(json.Number)
			d, err := strconv.Atoi(string(n))
			if !ok || err != nil || d < 1 || d > 1000 {
				w.fail(path+".protocolApplied[0].doseNumberPositiveInt", "not a positive integer")
			}
			im.DoseNumber = d
		}
	}
	return im
}

// plainDecimal rewrites a non-negative JSON number with an exponent
// ("1.6874507646e9") without one ("1687450764.6"), exactly. Exponents
// beyond ±40 are refused (no timestamp needs them).
func plainDecimal(s string) (string, bool) {
	mant, e, _ := strings.Cut(strings.ToLower(s), "e")
	exp, err := strconv.Atoi(e)
	if err != nil || exp < -40 || exp > 40 {
		return "", false
	}
	ip, frac, _ := strings.Cut(mant, ".")
	digits := ip + frac
	point := len(ip) + exp
	switch {
	case point <= 0:
		return "0." + strings.Repeat("0", -point) + digits, true
	case point >= len(digits):
		return digits + strings.Repeat("0", point-len(digits)), true
	}
	return digits[:point] + "." + digits[point:], true
}

// parseNumericDate reads a JWT NumericDate: seconds since 1970-01-01 UTC as
// a JSON number, which may have a fraction or an exponent. Values from
// maxTimestamp on are refused.
func parseNumericDate(s string) (time.Time, error) {
	if strings.HasPrefix(s, "-") {
		return time.Time{}, fmt.Errorf("%s is before 1970", s)
	}
	if strings.ContainsAny(s, "eE") {
		d, ok := plainDecimal(s)
		if !ok {
			return time.Time{}, fmt.Errorf("%s is out of range", s)
		}
		s = d
	}
	var sec, nsec int64
	ip, frac, _ := strings.Cut(s, ".")
	if len(ip) > 18 {
		return time.Time{}, fmt.Errorf("%s is out of range", s)
	}
	var err error
	if sec, err = strconv.ParseInt(ip, 10, 64); err != nil {
		return time.Time{}, fmt.Errorf("%s is not a number of seconds", s)
	}
	if len(frac) > 9 {
		frac = frac[:9]
	}
	if frac != "" {
		n, err := strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s is not a number of seconds", s)
		}
		nsec = n
	}
	if sec >= maxTimestamp {
		if sec/1000 < maxTimestamp {
			return time.Time{}, fmt.Errorf("%s is a time in milliseconds (%s), not seconds", s, formatTime(time.UnixMilli(sec)))
		}
		return time.Time{}, fmt.Errorf("%s is out of range", s)
	}
	return time.Unix(sec, nsec).UTC(), nil
}
