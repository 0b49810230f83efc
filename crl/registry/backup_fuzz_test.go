package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"
)

// fuzzBackups makes real backups for seeds: a full and an incremental
// backup stream of a registry with a history of every kind of record, and
// the incremental's increment.
func fuzzBackups(f *testing.F) (full, incr, increment []byte, manifest []byte) {
	f.Helper()
	c := &clock{t: t0}
	r, err := Open(filepath.Join(f.TempDir(), "r.db"), &Options{Now: c.now, Actor: "test"})
	if err != nil {
		f.Fatal(err)
	}
	defer r.Close()
	steps := history(f, r, c, f.TempDir())
	for _, s := range steps[:4] {
		s()
	}
	var fb bytes.Buffer
	res, err := r.Backup(&fb, nil)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range steps[4:] {
		s()
	}
	var ib bytes.Buffer
	if _, err := r.Backup(&ib, &BackupOptions{Incremental: true, BaseSeq: res.Manifest.AuditSeq}); err != nil {
		f.Fatal(err)
	}
	var inc bytes.Buffer
	m := &BackupManifest{}
	if err := r.writeIncrement(&inc, f.TempDir(), &BackupOptions{SliceRecords: 4096, SliceItems: 65536}, m, new(time.Duration)); err != nil {
		f.Fatal(err)
	}
	mb, _ := json.Marshal(res.Manifest)
	return fb.Bytes(), ib.Bytes(), inc.Bytes(), mb
}

// FuzzIncrement reads arbitrary increments from an empty trail: it never
// panics, refuses with ErrBackup, and what it accepts chains and hashes.
func FuzzIncrement(f *testing.F) {
	_, _, inc, _ := fuzzBackups(f)
	f.Add(inc)
	f.Add([]byte(incrementMagic + "E\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ir, err := newIncrementReader(bytes.NewReader(b), auditHead{})
		if err != nil {
			if !errors.Is(err, ErrBackup) {
				t.Fatal(err)
			}
			return
		}
		for {
			rec, err := ir.nextRecord()
			if err == io.EOF {
				return
			}
			if err == nil {
				_, err = ir.items(rec, func(it *AuditItem, canon []byte) error {
					if !bytes.Equal(it.Canonical(), canon) {
						t.Fatalf("item %+v re-encodes differently", it)
					}
					return nil
				})
			}
			if err != nil {
				if !errors.Is(err, ErrBackup) {
					t.Fatal(err)
				}
				return
			}
			if rec.ComputeHash() != rec.Hash {
				t.Fatal("hash")
			}
		}
	})
}

// FuzzManifest parses arbitrary manifests: strict, never panicking.
func FuzzManifest(f *testing.F) {
	_, _, _, m := fuzzBackups(f)
	f.Add(m)
	f.Add([]byte(`{"format":"crlverify-backup-v1","kind":"incremental","base_head":"` + Hash{}.String() + `","files":[{"name":"increment.bin","size":1,"sha256":"` + Hash{}.String() + `"}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		var m BackupManifest
		if err := parseManifest(b, &m); err != nil {
			if !errors.Is(err, ErrBackup) {
				t.Fatal(err)
			}
			return
		}
		if m.check() != nil {
			t.Fatal("accepted a manifest check refuses")
		}
	})
}

// FuzzBackupStream opens arbitrary backup streams and reads their data:
// every refusal is ErrBackup, reading is bounded by the stream.
func FuzzBackupStream(f *testing.F) {
	full, incr, _, _ := fuzzBackups(f)
	f.Add(full)
	f.Add(incr)
	f.Fuzz(func(t *testing.T, b []byte) {
		br, err := openBackup(bytes.NewReader(b), nil)
		if err != nil {
			if !errors.Is(err, ErrBackup) {
				t.Fatal(err)
			}
			return
		}
		v := br.reader()
		if br.m.Kind == BackupIncremental {
			ir, err := newIncrementReader(v, auditHead{seq: br.m.BaseSeq, hash: *br.m.BaseHead})
			if err != nil {
				return
			}
			for {
				rec, err := ir.nextRecord()
				if err != nil {
					break
				}
				if _, err := ir.items(rec, func(*AuditItem, []byte) error { return nil }); err != nil {
					break
				}
			}
		}
		if err := v.finish(); err != nil && !errors.Is(err, ErrBackup) {
			t.Fatal(err)
		}
	})
}
