package dcc_test

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"errors"
	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/dcc/internal/gen"
	"github.com/crlverify/crlverify/verify/qr"
)

func TestDisplay(t *testing.T) {
	signers, err := dcc.LoadSigners("testdata/example-dsc.pem")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		file string
		want dcc.Display
	}{
		{"test.hc1", dcc.Display{
			Type: dcc.TypeTest, Name: "Asha Sharma", NameTransliterated: "SHARMA<<ASHA", FamilyName: "Sharma", GivenName: "Asha",
			DateOfBirth: "1985-07-01", CertificateID: "URN:UVCI:01:XA:EXAMPLE0000000000000002#R", Disease: "COVID-19",
			Date: "2026-03-02T08:15:00Z", TestType: "Nucleic acid amplification with probe detection", TestName: "Example PCR",
			TestResult: "Not detected", TestCentre: "Example Test Centre", Country: "XA", CountryCode: "XA",
			CertificateIssuer: "Example Health Authority", IssuerCountry: "XA", IssuedAt: iat, Expires: exp, SchemaVersion: "1.3.0",
		}},
		{"recovery.hc1", dcc.Display{
			Type: dcc.TypeRecovery, Name: "Chidi Okafor", NameTransliterated: "OKAFOR<<CHIDI", FamilyName: "Okafor", GivenName: "Chidi",
			DateOfBirth: "1979", CertificateID: "URN:UVCI:01:XA:EXAMPLE0000000000000003#S", Disease: "COVID-19",
			Date: "2026-02-01", ValidFrom: "2026-02-12", ValidUntil: "2026-08-01", Country: "XA", CountryCode: "XA",
			CertificateIssuer: "Example Health Authority", IssuerCountry: "XA", IssuedAt: iat, Expires: exp, SchemaVersion: "1.3.0",
		}},
	} {
		v, err := dcc.Check(readFixture(t, tc.file), signers, exampleAt, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got := v.Display(nil); got != tc.want {
			g, _ := json.MarshalIndent(got, "", " ")
			t.Errorf("%s:\n%s", tc.file, g)
		}
	}
}

// A certificate's text cannot drive a terminal or reorder what is shown.
func TestDisplayRemovesControls(t *testing.T) {
	data := gen.Vaccination("Evil\x1b[2J\x1b[31m", "Ma\u202eloria", "1990-01-01", "URN:UVCI:01:XA:\x07X", 1, 1, "2026-01-01", "XA")
	data["nam"].(map[string]any)["fnt"] = "EVIL"
	c, err := dcc.Decode([]byte(exampleIssuer().issue(data, nil)))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Display(nil)
	for _, s := range []string{d.Name, d.FamilyName, d.GivenName, d.CertificateID} {
		if strings.ContainsAny(s, "\x1b\x07\u202e") {
			t.Errorf("control character kept in %q", s)
		}
	}
	if d.Name != "Maloria Evil[2J[31m" {
		t.Errorf("name %q", d.Name)
	}
}

func TestValueSets(t *testing.T) {
	dir := filepath.Join(dccVectors(t), "schema", "valuesets")
	vs, err := dcc.LoadValueSets(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{dcc.ValueSetDisease, dcc.ValueSetVaccineType, dcc.ValueSetVaccineProduct, dcc.ValueSetVaccineHolder,
		dcc.ValueSetTestType, dcc.ValueSetTestDevice, dcc.ValueSetTestResult, dcc.ValueSetCountry} {
		found := false
		for _, x := range vs.IDs() {
			found = found || x == id
		}
		if !found {
			t.Errorf("value set %s not loaded", id)
		}
	}
	for _, tc := range []struct{ set, code, want string }{
		{dcc.ValueSetCountry, "AT", "Austria"},
		{dcc.ValueSetTestDevice, "1232", "Abbott Rapid Diagnostics, Panbio COVID-19 Ag Rapid Test"},
		{dcc.ValueSetVaccineProduct, "EU/1/20/1528", "Comirnaty"},
	} {
		if got, ok := vs.Name(tc.set, tc.code); !ok || got != tc.want {
			t.Errorf("%s %s = %q, %v", tc.set, tc.code, got, ok)
		}
	}
	// The built-in names agree with the published files.
	def := dcc.DefaultValueSets()
	for _, id := range def.IDs() {
		for _, f := range []string{"disease-agent-targeted", "vaccine-prophylaxis", "vaccine-medicinal-product", "vaccine-mah-manf", "test-type", "test-result"} {
			b, err := os.ReadFile(filepath.Join(dir, f+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var file struct {
				ID     string `json:"valueSetId"`
				Values map[string]struct{ Display string }
			}
			if err := json.Unmarshal(bytes.ReplaceAll(b, []byte("valueSetValues"), []byte("Values")), &file); err != nil {
				t.Fatal(err)
			}
			if file.ID != id {
				continue
			}
			for code, v := range file.Values {
				if name, ok := def.Name(id, code); ok && !strings.HasPrefix(v.Display, name) {
					t.Errorf("%s %s: built in %q, published %q", id, code, name, v.Display)
				}
			}
		}
	}
	// Shown with the files: the vector cases' names.
	c, err := dcc.Decode(readVectorPrefix(t, "AT", "1"))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Display(vs)
	if d.Vaccine != "Comirnaty" || d.Manufacturer != "Biontech Manufacturing GmbH" || d.Country != "Austria" || d.Disease != "COVID-19" {
		t.Errorf("display %+v", d)
	}
	if _, err := dcc.LoadValueSets(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Error("missing directory accepted")
	}
	var zero dcc.ValueSets
	if id, err := zero.Add([]byte(`{"valueSetId":"covid-19-lab-result","valueSetValues":{"1":{"display":"One"}}}`)); err != nil || id != dcc.ValueSetTestResult {
		t.Errorf("zero ValueSets: %q, %v", id, err)
	}
	if name, ok := zero.Name(dcc.ValueSetTestResult, "1"); !ok || name != "One" {
		t.Errorf("zero ValueSets lookup: %q %v", name, ok)
	}
	if _, err := dcc.DefaultValueSets().Add([]byte(`{"valueSetValues":{}}`)); !errors.Is(err, dcc.ErrValueSet) {
		t.Errorf("value set without id: %v", err)
	}
}

func readVectorPrefix(t *testing.T, country, n string) []byte {
	b, err := os.ReadFile(filepath.Join(dccVectors(t), country, "2DCode", "raw", n+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ PREFIX string }
	if err := json.Unmarshal(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), &c); err != nil {
		t.Fatal(err)
	}
	return []byte(c.PREFIX)
}

func decodePNG(t testing.TB, name string) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(readFixture(t, name)))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func TestScanImage(t *testing.T) {
	want := strings.TrimSpace(string(readFixture(t, "vaccination.hc1")))
	for _, tc := range []struct {
		file string
		sym  dcc.Symbology
	}{{"vaccination-qr.png", dcc.SymbologyQR}, {"vaccination-aztec.png", dcc.SymbologyAztec}} {
		img := decodePNG(t, tc.file)
		for turn := range 4 {
			payload, sym, err := dcc.ScanImage(img, nil)
			if err != nil || sym != tc.sym || string(payload) != want {
				t.Fatalf("%s turned %d×90°: %s %.30q, %v", tc.file, turn, sym, payload, err)
			}
			img = rotate(img)
		}
	}
	// Nothing there: both symbologies were tried.
	blank := image.NewGray(image.Rect(0, 0, 200, 200))
	for i := range blank.Pix {
		blank.Pix[i] = 0xff
	}
	_, _, err := dcc.ScanImage(blank, &qr.Options{MaxAttempts: 1})
	if !errors.Is(err, qr.ErrNoQRCode) || !errors.Is(err, qr.ErrNoAztecCode) {
		t.Errorf("blank image: %v", err)
	}
	// Too large: refused before any decoding.
	_, _, err = dcc.ScanImage(blank, &qr.Options{MaxPixels: 100})
	if !errors.Is(err, qr.ErrTooLarge) {
		t.Errorf("over the pixel bound: %v", err)
	}
}

func rotate(img image.Image) image.Image {
	b := img.Bounds()
	out := image.NewGray(image.Rect(0, 0, b.Dy(), b.Dx()))
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(b.Max.Y-1-y, x-b.Min.X, color.GrayModel.Convert(img.At(x, y)))
		}
	}
	return out
}

// The committed fixtures are what the generator makes now.
func TestFixturesUpToDate(t *testing.T) {
	want := map[string][]byte{
		"example-dsc.pem":       gen.CertPEM(gen.ExampleDSC()),
		"example-dsc-list.json": gen.DSCList(gen.ExampleCountry, gen.ExampleDSC()),
	}
	for stem, payload := range gen.ExampleCertificates() {
		want[stem+".hc1"] = []byte(payload + "\n")
	}
	for name, b := range want {
		if !bytes.Equal(readFixture(t, name), b) {
			t.Errorf("testdata/%s differs from what the generator makes: run go generate ./verify/dcc", name)
		}
	}
}
