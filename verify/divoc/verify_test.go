package divoc

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/piprate/json-gold/ld"
)

var signedVectors = []struct{ cert, key string }{
	{"certs/divoc-dev-rsa2018.json", "keys/divoc-dev-rsa.pub.pem"},
	{"certs/pathcheck-dev-rsa2018.json", "keys/divoc-dev-rsa.pub.pem"},
	{"certs/divoc-dev-ed25519-2018.json", "keys/divoc-dev-ed25519.pub.base58"},
}

func TestVectorsVerify(t *testing.T) {
	for _, v := range signedVectors {
		t.Run(v.cert, func(t *testing.T) {
			c := vectorCredential(t, v.cert)
			if err := Verify(c, vectorKey(t, v.key), nil); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestVectorsNameChangeFails(t *testing.T) {
	for _, v := range signedVectors {
		t.Run(v.cert, func(t *testing.T) {
			b := vector(t, v.cert)
			// "Bhaya Mitra" -> "Bhaya Mitre": one character.
			tampered := strings.Replace(string(b), `"name":"Bhaya Mitra"`, `"name":"Bhaya Mitre"`, 1)
			if tampered == string(b) {
				t.Fatal("test vector has no name to change")
			}
			c, err := Parse([]byte(tampered))
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject.Name != "Bhaya Mitre" {
				t.Fatalf("name = %q", c.Subject.Name)
			}
			err = Verify(c, vectorKey(t, v.key), nil)
			if !errors.Is(err, ErrBadSignature) {
				t.Fatalf("Verify of a changed name = %v, want ErrBadSignature", err)
			}
		})
	}
}

func TestWrongKeyFails(t *testing.T) {
	c := vectorCredential(t, "certs/divoc-dev-rsa2018.json")
	err := Verify(c, vectorKey(t, "keys/trustreg-did-india.pub.pem"), nil)
	if !errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify with India's production key = %v, want ErrBadSignature", err)
	}
	// A key of the wrong kind fails the same way, with a reason.
	err = Verify(c, vectorKey(t, "keys/divoc-dev-ed25519.pub.base58"), nil)
	if !errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "needs an RSA key") {
		t.Fatalf("Verify with an Ed25519 key = %v, want ErrBadSignature (needs an RSA key)", err)
	}
}

func TestVectorFields(t *testing.T) {
	c := vectorCredential(t, "certs/pathcheck-dev-rsa2018.json")
	if c.Issuer != "https://cowin.gov.in/" || c.Subject.Name != "Bhaya Mitra" || c.Subject.Gender != "Male" {
		t.Errorf("issuer %q name %q gender %q", c.Issuer, c.Subject.Name, c.Subject.Gender)
	}
	if c.Evidence.Dose != 1 || c.Evidence.TotalDoses != 1 || c.Evidence.Vaccine != "CoVax" || c.Evidence.Batch != "MB3428BX" {
		t.Errorf("evidence = %+v", c.Evidence)
	}
	if got := c.Evidence.EffectiveUntil; !got.DateOnly || got.Time.Format("2006-01-02") != "2025-12-02" {
		t.Errorf("effectiveUntil %q parsed as %v (date only %v)", got.Raw, got.Time, got.DateOnly)
	}
	if c.Proof.VerificationMethod != "did:india" || c.Proof.Type != ProofRSA2018 || c.Proof.Created.Time.IsZero() {
		t.Errorf("proof = %+v", c.Proof)
	}
	if c.IssuanceDate.Time.Format("2006-01-02T15:04:05Z07:00") != "2021-04-15T04:00:00Z" {
		t.Errorf("issuanceDate %v", c.IssuanceDate.Time)
	}
}

// TestSignVerifyRoundTrip mints credentials with DIVOC's development keys and
// with fresh keys, verifies them, and checks a changed field fails.
func TestSignVerifyRoundTrip(t *testing.T) {
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, ek, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	signers := map[string]crypto.Signer{"fresh-rsa": rk, "fresh-ed25519": ek}
	if _, err := os.Stat(vectorsDir); err == nil {
		for name, s := range devSigners(t) {
			signers["dev-"+name] = s
		}
	}
	for name, key := range signers {
		t.Run(name, func(t *testing.T) {
			signed, err := Sign([]byte(unsignedV2), key, SignOptions{VerificationMethod: "did:india", Created: testCreated})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			c, err := Parse(signed)
			if err != nil {
				t.Fatal(err)
			}
			s, err := Prepare(c, nil)
			if err != nil {
				t.Fatalf("Prepare: %v", err)
			}
			if err := s.Verify(key.Public()); err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Subject.DOB.Raw != "1990-04-01" || c.Evidence.CertificateID != "78031234567" || c.Evidence.Dose != 2 {
				t.Errorf("fields: dob %q id %q dose %d", c.Subject.DOB.Raw, c.Evidence.CertificateID, c.Evidence.Dose)
			}
			if ids := s.RevocationIDs(); len(ids) == 0 || ids[0] != "78031234567" {
				t.Errorf("RevocationIDs = %q, want the certificate id first", ids)
			}
			tampered := strings.Replace(string(signed), `"dob":"1990-04-01"`, `"dob":"1990-04-02"`, 1)
			if tampered == string(signed) {
				t.Fatal("no dob to change")
			}
			c2, err := Parse([]byte(tampered))
			if err != nil {
				t.Fatal(err)
			}
			if err := Verify(c2, key.Public(), nil); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("changed dob: %v, want ErrBadSignature", err)
			}
		})
	}
}

// TestUndefinedTermIsMalformed adds a date of birth to a credential whose
// context (vaccination v1) does not define one: JSON-LD would drop it, so
// the signature would still check out and the date shown be forged.
// Like DIVOC's own verifier, Prepare refuses it, and names it.
func TestUndefinedTermIsMalformed(t *testing.T) {
	b := vector(t, "certs/divoc-dev-rsa2018.json")
	forged := strings.Replace(string(b), `"name":"Bhaya Mitra"`, `"name":"Bhaya Mitra","dob":"1999-01-01"`, 1)
	c, err := Parse([]byte(forged))
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.DOB.Raw != "1999-01-01" {
		t.Fatalf("dob = %q", c.Subject.DOB.Raw)
	}
	err = Verify(c, vectorKey(t, "keys/divoc-dev-rsa.pub.pem"), nil)
	if !errors.Is(err, ErrUndefinedTerm) || !errors.Is(err, ErrMalformed) || errors.Is(err, ErrBadSignature) {
		t.Fatalf("Verify with an undefined dob = %v, want ErrUndefinedTerm and ErrMalformed", err)
	}
	if !strings.Contains(err.Error(), `"dob" (in /credentialSubject)`) {
		t.Errorf("error does not name the term and where it is: %v", err)
	}
}

// TestUndefinedTermsAnywhere signs a credential, then adds a key no
// context defines at each level of it, the proof included: every one is
// refused as malformed, naming the key and the object it is in.
func TestUndefinedTermsAnywhere(t *testing.T) {
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	signed, err := Sign([]byte(unsignedV2), ek, SignOptions{VerificationMethod: "did:india", Created: testCreated})
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(mustParse(t, signed), ek.Public(), nil); err != nil {
		t.Fatalf("unchanged credential: %v", err)
	}
	for _, tc := range []struct {
		name  string
		edit  func(m map[string]any)
		where string
		key   string
	}{
		{"top level", func(m map[string]any) { m["vaccinationStatus"] = "complete" }, "at the top level", "vaccinationStatus"},
		{"holder", func(m map[string]any) { sub(m, "credentialSubject")["passportNumber"] = "Z1234567" }, "/credentialSubject", "passportNumber"},
		{"holder address", func(m map[string]any) { sub(sub(m, "credentialSubject"), "address")["pinCode"] = "411001" }, "/credentialSubject/address", "pinCode"},
		{"evidence", func(m map[string]any) { evidence(m)["boosterDue"] = "2022-01-01" }, "/evidence/0", "boosterDue"},
		{"facility", func(m map[string]any) { sub(evidence(m), "facility")["phone"] = "+91 20 1234" }, "/evidence/0/facility", "phone"},
		{"a number", func(m map[string]any) { evidence(m)["doseNumber"] = 3.0 }, "/evidence/0", "doseNumber"},
		{"a value a defined key has too", func(m map[string]any) { evidence(m)["lot"] = "4121Z040" }, "/evidence/0", "lot"},
		{"an object", func(m map[string]any) { m["extra"] = map[string]any{"name": "x"} }, "at the top level", "extra"},
		{"keyword-like key", func(m map[string]any) { m["@note"] = "x" }, "at the top level", "@note"},
		{"empty key", func(m map[string]any) { sub(m, "credentialSubject")[""] = "x" }, "/credentialSubject", ""},
		{"proof", func(m map[string]any) { sub(m, "proof")["nonceValue"] = "x" }, "at the top level", "nonceValue"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var m map[string]any
			if err := json.Unmarshal(signed, &m); err != nil {
				t.Fatal(err)
			}
			tc.edit(m)
			b, _ := json.Marshal(m)
			err := Verify(mustParse(t, b), ek.Public(), nil)
			if !errors.Is(err, ErrUndefinedTerm) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("Verify = %v, want ErrUndefinedTerm", err)
			}
			where := tc.where
			if strings.HasPrefix(where, "/") {
				where = "in " + where
			}
			if want := fmt.Sprintf("%q (%s)", tc.key, where); !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %s", err, want)
			}
			if tc.name == "proof" && !strings.HasPrefix(err.Error(), "proof: ") {
				t.Errorf("error %q does not say it is in the proof", err)
			}
		})
	}
	// Signing refuses them too, as DIVOC's signer does.
	u := strings.Replace(unsignedV2, `"refId": "12346"`, `"refId": "12346", "passportNumber": "Z1"`, 1)
	if _, err := Sign([]byte(u), ek, SignOptions{VerificationMethod: "did:india", Created: testCreated}); !errors.Is(err, ErrUndefinedTerm) {
		t.Fatalf("Sign with an undefined term = %v, want ErrUndefinedTerm", err)
	}
}

// TestAbsoluteIRIKeysAreSigned: a key that is itself an absolute IRI
// needs no context (JSON-LD and DIVOC's verifier keep it), and it is
// signed like any other statement.
func TestAbsoluteIRIKeysAreSigned(t *testing.T) {
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	u := strings.Replace(unsignedV2, `"nonTransferable": "true"`, `"nonTransferable": "true", "https://example.org/note": "kept"`, 1)
	signed, err := Sign([]byte(u), ek, SignOptions{VerificationMethod: "did:india", Created: testCreated})
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(mustParse(t, signed), ek.Public(), nil); err != nil {
		t.Fatal(err)
	}
	changed := strings.Replace(string(signed), `"kept"`, `"kepT"`, 1)
	if err := Verify(mustParse(t, []byte(changed)), ek.Public(), nil); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("changed value under an IRI key: %v, want ErrBadSignature", err)
	}
}

// TestUndefinedTermNamingIsBounded: a credential of many keys, the
// undefined one sorted last, is refused all the same. Its name is found
// at once when its value is nowhere else; when the same value is under
// defined keys too, keys are tried one by one, and past the probe budget
// the term is not named.
func TestUndefinedTermNamingIsBounded(t *testing.T) {
	for value, named := range map[string]bool{"undefined": true, "v": false} {
		var m map[string]any
		if err := json.Unmarshal([]byte(unsignedV2), &m); err != nil {
			t.Fatal(err)
		}
		// Keys that are absolute IRIs are defined; "zz" is not.
		for i := range 2000 {
			m[fmt.Sprintf("https://example.org/k%04d", i)] = "v"
		}
		m["zz"] = value
		b, _ := json.Marshal(m)
		c := mustParse(t, b)
		_, _, err := canonicalHash(c.doc, loader{DefaultContexts()}, nil)
		if !errors.Is(err, ErrUndefinedTerm) {
			t.Fatalf("%q: got %v, want ErrUndefinedTerm", value, err)
		}
		if got := strings.Contains(err.Error(), `"zz"`); got != named {
			t.Errorf("%q: %v, named %v, want %v", value, err, got, named)
		}
	}
}

func mustParse(t *testing.T, b []byte) *Credential {
	t.Helper()
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sub(m map[string]any, key string) map[string]any { return m[key].(map[string]any) }

func evidence(m map[string]any) map[string]any { return m["evidence"].([]any)[0].(map[string]any) }

// TestSwappedIDsAreAllLookedUp swaps the certificate id with the batch: the
// contexts map both to schema:id, so the signature still verifies, and the
// revocation lookup must still see the real id.
func TestSwappedIDsAreAllLookedUp(t *testing.T) {
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	signed, err := Sign([]byte(unsignedV2), ek, SignOptions{VerificationMethod: "did:india", Created: testCreated})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(signed, &m); err != nil {
		t.Fatal(err)
	}
	ev := m["evidence"].([]any)[0].(map[string]any)
	ev["certificateId"], ev["batch"] = ev["batch"], ev["certificateId"]
	swapped, _ := json.Marshal(m)
	c, err := Parse(swapped)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Prepare(c, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Verify(ek.Public()); err != nil {
		t.Fatalf("swapped ids no longer verify (the context changed?): %v", err)
	}
	if c.Evidence.CertificateID != "4121Z040" {
		t.Fatalf("certificate id = %q", c.Evidence.CertificateID)
	}
	ids := s.RevocationIDs()
	if ids[0] != "4121Z040" || !slices.Contains(ids, "78031234567") {
		t.Fatalf("RevocationIDs = %q, want the shown id first and the real one among them", ids)
	}
}

func TestProofChecks(t *testing.T) {
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	signed, err := Sign([]byte(unsignedV2), ek, SignOptions{VerificationMethod: "did:india", Created: testCreated})
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(proof map[string]any)) *Credential {
		var m map[string]any
		if err := json.Unmarshal(signed, &m); err != nil {
			t.Fatal(err)
		}
		f(m["proof"].(map[string]any))
		b, _ := json.Marshal(m)
		c, err := Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	cases := []struct {
		name string
		edit func(map[string]any)
		want error
	}{
		{"unknown type", func(p map[string]any) { p["type"] = "BbsBlsSignature2020" }, ErrUnsupportedProof},
		{"other purpose", func(p map[string]any) { p["proofPurpose"] = "authentication" }, ErrUnsupportedProof},
		{"other verification method", func(p map[string]any) { p["verificationMethod"] = "did:srilanka:moh" }, ErrBadSignature},
		{"other created", func(p map[string]any) { p["created"] = "2031-07-01T10:00:00Z" }, ErrBadSignature},
		{"no jws", func(p map[string]any) { delete(p, "jws") }, ErrBadSignature},
		{"attached jws", func(p map[string]any) { p["jws"] = strings.Replace(p["jws"].(string), "..", ".e30.", 1) }, ErrMalformed},
		{"RSA header on Ed25519 proof", func(p map[string]any) {
			_, sig, _ := strings.Cut(p["jws"].(string), "..")
			p["jws"] = "eyJhbGciOiJQUzI1NiIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19.." + sig
		}, ErrUnsupportedProof},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Verify(edit(tc.edit), ek.Public(), nil)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Verify = %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("no proof", func(t *testing.T) {
		c, err := Parse([]byte(unsignedV2))
		if err != nil {
			t.Fatal(err)
		}
		if err := Verify(c, ek.Public(), nil); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify of an unsigned credential = %v, want ErrBadSignature", err)
		}
	})
}

func TestContexts(t *testing.T) {
	c := vectorCredential(t, "certs/divoc-dev-rsa2018.json")
	key := vectorKey(t, "keys/divoc-dev-rsa.pub.pem")

	// A context URL nobody mapped is an error, never a fetch.
	empty := NewContexts()
	if err := Verify(c, key, &Options{Contexts: empty}); !errors.Is(err, ErrUnknownContext) {
		t.Fatalf("Verify with no contexts = %v, want ErrUnknownContext", err)
	}

	// A deployment's own namespace URL, mapped to a bundled document.
	own := strings.Replace(string(vector(t, "certs/divoc-dev-rsa2018.json")),
		"https://cowin.gov.in/credentials/vaccination/v1", "https://vc.health.example/credentials/vaccination/v1", 1)
	oc, err := Parse([]byte(own))
	if err != nil {
		t.Fatal(err)
	}
	ctxs := DefaultContexts()
	if err := Verify(oc, key, &Options{Contexts: ctxs}); !errors.Is(err, ErrUnknownContext) {
		t.Fatalf("unmapped deployment URL: %v, want ErrUnknownContext", err)
	}
	if err := ctxs.Alias("https://vc.health.example/credentials/vaccination/v1", "https://cowin.gov.in/credentials/vaccination/v1"); err != nil {
		t.Fatal(err)
	}
	// The document's context URL is not signed, only what it expands to:
	// under the same context document the signature checks out.
	if err := Verify(oc, key, &Options{Contexts: ctxs}); err != nil {
		t.Fatalf("aliased deployment URL: %v", err)
	}
	if slices.Contains(DefaultContexts().URLs(), "https://vc.health.example/credentials/vaccination/v1") {
		t.Fatal("Alias on one Contexts changed the defaults")
	}

	// Add replaces a mapping: a changed context document changes the
	// signed data.
	doc := vector(t, "contexts/vaccinationContext.json")
	changed := strings.Replace(string(doc), `"name": "schema:name"`, `"name": "schema:alternateName"`, 1)
	if changed == string(doc) {
		t.Fatal("context has no name term to change")
	}
	if err := ctxs.Add("https://cowin.gov.in/credentials/vaccination/v1", []byte(changed)); err != nil {
		t.Fatal(err)
	}
	if err := Verify(c, key, &Options{Contexts: ctxs}); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("changed context: %v, want ErrBadSignature", err)
	}
	for _, bad := range []string{`[]`, `{"x":1}`, `not json`, `{"@context":{}} trailing`, `{"@context":{}} }`} {
		if err := ctxs.Add("https://x.example/", []byte(bad)); !errors.Is(err, ErrMalformed) {
			t.Errorf("Add(%q) = %v, want ErrMalformed", bad, err)
		}
	}
}

// TestCachedContextSameCanonicalForm checks the processed-context cache
// gives json-gold's own canonical form, for every vector.
func TestCachedContextSameCanonicalForm(t *testing.T) {
	for _, v := range signedVectors {
		c := vectorCredential(t, v.cert)
		l := loader{DefaultContexts()}
		for _, doc := range []map[string]any{c.doc, c.proof} {
			got, _, err := canonicalHash(doc, l, nil)
			if err != nil {
				t.Fatal(err)
			}
			opts := ld.NewJsonLdOptions("")
			opts.DocumentLoader = l
			opts.Algorithm = ld.AlgorithmURDNA2015
			opts.Format = "application/n-quads"
			nq, err := ld.NewJsonLdProcessor().Normalize(doc, opts)
			if err != nil {
				t.Fatal(err)
			}
			if want := sha256.Sum256([]byte(nq.(string))); got != want {
				t.Errorf("%s: cached canonical form differs from json-gold's", v.cert)
			}
		}
	}
}

// TestConcurrentVerify runs verifications in parallel on shared contexts
// (run with -race).
func TestConcurrentVerify(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 3*8)
	for i := range 8 {
		for _, v := range signedVectors {
			c := vectorCredential(t, v.cert)
			k := vectorKey(t, v.key)
			wg.Go(func() {
				opts := (*Options)(nil)
				if i%2 == 1 {
					opts = &Options{Contexts: DefaultContexts()}
				}
				errs <- Verify(c, k, opts)
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func BenchmarkVerifyRSA(b *testing.B) {
	c := vectorCredential(b, "certs/divoc-dev-rsa2018.json")
	k := vectorKey(b, "keys/divoc-dev-rsa.pub.pem")
	benchVerify(b, c, k)
}

func BenchmarkVerifyEd25519(b *testing.B) {
	c := vectorCredential(b, "certs/divoc-dev-ed25519-2018.json")
	k := vectorKey(b, "keys/divoc-dev-ed25519.pub.base58")
	benchVerify(b, c, k)
}

// benchVerify verifies c with k in a loop and also reports the CPU time per
// credential ("cpu-ns/op", garbage collection included), which unlike the
// wall time does not grow when other work shares the machine.
func benchVerify(b *testing.B, c *Credential, k crypto.PublicKey) {
	b.ReportAllocs()
	start := cpuTime()
	for b.Loop() {
		if err := Verify(c, k, nil); err != nil {
			b.Fatal(err)
		}
	}
	if cpu := cpuTime() - start; cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	}
}

// BenchmarkPayloadToVerified is the whole path a scan takes after the QR
// decoder: decode the ZIP, parse, canonicalise, check the RSA signature.
func BenchmarkPayloadToVerified(b *testing.B) {
	z := vector(b, "qr/divoc-dev-rsa2018.divoc-node-style.zip")
	k := vectorKey(b, "keys/divoc-dev-rsa.pub.pem")
	for b.Loop() {
		c, _, err := ParsePayload(z)
		if err != nil {
			b.Fatal(err)
		}
		if err := Verify(c, k, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCraftedContextIsMalformed: json-gold panics on some ill-typed inline
// contexts; the verifier reports them as malformed instead of crashing.
func TestCraftedContextIsMalformed(t *testing.T) {
	c, err := Parse([]byte(`{"@context":[{"@protected":"yes","name":"schema:name"}],"name":"x",
		"proof":{"type":"Ed25519Signature2018","proofPurpose":"assertionMethod",
		"jws":"eyJhbGciOiJFZERTQSIsImI2NCI6ZmFsc2UsImNyaXQiOlsiYjY0Il19..AA"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Prepare(c, nil); !errors.Is(err, ErrMalformed) {
		t.Fatalf("Prepare = %v, want ErrMalformed", err)
	}
}

// TestUnsignedHolder: JSON-LD drops every statement about a
// credentialSubject whose id is a relative IRI or empty (real Sri Lanka
// and Jamaica credentials are made so). The signature is genuine and
// checks out, but covers neither the name nor anything else about the
// holder: a changed name still verifies. Prepare says which fields are
// unsigned; Verify refuses with ErrUnsignedHolder, not ErrBadSignature.
func TestUnsignedHolder(t *testing.T) {
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	for name, id := range map[string]string{"relative subject id": "2342343334", "empty subject id": ""} {
		t.Run(name, func(t *testing.T) {
			u := strings.Replace(unsignedV2, `"id": "did:in.gov.uidai.aadhaar:2342343334"`, fmt.Sprintf("%q: %q", "id", id), 1)
			signed, err := Sign([]byte(u), ek, SignOptions{VerificationMethod: "did:india", Created: testCreated})
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			for _, text := range []string{string(signed), strings.Replace(string(signed), `"Asha Verma"`, `"Someone Else"`, 1)} {
				c := mustParse(t, []byte(text))
				s, err := Prepare(c, nil)
				if err != nil {
					t.Fatalf("Prepare: %v", err)
				}
				if err := s.Verify(ek.Public()); err != nil {
					t.Fatalf("the issuer's signature does not verify (name %q): %v", c.Subject.Name, err)
				}
				want := []string{"id", "refId", "name", "dob", "gender", "nationality"}
				if got := s.UnsignedHolder(); !slices.Equal(sorted(got), sorted(want)) {
					t.Errorf("UnsignedHolder = %q, want %q", got, want)
				}
				err = Verify(c, ek.Public(), nil)
				if !errors.Is(err, ErrUnsignedHolder) || errors.Is(err, ErrBadSignature) || !strings.Contains(err.Error(), "name") {
					t.Fatalf("Verify = %v, want ErrUnsignedHolder naming the name", err)
				}
				if ids := s.RevocationIDs(); len(ids) == 0 || ids[0] != "78031234567" {
					t.Errorf("the evidence is still signed and looked up: %q", ids)
				}
			}
			// Everything but the holder is still signed.
			changed := strings.Replace(string(signed), `"78031234567"`, `"78031234568"`, 1)
			if err := Verify(mustParse(t, []byte(changed)), ek.Public(), nil); !errors.Is(err, ErrBadSignature) {
				t.Fatalf("changed certificate id: %v, want ErrBadSignature", err)
			}
		})
	}
	t.Run("signed holder", func(t *testing.T) {
		signed, err := Sign([]byte(unsignedV2), ek, SignOptions{VerificationMethod: "did:india", Created: testCreated})
		if err != nil {
			t.Fatal(err)
		}
		s, err := Prepare(mustParse(t, signed), nil)
		if err != nil || len(s.UnsignedHolder()) != 0 {
			t.Fatalf("Prepare = %v, unsigned holder %q", err, s.UnsignedHolder())
		}
		// Making a signed holder unsigned (to change the name) breaks
		// the signature: the holder's statements were signed.
		for _, id := range []string{"2342343334", ""} {
			stripped := strings.Replace(string(signed), `"did:in.gov.uidai.aadhaar:2342343334"`, fmt.Sprintf("%q", id), 1)
			stripped = strings.Replace(stripped, `"Asha Verma"`, `"Someone Else"`, 1)
			if err := Verify(mustParse(t, []byte(stripped)), ek.Public(), nil); !errors.Is(err, ErrBadSignature) {
				t.Errorf("subject id made %q: %v, want ErrBadSignature", id, err)
			}
		}
	})
}

// TestUnsignedFieldIsMalformed: a field other than the holder's that
// JSON-LD drops (here the issuer, not a valid IRI) is refused outright.
func TestUnsignedFieldIsMalformed(t *testing.T) {
	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	u := strings.Replace(unsignedV2, `"issuer": "https://cowin.gov.in/"`, `"issuer": "https://cowin.gov.in/a b"`, 1)
	_, err := Sign([]byte(u), ek, SignOptions{VerificationMethod: "did:india", Created: testCreated})
	if !errors.Is(err, ErrUnsignedField) || !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "/issuer") {
		t.Fatalf("Sign = %v, want ErrUnsignedField naming the issuer", err)
	}
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// TestDeploymentContexts: each deployment URL is served with the document
// it is bundled for, so a credential canonicalises exactly as under
// CoWIN's URL for that document (the URL itself is not signed). A
// credential naming Indonesia's URL verifies with the defaults.
func TestDeploymentContexts(t *testing.T) {
	v1Doc := unsignedV2
	for _, term := range []string{`"dob": "1990-04-01", `, `"icd11Code": "XM9QW8", `, `"prophylaxis": "COVID-19 vaccine, non-replicating viral vector",`} {
		v1Doc = strings.Replace(v1Doc, term, "", 1)
	}
	v1Doc = strings.Replace(v1Doc, "https://cowin.gov.in/credentials/vaccination/v2", "https://cowin.gov.in/credentials/vaccination/v1", 1)
	reference := map[string]string{
		"vaccinationContext.json":   v1Doc,
		"vaccinationContextV2.json": unsignedV2,
	}
	l := loader{DefaultContexts()}
	hash := func(doc string) [32]byte {
		t.Helper()
		c := mustParse(t, []byte(doc))
		h, _, err := canonicalHash(c.doc, l, nil)
		if err != nil {
			t.Fatalf("%v", err)
		}
		return h
	}
	checked := 0
	for url, file := range Bundled() {
		ref, ok := reference[file]
		if !ok {
			continue
		}
		own := strings.Replace(ref, contextOf(t, ref), url, 1)
		if hash(own) != hash(ref) {
			t.Errorf("%s canonicalises differently from the %s it is bundled for", url, file)
		}
		checked++
	}
	if checked < 7 {
		t.Fatalf("only %d deployment URLs checked", checked)
	}

	_, ek, _ := ed25519.GenerateKey(rand.Reader)
	id := strings.Replace(unsignedV2, "https://cowin.gov.in/credentials/vaccination/v2", "https://www.pedulilindungi.id/credentials/vaccination/v2", 1)
	signed, err := Sign([]byte(id), ek, SignOptions{VerificationMethod: "did:indonesia", Created: testCreated})
	if err != nil {
		t.Fatal(err)
	}
	if err := Verify(mustParse(t, signed), ek.Public(), nil); err != nil {
		t.Fatalf("a credential naming Indonesia's context: %v", err)
	}
}

// contextOf returns the vaccination context URL a test credential names.
func contextOf(t *testing.T, doc string) string {
	t.Helper()
	c := mustParse(t, []byte(doc))
	return c.Contexts[len(c.Contexts)-1]
}

// TestBundledURLsDocumented: contexts/README.md lists every bundled URL
// with its file, and nothing else.
func TestBundledURLsDocumented(t *testing.T) {
	b, err := os.ReadFile("contexts/README.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]string{}
	for _, line := range strings.Split(string(b), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 4 || !strings.HasPrefix(strings.TrimSpace(cells[1]), "https://") {
			continue
		}
		documented[strings.TrimSpace(cells[1])] = strings.TrimSpace(cells[2])
	}
	if !maps.Equal(documented, Bundled()) {
		t.Errorf("contexts/README.md maps\n%v\nthe code maps\n%v", documented, Bundled())
	}
}

// TestContextsCheck: Check processes a mapped document the way a
// credential naming it would, so a document that is no valid context is
// found when it is added, not at the first scan.
func TestContextsCheck(t *testing.T) {
	c := DefaultContexts()
	for _, u := range c.URLs() {
		if err := c.Check(u); err != nil {
			t.Errorf("bundled %s: %v", u, err)
		}
	}
	if err := c.Check("https://absent.example/v1"); !errors.Is(err, ErrUnknownContext) {
		t.Errorf("unmapped URL: %v", err)
	}
	if err := c.Add("https://bad.example/v1", []byte(`{"@context": {"@version": 1.1, "name": {"@id": 5}}}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.Check("https://bad.example/v1"); !errors.Is(err, ErrMalformed) {
		t.Errorf("invalid term definition: %v", err)
	}
	// A document redefining a protected term of the credentials context
	// would change what every credential means: refused too.
	if err := c.Add("https://bad.example/v2", []byte(`{"@context": {"type": "https://evil.example/type"}}`)); err != nil {
		t.Fatal(err)
	}
	if err := c.Check("https://bad.example/v2"); !errors.Is(err, ErrMalformed) {
		t.Errorf("redefining a protected term: %v", err)
	}
}
