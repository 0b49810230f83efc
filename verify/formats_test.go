package verify_test

import (
	"bytes"
	"cmp"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/store"
	"github.com/crlverify/crlverify/verify/trust"
)

// The committed fixtures of the format packages: an SMART Health Cards
// issuer (go generate ./verify/shc) and an EU document signer of the
// user-assigned country XA (go generate ./verify/dcc).
const (
	shcDir    = "shc/testdata"
	dccDir    = "dcc/testdata"
	shcIssuer = "https://shc.example.org/issuer"
	shcKID    = "vfeLDcXEQL5i0d2chkSDDbETJ0cCWkx9e8ILpsM1Lr8"
)

var (
	// shcAt: every SHC fixture card is issued, none expired.
	shcAt = time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
	// dccAt: within the DCC fixtures' validity (2026-03-02 to 2027-03-02).
	dccAt = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
)

func shcCRLPath() string {
	return filepath.Join(shcDir, "issuer", ".well-known", "crl", shcKID+".json")
}

// formatTrust is a trust store holding the SHC fixture issuer and the DCC
// fixture signer.
func formatTrust(t testing.TB) *trust.Store {
	t.Helper()
	ts := trust.New()
	jwks, err := os.ReadFile(filepath.Join(shcDir, "issuer", ".well-known", "jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := ts.AddSHCIssuer(shcIssuer, jwks, "jwks.json"); err != nil {
		t.Fatal(err)
	}
	if err := ts.SetSHCIssuer(shcIssuer, "Example Health", trust.IssuerPolicy{}); err != nil {
		t.Fatal(err)
	}
	signers, err := dcc.ReadSignerFile(filepath.Join(dccDir, "example-dsc.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ts.AddDCCSigners("XA", []*x509.Certificate{signers[0].Certificate}, "example-dsc.pem"); err != nil {
		t.Fatal(err)
	}
	return ts
}

// publishList signs a full snapshot revoking ids of issuer, made at this,
// and returns it with the publisher's keys.
func publishList(t testing.TB, publisher, issuer string, this time.Time, ids ...string) ([]byte, snapshot.Keys) {
	t.Helper()
	key, err := snapshot.GenerateKey("")
	if err != nil {
		t.Fatal(err)
	}
	set, err := snapshot.PublicSet(key)
	if err != nil {
		t.Fatal(err)
	}
	var entries []crl.Entry
	for _, id := range ids {
		entries = append(entries, crl.Entry{Key: crl.KeyOf(issuer, id), RevokedAt: this.Add(-time.Hour).Unix(), Reason: crl.ReasonDataError})
	}
	slices.SortFunc(entries, func(a, b crl.Entry) int { return cmp.Compare(a.Key, b.Key) })
	var body bytes.Buffer
	w := snapshot.NewBodyWriter(&body)
	for _, e := range entries {
		if err := w.Upsert(e); err != nil {
			t.Fatal(err)
		}
	}
	info, err := w.Close()
	if err != nil {
		t.Fatal(err)
	}
	h := &snapshot.Header{
		Publisher: publisher, Issuers: []string{issuer}, Serial: 1,
		ThisUpdate: this, NextUpdate: this.Add(24 * time.Hour), Kind: snapshot.KindFull,
		ListDigest: info.Digest, ListCount: uint64(len(entries)), Upserts: info.Upserts,
		BodyLength: info.Length, BodyDigest: info.Digest,
	}
	var out bytes.Buffer
	if err := snapshot.WriteSnapshot(&out, h, key, &body); err != nil {
		t.Fatal(err)
	}
	return out.Bytes(), snapshot.KeysFromSet(set)
}

func openStore(t testing.TB) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "crl.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestSHCVerdicts: the fixture cards in every form, against the issuer's
// own list imported into the store.
func TestSHCVerdicts(t *testing.T) {
	st := openStore(t)
	raw, err := os.ReadFile(shcCRLPath())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.ImportSHCList(shcIssuer, raw, "crl.json", shcAt); err != nil {
		t.Fatal(err)
	}
	v := verify.New(formatTrust(t), st, nil)
	for _, c := range []struct {
		file, form string
		status     verify.Status
		image      bool
	}{
		{"valid.txt", "numeric", verify.StatusValid, false},
		{"valid.jws", "jws", verify.StatusValid, false},
		{"valid.png", "numeric", verify.StatusValid, true},
		{"revoked.txt", "numeric", verify.StatusRevoked, false},
		{"revoked.jws", "jws", verify.StatusRevoked, false},
		// The list has "rid.1704067200": revoked before 2024-01-01 only.
		{"superseded.jws", "jws", verify.StatusRevoked, false},
		{"reissued.jws", "jws", verify.StatusValid, false},
	} {
		r := v.VerifyFile(filepath.Join(shcDir, c.file), shcAt)
		if r.Status != c.status || r.Format != verify.FormatSHC || r.PayloadForm != c.form || r.FromImage != c.image {
			t.Errorf("%s: %s %s %s image %v (%s)", c.file, r.Format, r.PayloadForm, r.Status, r.FromImage, r.Detail)
			continue
		}
		rv := r.Revocation
		if !rv.Known || rv.Source != verify.SourceSHCList || rv.ListKID != shcKID || rv.ListCounter != 3 {
			t.Errorf("%s: revocation %+v", c.file, rv)
		}
		if c.status == verify.StatusRevoked && !strings.Contains(r.Detail, "revoked by its issuer's revocation list (key "+shcKID+", ctr 3)") {
			t.Errorf("%s: detail %q", c.file, r.Detail)
		}
		if cert := r.Certificate; cert.IssuerName != "Example Health" || cert.KeyID != shcKID || cert.ID == "" || cert.Disease != "COVID-19" || cert.Vaccine == "" {
			t.Errorf("%s: certificate %+v", c.file, cert)
		}
	}

	// A .smart-health-card file: one verdict per card.
	s, err := v.ReadFileContext(t.Context(), filepath.Join(shcDir, "cards.smart-health-card"))
	if err != nil {
		t.Fatal(err)
	}
	rs := v.VerifyScanned(s, shcAt)
	if len(rs) != 2 || rs[0].Status != verify.StatusValid || rs[1].Status != verify.StatusRevoked ||
		rs[0].Card != 1 || rs[1].Card != 2 || rs[1].Cards != 2 || rs[1].PayloadForm != "file" || rs[1].Input != s.Input {
		t.Errorf("cards file: %+v", rs)
	}
	// VerifyFile gives the first.
	if r := v.VerifyFile(s.Input, shcAt); r.Status != verify.StatusValid || r.Card != 1 {
		t.Errorf("VerifyFile of the cards file: %s card %d", r.Status, r.Card)
	}
}

// Without the issuer's list, or with one that is not current, a card of a
// key with a crlVersion is VALID with its revocation status unknown.
func TestSHCIssuerListRequired(t *testing.T) {
	st := openStore(t)
	v := verify.New(formatTrust(t), st, nil)
	r := v.VerifyFile(filepath.Join(shcDir, "revoked.jws"), shcAt)
	if r.Status != verify.StatusValid || r.Revocation.Known || !strings.Contains(r.Detail, "none is in the store") || !strings.Contains(r.Detail, "/.well-known/crl/"+shcKID+".json") {
		t.Errorf("no list: %s known %v (%s)", r.Status, r.Revocation.Known, r.Detail)
	}
	raw, _ := os.ReadFile(shcCRLPath())
	old := bytes.Replace(raw, []byte(`"ctr": 3`), []byte(`"ctr": 2`), 1)
	if _, err := st.ImportSHCList(shcIssuer, old, "old.json", shcAt); err != nil {
		t.Fatal(err)
	}
	r = v.VerifyFile(filepath.Join(shcDir, "valid.jws"), shcAt)
	if r.Status != verify.StatusValid || r.Revocation.Known || !strings.Contains(r.Detail, "has ctr 2, the key's crlVersion is 3") {
		t.Errorf("old list: %s known %v (%s)", r.Status, r.Revocation.Known, r.Detail)
	}
	// A list that is not current still revokes what it lists, as a signed
	// snapshot past its next update does: the store knows the issuer
	// revoked the card.
	r = v.VerifyFile(filepath.Join(shcDir, "revoked.jws"), shcAt)
	if r.Status != verify.StatusRevoked || !r.Revocation.Known || r.Revocation.ListCounter != 2 || r.Revocation.Freshness != "stale" {
		t.Errorf("old list, card it lists: %s %+v", r.Status, r.Revocation)
	}
}

// TestSHCIssuerListNewerThanKeySet: the trust store holds the issuer's key
// set of crlVersion 3 and the store a newer list (ctr 4) revoking a card:
// the card is REVOKED, not "VALID, revocation status unknown"; the cards
// the list does not revoke stay unknown until the key set is updated.
func TestSHCIssuerListNewerThanKeySet(t *testing.T) {
	st := openStore(t)
	raw, _ := os.ReadFile(shcCRLPath())
	newer := bytes.Replace(raw, []byte(`"ctr": 3`), []byte(`"ctr": 4`), 1)
	if bytes.Equal(newer, raw) {
		t.Fatal("the fixture list has no \"ctr\": 3")
	}
	if _, err := st.ImportSHCList(shcIssuer, newer, "newer.json", shcAt); err != nil {
		t.Fatal(err)
	}
	v := verify.New(formatTrust(t), st, nil)
	for file, want := range map[string]verify.Status{
		"revoked.jws":    verify.StatusRevoked,
		"superseded.jws": verify.StatusRevoked,
		"reissued.jws":   verify.StatusValid,
		"valid.jws":      verify.StatusValid,
	} {
		r := v.VerifyFile(filepath.Join(shcDir, file), shcAt)
		if r.Status != want || r.Revocation.ListCounter != 4 {
			t.Errorf("%s: %s, want %s (%s)", file, r.Status, want, r.Detail)
		}
		if r.Status == verify.StatusValid && (r.Revocation.Known || !strings.Contains(r.Detail, "has ctr 4, the key's crlVersion is 3")) {
			t.Errorf("%s: known %v (%s)", file, r.Revocation.Known, r.Detail)
		}
		if r.Status == verify.StatusRevoked && (!r.Conclusive() || r.Revocation.MatchedID != r.Certificate.ID) {
			t.Errorf("%s: %+v", file, r.Revocation)
		}
	}
}

// A signed snapshot revoking a card's rid under its iss revokes it; a
// fresh snapshot and the issuer's list together make the status known.
func TestSHCSnapshotRevocation(t *testing.T) {
	st := openStore(t)
	valid := verify.New(formatTrust(t), nil, nil).VerifyFile(filepath.Join(shcDir, "valid.jws"), shcAt)
	list, keys := publishList(t, "example-health", shcIssuer, shcAt.Add(-time.Hour), valid.Certificate.ID)
	if _, err := st.ApplySnapshot(bytes.NewReader(list), keys, shcAt, nil); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(shcCRLPath())
	if _, err := st.ImportSHCList(shcIssuer, raw, "crl.json", shcAt); err != nil {
		t.Fatal(err)
	}
	v := verify.New(formatTrust(t), st, nil)
	r := v.VerifyFile(filepath.Join(shcDir, "valid.jws"), shcAt)
	if r.Status != verify.StatusRevoked || r.Revocation.Source != verify.SourceSnapshot || r.Revocation.Serial != 1 ||
		r.Revocation.MatchedID != valid.Certificate.ID || r.Revocation.Reason != "dataError" {
		t.Errorf("revoked by the snapshot: %s %+v", r.Status, r.Revocation)
	}
	r = v.VerifyFile(filepath.Join(shcDir, "reissued.jws"), shcAt)
	if !r.OK() || r.Revocation.Source != verify.SourceSnapshot+"+"+verify.SourceSHCList {
		t.Errorf("in neither list: %s %+v", r.Status, r.Revocation)
	}
	// Past the snapshot's next update: no longer conclusive.
	later := shcAt.Add(48 * time.Hour)
	if r := v.VerifyFile(filepath.Join(shcDir, "reissued.jws"), later); r.Status != verify.StatusValid || r.Revocation.Known {
		t.Errorf("stale snapshot: %s %+v", r.Status, r.Revocation)
	}
}

// TestSHCDamagedSnapshotNotHidden: a store holds a signed snapshot that
// revokes a card and the issuer's own list, which does not. When the
// snapshot's entries cannot be read (the file is damaged where they lie),
// the issuer's list alone answered "not revoked", and the card was VALID
// with its revocation status known. A store that cannot answer leaves the
// status unknown, whatever the other list says, and says why (Err).
func TestSHCDamagedSnapshotNotHidden(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "crl.db")
	st, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	valid := verify.New(formatTrust(t), nil, nil).VerifyFile(filepath.Join(shcDir, "valid.jws"), shcAt)
	list, keys := publishList(t, "example-health", shcIssuer, shcAt.Add(-time.Hour), valid.Certificate.ID)
	if _, err := st.ApplySnapshot(bytes.NewReader(list), keys, shcAt, nil); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(shcCRLPath())
	if _, err := st.ImportSHCList(shcIssuer, raw, "crl.json", shcAt); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	intact, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Damage the bytes around the entry's key, wherever the store keeps
	// it (the block, its bbolt key, the list's block index).
	k := crl.KeyOf(shcIssuer, valid.Certificate.ID).Bytes()
	offsets := map[int]bool{}
	for rest, base := intact, 0; ; {
		i := bytes.Index(rest, k[:])
		if i < 0 {
			break
		}
		for off := max(0, base+i-64); off < min(len(intact), base+i+192); off++ {
			offsets[off] = true
		}
		base += i + 1
		rest = intact[base:]
	}
	if len(offsets) == 0 {
		t.Fatal("the entry's key is not in the store file")
	}
	ts := formatTrust(t)
	hidden := 0
	for off := range len(intact) {
		if !offsets[off] {
			continue
		}
		b := bytes.Clone(intact)
		b[off] ^= 0x20
		damaged := filepath.Join(dir, fmt.Sprintf("damaged-%d.db", off))
		if err := os.WriteFile(damaged, b, 0o600); err != nil {
			t.Fatal(err)
		}
		ds, err := store.Open(damaged, &store.Options{ReadOnly: true})
		if err != nil {
			continue // damage found on opening
		}
		if _, err := ds.Check(shcIssuer, valid.Certificate.ID, shcAt); errors.Is(err, store.ErrCorrupt) {
			if _, _, found, err := ds.SHCList(shcIssuer, shcKID); err == nil && found {
				hidden++ // the snapshot cannot answer, the issuer's list can
			}
		}
		r := verify.New(ts, ds, nil).VerifyFile(filepath.Join(shcDir, "valid.jws"), shcAt)
		if r.Status == verify.StatusValid && r.Revocation.Known {
			t.Errorf("byte %d damaged: VALID, revocation known (%+v)", off, r.Revocation)
		}
		if r.Status == verify.StatusValid && r.Revocation.Err != nil && !errors.Is(r.Revocation.Err, store.ErrCorrupt) {
			t.Errorf("byte %d damaged: %v", off, r.Revocation.Err)
		}
		ds.Close()
	}
	if hidden == 0 {
		t.Fatal("no damaged copy left the snapshot unreadable and the issuer's list readable: the test tests nothing")
	}
	t.Logf("%d damaged copies with the snapshot unreadable and the issuer's list readable", hidden)
}

// TestSHCChunks joins a card split over two QR codes, given in any order,
// and names the chunks missing.
func TestSHCChunks(t *testing.T) {
	v := verify.New(formatTrust(t), nil, nil)
	read := func(name string) verify.Scanned {
		s, err := v.ReadFileContext(t.Context(), filepath.Join(shcDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !s.IsChunk() {
			t.Fatalf("%s is not a chunk", name)
		}
		return s
	}
	one, two := read("valid-chunk-1-of-2.txt"), read("valid-chunk-2-of-2.txt")
	rs := v.VerifyChunks([]verify.Scanned{two, one}, shcAt)
	if len(rs) != 1 || rs[0].Status != verify.StatusValid || rs[0].PayloadForm != "numeric-chunk" ||
		rs[0].Input != two.Input || !slices.Equal(rs[0].ChunkInputs, []string{one.Input, two.Input}) || rs[0].Certificate.Name != "Asha Verma" {
		t.Fatalf("joined: %+v", rs)
	}
	rs = v.VerifyChunks([]verify.Scanned{one}, shcAt)
	if len(rs) != 1 || rs[0].Status != verify.StatusMalformed || !strings.Contains(rs[0].Detail, "chunk 2 is missing") {
		t.Errorf("one chunk of two: %+v", rs)
	}
	// The same codes scanned again change nothing.
	rs = v.VerifyChunks([]verify.Scanned{one, two, one, two, one}, shcAt)
	if len(rs) != 1 || rs[0].Status != verify.StatusValid || len(rs[0].ChunkInputs) != 2 {
		t.Errorf("codes scanned twice: %+v", rs)
	}
	// Two cards scanned one after the other, the second missing a chunk,
	// and a chunk that is no chunk.
	jws, err := os.ReadFile(filepath.Join(shcDir, "reissued.jws"))
	if err != nil {
		t.Fatal(err)
	}
	other := chunksOf(string(bytes.TrimSpace(jws)), 3)
	rs = v.VerifyChunks([]verify.Scanned{one, other[2], two, other[0], {Input: "bad", Payload: []byte("shc:/1/2/9")}}, shcAt)
	if len(rs) != 3 || rs[0].Status != verify.StatusValid || rs[0].Certificate.Name != "Asha Verma" ||
		rs[1].Status != verify.StatusMalformed || !strings.Contains(rs[1].Detail, "split over 3 QR codes: chunk 2 is missing") ||
		!slices.Equal(rs[1].ChunkInputs, []string{"other-1", "other-3"}) || rs[2].Input != "bad" || rs[2].Status != verify.StatusMalformed {
		t.Errorf("two cards: %+v", rs)
	}
	rs = v.VerifyChunks([]verify.Scanned{other[1], other[0], other[2]}, shcAt)
	if len(rs) != 1 || rs[0].Status != verify.StatusValid || !strings.HasPrefix(rs[0].Certificate.Name, "Meera ") {
		t.Errorf("a card of three chunks: %+v", rs)
	}
	// A chunk alone through VerifyScanned.
	if r := v.VerifyScanned(one, shcAt)[0]; r.Status != verify.StatusMalformed || !strings.Contains(r.Detail, "chunk 2 is missing") {
		t.Errorf("chunk alone: %s (%s)", r.Status, r.Detail)
	}
}

// TestSHCChunksOfCardsInterleaved: the codes of two genuine cards, each
// split over two QR codes, scanned in the order A1 B2 B1 A2 (say, the
// first page of one card, the second of another, then the rest). Each
// chunk went to the first card still lacking its number, which joined A1
// with B2 and B1 with A2: two genuine cards MALFORMED. The chunks whose
// joined signature verifies belong together.
func TestSHCChunksOfCardsInterleaved(t *testing.T) {
	v := verify.New(formatTrust(t), nil, nil)
	split := func(file, name string) []verify.Scanned {
		jws, err := os.ReadFile(filepath.Join(shcDir, file))
		if err != nil {
			t.Fatal(err)
		}
		cs := chunksOf(string(bytes.TrimSpace(jws)), 2)
		for i := range cs {
			cs[i].Input = fmt.Sprintf("%s-%d", name, i+1)
		}
		return cs
	}
	a, b := split("valid.jws", "A"), split("reissued.jws", "B")
	for _, order := range [][]verify.Scanned{
		{a[0], b[1], b[0], a[1]},
		{b[1], a[0], a[1], b[0]},
		{a[1], b[1], a[0], b[0]},
	} {
		rs := v.VerifyChunks(order, shcAt)
		var got []string
		for _, r := range rs {
			got = append(got, fmt.Sprintf("%s %v", r.Status, r.ChunkInputs))
		}
		want := map[string]bool{"VALID [A-1 A-2]": true, "VALID [B-1 B-2]": true}
		if len(got) != 2 || !want[got[0]] || !want[got[1]] || got[0] == got[1] {
			t.Errorf("order %s %s %s %s: %q", order[0].Input, order[1].Input, order[2].Input, order[3].Input, got)
		}
		// One result per card, at the place of its first chunk.
		if rs[0].Input != order[0].Input {
			t.Errorf("first result from %s, want %s", rs[0].Input, order[0].Input)
		}
	}
	// A chunk that fits no card with the others still makes a card, as
	// before: the rest of a card whose other half is missing.
	rs := v.VerifyChunks([]verify.Scanned{a[0], b[1], a[1]}, shcAt)
	if len(rs) != 2 || rs[0].Status != verify.StatusValid || !slices.Equal(rs[0].ChunkInputs, []string{"A-1", "A-2"}) ||
		rs[1].Status != verify.StatusMalformed || !strings.Contains(rs[1].Detail, "chunk 1 is missing") {
		t.Errorf("A1 B2 A2: %+v", rs)
	}
}

// chunksOf splits jws into n numeric QR payloads "shc:/i/n/...", named
// other-i.
func chunksOf(jws string, n int) []verify.Scanned {
	var out []verify.Scanned
	size := (len(jws) + n - 1) / n
	for i := range n {
		part := jws[i*size : min(len(jws), (i+1)*size)]
		var b strings.Builder
		fmt.Fprintf(&b, "shc:/%d/%d/", i+1, n)
		for _, c := range part {
			fmt.Fprintf(&b, "%02d", c-45)
		}
		out = append(out, verify.Scanned{Input: fmt.Sprintf("other-%d", i+1), Payload: []byte(b.String()), FromImage: true})
	}
	return out
}

// TestDCCVerdicts: the fixture certificates of each type, from text and
// from QR and Aztec images, and what the dates and a snapshot make of them.
func TestDCCVerdicts(t *testing.T) {
	st := openStore(t)
	list, keys := publishList(t, "xa-health", "XA", dccAt.Add(-time.Hour), "URN:UVCI:01:XA:EXAMPLE0000000000000003#S")
	if _, err := st.ApplySnapshot(bytes.NewReader(list), keys, dccAt, nil); err != nil {
		t.Fatal(err)
	}
	v := verify.New(formatTrust(t), st, nil)
	for _, c := range []struct {
		file, typ string
		status    verify.Status
		image     bool
	}{
		{"vaccination.hc1", "vaccination", verify.StatusValid, false},
		{"vaccination-qr.png", "vaccination", verify.StatusValid, true},
		{"vaccination-aztec.png", "vaccination", verify.StatusValid, true},
		{"test.hc1", "test", verify.StatusValid, false},
		{"recovery.hc1", "recovery", verify.StatusRevoked, false},
	} {
		r := v.VerifyFile(filepath.Join(dccDir, c.file), dccAt)
		if r.Status != c.status || r.Format != verify.FormatDCC || r.CertificateType != c.typ || r.FromImage != c.image || !r.Revocation.Known {
			t.Errorf("%s: %s %s %s image %v known %v (%s)", c.file, r.Format, r.CertificateType, r.Status, r.FromImage, r.Revocation.Known, r.Detail)
			continue
		}
		if cert := r.Certificate; !strings.HasPrefix(cert.ID, "URN:UVCI:01:XA:") || cert.Issuer != "XA" || cert.KeyID != "V6jo4Ya37I4=" || cert.Disease != "COVID-19" {
			t.Errorf("%s: certificate %+v", c.file, cert)
		}
	}
	r := v.VerifyFile(filepath.Join(dccDir, "vaccination.hc1"), dccAt)
	if c := r.Certificate; c.Vaccine != "Comirnaty" || c.Manufacturer != "Biontech Manufacturing GmbH" || c.Dose != 2 || c.VaccinationDate != "2026-02-26" {
		t.Errorf("vaccination display: %+v", c)
	}
	if r := v.VerifyFile(filepath.Join(dccDir, "recovery.hc1"), dccAt); r.Revocation.MatchedID != "URN:UVCI:01:XA:EXAMPLE0000000000000003#S" || r.Revocation.CRLIssuer != "XA" {
		t.Errorf("recovery revocation: %+v", r.Revocation)
	}
	for _, c := range []struct {
		at     time.Time
		status verify.Status
	}{
		{time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), verify.StatusNotYetValid},
		{time.Date(2027, 3, 2, 9, 30, 0, 0, time.UTC), verify.StatusExpired},
	} {
		if r := v.VerifyFile(filepath.Join(dccDir, "test.hc1"), c.at); r.Status != c.status {
			t.Errorf("at %s: %s (%s)", c.at, r.Status, r.Detail)
		}
	}
	// Nobody trusted: UNKNOWN_ISSUER; a payload changed in transit:
	// MALFORMED or BAD_SIGNATURE, never VALID.
	if r := verify.New(trust.New(), st, nil).VerifyFile(filepath.Join(dccDir, "test.hc1"), dccAt); r.Status != verify.StatusUnknownIssuer {
		t.Errorf("no signer trusted: %s (%s)", r.Status, r.Detail)
	}
	payload, _ := os.ReadFile(filepath.Join(dccDir, "test.hc1"))
	for i := 10; i < len(payload)-2; i += 37 {
		bad := bytes.Clone(payload)
		bad[i] = map[bool]byte{true: 'A', false: 'B'}[bad[i] != 'A']
		if r := v.VerifyPayload(bad, dccAt); r.Status == verify.StatusValid {
			t.Fatalf("payload changed at %d: VALID", i)
		}
	}
}

// TestDCCPolicy: the issuing country's max_age and crl_issuer.
func TestDCCPolicy(t *testing.T) {
	ts := formatTrust(t)
	if err := ts.SetDCCIssuer("XA", "Example Health Authority", trust.IssuerPolicy{MaxAge: trust.Duration(30 * 24 * time.Hour), CRLIssuer: "xa-health"}); err != nil {
		t.Fatal(err)
	}
	st := openStore(t)
	list, keys := publishList(t, "xa-health", "xa-health", dccAt.Add(-time.Hour), "URN:UVCI:01:XA:EXAMPLE0000000000000002#R")
	if _, err := st.ApplySnapshot(bytes.NewReader(list), keys, dccAt, nil); err != nil {
		t.Fatal(err)
	}
	v := verify.New(ts, st, nil)
	if r := v.VerifyFile(filepath.Join(dccDir, "test.hc1"), dccAt); r.Status != verify.StatusRevoked || r.Revocation.CRLIssuer != "xa-health" || r.Certificate.IssuerName != "Example Health Authority" {
		t.Errorf("revocations under the policy's issuer: %s %+v", r.Status, r.Revocation)
	}
	if r := v.VerifyFile(filepath.Join(dccDir, "vaccination.hc1"), dccAt); r.Status != verify.StatusExpired || !strings.Contains(r.Detail, "the issuer's policy limits certificates to 30d") {
		t.Errorf("max age: %s (%s)", r.Status, r.Detail)
	}
}

// A fourth format plugs into the verdict through Options.Formats: the
// verdict's order and revocation lookups apply to it unchanged.
func TestFourthFormat(t *testing.T) {
	st := openStore(t)
	list, keys := publishList(t, "toy", "toy-issuer", dccAt.Add(-time.Hour), "toy-2")
	if _, err := st.ApplySnapshot(bytes.NewReader(list), keys, dccAt, nil); err != nil {
		t.Fatal(err)
	}
	v := verify.New(nil, st, &verify.Options{Formats: []verify.Format{toyFormat{}}})
	for payload, want := range map[string]verify.Status{
		"TOY:1": verify.StatusValid, "TOY:2": verify.StatusRevoked, "TOY:3": verify.StatusExpired,
		"TOY:x": verify.StatusMalformed, "TOY:4": verify.StatusUnknownIssuer, "HC1:ABC": verify.StatusMalformed,
	} {
		r := v.VerifyPayload([]byte(payload), dccAt)
		if r.Status != want {
			t.Errorf("%s: %s (%s), want %s", payload, r.Status, r.Detail, want)
		}
		if want == verify.StatusValid && (!r.OK() || r.Format != "toy" || r.Certificate.ID != "toy-1") {
			t.Errorf("%s: %+v", payload, r)
		}
	}
}

type toyFormat struct{}

func (toyFormat) Name() string         { return "toy" }
func (toyFormat) Detect(b []byte) bool { return bytes.HasPrefix(b, []byte("TOY:")) }
func (toyFormat) Read(b []byte, _ bool) ([]verify.Document, error) {
	id := string(b[4:])
	if id < "1" || id > "9" {
		return nil, errors.New("not a toy number")
	}
	return []verify.Document{toyDoc(id)}, nil
}

type toyDoc string

func (d toyDoc) Describe() verify.Description {
	return verify.Description{Certificate: &verify.Certificate{ID: "toy-" + string(d)}}
}

func (d toyDoc) Verify(*trust.Store, time.Time) (*verify.Checks, error) {
	if d == "4" {
		return nil, verify.Reject(verify.StatusUnknownIssuer, errors.New("no such toy maker"))
	}
	return &verify.Checks{
		CRLIssuer: "toy-issuer", IDs: []string{"toy-" + string(d)},
		Validity: func(time.Time, time.Duration) (verify.Status, string) {
			if d == "3" {
				return verify.StatusExpired, "toys expire"
			}
			return "", ""
		},
	}, nil
}
