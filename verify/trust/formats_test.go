package trust

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/shc"
)

// The committed fixtures of the format packages (made by their go
// generate steps).
const (
	shcFixtureIssuer = "https://shc.example.org/issuer"
	shcFixtureKID    = "vfeLDcXEQL5i0d2chkSDDbETJ0cCWkx9e8ILpsM1Lr8"
	dscFixtureKID    = "V6jo4Ya37I4="
)

func readFixture(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{".."}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func shcFixtureJWKS(t *testing.T) []byte {
	return readFixture(t, "shc", "testdata", "issuer", ".well-known", "jwks.json")
}

func dscFixture(t *testing.T) *x509.Certificate {
	t.Helper()
	blk, _ := pem.Decode(readFixture(t, "dcc", "testdata", "example-dsc.pem"))
	c, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestFormatsRoundTrip stores a SMART Health Cards issuer and an EU DCC
// issuer beside a DIVOC one, saves, loads, and finds every key again.
func TestFormatsRoundTrip(t *testing.T) {
	s := New()
	if _, _, err := s.Add("did:india", newEdKey(t).base58(), nil); err != nil {
		t.Fatal(err)
	}
	e, isNew, err := s.AddSHCIssuer(shcFixtureIssuer, shcFixtureJWKS(t), "jwks.json")
	if err != nil || !isNew {
		t.Fatalf("AddSHCIssuer: %v (new %v)", err, isNew)
	}
	if k, ok := e.KeySet().Key(shcFixtureKID); !ok || k.CRLVersion != 3 {
		t.Fatalf("key set lacks the fixture key with crlVersion 3: %+v", e.KeySet())
	}
	if err := s.SetSHCIssuer(shcFixtureIssuer, "Example Health", IssuerPolicy{MaxAge: Duration(365 * 24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	added, err := s.AddDCCSigners("XA", []*x509.Certificate{dscFixture(t)}, "example-dsc.pem")
	if err != nil || len(added) != 1 || added[0].KID != dscFixtureKID {
		t.Fatalf("AddDCCSigners: %v, %+v", err, added)
	}
	if err := s.SetDCCIssuer("XA", "Example Health Authority", IssuerPolicy{CRLIssuer: "xa-health"}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "trust.json")
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(path)
	for _, want := range []string{`"version": 2`, `"shc_issuers"`, `"dcc_issuers"`, `"kid": "` + dscFixtureKID + `"`, `"crlVersion": 3`, `"max_age": "365d"`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("file lacks %s:\n%s", want, raw)
		}
	}
	l, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := l.Marshal(); !bytes.Equal(again, raw) {
		t.Errorf("Marshal after Load differs:\n%s\n---\n%s", again, raw)
	}
	if k, err := l.SHCDirectory().Key(shcFixtureIssuer, shcFixtureKID); err != nil || k.CRLVersion != 3 {
		t.Errorf("SHC key after Load: %v", err)
	}
	if got := l.SHCIssuerForKID(shcFixtureKID); !slices.Equal(got, []string{shcFixtureIssuer}) {
		t.Errorf("SHCIssuerForKID = %q", got)
	}
	if si, _ := l.SHCIssuer(shcFixtureIssuer); si.Name != "Example Health" || si.MaxAge != Duration(365*24*time.Hour) {
		t.Errorf("SHC issuer after Load: %+v", si)
	}
	signers := l.DCCSigners().Lookup(dcc.KeyID(dscFixture(t)))
	if len(signers) != 1 || signers[0].Country != "XA" {
		t.Errorf("DCC signers after Load: %+v", signers)
	}
	if di, _ := l.DCCIssuer("XA"); di.Name != "Example Health Authority" || di.CRLIssuer != "xa-health" || len(di.Signers[0].Types()) != 3 {
		t.Errorf("DCC issuer after Load: %+v", di)
	}

	// A new key set replaces the old one and keeps name and policy.
	if _, isNew, err := l.AddSHCIssuer(shcFixtureIssuer, shcFixtureJWKS(t), "again.json"); err != nil || isNew {
		t.Fatalf("AddSHCIssuer again: %v (new %v)", err, isNew)
	}
	if si, _ := l.SHCIssuer(shcFixtureIssuer); si.Name != "Example Health" || si.Source != "again.json" {
		t.Errorf("after replacing the key set: %+v", si)
	}

	// Removing both leaves a version 1 file.
	if err := l.RemoveSHCIssuer(shcFixtureIssuer); err != nil {
		t.Fatal(err)
	}
	if err := l.RemoveDCCSigner("XA", dscFixtureKID); err != nil {
		t.Fatal(err)
	}
	if l.DCCSigners().Len() != 0 {
		t.Error("the removed signer is still trusted")
	}
	if _, err := l.SHCDirectory().Key(shcFixtureIssuer, shcFixtureKID); !errors.Is(err, shc.ErrUnknownIssuer) {
		t.Errorf("removed SHC issuer: %v", err)
	}
	if err := l.RemoveDCCIssuer("XA"); err != nil {
		t.Fatal(err)
	}
	if b, _ := l.Marshal(); !bytes.Contains(b, []byte(`"version": 1`)) || bytes.Contains(b, []byte("shc_issuers")) {
		t.Errorf("a store of DIVOC issuers only is not version 1:\n%s", b)
	}
}

func TestImportDSCList(t *testing.T) {
	s := New()
	list := readFixture(t, "dcc", "testdata", "example-dsc-list.json")
	got, err := s.ImportDSCList(list, "example-dsc-list.json", "XB")
	if err != nil || len(got) != 0 || s.DCCSigners().Len() != 0 {
		t.Fatalf("another country's entries were taken: %v, %+v", err, got)
	}
	got, err = s.ImportDSCList(list, "example-dsc-list.json")
	if err != nil || len(got["XA"]) != 1 {
		t.Fatalf("ImportDSCList: %v, %+v", err, got)
	}
	// Again: nothing new.
	if got, err := s.ImportDSCList(list, "example-dsc-list.json"); err != nil || len(got["XA"]) != 0 {
		t.Fatalf("ImportDSCList again: %v, %+v", err, got)
	}
	bad := bytes.Replace(list, []byte(dscFixtureKID), []byte("AAAAAAAAAAA="), 1)
	if _, err := s.ImportDSCList(bad, "bad.json"); !errors.Is(err, ErrMalformed) || !errors.Is(err, dcc.ErrSignerList) {
		t.Errorf("a list whose kid lies: %v", err)
	}
}

func TestFormatsRefused(t *testing.T) {
	s := New()
	if _, _, err := s.AddSHCIssuer("https://shc.example.org/issuer/", shcFixtureJWKS(t), ""); !errors.Is(err, ErrMalformed) {
		t.Errorf("issuer URL with a trailing slash: %v", err)
	}
	if _, _, err := s.AddSHCIssuer("http://shc.example.org/issuer", shcFixtureJWKS(t), ""); !errors.Is(err, ErrMalformed) {
		t.Errorf("http issuer URL: %v", err)
	}
	if _, _, err := s.AddSHCIssuer(shcFixtureIssuer, []byte(`{"keys":[]}`), ""); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty key set: %v", err)
	}
	if _, _, err := s.AddSHCIssuer(shcFixtureIssuer, bytes.Repeat([]byte(" "), shc.MaxJWKSSize+1), ""); !errors.Is(err, ErrTooLarge) {
		t.Errorf("key set over the bound: %v", err)
	}
	if _, err := s.AddDCCSigners("XB", []*x509.Certificate{dscFixture(t)}, ""); !errors.Is(err, ErrMalformed) {
		t.Errorf("a certificate of XA added for XB: %v", err)
	}
	if _, err := s.AddDCCSigners("xa", []*x509.Certificate{dscFixture(t)}, ""); !errors.Is(err, ErrMalformed) {
		t.Errorf("lower-case country: %v", err)
	}

	if _, _, err := s.AddSHCIssuer(shcFixtureIssuer, shcFixtureJWKS(t), "jwks.json"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddDCCSigners("XA", []*x509.Certificate{dscFixture(t)}, ""); err != nil {
		t.Fatal(err)
	}
	good, _ := s.Marshal()
	for name, tc := range map[string]struct {
		edit func(string) string
		want error
	}{
		"SHC key set edited": {func(f string) string { return strings.Replace(f, `"crlVersion": 3`, `"crlVersion": 4`, 1) }, ErrMalformed},
		"signer kid wrong":   {func(f string) string { return strings.Replace(f, dscFixtureKID, "AAAAAAAAAAA=", 1) }, ErrMalformed},
		"signer twice": {func(f string) string {
			i := strings.Index(f, `"XA": {`)
			j := strings.LastIndex(f, "}\n  }")
			return f[:j] + "},\n    \"XB\": " + f[i+len(`"XA": `):j] + "}\n  }\n}\n"
		}, ErrMalformed},
		"version 1 with new issuers": {func(f string) string { return strings.Replace(f, `"version": 2`, `"version": 1`, 1) }, ErrMalformed},
		"bad country":                {func(f string) string { return strings.Replace(f, `"XA": {`, `"Xa": {`, 1) }, ErrMalformed},
		"unknown member":             {func(f string) string { return strings.Replace(f, `"signers"`, `"keys": [], "signers"`, 1) }, ErrMalformed},
	} {
		if _, err := Parse([]byte(tc.edit(string(good)))); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if _, err := Parse(good); err != nil {
		t.Fatalf("the good file: %v", err)
	}
}
