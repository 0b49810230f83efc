package registry

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestRestoreRefusesDamagedRegistryFile: a full backup whose registry
// file has damaged pages but a manifest that matches them (made by
// whoever can write an unencrypted backup, or holds a recipient) is
// refused with ErrBackup, the target untouched, never a crash: bbolt
// trusts its pages, and a damaged one sends it out of bounds.
func TestRestoreRefusesDamagedRegistryFile(t *testing.T) {
	r, c := openTest(t)
	for _, s := range history(t, r, c, t.TempDir()) {
		s()
	}
	var buf bytes.Buffer
	res, err := r.Backup(&buf, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(t.TempDir(), "live.db")
	if err := os.WriteFile(target, []byte("the live registry"), 0o600); err != nil {
		t.Fatal(err)
	}
	const page = 4096
	refused := 0
	for pg := 2; pg*page < len(file); pg++ {
		b := bytes.Clone(file)
		for i := 16; i < 200; i++ {
			b[pg*page+i] ^= 0x5a
		}
		m := res.Manifest
		m.Files = []BackupFile{{Name: registryMember, Size: int64(len(b)), SHA256: sha256.Sum256(b)}}
		var stream bytes.Buffer
		if _, err := writeBackupStream(&stream, &m, bytes.NewReader(b), nil); err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("page %d damaged: restore panicked: %v", pg, p)
				}
			}()
			_, err := RestoreStream(target, &stream, nil)
			if err == nil {
				os.WriteFile(target, []byte("the live registry"), 0o600)
				return
			}
			refused++
			if !errors.Is(err, ErrBackup) {
				t.Errorf("page %d damaged: %v, want ErrBackup", pg, err)
			}
			if got, _ := os.ReadFile(target); string(got) != "the live registry" {
				t.Fatalf("page %d damaged: the target changed", pg)
			}
		}()
	}
	if refused == 0 {
		t.Fatal("no damaged page was refused")
	}
}

// TestReadDamagedRegistryFile: reading a registry file with a damaged page
// (audit verify, listing the revocations) reports the file corrupt, never
// a crash.
func TestReadDamagedRegistryFile(t *testing.T) {
	r, c := openTest(t)
	for _, s := range history(t, r, c, t.TempDir()) {
		s()
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(r.path)
	if err != nil {
		t.Fatal(err)
	}
	const page = 4096
	failed := 0
	for pg := 2; pg*page < len(file); pg++ {
		b := bytes.Clone(file)
		for i := 16; i < 200; i++ {
			b[pg*page+i] ^= 0x5a
		}
		path := filepath.Join(t.TempDir(), "damaged.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Errorf("page %d damaged: panic: %v", pg, p)
				}
			}()
			d, err := Open(path, nil)
			if err != nil {
				failed++
				return
			}
			defer d.Close()
			if _, err := d.VerifyAudit(); err != nil {
				failed++
			}
		}()
	}
	if failed == 0 {
		t.Fatal("no damaged page was noticed")
	}
}
