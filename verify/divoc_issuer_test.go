package verify_test

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mr-tron/base58"

	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/divoc"
	"github.com/crlverify/crlverify/verify/store"
	"github.com/crlverify/crlverify/verify/trust"
)

// TestDIVOCRevocationUnderTheBoundIssuer: a DIVOC credential is looked up
// under the issuer its trust entry is bound to, never the issuer it
// names. A trusted province's key signing a credential that names the
// ministry's issuer was judged by the ministry's list, and so escaped the
// province's own revocation of it.
func TestDIVOCRevocationUnderTheBoundIssuer(t *testing.T) {
	const (
		ministry = "https://ministry.example/"
		province = "https://province.example/"
		certID   = "8000000000400"
	)
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	keyOf := func(b byte) ed25519.PrivateKey {
		return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{b}, ed25519.SeedSize))
	}
	provinceKey, looseKey := keyOf(11), keyOf(12)
	ts := trust.New()
	for vm, k := range map[string]ed25519.PrivateKey{"did:province": provinceKey, "did:loose": looseKey} {
		if _, _, err := ts.Add(vm, []byte(base58.Encode(k.Public().(ed25519.PublicKey))), nil); err != nil {
			t.Fatal(err)
		}
	}
	if err := ts.SetPolicy("did:province", trust.Policy{CRLIssuer: province}); err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	for _, l := range []struct{ publisher, issuer, id string }{
		{"province", province, certID}, // the province revokes its certificate
		{"ministry", ministry, "another"},
	} {
		file, keys := publishList(t, l.publisher, l.issuer, at.Add(-time.Hour), l.id)
		if _, err := st.ApplySnapshot(bytes.NewReader(file), keys, at, nil); err != nil {
			t.Fatal(err)
		}
	}
	// A credential of the province's key naming the ministry's issuer.
	var m map[string]any
	if err := json.Unmarshal(readFixture(t, "valid-ed25519.json"), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "proof")
	m["issuer"] = ministry
	m["evidence"].([]any)[0].(map[string]any)["certificateId"] = certID
	unsigned, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	sign := func(vm string, key ed25519.PrivateKey) []byte {
		b, err := divoc.Sign(unsigned, key, divoc.SignOptions{VerificationMethod: vm, Created: time.Date(2026, 3, 3, 11, 20, 42, 0, time.UTC)})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	v := verify.New(ts, st, nil)
	r := v.VerifyPayload(sign("did:province", provinceKey), at)
	if r.Status != verify.StatusRevoked || r.Revocation.CRLIssuer != province || r.Revocation.Publisher != "province" || r.Certificate.Issuer != ministry {
		t.Fatalf("the province's credential naming the ministry: %s (%s), looked up under %q by %q", r.Status, r.Detail, r.Revocation.CRLIssuer, r.Revocation.Publisher)
	}

	// An entry bound to no issuer: the credential's issuer is not used,
	// and the status is unknown, saying how to bind it.
	r = v.VerifyPayload(sign("did:loose", looseKey), at)
	if r.Status != verify.StatusValid || r.OK() || r.Revocation.Status != "unknown" || r.Revocation.CRLIssuer != "" ||
		!strings.Contains(r.Revocation.Explanation, "binds did:loose to no revocation issuer") || !strings.Contains(r.Revocation.Explanation, "--crl-issuer") {
		t.Fatalf("an entry bound to no issuer: %s ok=%v %+v", r.Status, r.OK(), r.Revocation)
	}
}

// TestCRLPublisherKeys: a trust entry naming the publisher keys that may
// answer for its issuer ignores a list signed by another key, revoked or
// not, and listens to one signed by a key it names.
func TestCRLPublisherKeys(t *testing.T) {
	const issuer = "https://province.example/"
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	key := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{13}, ed25519.SeedSize))
	st := openStore(t)
	file, keys := publishList(t, "province", issuer, at.Add(-time.Hour), "8000000000028")
	if _, err := st.ApplySnapshot(bytes.NewReader(file), keys, at, nil); err != nil {
		t.Fatal(err)
	}
	l, _ := st.List("province")
	if len(l.SignerKey) != 43 {
		t.Fatalf("signer key %q", l.SignerKey)
	}
	var m map[string]any
	if err := json.Unmarshal(readFixture(t, "valid-ed25519.json"), &m); err != nil {
		t.Fatal(err)
	}
	delete(m, "proof")
	unsigned, _ := json.Marshal(m)
	cert, err := divoc.Sign(unsigned, key, divoc.SignOptions{VerificationMethod: "did:province", Created: time.Date(2026, 3, 3, 11, 20, 42, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	ts := trust.New()
	if _, _, err := ts.Add("did:province", []byte(base58.Encode(key.Public().(ed25519.PublicKey))), nil); err != nil {
		t.Fatal(err)
	}
	other := strings.Repeat("A", 43)
	for _, tc := range []struct {
		keys   []string
		status verify.Status
		ok     bool
	}{
		{nil, verify.StatusRevoked, false},
		{[]string{other}, verify.StatusValid, false},
		{[]string{other, l.SignerKey}, verify.StatusRevoked, false},
	} {
		if err := ts.SetPolicy("did:province", trust.Policy{CRLIssuer: issuer, CRLPublisherKeys: tc.keys}); err != nil {
			t.Fatal(err)
		}
		r := verify.New(ts, st, nil).VerifyPayload(cert, at)
		if r.Status != tc.status || r.OK() != tc.ok {
			t.Errorf("publisher keys %v: %s ok=%v (%s)", tc.keys, r.Status, r.OK(), r.Detail)
		}
		if tc.status == verify.StatusValid && (r.Revocation.Status != "unknown" || !strings.Contains(r.Revocation.Explanation, "is signed by key "+l.SignerKey+", which the trust store does not name")) {
			t.Errorf("publisher keys %v: revocation %+v", tc.keys, r.Revocation)
		}
	}
	if err := ts.SetPolicy("did:province", trust.Policy{CRLPublisherKeys: []string{"not-a-thumbprint"}}); err == nil {
		t.Error("a malformed publisher key accepted")
	}
}

// TestCheckIDPublisherKeys: a lookup by certificate id holds the store's
// answer to the publisher keys the trust store allows for the issuer, as a
// verdict holds it to the certificate's entry: an answer from a list signed
// by another key is ignored, revoked or not (Unknown, saying which key
// answered); an allowed key's answer stands; without a trust store, or
// with one whose entries bound to the issuer name no keys, every list
// answers.
func TestCheckIDPublisherKeys(t *testing.T) {
	const issuer, revokedID, fineID = "https://province.example/", "8000000000028", "8000000000035"
	at := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	st := openStore(t)
	file, keys := publishList(t, "province", issuer, at.Add(-time.Hour), revokedID)
	if _, err := st.ApplySnapshot(bytes.NewReader(file), keys, at, nil); err != nil {
		t.Fatal(err)
	}
	l, _ := st.List("province")
	ts := trust.New()
	if _, _, err := ts.Add("did:province", []byte(base58.Encode(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{13}, ed25519.SeedSize)).Public().(ed25519.PublicKey))), nil); err != nil {
		t.Fatal(err)
	}
	other := strings.Repeat("A", 43)
	for _, tc := range []struct {
		name    string
		ts      *trust.Store
		keys    []string
		id      string
		status  store.Status
		ignored bool
	}{
		{"no trust store", nil, []string{other}, revokedID, store.Revoked, false},
		{"no keys named", ts, nil, revokedID, store.Revoked, false},
		{"excluded, revoked", ts, []string{other}, revokedID, store.Unknown, true},
		{"excluded, not revoked", ts, []string{other}, fineID, store.Unknown, true},
		{"allowed, revoked", ts, []string{other, l.SignerKey}, revokedID, store.Revoked, false},
		{"allowed, not revoked", ts, []string{l.SignerKey}, fineID, store.NotRevoked, false},
	} {
		if err := ts.SetPolicy("did:province", trust.Policy{CRLIssuer: issuer, CRLPublisherKeys: tc.keys}); err != nil {
			t.Fatal(err)
		}
		r, err := verify.CheckID(st, tc.ts, issuer, tc.id, at)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		// A checker made once answers every id as CheckID does.
		c := verify.NewIDChecker(st, tc.ts, issuer)
		for _, id := range []string{fineID, revokedID, tc.id} {
			want, err := verify.CheckID(st, tc.ts, issuer, id, at)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := c.Check(id, at); err != nil || got.Status != want.Status || got.Ignored != want.Ignored || got.Serial != want.Serial {
				t.Errorf("%s: checker on %s: %s, ignored %q, err %v; CheckID: %s, ignored %q", tc.name, id, got.Status, got.Ignored, err, want.Status, want.Ignored)
			}
		}
		if r.Status != tc.status || (r.Ignored != "") != tc.ignored {
			t.Errorf("%s: %s, ignored %q", tc.name, r.Status, r.Ignored)
		}
		if !tc.ignored {
			continue
		}
		if r.Conclusive() || r.Publisher != "" || r.Serial != 0 || r.Entry != nil ||
			!strings.Contains(r.Reason(), "is signed by key "+l.SignerKey+", which the trust store does not name") {
			t.Errorf("%s: an ignored answer %+v, reason %q", tc.name, r, r.Reason())
		}
	}
}
