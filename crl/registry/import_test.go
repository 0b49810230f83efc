package registry

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl"
)

func TestImportCertificates(t *testing.T) {
	r, _ := openTest(t)
	in := "\xef\xbb\xbf" + certsCSV(
		"C-1,did:in:moh,B1,1,LOT-A,2021-03-01T10:00:00Z",
		`"C,2",did:in:moh,B1,2,LOT-A,1622505600,2031-06-01`,
		"C-3,did:in:state,B9,1,,2021-04-01",
		"C-1,did:in:moh,B1,1,LOT-A,2021-03-01T10:00:00Z", // a duplicate
	)
	var progress []ImportProgress
	res, err := r.ImportCertificates(ctx, strings.NewReader(in), &ImportOptions{Source: "t.csv", Progress: func(p ImportProgress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 4 || res.Imported != 3 || res.Duplicates != 1 || len(res.DuplicateRows) != 1 ||
		res.DuplicateRows[0] != (Duplicate{Line: 5, FirstLine: 2, CertificateID: "C-1"}) || res.AuditSeq == 0 {
		t.Fatalf("result %+v", res)
	}
	if last := progress[len(progress)-1]; last.Rows != 4 || last.Phase != "writing" || last.Written != 3 {
		t.Errorf("progress %+v", progress)
	}
	cs, err := r.Certificates(Selector{BeneficiaryID: "B1"})
	if err != nil || len(cs) != 2 {
		t.Fatalf("by beneficiary: %+v %v", cs, err)
	}
	slices.SortFunc(cs, func(a, b Certificate) int { return a.Dose - b.Dose })
	want := Certificate{Issuer: "did:in:moh", CertificateID: "C,2", Imported: true, BeneficiaryID: "B1", Dose: 2, Batch: "LOT-A",
		IssuedAt: time.Unix(1622505600, 0).UTC(), ValidUntil: time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC), CertState: CertState{State: StateValid}}
	if cs[1] != want {
		t.Errorf("got  %+v\nwant %+v", cs[1], want)
	}
	if cs, err := r.Certificates(Selector{Batch: "LOT-A"}); err != nil || len(cs) != 2 {
		t.Errorf("by batch: %+v %v", cs, err)
	}
	if is, _ := r.Issuers(); !slices.Equal(is, []string{"did:in:moh", "did:in:state"}) {
		t.Errorf("issuers %v", is)
	}
	// The same input again changes nothing.
	head, _, _ := r.AuditHead()
	res, err = r.ImportCertificates(ctx, strings.NewReader(in), nil)
	if err != nil || res.Imported != 0 || res.Unchanged != 3 || res.Duplicates != 1 || res.AuditSeq != 0 {
		t.Fatalf("re-import: %+v %v", res, err)
	}
	if h, _, _ := r.AuditHead(); h != head {
		t.Errorf("re-import appended audit records")
	}
	if s, _ := r.Stats(); s.Certificates != 3 || s.Runs != 1 {
		t.Errorf("stats %+v", s)
	}
	mustVerify(t, r)
}

func TestImportCertificatesJSONLines(t *testing.T) {
	r, _ := openTest(t)
	r.AddIssuers("did:in:moh")
	in := `{"certificate_id":"J-1","beneficiary_id":"B1","dose":1,"batch":"L1","issued_at":"2021-01-01"}

  {"certificate_id":"J-2","issuer":"did:in:moh","beneficiary_id":"B1","dose":"2","batch":null,"issued_at":1625097600,"valid_until":null}
`
	res, err := r.ImportCertificates(ctx, strings.NewReader(in), nil)
	if err != nil || res.Imported != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	if st := stateOf(t, r, "J-2"); !st.Imported || st.Issuer != "did:in:moh" {
		t.Errorf("%+v", st)
	}
}

func TestImportCertificatesBadRows(t *testing.T) {
	base := certsCSV("OLD-1,moh,B1,1,L,2021-01-01", "OLD-2,other,B1,1,L,2021-01-01")
	for _, c := range []struct {
		name, in string
		want     []string // substrings of the error, in order
	}{
		{"bad dose", certsCSV("C1,moh,B1,1,L,2021-01-01", "C2,moh,B1,x,L,2021-01-01"), []string{"line 3: registry: invalid request: dose \"x\""}},
		{"two bad rows", certsCSV("C1,moh,B1,1,L,yesterday", "C2,moh,B1,1,L,2021-01-01", "C3,moh,,1,L,2021-01-01"),
			[]string{"2 bad rows", "line 2:", "issued_at: bad time \"yesterday\"", "line 4:", "empty beneficiary_id"}},
		{"conflicting duplicate", certsCSV("C1,moh,B1,1,L,2021-01-01", "C1,moh,B2,1,L,2021-01-01"), []string{"line 3:", "given again with other fields (first on line 2)"}},
		{"conflict with registry", certsCSV("OLD-1,moh,B1,2,L,2021-01-01"), []string{"line 2:", "imported before with other fields"}},
		{"corrected twice", certsCSV("N1,moh,B1,1,L,2022-01-01,,OLD-1", "N2,moh,B1,1,L,2022-01-01,,OLD-1"), []string{"line 3:", "corrected twice (also on line 2)"}},
		{"valid until before issue", certsCSV("C1,moh,B1,1,L,2021-01-01,2020-01-01"), []string{"line 2:", "not after issued_at"}},
		{"self correction", certsCSV("C1,moh,B1,1,L,2021-01-01,,C1"), []string{"line 2:", "cannot correct itself"}},
		{"field count", "certificate_id,beneficiary_id,dose,issued_at\nC1,B,1,2021-01-01\nC2,B,1\n", []string{"line 3: wrong number of fields"}},
		{"unknown column", "certificate_id,beneficiary_id,dose,issued_at,colour\n", []string{"line 1: unknown column \"colour\""}},
		{"missing column", "certificate_id,dose,issued_at\nC1,1,2021-01-01\n", []string{"line 1: header has no \"beneficiary_id\" column"}},
		{"no issuer", "certificate_id,issuer,beneficiary_id,dose,issued_at\nC1,other,B,1,2021-01-01\nC2,,B,1,2021-01-01\n", []string{"line 3:", "issuer required"}},
		{"json unknown field", `{"certificate_id":"1","issuer":"moh","beneficiary_id":"B","dose":1,"issued_at":"2021-01-01","colour":"red"}` + "\n", []string{"line 1: bad JSON: unknown field \"colour\""}},
		{"json missing", `{"certificate_id":"1","issuer":"moh","dose":1,"issued_at":"2021-01-01"}` + "\n", []string{"line 1: no \"beneficiary_id\""}},
		{"long line", certsCSV("C1,moh,B1,1,L,2021-01-01") + strings.Repeat("x", MaxLineBytes+1) + "\n", []string{"line 3: line longer than"}},
		{"empty", "", []string{"line 1: empty input"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := openTest(t)
			mustImportCerts(t, r, base)
			head, _, _ := r.AuditHead()
			before, _ := r.Stats()
			_, err := r.ImportCertificates(ctx, strings.NewReader(c.in), nil)
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *ImportError", err)
			}
			msg, at := err.Error(), 0
			for _, w := range c.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error %q lacks %q", msg, w)
				}
				at += i
			}
			after, _ := r.Stats()
			if h, _, _ := r.AuditHead(); h != head || after.Certificates != before.Certificates || after.Runs != before.Runs || after.Revoked != 0 {
				t.Errorf("a refused import changed the registry: %+v -> %+v", before, after)
			}
			mustVerify(t, r)
		})
	}
}

func TestImportCorrections(t *testing.T) {
	r, c := mohRegistry(t)
	c.t = t0.Add(time.Hour)
	res := mustImportCerts(t, r, certsCSV(
		"C1-2b,did:in:moh,B1,2,LOT-A,2026-11-01,,C1-2", // corrects C1-2
		"C9-1,did:in:moh,B9,1,LOT-C,2026-11-02,,NEVER", // corrects an id never imported
	))
	if res.Imported != 2 || res.Corrected != 2 {
		t.Fatalf("%+v", res)
	}
	st := stateOf(t, r, "C1-2")
	if st.State != StateRevoked || st.Reason != crl.ReasonSuperseded || st.SupersededBy != "C1-2b" ||
		!st.RevokedAt.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("superseded: %+v", st)
	}
	if st := stateOf(t, r, "NEVER"); st.State != StateRevoked || st.Imported {
		t.Errorf("an unknown corrected id: %+v", st)
	}
	// The new certificate stands; beneficiary B1 now has two dose-2
	// certificates, and revoking dose 2 takes both (one already so).
	out, err := r.Revoke(ctx, Request{Selector: Selector{BeneficiaryID: "B1", Doses: []int{2, 3}}, Actor: "tester"})
	if err != nil || out.Matched != 3 || out.Changed != 2 {
		t.Fatalf("%+v %v", out, err)
	}
	// Re-importing the correction changes nothing.
	if res := mustImportCerts(t, r, certsCSV("C1-2b,did:in:moh,B1,2,LOT-A,2026-11-01,,C1-2")); res.Imported != 0 || res.Unchanged != 1 || res.Corrected != 0 {
		t.Errorf("re-import %+v", res)
	}
	// Audit: an import record, then a revoke record of the corrections.
	var actions []string
	r.AuditList(AuditFilter{CertificateID: "C1-2"}, func(a *AuditRecord) error {
		actions = append(actions, fmt.Sprintf("%s/%s/%d", a.Action, a.Reason, a.ItemCount))
		return nil
	})
	if want := []string{"import/unspecified/6", "revoke/superseded/2"}; !slices.Equal(actions, want) {
		t.Errorf("audit of C1-2: %v, want %v", actions, want)
	}
	mustVerify(t, r)
}

// Several imports make several runs, merged as they grow; lookups find
// every certificate wherever it is.
func TestImportRunsMerge(t *testing.T) {
	r, _ := openTest(t)
	var steps int
	r.stepHook = func(s string) {
		if s == "merge" {
			steps++
		}
	}
	total, lot3 := 0, 0
	for i, n := range []int{2000, 300, 300, 5000, 10, 10, 10} {
		var rows []string
		for j := range n {
			rows = append(rows, fmt.Sprintf("I%d-%d,moh,B%d,%d,LOT-%d,2021-01-01", i, j, j, 1+i%3, j%7))
			if j%7 == 3 {
				lot3++
			}
		}
		res := mustImportCerts(t, r, certsCSV(rows...))
		if res.Imported != int64(n) {
			t.Fatalf("import %d: %+v", i, res)
		}
		total += n
	}
	s, _ := r.Stats()
	if s.Certificates != uint64(total) || s.Runs > 3 || steps == 0 {
		t.Fatalf("stats %+v after %d merge steps", s, steps)
	}
	cs, err := r.Certificates(Selector{BeneficiaryID: "B5"})
	if err != nil || len(cs) != 7 {
		t.Fatalf("B5: %d certificates, %v", len(cs), err)
	}
	cs, err = r.Certificates(Selector{Batch: "LOT-3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != lot3 {
		t.Errorf("LOT-3: %d certificates, want %d", len(cs), lot3)
	}
	mustVerify(t, r)
}

func TestImportRevocations(t *testing.T) {
	r, _ := openTest(t)
	in := "\xef\xbb\xbfid,issuer,reason,revoked_at,suspended_until\r\n" +
		"100,moh,dataError,2026-01-02T03:04:05Z,\r\n" +
		"\"1,01\",moh,12,1767225600,\r\n" +
		"102,other,certificateHold,2026-03-01,2027-04-01\r\n" +
		"100,moh,superseded,2026-01-05T00:00:00+02:00,\r\n" // last wins
	res, err := r.ImportRevocations(ctx, strings.NewReader(in), &ImportOptions{Source: "t.csv"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 4 || res.Changed != 3 || res.Replaced != 1 || res.AuditSeq == 0 {
		t.Errorf("result %+v", res)
	}
	if st, _ := r.Status("moh", "100", time.Time{}); st.Reason != crl.ReasonSuperseded || !st.RevokedAt.Equal(time.Date(2026, 1, 4, 22, 0, 0, 0, time.UTC)) {
		t.Errorf("100: %+v", st)
	}
	if st, _ := r.Status("other", "102", time.Time{}); st.State != StateSuspended {
		t.Errorf("102: %+v", st)
	}
	// Importing the same input again changes nothing.
	res, err = r.ImportRevocations(ctx, strings.NewReader(in), nil)
	if err != nil || res.Changed != 0 || res.Unchanged != 3 {
		t.Errorf("re-import: %+v %v", res, err)
	}
	// JSON lines, from the demo form.
	jl := `{"id":"8000000000042","issuer":"moh","reason":"certificateHold","revoked_at":"2026-05-10T12:00:00Z","suspended_until":"2026-09-01T00:00:00Z"}
{"certificate_id":"7100000000017","issuer":"moh","reason":"tampering","revoked_at":1779062400}
`
	if res, err := r.ImportRevocations(ctx, strings.NewReader(jl), nil); err != nil || res.Changed != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	mustVerify(t, r)
}

func TestImportRevocationsBadRows(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     []string
	}{
		{"bad reason", "id,issuer,reason\n1,moh,tampering\n2,moh,bogus\n3,moh,\n", []string{"line 3: unknown revocation reason \"bogus\""}},
		{"not a reason", "id,issuer,reason\n1,moh,7\n", []string{"line 2: unknown revocation reason \"7\""}},
		{"two bad rows", "id,issuer,revoked_at\n1,moh,yesterday\n2,moh,2026-01-01\n3,,2026-13-01\n",
			[]string{"2 bad rows", "line 2: revoked_at: bad time \"yesterday\"", "line 4: revoked_at: bad time"}},
		{"suspension before revocation", "id,issuer,revoked_at,suspended_until\n1,moh,2026-02-01,2026-01-01\n", []string{"line 2:", "is not after revoked-at"}},
		{"suspend a revoked", "id,issuer,suspended_until\nR-1,moh,2030-01-01\n", []string{"line 2:", "rule revoked-not-suspendable"}},
		{"spaces in id", "id,issuer\n 1,moh\n", []string{"line 2:", "leading or trailing white space"}},
		{"year one", "id,issuer,revoked_at\n1,moh,0001-01-01T00:00:00Z\n", []string{"line 2:", "out of range"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := openTest(t)
			r.Revoke(ctx, Request{Selector: Selector{Issuer: "moh", CertificateID: "R-1"}, Actor: "x"})
			before, _ := r.Stats()
			_, err := r.ImportRevocations(ctx, strings.NewReader(c.in), nil)
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *ImportError", err)
			}
			msg, at := err.Error(), 0
			for _, w := range c.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error %q lacks %q", msg, w)
				}
				at += i
			}
			after, _ := r.Stats()
			after.FileBytes = before.FileBytes
			if after != before {
				t.Errorf("a refused import changed the registry: %+v -> %+v", before, after)
			}
		})
	}
}

func TestImportErrorCap(t *testing.T) {
	r, _ := openTest(t)
	var b strings.Builder
	b.WriteString("id,issuer,reason\n")
	for i := range 50 {
		fmt.Fprintf(&b, "%d,moh,nope\n", i)
	}
	_, err := r.ImportRevocations(ctx, strings.NewReader(b.String()), &ImportOptions{MaxErrors: 5})
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Rows) != 5 || !ie.Truncated {
		t.Fatalf("err = %v", err)
	}
	if ie.Rows[4].Line != 6 {
		t.Errorf("fifth bad row at line %d, want 6", ie.Rows[4].Line)
	}
}

func TestParseTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"1767225600":                     time.Unix(1767225600, 0).UTC(),
		"2026-01-01":                     time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		"2026-01-01T10:00:00.9+01:00":    time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC),
		"2026-11-22T09:00:00Z":           t0,
		"2026-11-22T09:00:00.000000001Z": t0,
	} {
		got, err := ParseTime(in)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("ParseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "0", "99999999999999999999", "2026-13-01", "2026-02-30T00:00:00Z", "tomorrow", "2026-01-01 10:00", "0001-01-01T00:00:00Z", "1969-12-31"} {
		if _, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) accepted", in)
		}
	}
}

// A file name holding terminal escapes is kept printable in the audit
// trail.
func TestImportSourceSanitized(t *testing.T) {
	r, _ := openTest(t)
	res, err := r.ImportCertificates(ctx, strings.NewReader(certsCSV("C-1,moh,B,1,L,2021-01-01")), &ImportOptions{Source: "evil\x1b[2J\x07.csv"})
	if err != nil {
		t.Fatal(err)
	}
	r.AuditList(AuditFilter{Action: ActionImport}, func(a *AuditRecord) error {
		if a.Seq == res.AuditSeq && a.Source != "evil?[2J?.csv" {
			t.Errorf("source %q", a.Source)
		}
		return nil
	})
}
