package dcc

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Validate checks the certificate data against the EU DCC JSON schema
// (the rules are listed in the package documentation under "Schema"). It
// returns a [*SchemaError] listing every violation, or nil.
func (d *DCC) Validate() error {
	v := &schemaCheck{}
	v.check(d.tree)
	if len(v.problems) == 0 {
		return nil
	}
	return &SchemaError{Version: d.Version, Problems: v.problems}
}

// maxSchemaProblems bounds the violations listed in a SchemaError.
const maxSchemaProblems = 20

type schemaCheck struct {
	problems []string
	major    int
	minor    int
	patch    int
}

func (v *schemaCheck) fail(path, format string, args ...any) {
	if len(v.problems) < maxSchemaProblems {
		v.problems = append(v.problems, pathOr(path)+": "+fmt.Sprintf(format, args...))
	}
}

var (
	versionPattern = regexp.MustCompile(`^(\d+)\.(\d+)\.(\d+)$`)
	// The dob pattern of schema 1.3: a year 1900-2099, optionally with
	// month and day, or empty.
	dobPattern = regexp.MustCompile(`^((19|20)\d\d(-\d\d){0,2}){0,1}$`)
	// The transliterated names of ICAO 9303.
	icaoPattern = regexp.MustCompile(`^[A-Z<]*$`)
	// The schema's country pattern, unanchored as it is published.
	countryPattern = regexp.MustCompile(`[A-Z]{1,10}`)
)

// The length bound of the schema's free-text fields.
const maxTextLength = 80

func (v *schemaCheck) check(root map[string]any) {
	ver, ok := v.str(root, "", "ver", true)
	if ok {
		m := versionPattern.FindStringSubmatch(ver)
		switch {
		case m == nil:
			v.fail("ver", "%q is not a version MAJOR.MINOR.PATCH", ver)
		case m[1] != "1":
			v.fail("ver", "version %s: only major version 1 is defined", ver)
		default:
			v.major, _ = strconv.Atoi(m[1])
			v.minor, _ = strconv.Atoi(m[2])
			v.patch, _ = strconv.Atoi(m[3])
		}
	}
	v.name(root)
	if dob, ok := v.str(root, "", "dob", true); ok {
		if !dobPattern.MatchString(dob) {
			v.fail("dob", "%q is not YYYY, YYYY-MM, YYYY-MM-DD (1900-2099) or empty", dob)
		} else if !plausibleDate(dob) {
			v.fail("dob", "%q is not a calendar date", dob)
		}
	}
	var groups []string
	for _, g := range []string{"v", "t", "r"} {
		if _, ok := root[g]; ok {
			groups = append(groups, g)
		}
	}
	if len(groups) != 1 {
		v.fail("", "holds %d of the groups v, t, r (%s); exactly one is required", len(groups), strings.Join(groups, ", "))
	}
	for _, g := range groups {
		arr, ok := root[g].([]any)
		if !ok {
			v.fail(g, "not an array")
			continue
		}
		if len(arr) != 1 {
			v.fail(g, "holds %d entries; exactly one is required", len(arr))
		}
		for i, e := range arr {
			path := fmt.Sprintf("%s[%d]", g, i)
			em, ok := e.(map[string]any)
			if !ok {
				v.fail(path, "not an object")
				continue
			}
			switch g {
			case "v":
				v.vaccination(path, em)
			case "t":
				v.test(path, em)
			case "r":
				v.recovery(path, em)
			}
		}
	}
}

func (v *schemaCheck) name(root map[string]any) {
	raw, ok := root["nam"]
	if !ok {
		v.fail("nam", "required")
		return
	}
	nam, ok := raw.(map[string]any)
	if !ok {
		v.fail("nam", "not an object")
		return
	}
	for _, k := range []string{"fn", "gn"} {
		v.text(nam, "nam", k, false)
	}
	_, hasFnt := v.str(nam, "nam", "fnt", false)
	_, hasGnt := v.str(nam, "nam", "gnt", false)
	for _, k := range []string{"fnt", "gnt"} {
		if s, ok := nam[k].(string); ok {
			if !icaoPattern.MatchString(s) {
				v.fail("nam."+k, "%q is not ICAO 9303 transliterated (A-Z and <)", s)
			}
			if utf8.RuneCountInString(s) > maxTextLength {
				v.fail("nam."+k, "longer than %d characters", maxTextLength)
			}
		}
	}
	// Schema 1.3.2 relaxed "fnt required" to "fnt or gnt required".
	before132 := v.major == 1 && (v.minor < 3 || v.minor == 3 && v.patch < 2)
	switch {
	case before132 && !hasFnt:
		v.fail("nam.fnt", "required (schema before 1.3.2)")
	case !hasFnt && !hasGnt:
		v.fail("nam", "needs fnt or gnt")
	}
}

func (v *schemaCheck) common(path string, e map[string]any) {
	v.str(e, path, "tg", true)
	if co, ok := v.str(e, path, "co", true); ok && !countryPattern.MatchString(co) {
		v.fail(path+".co", "%q is not a country code", co)
	}
	v.text(e, path, "is", true)
	v.text(e, path, "ci", true)
}

func (v *schemaCheck) vaccination(path string, e map[string]any) {
	v.common(path, e)
	for _, k := range []string{"vp", "mp", "ma"} {
		v.str(e, path, k, true)
	}
	v.dose(path, e, "dn")
	v.dose(path, e, "sd")
	v.date(path, e, "dt", true)
}

func (v *schemaCheck) test(path string, e map[string]any) {
	v.common(path, e)
	v.str(e, path, "tt", true)
	v.text(e, path, "nm", false)
	v.str(e, path, "ma", false)
	v.dateTime(path, e, "sc", true)
	v.str(e, path, "tr", true)
	v.text(e, path, "tc", false)
}

func (v *schemaCheck) recovery(path string, e map[string]any) {
	v.common(path, e)
	v.date(path, e, "fr", true)
	v.date(path, e, "df", true)
	v.date(path, e, "du", true)
}

// str checks that m[key] is a string (and present, if required).
func (v *schemaCheck) str(m map[string]any, path, key string, required bool) (string, bool) {
	p := join(path, key)
	raw, ok := m[key]
	if !ok {
		if required {
			v.fail(p, "required")
		}
		return "", false
	}
	s, ok := raw.(string)
	if !ok {
		v.fail(p, "not a string")
		return "", false
	}
	return s, true
}

// text is str with the schema's length bound.
func (v *schemaCheck) text(m map[string]any, path, key string, required bool) {
	if s, ok := v.str(m, path, key, required); ok && utf8.RuneCountInString(s) > maxTextLength {
		v.fail(join(path, key), "longer than %d characters", maxTextLength)
	}
}

func (v *schemaCheck) dose(path string, m map[string]any, key string) {
	p := join(path, key)
	raw, ok := m[key]
	if !ok {
		v.fail(p, "required")
		return
	}
	n, ok := raw.(json.Number)
	if !ok {
		v.fail(p, "not a number")
		return
	}
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil || f != float64(int64(f)) {
		v.fail(p, "%s is not an integer", n)
		return
	}
	if f < 1 {
		v.fail(p, "%s is less than 1", n)
	}
}

// date checks a JSON schema "format": "date" (RFC 3339 full-date).
func (v *schemaCheck) date(path string, m map[string]any, key string, required bool) {
	if s, ok := v.str(m, path, key, required); ok {
		if _, err := time.Parse(time.DateOnly, s); err != nil || len(s) != len(time.DateOnly) {
			v.fail(join(path, key), "%q is not a date (YYYY-MM-DD)", s)
		}
	}
}

// dateTime checks a JSON schema "format": "date-time" (RFC 3339
// date-time, with a time zone offset or Z, optional fraction).
func (v *schemaCheck) dateTime(path string, m map[string]any, key string, required bool) {
	if s, ok := v.str(m, path, key, required); ok {
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			v.fail(join(path, key), "%q is not a date-time (RFC 3339)", s)
		}
	}
}

// plausibleDate checks the month and day of a YYYY[-MM[-DD]] date that
// matched dobPattern.
func plausibleDate(s string) bool {
	switch len(s) {
	case 7:
		_, err := time.Parse("2006-01", s)
		return err == nil
	case 10:
		_, err := time.Parse(time.DateOnly, s)
		return err == nil
	}
	return true
}
