package registry

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"
	"time"
)

// fuzzSeeds are real inputs: the demo's revocation and certificate files
// and rows of every form the importers accept.
func fuzzSeeds(f *testing.F) {
	for _, name := range []string{"../../testdata/demo/revocations.csv", "../../testdata/demo/revocations.jsonl", "testdata/demo/certificates.csv"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	var b bytes.Buffer
	writeBenchCerts(&b, 50)
	f.Add(b.Bytes())
	f.Add([]byte("id,issuer,reason,revoked_at,suspended_until\n1,moh,certificateHold,2026-01-01,2026-02-01\n\"2,x\",moh,12,1767225600,\n"))
	f.Add([]byte(`{"id":"1","reason":4,"revoked_at":"2026-01-01T00:00:00Z","suspended_until":null}` + "\n\n" + `{"id":"2"}`))
	f.Add([]byte("\xef\xbb\xbf id\n\"unterminated\n"))
	f.Add([]byte(certsCSV(`"C,1",moh,"B ""x""",1,"LOT
A",2021-01-01`, "C2,moh,B2,2,,2021-06-01T10:00:00Z,2031-01-01,C1")))
	f.Add([]byte(`{"certificate_id":"J-1","issuer":"moh","beneficiary_id":"B1","dose":1,"batch":"L1","issued_at":"2021-01-01","previous_certificate_id":null}` + "\n"))
}

// FuzzImportRows feeds arbitrary input to the CSV and JSON lines readers
// of both schemas: they never panic, number lines from 1 upwards, stop
// (bounded work), and every row they accept that the checks pass has
// fields within their bounds.
func FuzzImportRows(f *testing.F) {
	fuzzSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		for _, sc := range []*schema{certSchema, revSchema} {
			rr, err := newRowReader(bytes.NewReader(in), FormatAuto, sc)
			if err != nil {
				var ie *ImportError
				if !errors.As(err, &ie) || len(ie.Rows) == 0 || ie.Rows[0].Line < 1 {
					t.Fatalf("header error of the wrong form: %v", err)
				}
				continue
			}
			last := 0
			for n := 0; ; n++ {
				if n > len(in)+1 {
					t.Fatalf("%d rows from %d bytes", n, len(in))
				}
				row, err := rr.next()
				if err == io.EOF {
					break
				}
				var re *RowError
				if errors.As(err, &re) {
					if re.Line < 1 {
						t.Fatalf("row error at line %d", re.Line)
					}
					continue
				}
				if err != nil {
					t.Fatalf("reading from memory failed: %v", err)
				}
				if row.line <= last || len(row.fields) != len(sc.cols) {
					t.Fatalf("row at line %d after %d, %d fields", row.line, last, len(row.fields))
				}
				last = row.line
				if sc == certSchema {
					c, issuer, err := parseCertRow(row.fields, "default")
					if err != nil {
						continue
					}
					if issuer == "" || c.ID == "" || c.Beneficiary == "" || c.Dose < 1 || c.Dose > MaxDose || len(c.ID) > MaxIDBytes ||
						c.IssuedAt <= 0 || (c.ValidUntil != 0 && c.ValidUntil <= c.IssuedAt) || c.Previous == c.ID {
						t.Fatalf("accepted row %+v", c)
					}
				}
			}
		}
	})
}

// FuzzImportCertificates imports arbitrary input into a real registry: an
// import either commits whole (the audit trail verifying) or leaves the
// registry as it was.
func FuzzImportCertificates(f *testing.F) {
	fuzzSeeds(f)
	r, _ := openTest(f) // one registry per process, growing with every input
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 64<<10 {
			return
		}
		before, _ := r.Stats()
		res, err := r.ImportCertificates(ctx, bytes.NewReader(in), &ImportOptions{Issuer: "moh"})
		after, _ := r.Stats()
		if err != nil {
			after.FileBytes = before.FileBytes
			if after != before {
				t.Fatalf("a refused import (%v) changed the registry: %+v -> %+v", err, before, after)
			}
			return
		}
		if after.Certificates != before.Certificates+uint64(res.Imported) {
			t.Fatalf("%+v, registry %+v -> %+v", res, before, after)
		}
		if res.Imported > 0 {
			mustVerify(t, r)
		}
	})
}

// FuzzParseTime: no panics; accepted times are whole seconds in UTC within
// the registry's range, and print back to something ParseTime accepts.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-22T09:00:00Z", "2026-01-01", "1767225600", "2026-01-01T10:00:00.5+05:30", "0", "-1", "9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-02-30T00:00:00Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil {
			return
		}
		if tm.Location() != time.UTC || tm.Nanosecond() != 0 || tm.Unix() <= 0 || tm.Unix() > MaxTime {
			t.Fatalf("ParseTime(%q) = %v", s, tm)
		}
		again, err := ParseTime(tm.Format(time.RFC3339))
		if err != nil || !again.Equal(tm) {
			t.Fatalf("ParseTime(%q) = %v does not round-trip: %v %v", s, tm, again, err)
		}
		if strings.Trim(s, "0123456789") == "" && (tm.Unix() <= 0 || tm.Unix() > MaxTime) {
			t.Fatalf("unix time %q accepted out of range", s)
		}
	})
}
