package divoc

import (
	"errors"
	"os"
	"path/filepath"
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
		if _, err := Prepare(c, nil); err != nil {
			for _, s := range []error{ErrMalformed, ErrTooLarge, ErrBadSignature, ErrUnsupportedProof, ErrUnknownContext} {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("Prepare error %v wraps no sentinel", err)
		}
	})
}
