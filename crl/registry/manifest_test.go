package registry

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"
)

// readStream reads a backup stream as the package documentation specifies
// it, with the standard library and age alone: the manifest as a map, and
// the data member.
func readStream(t *testing.T, b []byte, id age.Identity) (map[string]any, string, []byte) {
	t.Helper()
	var src io.Reader = bytes.NewReader(b)
	if id != nil {
		d, err := age.Decrypt(src, id)
		if err != nil {
			t.Fatal(err)
		}
		src = d
	}
	zr, err := gzip.NewReader(src)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var names []string
	var members [][]byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			t.Fatalf("member %q of type %c", h.Name, h.Typeflag)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names, members = append(names, h.Name), append(members, data)
	}
	if len(names) != 2 || names[0] != "manifest.json" {
		t.Fatalf("members %v", names)
	}
	var m map[string]any
	if err := json.Unmarshal(members[0], &m); err != nil {
		t.Fatal(err)
	}
	return m, names[1], members[1]
}

// TestBackupManifest: each backup's manifest says when it was taken, the
// registry's serial and audit head, and the data member's name, size and
// SHA-256, as the documentation specifies; the full backup's member is the
// registry file, which opens.
func TestBackupManifest(t *testing.T) {
	r, c := openTest(t)
	steps := history(t, r, c, t.TempDir())
	for _, s := range steps[:5] {
		s() // two imports, a revocation, a suspension, serial 1
	}
	id, _ := age.GenerateX25519Identity()
	dir := t.TempDir()
	at := time.Date(2026, 11, 30, 2, 0, 0, 0, time.UTC)
	full, err := r.BackupTo(dir, &BackupOptions{Now: at, Recipients: []age.Recipient{id.Recipient()}})
	if err != nil {
		t.Fatal(err)
	}
	fullSeq, fullHead, _ := r.AuditHead()
	for _, s := range steps[5:] {
		s() // a batch, a lift, revocations, serial 2, all doses
	}
	incr, err := r.BackupTo(dir, &BackupOptions{Now: at.Add(time.Hour), Incremental: true})
	if err != nil {
		t.Fatal(err)
	}
	seq, head, _ := r.AuditHead()
	stats, _ := r.Stats()

	for _, c := range []struct {
		res            *BackupResult
		id             age.Identity
		kind, member   string
		created        time.Time
		serial, auditS uint64
		head           Hash
		base           any
	}{
		{full, id, "full", "registry.db", at, 1, fullSeq, fullHead, nil},
		{incr, nil, "incremental", "increment.bin", at.Add(time.Hour), stats.LastSerial, seq, head, float64(fullSeq)},
	} {
		b, err := os.ReadFile(filepath.Join(dir, c.res.Name))
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(b)) != c.res.Bytes {
			t.Errorf("%s: %d bytes written, result says %d", c.kind, len(b), c.res.Bytes)
		}
		m, name, data := readStream(t, b, c.id)
		sum := sha256.Sum256(data)
		files, _ := m["files"].([]any)
		if len(files) != 1 {
			t.Fatalf("%s: files %v", c.kind, m["files"])
		}
		f := files[0].(map[string]any)
		for k, want := range map[string]any{
			"format": "crlverify-backup-v1", "kind": c.kind, "created": c.created.Format(time.RFC3339),
			"serial": float64(c.serial), "audit_seq": float64(c.auditS), "audit_head": c.head.String(),
		} {
			if m[k] != want {
				t.Errorf("%s: manifest %q is %v, want %v", c.kind, k, m[k], want)
			}
		}
		if m["base_seq"] != c.base {
			t.Errorf("%s: base_seq %v, want %v", c.kind, m["base_seq"], c.base)
		}
		if f["name"] != c.member || name != c.member || f["size"] != float64(len(data)) || f["sha256"] != Hash(sum).String() {
			t.Errorf("%s: files %v; member %q of %d bytes, SHA-256 %x", c.kind, f, name, len(data), sum)
		}
	}
	if full.Manifest.Publisher == "" || incr.Manifest.Records != seq-fullSeq {
		t.Errorf("results: %+v %+v", full.Manifest, incr.Manifest)
	}

	// The full backup's member is a bbolt file holding the registry as it
	// was: it opens as a registry at the manifest's head.
	b, _ := os.ReadFile(filepath.Join(dir, full.Name))
	_, _, data := readStream(t, b, id)
	p := filepath.Join(t.TempDir(), "member.db")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(p, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	got, err := Open(p, &Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer got.Close()
	if s, h, _ := got.AuditHead(); s != fullSeq || h != fullHead {
		t.Errorf("the member's head is %d %s, want %d %s", s, h, fullSeq, fullHead)
	}
}

// TestBackupRecipients: a backup encrypted to two recipients restores
// with either identity alone, and not with a third.
func TestBackupRecipients(t *testing.T) {
	r, c := openTest(t)
	for _, s := range history(t, r, c, t.TempDir())[:4] {
		s()
	}
	var ids []*age.X25519Identity
	for range 3 {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	var buf bytes.Buffer
	if _, err := r.Backup(&buf, &BackupOptions{Recipients: []age.Recipient{ids[0].Recipient(), ids[1].Recipient()}}); err != nil {
		t.Fatal(err)
	}
	want := contentOf(t, r)
	for i, id := range ids {
		target := filepath.Join(t.TempDir(), "r.db")
		_, err := RestoreStream(target, bytes.NewReader(buf.Bytes()), &RestoreOptions{Identities: []age.Identity{id}})
		if i == 2 {
			if !errors.Is(err, ErrBackup) {
				t.Fatalf("a third identity: %v", err)
			}
			if _, err := os.Stat(target); !os.IsNotExist(err) {
				t.Fatal("a refused restore made the registry file")
			}
			continue
		}
		if err != nil {
			t.Fatalf("identity %d: %v", i, err)
		}
		got, err := Open(target, nil)
		if err != nil {
			t.Fatal(err)
		}
		sameContent(t, contentOf(t, got), want)
		got.Close()
	}
}
