package trust

import (
	"crypto/x509"
	"slices"
	"strings"
	"testing"
)

// TestCRLPublisherKeys: the publisher keys that may answer for an issuer
// come from every entry bound to it, of every format (a DIVOC entry by its
// crl_issuer, a SMART Health Cards issuer by its iss URL unless crl_issuer
// names another, an EU DCC country likewise), read safely: a key must be
// allowed by every entry, an entry naming none allows any.
func TestCRLPublisherKeys(t *testing.T) {
	k1, k2, k3 := strings.Repeat("A", 43), strings.Repeat("B", 43), strings.Repeat("C", 43)
	s := New()
	for _, vm := range []string{"did:a", "did:b", "did:c"} {
		if _, _, err := s.Add(vm, newEdKey(t).base58(), nil); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.AddSHCIssuer(shcFixtureIssuer, shcFixtureJWKS(t), "jwks.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddDCCSigners("XA", []*x509.Certificate{dscFixture(t)}, "example-dsc.pem"); err != nil {
		t.Fatal(err)
	}
	want := func(issuer string, restricted bool, keys, entries []string) {
		t.Helper()
		p := s.CRLPublisherKeys(issuer)
		if p.Restricted != restricted || !slices.Equal(p.Keys, keys) || !slices.Equal(p.Entries, entries) {
			t.Errorf("%s: %+v, want restricted %v keys %v entries %v", issuer, p, restricted, keys, entries)
		}
		for _, k := range []string{k1, k2, k3, ""} {
			if got := p.Allows(k); got != (!restricted || k != "" && slices.Contains(keys, k)) {
				t.Errorf("%s: Allows(%q) = %v", issuer, k, got)
			}
		}
	}
	setDIVOC := func(vm, issuer string, keys ...string) {
		t.Helper()
		if err := s.SetPolicy(vm, Policy{CRLIssuer: issuer, CRLPublisherKeys: keys}); err != nil {
			t.Fatal(err)
		}
	}

	want("https://province.example/", false, nil, nil)
	// Bound by crl_issuer, naming no keys: any.
	setDIVOC("did:a", "https://province.example/")
	want("https://province.example/", false, nil, nil)
	setDIVOC("did:a", "https://province.example/", k1, k2)
	want("https://province.example/", true, []string{k1, k2}, []string{"did:a"})
	// Another entry naming none does not lift the restriction.
	setDIVOC("did:b", "https://province.example/")
	want("https://province.example/", true, []string{k1, k2}, []string{"did:a"})
	// Entries naming keys allow those they all name, or none.
	setDIVOC("did:b", "https://province.example/", k2, k3)
	want("https://province.example/", true, []string{k2}, []string{"did:a", "did:b"})
	setDIVOC("did:c", "https://province.example/", k3)
	want("https://province.example/", true, []string{}, []string{"did:a", "did:b", "did:c"})
	// An entry bound elsewhere, or to nothing, does not count.
	setDIVOC("did:c", "https://elsewhere.example/", k3)
	setDIVOC("did:b", "", k3)
	want("https://province.example/", true, []string{k1, k2}, []string{"did:a"})

	// SMART Health Cards: bound to its iss unless crl_issuer names another.
	if err := s.SetSHCIssuer(shcFixtureIssuer, "", IssuerPolicy{CRLPublisherKeys: []string{k3}}); err != nil {
		t.Fatal(err)
	}
	want(shcFixtureIssuer, true, []string{k3}, []string{shcFixtureIssuer})
	if err := s.SetSHCIssuer(shcFixtureIssuer, "", IssuerPolicy{CRLIssuer: "https://province.example/", CRLPublisherKeys: []string{k1, k3}}); err != nil {
		t.Fatal(err)
	}
	want(shcFixtureIssuer, false, nil, nil)
	want("https://province.example/", true, []string{k1}, []string{"did:a", shcFixtureIssuer})

	// EU DCC: bound to its country unless crl_issuer names another.
	if err := s.SetDCCIssuer("XA", "", IssuerPolicy{CRLPublisherKeys: []string{k2}}); err != nil {
		t.Fatal(err)
	}
	want("XA", true, []string{k2}, []string{"XA"})
	if err := s.SetDCCIssuer("XA", "", IssuerPolicy{CRLIssuer: "xa-health", CRLPublisherKeys: []string{k2}}); err != nil {
		t.Fatal(err)
	}
	want("XA", false, nil, nil)
	want("xa-health", true, []string{k2}, []string{"XA"})

	// The policy of one entry.
	if p := EntryPublisherKeys(nil); p.Restricted || !p.Allows(k1) || !p.Allows("") {
		t.Errorf("no keys: %+v", p)
	}
	if p := EntryPublisherKeys([]string{k1}); !p.Restricted || !p.Allows(k1) || p.Allows(k2) || p.Allows("") {
		t.Errorf("one key: %+v", p)
	}
}
