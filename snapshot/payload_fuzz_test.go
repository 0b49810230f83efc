package snapshot

import (
	"bytes"
	"encoding/base64"
	"os"
	"testing"
)

// goldenPayload returns the JSON payload of a golden file's JWS.
func goldenPayload(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	line := bytes.Split(b, []byte("\n"))[1]
	seg := bytes.Split(line, []byte("."))
	p, err := base64.RawURLEncoding.DecodeString(string(seg[1]))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FuzzHeaderPayload fuzzes the signed header's JSON parser and validator,
// which FuzzReadHeader rarely reaches past the signature.
func FuzzHeaderPayload(f *testing.F) {
	f.Add(goldenPayload(f, "golden/full-00000000000000000002.crl"))
	f.Add(goldenPayload(f, "golden/delta-00000000000000000001-00000000000000000002.crl"))
	f.Fuzz(func(t *testing.T, p []byte) {
		h, err := parseHeaderPayload(p, DefaultLimits)
		if err != nil {
			if !isOurs(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if err := h.validate(DefaultLimits); err != nil {
			t.Fatalf("accepted header fails validation: %v", err)
		}
	})
}

// FuzzIndexPayload fuzzes the index's JSON parser and validator.
func FuzzIndexPayload(f *testing.F) {
	f.Add(goldenPayload(f, "golden/index.jws"))
	f.Fuzz(func(t *testing.T, p []byte) {
		ix, err := parseIndexPayload(p, DefaultLimits)
		if err != nil {
			if !isOurs(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if ix.Full.Name != FullName(ix.Full.Serial) {
			t.Fatalf("accepted file name %q", ix.Full.Name)
		}
	})
}
