package trust

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mr-tron/base58"
)

func date(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

type edKey struct {
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newEdKey(t *testing.T) edKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return edKey{pub, priv}
}

func (k edKey) base58() []byte { return []byte(base58.Encode(k.pub)) }

// verifier returns a signature check of msg/sig, as a verdict layer hands
// to Check.
func verifier(msg, sig []byte) func(crypto.PublicKey) error {
	return func(k crypto.PublicKey) error {
		pk, ok := k.(ed25519.PublicKey)
		if !ok || !ed25519.Verify(pk, msg, sig) {
			return errors.New("bad signature")
		}
		return nil
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "conf", "trust.json") // directory created by Save
	s := New()
	k1, k2 := newEdKey(t), newEdKey(t)
	added, isNew, err := s.Add("did:india", k1.base58(), &KeyOptions{NotBefore: date("2021-01-01"), NotAfter: date("2031-01-01")})
	if err != nil || !isNew {
		t.Fatalf("Add: %v (new %v)", err, isNew)
	}
	if added.Source != FormatBase58 || added.Algorithm != "Ed25519" || added.Status != StatusActive || !strings.HasPrefix(added.PEM, "-----BEGIN PUBLIC KEY-----") {
		t.Errorf("added key = %+v", added)
	}
	if _, _, err := s.Add("did:srilanka:moh", k2.base58(), nil); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPolicy("did:srilanka:moh", Policy{EnforceEffectiveWindow: true, MaxAge: Duration(365 * 24 * time.Hour), CRLIssuer: "https://divoc.lgcc.gov.lk/"}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetName("did:srilanka:moh", "Ministry of Health, Sri Lanka"); err != nil {
		t.Fatal(err)
	}
	if err := s.Save(path); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "conf", ".*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
	raw, _ := os.ReadFile(path)
	for _, want := range []string{`"version": 1`, `"did:india"`, `"max_age": "365d"`, `"enforce_effective_window": true`, `"not_before": "2021-01-01T00:00:00Z"`, `"status": "active"`} {
		if !bytes.Contains(raw, []byte(want)) {
			t.Errorf("file lacks %s:\n%s", want, raw)
		}
	}

	l, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	got := l.List()
	if len(got) != 2 || got[0].VerificationMethod != "did:india" || got[1].VerificationMethod != "did:srilanka:moh" {
		t.Fatalf("List = %+v", got)
	}
	sl := got[1]
	if !sl.EnforceEffectiveWindow || sl.MaxAge != Duration(365*24*time.Hour) || sl.Name != "Ministry of Health, Sri Lanka" {
		t.Errorf("policy = %+v", sl)
	}
	if is, ok := sl.RevocationIssuer(); !ok || is != "https://divoc.lgcc.gov.lk/" {
		t.Errorf("RevocationIssuer of a bound entry: %q %v", is, ok)
	}
	if is, ok := got[0].RevocationIssuer(); ok || is != "" {
		t.Errorf("RevocationIssuer of an entry bound to none: %q %v", is, ok)
	}
	pk, _, err := l.Key("did:india", date("2022-05-01"))
	if err != nil || !k1.pub.Equal(pk) {
		t.Errorf("Key after Load: %v", err)
	}
	again, _ := l.Marshal()
	if !bytes.Equal(again, raw) {
		t.Errorf("Marshal after Load differs:\n%s\n---\n%s", again, raw)
	}
}

func TestLoadMissing(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "nope.json"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Load of a missing file = %v, want fs.ErrNotExist", err)
	}
}

func TestKeyLookup(t *testing.T) {
	s := New()
	old, cur := newEdKey(t), newEdKey(t)
	s.Add("did:india", old.base58(), &KeyOptions{NotAfter: date("2021-12-31")})
	s.Add("did:india", cur.base58(), &KeyOptions{NotBefore: date("2022-01-01")})
	if k, _, err := s.Key("did:india", date("2021-06-01")); err != nil || !old.pub.Equal(k) {
		t.Errorf("2021: %v", err)
	}
	if k, _, err := s.Key("did:india", date("2023-06-01")); err != nil || !cur.pub.Equal(k) {
		t.Errorf("2023: %v", err)
	}
	if _, _, err := s.Key("did:philippines", date("2023-06-01")); !errors.Is(err, ErrUnknownIssuer) {
		t.Errorf("unknown: %v", err)
	}

	s.Add("did:jamaica", cur.base58(), &KeyOptions{NotBefore: date("2022-01-01"), NotAfter: date("2022-12-31")})
	if _, _, err := s.Key("did:jamaica", date("2023-06-01")); !errors.Is(err, ErrKeyNotValidAt) {
		t.Errorf("outside window: %v, want ErrKeyNotValidAt", err)
	}
	// Terminating the key: the same key added again with a status.
	if _, isNew, err := s.Add("did:jamaica", cur.base58(), &KeyOptions{Status: StatusTerminated}); err != nil || isNew {
		t.Fatalf("terminate: %v (new %v)", err, isNew)
	}
	e, _ := s.Entry("did:jamaica")
	if len(e.Keys) != 1 || e.Keys[0].Status != StatusTerminated || e.Keys[0].NotBefore != date("2022-01-01") {
		t.Fatalf("updated key = %+v (window must be kept)", e.Keys)
	}
	if _, _, err := s.Key("did:jamaica", date("2022-06-01")); !errors.Is(err, ErrKeyTerminated) {
		t.Errorf("terminated: %v, want ErrKeyTerminated", err)
	}

	if err := s.RemoveKey("did:jamaica", e.Keys[0].ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Key("did:jamaica", date("2022-06-01")); !errors.Is(err, ErrUnknownIssuer) {
		t.Errorf("no keys left: %v, want ErrUnknownIssuer", err)
	}
	if err := s.RemoveKey("did:jamaica", "0000"); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("RemoveKey unknown id: %v", err)
	}
	if err := s.Remove("did:jamaica"); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove("did:jamaica"); !errors.Is(err, ErrUnknownIssuer) {
		t.Errorf("Remove twice: %v", err)
	}
}

// TestCheck: the key that verifies decides, so a certificate signed by a
// terminated or expired key is reported as such, not as a bad signature.
func TestCheck(t *testing.T) {
	s := New()
	retired, current, stranger := newEdKey(t), newEdKey(t), newEdKey(t)
	s.Add("did:india", retired.base58(), &KeyOptions{NotAfter: date("2021-12-31")})
	s.Add("did:india", current.base58(), &KeyOptions{NotBefore: date("2022-01-01")})
	msg := []byte("credential")
	signedBy := func(k edKey) func(crypto.PublicKey) error { return verifier(msg, ed25519.Sign(k.priv, msg)) }

	if _, k, err := s.Check("did:india", date("2023-01-01"), signedBy(current)); err != nil || !current.pub.Equal(k.Public()) {
		t.Errorf("current key: %v", err)
	}
	if _, k, err := s.Check("did:india", date("2021-06-01"), signedBy(retired)); err != nil || !retired.pub.Equal(k.Public()) {
		t.Errorf("retired key in its window: %v", err)
	}
	if _, k, err := s.Check("did:india", date("2023-01-01"), signedBy(retired)); !errors.Is(err, ErrKeyNotValidAt) || k == nil {
		t.Errorf("retired key out of its window: %v, want ErrKeyNotValidAt with the key", err)
	}
	if _, _, err := s.Check("did:india", date("2023-01-01"), signedBy(stranger)); err == nil || err.Error() != "bad signature" {
		t.Errorf("stranger: %v, want the verifier's error", err)
	}
	s.Add("did:india", current.base58(), &KeyOptions{Status: StatusTerminated})
	if _, _, err := s.Check("did:india", date("2023-01-01"), signedBy(current)); !errors.Is(err, ErrKeyTerminated) {
		t.Errorf("terminated: %v, want ErrKeyTerminated", err)
	}
	if _, _, err := s.Check("did:nowhere", date("2023-01-01"), signedBy(current)); !errors.Is(err, ErrUnknownIssuer) {
		t.Errorf("unknown: %v", err)
	}
}

// TestEntriesAreCopies: what List, Entry and Check return does not change
// when the store does, and changing it does not change the store.
func TestEntriesAreCopies(t *testing.T) {
	s := New()
	k := newEdKey(t)
	s.Add("did:india", k.base58(), nil)
	e, _ := s.Entry("did:india")
	e.Keys[0].Status = StatusTerminated
	if _, _, err := s.Key("did:india", date("2022-01-01")); err != nil {
		t.Fatalf("store changed through a returned entry: %v", err)
	}
	s.Add("did:india", k.base58(), &KeyOptions{Status: StatusTerminated})
	if e2, _ := s.Entry("did:india"); e2.Keys[0].Status != StatusTerminated {
		t.Fatal("update lost")
	}
}

func TestParseRefuses(t *testing.T) {
	k := newEdKey(t)
	s := New()
	s.Add("did:india", k.base58(), nil)
	good, _ := s.Marshal()
	id := s.List()[0].Keys[0].ID
	for name, tc := range map[string]struct {
		b    string
		want error
	}{
		"not JSON":        {"{", ErrMalformed},
		"unknown field":   {strings.Replace(string(good), `"keys"`, `"enforce_effective_windows": true, "keys"`, 1), ErrMalformed},
		"other version":   {strings.Replace(string(good), `"version": 1`, `"version": 3`, 1), ErrMalformed},
		"bad status":      {strings.Replace(string(good), `"status": "active"`, `"status": "revoked"`, 1), ErrMalformed},
		"id mismatch":     {strings.Replace(string(good), id, "0123456789abcdef", 1), ErrMalformed},
		"trailing data":   {string(good) + "{}", ErrMalformed},
		"bad max age":     {strings.Replace(string(good), `"keys"`, `"max_age": "a year", "keys"`, 1), ErrMalformed},
		"too large":       {string(good) + strings.Repeat(" ", MaxFileSize), ErrTooLarge},
		"private key":     {strings.Replace(string(good), "PUBLIC KEY", "PRIVATE KEY", 2), ErrUnsupportedKey},
		"null issuer":     {`{"version":1,"issuers":{"did:x":null}}`, ErrMalformed},
		"empty VM":        {`{"version":1,"issuers":{"":{"keys":[]}}}`, ErrMalformed},
		"window reversed": {strings.Replace(string(good), `"status"`, `"not_before": "2022-01-01T00:00:00Z", "not_after": "2021-01-01T00:00:00Z", "status"`, 1), ErrMalformed},
		"publisher key":   {strings.Replace(string(good), `"keys"`, `"crl_publisher_keys": ["abc"], "keys"`, 1), ErrMalformed},
	} {
		if _, err := Parse([]byte(tc.b)); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
	if _, err := Parse(good); err != nil {
		t.Fatalf("the good file: %v", err)
	}
	thumb := strings.Repeat("A", 43)
	bound, err := Parse([]byte(strings.Replace(string(good), `"keys"`, `"crl_issuer": "https://cowin.gov.in/", "crl_publisher_keys": ["`+thumb+`"], "keys"`, 1)))
	if err != nil {
		t.Fatalf("crl_publisher_keys: %v", err)
	}
	if e, _ := bound.Entry("did:india"); len(e.CRLPublisherKeys) != 1 || e.CRLPublisherKeys[0] != thumb {
		t.Errorf("crl_publisher_keys read %v", e.CRLPublisherKeys)
	}
	if again, _ := bound.Marshal(); !strings.Contains(string(again), `"crl_publisher_keys": [`) {
		t.Errorf("crl_publisher_keys not written:\n%s", again)
	}
}

func TestAddRefuses(t *testing.T) {
	s := New()
	k := newEdKey(t)
	if _, _, err := s.Add("", k.base58(), nil); !errors.Is(err, ErrMalformed) {
		t.Errorf("empty verification method: %v", err)
	}
	if _, _, err := s.Add("did:india", k.base58(), &KeyOptions{Status: "revoked"}); !errors.Is(err, ErrMalformed) {
		t.Errorf("bad status: %v", err)
	}
	if _, _, err := s.Add("did:india", k.base58(), &KeyOptions{NotBefore: date("2022-01-01"), NotAfter: date("2021-01-01")}); !errors.Is(err, ErrMalformed) {
		t.Errorf("reversed window: %v", err)
	}
	if len(s.List()) != 0 {
		t.Error("a refused Add changed the store")
	}
	if err := s.SetPolicy("did:india", Policy{}); !errors.Is(err, ErrUnknownIssuer) {
		t.Errorf("SetPolicy of an unknown issuer: %v", err)
	}
}

func TestImportRegistry(t *testing.T) {
	s := New()
	vms, err := s.ImportRegistry(vector(t, "keys/pathcheck-trust-registry-DIVOC.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"did:india", "did:indonesia", "did:jamaica", "did:philippines", "did:srilanka:moh"}
	if strings.Join(vms, " ") != strings.Join(want, " ") {
		t.Fatalf("imported %v, want %v", vms, want)
	}
	e, _ := s.Entry("did:india")
	if e.Name != "Gov of India" || len(e.Keys) != 1 || e.Keys[0].Algorithm != "RSA-2048" {
		t.Errorf("did:india = %+v", e)
	}
	india, _, _ := ParseKey(vector(t, "keys/trustreg-did-india.pub.pem"))
	if k, _, err := s.Key("did:india", date("2021-03-01")); err != nil || !india.(interface{ Equal(crypto.PublicKey) bool }).Equal(k) {
		t.Errorf("India's key, before the registry listed it: %v", err)
	}
	if e, _ := s.Entry("did:jamaica"); e.Keys[0].Algorithm != "Ed25519" {
		t.Errorf("did:jamaica = %+v", e)
	}
}

func TestDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{"365d": 365 * 24 * time.Hour, "36h": 36 * time.Hour, "90m": 90 * time.Minute, "0d": 0} {
		d, err := ParseDuration(in)
		if err != nil || time.Duration(d) != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, time.Duration(d), err)
		}
	}
	for _, bad := range []string{"", "1y", "-1d", "-5h", "d"} {
		if _, err := ParseDuration(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseDuration(%q) = %v, want ErrMalformed", bad, err)
		}
	}
	if s := Duration(48 * time.Hour).String(); s != "2d" {
		t.Errorf("String = %q", s)
	}
	if s := Duration(36 * time.Hour).String(); s != "36h0m0s" {
		t.Errorf("String = %q", s)
	}
}
