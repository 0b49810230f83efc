package shc

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify/shc/internal/shctest"
)

// The negative cases of the SMART Health Cards validation SDK
// (smart-on-fhir/health-cards-dev-tools), and more, each on a card made
// and signed here. Every case names the sentinel the verdict maps and a
// piece of the message a user reads.

var enc = base64.RawURLEncoding

// jwsParts returns the three parts of a compact JWS.
func jwsParts(jws string) [3]string {
	p := strings.Split(jws, ".")
	return [3]string{p[0], p[1], p[2]}
}

// verifyPayload parses a QR payload or JWS text and verifies it at testAt
// against testDirectory.
func verifyPayload(t *testing.T, payload string) error {
	t.Helper()
	c, _, err := ParsePayload([]byte(payload))
	if err != nil {
		return err
	}
	_, err = Verify(c, testDirectory(t), testAt)
	return err
}

func TestNegativeCases(t *testing.T) {
	valid := signTest(testCard(nil))
	p := jwsParts(valid)
	claims := testCard(nil)
	var zl bytes.Buffer
	zw := zlib.NewWriter(&zl)
	zw.Write(claims)
	zw.Close()
	bomb := shctest.Deflate(bytes.Repeat([]byte(" "), MaxInflatedSize+1))

	tampered := bytes.Replace(claims, []byte(`"Verma"`), []byte(`"Vermb"`), 1)
	cases := []struct {
		name    string
		payload string
		want    []error
		msg     string
	}{
		{"valid JWS", valid, nil, ""},
		{"valid numeric", shctest.Numeric(valid), nil, ""},

		{"bad deflate", p[0] + "." + enc.EncodeToString([]byte("not deflate at all")) + "." + p[2],
			[]error{ErrMalformed}, "bad DEFLATE"},
		{"zlib instead of raw deflate", shctest.SignParts(shctest.Header(testKID), zl.Bytes(), testKey),
			[]error{ErrMalformed}, "zlib-wrapped"},
		{"data after the deflate stream", shctest.SignParts(shctest.Header(testKID), append(shctest.Deflate(claims), 0, 0), testKey),
			[]error{ErrMalformed}, "after the end of the DEFLATE stream"},
		{"inflates beyond the bound", shctest.SignParts(shctest.Header(testKID), bomb, testKey),
			[]error{ErrMalformed, ErrTooLarge}, "inflates to more than"},
		{"DER signature", p[0] + "." + p[1] + "." + enc.EncodeToString(shctest.SignDER(p[0]+"."+p[1], testKey)),
			[]error{ErrBadSignature}, "DER-encoded"},
		{"short signature", p[0] + "." + p[1] + "." + p[2][:40],
			[]error{ErrBadSignature}, "30 bytes"},
		{"signature of another card", p[0] + "." + p[1] + "." + jwsParts(signTest(testCard(func(c *shctest.Card) { c.RID = "other" })))[2],
			[]error{ErrBadSignature}, "does not verify with key"},
		{"tampered payload", p[0] + "." + enc.EncodeToString(shctest.Deflate(tampered)) + "." + p[2],
			[]error{ErrBadSignature}, "does not verify"},
		{"tampered header", enc.EncodeToString([]byte(`{"alg":"ES256","zip":"DEF","kid":"`+testKID+`"}`)) + "." + p[1] + "." + p[2],
			[]error{ErrBadSignature}, "does not verify"},
		{"wrong kid", shctest.Sign(claims, testKey, "no-such-key"),
			[]error{ErrUnknownIssuer, ErrUnknownKey}, `no signing key "no-such-key"`},
		{"kid of another issuer's key", shctest.Sign(claims, otherKey, otherKID),
			[]error{ErrUnknownIssuer, ErrUnknownKey}, "the key set of " + testIssuer},
		{"unknown issuer", signTest(testCard(func(c *shctest.Card) { c.Issuer = "https://unknown.test" })),
			[]error{ErrUnknownIssuer}, `unknown issuer "https://unknown.test"`},
		{"issuer with a trailing slash", signTest(testCard(func(c *shctest.Card) { c.Issuer += "/" })),
			[]error{ErrUnknownIssuer}, "unknown issuer"},
		{"JWS too long", p[0] + "." + p[1] + strings.Repeat("A", MaxJWSSize) + "." + p[2],
			[]error{ErrMalformed, ErrTooLarge}, "more than 65536"},
		{"numeric payload too long", "shc:/" + strings.Repeat("56", MaxJWSSize+8),
			[]error{ErrMalformed, ErrTooLarge}, "numeric payload of"},
		{"expired", signTest(testCard(func(c *shctest.Card) { c.Exp = "1716000000" })),
			[]error{ErrExpired}, "expired 2024-05-18T02:40:00Z (exp)"},
		{"not yet valid", signTest(testCard(func(c *shctest.Card) { c.NBF = "1717200000.5" })),
			[]error{ErrNotYetValid}, "issued 2024-06-01T00:00:00.500Z (nbf), after the time of the check"},
		{"nbf in milliseconds", signTest(testCard(func(c *shctest.Card) { c.NBF = "1705311000250" })),
			[]error{ErrMalformed}, "in milliseconds (2024-01-15T09:30:00.250Z)"},
		{"exp in milliseconds", signTest(testCard(func(c *shctest.Card) { c.Exp = "1736848200000" })),
			[]error{ErrMalformed}, "$.exp: 1736848200000 is a time in milliseconds"},
		{"nbf as a string", signTest(bytes.Replace(claims, []byte(`"nbf":1705311000.25`), []byte(`"nbf":"1705311000"`), 1)),
			[]error{ErrMalformed}, "$.nbf: not a number"},
		{"negative nbf", signTest(testCard(func(c *shctest.Card) { c.NBF = "-1" })),
			[]error{ErrMalformed}, "before 1970"},
		{"numeric with a trailing newline", shctest.Numeric(valid) + "\n",
			[]error{ErrMalformed}, `trailing characters "\n" after the digits`},
		{"numeric with trailing text", shctest.Numeric(valid) + " ok",
			[]error{ErrMalformed}, `trailing characters " ok"`},
		{"JWS with a trailing newline", valid + "\n",
			[]error{ErrMalformed}, `bad base64url: '\n'`},
		{"JWS with a line break inside", p[0] + "." + p[1][:10] + "\n" + p[1][10:] + "." + p[2],
			[]error{ErrMalformed}, `bad base64url: '\n'`},
		{"base64 padding", p[0] + "=." + p[1] + "." + p[2],
			[]error{ErrMalformed}, `'='`},
		{"standard base64 alphabet", p[0] + "." + strings.ReplaceAll(strings.ReplaceAll(p[1], "-", "+"), "_", "/") + "." + p[2],
			[]error{ErrMalformed}, "bad base64url"},
		{"stray bits in base64url", p[0] + "." + p[1] + "." + p[2][:len(p[2])-1] + "R",
			[]error{ErrMalformed}, "bad base64url"},
		{"two parts", p[0] + "." + p[1],
			[]error{ErrMalformed}, "3 parts"},
		{"zip missing", shctest.SignParts([]byte(`{"alg":"ES256","kid":"`+testKID+`"}`), shctest.Deflate(claims), testKey),
			[]error{ErrMalformed}, `no "zip"`},
		{"zip not DEF", shctest.SignParts([]byte(`{"zip":"GZIP","alg":"ES256","kid":"`+testKID+`"}`), shctest.Deflate(claims), testKey),
			[]error{ErrMalformed}, `zip "GZIP"`},
		{"alg HS256", shctest.SignParts([]byte(`{"zip":"DEF","alg":"HS256","kid":"`+testKID+`"}`), shctest.Deflate(claims), testKey),
			[]error{ErrMalformed}, `alg "HS256", a SMART Health Card has ES256`},
		{"alg none", enc.EncodeToString([]byte(`{"zip":"DEF","alg":"none","kid":"`+testKID+`"}`)) + "." + p[1] + ".AA",
			[]error{ErrMalformed}, `alg "none"`},
		{"alg missing", shctest.SignParts([]byte(`{"zip":"DEF","kid":"`+testKID+`"}`), shctest.Deflate(claims), testKey),
			[]error{ErrMalformed}, `no "alg"`},
		{"kid missing", shctest.SignParts([]byte(`{"zip":"DEF","alg":"ES256"}`), shctest.Deflate(claims), testKey),
			[]error{ErrMalformed}, `no "kid"`},
		{"critical header", shctest.SignParts([]byte(`{"zip":"DEF","alg":"ES256","kid":"`+testKID+`","crit":["b64"],"b64":false}`), shctest.Deflate(claims), testKey),
			[]error{ErrMalformed}, "crit"},
		{"not a health card", signTest(bytes.Replace(claims, []byte("#health-card"), []byte("#other"), 1)),
			[]error{ErrMalformed}, `$.vc.type: no "https://smarthealth.cards#health-card"`},
		{"no iss", signTest(bytes.Replace(claims, []byte(`"iss"`), []byte(`"issuer"`), 1)),
			[]error{ErrMalformed}, `$: no "iss"`},
		{"ISS in capitals", signTest(bytes.Replace(claims, []byte(`"iss"`), []byte(`"ISS"`), 1)),
			[]error{ErrMalformed}, `$: no "iss"`},
		{"rid with a dot", signTest(testCard(func(c *shctest.Card) { c.RID = "abc.1700000000" })),
			[]error{ErrMalformed}, "outside the base64url alphabet"},
		{"rid too long", signTest(testCard(func(c *shctest.Card) { c.RID = strings.Repeat("A", 25) })),
			[]error{ErrMalformed}, "more than 24"},
		{"two patients", signTest(bytes.Replace(claims, []byte(`{"fullUrl":"resource:1"`),
			[]byte(`{"fullUrl":"resource:9","resource":{"resourceType":"Patient","name":[{"family":"Other"}]}},{"fullUrl":"resource:1"`), 1)),
			[]error{ErrMalformed}, "2 Patient resources"},
		{"name of the wrong type", signTest(bytes.Replace(claims, []byte(`"given":["Asha"]`), []byte(`"given":"Asha"`), 1)),
			[]error{ErrMalformed}, "name[0].given: not an array"},
		{"payload not JSON", shctest.SignParts(shctest.Header(testKID), shctest.Deflate([]byte("hello")), testKey),
			[]error{ErrMalformed}, "bad JSON"},
		{"payload with data after the JSON", shctest.SignParts(shctest.Header(testKID), shctest.Deflate(append(claims, "{}"...)), testKey),
			[]error{ErrMalformed}, "data after the top-level value"},
		{"numeric odd digits", shctest.Numeric(valid)[:102],
			[]error{ErrMalformed}, "odd number of digits"},
		{"numeric pair over 77", "shc:/5678" + "78",
			[]error{ErrMalformed}, "digit pair 78 is over 77"},
		{"numeric pair outside JWS", "shc:/56" + "02" + "56",
			[]error{ErrMalformed}, `encodes '/'`},
		{"numeric letter", "shc:/56a6",
			[]error{ErrMalformed}, `'a' where a digit belongs at offset 7`},
		{"no prefix", "56762909",
			[]error{ErrMalformed}, "not a SMART Health Card"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := verifyPayload(t, tc.payload)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("accepted; want %v", tc.want)
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("error %q does not wrap %q", err, w)
				}
			}
			if !strings.Contains(err.Error(), tc.msg) {
				t.Errorf("error %q does not say %q", err, tc.msg)
			}
			// Each error maps to exactly one verdict.
			n := 0
			for _, s := range []error{ErrMalformed, ErrUnknownIssuer, ErrBadSignature, ErrExpired, ErrNotYetValid} {
				if errors.Is(err, s) {
					n++
				}
			}
			if n != 1 {
				t.Errorf("error %q maps to %d verdicts", err, n)
			}
		})
	}
}

// TestNegativeSpecVectors mutates the specification's examples: the kid of
// another issuer's key, a DER signature, a tampered payload.
func TestNegativeSpecVectors(t *testing.T) {
	jws := string(example(t, "00", "d-jws.txt"))
	p := jwsParts(jws)
	dir := specDirectory(t)
	if err := dir.AddJWKS(testIssuer, shctest.JWKS(shctest.JWK(&testKey.PublicKey, nil))); err != nil {
		t.Fatal(err)
	}
	c := mustParse(t, jws)

	// A card of the specification's issuer signed with our key and naming
	// our kid: our key is in the directory, but not under that issuer.
	forged := shctest.Sign(c.Payload, testKey, testKID)
	if _, err := Verify(mustParse(t, forged), dir, specAt); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("kid from another issuer's key set: %v", err)
	}
	// And the converse: our issuer's card naming the specification's kid.
	mine := shctest.Sign(testCard(nil), testKey, specKID3K)
	if _, err := Verify(mustParse(t, mine), dir, specAt); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("kid of the specification's key on another issuer's card: %v", err)
	}

	der := shctest.SignDER(p[0]+"."+p[1], testKey) // any DER signature of the right shape
	_, err := Verify(mustParse(t, p[0]+"."+p[1]+"."+enc.EncodeToString(der)), dir, specAt)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "DER-encoded") {
		t.Errorf("DER signature: %v", err)
	}

	tampered := bytes.Replace(c.Payload, []byte("Anyperson"), []byte("Anyperzon"), 1)
	_, err = Verify(mustParse(t, p[0]+"."+enc.EncodeToString(shctest.Deflate(tampered))+"."+p[2]), dir, specAt)
	if !errors.Is(err, ErrBadSignature) {
		t.Errorf("tampered payload: %v", err)
	}

	num := string(example(t, "00", "f-qr-code-numeric-value-0.txt"))
	for _, bad := range []string{num + "\n", num + "0", num[:len(num)-2] + "99", "shc:/1/1/" + num[5:] + "x"} {
		if _, _, err := ParsePayload([]byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("mutated numeric payload accepted: %v", err)
		}
	}
}

// TestValidityWindow checks the edges of nbf and exp and the clock skew.
func TestValidityWindow(t *testing.T) {
	c := mustParse(t, signTest(testCard(func(c *shctest.Card) { c.NBF = "1717200000.5"; c.Exp = "1717300000" })))
	nbf := time.Unix(1717200000, 5e8)
	exp := time.Unix(1717300000, 0)
	for _, tc := range []struct {
		at   time.Time
		skew time.Duration
		want error
	}{
		{nbf.Add(-time.Nanosecond), 0, ErrNotYetValid},
		{nbf, 0, nil},
		{nbf.Add(-time.Minute), time.Minute, nil},
		{nbf.Add(-time.Minute - 1), time.Minute, ErrNotYetValid},
		{exp.Add(-time.Nanosecond), 0, nil},
		{exp, 0, ErrExpired},
		{exp, time.Hour, ErrExpired}, // skew tolerates early cards only
	} {
		err := c.CheckValidity(tc.at, tc.skew)
		if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("at %v skew %v: %v, want %v", tc.at, tc.skew, err, tc.want)
		}
		var ve *ValidityError
		if err != nil && (!errors.As(err, &ve) || !ve.NotBefore.Equal(nbf) || !ve.Expires.Equal(exp)) {
			t.Errorf("%v: not a ValidityError with the card's times", err)
		}
	}
}

func TestParseNumericDate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want time.Time
		err  string
	}{
		{"0", time.Unix(0, 0), ""},
		{"1687450764.656", time.Unix(1687450764, 656e6), ""},
		{"1687450764.1234567891", time.Unix(1687450764, 123456789), ""},
		{"1.6874507646e9", time.Unix(1687450764, 6e8), ""},
		{"99999999999", time.Unix(99999999999, 0), ""},
		{"100000000000", time.Time{}, "milliseconds"},
		{"1687450764656.5", time.Time{}, "milliseconds"},
		{"1e300", time.Time{}, "out of range"},
		{"1.5E+1", time.Unix(15, 0), ""},
		{"15e-1", time.Unix(1, 5e8), ""},
		{"0.0000001e2", time.Unix(0, 1e4), ""},
		{"1e10", time.Unix(1e10, 0), ""},
		{"1e11", time.Time{}, "milliseconds"},
		{"100000000000000000", time.Time{}, "out of range"},
		{"12345678901234567890", time.Time{}, "out of range"},
		{"-0.5", time.Time{}, "before 1970"},
	} {
		got, err := parseNumericDate(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s: %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || !got.Equal(tc.want) {
			t.Errorf("%s: %v %v, want %v", tc.in, got, err, tc.want)
		}
	}
}

// TestCardFieldsAreCopies changes a parsed card's exported fields: the
// checks still use what was signed.
func TestCardFieldsAreCopies(t *testing.T) {
	c := mustParse(t, signTest(testCard(func(c *shctest.Card) { c.Exp = "1716000000" })))
	c.Issuer, c.Header.KID, c.RevocationID = otherIssuer, otherKID, "changed"
	c.NotBefore, c.Expires = time.Time{}, time.Time{}
	if _, err := VerifySignature(c, testDirectory(t), testAt); err != nil {
		t.Errorf("signature: %v", err)
	}
	if err := c.CheckValidity(testAt, 0); !errors.Is(err, ErrExpired) {
		t.Errorf("validity: %v", err)
	}
	l, err := ParseCRL(shctest.CRL(testKID, 1, "cY3b_Wq7-0A"))
	if err != nil {
		t.Fatal(err)
	}
	if !l.RevokesCard(c) {
		t.Error("revocation follows the changed fields")
	}
}
