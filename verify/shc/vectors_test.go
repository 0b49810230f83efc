package shc

import (
	"crypto/x509"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify/qr"
)

// vectorsDir holds the SMART Health Cards specification's examples, beside
// the repository (see its PROVENANCE.md).
const vectorsDir = "../../../shared/vectors/shc"

const specIssuer = "https://spec.smarthealth.cards/examples/issuer"

// specAt is a time at which every specification example is valid: they
// were issued on 2023-06-22, and example-03 expires on 2024-06-21.
var specAt = time.Date(2023, 7, 1, 0, 0, 0, 0, time.UTC)

func vectorPath(parts ...string) string {
	return filepath.Join(append([]string{vectorsDir}, parts...)...)
}

// vector reads a file of the outside vectors, skipping the test when they
// are not there.
func vector(t testing.TB, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(vectorPath(parts...))
	if os.IsNotExist(err) {
		t.Skipf("SMART Health Cards vectors not present (%s): %v", vectorsDir, err)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func example(t testing.TB, n, name string) []byte {
	return vector(t, "examples", "example-"+n+"-"+name)
}

const specKID3K = "3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s"
const specKIDX5C = "EBKOr72QQDcTBUuVzAzkfBTGew0ZA16GuWty64nS-sw"

func specDirectory(t testing.TB) *Directory {
	t.Helper()
	d := NewDirectory()
	if err := d.AddJWKS(specIssuer, vector(t, "examples", "issuer", ".well-known", "jwks.json")); err != nil {
		t.Fatal(err)
	}
	return d
}

func specCRL(t testing.TB) *CRL {
	t.Helper()
	l, err := ParseCRL(vector(t, "examples", "issuer", ".well-known", "crl", specKID3K+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// TestSpecExamples reads every specification example in each of its
// forms (JWS, .smart-health-card file, numeric QR text, rendered QR
// image), checks that all give the same card, that the inflated payload is
// the minified payload file byte for byte, and that the card verifies with
// the issuer's key set.
func TestSpecExamples(t *testing.T) {
	dir := specDirectory(t)
	for _, n := range []string{"00", "01", "02", "03"} {
		t.Run("example-"+n, func(t *testing.T) {
			jws := string(example(t, n, "d-jws.txt"))
			c, err := Parse(jws)
			if err != nil {
				t.Fatal(err)
			}
			if want := example(t, n, "c-jws-payload-minified.json"); string(c.Payload) != string(want) {
				t.Errorf("inflated payload differs from the minified payload file")
			}
			k, err := Verify(c, dir, specAt)
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if k.ID != c.Header.KID {
				t.Errorf("key %q, card names %q", k.ID, c.Header.KID)
			}
			checkAgainstExpanded(t, c, example(t, n, "b-jws-payload-expanded.json"))

			list, err := ParseFile(example(t, n, "e-file.smart-health-card"))
			if err != nil || len(list) != 1 || list[0] != jws {
				t.Errorf("ParseFile: %d cards, err %v; want the JWS", len(list), err)
			}

			var numeric [][]byte
			for i := 0; ; i++ {
				b, err := os.ReadFile(vectorPath("examples", "example-"+n+"-f-qr-code-numeric-value-"+string(rune('0'+i))+".txt"))
				if err != nil {
					break
				}
				numeric = append(numeric, b)
			}
			got, err := JoinChunks(numeric)
			if err != nil || got != jws {
				t.Errorf("numeric QR text (%d codes): err %v, same JWS %v", len(numeric), err, got == jws)
			}
			if len(numeric) == 1 {
				pc, form, err := ParsePayload(numeric[0])
				if err != nil || form != FormNumeric || pc.JWS != jws {
					t.Errorf("ParsePayload(numeric): form %v, err %v", form, err)
				}
			}

			// The rendered QR images decode to the numeric text.
			for i, want := range numeric {
				p := vectorPath("rendered-png", "example-"+n+"-g-qr-code-"+string(rune('0'+i))+".png")
				img, err := qr.DecodeFile(p, nil)
				if err != nil {
					t.Fatalf("%s: %v", p, err)
				}
				if string(img) != string(want) {
					t.Errorf("%s decodes to other bytes than the numeric text", p)
				}
			}
		})
	}
}

// checkAgainstExpanded compares the parsed fields with the expanded
// payload, read independently with encoding/json.
func checkAgainstExpanded(t *testing.T, c *Card, expanded []byte) {
	t.Helper()
	var p struct {
		Iss string  `json:"iss"`
		Nbf float64 `json:"nbf"`
		Exp float64 `json:"exp"`
		VC  struct {
			Type []string `json:"type"`
			RID  string   `json:"rid"`
			CS   struct {
				FHIRVersion string `json:"fhirVersion"`
				Bundle      struct {
					Entry []struct {
						Resource map[string]json.RawMessage `json:"resource"`
					} `json:"entry"`
				} `json:"fhirBundle"`
			} `json:"credentialSubject"`
		} `json:"vc"`
	}
	if err := json.Unmarshal(expanded, &p); err != nil {
		t.Fatal(err)
	}
	if c.Issuer != p.Iss || c.RevocationID != p.VC.RID || c.FHIRVersion != p.VC.CS.FHIRVersion || !slices.Equal(c.Types, p.VC.Type) {
		t.Errorf("claims: got %q %q %q %q", c.Issuer, c.RevocationID, c.FHIRVersion, c.Types)
	}
	if d := c.NotBefore.Sub(time.UnixMilli(int64(p.Nbf*1000 + 0.5))); d != 0 {
		t.Errorf("nbf %v, expanded %v", c.NotBefore, p.Nbf)
	}
	if (p.Exp == 0) != c.Expires.IsZero() {
		t.Errorf("exp %v, expanded %v", c.Expires, p.Exp)
	}
	imms := 0
	for _, e := range p.VC.CS.Bundle.Entry {
		if string(e.Resource["resourceType"]) == `"Immunization"` {
			imms++
		}
	}
	if len(c.Immunizations) != imms || len(c.ResourceTypes) != len(p.VC.CS.Bundle.Entry) {
		t.Errorf("%d immunizations of %d entries, expanded has %d of %d", len(c.Immunizations), len(c.ResourceTypes), imms, len(p.VC.CS.Bundle.Entry))
	}
}

// TestSpecDisplay checks what a verifier shows of example-00 and
// example-03.
func TestSpecDisplay(t *testing.T) {
	c, err := Parse(string(example(t, "00", "d-jws.txt")))
	if err != nil {
		t.Fatal(err)
	}
	d := c.Display()
	want := Display{
		Name: "John B. Anyperson", DateOfBirth: "1951-01-20", Issuer: specIssuer, RevocationID: "MKyCxh7p6uQ",
		IssuedAt: time.Date(2023, 6, 22, 16, 19, 24, 656e6, time.UTC),
		Vaccine:  "Moderna COVID-19 vaccine, bivalent, 50 mcg or 25 mcg", Manufacturer: "Moderna", Disease: "COVID-19",
		VaccineCode: Coding{SystemCVX, "229"}, Date: "2022-09-05", Lot: "0000001", Performer: "ABC General Hospital",
		Dose: 3, Doses: 3,
	}
	if d != want {
		t.Errorf("example-00:\n got %+v\nwant %+v", d, want)
	}

	c, err = Parse(string(example(t, "03", "d-jws.txt")))
	if err != nil {
		t.Fatal(err)
	}
	d = c.Display()
	if d.Name != "Johnny Revoked" || d.Vaccine != "Moderna COVID-19 vaccine (Spikevax), 100 mcg or 50 mcg dose" ||
		d.Dose != 2 || d.Date != "2021-03-29" || d.Expires != time.Date(2024, 6, 21, 16, 19, 24, 657e6, time.UTC) {
		t.Errorf("example-03: %+v", d)
	}
}

// TestSpecRevocation: example-03 is revoked by the issuer's list
// (vwAjHdarZuc.1687450765, issued at 1687450764.657) and expired in 2024;
// example-00's rid is not listed; example-01 has no rid and its key no
// list.
func TestSpecRevocation(t *testing.T) {
	dir, list := specDirectory(t), specCRL(t)
	if list.KID != specKID3K || list.Counter != 1 || list.Len() != 4 {
		t.Fatalf("list %q ctr %d, %d rids", list.KID, list.Counter, list.Len())
	}
	wantEntries := []Entry{
		{ID: "FKDIxsTCGlU"},
		{ID: "TqB_qu_6OtM"},
		{ID: "XkNHp2Iyk0Y", Before: time.Unix(1687450765, 0).UTC()},
		{ID: "vwAjHdarZuc", Before: time.Unix(1687450765, 0).UTC()},
	}
	if got := list.Entries(); !slices.Equal(got, wantEntries) {
		t.Errorf("entries %v", got)
	}
	for _, tc := range []struct {
		n       string
		revoked bool
		keyErr  error
	}{{"00", false, nil}, {"01", false, ErrCRLVersion}, {"02", false, nil}, {"03", true, nil}} {
		c, err := Parse(string(example(t, tc.n, "d-jws.txt")))
		if err != nil {
			t.Fatal(err)
		}
		k, err := VerifySignature(c, dir, specAt)
		if err != nil {
			t.Fatal(err)
		}
		if c.Header.KID == list.KID {
			if err := list.CheckKey(k); !errors.Is(err, tc.keyErr) {
				t.Errorf("example-%s: CheckKey %v, want %v", tc.n, err, tc.keyErr)
			}
		}
		if got := list.RevokesCard(c); got != tc.revoked {
			t.Errorf("example-%s: revoked %v, want %v", tc.n, got, tc.revoked)
		}
	}

	c, err := Parse(string(example(t, "03", "d-jws.txt")))
	if err != nil {
		t.Fatal(err)
	}
	// The same rid on a card issued at or after the timestamp is not
	// revoked.
	if list.Revokes(c.RevocationID, time.Unix(1687450765, 0)) || !list.Revokes(c.RevocationID, c.NotBefore) {
		t.Error("the timestamp does not split revoked from not revoked")
	}
	at := time.Date(2024, 7, 1, 0, 0, 0, 0, time.UTC)
	_, err = Verify(c, dir, at)
	var ve *ValidityError
	if !errors.Is(err, ErrExpired) || !errors.As(err, &ve) || !ve.Expires.Equal(c.Expires) || !ve.At.Equal(at) {
		t.Errorf("example-03 in July 2024: %v", err)
	}
	if !strings.Contains(err.Error(), "2024-06-21T16:19:24.657Z") {
		t.Errorf("message %q does not give the expiry", err)
	}
}

// TestSpecKeys checks the specification's key set: two keys, kids equal
// to their thumbprints, one with crlVersion 1, one with a three-certificate
// x5c chain naming the issuer.
func TestSpecKeys(t *testing.T) {
	set, err := ParseJWKS(vector(t, "examples", "issuer", ".well-known", "jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || len(set.Skipped) != 0 {
		t.Fatalf("%d keys, %d skipped", len(set.Keys), len(set.Skipped))
	}
	for _, k := range set.Keys {
		if k.Thumbprint != k.ID {
			t.Errorf("key %q: thumbprint %q", k.ID, k.Thumbprint)
		}
	}
	k3, _ := set.Key(specKID3K)
	kx, _ := set.Key(specKIDX5C)
	if k3.CRLVersion != 1 || len(k3.Chains) != 0 || kx.CRLVersion != 0 || len(kx.Chains) != 1 || len(kx.Chains[0]) != 3 {
		t.Errorf("crlVersion %d/%d, chains %d/%d", k3.CRLVersion, kx.CRLVersion, len(k3.Chains), len(kx.Chains))
	}
	if err := kx.CheckIssuer(specIssuer); err != nil {
		t.Error(err)
	}
	if err := kx.CheckIssuer("https://other.example"); !errors.Is(err, ErrBadSignature) {
		t.Errorf("CheckIssuer(other) = %v", err)
	}
}

// TestSpecX5CRoots trusts the example root CA: the issuer certificate of
// the x5c key is valid from 2021-06-01 to 2022-06-01, and example-01,
// signed with that key, was issued (nbf) on 2023-06-22, after it expired:
// the chain is judged at the card's issuance, so the card does not verify,
// whenever it is checked; until it is issued, at the time of the check.
func TestSpecX5CRoots(t *testing.T) {
	dir := specDirectory(t)
	set, _ := dir.KeySet(specIssuer)
	kx, _ := set.Key(specKIDX5C)
	chain := kx.Chains[0]
	roots := x509.NewCertPool()
	roots.AddCert(chain[len(chain)-1])
	dir.SetRoots(roots)

	c, err := Parse(string(example(t, "01", "d-jws.txt")))
	if err != nil {
		t.Fatal(err)
	}
	_, err = VerifySignature(c, dir, specAt)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "x5c chain") || !strings.Contains(err.Error(), "at 2023-06-22T16:19:24Z (the card's issuance, its nbf)") {
		t.Errorf("card issued after its certificate expired: %v", err)
	}
	if _, err := VerifySignature(c, dir, time.Date(2021, 7, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Errorf("checked in July 2021, before the card's nbf: %v", err)
	}
	// Another root: no trusted chain at any time.
	other := x509.NewCertPool()
	other.AddCert(selfSignedCA(t))
	dir.SetRoots(other)
	if _, err := VerifySignature(c, dir, time.Date(2021, 7, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrBadSignature) {
		t.Errorf("untrusted root: %v", err)
	}
	// A key without x5c is trusted as configured.
	c0, err := Parse(string(example(t, "00", "d-jws.txt")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := VerifySignature(c0, dir, specAt); err != nil {
		t.Errorf("key without x5c under roots: %v", err)
	}
}

// TestSpecChunks joins example-02's three codes in every order, and
// refuses fewer.
func TestSpecChunks(t *testing.T) {
	want := string(example(t, "02", "d-jws.txt"))
	var parts [][]byte
	for _, i := range []string{"0", "1", "2"} {
		parts = append(parts, example(t, "02", "f-qr-code-numeric-value-"+i+".txt"))
	}
	for _, order := range [][]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		var j Joiner
		for k, i := range order {
			done, err := j.Add(parts[i])
			if err != nil || done != (k == 2) {
				t.Fatalf("order %v, chunk %d: done %v, err %v", order, i, done, err)
			}
		}
		got, err := j.JWS()
		if err != nil || got != want {
			t.Errorf("order %v: err %v, same JWS %v", order, err, got == want)
		}
	}
	_, err := JoinChunks(parts[:2])
	if !errors.Is(err, ErrIncomplete) || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "[3]") {
		t.Errorf("two of three chunks: %v", err)
	}
	_, form, err := ParsePayload(parts[1])
	if form != FormChunk || !errors.Is(err, ErrIncomplete) || !strings.Contains(err.Error(), "chunk 2 of 3") {
		t.Errorf("ParsePayload(chunk 2): form %v, %v", form, err)
	}
}
