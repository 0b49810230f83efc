package registry

import (
	"bufio"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	bolt "go.etcd.io/bbolt"

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
	// DefaultNextUpdate.
	NextUpdate time.Duration
	// KeepSerials is how many recent serials stay reachable: a delta is
	// written from each of the KeepSerials serials before the new one, and
	// files of older serials are deleted. Zero means DefaultKeepSerials.
	KeepSerials int
	// Now is the publication time (this-update); zero means the current
	// time. It never goes below the previous publication's this-update.
	Now time.Time
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
	Serial     uint64          `json:"serial"`
	Publisher  string          `json:"publisher"`
	Issuers    []string        `json:"issuers"`
	ThisUpdate time.Time       `json:"this_update"`
	NextUpdate time.Time       `json:"next_update"`
	ListCount  uint64          `json:"list_count"`
	ListDigest snapshot.Digest `json:"list_digest"`
	Full       PublishedFile   `json:"full"`
	Deltas     []PublishedFile `json:"deltas"`
	// Skipped lists base serials whose delta would have been larger than
	// the full snapshot; verifiers at those serials download the full.
	Skipped []uint64      `json:"skipped,omitempty"`
	Index   PublishedFile `json:"index"`
	// Pruned lists the files deleted as older than KeepSerials.
	Pruned []string `json:"pruned,omitempty"`
}

// Publish writes a new serial into the publication directory dir, signed
// with key (a private Ed25519 or P-256 JWK, as from snapshot.GenerateKey):
//
//  1. the full snapshot of the list, streamed in key order from the
//     registry;
//  2. for each of the KeepSerials serials before it that the registry still
//     has a change log for, a delta straight to the new serial, unless it
//     would be larger than the full snapshot;
//  3. the serial is recorded in the registry;
//  4. the signed index naming the new files;
//  5. files of serials older than KeepSerials are deleted.
//
// Every file is written under a temporary name, synced and renamed, and the
// index comes last: a crash at any point leaves the previous index naming
// complete files. If Publish fails before step 3 the serial is not used;
// after it the serial counts as published and the next call moves on.
//
// The serial is one more than the last published, and more than any serial
// already in dir (as after restoring an old copy of the registry).
// Changes made while Publish runs wait for it and go into the next serial.
func (r *Registry) Publish(dir string, key jwk.Key, opts *PublishOptions) (*PublishResult, error) {
	var o PublishOptions
	if opts != nil {
		o = *opts
	}
	if o.NextUpdate == 0 {
		o.NextUpdate = DefaultNextUpdate
	}
	if o.NextUpdate < time.Second {
		return nil, fmt.Errorf("registry: next update %v is less than a second", o.NextUpdate)
	}
	if o.KeepSerials == 0 {
		o.KeepSerials = DefaultKeepSerials
	}
	if o.KeepSerials < 1 || o.KeepSerials > snapshot.MaxIndexDeltas {
		return nil, fmt.Errorf("registry: keep %d serials: want 1 to %d", o.KeepSerials, snapshot.MaxIndexDeltas)
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if key == nil {
		return nil, errors.New("registry: no signing key")
	}
	if _, err := snapshot.PublicSet(key); err != nil {
		return nil, fmt.Errorf("registry: signing key: %w", err)
	}
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("registry: publication directory: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("registry: publication directory %s is not a directory", dir)
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	removeTemps(dir)
	p := &publication{dir: dir, key: key, opts: &o}
	defer p.cleanup()
	if err := r.db.View(func(tx *bolt.Tx) error {
		if err := p.prepare(tx); err != nil {
			return err
		}
		return p.write(tx)
	}); err != nil {
		return nil, err
	}
	if err := r.db.Update(func(tx *bolt.Tx) error { return r.record(tx, p) }); err != nil {
		return nil, fmt.Errorf("registry: recording serial %d: %w", p.serial, err)
	}
	p.recorded = true // the files stay even if the index fails
	if err := p.writeIndex(); err != nil {
		return nil, err
	}
	p.res.Pruned = prune(dir, p.serial, o.KeepSerials)
	return &p.res, nil
}

// publication is the state of one Publish call.
type publication struct {
	dir  string
	key  jwk.Key
	opts *PublishOptions

	serial     uint64
	publisher  string
	issuers    []string
	thisUpdate time.Time
	nextUpdate time.Time
	floor      uint64
	bases      []Published // published serials to write deltas from
	res        PublishResult
	// fullBodyLength is the body length of the full snapshot, the bound
	// for a delta's.
	fullBodyLength int64
	written        []string // files renamed into place, removed if Publish fails before recording
	recorded       bool     // the serial is in the registry
}

// prepare decides the serial, names and times.
func (p *publication) prepare(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	last, err := getU64(meta.Get(metaPublished))
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
	if p.floor, err = getU64(meta.Get(metaFloor)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketIssuers).ForEach(func(k, _ []byte) error {
		p.issuers = append(p.issuers, string(k))
		return nil
	}); err != nil {
		return err
	}
	if p.issuers == nil {
		p.issuers = []string{}
	}
	stored := string(meta.Get(metaPublisher))
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
	c := tx.Bucket(bucketSerials).Cursor()
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

// write writes the full snapshot and the deltas.
func (p *publication) write(tx *bolt.Tx) error {
	full, err := p.writeSnapshot(snapshot.FullName(p.serial), &snapshot.Header{Kind: snapshot.KindFull},
		func(bw *snapshot.BodyWriter) error {
			return forEachEntry(tx, bw.Upsert)
		}, nil)
	if err != nil {
		return err
	}
	p.res.Full = *full
	for _, base := range p.bases {
		baseDigest, err := snapshot.ParseDigest(base.ListDigest)
		if err != nil {
			return fmt.Errorf("%w: serial %d digest: %v", errCorrupt, base.Serial, err)
		}
		h := &snapshot.Header{Kind: snapshot.KindDelta, BaseSerial: base.Serial, BaseDigest: baseDigest}
		delta, err := p.writeSnapshot(snapshot.DeltaName(base.Serial, p.serial), h,
			func(bw *snapshot.BodyWriter) error {
				return writeDelta(tx, base.Serial, p.serial, bw)
			}, &p.res.Full)
		if err != nil {
			return err
		}
		if delta == nil {
			p.res.Skipped = append(p.res.Skipped, base.Serial)
			continue
		}
		p.res.Deltas = append(p.res.Deltas, *delta)
	}
	return nil
}

// writeDelta writes the changes from base to target: first every entry
// added or changed, then every key removed, each in key order.
func writeDelta(tx *bolt.Tx, base, target uint64, bw *snapshot.BodyWriter) error {
	if err := foldChanges(tx, base, target, func(c Change) error {
		if c.After == nil {
			return nil
		}
		return bw.Upsert(*c.After)
	}); err != nil {
		return err
	}
	return foldChanges(tx, base, target, func(c Change) error {
		if c.After != nil {
			return nil
		}
		return bw.Remove(c.Key)
	})
}

// writeSnapshot encodes a body into a temporary file, then writes header
// and body to name via a temporary file. For a delta, full is the full
// snapshot of the same serial: a delta body at least as long is dropped
// and writeSnapshot returns nil.
func (p *publication) writeSnapshot(name string, h *snapshot.Header, body func(*snapshot.BodyWriter) error, full *PublishedFile) (*PublishedFile, error) {
	bodyFile, err := os.CreateTemp(p.dir, tempPrefix+"body-*"+tempSuffix)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer func() {
		bodyFile.Close()
		os.Remove(bodyFile.Name())
	}()
	buf := bufio.NewWriterSize(bodyFile, 256<<10)
	bw := snapshot.NewBodyWriter(buf)
	if err := body(bw); err != nil {
		return nil, fmt.Errorf("registry: encoding %s: %w", name, err)
	}
	info, err := bw.Close()
	if err == nil {
		err = buf.Flush()
	}
	if err != nil {
		return nil, fmt.Errorf("registry: encoding %s: %w", name, err)
	}
	if h.Kind == snapshot.KindFull {
		p.res.ListDigest, p.res.ListCount = info.Digest, info.Upserts
	} else if full != nil && info.Length >= p.fullBodyLength {
		return nil, nil
	}
	h.Publisher, h.Issuers, h.Serial = p.publisher, p.issuers, p.serial
	h.ThisUpdate, h.NextUpdate = p.thisUpdate, p.nextUpdate
	h.ListDigest, h.ListCount = p.res.ListDigest, p.res.ListCount
	h.Upserts, h.Removals = info.Upserts, info.Removals
	h.BodyLength, h.BodyDigest = info.Length, info.Digest
	if _, err := bodyFile.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	length, digest, err := p.writeFile(name, func(w io.Writer) error {
		return snapshot.WriteSnapshot(w, h, p.key, bufio.NewReaderSize(bodyFile, 256<<10))
	})
	if err != nil {
		return nil, err
	}
	if h.Kind == snapshot.KindFull {
		p.fullBodyLength = info.Length
	}
	return &PublishedFile{Name: name, Kind: h.Kind, Serial: h.Serial, BaseSerial: h.BaseSerial,
		Length: length, Digest: digest, Upserts: info.Upserts, Removals: info.Removals}, nil
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

// record files the new serial in the registry: the counter, what the list
// held, the publisher name; and drops change logs no delta will need.
func (r *Registry) record(tx *bolt.Tx, p *publication) error {
	t, err := r.newTxn(tx, "")
	if err != nil {
		return err
	}
	pub := Published{
		Serial: p.serial, ThisUpdate: p.thisUpdate, NextUpdate: p.nextUpdate,
		ListDigest: p.res.ListDigest.String(), ListCount: p.res.ListCount, Full: p.res.Full.Name,
	}
	v, err := json.Marshal(pub)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketSerials).Put(u64(p.serial), v); err != nil {
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
			if err := pruneChanges(t.changes, floor); err != nil {
				return err
			}
			if err := t.meta.Put(metaFloor, u64(floor)); err != nil {
				return err
			}
		}
	}
	return t.appendAudit(AuditRecord{Action: ActionPublish, Serial: p.serial})
}

// pruneChanges deletes the change logs of serials <= upTo.
func pruneChanges(b *bolt.Bucket, upTo uint64) error {
	c := b.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.First() {
		s, err := getU64(k[:8])
		if err != nil {
			return err
		}
		if s > upTo {
			return nil
		}
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// writeIndex writes the signed index naming this publication's files.
func (p *publication) writeIndex() error {
	ix := &snapshot.Index{
		Publisher: p.publisher, Issuers: p.issuers, Serial: p.serial,
		ThisUpdate: p.thisUpdate, NextUpdate: p.nextUpdate,
		Full:   indexFile(p.res.Full),
		Deltas: make([]snapshot.IndexFile, 0, len(p.res.Deltas)),
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

// removeTemps deletes temporary files left by a publication that crashed.
func removeTemps(dir string) {
	des, _ := os.ReadDir(dir)
	for _, de := range des {
		if n := de.Name(); strings.HasPrefix(n, tempPrefix) && strings.HasSuffix(n, tempSuffix) {
			os.Remove(filepath.Join(dir, n))
		}
	}
}
