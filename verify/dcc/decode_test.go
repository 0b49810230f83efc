package dcc_test

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fxamacker/cbor/v2"

	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/dcc/internal/gen"
)

func TestBase45(t *testing.T) {
	// RFC 9285 section 4.
	for plain, enc := range map[string]string{
		"AB": "BB8", "Hello!!": "%69 VD92EX0", "base-45": "UJCLQE7W581", "ietf!": "QED8WEX0", "": "",
	} {
		if got := string(dcc.EncodeBase45([]byte(plain))); got != enc {
			t.Errorf("encode %q = %q, want %q", plain, got, enc)
		}
		got, err := dcc.DecodeBase45([]byte(enc))
		if err != nil || string(got) != plain {
			t.Errorf("decode %q = %q, %v; want %q", enc, got, err, plain)
		}
	}
	for _, bad := range []string{
		"GGW",      // 65536
		":::",      // 44+44*45+44*2025 = 91124
		"BB8A",     // one character over
		"A",        // one character
		"bb8",      // lower case is not in the alphabet
		"BB\n",     // nor is a line break
		"BB8:Z",    // final pair 44+35*45 = 1619 > 255
		"BB8\x00B", // NUL
		"BB8é",     // non-ASCII
	} {
		if b, err := dcc.DecodeBase45([]byte(bad)); !errors.Is(err, dcc.ErrBase45) {
			t.Errorf("decode %q = %x, %v; want ErrBase45", bad, b, err)
		}
	}
	if _, err := dcc.DecodeBase45(bytes.Repeat([]byte("A"), dcc.MaxPayloadSize+1)); !errors.Is(err, dcc.ErrTooLarge) {
		t.Errorf("oversized: %v", err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 200 {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		got, err := dcc.DecodeBase45(dcc.EncodeBase45(b))
		if err != nil || !bytes.Equal(got, b) {
			t.Fatalf("round trip of %d bytes: %v", n, err)
		}
	}
}

func TestDecodeChainErrors(t *testing.T) {
	is := exampleIssuer()
	good := is.issue(vacc(), nil)
	claims := gen.EncodeClaims(gen.Claims{Issuer: "XA", IssuedAt: iat, Expires: exp, DCC: vacc()})
	sign := func(payload []byte) string { return gen.HC1(gen.Sign(payload, is.key, is.cert, nil)) }
	cose := gen.Sign(claims, is.key, is.cert, nil)
	b45 := func(b []byte) string { return dcc.Prefix + string(dcc.EncodeBase45(b)) }
	bomb := b45(gen.Compress(bytes.Repeat([]byte{0}, dcc.MaxMessageSize+1)))
	compressed := gen.Compress(cose)

	for _, tc := range []struct {
		name    string
		payload string
		want    error
	}{
		{"lower-case prefix", "hc1:" + good[4:], dcc.ErrPrefix},
		{"HC2", "HC2:" + good[4:], dcc.ErrPrefix},
		{"no prefix", good[4:], dcc.ErrPrefix},
		{"empty", "", dcc.ErrPrefix},
		{"bad base45", good[:20] + "a" + good[21:], dcc.ErrBase45},
		{"not compressed", b45(cose), dcc.ErrCompression},
		{"truncated zlib", b45(compressed[:len(compressed)-6]), dcc.ErrCompression},
		{"bad checksum", b45(append(bytes.Clone(compressed[:len(compressed)-1]), compressed[len(compressed)-1]^1)), dcc.ErrCompression},
		{"bytes after zlib", b45(append(bytes.Clone(compressed), 0)), dcc.ErrCompression},
		{"zlib bomb", bomb, dcc.ErrTooLarge},
		{"too long", dcc.Prefix + strings.Repeat("A", dcc.MaxPayloadSize), dcc.ErrTooLarge},
		{"not COSE", b45(gen.Compress(claims)), dcc.ErrCOSE},
		{"bytes after COSE", b45(gen.Compress(append(bytes.Clone(cose), 0))), dcc.ErrCOSE},
		{"tag 61 alone", b45(gen.Compress(append([]byte{0xd8, 61}, cose[1:]...))), dcc.ErrCOSE},
		{"claims not a map", sign(gen.Marshal([]int{1})), dcc.ErrCWT},
		{"no exp", sign(gen.EncodeClaims(gen.Claims{IssuedAt: iat, DCC: vacc()})), dcc.ErrCWT},
		{"no iat", sign(gen.EncodeClaims(gen.Claims{Expires: exp, DCC: vacc()})), dcc.ErrCWT},
		{"exp a string", sign(gen.EncodeClaims(gen.Claims{IssuedAt: iat, Expires: exp, DCC: vacc(), Extra: map[any]any{4: "tomorrow"}})), dcc.ErrCWT},
		{"exp fractional", sign(gen.EncodeClaims(gen.Claims{IssuedAt: iat, DCC: vacc(), Extra: map[any]any{4: 1.5e9 + 0.5}})), dcc.ErrCWT},
		{"exp negative", sign(gen.EncodeClaims(gen.Claims{IssuedAt: iat, DCC: vacc(), Extra: map[any]any{4: -1}})), dcc.ErrCWT},
		{"iss a number", sign(gen.EncodeClaims(gen.Claims{IssuedAt: iat, Expires: exp, DCC: vacc(), Extra: map[any]any{1: 31}})), dcc.ErrCWT},
		{"no hcert", sign(gen.Marshal(map[any]any{6: iat.Unix(), 4: exp.Unix()})), dcc.ErrCWT},
		{"hcert without key 1", sign(gen.Marshal(map[any]any{6: iat.Unix(), 4: exp.Unix(), -260: map[any]any{2: vacc()}})), dcc.ErrCWT},
		{"dcc not a map", sign(gen.EncodeClaims(gen.Claims{IssuedAt: iat, Expires: exp, DCC: "vaccinated"})), dcc.ErrDCC},
		{"byte string in dcc", sign(gen.EncodeClaims(gen.Claims{IssuedAt: iat, Expires: exp, DCC: map[string]any{"ver": []byte("1.3.0")}})), dcc.ErrDCC},
		{"integer key in dcc", sign(gen.EncodeClaims(gen.Claims{IssuedAt: iat, Expires: exp, DCC: map[any]any{1: "x"}})), dcc.ErrDCC},
		{"tag in dcc", sign(gen.EncodeClaims(gen.Claims{IssuedAt: iat, Expires: exp, DCC: map[string]any{"dob": cbor.Tag{Number: 1004, Content: "1990-01-01"}}})), dcc.ErrCWT},
		{"undefined in dcc", sign(withUndefined(t)), dcc.ErrCWT},
		{"duplicate claim", sign(duplicateKeyClaims()), dcc.ErrCWT},
		{"too deep", sign(gen.EncodeClaims(gen.Claims{IssuedAt: iat, Expires: exp, DCC: deep(dcc.MaxNesting + 2)})), dcc.ErrTooLarge},
		{"too many elements", sign(gen.EncodeClaims(gen.Claims{IssuedAt: iat, Expires: exp, DCC: map[string]any{"v": make([]any, dcc.MaxElements+1)}})), dcc.ErrTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := dcc.Decode([]byte(tc.payload))
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decode = %v, %v; want %v", c, err, tc.want)
			}
		})
	}
	// A trailing line break (from a file or a terminal) is not part of the
	// payload.
	if _, err := dcc.Decode([]byte(good + "\r\n")); err != nil {
		t.Errorf("with a line break: %v", err)
	}
}

// withUndefined returns claims whose certificate data holds CBOR
// "undefined" (0xf7), which JSON cannot hold.
func withUndefined(t *testing.T) []byte {
	b := gen.EncodeClaims(gen.Claims{IssuedAt: iat, Expires: exp, DCC: map[string]any{"dob": nil}})
	i := bytes.IndexByte(b, 0xf6) // null
	if i < 0 {
		t.Fatal("no null to replace")
	}
	b[i] = 0xf7
	return b
}

// duplicateKeyClaims returns a claims map with exp twice.
func duplicateKeyClaims() []byte {
	var b []byte
	b = append(b, 0xa4)                                   // map of 4 pairs
	b = append(b, gen.Marshal(4)...)                      // exp
	b = append(b, gen.Marshal(exp.Unix())...)             //
	b = append(b, gen.Marshal(4)...)                      // exp again
	b = append(b, gen.Marshal(exp.Unix()+1)...)           //
	b = append(b, gen.Marshal(6)...)                      // iat
	b = append(b, gen.Marshal(iat.Unix())...)             //
	b = append(b, gen.Marshal(-260)...)                   // hcert
	b = append(b, gen.Marshal(map[any]any{1: vacc()})...) //
	return b
}

func deep(n int) any {
	var v any = "x"
	for range n {
		v = map[string]any{"a": v}
	}
	return v
}

// Header parameters of the wrong type are refused when decoding.
func TestDecodeCOSEHeaders(t *testing.T) {
	is := exampleIssuer()
	claims := gen.EncodeClaims(gen.Claims{Issuer: "XA", IssuedAt: iat, Expires: exp, DCC: vacc()})
	msg := func(protected, unprotected map[any]any) []byte {
		return append([]byte{0xd2}, gen.Marshal([]any{gen.Marshal(gen.Marshal(protected)), unprotected, claims, make([]byte, 64)})...)
	}
	kid := dcc.KeyID(is.cert)
	for _, tc := range []struct {
		name                   string
		protected, unprotected map[any]any
	}{
		{"alg as text", map[any]any{1: "ES256", 4: kid}, map[any]any{}},
		{"kid as text", map[any]any{1: -7, 4: "kid"}, map[any]any{}},
		{"critical header", map[any]any{1: -7, 4: kid, 2: []any{99}, 99: 1}, map[any]any{}},
	} {
		if _, err := dcc.DecodeCOSE(msg(tc.protected, tc.unprotected)); !errors.Is(err, dcc.ErrCOSE) {
			t.Errorf("%s: %v, want ErrCOSE", tc.name, err)
		}
	}
}

func TestDecodeForms(t *testing.T) {
	is := exampleIssuer()
	for _, tc := range []struct {
		name         string
		o            gen.SignOptions
		form         dcc.Form
		kidProtected bool
	}{
		{"tagged", gen.SignOptions{}, dcc.FormTagged, true},
		{"untagged", gen.SignOptions{Form: dcc.FormUntagged}, dcc.FormUntagged, true},
		{"CWT tag around COSE tag", gen.SignOptions{Form: dcc.FormCWT}, dcc.FormCWT, true},
		{"kid unprotected", gen.SignOptions{KIDIn: gen.Unprotected}, dcc.FormTagged, false},
		{"kid in both", gen.SignOptions{KIDIn: gen.Both}, dcc.FormTagged, true},
		{"alg unprotected", gen.SignOptions{AlgIn: gen.Unprotected, KIDIn: gen.Unprotected}, dcc.FormTagged, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := is.issue(vacc(), &tc.o)
			v, err := dcc.Check([]byte(payload), is.signers(""), exampleAt, nil)
			if err != nil {
				t.Fatal(err)
			}
			if v.Form != tc.form || v.KIDProtected != tc.kidProtected || v.Algorithm != dcc.ES256 {
				t.Errorf("form %s, kid protected %v, alg %v", v.Form, v.KIDProtected, v.Algorithm)
			}
		})
	}
	// Indefinite-length maps in the certificate data are read.
	indefinite := []byte{0xbf, 0x63, 'v', 'e', 'r', 0x65, '1', '.', '3', '.', '0', 0xff}
	d, err := dcc.DecodeDCC(indefinite)
	if err != nil || d.Version != "1.3.0" {
		t.Errorf("indefinite-length map: %v, %v", d, err)
	}
}
