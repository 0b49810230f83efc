package registry

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// Publishing defaults.
const (
	DefaultNextUpdate  = 24 * time.Hour
	DefaultKeepSerials = 8
)

// Errors of Publish a caller can branch on.
var (
	// ErrPublisherRequired: no publisher name was given, none was
	// remembered from an earlier publication, and the registry does not
	// cover exactly one issuer to name the list after.
	ErrPublisherRequired = errors.New("registry: publisher name required")
	// ErrPublisherChanged: the publisher name differs from the one earlier
	// serials were published under. Verifiers track serials per publisher,
	// so a registry keeps one name.
	ErrPublisherChanged = errors.New("registry: publisher name differs from earlier publications")
)

// PublishOptions configure [Registry.Publish]. A nil *PublishOptions means
// the defaults.
type PublishOptions struct {
	// Publisher names who publishes the list. Empty means the name used
	// before, or for a first publication the registry's only issuer.
	Publisher string
	// NextUpdate is how long until the next publication is due; zero means
	// DefaultNextUpdate. It must be at least a second.
	NextUpdate time.Duration
	// KeepSerials is how many recent serials stay reachable: a delta is
	// written from each of the KeepSerials serials before the new one, and
	// files of older serials are deleted. Zero means DefaultKeepSerials.
	KeepSerials int
	// Now is the publication time (this-update); zero means the current
	// time. It never goes below the previous publication's this-update.
	Now time.Time
	// Actor is who the audit trail names; empty means [Options.Actor].
	Actor string
	// Keys are the publisher's public keys, to read the directory's newest
	// publication with before publishing over it; nil means the signing
	// key's own (give the earlier keys after a key rotation).
	Keys snapshot.Keys
}

// PublishedFile describes one file a publication wrote.
type PublishedFile struct {
	Name       string        `json:"name"`
	Kind       snapshot.Kind `json:"kind,omitempty"`
	Serial     uint64        `json:"serial,omitempty"`
	BaseSerial uint64        `json:"base_serial,omitempty"`
	// Length and Digest are the size and SHA-256 of the whole file.
	Length int64           `json:"length"`
	Digest snapshot.Digest `json:"digest"`
	// Upserts and Removals count the entries in a snapshot's body.
	Upserts  uint64 `json:"upserts"`
	Removals uint64 `json:"removals"`
}

// PublishResult says what [Registry.Publish] wrote.
type PublishResult struct {
	Serial     uint64    `json:"serial"`
	Publisher  string    `json:"publisher"`
	Issuers    []string  `json:"issuers"`
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update"`
	// ListCount is how many entries the list holds ("entries", the name
	// every crlverify output gives it).
	ListCount  uint64          `json:"entries"`
	ListDigest snapshot.Digest `json:"list_digest"`
	// Expired counts suspensions left out because they had ended.
	Expired uint64          `json:"expired"`
	Full    PublishedFile   `json:"full"`
	Deltas  []PublishedFile `json:"deltas"`
	// Skipped lists base serials whose delta would have been larger than
	// the full snapshot; verifiers at those serials download the full.
	Skipped []uint64      `json:"skipped,omitempty"`
	Index   PublishedFile `json:"index"`
	// Checkpoint is the signed checkpoint of the serial: its list and the
	// audit head after the publication's record (see snapshot, "Checkpoint").
	Checkpoint PublishedFile `json:"checkpoint"`
	// Pruned lists the files deleted as older than KeepSerials.
	Pruned []string `json:"pruned,omitempty"`
	// AuditSeq is the audit record of the publication, AuditHead its hash.
	AuditSeq  uint64 `json:"audit_seq"`
	AuditHead Hash   `json:"audit_head"`
}

// Publish writes a new serial into the publication directory dir, signed
// with key (a private Ed25519 or P-256 JWK, as from snapshot.GenerateKey):
//
//  1. in one pass over the registry, the full snapshot of the list (every
//     revocation, and every suspension that has not ended at the
//     publication time) and, for each of the KeepSerials serials before it
//     that the registry still has a change log for, a delta straight to
//     the new serial, unless it would be larger than the full snapshot;
//  2. the serial is recorded in the registry, with an audit record;
//  3. the signed checkpoint of the serial, checkpoint-<serial>.jws: its
//     list digest and the audit head after that record (see snapshot,
//     "Checkpoint"); checkpoints are never pruned;
//  4. the signed index naming the new files;
//  5. snapshot files of serials older than KeepSerials are deleted.
//
// Every file is written under a temporary name, synced and renamed, and the
// index comes last: a crash at any point leaves the previous index naming
// complete files. If Publish fails before step 2 the serial is not used;
// after it the serial counts as published and the next call moves on.
//
// The serial is one more than the last published, and more than any serial
// already in dir. Changes made while Publish runs wait for it and go into
// the next serial.
//
// Publish never goes backwards: first it compares the registry with the
// newest publication in dir (its signed index and checkpoint, read with
// opts.Keys). A directory holding a serial the registry did not publish,
// or another list or audit trail for one it did (an old copy of the
// registry put back, another registry publishing there), is refused with
// a *PublicationConflictError (errors.Is ErrPublicationConflict) saying
// what differs and how many revocations publishing would drop, and
// nothing is written. [Registry.CarryForward] is the way on that keeps
// every published revocation.
func (r *Registry) Publish(dir string, key jwk.Key, opts *PublishOptions) (*PublishResult, error) {
	var o PublishOptions
	if opts != nil {
		o = *opts
	}
	if o.NextUpdate == 0 {
		o.NextUpdate = DefaultNextUpdate
	}
	if o.NextUpdate < time.Second {
		return nil, fmt.Errorf("%w: next update %v is less than a second", ErrInvalid, o.NextUpdate)
	}
	if o.KeepSerials == 0 {
		o.KeepSerials = DefaultKeepSerials
	}
	if o.KeepSerials < 1 || o.KeepSerials > snapshot.MaxIndexDeltas {
		return nil, fmt.Errorf("%w: keep %d serials: want 1 to %d", ErrInvalid, o.KeepSerials, snapshot.MaxIndexDeltas)
	}
	if o.Now.IsZero() {
		o.Now = r.now()
	}
	if s := o.Now.Unix(); s <= 0 || s > MaxTime {
		return nil, fmt.Errorf("%w: publication time %s out of range", ErrInvalid, o.Now.UTC().Format(time.RFC3339))
	}
	if key == nil {
		return nil, errors.New("registry: no signing key")
	}
	pubSet, err := snapshot.PublicSet(key)
	if err != nil {
		return nil, fmt.Errorf("registry: signing key: %w", err)
	}
	if o.Keys == nil {
		o.Keys = snapshot.KeysFromSet(pubSet)
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("registry: publication directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("registry: publication directory %s is not a directory", dir)
	}
	if r.readOnly {
		return nil, fmt.Errorf("%w: the registry was opened read-only", ErrInvalid)
	}

	// Writers wait for the whole publication: the serial's change log
	// must not grow while its snapshot is read.
	r.writersWaiting.Add(1)
	r.bmu.RLock()
	defer r.bmu.RUnlock()
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.writersWaiting.Add(-1)
	db, err := r.acquire()
	if err != nil {
		return nil, err
	}
	defer r.release()

	// One publication at a time in a directory, whatever registry makes
	// it: the next one reads what this one wrote, and the guard decides.
	unlockDir, err := lockPublicationDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlockDir()
	removeTemps(dir)
	dp, err := readDirPublication(dir, o.Keys)
	if err != nil {
		return nil, err
	}
	p := &publication{dir: dir, key: key, opts: &o, actor: r.actorOr(o.Actor)}
	defer p.cleanup()
	if err := db.View(func(tx *bolt.Tx) error {
		t, err := r.newTxc(tx)
		if err != nil {
			return err
		}
		if err := t.guard(dir, dp, o.Keys, o.Publisher); err != nil {
			return err
		}
		if err := p.prepare(t); err != nil {
			return err
		}
		return p.write(t)
	}); err != nil {
		return nil, err
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		return runTxc(r, tx, func(t *txc) error { return p.record(t) })
	}); err != nil {
		return nil, fmt.Errorf("registry: recording serial %d: %w", p.serial, err)
	}
	p.recorded = true // the files stay even if the index fails
	if err := p.writeCheckpoint(); err != nil {
		return nil, err
	}
	if err := p.writeIndex(); err != nil {
		return nil, err
	}
	p.res.Pruned = prune(dir, p.serial, o.KeepSerials)
	return &p.res, nil
}

// publication is the state of one Publish call.
type publication struct {
	dir   string
	key   jwk.Key
	opts  *PublishOptions
	actor string

	serial     uint64
	publisher  string
	issuers    []string
	thisUpdate time.Time
	nextUpdate time.Time
	floor      uint64
	bases      []Published // published serials to write deltas from, newest first
	res        PublishResult
	written    []string // files renamed into place, removed if Publish fails before recording
	recorded   bool     // the serial is in the registry
}

// prepare decides the serial, names and times.
func (p *publication) prepare(t *txc) error {
	last, err := getU64(t.meta.Get(metaPublished))
	if err != nil {
		return err
	}
	p.serial = last + 1
	if inDir := highestSerial(p.dir); inDir >= p.serial {
		p.serial = inDir + 1
	}
	if p.serial > snapshot.MaxSerial {
		return fmt.Errorf("registry: serial %d is past the largest allowed", p.serial)
	}
	if p.floor, err = getU64(t.meta.Get(metaFloor)); err != nil {
		return err
	}
	p.issuers = slices.Clone(t.iss.names)
	slices.Sort(p.issuers)
	if p.issuers == nil {
		p.issuers = []string{}
	}
	stored := string(t.meta.Get(metaPublisher))
	switch {
	case p.opts.Publisher != "" && stored != "" && p.opts.Publisher != stored:
		return fmt.Errorf("%w: %q, earlier %q", ErrPublisherChanged, p.opts.Publisher, stored)
	case p.opts.Publisher != "":
		p.publisher = p.opts.Publisher
	case stored != "":
		p.publisher = stored
	case len(p.issuers) == 1:
		p.publisher = p.issuers[0]
	default:
		return ErrPublisherRequired
	}
	if err := checkName("publisher", p.publisher, snapshot.MaxNameBytes); err != nil {
		return err
	}
	p.thisUpdate = p.opts.Now.UTC().Truncate(time.Second)
	oldest := uint64(0)
	if p.serial > uint64(p.opts.KeepSerials) {
		oldest = p.serial - uint64(p.opts.KeepSerials)
	}
	c := t.tx.Bucket(bucketSerials).Cursor()
	for k, v := c.Last(); k != nil; k, v = c.Prev() {
		var pub Published
		if err := json.Unmarshal(v, &pub); err != nil {
			return fmt.Errorf("%w: serial record: %v", errCorrupt, err)
		}
		if pub.ThisUpdate.After(p.thisUpdate) {
			p.thisUpdate = pub.ThisUpdate // the clock went back: never go back
		}
		if pub.Serial < oldest {
			break
		}
		if pub.Serial >= p.floor && pub.Serial < p.serial {
			p.bases = append(p.bases, pub)
		}
	}
	p.nextUpdate = p.thisUpdate.Add(p.opts.NextUpdate).Truncate(time.Second)
	p.res = PublishResult{
		Serial: p.serial, Publisher: p.publisher, Issuers: p.issuers,
		ThisUpdate: p.thisUpdate, NextUpdate: p.nextUpdate, Deltas: []PublishedFile{},
	}
	return nil
}

// body is one snapshot body being written to a temporary file; a delta's
// removals wait in a second file until its upserts are done.
type body struct {
	f, rem  *os.File
	buf     *bufio.Writer
	remBuf  *bufio.Writer
	bw      *snapshot.BodyWriter
	info    snapshot.BodyInfo
	base    Published
	baseT   int64
	removes uint64
}

func (p *publication) newBody(delta bool) (*body, error) {
	f, err := os.CreateTemp(p.dir, tempPrefix+"body-*"+tempSuffix)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	b := &body{f: f, buf: bufio.NewWriterSize(f, 256<<10)}
	b.bw = snapshot.NewBodyWriter(b.buf)
	if delta {
		if b.rem, err = os.CreateTemp(p.dir, tempPrefix+"removals-*"+tempSuffix); err != nil {
			b.close()
			return nil, fmt.Errorf("registry: %w", err)
		}
		b.remBuf = bufio.NewWriterSize(b.rem, 64<<10)
	}
	return b, nil
}

func (b *body) close() {
	for _, f := range []*os.File{b.f, b.rem} {
		if f != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}
}

func (b *body) remove(k crl.Key) error {
	var kb [8]byte
	binary.BigEndian.PutUint64(kb[:], uint64(k))
	b.removes++
	_, err := b.remBuf.Write(kb[:])
	return err
}

// finish writes the waiting removals and ends the body.
func (b *body) finish() error {
	if b.rem != nil {
		if err := b.remBuf.Flush(); err != nil {
			return err
		}
		if _, err := b.rem.Seek(0, io.SeekStart); err != nil {
			return err
		}
		br := bufio.NewReaderSize(b.rem, 64<<10)
		var kb [8]byte
		for range b.removes {
			if _, err := io.ReadFull(br, kb[:]); err != nil {
				return err
			}
			if err := b.bw.Remove(crl.Key(binary.BigEndian.Uint64(kb[:]))); err != nil {
				return err
			}
		}
	}
	info, err := b.bw.Close()
	if err != nil {
		return err
	}
	b.info = info
	return b.buf.Flush()
}

// changeStream reads the change log of one serial in key order.
type changeStream struct {
	serial uint64
	it     *tableIter
	k      crl.Key
	ok     bool
}

func (s *changeStream) advance() error {
	prefix := u64(s.serial)
	if s.it.next() && bytes.HasPrefix(s.it.key(), prefix) {
		if len(s.it.key()) != 16 {
			return fmt.Errorf("%w: change log key", errCorrupt)
		}
		s.k, s.ok = crl.Key(binary.BigEndian.Uint64(s.it.key()[8:])), true
		return nil
	}
	s.ok = false
	return s.it.err
}

// write writes the full snapshot and the deltas in one pass over the
// revocation records and the change log.
func (p *publication) write(t *txc) error {
	full, err := p.newBody(false)
	if err != nil {
		return err
	}
	defer full.close()
	deltas := make([]*body, 0, len(p.bases))
	defer func() {
		for _, d := range deltas {
			d.close()
		}
	}()
	for _, base := range p.bases {
		d, err := p.newBody(true)
		if err != nil {
			return err
		}
		d.base, d.baseT = base, base.ThisUpdate.Unix()
		deltas = append(deltas, d)
	}
	// The change log of every serial a base needs: serials above the
	// oldest base.
	var streams []*changeStream
	if len(p.bases) > 0 {
		for next := p.bases[len(p.bases)-1].Serial + 1; ; {
			probe := t.changes.iter(u64(next))
			if !probe.next() {
				if probe.err != nil {
					return probe.err
				}
				break
			}
			s := binary.BigEndian.Uint64(probe.key())
			cs := &changeStream{serial: s, it: t.changes.iter(u64(s))}
			if err := cs.advance(); err != nil {
				return err
			}
			if cs.ok {
				streams = append(streams, cs)
			}
			next = s + 1
		}
	}
	now := p.thisUpdate.Unix()
	lh := t.listHolders()
	var cur []holder
	befores := make(map[uint64][]holder, len(streams))
	for {
		// The next key: the smallest of the records' and the logs'.
		k, have, err := lh.least()
		if err != nil {
			return err
		}
		for _, cs := range streams {
			if cs.ok && (!have || cs.k < k) {
				k, have = cs.k, true
			}
		}
		if !have {
			break
		}
		if cur, err = lh.take(k, cur[:0]); err != nil {
			return err
		}
		clear(befores)
		for _, cs := range streams {
			if cs.ok && cs.k == k {
				hs, err := decodeHolders(cs.it.val())
				if err != nil {
					return err
				}
				befores[cs.serial] = hs
				if err := cs.advance(); err != nil {
					return err
				}
			}
		}
		now1, listed := listEntry(k, cur, now)
		if listed {
			if err := full.bw.Upsert(now1); err != nil {
				return err
			}
		} else if _, was := listEntry(k, cur, 0); was {
			p.res.Expired++
		}
		for _, d := range deltas {
			before := cur
			first := uint64(0)
			for s, hs := range befores {
				if s > d.base.Serial && (first == 0 || s < first) {
					first, before = s, hs
				}
			}
			then, wasListed := listEntry(k, before, d.baseT)
			switch {
			case listed && (!wasListed || then != now1):
				if err := d.bw.Upsert(now1); err != nil {
					return err
				}
			case !listed && wasListed:
				if err := d.remove(k); err != nil {
					return err
				}
			}
		}
	}
	if err := full.finish(); err != nil {
		return fmt.Errorf("registry: encoding the full snapshot: %w", err)
	}
	p.res.ListDigest, p.res.ListCount = full.info.Digest, full.info.Upserts
	f, err := p.writeSnapshot(snapshot.FullName(p.serial), &snapshot.Header{Kind: snapshot.KindFull}, full)
	if err != nil {
		return err
	}
	p.res.Full = *f
	for _, d := range deltas {
		if err := d.finish(); err != nil {
			return fmt.Errorf("registry: encoding the delta from serial %d: %w", d.base.Serial, err)
		}
		if d.info.Length >= full.info.Length {
			p.res.Skipped = append(p.res.Skipped, d.base.Serial)
			continue
		}
		baseDigest, err := snapshot.ParseDigest(d.base.ListDigest)
		if err != nil {
			return fmt.Errorf("%w: serial %d digest: %v", errCorrupt, d.base.Serial, err)
		}
		h := &snapshot.Header{Kind: snapshot.KindDelta, BaseSerial: d.base.Serial, BaseDigest: baseDigest}
		df, err := p.writeSnapshot(snapshot.DeltaName(d.base.Serial, p.serial), h, d)
		if err != nil {
			return err
		}
		p.res.Deltas = append(p.res.Deltas, *df)
	}
	return nil
}

// writeSnapshot writes header and body to name via a temporary file.
func (p *publication) writeSnapshot(name string, h *snapshot.Header, b *body) (*PublishedFile, error) {
	h.Publisher, h.Issuers, h.Serial = p.publisher, p.issuers, p.serial
	h.ThisUpdate, h.NextUpdate = p.thisUpdate, p.nextUpdate
	h.ListDigest, h.ListCount = p.res.ListDigest, p.res.ListCount
	h.Upserts, h.Removals = b.info.Upserts, b.info.Removals
	h.BodyLength, h.BodyDigest = b.info.Length, b.info.Digest
	if _, err := b.f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	length, digest, err := p.writeFile(name, func(w io.Writer) error {
		return snapshot.WriteSnapshot(w, h, p.key, bufio.NewReaderSize(b.f, 256<<10))
	})
	if err != nil {
		return nil, err
	}
	return &PublishedFile{Name: name, Kind: h.Kind, Serial: h.Serial, BaseSerial: h.BaseSerial,
		Length: length, Digest: digest, Upserts: b.info.Upserts, Removals: b.info.Removals}, nil
}

// record files the new serial in the registry: the counter, what the list
// held, the publisher name, an audit record; and drops change logs no
// delta will need.
func (p *publication) record(t *txc) error {
	pub := Published{
		Serial: p.serial, ThisUpdate: p.thisUpdate, NextUpdate: p.nextUpdate,
		ListDigest: p.res.ListDigest.String(), ListCount: p.res.ListCount, Full: p.res.Full.Name,
	}
	v, err := json.Marshal(pub)
	if err != nil {
		return err
	}
	if err := t.tx.Bucket(bucketSerials).Put(u64(p.serial), v); err != nil {
		return err
	}
	if err := t.meta.Put(metaPublished, u64(p.serial)); err != nil {
		return err
	}
	if err := t.meta.Put(metaPublisher, []byte(p.publisher)); err != nil {
		return err
	}
	// A delta from serial s needs the changes filed under s+1 and later.
	// The next publication writes deltas from serials >= serial+1-keep.
	keep := uint64(p.opts.KeepSerials)
	if p.serial > keep {
		floor := p.serial - keep
		if floor > p.floor {
			if _, err := t.changes.deleteBefore(u64(floor + 1)); err != nil {
				return err
			}
			if err := t.meta.Put(metaFloor, u64(floor)); err != nil {
				return err
			}
		}
	}
	rec := &AuditRecord{Action: ActionPublish, Actor: p.actor, Serial: p.serial}
	copy(rec.ListDigest[:], p.res.ListDigest[:])
	if _, err := t.appendAudit(rec, nil); err != nil {
		return err
	}
	p.res.AuditSeq, p.res.AuditHead = rec.Seq, rec.Hash
	return nil
}

// Published is what the registry remembers of one published serial.
type Published struct {
	Serial     uint64    `json:"serial"`
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update"`
	// ListDigest is the body digest of the full snapshot ("sha256:<hex>").
	ListDigest string `json:"list_digest"`
	ListCount  uint64 `json:"list_count"`
	// Full is the file name of the full snapshot.
	Full string `json:"full"`
}

// PublishedSerials returns the serials published so far, oldest first. A
// serial claimed by a publication that failed midway is absent.
func (r *Registry) PublishedSerials() ([]Published, error) {
	var out []Published
	err := r.view(func(t *txc) error {
		return t.tx.Bucket(bucketSerials).ForEach(func(_, v []byte) error {
			var p Published
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("%w: %v", errCorrupt, err)
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}

// Entries calls fn for every entry of the public list at time at, in key
// order: what a full snapshot published then would contain.
func (r *Registry) Entries(at time.Time, fn func(crl.Entry) error) error {
	return r.view(func(t *txc) error { return t.eachListEntry(at.Unix(), fn) })
}

// Temporary files in a publication directory start with tempPrefix and end
// with tempSuffix; Publish removes leftovers of a crashed run.
const (
	tempPrefix = ".crlverify-"
	tempSuffix = ".tmp"
)

// writeFile writes name in dir atomically: a temporary file, synced, then
// renamed, then the directory synced. It returns the file's length and
// SHA-256.
func (p *publication) writeFile(name string, write func(io.Writer) error) (int64, snapshot.Digest, error) {
	var digest snapshot.Digest
	f, err := os.CreateTemp(p.dir, tempPrefix+name+"-*"+tempSuffix)
	if err != nil {
		return 0, digest, fmt.Errorf("registry: %w", err)
	}
	tmp := f.Name()
	fail := func(err error) (int64, snapshot.Digest, error) {
		f.Close()
		os.Remove(tmp)
		return 0, digest, fmt.Errorf("registry: writing %s: %w", name, err)
	}
	h := sha256.New()
	cw := &hashCounter{h: h}
	buf := bufio.NewWriterSize(io.MultiWriter(f, cw), 256<<10)
	if err := write(buf); err != nil {
		return fail(err)
	}
	if err := buf.Flush(); err != nil {
		return fail(err)
	}
	if err := f.Chmod(0o644); err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		return fail(err)
	}
	if err := os.Rename(tmp, filepath.Join(p.dir, name)); err != nil {
		os.Remove(tmp)
		return 0, digest, fmt.Errorf("registry: %w", err)
	}
	p.written = append(p.written, name)
	if err := syncDir(p.dir); err != nil {
		return 0, digest, fmt.Errorf("registry: %w", err)
	}
	h.Sum(digest[:0])
	return cw.n, digest, nil
}

type hashCounter struct {
	h hash.Hash
	n int64
}

func (c *hashCounter) Write(b []byte) (int, error) {
	c.n += int64(len(b))
	return c.h.Write(b)
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// cleanup removes the snapshot files of a publication that failed before
// its serial was recorded: no index names them and the serial will be
// used again.
func (p *publication) cleanup() {
	if p.recorded {
		return
	}
	for _, name := range p.written {
		os.Remove(filepath.Join(p.dir, name))
	}
}

// writeIndex writes the signed index naming this publication's files.
func (p *publication) writeIndex() error {
	ix := &snapshot.Index{
		Publisher: p.publisher, Issuers: p.issuers, Serial: p.serial,
		ThisUpdate: p.thisUpdate, NextUpdate: p.nextUpdate,
		Full:       indexFile(p.res.Full),
		Deltas:     make([]snapshot.IndexFile, 0, len(p.res.Deltas)),
		ListDigest: p.res.ListDigest,
	}
	for _, d := range p.res.Deltas {
		ix.Deltas = append(ix.Deltas, indexFile(d))
	}
	length, digest, err := p.writeFile(snapshot.IndexName, func(w io.Writer) error {
		return snapshot.WriteIndex(w, ix, p.key)
	})
	if err != nil {
		return err
	}
	p.res.Index = PublishedFile{Name: snapshot.IndexName, Serial: p.serial, Length: length, Digest: digest}
	return nil
}

// writeCheckpoint writes the signed checkpoint of the serial: its list and
// the audit head after the publication's record.
func (p *publication) writeCheckpoint() error {
	c := &snapshot.Checkpoint{
		Publisher: p.publisher, Serial: p.serial, ThisUpdate: p.thisUpdate,
		ListDigest: p.res.ListDigest, ListCount: p.res.ListCount,
		AuditSeq: p.res.AuditSeq, AuditHead: snapshot.Digest(p.res.AuditHead),
	}
	name := snapshot.CheckpointName(p.serial)
	length, digest, err := p.writeFile(name, func(w io.Writer) error {
		return snapshot.WriteCheckpoint(w, c, p.key)
	})
	if err != nil {
		return err
	}
	p.res.Checkpoint = PublishedFile{Name: name, Serial: p.serial, Length: length, Digest: digest}
	return nil
}

func indexFile(f PublishedFile) snapshot.IndexFile {
	return snapshot.IndexFile{Name: f.Name, Kind: f.Kind, Serial: f.Serial, BaseSerial: f.BaseSerial, Length: f.Length, Digest: f.Digest}
}

// parseName returns the serial a snapshot file name leads to, and whether
// the name is one Publish writes.
func parseName(name string) (uint64, bool) {
	rest, ok := strings.CutSuffix(name, ".crl")
	if !ok {
		return 0, false
	}
	var target uint64
	switch {
	case strings.HasPrefix(rest, "full-"):
		s, err := strconv.ParseUint(rest[len("full-"):], 10, 64)
		if err != nil || snapshot.FullName(s) != name {
			return 0, false
		}
		target = s
	case strings.HasPrefix(rest, "delta-"):
		b, s, ok := strings.Cut(rest[len("delta-"):], "-")
		if !ok {
			return 0, false
		}
		base, err1 := strconv.ParseUint(b, 10, 64)
		s2, err2 := strconv.ParseUint(s, 10, 64)
		if err1 != nil || err2 != nil || snapshot.DeltaName(base, s2) != name {
			return 0, false
		}
		target = s2
	default:
		return 0, false
	}
	return target, true
}

// highestSerial returns the highest serial a snapshot file in dir leads
// to, 0 if none.
func highestSerial(dir string) uint64 {
	des, _ := os.ReadDir(dir)
	var max uint64
	for _, de := range des {
		if !de.Type().IsRegular() {
			continue
		}
		if s, ok := parseName(de.Name()); ok && s > max {
			max = s
		}
	}
	return max
}

// prune deletes snapshot files whose serial is keep or more below serial.
func prune(dir string, serial uint64, keep int) []string {
	des, _ := os.ReadDir(dir)
	var out []string
	for _, de := range des {
		s, ok := parseName(de.Name())
		if !ok || s+uint64(keep) > serial {
			continue
		}
		if os.Remove(filepath.Join(dir, de.Name())) == nil {
			out = append(out, de.Name())
		}
	}
	return out
}

// ErrPublicationBusy: another publication is being written into the
// directory (by another registry, or another process of a registry whose
// file the publisher does not share). Try again once it is done.
var ErrPublicationBusy = errors.New("registry: another publication is being written into the directory")

// publishLock is the file in a publication directory that a publication
// holds locked (flock) from reading the directory to writing its index.
const publishLock = tempPrefix + "publish.lock"

// lockPublicationDir takes the publication lock of dir without waiting.
func lockPublicationDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, publishLock), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("registry: publication directory: %w", err)
	}
	ok, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("registry: publication directory lock: %w", err)
	}
	if !ok {
		f.Close()
		return nil, fmt.Errorf("%w %s: try again when it is done", ErrPublicationBusy, dir)
	}
	return func() { f.Close() }, nil
}

// removeTemps deletes temporary files left by a publication that crashed
// (the caller holds the publication lock: no other is writing).
func removeTemps(dir string) {
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if n := de.Name(); strings.HasPrefix(n, tempPrefix) && strings.HasSuffix(n, tempSuffix) {
			os.Remove(filepath.Join(dir, n))
		}
	}
}
