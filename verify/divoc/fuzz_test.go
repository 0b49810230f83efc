package divoc

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// FuzzDecodePayload feeds arbitrary payloads through the whole key-free
// path: ZIP, UTF-8 expansion, JSON, credential parsing and JSON-LD
// canonicalisation. Nothing may panic, and every failure must be one of the
// package's errors.
func FuzzDecodePayload(f *testing.F) {
	f.Add(zipPayload(f, entryName, []byte(unsignedV2)))
	f.Add(expandUTF8(zipPayload(f, entryName, []byte(unsignedV2))))
	f.Add([]byte(unsignedV2))
	f.Add([]byte(`{"@context":[{"@protected":"yes","name":"schema:name"}],"name":"x","proof":{"type":"Ed25519Signature2018","proofPurpose":"assertionMethod","jws":"eyJhbGciOiJFZERTQSIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..AA"}}`))
	// Signed credentials: a deployment's context URL, a holder the
	// signature does not cover, and (added after signing) a term no
	// context defines.
	key := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	for _, u := range []string{
		strings.Replace(unsignedV2, "https://cowin.gov.in/credentials/vaccination/v2", "https://www.pedulilindungi.id/credentials/vaccination/v2", 1),
		strings.Replace(unsignedV2, `"did:in.gov.uidai.aadhaar:2342343334"`, `"2342343334"`, 1),
		unsignedV2,
	} {
		signed, err := Sign([]byte(u), key, SignOptions{VerificationMethod: "did:india", Created: testCreated})
		if err != nil {
			f.Fatal(err)
		}
		f.Add(signed)
	}
	f.Add(bytes.Replace(f0(f, key), []byte(`"refId":"12346"`), []byte(`"refId":"12346","passportNumber":"Z1"`), 1))
	// The real payloads, when the outside vectors are there.
	for _, name := range []string{
		"qr/divoc-dev-rsa2018.divoc-node-style.zip",
		"certs/divoc-dev-rsa2018.json",
		"certs/pathcheck-dev-rsa2018.json",
		"certs/divoc-dev-ed25519-2018.json",
	} {
		b, err := os.ReadFile(filepath.Join(vectorsDir, name))
		if err != nil {
			continue
		}
		f.Add(b)
		if filepath.Ext(name) == ".zip" {
			f.Add(expandUTF8(b))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		j, form, err := DecodePayload(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("DecodePayload error %v wraps no sentinel", err)
			}
			return
		}
		if form < FormZIP || form > FormJSON || len(j) > MaxCredentialSize {
			t.Fatalf("form %v, %d bytes", form, len(j))
		}
		c, err := Parse(j)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("Parse error %v wraps no sentinel", err)
			}
			return
		}
		s, err := Prepare(c, nil)
		if err != nil {
			for _, s := range []error{ErrMalformed, ErrTooLarge, ErrBadSignature, ErrUnsupportedProof, ErrUnknownContext} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("Prepare error %v wraps no sentinel", err)
		}
		// Whatever the holder's coverage, only reported fields are listed.
		for _, k := range s.UnsignedHolder() {
			if !slices.Contains([]string{"id", "refId", "name", "dob", "age", "gender", "nationality"}, k) {
				t.Fatalf("UnsignedHolder lists %q", k)
			}
		}
	})
}

// f0 signs unsignedV2 with key.
func f0(f *testing.F, key ed25519.PrivateKey) []byte {
	signed, err := Sign([]byte(unsignedV2), key, SignOptions{VerificationMethod: "did:india", Created: testCreated})
	if err != nil {
		f.Fatal(err)
	}
	return signed
}
