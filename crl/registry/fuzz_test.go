package registry

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

// FuzzImportRows feeds arbitrary input to the CSV and JSON lines readers:
// they must never panic, must number lines from 1 upwards, and every row
// they accept must have an id and valid times.
func FuzzImportRows(f *testing.F) {
	for _, name := range []string{"../../testdata/demo/revocations.csv", "../../testdata/demo/revocations.jsonl"} {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("id,issuer,reason,revoked_at,suspended_until\n1,moh,certificateHold,2026-01-01,2026-02-01\n\"2,x\",moh,12,1767225600,\n"))
	f.Add([]byte(`{"id":"1","reason":4,"revoked_at":"2026-01-01T00:00:00Z","suspended_until":null}` + "\n\n" + `{"id":"2"}`))
	f.Add([]byte("\xef\xbb\xbf id\n\"unterminated\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		next, err := rowSource(bytes.NewReader(in), FormatAuto)
		if err != nil {
			var ie *ImportError
			if !errors.As(err, &ie) {
				t.Fatalf("header error of the wrong type: %v", err)
			}
			return
		}
		last := 0
		for range 10_000 {
			rv, line, err := next()
			if err == errEndOfRows {
				return
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
			if line <= last || rv.ID == "" {
				t.Fatalf("row at line %d after %d, id %q", line, last, rv.ID)
			}
			last = line
			if !rv.SuspendedUntil.IsZero() && rv.SuspendedUntil.Location() != time.UTC {
				t.Fatalf("time not in UTC: %v", rv.SuspendedUntil)
			}
		}
	})
}

// FuzzParseTime: no panics; accepted times are whole seconds in UTC within
// the registry's range, and print back to something ParseTime accepts.
func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"2026-11-22T09:00:00Z", "2026-01-01", "1767225600", "2026-01-01T10:00:00.5+05:30", "0", "-1", "9999-12-31T23:59:59Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tm, err := ParseTime(s)
		if err != nil {
			return
		}
		if tm.Location() != time.UTC || tm.Nanosecond() != 0 {
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
