package dcc_test

import (
	"bytes"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"unicode/utf8"

	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/dcc/internal/gen"
)

// vectorSeeds returns a field of every vector case, when the vectors are
// there (fuzzing works without them, from the built-in seeds).
func vectorSeeds(f *testing.F, field func(*vectorCase) string) []string {
	dir := filepath.Join("..", "..", "..", "shared", "vectors", "dcc")
	if _, err := os.Stat(dir); err != nil {
		return nil
	}
	var out []string
	for _, c := range loadVectorCases(f, dir) {
		if s := field(c); s != "" {
			out = append(out, s)
		}
	}
	return out
}

func FuzzBase45(f *testing.F) {
	for _, s := range []string{"BB8", "%69 VD92EX0", "UJCLQE7W581", "QED8WEX0", "GGW", "", "A", "::"} {
		f.Add([]byte(s))
	}
	for _, s := range vectorSeeds(f, func(c *vectorCase) string { return c.BASE45 }) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, s []byte) {
		b, err := dcc.DecodeBase45(s)
		if err != nil {
			if !errors.Is(err, dcc.ErrBase45) && !errors.Is(err, dcc.ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		// Base45 is a bijection on valid text.
		if again := dcc.EncodeBase45(b); !bytes.Equal(again, s) {
			t.Fatalf("%q decodes to %x, which encodes to %q", s, b, again)
		}
	})
}

// fuzzSigners trusts the example signer and the vectors' AT signer shape:
// enough for the verification code to run on whatever decodes.
var fuzzSigners = func() *dcc.Signers {
	s := dcc.NewSigners()
	s.Add(gen.ExampleDSC(), "", "example")
	return s
}()

var decodeErrors = []error{dcc.ErrPrefix, dcc.ErrBase45, dcc.ErrCompression, dcc.ErrCOSE, dcc.ErrCWT, dcc.ErrDCC,
	dcc.ErrTooLarge}

func isOneOf(err error, sentinels []error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// exercise runs everything after decoding on a certificate; nothing may
// panic, and the data must survive its JSON form.
func exercise(t *testing.T, c *dcc.Certificate) {
	if _, err := dcc.ParseDCCJSON(c.DCC.JSON()); err != nil {
		t.Fatalf("decoded data does not read back from its JSON %s: %v", c.DCC.JSON(), err)
	}
	_ = c.DCC.Validate()
	d := c.Display(nil)
	if !utf8.ValidString(d.Name) {
		t.Fatalf("display name is not UTF-8: %q", d.Name)
	}
	if _, err := c.Verify(fuzzSigners); err == nil {
		// Only the example signer's own certificates verify.
		if err := c.VerifyWith(gen.ExampleDSC()); err != nil {
			t.Fatalf("Verify passed, VerifyWith failed: %v", err)
		}
	}
	_ = c.CheckValidity(exampleAt, 0)
	_ = c.CheckKeyUsage(gen.ExampleDSC())
	_ = (&dcc.Verified{Certificate: c}).RevocationIDs()
}

func FuzzDecode(f *testing.F) {
	for _, name := range []string{"vaccination.hc1", "test.hc1", "recovery.hc1"} {
		f.Add(readFixture(f, name))
	}
	is := exampleIssuer()
	for _, o := range []*gen.SignOptions{{Form: dcc.FormCWT}, {Form: dcc.FormUntagged, KIDIn: gen.Unprotected, AlgIn: gen.Unprotected}} {
		f.Add([]byte(is.issue(vacc(), o)))
	}
	f.Add([]byte("HC1:"))
	for _, s := range vectorSeeds(f, func(c *vectorCase) string { return c.PREFIX }) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := dcc.Decode(payload)
		if err != nil {
			if !isOneOf(err, decodeErrors) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		exercise(t, c)
	})
}

func FuzzDecodeCOSE(f *testing.F) {
	is := exampleIssuer()
	claims := gen.EncodeClaims(gen.Claims{Issuer: "XA", IssuedAt: iat, Expires: exp, DCC: vacc()})
	for _, o := range []*gen.SignOptions{nil, {Form: dcc.FormCWT}, {Form: dcc.FormUntagged}, {KIDIn: gen.Both}} {
		f.Add(gen.Sign(claims, is.key, is.cert, o))
	}
	for _, s := range vectorSeeds(f, func(c *vectorCase) string { return c.COSE }) {
		if b, err := hex.DecodeString(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte) {
		c, err := dcc.DecodeCOSE(msg)
		if err != nil {
			if !isOneOf(err, decodeErrors) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		exercise(t, c)
	})
}

func FuzzParseSignerList(f *testing.F) {
	f.Add(readFixture(f, "example-dsc-list.json"))
	f.Add(readFixture(f, "example-dsc.pem"))
	f.Add(gen.ExampleDSC().Raw)
	f.Add([]byte(`{"certificates":[{"kid":"AAAAAAAAAAA=","country":"XA","rawData":""}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		list, err := dcc.ParseSigners(b, "fuzz")
		if err != nil {
			if !errors.Is(err, dcc.ErrSignerList) && !errors.Is(err, dcc.ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		for _, s := range list {
			if !bytes.Equal(s.KID, dcc.KeyID(s.Certificate)) {
				t.Fatalf("signer kid %x is not its certificate's", s.KID)
			}
		}
	})
}

func FuzzParseDCCJSON(f *testing.F) {
	f.Add([]byte(`{"ver":"1.3.0","nam":{"fnt":"A"},"dob":"","v":[{"dn":1}]}`))
	f.Add([]byte(`[]`))
	for _, s := range vectorSeeds(f, func(c *vectorCase) string { return string(c.JSON) }) {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := dcc.ParseDCCJSON(b)
		if err != nil {
			if !errors.Is(err, dcc.ErrDCC) && !errors.Is(err, dcc.ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if err := d.Validate(); err != nil && !errors.Is(err, dcc.ErrSchema) {
			t.Fatalf("Validate: untyped error %v", err)
		}
		again, err := dcc.ParseDCCJSON(d.JSON())
		if err != nil || !bytes.Equal(again.JSON(), d.JSON()) {
			t.Fatalf("JSON form does not read back: %s, %v", d.JSON(), err)
		}
	})
}

func FuzzValueSet(f *testing.F) {
	f.Add([]byte(`{"valueSetId":"covid-19-lab-result","valueSetDate":"2021-04-27","valueSetValues":{"260415000":{"display":"Not detected","lang":"en","active":true}}}`))
	f.Add([]byte(`{"valueSetId":"x","valueSetValues":{"a":{"vaccine-code":"b"}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		vs := dcc.DefaultValueSets()
		id, err := vs.Add(b)
		if err != nil {
			if !errors.Is(err, dcc.ErrValueSet) && !errors.Is(err, dcc.ErrTooLarge) {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if id == "" {
			t.Fatal("added a value set without an id")
		}
	})
}
