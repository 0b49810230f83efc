package registry

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl"
)

func TestImportCSV(t *testing.T) {
	r, _ := openTest(t)
	in := "\xef\xbb\xbfid,issuer,reason,revoked_at,suspended_until\r\n" +
		"100,moh,dataError,2026-01-02T03:04:05Z,\r\n" +
		"\"1,01\",moh,12,1767225600,\r\n" +
		"102,other,certificateHold,2026-03-01,2026-04-01\r\n" +
		"100,moh,superseded,2026-01-05T00:00:00+02:00,\r\n" // last wins
	var progress []ImportProgress
	res, err := r.Import(strings.NewReader(in), &ImportOptions{Source: "t.csv", Progress: func(p ImportProgress) { progress = append(progress, p) }})
	if err != nil {
		t.Fatal(err)
	}
	if res != (ImportResult{Rows: 4, Changed: 4}) {
		t.Errorf("result %+v", res)
	}
	if len(progress) == 0 || progress[len(progress)-1].Rows != 4 || progress[len(progress)-1].Bytes != int64(len(in)) {
		t.Errorf("progress %+v", progress)
	}
	want := map[[2]string]Revocation{
		{"moh", "100"}:   {Issuer: "moh", ID: "100", Reason: crl.ReasonSuperseded, RevokedAt: time.Date(2026, 1, 4, 22, 0, 0, 0, time.UTC)},
		{"moh", "1,01"}:  {Issuer: "moh", ID: "1,01", Reason: crl.ReasonTampering, RevokedAt: time.Unix(1767225600, 0).UTC()},
		{"other", "102"}: {Issuer: "other", ID: "102", Reason: crl.ReasonCertificateHold, RevokedAt: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), SuspendedUntil: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)},
	}
	n := 0
	r.Revocations(func(rv Revocation) error {
		n++
		if w := want[[2]string{rv.Issuer, rv.ID}]; w != rv {
			t.Errorf("got %+v, want %+v", rv, w)
		}
		return nil
	})
	if n != len(want) {
		t.Errorf("%d revocations, want %d", n, len(want))
	}
	// Importing the same input again changes nothing.
	res, err = r.Import(strings.NewReader(in), nil)
	// Row 1 differs from the stored (row 4) value, then row 4 sets it back.
	if err != nil || res.Changed != 2 || res.Unchanged != 2 {
		t.Errorf("re-import: %+v %v", res, err)
	}
}

func TestImportJSONLines(t *testing.T) {
	r, _ := openTest(t)
	r.AddIssuers("moh")
	in := `{"id":"1","reason":"tampering","revoked_at":1767225600}

  {"id":"2","issuer":"moh","reason":4,"revoked_at":"2026-01-01T00:00:00Z","suspended_until":null}
{"id":"3","reason":"certificateHold","revoked_at":"2026-01-01","suspended_until":"2026-02-01"}
`
	res, err := r.Import(strings.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rows != 3 || res.Changed != 3 {
		t.Errorf("result %+v", res)
	}
	rv, ok, _ := r.Lookup("moh", "3")
	if !ok || rv.SuspendedUntil.IsZero() {
		t.Errorf("row 3: %+v %v", rv, ok)
	}
}

func TestImportBadRowsApplyNothing(t *testing.T) {
	for _, c := range []struct {
		name, in string
		want     []string // substrings of the error, in order
	}{
		{"bad reason", "id,issuer,reason\n1,moh,tampering\n2,moh,bogus\n3,moh,\n", []string{"line 3: unknown revocation reason \"bogus\""}},
		{"two bad rows", "id,issuer,revoked_at\n1,moh,yesterday\n2,moh,2026-01-01\n3,,2026-01-01\n",
			[]string{"2 bad rows", "line 2: revoked_at: bad time \"yesterday\"", "line 4: registry: issuer required"}},
		{"field count", "id,issuer\n1,moh\n2,moh,extra\n", []string{"line 3: wrong number of fields"}},
		{"bad quote", "id,issuer\n1,moh\n\"2,moh\n", []string{"line 3:"}},
		{"suspension before revocation", "id,issuer,revoked_at,suspended_until\n1,moh,2026-02-01,2026-01-01\n", []string{"line 2:", "is not after revoked-at"}},
		{"spaces in id", "id,issuer\n 1,moh\n", []string{"line 2:", "leading or trailing white space"}},
		{"unknown column", "id,issuer,colour\n1,moh,red\n", []string{"line 1: unknown column \"colour\""}},
		{"no id column", "issuer,reason\nmoh,1\n", []string{"line 1:", "no \"id\" column"}},
		{"empty", "", []string{"line 1: empty input"}},
		{"long line", "id,issuer\n1,moh\n" + strings.Repeat("x", MaxLineBytes+1) + ",moh\n", []string{"line 3: line longer than"}},
		{"json unknown field", `{"id":"1","issuer":"moh"}` + "\n" + `{"id":"2","issuer":"moh","colour":"red"}` + "\n", []string{"line 2: bad JSON", "colour"}},
		{"json no id", `{"issuer":"moh"}` + "\n", []string{"line 1: no \"id\""}},
		{"json bad time", `{"id":"1","issuer":"moh","revoked_at":-5}` + "\n", []string{"line 1: revoked_at: want a string or an integer"}},
		{"json long line", `{"id":"1","issuer":"moh"}` + "\n" + `{"id":"` + strings.Repeat("x", MaxLineBytes) + `"}`, []string{"line 2: line longer than"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r, _ := openTest(t)
			_, err := r.Import(strings.NewReader(c.in), nil)
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *ImportError", err)
			}
			msg := err.Error()
			at := 0
			for _, w := range c.want {
				i := strings.Index(msg[at:], w)
				if i < 0 {
					t.Fatalf("error %q lacks %q", msg, w)
				}
				at += i
			}
			if n := len(entries(t, r)); n != 0 {
				t.Errorf("%d entries applied from a refused import", n)
			}
			if is, _ := r.Issuers(); len(is) != 0 {
				t.Errorf("issuers %v added by a refused import", is)
			}
			var audit int
			r.Audit(0, func(AuditRecord) error { audit++; return nil })
			if audit != 0 {
				t.Errorf("%d audit records from a refused import", audit)
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
	_, err := r.Import(strings.NewReader(b.String()), &ImportOptions{MaxErrors: 5})
	var ie *ImportError
	if !errors.As(err, &ie) || len(ie.Rows) != 5 || !ie.Truncated {
		t.Fatalf("err = %v", err)
	}
	if ie.Rows[4].Line != 6 {
		t.Errorf("fifth bad row at line %d, want 6", ie.Rows[4].Line)
	}
}

func TestRevokeBatch(t *testing.T) {
	r, _ := openTest(t)
	_, err := r.RevokeBatch([]Revocation{{Issuer: "moh", ID: "1"}, {Issuer: "moh", ID: ""}})
	var ie *ImportError
	if !errors.As(err, &ie) || ie.Rows[0].Line != 2 || !errors.Is(err, ErrInvalid) {
		t.Fatalf("err = %v", err)
	}
	if len(entries(t, r)) != 0 {
		t.Fatal("half a batch applied")
	}
	res, err := r.RevokeBatch([]Revocation{{Issuer: "moh", ID: "1"}, {Issuer: "moh", ID: "2"}, {Issuer: "moh", ID: "1", Reason: crl.ReasonSuperseded}})
	if err != nil || res.Rows != 3 {
		t.Fatalf("%+v %v", res, err)
	}
	if rv, _, _ := r.Lookup("moh", "1"); rv.Reason != crl.ReasonSuperseded {
		t.Errorf("last row did not win: %+v", rv)
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
	for _, in := range []string{"", "0", "99999999999999999999", "2026-13-01", "tomorrow", "2026-01-01 10:00"} {
		if _, err := ParseTime(in); err == nil {
			t.Errorf("ParseTime(%q) accepted", in)
		}
	}
}
