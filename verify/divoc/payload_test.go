package divoc

import (
	"archive/zip"
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestPayloadFormsDecodeToSameCredential(t *testing.T) {
	z := vector(t, "qr/divoc-dev-rsa2018.divoc-node-style.zip")
	plain := vector(t, "certs/divoc-dev-rsa2018.json")
	want, err := Parse(plain)
	if err != nil {
		t.Fatal(err)
	}
	key := vectorKey(t, "keys/divoc-dev-rsa.pub.pem")
	for _, tc := range []struct {
		name    string
		payload []byte
		form    Form
	}{
		{"raw ZIP", z, FormZIP},
		{"UTF-8-expanded ZIP", expandUTF8(z), FormUTF8ZIP},
		{"bare JSON", plain, FormJSON},
		{"bare JSON with BOM and blank line", append([]byte("\xef\xbb\xbf\n"), plain...), FormJSON},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, form, err := ParsePayload(tc.payload)
			if err != nil {
				t.Fatalf("ParsePayload: %v", err)
			}
			if form != tc.form {
				t.Errorf("form = %v, want %v", form, tc.form)
			}
			if c.Subject != want.Subject || c.Evidence.Batch != want.Evidence.Batch || c.Proof != want.Proof || c.Issuer != want.Issuer {
				t.Errorf("credential differs from certs/divoc-dev-rsa2018.json:\n got %+v\nwant %+v", c.Subject, want.Subject)
			}
			if err := Verify(c, key, nil); err != nil {
				t.Errorf("Verify: %v", err)
			}
		})
	}
	if len(expandUTF8(z)) == len(z) {
		t.Fatal("the vector ZIP has no byte >= 0x80: the UTF-8 case tests nothing")
	}
}

func TestFormString(t *testing.T) {
	for f, want := range map[Form]string{FormZIP: "raw-zip", FormUTF8ZIP: "utf8-zip", FormJSON: "json", 0: "unknown"} {
		if f.String() != want {
			t.Errorf("%d.String() = %q, want %q", f, f.String(), want)
		}
	}
}

func TestDecodePayloadRefuses(t *testing.T) {
	cert := []byte(`{"@context":["https://www.w3.org/2018/credentials/v1"]}`)
	twoEntries := func() []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for _, n := range []string{entryName, "extra.json"} {
			w, _ := zw.Create(n)
			w.Write(cert)
		}
		zw.Close()
		return buf.Bytes()
	}()
	// A bomb: 2 MiB of spaces deflate to a few KiB.
	bomb := zipPayload(t, entryName, bytes.Repeat([]byte(" "), 2<<20))
	if len(bomb) > MaxPayloadSize {
		t.Fatalf("bomb is %d bytes: make it smaller", len(bomb))
	}
	// The same bomb with its declared size forged small: reading stops at
	// the declared size and the mismatch is refused.
	lying := forgeUncompressedSize(t, bomb, 100)

	cases := []struct {
		name    string
		payload []byte
		want    []error
	}{
		{"too large", bytes.Repeat([]byte("x"), MaxPayloadSize+1), []error{ErrTooLarge}},
		{"other entry name", zipPayload(t, "cert.json", cert), []error{ErrMalformed}},
		{"two entries", twoEntries, []error{ErrMalformed}},
		{"zip bomb", bomb, []error{ErrTooLarge}},
		{"zip bomb with a forged size", lying, []error{ErrMalformed}},
		{"truncated ZIP", zipPayload(t, entryName, cert)[:40], []error{ErrMalformed}},
		{"health certificate of another kind", []byte("HC1:6BFOXN%TS3DH0YOJ58S"), []error{ErrMalformed, ErrNotDIVOC}},
		{"SMART health card", []byte("shc:/5676290952432060346029243740446031222959532654603460292540772804336028702864716745222809286133314564376531415906402203064504590856435503414245413640370636654171372412363803043756220467374075323239254334433260573601064529"), []error{ErrMalformed, ErrNotDIVOC}},
		{"empty", nil, []error{ErrMalformed, ErrNotDIVOC}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := DecodePayload(tc.payload)
			for _, want := range tc.want {
				if !errors.Is(err, want) {
					t.Errorf("DecodePayload = %v, want %v", err, want)
				}
			}
		})
	}
}

// forgeUncompressedSize rewrites the sizes a ZIP declares for its entry
// (local header and central directory) to n.
func forgeUncompressedSize(t *testing.T, z []byte, n uint32) []byte {
	t.Helper()
	out := bytes.Clone(z)
	put := func(off int) {
		out[off], out[off+1], out[off+2], out[off+3] = byte(n), byte(n>>8), byte(n>>16), byte(n>>24)
	}
	// zip.Writer streams entries with a data descriptor; patch the central
	// directory (signature PK\x01\x02, uncompressed size at +24) and the
	// descriptor (PK\x07\x08, uncompressed size at +12).
	patched := 0
	if i := bytes.Index(out, []byte("PK\x01\x02")); i >= 0 {
		put(i + 24)
		patched++
	}
	if i := bytes.Index(out, []byte("PK\x07\x08")); i >= 0 {
		put(i + 12)
		patched++
	}
	if patched == 0 {
		t.Fatal("no ZIP headers to patch")
	}
	return out
}

func TestParseRefuses(t *testing.T) {
	deep := strings.Repeat(`{"a":`, maxDepth+2) + "1" + strings.Repeat("}", maxDepth+2)
	manyObjects := `{"a":[` + strings.TrimSuffix(strings.Repeat(`{"b":1},`, maxArrayObjects+1), ",") + `]}`
	cases := []struct {
		name string
		json string
		want error
	}{
		{"not JSON", `{"a":`, ErrMalformed},
		{"not an object", `[1,2]`, ErrMalformed},
		{"trailing data", `{"@context":"x"} {}`, ErrMalformed},
		{"trailing garbage", `{"@context":"x"} }`, ErrMalformed},
		{"invalid UTF-8", "{\"@context\":\"\xff\"}", ErrMalformed},
		{"no context", `{"type":"VerifiableCredential"}`, ErrMalformed},
		{"proof not an object", `{"@context":"x","proof":"abc"}`, ErrMalformed},
		{"name not a string", `{"@context":"x","credentialSubject":{"name":{"en":"A"}}}`, ErrMalformed},
		{"blank node label", `{"@context":"x","credentialSubject":{"id":"_:b0"}}`, ErrMalformed},
		{"too deep", deep, ErrTooLarge},
		{"too many objects in an array", manyObjects, ErrTooLarge},
		{"too large", `{"a":"` + strings.Repeat("x", MaxCredentialSize) + `"}`, ErrTooLarge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Parse([]byte(tc.json)); !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, want %v", err, tc.want)
			}
		})
	}
}

func TestParseLenient(t *testing.T) {
	c, err := Parse([]byte(`{"@context":"https://www.w3.org/2018/credentials/v1",
		"issuer":{"id":"did:web:moh.example","name":"Ministry of Health"},
		"issuanceDate":"2022-03-01T08:00:00Z",
		"credentialSubject":[{"name":"A B","dob":"19800102","age":41}],
		"evidence":{"certificateId":1234567890123,"dose":"2","totalDoses":3.0,"date":"2022-02-28"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if c.Issuer != "did:web:moh.example" {
		t.Errorf("issuer object: %q", c.Issuer)
	}
	if c.Subject.Name != "A B" || c.Subject.Age != "41" || c.Subject.DOB.Time.Format("2006-01-02") != "1980-01-02" {
		t.Errorf("subject = %+v", c.Subject)
	}
	if c.Evidence.CertificateID != "1234567890123" || c.Evidence.Dose != 2 || c.Evidence.TotalDoses != 3 {
		t.Errorf("evidence = %+v", c.Evidence)
	}
	if !c.Evidence.Date.DateOnly || c.Evidence.Date.IsZero() || c.IssuanceDate.DateOnly {
		t.Errorf("dates: %+v %+v", c.Evidence.Date, c.IssuanceDate)
	}
}

// TestParseRefusesManyObjects: a tree of look-alike objects is costly to
// canonicalise, so the object count is bounded.
func TestParseRefusesManyObjects(t *testing.T) {
	level := `{"n":"x"}`
	for range 3 {
		level = `{"n":"x","k":[` + level + "," + level + "," + level + `]}`
	}
	_, err := Parse([]byte(`{"@context":{"@vocab":"http://x.example/"},"root":` + level + `}`))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Parse of 40 objects = %v, want ErrTooLarge", err)
	}
}
