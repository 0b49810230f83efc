package dcc_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/dcc/internal/gen"
)

func TestSignerFiles(t *testing.T) {
	ex := exampleIssuer()
	other := newIssuer("other", gen.DSCOptions{Country: "de"})
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pem := write("both.pem", append(gen.CertPEM(ex.cert), gen.CertPEM(other.cert)...))
	der := write("one.der", other.cert.Raw)
	list := write("list.json", gen.DSCList("XA", ex.cert))
	write("notes.txt", []byte("not a certificate")) // not read: not a certificate extension

	s, err := dcc.LoadSigners(pem)
	if err != nil || s.Len() != 2 {
		t.Fatalf("PEM: %d signers, %v", s.Len(), err)
	}
	// The subject's country, upper-cased, when no list names one.
	if got := s.Lookup(dcc.KeyID(other.cert))[0].Country; got != "DE" {
		t.Errorf("country from the subject: %q", got)
	}
	if s, err = dcc.LoadSigners(der); err != nil || s.Len() != 1 {
		t.Fatalf("DER: %d, %v", s.Len(), err)
	}
	if s, err = dcc.LoadSigners(list); err != nil || s.Len() != 1 || s.All()[0].Country != "XA" {
		t.Fatalf("list: %v, %v", s.All(), err)
	}
	// A directory: every certificate file in it, duplicates once.
	s, err = dcc.LoadSigners(dir)
	if err != nil || s.Len() != 2 {
		t.Fatalf("directory: %d signers, %v", s.Len(), err)
	}
	if _, err := dcc.LoadSigners(filepath.Join(dir, "missing.pem")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	bad := write("bad.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	if _, err := dcc.LoadSigners(bad); !errors.Is(err, dcc.ErrSignerList) {
		t.Errorf("bad PEM: %v", err)
	}
	if _, err := dcc.LoadSigners(dir); !errors.Is(err, dcc.ErrSignerList) {
		t.Errorf("directory with a bad file: %v", err)
	}
	// A truncated certificate file.
	trunc := write("truncated.der", ex.cert.Raw[:len(ex.cert.Raw)/2])
	if _, err := dcc.LoadSigners(trunc); !errors.Is(err, dcc.ErrSignerList) {
		t.Errorf("truncated DER: %v", err)
	}
	// The committed fixtures: the PEM and the list name the same signer.
	a, err := dcc.LoadSigners("testdata/example-dsc.pem", "testdata/example-dsc-list.json")
	if err != nil || a.Len() != 1 {
		t.Errorf("fixtures: %d, %v", a.Len(), err)
	}
}

// The zero Signers is an empty set that can be added to, also from several
// goroutines while others look up.
func TestSignersConcurrent(t *testing.T) {
	var s dcc.Signers
	certs := []*issuer{}
	for i := range 8 {
		is := newIssuer(fmt.Sprint("concurrent ", i), gen.DSCOptions{})
		certs = append(certs, &is)
	}
	var wg sync.WaitGroup
	for _, is := range certs {
		wg.Go(func() {
			s.Add(is.cert, "XA", "test")
			if len(s.Lookup(dcc.KeyID(is.cert))) != 1 {
				t.Error("added certificate not found")
			}
			_ = s.All()
		})
	}
	wg.Wait()
	if s.Len() != len(certs) {
		t.Errorf("%d signers", s.Len())
	}
}

func TestParseSignerList(t *testing.T) {
	ex := exampleIssuer()
	raw := base64.StdEncoding.EncodeToString(ex.cert.Raw)
	kid := dcc.KIDString(dcc.KeyID(ex.cert))
	entry := func(kid, country, raw string) string {
		return `{"kid":"` + kid + `","country":"` + country + `","rawData":"` + raw + `","certificateType":"DSC"}`
	}
	for _, tc := range []struct {
		name string
		list string
		want error
		n    int
	}{
		{"array", "[" + entry(kid, "XA", raw) + "]", nil, 1},
		{"wrapped", `{"certificates":[` + entry(kid, "XA", raw) + `]}`, nil, 1},
		{"with a BOM", "\ufeff[" + entry(kid, "XA", raw) + "]", nil, 1},
		{"empty", "[]", nil, 0},
		{"kid of another certificate", "[" + entry("AAAAAAAAAAA=", "XA", raw) + "]", dcc.ErrSignerList, 0},
		{"kid not base64", "[" + entry("***", "XA", raw) + "]", dcc.ErrSignerList, 0},
		{"lower-case country", "[" + entry(kid, "xa", raw) + "]", dcc.ErrSignerList, 0},
		{"no country", "[" + entry(kid, "", raw) + "]", dcc.ErrSignerList, 0},
		{"rawData not base64", "[" + entry(kid, "XA", "%%") + "]", dcc.ErrSignerList, 0},
		{"rawData not a certificate", "[" + entry(kid, "XA", "AAAA") + "]", dcc.ErrSignerList, 0},
		{"rawData too large", "[" + entry(kid, "XA", strings.Repeat("A", 40000)) + "]", dcc.ErrSignerList, 0},
		{"object without certificates", `{"signers":[]}`, dcc.ErrSignerList, 0},
		{"not JSON", "[{", dcc.ErrSignerList, 0},
		{"one bad entry refuses all", "[" + entry(kid, "XA", raw) + "," + entry("AAAAAAAAAAA=", "XA", raw) + "]", dcc.ErrSignerList, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			list, err := dcc.ParseSignerList([]byte(tc.list), "test")
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("%v, want %v", err, tc.want)
			}
			if len(list) != tc.n {
				t.Errorf("%d signers, want %d", len(list), tc.n)
			}
		})
	}
	if _, err := dcc.ParseSignerList(bytes.Repeat([]byte(" "), dcc.MaxSignerFileSize+1), "big"); !errors.Is(err, dcc.ErrTooLarge) {
		t.Errorf("oversized list: %v", err)
	}
}
