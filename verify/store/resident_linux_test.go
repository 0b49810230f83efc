//go:build linux

package store

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
)

// mappedKB returns the resident size of the store file's mapping, from
// /proc/self/smaps.
func mappedKB(t *testing.T, s *Store) int64 {
	t.Helper()
	var addr uintptr
	db := testDB(s)
	if err := db.View(func(*bolt.Tx) error { addr = db.Info().Data; return nil }); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skipf("no /proc/self/smaps: %v", err)
	}
	defer f.Close()
	prefix := fmt.Sprintf("%x-", addr)
	in := false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, prefix) {
			in = true
			continue
		}
		if in && strings.HasPrefix(line, "Rss:") {
			kb, err := strconv.ParseInt(strings.Fields(line)[1], 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb
		}
	}
	t.Fatalf("mapping at %#x not found", addr)
	return 0
}

// TestResidentLimit: a store larger than its resident limit does not keep
// the file mapped after reading all of it, and checks keep answering;
// without a limit the file stays mapped.
func TestResidentLimit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "store.db")
	p := newTestPub(t, "ministry", issuer)
	const n = 100_000
	for i := range n {
		p.revoke(issuer, certID(i), t0, 0, time.Time{})
	}
	s := mustOpen(t, path, nil)
	apply(t, s, p.publish(t0).Full, p.keys, t0)
	s.Close()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	size := fi.Size()

	for _, c := range []struct {
		limit int64
		maxKB int64 // mapped after a full read
	}{
		{limit: -1},
		{limit: size / 4, maxKB: size / 4 >> 10},
	} {
		t.Run(fmt.Sprintf("limit=%d", c.limit), func(t *testing.T) {
			s := mustOpen(t, path, &Options{ReadOnly: true, ResidentLimit: c.limit})
			defer s.Close()
			count := 0
			if err := s.Entries("ministry", func(e crl.Entry) error { count++; return nil }); err != nil {
				t.Fatal(err)
			}
			if count != n {
				t.Fatalf("%d entries read", count)
			}
			kb := mappedKB(t, s)
			if c.limit < 0 {
				if kb < size/2>>10 {
					t.Fatalf("without a limit, %d KiB of the %d KiB file stay mapped after a full read", kb, size>>10)
				}
			} else if kb > c.maxKB {
				t.Fatalf("limit %d KiB: %d KiB of the %d KiB file stay mapped after a full read", c.limit>>10, kb, size>>10)
			}
			for i := 0; i < 2*n; i += 7 {
				r := check(t, s, certID(i), t0.Add(time.Hour))
				if want := i < n; (r.Status == Revoked) != want {
					t.Fatalf("%s: %v", certID(i), r.Status)
				}
			}
			t.Logf("limit %d: %d KiB mapped of %d KiB after a full read, %d KiB after checks", c.limit, kb, size>>10, mappedKB(t, s))
		})
	}
}
