package trust

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mr-tron/base58"
)

// seedKey is a fixed Ed25519 key for fuzz seeds.
var seedKey = ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize)).Public().(ed25519.PublicKey)

// vectorSeeds returns the outside vector keys and registry, when present.
func vectorSeeds() [][]byte {
	var out [][]byte
	for _, name := range []string{
		"keys/divoc-dev-rsa.pub.pem",
		"keys/divoc-dev-ed25519.pub.base58",
		"keys/trustreg-did-india.pub.pem",
		"keys/trustreg-did-jamaica.pub.pem",
		"keys/pathcheck-trust-registry-DIVOC.json",
	} {
		if b, err := os.ReadFile(filepath.Join(vectorsDir, name)); err == nil {
			out = append(out, b)
		}
	}
	return out
}

func FuzzParseKey(f *testing.F) {
	f.Add([]byte(base58.Encode(seedKey)))
	f.Add([]byte(`{"kty":"OKP","crv":"Ed25519","x":"iojj3XQJ8ZX9UtstPLpdcspnCb8dlBIb83SIAbQPb1w"}`))
	f.Add([]byte(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}`))
	for _, b := range vectorSeeds() {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		k, format, err := ParseKey(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupportedKey) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if format == "" {
			t.Fatal("no format")
		}
		// Whatever parses can be stored and read back as the same key.
		der, id, err := spki(k)
		if err != nil {
			t.Fatalf("parsed key cannot be stored: %v", err)
		}
		for form, enc := range map[string][]byte{"PEM": []byte(pemOf(der)), "binary DER": der} {
			k2, _, err := ParseKey(enc)
			if err != nil {
				t.Fatalf("%s form does not parse: %v", form, err)
			}
			if _, id2, _ := spki(k2); id2 != id {
				t.Fatalf("key changed through its %s form", form)
			}
		}
	})
}

func FuzzLoad(f *testing.F) {
	s := New()
	s.Add("did:india", []byte(base58.Encode(seedKey)), &KeyOptions{NotBefore: time.Unix(1600000000, 0)})
	s.SetPolicy("did:india", Policy{MaxAge: Duration(24 * time.Hour), CRLIssuer: "https://cowin.gov.in/", AcceptUnsignedHolder: true})
	s.MapContext("https://vc.health.example/credentials/vaccination/v2", "https://cowin.gov.in/credentials/vaccination/v2")
	s.EmbedContext("https://vc.health.example/credentials/test/v1", []byte(`{"@context":{"@version":1.1,"name":"https://schema.org/name"}}`), "test.json")
	good, _ := s.Marshal()
	f.Add(good)
	f.Add([]byte(`{"version":1,"issuers":{}}`))
	for _, b := range vectorSeeds() {
		f.Add(b)
		if s2 := New(); bytes.HasPrefix(bytes.TrimSpace(b), []byte("{")) {
			if _, err := s2.ImportRegistry(b); err == nil {
				m, _ := s2.Marshal()
				f.Add(m)
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrUnsupportedKey) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		// A store that loads saves to a file that loads to the same store
		// (or, indented past the size bound, is not saved at all).
		m, err := s.Marshal()
		if errors.Is(err, ErrTooLarge) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		s2, err := Parse(m)
		if err != nil {
			t.Fatalf("saved form does not load: %v\n%s", err, m)
		}
		m2, _ := s2.Marshal()
		if !bytes.Equal(m, m2) {
			t.Fatalf("store changed through save and load:\n%s\n---\n%s", m, m2)
		}
		for _, e := range s.List() {
			s.Key(e.VerificationMethod, time.Unix(1700000000, 0))
		}
		for _, c := range s.Contexts() {
			if (c.SameAs == "") == (c.Document == "") {
				t.Fatalf("context %s is neither or both kinds: %+v", c.URL, c)
			}
		}
	})
}
