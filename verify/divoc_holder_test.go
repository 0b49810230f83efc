package verify_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mr-tron/base58"

	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/divoc"
	"github.com/crlverify/crlverify/verify/trust"
)

func readFixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "divoc", "certs", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestUnsignedHolderVerdict: a genuine signature that does not cover the
// holder is UNSIGNED_HOLDER, with the words an officer acts on and the
// unsigned fields named, never BAD_SIGNATURE; changing the name changes
// nothing (the signature does not cover it), while changing anything
// signed is BAD_SIGNATURE.
func TestUnsignedHolderVerdict(t *testing.T) {
	e := loadExpectation(t)
	v, _ := fixtureVerifier(t, e, nil)
	for _, name := range []string{"unsigned-holder.json", "unsigned-holder-empty-id.json"} {
		b := readFixture(t, name)
		c, err := divoc.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		renamed := bytes.Replace(b, []byte(`"name": "`+c.Subject.Name+`"`), []byte(`"name": "Somebody Else"`), 1)
		for _, payload := range [][]byte{b, renamed} {
			r := v.VerifyPayload(payload, e.At)
			if r.Status != verify.StatusUnsignedHolder || r.OK() {
				t.Fatalf("%s: %s (%s), want UNSIGNED_HOLDER", name, r.Status, r.Detail)
			}
			if !strings.HasPrefix(r.Detail, verify.UnsignedHolderDetail) || !slices.Equal(r.UnsignedFields, []string{"name", "gender", "age"}) {
				t.Errorf("%s: detail %q, unsigned %q", name, r.Detail, r.UnsignedFields)
			}
			if r.Revocation.Status != "not_checked" || r.Certificate.IssuerName == "" {
				t.Errorf("%s: revocation %s, issuer %q", name, r.Revocation.Status, r.Certificate.IssuerName)
			}
		}
		changed := bytes.Replace(b, []byte(c.Evidence.CertificateID), []byte("8000000009999"), 1)
		if r := v.VerifyPayload(changed, e.At); r.Status != verify.StatusBadSignature {
			t.Errorf("%s with its certificate id changed: %s (%s), want BAD_SIGNATURE", name, r.Status, r.Detail)
		}
	}
	// JSON says which fields are unsigned.
	r := v.VerifyPayload(readFixture(t, "unsigned-holder.json"), e.At)
	j, _ := json.Marshal(r)
	if !bytes.Contains(j, []byte(`"unsigned_fields":["name","gender","age"]`)) || !bytes.Contains(j, []byte(`"status":"UNSIGNED_HOLDER"`)) {
		t.Errorf("JSON: %s", j)
	}
}

// TestUnsignedHolderAccepted: an issuer whose policy accepts an unsigned
// holder gets VALID, its revocation checked, the unsigned fields listed
// and said in the detail.
func TestUnsignedHolderAccepted(t *testing.T) {
	e := loadExpectation(t)
	v, _ := fixtureVerifier(t, e, nil)
	r := v.VerifyPayload(readFixture(t, "unsigned-holder-accepted.json"), e.At)
	if r.Status != verify.StatusValid || !r.OK() || !slices.Equal(r.UnsignedFields, []string{"name", "gender", "age"}) {
		t.Fatalf("%s ok=%v unsigned %q (%s)", r.Status, r.OK(), r.UnsignedFields, r.Detail)
	}
	if !strings.Contains(r.Detail, "not the holder's name, gender, age (accepted by the issuer's policy)") {
		t.Errorf("detail %q", r.Detail)
	}
	// The same issuer without the policy: refused.
	ts, err := trust.Load(filepath.Join(fixtures, e.TrustStore))
	if err != nil {
		t.Fatal(err)
	}
	entry, _ := ts.Entry("did:lenient")
	p := entry.Policy
	p.AcceptUnsignedHolder = false
	if err := ts.SetPolicy("did:lenient", p); err != nil {
		t.Fatal(err)
	}
	r = verify.New(ts, nil, nil).VerifyPayload(readFixture(t, "unsigned-holder-accepted.json"), e.At)
	if r.Status != verify.StatusUnsignedHolder {
		t.Fatalf("without the policy: %s (%s)", r.Status, r.Detail)
	}
}

// TestUndefinedTermVerdict: a term no context defines is MALFORMED, named.
func TestUndefinedTermVerdict(t *testing.T) {
	e := loadExpectation(t)
	v, _ := fixtureVerifier(t, e, nil)
	r := v.VerifyPayload(readFixture(t, "undefined-term.json"), e.At)
	if r.Status != verify.StatusMalformed || !strings.Contains(r.Detail, `"dob" (in /credentialSubject)`) {
		t.Fatalf("%s (%s), want MALFORMED naming dob", r.Status, r.Detail)
	}
}

// TestTrustStoreContexts: a credential naming a context URL that is not
// bundled is MALFORMED until the trust store maps it, to a bundled URL or
// to an embedded document; a mapping that cannot be used is reported and
// leaves the URL unknown; a bundled URL keeps its document.
func TestTrustStoreContexts(t *testing.T) {
	const own = "https://vc.health.example/credentials/vaccination/v2"
	const cowinV2 = "https://cowin.gov.in/credentials/vaccination/v2"
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	key := ed25519.NewKeyFromSeed(seed)
	b := readFixture(t, "context-indonesia.json")
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "proof")
	m["@context"] = []any{"https://www.w3.org/2018/credentials/v1", own}
	unsigned, _ := json.Marshal(m)
	signing := divoc.DefaultContexts()
	if err := signing.Alias(own, cowinV2); err != nil {
		t.Fatal(err)
	}
	signed, err := divoc.Sign(unsigned, key, divoc.SignOptions{VerificationMethod: "did:health", Created: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), Contexts: signing})
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	ts := trust.New()
	if _, _, err := ts.Add("did:health", []byte(base58.Encode(key.Public().(ed25519.PublicKey))), nil); err != nil {
		t.Fatal(err)
	}
	if r := verify.New(ts, nil, nil).VerifyPayload(signed, at); r.Status != verify.StatusMalformed || !strings.Contains(r.Detail, own) {
		t.Fatalf("unmapped: %s (%s), want MALFORMED naming the URL", r.Status, r.Detail)
	}
	if _, err := ts.MapContext(own, cowinV2); err != nil {
		t.Fatal(err)
	}
	if r := verify.New(ts, nil, nil).VerifyPayload(signed, at); r.Status != verify.StatusValid {
		t.Fatalf("mapped same as CoWIN v2: %s (%s)", r.Status, r.Detail)
	}
	doc, err := os.ReadFile(filepath.Join("divoc", "contexts", "vaccinationContextV2.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.EmbedContext(own, doc, "v2.json"); err != nil {
		t.Fatal(err)
	}
	if r := verify.New(ts, nil, nil).VerifyPayload(signed, at); r.Status != verify.StatusValid {
		t.Fatalf("mapped to an embedded copy: %s (%s)", r.Status, r.Detail)
	}
	// A document that means something else changes the signed data.
	other := bytes.Replace(doc, []byte(`"name": "schema:name"`), []byte(`"name": "schema:alternateName"`), 1)
	if _, _, err := ts.EmbedContext(own, other, "other.json"); err != nil {
		t.Fatal(err)
	}
	if r := verify.New(ts, nil, nil).VerifyPayload(signed, at); r.Status != verify.StatusBadSignature {
		t.Fatalf("mapped to another document: %s (%s), want BAD_SIGNATURE", r.Status, r.Detail)
	}

	// Unusable mappings are reported; a bundled URL is not remapped.
	ts.MapContext(own, "https://unbundled.example/v1")
	ts.MapContext(cowinV2, "https://cowin.gov.in/credentials/vaccination/v1")
	_, err = verify.ContextsFor(ts)
	if err == nil || !strings.Contains(err.Error(), "not a bundled context") || !strings.Contains(err.Error(), "keeps its bundled document") {
		t.Fatalf("ContextsFor = %v", err)
	}
	if r := verify.New(ts, nil, nil).VerifyPayload(signed, at); r.Status != verify.StatusMalformed {
		t.Fatalf("same as an unbundled URL: %s (%s), want MALFORMED", r.Status, r.Detail)
	}
	if r := verify.New(ts, nil, nil).VerifyFile(filepath.Join(fixtures, "divoc", "certs", "valid-ed25519.json"), at); r.Status == verify.StatusMalformed {
		t.Fatalf("other credentials suffer from a bad mapping: %s (%s)", r.Status, r.Detail)
	}
}
