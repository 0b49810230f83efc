package dcc

import (
	"encoding/json"
	"io"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// The value set identifiers of the EU DCC value sets ("valueSetId" in
// their files), by the field they give meaning to.
const (
	ValueSetDisease        = "disease-agent-targeted"                  // tg
	ValueSetVaccineType    = "sct-vaccines-covid-19"                   // v.vp
	ValueSetVaccineProduct = "vaccines-covid-19-names"                 // v.mp
	ValueSetVaccineHolder  = "vaccines-covid-19-auth-holders"          // v.ma
	ValueSetTestType       = "covid-19-lab-test-type"                  // t.tt
	ValueSetTestDevice     = "covid-19-lab-test-manufacturer-and-name" // t.ma
	ValueSetTestResult     = "covid-19-lab-result"                     // t.tr
	ValueSetCountry        = "country-2-codes"                         // co
)

// Bounds on value set files.
const (
	maxValueSetFileSize     = 4 << 20
	maxValueSetFiles        = 64
	maxValueSetValues       = 10_000
	maxValueSetDisplayBytes = 512
)

// ValueSets maps the codes a certificate holds to the names a person
// reads ("EU/1/20/1528" → "Comirnaty"). [DefaultValueSets] knows the
// common codes; [LoadValueSets] adds the published value set files. The
// zero value knows no names. A ValueSets is safe for concurrent use.
type ValueSets struct {
	mu   sync.RWMutex
	sets map[string]map[string]string // valueSetId → code → display
	date map[string]string            // valueSetId → valueSetDate
}

// builtin holds the common codes of the EU DCC value sets (eHealth
// Network, "Value Sets for Digital COVID Certificates"): the disease, the
// vaccine types, the vaccines authorised in the EU and their marketing
// authorisation holders, the test types and results. Rapid test devices
// and country names come only from value set files.
var builtin = map[string]map[string]string{
	ValueSetDisease: {"840539006": "COVID-19"},
	ValueSetVaccineType: {
		"1119305005": "SARS-CoV-2 antigen vaccine",
		"1119349007": "SARS-CoV-2 mRNA vaccine",
		"J07BX03":    "covid-19 vaccines",
	},
	ValueSetVaccineProduct: {
		"EU/1/20/1528": "Comirnaty",
		"EU/1/20/1507": "Spikevax",
		"EU/1/21/1529": "Vaxzevria",
		"EU/1/20/1525": "Jcovden",
		"EU/1/21/1618": "Nuvaxovid",
		"EU/1/21/1624": "COVID-19 Vaccine Valneva",
		"EU/1/21/1580": "VidPrevtyn Beta",
		"EU/1/22/1709": "Bimervax",
	},
	ValueSetVaccineHolder: {
		"ORG-100030215": "Biontech Manufacturing GmbH",
		"ORG-100031184": "Moderna Biotech Spain S.L.",
		"ORG-100001699": "AstraZeneca AB",
		"ORG-100001417": "Janssen-Cilag International",
		"ORG-100032020": "Novavax CZ a.s.",
		"ORG-100036422": "Valneva France",
		"ORG-100000788": "Sanofi Pasteur",
		"ORG-100010771": "Sinopharm Weiqida Europe Pharmaceutical s.r.o. - Prague location",
	},
	ValueSetTestType: {
		"LP6464-4":   "Nucleic acid amplification with probe detection",
		"LP217198-3": "Rapid immunoassay",
	},
	ValueSetTestResult: {
		"260415000": "Not detected",
		"260373001": "Detected",
	},
}

// DefaultValueSets returns the built-in names of the common codes.
func DefaultValueSets() *ValueSets {
	vs := &ValueSets{sets: map[string]map[string]string{}, date: map[string]string{}}
	for id, m := range builtin {
		vs.sets[id] = maps.Clone(m)
	}
	return vs
}

// LoadValueSets returns the built-in names with the value set files in dir
// added on top (every *.json file; files that are not value sets, such as
// vaccine-encoding-instructions.json, are skipped). A file's entries
// replace the built-in ones of the same code.
func LoadValueSets(dir string) (*ValueSets, error) {
	vs := DefaultValueSets()
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, err
		}
	}
	if len(files) > maxValueSetFiles {
		return nil, wrap(ErrValueSet, "%s: more than %d files", dir, maxValueSetFiles)
	}
	sort.Strings(files)
	for _, f := range files {
		b, err := readBounded(f, maxValueSetFileSize)
		if err != nil {
			return nil, err
		}
		if _, err := vs.Add(b); err != nil {
			return nil, err
		}
	}
	return vs, nil
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, wrap(ErrTooLarge, "%s: more than %d bytes", path, limit)
	}
	return b, nil
}

// valueSetFile is the published value set format.
type valueSetFile struct {
	ID     string `json:"valueSetId"`
	Date   string `json:"valueSetDate"`
	Values map[string]struct {
		Display *string `json:"display"`
	} `json:"valueSetValues"`
}

// Add reads one value set file ({"valueSetId", "valueSetDate",
// "valueSetValues": {code: {"display", ...}}}) and returns its id. A file
// whose values have no display names (another kind of file) is skipped:
// its id is returned, nothing is added.
func (vs *ValueSets) Add(b []byte) (string, error) {
	if len(b) > maxValueSetFileSize {
		return "", wrap(ErrTooLarge, "value set of more than %d bytes", maxValueSetFileSize)
	}
	var f valueSetFile
	if err := json.Unmarshal(b, &f); err != nil {
		return "", wrap(ErrValueSet, "%v", err)
	}
	if f.ID == "" {
		return "", wrap(ErrValueSet, "no valueSetId")
	}
	if len(f.Values) > maxValueSetValues {
		return "", wrap(ErrValueSet, "%s: more than %d values", f.ID, maxValueSetValues)
	}
	names := map[string]string{}
	for code, v := range f.Values {
		if v.Display == nil {
			return f.ID, nil
		}
		d := *v.Display
		if len(d) > maxValueSetDisplayBytes {
			d = d[:maxValueSetDisplayBytes]
		}
		names[code] = d
	}
	vs.mu.Lock()
	defer vs.mu.Unlock()
	if vs.sets == nil {
		vs.sets, vs.date = map[string]map[string]string{}, map[string]string{}
	}
	if vs.sets[f.ID] == nil {
		vs.sets[f.ID] = map[string]string{}
	}
	maps.Copy(vs.sets[f.ID], names)
	vs.date[f.ID] = f.Date
	return f.ID, nil
}

// Name returns the display name of code in value set id, and whether it is
// known.
func (vs *ValueSets) Name(id, code string) (string, bool) {
	if vs == nil {
		vs = defaultValueSets
	}
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	name, ok := vs.sets[id][code]
	return name, ok
}

// nameOr returns the display name of code, or the code itself when the
// value set does not know it.
func (vs *ValueSets) nameOr(id, code string) string {
	if name, ok := vs.Name(id, code); ok {
		return clean(name)
	}
	return clean(code)
}

// IDs lists the value sets known, sorted.
func (vs *ValueSets) IDs() []string {
	vs.mu.RLock()
	defer vs.mu.RUnlock()
	ids := make([]string, 0, len(vs.sets))
	for id := range vs.sets {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

var defaultValueSets = DefaultValueSets()

// clean removes control characters (C0, DEL, C1) and the Unicode
// bidirectional controls from text for display, so a certificate cannot
// move a terminal's cursor or reorder what is shown.
func clean(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r < 0x20, r >= 0x7f && r <= 0x9f:
			return -1
		case r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069, r == 0x200e, r == 0x200f, r == 0x061c:
			return -1
		}
		return r
	}, s)
}
