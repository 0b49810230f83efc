package main

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify/dcc"
)

// The outside vectors beside the repository (see their PROVENANCE.md).
var sharedVectors = filepath.Join("..", "..", "..", "shared", "vectors")

func sharedDir(t *testing.T, parts ...string) string {
	t.Helper()
	dir := filepath.Join(append([]string{sharedVectors}, parts...)...)
	if _, err := os.Stat(dir); err != nil {
		t.Skipf("vectors not present at %s (clone with ../shared beside the repository): %v", dir, err)
	}
	return dir
}

// formatLine is what a test reads of a scan --json line.
type formatLine struct {
	Input       string   `json:"input"`
	Status      string   `json:"status"`
	Detail      string   `json:"detail"`
	Format      string   `json:"format"`
	PayloadForm string   `json:"payload_form"`
	FromImage   bool     `json:"from_image"`
	Type        string   `json:"certificate_type"`
	Card        int      `json:"card"`
	ChunkInputs []string `json:"chunk_inputs"`
	Certificate struct {
		ID      string `json:"id"`
		Name    string `json:"name"`
		Issuer  string `json:"issuer"`
		KeyID   string `json:"key_id"`
		Vaccine string `json:"vaccine"`
		Disease string `json:"disease"`
	} `json:"certificate"`
	Revocation struct {
		Known       bool   `json:"known"`
		Status      string `json:"status"`
		Source      string `json:"source"`
		Explanation string `json:"explanation"`
		Serial      uint64 `json:"serial"`
	} `json:"revocation"`
}

// scanJSON runs scan --json and returns its exit code and lines.
func scanJSON(t *testing.T, args ...string) (int, []formatLine, string) {
	t.Helper()
	code, stdout, stderr := runCLI(t, append([]string{"scan", "--json"}, args...)...)
	var lines []formatLine
	dec := json.NewDecoder(strings.NewReader(stdout))
	for dec.More() {
		var l formatLine
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("scan output is not JSON lines: %v\n%s", err, stdout)
		}
		lines = append(lines, l)
	}
	return code, lines, stderr
}

const specIssuer = "https://spec.smarthealth.cards/examples/issuer"

// TestScanSHCVectors scans every form of the SMART Health Cards
// specification's examples (QR images, numeric QR text, JWS,
// .smart-health-card files) at a clock where all are valid, before and
// after the issuer's revocation list is imported with sync --from; and
// example-03 after its expiry, which it is revoked before.
func TestScanSHCVectors(t *testing.T) {
	dir := sharedDir(t, "shc")
	ex := filepath.Join(dir, "examples")
	dirTemp := t.TempDir()
	trustFile := filepath.Join(dirTemp, "trust.json")
	st := filepath.Join(dirTemp, "crl.db")
	mustRun(t, "", "trust", "add", "--trust", trustFile, specIssuer, filepath.Join(ex, "issuer", ".well-known", "jwks.json"), "--name", "SMART Health Cards examples")

	type form struct {
		name   string
		inputs []string
		form   string
		image  bool
	}
	forms := func(n string, chunks int) []form {
		f := []form{
			{"jws", []string{filepath.Join(ex, "example-"+n+"-d-jws.txt")}, "jws", false},
			{"file", []string{filepath.Join(ex, "example-"+n+"-e-file.smart-health-card")}, "file", false},
		}
		var numeric, png []string
		for i := range chunks {
			numeric = append(numeric, filepath.Join(ex, "example-"+n+"-f-qr-code-numeric-value-"+string(rune('0'+i))+".txt"))
			png = append(png, filepath.Join(dir, "rendered-png", "example-"+n+"-g-qr-code-"+string(rune('0'+i))+".png"))
		}
		want := "numeric"
		if chunks > 1 {
			want = "numeric-chunk"
			// The chunks given in another order join the same.
			slices.Reverse(numeric)
		}
		return append(f, form{"numeric", numeric, want, false}, form{"png", png, want, true})
	}
	examples := []struct {
		n      string
		chunks int
		// Revocation status known once the list is imported (example-01
		// has no rid and its key no crlVersion), and the status then.
		known  bool
		status string
	}{
		{"00", 1, true, "VALID"},
		{"01", 1, false, "VALID"},
		{"02", 3, true, "VALID"},
		{"03", 1, true, "REVOKED"},
	}
	specAt := "2023-07-01T00:00:00Z"
	check := func(phase string, imported bool) {
		for _, e := range examples {
			for _, f := range forms(e.n, e.chunks) {
				code, lines, stderr := scanJSON(t, append([]string{"--trust", trustFile, "--store", st, "--at", specAt}, f.inputs...)...)
				if len(lines) != 1 {
					t.Errorf("%s example-%s %s: %d results (exit %d) %s", phase, e.n, f.name, len(lines), code, stderr)
					continue
				}
				l := lines[0]
				wantStatus, wantKnown, wantCode := "VALID", false, ExitUnknown
				if imported {
					wantStatus, wantKnown = e.status, e.known
					switch {
					case wantStatus != "VALID":
						wantCode = ExitInvalid
					case wantKnown:
						wantCode = ExitOK
					}
				}
				if l.Status != wantStatus || l.Revocation.Known != wantKnown || code != wantCode || l.Format != "shc" || l.PayloadForm != f.form || l.FromImage != f.image {
					t.Errorf("%s example-%s %s: exit %d %s %s %s image %v known %v (%s)", phase, e.n, f.name, code, l.Format, l.PayloadForm, l.Status, l.FromImage, l.Revocation.Known, l.Detail)
				}
				// example-02 is a laboratory report: no Patient resource,
				// no immunization.
				if l.Certificate.Issuer != specIssuer || e.n != "02" && (l.Certificate.Name == "" || l.Certificate.Vaccine == "" || l.Certificate.Disease == "") {
					t.Errorf("%s example-%s %s: certificate %+v", phase, e.n, f.name, l.Certificate)
				}
				if len(f.inputs) > 1 && len(l.ChunkInputs) != len(f.inputs) {
					t.Errorf("%s example-%s %s: chunk inputs %q", phase, e.n, f.name, l.ChunkInputs)
				}
			}
		}
	}
	check("before the list", false)

	crlFile := filepath.Join(ex, "issuer", ".well-known", "crl", "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s.json")
	out := mustRun(t, "", "sync", "--from", crlFile, "--trust", trustFile, "--store", st)
	if !strings.Contains(out, specIssuer+": imported revocation list of key 3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s, ctr 1, 4 rids") {
		t.Errorf("sync --from the list printed %q", out)
	}
	check("after the list", true)

	// A year after example-03 expired, it is still reported revoked: the
	// revocation is checked before the dates.
	code, lines, _ := scanJSON(t, "--trust", trustFile, "--store", st, "--at", "2025-06-01T00:00:00Z", filepath.Join(ex, "example-03-d-jws.txt"))
	if code != ExitInvalid || len(lines) != 1 || lines[0].Status != "REVOKED" {
		t.Errorf("example-03 in 2025: exit %d %+v", code, lines)
	}
	// Without the list, it is expired.
	if code, _, errs := runCLI(t, "forget", "--store", st, specIssuer+"/.well-known/crl/3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s.json"); code != ExitOK {
		t.Fatalf("forget the list: %d %s", code, errs)
	}
	code, lines, _ = scanJSON(t, "--trust", trustFile, "--store", st, "--at", "2025-06-01T00:00:00Z", filepath.Join(ex, "example-03-d-jws.txt"))
	if code != ExitInvalid || len(lines) != 1 || lines[0].Status != "EXPIRED" {
		t.Errorf("example-03 in 2025 without the list: exit %d %+v", code, lines)
	}

	// One chunk of example-02 missing: MALFORMED, naming it.
	code, lines, _ = scanJSON(t, "--trust", trustFile, "--store", st, "--at", specAt,
		filepath.Join(dir, "rendered-png", "example-02-g-qr-code-0.png"), filepath.Join(dir, "rendered-png", "example-02-g-qr-code-2.png"))
	if code != ExitInvalid || len(lines) != 1 || lines[0].Status != "MALFORMED" || !strings.Contains(lines[0].Detail, "split over 3 QR codes: chunk 2 is missing") {
		t.Errorf("example-02 without its second code: exit %d %+v", code, lines)
	}
}

// dccCase is one EU test case (*/2DCode/raw/*.json).
type dccCase struct {
	Prefix   string `json:"PREFIX"`
	TwoD     string `json:"2DCODE"`
	TwoDAlt  string `json:"_2DCODE"`
	Expected map[string]any
	TestCtx  struct {
		Certificate     string `json:"CERTIFICATE"`
		ValidationClock string `json:"VALIDATIONCLOCK"`
		Description     string `json:"DESCRIPTION"`
	} `json:"TESTCTX"`
}

func (c *dccCase) flag(step string) (want, given bool) {
	v, ok := c.Expected["EXPECTED"+step]
	b, isBool := v.(bool)
	return b, ok && isBool
}

// allowed is the set of verdicts that honour every expected result a case
// gives, at its clock, with its certificate as the only trusted document
// signer and no revocation list. A step expected to fail decides at its
// place in the verdict's order: decoding, the base45, zlib, CBOR and
// schema steps are MALFORMED; the signature (VERIFY) is UNKNOWN_ISSUER
// when the kid names no trusted signer, BAD_SIGNATURE otherwise, or
// MALFORMED when the message is already refused as such; the key usage is
// part of the signer's check (BAD_SIGNATURE); the expiry check is EXPIRED
// or NOT_YET_VALID, or BAD_SIGNATURE when the certificate's dates lie
// outside its signer's validity. A step expected to succeed rules out its
// failure. Steps a case does not name are not constrained, except that a
// certificate read without any failure is VALID (revocation status
// unknown).
func (c *dccCase) allowed(fromPicture bool) []string {
	all := []string{"VALID", "EXPIRED", "NOT_YET_VALID", "BAD_SIGNATURE", "UNKNOWN_ISSUER", "MALFORMED"}
	keep := func(set []string, only ...string) []string {
		return slices.DeleteFunc(set, func(s string) bool { return !slices.Contains(only, s) })
	}
	drop := func(set []string, out ...string) []string {
		return slices.DeleteFunc(set, func(s string) bool { return slices.Contains(out, s) })
	}
	steps := []string{"UNPREFIX", "B45DECODE", "COMPRESSION", "DECODE", "SCHEMAVALIDATION"}
	if fromPicture {
		steps = append(steps, "PICTUREDECODE")
	}
	set := slices.Clone(all)
	decodes := true
	for _, s := range steps {
		if want, ok := c.flag(s); ok && !want {
			return []string{"MALFORMED"}
		} else if !ok && s == "SCHEMAVALIDATION" {
			decodes = false
		}
	}
	if decodes {
		set = drop(set, "MALFORMED")
	}
	if want, ok := c.flag("VERIFY"); ok && !want {
		return keep(set, "MALFORMED", "UNKNOWN_ISSUER", "BAD_SIGNATURE")
	} else if ok {
		set = drop(set, "UNKNOWN_ISSUER", "MALFORMED")
	}
	if want, ok := c.flag("KEYUSAGE"); ok && !want {
		return keep(set, "BAD_SIGNATURE")
	} else if ok {
		set = drop(set, "UNKNOWN_ISSUER", "MALFORMED")
		if v, vok := c.flag("VERIFY"); vok && v {
			set = drop(set, "BAD_SIGNATURE")
		}
	}
	if want, ok := c.flag("EXPIRATIONCHECK"); ok && !want {
		return keep(set, "EXPIRED", "NOT_YET_VALID", "BAD_SIGNATURE")
	} else if ok {
		set = drop(set, "EXPIRED", "NOT_YET_VALID", "BAD_SIGNATURE")
	}
	return set
}

// TestScanDCCVectors scans every EU test case (its PREFIX as a text file
// and, where it has one, its picture) with its certificate trusted (added
// with trust add) at its validation clock, and checks the verdict against
// every expected result the case gives (see allowed).
func TestScanDCCVectors(t *testing.T) {
	dir := sharedDir(t, "dcc")
	files, err := filepath.Glob(filepath.Join(dir, "*", "2DCode", "raw", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no cases under %s: %v", dir, err)
	}
	sort.Strings(files)
	counts := map[string]int{}
	for _, f := range files {
		rel, _ := filepath.Rel(dir, f)
		name := strings.ReplaceAll(strings.TrimSuffix(rel, ".json"), "/2DCode/raw/", "/")
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(f)
			noErr(t, err)
			var c dccCase
			noErr(t, json.Unmarshal(bytes.TrimPrefix(b, []byte("\xef\xbb\xbf")), &c))
			if c.TwoD == "" {
				c.TwoD = c.TwoDAlt
			}
			// One spelling mistake exists upstream.
			if v, ok := c.Expected["EXPTECTEDEXPIRED"]; ok {
				c.Expected["EXPECTEDEXPIRATIONCHECK"] = v
			}
			tmp := t.TempDir()
			der, err := base64.StdEncoding.DecodeString(c.TestCtx.Certificate)
			noErr(t, err)
			cert, err := x509.ParseCertificate(der)
			noErr(t, err)
			country := "XX"
			if len(cert.Subject.Country) > 0 {
				country = cert.Subject.Country[0]
			} else if crt, err := dcc.Decode([]byte(c.Prefix)); err == nil && crt.Issuer != "" {
				country = crt.Issuer
			}
			certFile := filepath.Join(tmp, "dsc.der")
			noErr(t, os.WriteFile(certFile, der, 0o644))
			trustFile := filepath.Join(tmp, "trust.json")
			mustRun(t, "", "trust", "add", "--trust", trustFile, "--format", "dcc", country, certFile)

			inputs := map[string]bool{} // file → from a picture
			text := filepath.Join(tmp, "prefix.txt")
			noErr(t, os.WriteFile(text, []byte(c.Prefix+"\n"), 0o644))
			inputs[text] = false
			if c.TwoD != "" {
				png, err := base64.StdEncoding.DecodeString(c.TwoD)
				noErr(t, err)
				pic := filepath.Join(tmp, "picture.png")
				noErr(t, os.WriteFile(pic, png, 0o644))
				inputs[pic] = true
			}
			at, err := time.Parse(time.RFC3339Nano, c.TestCtx.ValidationClock)
			noErr(t, err)
			for in, fromPicture := range inputs {
				code, lines, stderr := scanJSON(t, "--trust", trustFile, "--store", filepath.Join(tmp, "absent.db"),
					"--at", at.UTC().Format(time.RFC3339), in)
				if len(lines) != 1 {
					t.Fatalf("%s: exit %d, %d results: %s", in, code, len(lines), stderr)
				}
				l := lines[0]
				allowed := c.allowed(fromPicture)
				if !slices.Contains(allowed, l.Status) {
					t.Errorf("%s (%s): %s (%s), want one of %v for %v", filepath.Base(in), c.TestCtx.Description, l.Status, l.Detail, allowed, c.Expected)
				}
				if wantCode := map[bool]int{true: ExitUnknown, false: ExitInvalid}[l.Status == "VALID"]; code != wantCode {
					t.Errorf("%s: exit %d for %s", filepath.Base(in), code, l.Status)
				}
				if l.Status == "VALID" && (l.Format != "dcc" || l.Type == "" || l.Certificate.ID == "" || l.Revocation.Known || l.FromImage != fromPicture) {
					t.Errorf("%s: %+v", filepath.Base(in), l)
				}
				counts[l.Status]++
			}
		})
	}
	t.Logf("EU DCC vector verdicts: %v", counts)
}
