package verify_test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/store"
	"github.com/crlverify/crlverify/verify/trust"
)

// The committed fixtures (testdata/, made by go generate ./verify) and the
// verdicts expected for them.
const fixtures = "../testdata"

type expectation struct {
	At         time.Time `json:"at"`
	TrustStore string    `json:"trust_store"`
	CRL        struct {
		Dir        string    `json:"dir"`
		JWKS       string    `json:"jwks"`
		NextUpdate time.Time `json:"next_update"`
	} `json:"crl"`
	Fixtures []struct {
		File            string   `json:"file"`
		Case            string   `json:"case"`
		Status          string   `json:"status"`
		RevocationKnown bool     `json:"revocation_known"`
		Revocation      string   `json:"revocation"`
		PayloadForm     string   `json:"payload_form"`
		FromImage       bool     `json:"from_image"`
		CertificateID   string   `json:"certificate_id"`
		Name            string   `json:"name"`
		UnsignedFields  []string `json:"unsigned_fields"`
	} `json:"fixtures"`
}

func loadExpectation(t testing.TB) *expectation {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, "divoc", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expectation
	if err := json.Unmarshal(b, &e); err != nil {
		t.Fatal(err)
	}
	return &e
}

// fixtureVerifier opens a fresh store, applies the fixture list to it at
// the check time, and returns a Verifier over it and the fixture trust store.
func fixtureVerifier(t testing.TB, e *expectation, opts *store.Options) (*verify.Verifier, *store.Store) {
	t.Helper()
	ts, err := trust.Load(filepath.Join(fixtures, e.TrustStore))
	if err != nil {
		t.Fatal(err)
	}
	jf, err := os.Open(filepath.Join(fixtures, e.CRL.JWKS))
	if err != nil {
		t.Fatal(err)
	}
	defer jf.Close()
	set, err := snapshot.ReadJWKS(jf)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "crl.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f, err := os.Open(filepath.Join(fixtures, e.CRL.Dir, snapshot.FullName(1)))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := st.ApplySnapshot(f, snapshot.KeysFromSet(set), e.At, nil); err != nil {
		t.Fatal(err)
	}
	return verify.New(ts, st, nil), st
}

// TestFixtureVerdicts checks every committed fixture — certificates,
// payloads in each form, clean and photographed QR images — against its
// expected verdict.
func TestFixtureVerdicts(t *testing.T) {
	e := loadExpectation(t)
	v, _ := fixtureVerifier(t, e, nil)
	if len(e.Fixtures) < 30 {
		t.Fatalf("only %d fixtures listed", len(e.Fixtures))
	}
	for _, fx := range e.Fixtures {
		t.Run(fx.File, func(t *testing.T) {
			t.Parallel()
			r := v.VerifyFile(filepath.Join(fixtures, fx.File), e.At)
			if string(r.Status) != fx.Status || r.Revocation.Known != fx.RevocationKnown || r.Revocation.Status != fx.Revocation {
				t.Fatalf("%s: got %s (revocation %s, known %v: %s), want %s (revocation %s, known %v)",
					fx.Case, r.Status, r.Revocation.Status, r.Revocation.Known, r.Detail, fx.Status, fx.Revocation, fx.RevocationKnown)
			}
			if r.FromImage != fx.FromImage || (fx.PayloadForm != "" && r.PayloadForm != fx.PayloadForm) {
				t.Errorf("from image %v form %q, want %v %q", r.FromImage, r.PayloadForm, fx.FromImage, fx.PayloadForm)
			}
			if fx.Name != "" && (r.Certificate == nil || r.Certificate.Name != fx.Name || r.Certificate.ID != fx.CertificateID) {
				t.Errorf("certificate %+v, want %s %s", r.Certificate, fx.Name, fx.CertificateID)
			}
			if !slices.Equal(r.UnsignedFields, fx.UnsignedFields) {
				t.Errorf("unsigned fields %q, want %q", r.UnsignedFields, fx.UnsignedFields)
			}
		})
	}
}

// TestStaleListIsNeverPlainValid: past the list's next-update, a genuine,
// unrevoked certificate is VALID with revocation status unknown, while a
// revoked one stays REVOKED; a grace period restores a conclusive VALID.
func TestStaleListIsNeverPlainValid(t *testing.T) {
	e := loadExpectation(t)
	late := e.CRL.NextUpdate.Add(time.Hour)
	valid := filepath.Join(fixtures, "divoc", "qr", "valid.png")
	revoked := filepath.Join(fixtures, "divoc", "qr", "revoked.png")

	v, _ := fixtureVerifier(t, e, nil)
	r := v.VerifyFile(valid, late)
	if r.Status != verify.StatusValid || r.Revocation.Known || r.OK() || r.Revocation.Freshness != "stale" {
		t.Fatalf("stale list: %s known=%v freshness=%s", r.Status, r.Revocation.Known, r.Revocation.Freshness)
	}
	if r := v.VerifyFile(revoked, late); r.Status != verify.StatusRevoked {
		t.Fatalf("revoked on a stale list: %s", r.Status)
	}

	v, _ = fixtureVerifier(t, e, &store.Options{Grace: 2 * time.Hour})
	if r := v.VerifyFile(valid, late); !r.OK() {
		t.Fatalf("within the grace: %s known=%v (%s)", r.Status, r.Revocation.Known, r.Revocation.Explanation)
	}
}

// TestNoStoreMeansUnknown: without a CRL store nothing is conclusively valid.
func TestNoStoreMeansUnknown(t *testing.T) {
	e := loadExpectation(t)
	ts, err := trust.Load(filepath.Join(fixtures, e.TrustStore))
	if err != nil {
		t.Fatal(err)
	}
	r := verify.New(ts, nil, nil).VerifyFile(filepath.Join(fixtures, "divoc", "qr", "valid.png"), e.At)
	if r.Status != verify.StatusValid || r.OK() {
		t.Fatalf("%s ok=%v", r.Status, r.OK())
	}
}

// TestVerifyFileContext: a context that ends before the verdict gives its
// error and no verdict, never MALFORMED; a live one gives VerifyFile's
// verdict.
func TestVerifyFileContext(t *testing.T) {
	e := loadExpectation(t)
	v, _ := fixtureVerifier(t, e, nil)
	photo := filepath.Join(fixtures, "divoc", "qr", "valid-photo.jpg")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r, err := v.VerifyFileContext(ctx, photo, e.At)
	if !errors.Is(err, context.Canceled) || r.Status != "" {
		t.Fatalf("cancelled: %s %q, %v", r.Status, r.Detail, err)
	}
	r, err = v.VerifyFileContext(context.Background(), photo, e.At)
	if err != nil || !r.OK() || r.Input != photo {
		t.Fatalf("live context: %s %q, %v", r.Status, r.Detail, err)
	}
}
