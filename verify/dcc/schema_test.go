package dcc_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/dcc/internal/gen"
)

func TestSchema(t *testing.T) {
	base := func() map[string]any { return vacc() }
	entry := func(m map[string]any) map[string]any { return m["v"].([]any)[0].(map[string]any) }
	nam := func(m map[string]any) map[string]any { return m["nam"].(map[string]any) }
	testCert := func() map[string]any {
		return gen.Test("Musterfrau", "Erika", "1964-08-12", "URN:UVCI:01:XA:T#1", "2026-03-01T10:00:00+01:00", "XA")
	}
	recovery := func() map[string]any {
		return gen.Recovery("Musterfrau", "Erika", "1964", "URN:UVCI:01:XA:R#1", "2026-01-01", "2026-01-12", "2026-07-01", "XA")
	}
	for _, tc := range []struct {
		name   string
		data   map[string]any
		change func(m map[string]any)
		ok     bool
		says   string
	}{
		{"vaccination", base(), nil, true, ""},
		{"test", testCert(), nil, true, ""},
		{"recovery, year of birth only", recovery(), nil, true, ""},
		{"empty date of birth", base(), func(m map[string]any) { m["dob"] = "" }, true, ""},
		{"year and month of birth", base(), func(m map[string]any) { m["dob"] = "1964-08" }, true, ""},
		{"members the schema does not define", base(), func(m map[string]any) { m["x-extra"] = 1; entry(m)["dr"] = "x" }, true, ""},
		{"only gnt from 1.3.2", base(), func(m map[string]any) { m["ver"] = "1.3.2"; delete(nam(m), "fnt") }, true, ""},
		{"only gnt before 1.3.2", base(), func(m map[string]any) { delete(nam(m), "fnt") }, false, "nam.fnt: required"},
		{"neither fnt nor gnt", base(), func(m map[string]any) { m["ver"] = "1.3.3"; delete(nam(m), "fnt"); delete(nam(m), "gnt") }, false, "needs fnt or gnt"},
		{"lower-case fnt", base(), func(m map[string]any) { nam(m)["fnt"] = "Musterfrau" }, false, "nam.fnt"},
		{"name too long", base(), func(m map[string]any) { nam(m)["fn"] = strings.Repeat("é", 81) }, false, "nam.fn: longer than 80"},
		{"no name", base(), func(m map[string]any) { delete(m, "nam") }, false, "nam: required"},
		{"empty name", base(), func(m map[string]any) { m["nam"] = map[string]any{} }, false, "nam.fnt: required"},
		{"no version", base(), func(m map[string]any) { delete(m, "ver") }, false, "ver: required"},
		{"version 2", base(), func(m map[string]any) { m["ver"] = "2.0.0" }, false, "only major version 1"},
		{"version not semver", base(), func(m map[string]any) { m["ver"] = "1.3" }, false, "ver:"},
		{"born 1899", base(), func(m map[string]any) { m["dob"] = "1899-12-31" }, false, "dob:"},
		{"born in month 13", base(), func(m map[string]any) { m["dob"] = "1990-13-01" }, false, "not a calendar date"},
		{"born on 30 February", base(), func(m map[string]any) { m["dob"] = "1990-02-30" }, false, "not a calendar date"},
		{"dose 0", base(), func(m map[string]any) { entry(m)["dn"] = 0 }, false, "v[0].dn: 0 is less than 1"},
		{"dose as text", base(), func(m map[string]any) { entry(m)["dn"] = "1" }, false, "v[0].dn: not a number"},
		{"dose 1.5", base(), func(m map[string]any) { entry(m)["sd"] = 1.5 }, false, "v[0].sd: 1.5 is not an integer"},
		{"vaccination date with a time", base(), func(m map[string]any) { entry(m)["dt"] = "2021-02-18T00:00:00Z" }, false, "v[0].dt"},
		{"vaccination on 31 April", base(), func(m map[string]any) { entry(m)["dt"] = "2021-04-31" }, false, "v[0].dt"},
		{"no UVCI", base(), func(m map[string]any) { delete(entry(m), "ci") }, false, "v[0].ci: required"},
		{"country in lower case", base(), func(m map[string]any) { entry(m)["co"] = "xa" }, false, "v[0].co"},
		{"two entries", base(), func(m map[string]any) { m["v"] = append(m["v"].([]any), entry(m)) }, false, "holds 2 entries"},
		{"no entry", base(), func(m map[string]any) { m["v"] = []any{} }, false, "holds 0 entries"},
		{"two groups", base(), func(m map[string]any) { m["r"] = recovery()["r"] }, false, "exactly one is required"},
		{"no group", base(), func(m map[string]any) { delete(m, "v") }, false, "holds 0 of the groups"},
		{"group not an array", base(), func(m map[string]any) { m["v"] = entry(m) }, false, "v: not an array"},
		{"sample time without zone", testCert(), func(m map[string]any) {
			m["t"].([]any)[0].(map[string]any)["sc"] = "2021-02-20T12:34:56"
		}, false, "t[0].sc"},
		{"recovery without valid until", recovery(), func(m map[string]any) { delete(m["r"].([]any)[0].(map[string]any), "du") }, false, "r[0].du: required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.change != nil {
				tc.change(tc.data)
			}
			js, err := json.Marshal(tc.data)
			if err != nil {
				t.Fatal(err)
			}
			d, err := dcc.ParseDCCJSON(js)
			if err != nil {
				t.Fatal(err)
			}
			err = d.Validate()
			if tc.ok {
				if err != nil {
					t.Fatalf("valid certificate refused: %v", err)
				}
				return
			}
			var se *dcc.SchemaError
			if !errors.As(err, &se) || !errors.Is(err, dcc.ErrSchema) {
				t.Fatalf("Validate = %v, want a *SchemaError", err)
			}
			if !strings.Contains(err.Error(), tc.says) {
				t.Errorf("error %q does not say %q", err, tc.says)
			}
			// The same data signed and checked is malformed by schema.
			_, cerr := dcc.Check([]byte(exampleIssuer().issue(tc.data, nil)), exampleIssuer().signers(""), exampleAt, nil)
			if !errors.Is(cerr, dcc.ErrSchema) {
				t.Errorf("Check = %v, want ErrSchema", cerr)
			}
			if _, cerr := dcc.Check([]byte(exampleIssuer().issue(tc.data, nil)), exampleIssuer().signers(""), exampleAt, &dcc.Options{SkipSchema: true}); errors.Is(cerr, dcc.ErrSchema) {
				t.Errorf("SkipSchema still validated: %v", cerr)
			}
		})
	}
}
