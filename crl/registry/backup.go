package registry

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"
)

// BackupFormat is the manifest's "format": the version of the backup
// format this package writes and reads.
const BackupFormat = "crlverify-backup-v1"

// Backup kinds.
const (
	BackupFull        = "full"
	BackupIncremental = "incremental"
)

// Member names inside a backup's tar stream.
const (
	manifestMember  = "manifest.json"
	registryMember  = "registry.db"
	incrementMember = "increment.bin"

	maxManifestBytes = 64 << 10
	backupSuffix     = ".crlbackup"
)

// BackupFile is one member of a backup: its name, size and SHA-256.
type BackupFile struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 Hash   `json:"sha256"`
}

// BackupManifest describes one backup; the package documentation
// ("Backups") specifies each field.
type BackupManifest struct {
	Format    string    `json:"format"`
	Kind      string    `json:"kind"`
	Created   time.Time `json:"created"`
	Publisher string    `json:"publisher,omitempty"`
	// Serial is the registry's last published serial.
	Serial uint64 `json:"serial"`
	// AuditSeq and AuditHead are the audit head the backup restores to.
	AuditSeq  uint64 `json:"audit_seq"`
	AuditHead Hash   `json:"audit_head"`
	// BaseSeq and BaseHead (incremental only) are the audit head it
	// continues from: the head of the backup before it.
	BaseSeq  uint64 `json:"base_seq,omitempty"`
	BaseHead *Hash  `json:"base_head,omitempty"`
	// Layout is the registry layout version of a full backup's file.
	Layout int `json:"layout,omitempty"`
	// Records and Items count what an incremental backup holds.
	Records uint64       `json:"records,omitempty"`
	Items   uint64       `json:"items,omitempty"`
	Files   []BackupFile `json:"files"`
}

func (m *BackupManifest) check() error {
	switch {
	case m.Format != BackupFormat:
		return backupErr("format %q (this version reads %q)", clipS(m.Format), BackupFormat)
	case m.Kind != BackupFull && m.Kind != BackupIncremental:
		return backupErr("kind %q", clipS(m.Kind))
	case len(m.Files) != 1:
		return backupErr("%d files in the manifest, want 1", len(m.Files))
	case m.Kind == BackupFull && (m.Files[0].Name != registryMember || m.BaseHead != nil || m.Layout != layoutVersion):
		return backupErr("a full backup of layout %d holding %q", m.Layout, clipS(m.Files[0].Name))
	case m.Kind == BackupIncremental && (m.Files[0].Name != incrementMember || m.BaseHead == nil || m.AuditSeq < m.BaseSeq):
		return backupErr("an incremental backup holding %q", clipS(m.Files[0].Name))
	case m.Files[0].Size < 0:
		return backupErr("negative size")
	}
	return nil
}

func clipS(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}

// BackupOptions configure a backup. A nil *BackupOptions means a full,
// unencrypted backup.
type BackupOptions struct {
	// Recipients, when not empty, encrypt the backup to each of them (age).
	Recipients []age.Recipient
	// Incremental makes an incremental backup: the audit records after
	// BaseSeq (with BackupTo, the newest backup's head when zero).
	Incremental bool
	BaseSeq     uint64
	// Now is the backup's time; zero means the registry's clock.
	Now time.Time
	// SliceRecords bounds the audit records (and SliceItems the items or
	// certificates) read while an incremental backup holds the file once;
	// zero means 4096 and 65536.
	SliceRecords int
	SliceItems   int
}

// BackupResult says what a backup wrote.
type BackupResult struct {
	Manifest BackupManifest `json:"manifest"`
	// Name is the file written by BackupTo; empty for a stream.
	Name string `json:"name,omitempty"`
	// Bytes is the size of the backup as written (compressed, encrypted).
	Bytes int64 `json:"bytes"`
	// Encrypted says whether it was encrypted to recipients.
	Encrypted bool `json:"encrypted"`
	// Held is the longest time the backup held the registry file in one
	// go (other processes wait that long at most).
	Held time.Duration `json:"-"`
}

// Backup writes one backup of the registry to w: full, or with
// opts.Incremental the audit records after opts.BaseSeq. See "Backups" in
// the package documentation for the stream format and how long each kind
// holds the file.
func (r *Registry) Backup(w io.Writer, opts *BackupOptions) (*BackupResult, error) {
	var o BackupOptions
	if opts != nil {
		o = *opts
	}
	if o.Now.IsZero() {
		o.Now = r.clock()
	}
	o.Now = o.Now.UTC().Truncate(time.Second)
	if o.SliceRecords <= 0 {
		o.SliceRecords = 4096
	}
	if o.SliceItems <= 0 {
		o.SliceItems = 65536
	}
	// The data waits beside the registry, as protected as the registry
	// itself.
	wd, err := newWorkDir(r.path)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer wd.remove()
	dir := wd.path
	data, err := os.CreateTemp(dir, "backup-")
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer data.Close()
	res := &BackupResult{Encrypted: len(o.Recipients) > 0}
	m := &res.Manifest
	m.Format, m.Created = BackupFormat, o.Now
	h := sha256.New()
	cw := &hashCounter{h: h}
	out := io.MultiWriter(data, cw)
	if o.Incremental {
		m.Kind = BackupIncremental
		err = r.writeIncrement(out, dir, &o, m, &res.Held)
		m.Files = []BackupFile{{Name: incrementMember}}
	} else {
		m.Kind, m.Layout = BackupFull, layoutVersion
		err = r.copyFile(out, m, &res.Held)
		m.Files = []BackupFile{{Name: registryMember}}
	}
	if err != nil {
		return nil, err
	}
	m.Files[0].Size = cw.n
	h.Sum(m.Files[0].SHA256[:0])
	if _, err := data.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	n, err := writeBackupStream(w, m, data, o.Recipients)
	res.Bytes = n
	if err != nil {
		return nil, err
	}
	return res, nil
}

// copyFile copies the registry file as one read transaction sees it,
// holding the file (shared, in this process) for the copy.
func (r *Registry) copyFile(w io.Writer, m *BackupManifest, held *time.Duration) error {
	r.bmu.RLock()
	defer r.bmu.RUnlock()
	db, err := r.acquire()
	if err != nil {
		return err
	}
	defer r.release()
	start := time.Now()
	defer func() { *held = max(*held, time.Since(start)) }()
	return db.View(func(tx *bolt.Tx) error {
		t, err := r.newTxc(tx)
		if err != nil {
			return err
		}
		if err := m.fill(t); err != nil {
			return err
		}
		if tx.Bucket(bucketCarried) == nil {
			return fmt.Errorf("%w: layout 2 file opened read-only: open it for writing once to upgrade it", ErrInvalid)
		}
		if _, err := tx.WriteTo(w); err != nil {
			return fmt.Errorf("registry: copying the file: %w", err)
		}
		return nil
	})
}

// fill sets the manifest's head, serial and publisher from the registry.
func (m *BackupManifest) fill(t *txc) error {
	head, err := t.auditHead()
	if err != nil {
		return err
	}
	if m.Serial, err = getU64(t.meta.Get(metaPublished)); err != nil {
		return err
	}
	m.AuditSeq, m.AuditHead, m.Publisher = head.seq, head.hash, string(t.meta.Get(metaPublisher))
	return nil
}

// writeIncrement writes the records after o.BaseSeq up to the head when
// it starts, in slices: records up to the head never change, so each slice
// is read in its own transaction and other processes get the file between
// slices.
func (r *Registry) writeIncrement(w io.Writer, tmp string, o *BackupOptions, m *BackupManifest, held *time.Duration) error {
	slice := func(fn func(t *txc) error) error {
		start := time.Now()
		err := r.view(fn)
		*held = max(*held, time.Since(start))
		return err
	}
	base := auditHead{seq: o.BaseSeq}
	if err := slice(func(t *txc) error {
		if err := m.fill(t); err != nil {
			return err
		}
		if base.seq > m.AuditSeq {
			return fmt.Errorf("%w: the base backup's head, record %d, is past the registry's head %d: take a full backup", ErrBackup, base.seq, m.AuditSeq)
		}
		if base.seq > 0 {
			v, ok, err := t.audit.get(u64(base.seq))
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("%w: record %d missing", errCorrupt, base.seq)
			}
			rec, err := decodeRecord(base.seq, v)
			if err != nil {
				return err
			}
			base.hash = rec.Hash
		}
		return nil
	}); err != nil {
		return err
	}
	m.BaseSeq = base.seq
	bh := base.hash
	m.BaseHead = &bh
	end := m.AuditSeq

	// The certificates of the imports in the stretch, by record.
	var imports []uint64
	for from := base.seq + 1; from <= end; {
		if err := slice(func(t *txc) error {
			n := 0
			return t.walkAudit(from, func(rec *AuditRecord) error {
				if rec.Seq > end || n == o.SliceRecords {
					return errStopWalk
				}
				if rec.Action == ActionImport {
					imports = append(imports, rec.Seq)
				}
				from, n = rec.Seq+1, n+1
				return nil
			})
		}); err != nil && !errors.Is(err, errStopWalk) {
			return err
		}
	}
	var certs *mergeIter
	if len(imports) > 0 {
		s := newSorter(tmp, 32<<20)
		defer s.close()
		var from []byte
		for done := false; !done; {
			if err := slice(func(t *txc) error {
				n := 0
				done = true
				err := t.eachCertFrom(from, func(c *certRec) error {
					if n == o.SliceItems {
						done = false
						from = stateKey(c.Key, c.IssuerNo, c.ID)
						return errStopWalk
					}
					n++
					if _, ok := slices.BinarySearch(imports, c.ImportSeq); !ok {
						return nil
					}
					it, err := t.certItem(c)
					if err != nil {
						return err
					}
					k := binary.BigEndian.AppendUint64(nil, c.ImportSeq)
					return s.add(append(k, stateKey(c.Key, c.IssuerNo, c.ID)...), it.Canonical())
				})
				if errors.Is(err, errStopWalk) {
					return nil
				}
				return err
			}); err != nil {
				return err
			}
		}
		var err error
		if certs, err = s.sorted(); err != nil {
			return err
		}
		defer certs.close()
	}

	iw, err := newIncrementWriter(w)
	if err != nil {
		return err
	}
	type cursor struct {
		seq  uint64
		item uint32 // next item of record seq to write
		open bool   // record seq's frame is written
	}
	cur := cursor{seq: base.seq + 1}
	for cur.seq <= end {
		if err := slice(func(t *txc) error {
			budget := o.SliceItems
			for n := 0; n < o.SliceRecords && cur.seq <= end && budget > 0; n++ {
				v, ok, err := t.audit.get(u64(cur.seq))
				if err != nil {
					return err
				}
				if !ok {
					return auditBroken(cur.seq, "record missing")
				}
				rec, err := decodeRecord(cur.seq, v)
				if err != nil {
					return err
				}
				if !cur.open {
					// The previous hash and a one-item root come from the
					// records and items themselves.
					if err := t.completeRecord(&rec); err != nil {
						return err
					}
					if err := iw.record(&rec); err != nil {
						return err
					}
					cur.open = true
				}
				if rec.Action == ActionImport {
					for range rec.ItemCount {
						if !certs.next() {
							if certs.err != nil {
								return certs.err
							}
							return auditBroken(rec.Seq, "the registry holds fewer certificates of this import than it says")
						}
						if binary.BigEndian.Uint64(certs.key) != rec.Seq {
							return auditBroken(rec.Seq, "the registry holds fewer certificates of this import than it says")
						}
						if err := iw.item(certs.val); err != nil {
							return err
						}
					}
				} else {
					prefix := u64(cur.seq)
					it := t.items.iter(itemKey(cur.seq, cur.item))
					for budget > 0 && it.next() && bytes.HasPrefix(it.key(), prefix) {
						ai, err := decodeAuditItem(it.val())
						if err != nil {
							return err
						}
						pi, err := t.publicItem(&ai)
						if err != nil {
							return err
						}
						if err := iw.item(pi.Canonical()); err != nil {
							return err
						}
						cur.item++
						budget--
					}
					if it.err != nil {
						return it.err
					}
					if uint64(cur.item) < rec.ItemCount {
						if budget == 0 {
							return nil // the rest in the next slice
						}
						return auditBroken(rec.Seq, "%d items stored, the record says %d", cur.item, rec.ItemCount)
					}
				}
				if rec.Action == ActionPublish {
					v := t.tx.Bucket(bucketSerials).Get(u64(rec.Serial))
					if v == nil {
						return auditBroken(rec.Seq, "serial %d is not recorded", rec.Serial)
					}
					p, err := decodePublished(v)
					if err != nil {
						return err
					}
					if err := iw.publication(&p); err != nil {
						return err
					}
				}
				cur = cursor{seq: cur.seq + 1}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	m.Records, m.Items = iw.records, iw.items
	return iw.end()
}

// completeRecord fills in a stored record's previous hash and, for a
// record of one item, its items root.
func (t *txc) completeRecord(rec *AuditRecord) error {
	if rec.Seq > 1 {
		v, ok, err := t.audit.get(u64(rec.Seq - 1))
		if err != nil {
			return err
		}
		if !ok {
			return auditBroken(rec.Seq-1, "record missing")
		}
		prev, err := decodeRecord(rec.Seq-1, v)
		if err != nil {
			return err
		}
		rec.PrevHash = prev.Hash
	}
	if rec.ItemCount == 1 && rec.Action != ActionImport {
		return t.fillRoot(rec)
	}
	return nil
}

// writeBackupStream writes the backup stream: a tar of the manifest and
// the data, gzip-compressed, then age-encrypted to recipients if any.
func writeBackupStream(w io.Writer, m *BackupManifest, data io.Reader, recipients []age.Recipient) (int64, error) {
	counted := &countWriter{w: w}
	var dst io.Writer = counted
	var enc io.WriteCloser
	if len(recipients) > 0 {
		var err error
		if enc, err = age.Encrypt(counted, recipients...); err != nil {
			return 0, fmt.Errorf("registry: encrypting the backup: %w", err)
		}
		dst = enc
	}
	bw := bufio.NewWriterSize(dst, 256<<10)
	zw, _ := gzip.NewWriterLevel(bw, gzip.BestSpeed)
	tw := tar.NewWriter(zw)
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return 0, err
	}
	mb = append(mb, '\n')
	mod := m.Created
	if err := tw.WriteHeader(&tar.Header{Name: manifestMember, Mode: 0o600, Size: int64(len(mb)), ModTime: mod, Format: tar.FormatPAX}); err != nil {
		return 0, err
	}
	if _, err := tw.Write(mb); err != nil {
		return 0, err
	}
	f := m.Files[0]
	if err := tw.WriteHeader(&tar.Header{Name: f.Name, Mode: 0o600, Size: f.Size, ModTime: mod, Format: tar.FormatPAX}); err != nil {
		return 0, err
	}
	if _, err := io.Copy(tw, bufio.NewReaderSize(data, 256<<10)); err != nil {
		return 0, fmt.Errorf("registry: writing the backup: %w", err)
	}
	for _, c := range []io.Closer{tw, zw} {
		if err := c.Close(); err != nil {
			return 0, fmt.Errorf("registry: writing the backup: %w", err)
		}
	}
	if err := bw.Flush(); err != nil {
		return 0, fmt.Errorf("registry: writing the backup: %w", err)
	}
	if enc != nil {
		if err := enc.Close(); err != nil {
			return 0, fmt.Errorf("registry: writing the backup: %w", err)
		}
	}
	return counted.n, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

// BackupName returns the file name of a backup in a backup directory:
// full-<created>-<audit seq>.crlbackup or
// incr-<created>-<base seq>-<audit seq>.crlbackup, the time as
// YYYYMMDDThhmmssZ and the sequence numbers as 20 digits, so names sort
// by time.
func BackupName(m *BackupManifest) string {
	ts := m.Created.UTC().Format(backupTime)
	if m.Kind == BackupIncremental {
		return fmt.Sprintf("incr-%s-%020d-%020d%s", ts, m.BaseSeq, m.AuditSeq, backupSuffix)
	}
	return fmt.Sprintf("full-%s-%020d%s", ts, m.AuditSeq, backupSuffix)
}

const backupTime = "20060102T150405Z"

// BackupEntry is a backup file of a directory, as its name describes it.
type BackupEntry struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"`
	Created  time.Time `json:"created"`
	BaseSeq  uint64    `json:"base_seq,omitempty"`
	AuditSeq uint64    `json:"audit_seq"`
	Size     int64     `json:"size"`
}

// ParseBackupName reads a name BackupName made.
func ParseBackupName(name string) (BackupEntry, bool) {
	e := BackupEntry{Name: name}
	rest, ok := strings.CutSuffix(name, backupSuffix)
	if !ok {
		return e, false
	}
	parts := strings.Split(rest, "-")
	var seqs []string
	switch {
	case len(parts) == 3 && parts[0] == "full":
		e.Kind, seqs = BackupFull, parts[2:]
	case len(parts) == 4 && parts[0] == "incr":
		e.Kind, seqs = BackupIncremental, parts[2:]
	default:
		return e, false
	}
	t, err := time.Parse(backupTime, parts[1])
	if err != nil {
		return e, false
	}
	e.Created = t
	var nums []uint64
	for _, s := range seqs {
		if len(s) != 20 {
			return e, false
		}
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			return e, false
		}
		nums = append(nums, n)
	}
	if e.Kind == BackupIncremental {
		e.BaseSeq, e.AuditSeq = nums[0], nums[1]
	} else {
		e.AuditSeq = nums[0]
	}
	m := BackupManifest{Kind: e.Kind, Created: e.Created, BaseSeq: e.BaseSeq, AuditSeq: e.AuditSeq}
	return e, BackupName(&m) == name
}

// ListBackups returns the backups of dir, oldest first in the order of
// the audit trail (by audit sequence number, a full backup after an
// incremental one reaching as far, then time): a clock put back between
// two backups does not reorder them.
func ListBackups(dir string) ([]BackupEntry, error) {
	des, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("registry: backup directory: %w", err)
	}
	var out []BackupEntry
	for _, de := range des {
		e, ok := ParseBackupName(de.Name())
		if !ok || !de.Type().IsRegular() {
			continue
		}
		if fi, err := de.Info(); err == nil {
			e.Size = fi.Size()
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b BackupEntry) int {
		if c := cmpU64(a.AuditSeq, b.AuditSeq); c != 0 {
			return c
		}
		// A full backup supersedes an incremental one reaching as far.
		if a.Kind != b.Kind {
			if a.Kind == BackupFull {
				return 1
			}
			return -1
		}
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// BackupTo writes a backup into the backup directory dir under
// [BackupName] (a temporary file, synced and renamed). An incremental
// backup continues from the newest backup of dir unless opts.BaseSeq says
// otherwise; a directory without a full backup cannot take one. A
// registry whose audit trail is shorter than the directory's backups
// reach is refused (ErrBackup): they back up another history.
func (r *Registry) BackupTo(dir string, opts *BackupOptions) (*BackupResult, error) {
	var o BackupOptions
	if opts != nil {
		o = *opts
	}
	list, err := ListBackups(dir)
	if err != nil {
		return nil, err
	}
	var reached uint64
	full := false
	for _, e := range list {
		full = full || e.Kind == BackupFull
		reached = max(reached, e.AuditSeq)
	}
	// The directory's backups are one trail: a registry whose trail is
	// shorter than what they reach (an old copy put back, another
	// registry) would leave a restore two histories to choose from.
	seq, _, err := r.AuditHead()
	if err != nil {
		return nil, err
	}
	if seq < reached {
		return nil, fmt.Errorf("%w: %s holds backups up to audit record %d, this registry's trail has %d records: it is not the registry they back up (an older copy, or another registry); back it up into another directory",
			ErrBackup, dir, reached, seq)
	}
	if o.Incremental && o.BaseSeq == 0 {
		if !full {
			return nil, fmt.Errorf("%w: %s holds no full backup for an incremental one to follow: take a full backup first", ErrBackup, dir)
		}
		o.BaseSeq = reached
	}
	f, err := os.CreateTemp(dir, tempPrefix+"backup-*"+tempSuffix)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	tmp := f.Name()
	// Locked while it is written: PruneBackups removes only unlocked ones.
	_, _ = tryLock(f)
	fail := func(err error) (*BackupResult, error) {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	res, err := r.Backup(f, &o)
	if err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o600); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(fmt.Errorf("registry: %w", err))
	}
	if err := f.Close(); err != nil {
		return fail(fmt.Errorf("registry: %w", err))
	}
	res.Name = BackupName(&res.Manifest)
	if err := os.Rename(tmp, filepath.Join(dir, res.Name)); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("registry: %w", err)
	}
	if err := syncDir(dir); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return res, nil
}

// Retention says which backups [PruneBackups] keeps.
type Retention struct {
	// Full is how long full backups are kept (the newest always is); zero
	// means 14 days.
	Full time.Duration
	// Incremental backups older than the newest full backup are removed
	// once it exists ("purged once the next full succeeds"); with
	// KeepSuperseded they stay until older than Incremental (zero: one
	// day). Those after the newest full are always kept: a restore to now
	// needs them (taken hourly after a daily full, they are under a day
	// old).
	Incremental    time.Duration
	KeepSuperseded bool
}

// DefaultRetention is DIVOC's platform policy: daily full backups kept 14
// days, hourly incrementals kept a day and purged once the next full
// succeeds.
var DefaultRetention = Retention{Full: 14 * 24 * time.Hour, Incremental: 24 * time.Hour}

// PruneBackups removes the backups of dir that ret does not keep, judged
// at time now; with dryRun it only says which. Temporary files of backups
// that did not finish are removed too.
func PruneBackups(dir string, ret Retention, now time.Time, dryRun bool) ([]BackupEntry, error) {
	if ret.Full == 0 {
		ret.Full = DefaultRetention.Full
	}
	if ret.Incremental == 0 {
		ret.Incremental = DefaultRetention.Incremental
	}
	list, err := ListBackups(dir)
	if err != nil {
		return nil, err
	}
	newestFull := -1
	for i, e := range list {
		if e.Kind == BackupFull {
			newestFull = i
		}
	}
	var out []BackupEntry
	for i, e := range list {
		age := now.Sub(e.Created)
		var drop bool
		switch {
		case e.Kind == BackupFull:
			drop = i != newestFull && age > ret.Full
		case newestFull >= 0 && i < newestFull:
			drop = !ret.KeepSuperseded || age > ret.Incremental
		}
		if !drop {
			continue
		}
		if !dryRun {
			if err := os.Remove(filepath.Join(dir, e.Name)); err != nil {
				return out, fmt.Errorf("registry: %w", err)
			}
		}
		out = append(out, e)
	}
	if !dryRun {
		removeStaleBackups(dir, now)
	}
	return out, nil
}

// removeStaleBackups removes the temporary files of backups into dir that
// did not finish: unlocked (a backup being written holds its file locked)
// and over an hour old (where there is no flock, the age is all there is).
func removeStaleBackups(dir string, now time.Time) {
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		n := de.Name()
		if !strings.HasPrefix(n, tempPrefix+"backup-") || !strings.HasSuffix(n, tempSuffix) || !de.Type().IsRegular() {
			continue
		}
		if fi, err := de.Info(); err != nil || now.Sub(fi.ModTime()) <= staleWork {
			continue
		}
		p := filepath.Join(dir, n)
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		if ok, err := tryLock(f); ok && err == nil {
			os.Remove(p)
		}
		f.Close()
	}
}
