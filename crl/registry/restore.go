package registry

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"

	"filippo.io/age"
	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
)

// RestoreOptions configure [Restore] and [RestoreStream]. A nil
// *RestoreOptions means the defaults.
type RestoreOptions struct {
	// Identities decrypt encrypted backups (age).
	Identities []age.Identity
}

// RestoreResult says what a restore did.
type RestoreResult struct {
	// Backups are the backups applied, full first.
	Backups []string `json:"backups"`
	// Serial and the audit head are those of the restored registry.
	Serial    uint64 `json:"serial"`
	AuditSeq  uint64 `json:"audit_seq"`
	AuditHead Hash   `json:"audit_head"`
	// Replayed counts the audit records applied from incremental backups.
	Replayed uint64 `json:"replayed"`
	// Audit is the verification of the restored registry's audit trail.
	Audit AuditReport `json:"audit"`
}

// Restore rebuilds the registry at target from the backups in dir: the
// newest full backup and every incremental backup after it, which must
// form an unbroken chain (each continues from the head of the one before).
// Everything is checked before target is touched: each backup decrypts,
// its members have the sizes and SHA-256 of its manifest, the full
// backup's registry has the audit head its manifest says, each increment's
// records chain on from it and hash to the head its manifest says, and the
// rebuilt registry's audit trail verifies. The registry is rebuilt in a
// temporary file beside target, then renamed over it. A backup that does
// not check out is refused with an error wrapping ErrBackup (or age's
// errors), and target is left as it was.
func Restore(target, dir string, opts *RestoreOptions) (*RestoreResult, error) {
	list, err := ListBackups(dir)
	if err != nil {
		return nil, err
	}
	chain, err := backupChain(list)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return restore(target, opts, func(yield func(string, io.Reader) error) error {
		for _, e := range chain {
			f, err := os.Open(filepath.Join(dir, e.Name))
			if err != nil {
				return fmt.Errorf("registry: %w", err)
			}
			err = yield(e.Name, f)
			f.Close()
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// RestoreStream rebuilds the registry at target from one full backup read
// from r (as [Registry.Backup] writes it), with the checks of [Restore].
func RestoreStream(target string, r io.Reader, opts *RestoreOptions) (*RestoreResult, error) {
	return restore(target, opts, func(yield func(string, io.Reader) error) error {
		return yield("stream", r)
	})
}

// backupChain picks the newest full backup and the incremental backups
// that continue from it to the newest record they reach. Incremental
// backups may overlap (--base-seq): of the chains from the full backup,
// the one reaching furthest is taken; a backup holding records no chain
// reaches (one missing, or one continuing from inside another) is refused
// rather than left out.
func backupChain(list []BackupEntry) ([]BackupEntry, error) {
	full := -1
	for i, e := range list {
		if e.Kind == BackupFull {
			full = i
		}
	}
	if full < 0 {
		return nil, fmt.Errorf("%w: no full backup", ErrBackup)
	}
	start := list[full].AuditSeq
	var incs []BackupEntry
	for _, e := range list {
		if e.Kind == BackupIncremental && e.AuditSeq > start && e.AuditSeq > e.BaseSeq {
			incs = append(incs, e)
		}
	}
	// Every increment goes forward, so once those continuing from lower
	// records are seen, whether a record is reached is known.
	slices.SortStableFunc(incs, func(a, b BackupEntry) int { return cmpU64(a.BaseSeq, b.BaseSeq) })
	via := map[uint64]int{start: -1} // a record reached, and the increment reaching it
	head := start
	for i, e := range incs {
		if _, ok := via[e.BaseSeq]; !ok {
			continue
		}
		if _, ok := via[e.AuditSeq]; !ok {
			via[e.AuditSeq] = i
			head = max(head, e.AuditSeq)
		}
	}
	for _, e := range incs {
		if e.AuditSeq > head {
			return nil, fmt.Errorf("%w: an incremental backup is missing: the backups reach audit record %d, %s continues from record %d and reaches %d",
				ErrBackup, head, e.Name, e.BaseSeq, e.AuditSeq)
		}
	}
	var rev []BackupEntry
	for seq := head; via[seq] >= 0; {
		e := incs[via[seq]]
		rev = append(rev, e)
		seq = e.BaseSeq
	}
	chain := []BackupEntry{list[full]}
	for i := len(rev) - 1; i >= 0; i-- {
		chain = append(chain, rev[i])
	}
	return chain, nil
}

func restore(target string, opts *RestoreOptions, each func(func(string, io.Reader) error) error) (*RestoreResult, error) {
	var o RestoreOptions
	if opts != nil {
		o = *opts
	}
	target = filepath.Clean(target)
	// The registry is rebuilt in a work directory beside the target, on
	// its file system, and renamed over it at the end.
	wd, err := newWorkDir(target)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	tmp := filepath.Join(wd.path, "registry.db")
	var reg *Registry
	held := false
	defer func() {
		if reg != nil {
			if held {
				reg.release()
			}
			reg.Close()
		}
		wd.remove()
	}()
	res := &RestoreResult{}
	// Everything read from the backup is checked, but bbolt reads the
	// copied registry file through a mapping and trusts its pages: a
	// crafted or damaged file could send it outside the mapping or into an
	// assertion. That is a backup refused, not a crash.
	err = func() (err error) {
		defer guardBackup(&err, debug.SetPanicOnFault(true))
		err = each(func(name string, r io.Reader) error {
			br, err := openBackup(r, o.Identities)
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			m := &br.m
			if reg == nil {
				if m.Kind != BackupFull {
					return fmt.Errorf("%s: %w: the first backup is not a full one", name, ErrBackup)
				}
				if err := br.copyTo(tmp); err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
				if reg, err = Open(tmp, nil); err != nil {
					return fmt.Errorf("%s: %w: its registry does not open: %v", name, ErrBackup, err)
				}
				reg.noSync = true // synced once, before the rename
				// Keep the file open until the end: nobody else uses it.
				if _, err := reg.acquire(); err != nil {
					return err
				}
				held = true
			} else {
				if m.Kind != BackupIncremental {
					return fmt.Errorf("%s: %w: a full backup after the first", name, ErrBackup)
				}
				seq, head, err := reg.AuditHead()
				if err != nil {
					return err
				}
				if m.BaseSeq != seq || *m.BaseHead != head {
					return fmt.Errorf("%s: %w: it continues from audit record %d (%s), the backups before reach record %d (%s)",
						name, ErrBackup, m.BaseSeq, *m.BaseHead, seq, head)
				}
				n, err := reg.replayIncrement(br, auditHead{seq: seq, hash: head})
				res.Replayed += n
				if err != nil {
					return fmt.Errorf("%s: %w", name, err)
				}
			}
			seq, head, err := reg.AuditHead()
			if err != nil {
				return err
			}
			if seq != m.AuditSeq || head != m.AuditHead {
				return fmt.Errorf("%s: %w: the registry restored reaches audit record %d (%s), the manifest says %d (%s)",
					name, ErrBackup, seq, head, m.AuditSeq, m.AuditHead)
			}
			if m.Publisher != "" {
				if err := reg.update(func(t *txc) error { return t.meta.Put(metaPublisher, []byte(m.Publisher)) }); err != nil {
					return err
				}
			}
			res.Backups = append(res.Backups, name)
			return nil
		})
		if err != nil {
			return err
		}
		if reg == nil {
			return fmt.Errorf("%w: no backup", ErrBackup)
		}
		if res.Replayed > 0 {
			if err := reg.Compact(); err != nil {
				return err
			}
		}
		if res.Audit, err = reg.VerifyAudit(); err != nil {
			return fmt.Errorf("%w: the restored registry's audit trail: %v", ErrBackup, err)
		}
		return nil
	}()
	if err != nil {
		return nil, err
	}
	s, err := reg.Stats()
	if err != nil {
		return nil, err
	}
	res.Serial, res.AuditSeq, res.AuditHead = s.LastSerial, res.Audit.Records, res.Audit.Head
	reg.release()
	held = false
	if err := reg.Close(); err != nil {
		return nil, err
	}
	reg = nil
	if err := syncFile(tmp); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	if err := replaceRegistry(tmp, target); err != nil {
		return nil, err
	}
	return res, nil
}

// guardBackup turns a panic or a memory fault while a backup's registry
// file is read into an error wrapping ErrBackup. It is deferred as
//
//	defer guardBackup(&err, debug.SetPanicOnFault(true))
func guardBackup(err *error, old bool) {
	debug.SetPanicOnFault(old)
	if r := recover(); r != nil {
		*err = fmt.Errorf("%w: its registry file is damaged: reading it failed: %v", ErrBackup, r)
	}
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// replaceRegistry renames tmp over target while holding target's lock
// gate and bbolt lock, so no process is inside an operation on it; the
// next operation of any process opens the restored file.
func replaceRegistry(tmp, target string) error {
	if _, err := os.Stat(target); err == nil {
		if r, err := Open(target, &Options{ReadOnly: true}); err == nil {
			defer r.Close()
			r.bmu.Lock()
			defer r.bmu.Unlock()
			if _, err := r.acquire(); err != nil {
				return err
			}
			defer r.release()
		}
	}
	if err := os.Rename(tmp, target); err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	return syncDir(filepath.Dir(target))
}

// backupReader reads one backup stream: the manifest, then its member.
type backupReader struct {
	m      BackupManifest
	tr     *tar.Reader
	zr     *gzip.Reader
	plain  io.Reader // the decrypted, uncompressed stream's source
	member io.Reader
}

var ageMagic = []byte("age-encryption.org/")

// openBackup decrypts (if encrypted), decompresses and reads the manifest
// of a backup stream.
func openBackup(r io.Reader, ids []age.Identity) (*backupReader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(len(ageMagic))
	var src io.Reader = br
	if bytes.Equal(head, ageMagic) {
		if len(ids) == 0 {
			return nil, fmt.Errorf("%w: the backup is encrypted: give the identity (key file) it was encrypted to", ErrBackup)
		}
		d, err := age.Decrypt(br, ids...)
		if err != nil {
			return nil, fmt.Errorf("%w: decrypting: %w", ErrBackup, err)
		}
		src = d
	}
	zr, err := gzip.NewReader(src)
	if err != nil {
		return nil, fmt.Errorf("%w: not a backup (%v)", ErrBackup, err)
	}
	zr.Multistream(false)
	b := &backupReader{tr: tar.NewReader(zr), zr: zr, plain: src}
	h, err := b.tr.Next()
	if err != nil {
		return nil, fmt.Errorf("%w: reading the manifest: %v", ErrBackup, err)
	}
	if h.Name != manifestMember || h.Size > maxManifestBytes || h.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("%w: the first member is %q, not the manifest", ErrBackup, clipS(h.Name))
	}
	mb, err := io.ReadAll(io.LimitReader(b.tr, maxManifestBytes))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the manifest: %v", ErrBackup, err)
	}
	if err := parseManifest(mb, &b.m); err != nil {
		return nil, err
	}
	h, err = b.tr.Next()
	if err != nil {
		return nil, fmt.Errorf("%w: reading %s: %v", ErrBackup, b.m.Files[0].Name, err)
	}
	f := b.m.Files[0]
	if h.Name != f.Name || h.Size != f.Size || h.Typeflag != tar.TypeReg {
		return nil, fmt.Errorf("%w: member %q of %d bytes, the manifest says %q of %d", ErrBackup, clipS(h.Name), h.Size, f.Name, f.Size)
	}
	b.member = b.tr
	return b, nil
}

// parseManifest decodes a manifest strictly: known fields only.
func parseManifest(b []byte, m *BackupManifest) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return fmt.Errorf("%w: manifest: %v", ErrBackup, err)
	}
	if dec.More() {
		return fmt.Errorf("%w: manifest: data after it", ErrBackup)
	}
	return m.check()
}

// verifiedMember reads the member, checking its size and SHA-256 at the
// end and that nothing follows it in the stream.
type verifiedMember struct {
	b    *backupReader
	h    interface{ Sum([]byte) []byte }
	n    int64
	w    io.Writer
	done bool
}

func (b *backupReader) reader() *verifiedMember {
	h := sha256.New()
	return &verifiedMember{b: b, h: h, w: h}
}

func (v *verifiedMember) Read(p []byte) (int, error) {
	n, err := v.b.member.Read(p)
	v.n += int64(n)
	v.w.Write(p[:n])
	switch {
	case err == io.EOF:
		if cerr := v.check(); cerr != nil {
			return n, cerr
		}
	case err != nil && !errors.Is(err, ErrBackup):
		err = fmt.Errorf("%w: reading %s: %v", ErrBackup, v.b.m.Files[0].Name, err)
	}
	return n, err
}

func (v *verifiedMember) check() error {
	if v.done {
		return nil
	}
	v.done = true
	f := v.b.m.Files[0]
	var sum Hash
	v.h.Sum(sum[:0])
	if v.n != f.Size || sum != f.SHA256 {
		return fmt.Errorf("%w: %s has %d bytes with SHA-256 %s, the manifest says %d bytes, %s", ErrBackup, f.Name, v.n, sum, f.Size, f.SHA256)
	}
	if _, err := v.b.tr.Next(); err != io.EOF {
		return fmt.Errorf("%w: data after %s", ErrBackup, f.Name)
	}
	if _, err := io.Copy(io.Discard, v.b.zr); err != nil {
		return fmt.Errorf("%w: %v", ErrBackup, err)
	}
	if n, err := io.Copy(io.Discard, io.LimitReader(v.b.plain, 1)); err != nil || n != 0 {
		if err == nil {
			err = errors.New("data after the backup")
		}
		return fmt.Errorf("%w: %v", ErrBackup, err)
	}
	return nil
}

// finish reads what is left of the member (a reader that stopped early)
// and checks it.
func (v *verifiedMember) finish() error {
	if _, err := io.Copy(io.Discard, v); err != nil {
		return err
	}
	return v.check()
}

// copyTo writes a full backup's registry file to path, checked.
func (b *backupReader) copyTo(path string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	v := b.reader()
	if _, err := io.Copy(f, v); err != nil {
		if errors.Is(err, ErrBackup) {
			return err
		}
		return fmt.Errorf("%w: reading %s: %v", ErrBackup, registryMember, err)
	}
	if err := v.finish(); err != nil {
		return err
	}
	return f.Close()
}

// replayIncrement applies an incremental backup's records to r, as the
// registry that made them did: the same records, items, certificates and
// revocation records, each record's hash checked.
func (r *Registry) replayIncrement(b *backupReader, base auditHead) (uint64, error) {
	v := b.reader()
	ir, err := newIncrementReader(v, base)
	if err != nil {
		return 0, err
	}
	var n uint64
	for {
		rec, err := ir.nextRecord()
		if err == io.EOF {
			break
		}
		if err != nil {
			return n, err
		}
		if err := r.replayRecord(ir, rec); err != nil {
			if errors.Is(err, ErrBackup) {
				return n, err
			}
			return n, fmt.Errorf("%w: applying record %d: %v", ErrBackup, rec.Seq, err)
		}
		n++
	}
	if err := v.finish(); err != nil {
		return n, err
	}
	if n != b.m.Records {
		return n, fmt.Errorf("%w: %d records, the manifest says %d", ErrBackup, n, b.m.Records)
	}
	return n, nil
}

// replayChunk bounds the items one transaction of a replay applies.
const replayChunk = 16384

// replayRecord applies one record read from an increment and its items.
func (r *Registry) replayRecord(ir *incrementReader, rec *AuditRecord) error {
	want := rec.Hash
	put := func(t *txc) error {
		cp := *rec
		if err := t.putRecord(&cp); err != nil {
			return err
		}
		if cp.Hash != want {
			return fmt.Errorf("%w: record %d replayed hashes to %s, not %s", ErrBackup, rec.Seq, cp.Hash, want)
		}
		return nil
	}
	return r.exclusive(func(db *bolt.DB) error {
		switch rec.Action {
		case ActionImport:
			return r.replayImport(db, ir, rec, put)
		case ActionAddIssuer, ActionPublish:
			pub, err := ir.items(rec, func(*AuditItem, []byte) error {
				return backupErr("record %d: an item in a %s record", rec.Seq, rec.Action)
			})
			if err != nil {
				return err
			}
			return db.Update(func(tx *bolt.Tx) error {
				return runTxc(r, tx, func(t *txc) error {
					if rec.Action == ActionAddIssuer {
						if _, added, err := t.iss.add(tx, rec.Issuer); err != nil || !added {
							return fmt.Errorf("adding issuer %q: %v", rec.Issuer, err)
						}
						return put(t)
					}
					v, err := json.Marshal(pub)
					if err != nil {
						return err
					}
					if err := t.tx.Bucket(bucketSerials).Put(u64(pub.Serial), v); err != nil {
						return err
					}
					if last, _ := getU64(t.meta.Get(metaPublished)); pub.Serial > last {
						if err := t.meta.Put(metaPublished, u64(pub.Serial)); err != nil {
							return err
						}
					}
					return put(t)
				})
			})
		}
		// Revocations, suspensions, lifts and carry-forwards: the items,
		// a chunk per transaction, then the record.
		var chunk []AuditItem
		idx := uint32(0)
		apply := func(last bool) error {
			return db.Update(func(tx *bolt.Tx) error {
				return runTxc(r, tx, func(t *txc) error {
					for i := range chunk {
						if err := t.replayItem(rec, idx, &chunk[i]); err != nil {
							return err
						}
						idx++
					}
					chunk = chunk[:0]
					if !last {
						return nil
					}
					if rec.Action == ActionCarry {
						var d [32]byte
						copy(d[:], rec.ListDigest[:])
						a := acked{serial: rec.Serial}
						copy(a.listDigest[:], d[:])
						if err := t.meta.Put(metaAcked, a.encode()); err != nil {
							return err
						}
					}
					return put(t)
				})
			})
		}
		if _, err := ir.items(rec, func(it *AuditItem, _ []byte) error {
			chunk = append(chunk, *it)
			if len(chunk) == replayChunk {
				return apply(false)
			}
			return nil
		}); err != nil {
			return err
		}
		return apply(true)
	})
}

// replayItem applies one revocation or carried item of record rec.
func (t *txc) replayItem(rec *AuditRecord, idx uint32, it *AuditItem) error {
	if it.Kind == "carried" {
		if rec.Action != ActionCarry {
			return fmt.Errorf("a carried item in a %s record", rec.Action)
		}
		if t.carried.b == nil {
			return fmt.Errorf("%w: the carried table is missing", errCorrupt)
		}
		c := carriedEntry{key: 0, reason: it.Reason, revokedAt: unix(it.RevokedAt), until: unix(it.SuspendedUntil), seq: rec.Seq}
		c.key = keyFromHex(it.ListKey)
		if err := t.logChange(c.key); err != nil {
			return err
		}
		kb := c.key.Bytes()
		if _, _, err := t.carried.apply([]mut{{key: kb[:], val: c.encode()}}); err != nil {
			return err
		}
		_, _, err := t.items.apply([]mut{{key: itemKey(rec.Seq, idx), val: carriedItemValue(&c)}})
		return err
	}
	if it.Kind != "revocation" || rec.Action == ActionCarry {
		return fmt.Errorf("a %s item in a %s record", it.Kind, rec.Action)
	}
	n, ok := t.iss.nums[it.Issuer]
	if !ok {
		return fmt.Errorf("issuer %q of %q is not in the registry", it.Issuer, it.CertificateID)
	}
	tg := &target{issuerNo: n, issuer: it.Issuer, id: it.CertificateID}
	tg.key = t.keyOf(n, tg.id)
	tg.skey = stateKey(tg.key, n, tg.id)
	v, ok, err := t.state.get(tg.skey)
	if err != nil {
		return err
	}
	if ok {
		st, err := decodeState(v)
		if err != nil {
			return err
		}
		tg.st = &st
	}
	after := revState{Status: it.Status, Reason: it.Reason, RevokedAt: unix(it.RevokedAt), Until: unix(it.SuspendedUntil),
		LastSeq: rec.Seq, SupersededBy: it.SupersededBy}
	if err := t.setState(tg, after); err != nil {
		return err
	}
	item := stateItem(n, tg.id, &after)
	_, _, err = t.items.apply([]mut{{key: itemKey(rec.Seq, idx), val: item.encode()}})
	return err
}

// replayImport writes an import's certificates as a new run, made live
// with the record, as the import did.
func (r *Registry) replayImport(db *bolt.DB, ir *incrementReader, rec *AuditRecord, put func(*txc) error) error {
	var runID uint64
	var iss *issuerTable
	if err := db.Update(func(tx *bolt.Tx) error {
		t, err := r.newTxc(tx)
		if err != nil {
			return err
		}
		iss = t.iss
		runID, err = t.createRun()
		return err
	}); err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketRuns).DeleteBucket(u64(runID)) })
		}
	}()
	wd, err := newWorkDir(r.path)
	if err != nil {
		return err
	}
	defer wd.remove()
	dir := wd.path
	ps := db.Info().PageSize
	cw := newTableWriter(ps)
	benS := newSorter(dir, 16<<20)
	defer benS.close()
	batS := newSorter(dir, 16<<20)
	defer batS.close()
	var batches *batchInterner
	var last, ck []byte
	var pending []AuditItem
	flush := func(final bool) error {
		return db.Update(func(tx *bolt.Tx) error {
			if batches == nil {
				batches = newBatchInterner(tx)
			}
			for i := range pending {
				it := &pending[i]
				n, ok := iss.nums[it.Issuer]
				if !ok {
					return fmt.Errorf("issuer %q of %q is not in the registry", it.Issuer, it.CertificateID)
				}
				k := r.keyOf(it.Issuer, it.CertificateID)
				skey := stateKey(k, n, it.CertificateID)
				if last != nil && bytes.Compare(skey, last) <= 0 {
					return fmt.Errorf("%w: the certificates of record %d are not in key order", ErrBackup, rec.Seq)
				}
				last = skey
				var bn uint32
				if it.Batch != "" {
					var err error
					if bn, err = batches.number(tx, []byte(it.Batch)); err != nil {
						return err
					}
				}
				f := certFields{ben: []byte(it.BeneficiaryID), dose: it.Dose, issuedAt: unix(it.IssuedAt), validUntil: unix(it.ValidUntil),
					prev: []byte(it.PreviousCertificateID)}
				cw.add(skey, appendCertValue(nil, f, bn, rec.Seq))
				ck = appendBenKey(ck[:0], n, benHash(it.BeneficiaryID), it.Dose, k)
				if err := benS.add(ck, nil); err != nil {
					return err
				}
				if bn != 0 {
					ck = appendBatchKey(ck[:0], n, bn, k)
					if err := batS.add(ck, nil); err != nil {
						return err
					}
				}
			}
			pending = pending[:0]
			return cw.flush(tx.Bucket(bucketRuns).Bucket(u64(runID)).Bucket(runTableNames[indexCerts]), final)
		})
	}
	if _, err := ir.items(rec, func(it *AuditItem, _ []byte) error {
		if it.Kind != "certificate" {
			return fmt.Errorf("%w: a %s item in an import record", ErrBackup, it.Kind)
		}
		pending = append(pending, *it)
		if len(pending) == replayChunk {
			return flush(false)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := flush(true); err != nil {
		return err
	}
	counts, err := writeIndexes(db, runID, cw.count, benS, batS, ps)
	if err != nil {
		return err
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		return runTxc(r, tx, func(t *txc) error {
			if err := batches.commit(tx); err != nil {
				return err
			}
			if err := put(t); err != nil {
				return err
			}
			rn, err := t.openRun(runID)
			if err != nil {
				return err
			}
			rn.meta = runMeta{live: true, n: counts}
			if err := rn.b.Put(runMetaKey, rn.meta.encode()); err != nil {
				return err
			}
			t.counts.certs += counts[indexCerts]
			t.dirty = true
			return nil
		})
	}); err != nil {
		return err
	}
	committed = true
	return nil
}

func keyFromHex(s string) crl.Key { return crl.Key(parseListKey(s)) }
