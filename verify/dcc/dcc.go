package dcc

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Type is the kind of a certificate entry: the key of its group in the
// certificate data.
type Type string

// The three kinds of EU DCC.
const (
	TypeVaccination Type = "v"
	TypeTest        Type = "t"
	TypeRecovery    Type = "r"
)

func (t Type) String() string {
	switch t {
	case TypeVaccination:
		return "vaccination"
	case TypeTest:
		return "test"
	case TypeRecovery:
		return "recovery"
	}
	return "unknown"
}

// DCC is the certificate data as the EU DCC schema defines it (the hcert
// claim -260, key 1). Fields of the wrong JSON type are left empty here;
// [DCC.Validate] reports them.
type DCC struct {
	Version      string        `json:"ver"`
	Name         Name          `json:"nam"`
	DateOfBirth  string        `json:"dob"`
	Vaccinations []Vaccination `json:"v,omitempty"`
	Tests        []Test        `json:"t,omitempty"`
	Recoveries   []Recovery    `json:"r,omitempty"`

	tree map[string]any // the data as decoded, for schema validation
	json []byte         // canonical JSON (sorted keys) of tree
}

// Name is the holder's name: as written (fn, gn) and transliterated to the
// ICAO 9303 machine-readable form (fnt, gnt).
type Name struct {
	Family               string `json:"fn,omitempty"`
	FamilyTransliterated string `json:"fnt,omitempty"`
	Given                string `json:"gn,omitempty"`
	GivenTransliterated  string `json:"gnt,omitempty"`
}

// Vaccination is one vaccination entry.
type Vaccination struct {
	Disease      string `json:"tg"` // disease or agent targeted (value set)
	VaccineType  string `json:"vp"` // vaccine or prophylaxis (value set)
	Product      string `json:"mp"` // medicinal product (value set)
	Manufacturer string `json:"ma"` // marketing authorisation holder or manufacturer (value set)
	Dose         int    `json:"dn"` // number in a series of doses
	Doses        int    `json:"sd"` // doses in the series
	Date         string `json:"dt"` // date of vaccination
	Country      string `json:"co"` // country of vaccination
	Issuer       string `json:"is"` // certificate issuer
	ID           string `json:"ci"` // unique certificate identifier (UVCI)
}

// Test is one test entry.
type Test struct {
	Disease    string `json:"tg"`
	TestType   string `json:"tt"`           // type of test (value set)
	Name       string `json:"nm,omitempty"` // NAA test name
	Device     string `json:"ma,omitempty"` // rapid antigen test device (value set)
	SampleTime string `json:"sc"`           // date and time of sample collection
	Result     string `json:"tr"`           // test result (value set)
	Centre     string `json:"tc,omitempty"` // testing centre
	Country    string `json:"co"`
	Issuer     string `json:"is"`
	ID         string `json:"ci"`
}

// Recovery is one recovery entry.
type Recovery struct {
	Disease       string `json:"tg"`
	FirstPositive string `json:"fr"` // date of the first positive NAA test
	Country       string `json:"co"`
	Issuer        string `json:"is"`
	ValidFrom     string `json:"df"`
	ValidUntil    string `json:"du"`
	ID            string `json:"ci"`
}

// Types lists the kinds of entries the certificate holds, in the order
// v, t, r. A valid certificate holds exactly one.
func (d *DCC) Types() []Type {
	var ts []Type
	if len(d.Vaccinations) > 0 || d.has("v") {
		ts = append(ts, TypeVaccination)
	}
	if len(d.Tests) > 0 || d.has("t") {
		ts = append(ts, TypeTest)
	}
	if len(d.Recoveries) > 0 || d.has("r") {
		ts = append(ts, TypeRecovery)
	}
	return ts
}

// Type is the kind of the certificate's entry, or "" unless it holds
// exactly one kind.
func (d *DCC) Type() Type {
	if ts := d.Types(); len(ts) == 1 {
		return ts[0]
	}
	return ""
}

func (d *DCC) has(key string) bool {
	_, ok := d.tree[key]
	return ok
}

// IDs returns the unique certificate identifiers (ci) of every entry, in
// order, without duplicates or empty ones.
func (d *DCC) IDs() []string {
	var ids []string
	add := func(id string) {
		for _, x := range ids {
			if x == id {
				return
			}
		}
		if id != "" {
			ids = append(ids, id)
		}
	}
	for _, v := range d.Vaccinations {
		add(v.ID)
	}
	for _, t := range d.Tests {
		add(t.ID)
	}
	for _, r := range d.Recoveries {
		add(r.ID)
	}
	return ids
}

// JSON returns the certificate data as JSON with sorted keys: the form the
// schema validates and that compares equal for equal content whatever the
// order of the CBOR map.
func (d *DCC) JSON() []byte { return bytes.Clone(d.json) }

// DecodeDCC reads certificate data encoded as CBOR on its own (not inside a
// CWT), with the same strictness as inside one. Failures wrap [ErrDCC] or
// [ErrTooLarge].
func DecodeDCC(b []byte) (*DCC, error) {
	if len(b) > MaxMessageSize {
		return nil, wrap(ErrTooLarge, "%d bytes, more than %d", len(b), MaxMessageSize)
	}
	var v any
	if err := decMode.Unmarshal(b, &v); err != nil {
		return nil, cborError(ErrDCC, "certificate data", err)
	}
	return dccFromCBORValue(v)
}

// ParseDCCJSON reads certificate data given as JSON (as the schema and the
// value sets describe it). Failures wrap [ErrDCC] or [ErrTooLarge].
func ParseDCCJSON(b []byte) (*DCC, error) {
	if len(b) > MaxMessageSize {
		return nil, wrap(ErrTooLarge, "%d bytes, more than %d", len(b), MaxMessageSize)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, wrap(ErrDCC, "%v", err)
	}
	if dec.More() {
		return nil, wrap(ErrDCC, "data after the JSON value")
	}
	tree, err := jsonTree(v, 0)
	if err != nil {
		return nil, err
	}
	m, ok := tree.(map[string]any)
	if !ok {
		return nil, wrap(ErrDCC, "not a JSON object")
	}
	return dccFromTree(m)
}

// dccFromCBORValue turns a decoded CBOR value into a DCC.
func dccFromCBORValue(v any) (*DCC, error) {
	tree, err := cborTree(v, "", 0)
	if err != nil {
		return nil, err
	}
	m, ok := tree.(map[string]any)
	if !ok {
		return nil, wrap(ErrDCC, "not a map")
	}
	return dccFromTree(m)
}

func dccFromTree(m map[string]any) (*DCC, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // "<" of transliterated names stays readable
	if err := enc.Encode(m); err != nil {
		return nil, wrap(ErrDCC, "%v", err)
	}
	d := &DCC{tree: m, json: bytes.TrimSuffix(buf.Bytes(), []byte("\n"))}
	d.Version = str(m, "ver")
	d.DateOfBirth = str(m, "dob")
	if nm, ok := m["nam"].(map[string]any); ok {
		d.Name = Name{str(nm, "fn"), str(nm, "fnt"), str(nm, "gn"), str(nm, "gnt")}
	}
	for _, e := range entries(m, "v") {
		d.Vaccinations = append(d.Vaccinations, Vaccination{
			Disease: str(e, "tg"), VaccineType: str(e, "vp"), Product: str(e, "mp"),
			Manufacturer: str(e, "ma"), Dose: integer(e, "dn"), Doses: integer(e, "sd"),
			Date: str(e, "dt"), Country: str(e, "co"), Issuer: str(e, "is"), ID: str(e, "ci"),
		})
	}
	for _, e := range entries(m, "t") {
		d.Tests = append(d.Tests, Test{
			Disease: str(e, "tg"), TestType: str(e, "tt"), Name: str(e, "nm"), Device: str(e, "ma"),
			SampleTime: str(e, "sc"), Result: str(e, "tr"), Centre: str(e, "tc"),
			Country: str(e, "co"), Issuer: str(e, "is"), ID: str(e, "ci"),
		})
	}
	for _, e := range entries(m, "r") {
		d.Recoveries = append(d.Recoveries, Recovery{
			Disease: str(e, "tg"), FirstPositive: str(e, "fr"), Country: str(e, "co"),
			Issuer: str(e, "is"), ValidFrom: str(e, "df"), ValidUntil: str(e, "du"), ID: str(e, "ci"),
		})
	}
	return d, nil
}

func str(m map[string]any, key string) string {
	s, _ := m[key].(string)
	return s
}

func integer(m map[string]any, key string) int {
	if n, ok := m[key].(json.Number); ok {
		if i, err := strconv.ParseInt(string(n), 10, 32); err == nil {
			return int(i)
		}
	}
	return 0
}

func entries(m map[string]any, key string) []map[string]any {
	arr, _ := m[key].([]any)
	var out []map[string]any
	for _, e := range arr {
		if em, ok := e.(map[string]any); ok {
			out = append(out, em)
		}
	}
	return out
}

// cborTree converts a value decoded from CBOR into the JSON data model:
// map[string]any, []any, string, json.Number, bool, nil. Byte strings,
// non-string map keys and tags are refused: the certificate is JSON.
func cborTree(v any, path string, depth int) (any, error) {
	if depth > MaxNesting {
		return nil, wrap(ErrTooLarge, "nested more than %d deep", MaxNesting)
	}
	switch x := v.(type) {
	case nil, bool, string:
		return x, nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), nil
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return nil, wrap(ErrDCC, "%s: not a finite number", pathOr(path))
		}
		return json.Number(strconv.FormatFloat(x, 'g', -1, 64)), nil
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			t, err := cborTree(e, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = t
		}
		return out, nil
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			ks, ok := k.(string)
			if !ok {
				return nil, wrap(ErrDCC, "%s: map key %v is not a text string", pathOr(path), k)
			}
			t, err := cborTree(e, join(path, ks), depth+1)
			if err != nil {
				return nil, err
			}
			out[ks] = t
		}
		return out, nil
	case []byte:
		return nil, wrap(ErrDCC, "%s: byte string where JSON has none", pathOr(path))
	}
	return nil, wrap(ErrDCC, "%s: unexpected CBOR value of type %T", pathOr(path), v)
}

// jsonTree checks a value decoded from JSON (with UseNumber) against the
// same bounds as cborTree.
func jsonTree(v any, depth int) (any, error) {
	if depth > MaxNesting {
		return nil, wrap(ErrTooLarge, "nested more than %d deep", MaxNesting)
	}
	switch x := v.(type) {
	case []any:
		if len(x) > MaxElements {
			return nil, wrap(ErrTooLarge, "array of more than %d elements", MaxElements)
		}
		for i, e := range x {
			t, err := jsonTree(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[i] = t
		}
	case map[string]any:
		if len(x) > MaxElements {
			return nil, wrap(ErrTooLarge, "object of more than %d members", MaxElements)
		}
		for k, e := range x {
			t, err := jsonTree(e, depth+1)
			if err != nil {
				return nil, err
			}
			x[k] = t
		}
	}
	return v, nil
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func pathOr(path string) string {
	if path == "" {
		return "certificate"
	}
	return path
}
