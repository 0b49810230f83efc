package shc

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/verify/shc/internal/shctest"
)

func TestParseCRL(t *testing.T) {
	l, err := ParseCRL([]byte(`{"kid":"k1","method":"rid","ctr":"7","rids":[
		"AQPCj4wwk6Mt", "lHKzqFUMjhs.1636977600", "lHKzqFUMjhs.1636977000",
		"twice.100", "twice", "frac.1636977600.5", "x"], "extension": {"ignored": true}}`))
	if err != nil {
		t.Fatal(err)
	}
	if l.KID != "k1" || l.Method != MethodRID || l.Counter != 7 || l.Len() != 5 {
		t.Fatalf("%+v", l)
	}
	ts := time.Unix(1636977600, 0).UTC()
	want := []Entry{
		{ID: "AQPCj4wwk6Mt"},
		{ID: "frac", Before: time.Unix(1636977600, 5e8).UTC()},
		{ID: "lHKzqFUMjhs", Before: ts}, // the later of two timestamps
		{ID: "twice"},                   // a plain rid wins over a timestamp
		{ID: "x"},
	}
	if got := l.Entries(); !slices.Equal(got, want) {
		t.Errorf("entries\n got %v\nwant %v", got, want)
	}
	for _, tc := range []struct {
		rid  string
		nbf  time.Time
		want bool
	}{
		{"AQPCj4wwk6Mt", time.Unix(2e9, 0), true},
		{"lHKzqFUMjhs", ts.Add(-time.Millisecond), true},
		{"lHKzqFUMjhs", ts, false},
		{"lHKzqFUMjhs", ts.Add(time.Hour), false},
		{"twice", time.Unix(2e9, 0), true},
		{"aqpcj4wwk6mt", time.Unix(0, 0), false},
		{"unknown", time.Unix(0, 0), false},
	} {
		if got := l.Revokes(tc.rid, tc.nbf); got != tc.want {
			t.Errorf("Revokes(%s, %v) = %v", tc.rid, tc.nbf, got)
		}
	}
}

func TestParseCRLRefuses(t *testing.T) {
	for name, tc := range map[string]struct{ in, want string }{
		"not JSON":         {`rid`, "bad JSON"},
		"no kid":           {`{"method":"rid","ctr":1,"rids":[]}`, "no kid"},
		"other method":     {`{"kid":"k","method":"hash","ctr":1,"rids":[]}`, `method "hash" is not supported`},
		"no ctr":           {`{"kid":"k","method":"rid","rids":[]}`, "no ctr"},
		"ctr 0":            {`{"kid":"k","method":"rid","ctr":0,"rids":[]}`, "0 is not a positive integer"},
		"ctr fraction":     {`{"kid":"k","method":"rid","ctr":1.5,"rids":[]}`, "not a positive integer"},
		"ctr with zero":    {`{"kid":"k","method":"rid","ctr":"01","rids":[]}`, "not a positive integer"},
		"no rids":          {`{"kid":"k","method":"rid","ctr":1}`, "no rids array"},
		"rid not a string": {`{"kid":"k","method":"rid","ctr":1,"rids":[1]}`, "rids[0] is not a string"},
		"rid bad alphabet": {`{"kid":"k","method":"rid","ctr":1,"rids":["a+b"]}`, "outside the base64url alphabet"},
		"rid too long":     {`{"kid":"k","method":"rid","ctr":1,"rids":["` + strings.Repeat("a", 25) + `"]}`, "more than 24"},
		"empty rid":        {`{"kid":"k","method":"rid","ctr":1,"rids":[".1636977600"]}`, "empty revocation id"},
		"bad timestamp":    {`{"kid":"k","method":"rid","ctr":1,"rids":["a.16369x"]}`, "not a number of seconds"},
		"empty timestamp":  {`{"kid":"k","method":"rid","ctr":1,"rids":["a."]}`, "not a number of seconds"},
		"ms timestamp":     {`{"kid":"k","method":"rid","ctr":1,"rids":["a.1636977600000"]}`, "milliseconds"},
		"exponent":         {`{"kid":"k","method":"rid","ctr":1,"rids":["a.1e9"]}`, "not a number of seconds"},
		"too large":        {`{"kid":"k","pad":"` + strings.Repeat("x", MaxCRLSize) + `"}`, "more than 16777216"},
	} {
		_, err := ParseCRL([]byte(tc.in))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

func TestCRLCheckKey(t *testing.T) {
	d := testDirectory(t)
	k, err := d.Key(testIssuer, testKID) // crlVersion 1
	if err != nil {
		t.Fatal(err)
	}
	list := func(kid string, ctr int) *CRL {
		l, err := ParseCRL(shctest.CRL(kid, ctr, "cY3b_Wq7-0A"))
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	if err := list(testKID, 1).CheckKey(k); err != nil {
		t.Errorf("matching list: %v", err)
	}
	var ve *CRLVersionError
	err = list(testKID, 2).CheckKey(k)
	if !errors.As(err, &ve) || ve.KeyVersion != 1 || ve.ListCounter != 2 || !strings.Contains(err.Error(), "the key set is older than the list") {
		t.Errorf("newer list: %v", err)
	}
	k2 := *k
	k2.CRLVersion = 5
	if err := list(testKID, 2).CheckKey(&k2); !errors.Is(err, ErrCRLVersion) || !strings.Contains(err.Error(), "the list is older than the key set") {
		t.Errorf("stale list: %v", err)
	}
	if err := list("another", 1).CheckKey(k); !errors.Is(err, ErrMalformed) {
		t.Errorf("list of another key: %v", err)
	}
	ko, _ := d.Key(otherIssuer, otherKID) // no crlVersion
	if err := list(otherKID, 1).CheckKey(ko); !errors.Is(err, ErrCRLVersion) || !strings.Contains(err.Error(), "has no crlVersion") {
		t.Errorf("key without crlVersion: %v", err)
	}

	// RevokesCard: the rid, the kid and the nbf all count.
	c := mustParse(t, signTest(testCard(nil)))
	if !list(testKID, 1).RevokesCard(c) || list(otherKID, 1).RevokesCard(c) {
		t.Error("RevokesCard ignores the kid or the rid")
	}
	norid := mustParse(t, signTest(testCard(func(c *shctest.Card) { c.RID = "" })))
	if norid.RevocationID != "" || list(testKID, 1).RevokesCard(norid) {
		t.Error("a card without rid was revoked")
	}
}

func TestDeriveRID(t *testing.T) {
	a := DeriveRID([]byte("secret"), "kid1", "holder-1")
	if len(a) != 11 || checkRID(a) != nil {
		t.Fatalf("rid %q", a)
	}
	for _, other := range []string{
		DeriveRID([]byte("secret"), "kid2", "holder-1"),
		DeriveRID([]byte("secret"), "kid1", "holder-2"),
		DeriveRID([]byte("other"), "kid1", "holder-1"),
	} {
		if other == a {
			t.Errorf("rid %q does not depend on every input", a)
		}
	}
	if DeriveRID([]byte("secret"), "kid1", "holder-1") != a {
		t.Error("not deterministic")
	}
}

// TestFixtures checks every committed fixture has the verdict its README
// gives, in every form.
func TestFixtures(t *testing.T) {
	const iss = "https://shc.example.org/issuer"
	d := NewDirectory()
	if err := d.AddJWKS(iss, fixture(t, "issuer/.well-known/jwks.json")); err != nil {
		t.Fatal(err)
	}
	set, _ := d.KeySet(iss)
	k := set.Keys[0]
	list, err := ParseCRL(fixture(t, "issuer/.well-known/crl/"+k.ID+".json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := list.CheckKey(k); err != nil {
		t.Fatal(err)
	}
	at := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	for name, revoked := range map[string]bool{"valid": false, "revoked": true, "superseded": true, "reissued": false} {
		var jws string
		for _, ext := range []string{".txt", ".jws"} {
			c, form, err := ParsePayload(TrimNewline(fixture(t, name+ext)))
			if err != nil {
				t.Fatalf("%s%s: %v", name, ext, err)
			}
			if _, err := Verify(c, d, at); err != nil {
				t.Errorf("%s%s (%v): %v", name, ext, form, err)
			}
			if list.RevokesCard(c) != revoked {
				t.Errorf("%s%s: revoked %v", name, ext, !revoked)
			}
			if jws != "" && c.JWS != jws {
				t.Errorf("%s: forms differ", name)
			}
			jws = c.JWS
		}
	}
	jws, err := JoinChunks([][]byte{TrimNewline(fixture(t, "valid-chunk-2-of-2.txt")), TrimNewline(fixture(t, "valid-chunk-1-of-2.txt"))})
	if err != nil || jws+"\n" != string(fixture(t, "valid.jws")) {
		t.Errorf("chunks: %v", err)
	}
	cards, err := ParseFile(fixture(t, "cards.smart-health-card"))
	if err != nil || len(cards) != 2 || cards[0]+"\n" != string(fixture(t, "valid.jws")) {
		t.Errorf("file: %d cards, %v", len(cards), err)
	}
	reissued, _, _ := ParsePayload(TrimNewline(fixture(t, "reissued.txt")))
	if _, err := Verify(reissued, d, time.Date(2025, 2, 1, 0, 0, 0, 0, time.UTC)); !errors.Is(err, ErrExpired) {
		t.Errorf("reissued card in 2025: %v", err)
	}
}

func TestParseFileRefuses(t *testing.T) {
	many := `{"verifiableCredential":[` + strings.Repeat(`"a",`, MaxFileCards) + `"a"]}`
	for name, tc := range map[string]struct{ in, want string }{
		"not JSON":       {`[`, "bad JSON"},
		"no list":        {`{"vc":[]}`, `no "verifiableCredential"`},
		"not a list":     {`{"verifiableCredential":"eyJ"}`, "not an array"},
		"empty":          {`{"verifiableCredential":[]}`, "no card"},
		"not strings":    {`{"verifiableCredential":[{}]}`, "verifiableCredential[0] is not a string"},
		"too many":       {many, "101 cards"},
		"card too large": {`{"verifiableCredential":["` + strings.Repeat("a", MaxJWSSize+1) + `"]}`, "verifiableCredential[0] of 65537 characters"},
		"file too large": {`{"verifiableCredential":["` + strings.Repeat("a", MaxFileSize) + `"]}`, "more than 4194304"},
	} {
		_, err := ParseFile([]byte(tc.in))
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
	if _, _, err := ParsePayload([]byte(`{"verifiableCredential":[]}`)); !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), "ParseFile") {
		t.Errorf("ParsePayload(file): %v", err)
	}
}
