package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bits-and-blooms/bloom/v3"
	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/store/internal/block"
)

// build writes the next store file under a temporary name next to the
// live one: the lists it keeps, copied from the live file (each block
// checked on the way), and the list that changes. Nothing else reads the
// temporary file, so its transactions are not synced one by one: finish
// syncs it once, renames it over the live file and syncs the directory.
type build struct {
	s   *Store
	src *view
	// srcTx reads the live file for the whole build (nil: no file yet).
	srcTx   *bolt.Tx
	tmp     string
	db      *bolt.DB
	tx      *bolt.Tx
	nextGen uint64
	arena   []byte
	// kept are the lists copied as they were, with their block indexes.
	kept map[string]*listView
	// keptSHC are the SMART Health Cards issuers' lists of the new file.
	keptSHC map[string]*shcView
}

// newBuild starts the file that follows v's; extra estimates how many
// bytes the change adds.
func (s *Store) newBuild(v *view, extra int64) (b *build, err error) {
	tf, err := os.CreateTemp(filepath.Dir(s.path), tempPrefix(s.path)+"*")
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	b = &build{s: s, src: v, tmp: tf.Name(), nextGen: 1, kept: map[string]*listView{}, keptSHC: map[string]*shcView{}}
	tf.Close()
	defer func() {
		if err != nil {
			b.abort()
		}
	}()
	size := extra
	if v.f != nil {
		size += v.f.info.Size()
	}
	b.db, err = bolt.Open(b.tmp, 0o600, &bolt.Options{
		NoSync: true, NoFreelistSync: true, FreelistType: bolt.FreelistMapType,
		InitialMmapSize: int(min(max(size+size/4, 1<<20), 1<<30)),
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if v.f != nil {
		if b.srcTx, err = v.f.db.Begin(false); err != nil {
			return nil, fmt.Errorf("store: %w", err)
		}
		if g := b.srcTx.Bucket(bktMeta).Get(keyNextGen); len(g) == 8 {
			b.nextGen = binary.BigEndian.Uint64(g)
		}
		for _, lv := range v.pubs {
			b.nextGen = max(b.nextGen, lv.rec.Gen+1)
		}
	}
	if b.tx, err = b.db.Begin(true); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	meta, err := b.tx.CreateBucket(bktMeta)
	if err != nil {
		return nil, err
	}
	if err := meta.Put(keySchema, u64(schemaVersion)); err != nil {
		return nil, err
	}
	for _, name := range [][]byte{bktPubs, bktLists} {
		if _, err := b.tx.CreateBucket(name); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// gen allocates a generation for a new list.
func (b *build) gen() uint64 {
	g := b.nextGen
	b.nextGen++
	return g
}

// commit ends the current transaction and starts the next.
func (b *build) commit() error {
	err := b.tx.Commit()
	b.tx, b.arena = nil, nil
	if err != nil {
		return err
	}
	b.tx, err = b.db.Begin(true)
	return err
}

// alloc returns n bytes that stay valid until the transaction ends, as
// bbolt requires of keys and values.
func (b *build) alloc(n int) []byte {
	if cap(b.arena)-len(b.arena) < n {
		b.arena = make([]byte, 0, max(1<<20, n))
	}
	start := len(b.arena)
	b.arena = b.arena[:start+n]
	return b.arena[start : start+n : start+n]
}

// abort drops the temporary file.
func (b *build) abort() {
	if b.srcTx != nil {
		b.srcTx.Rollback()
		b.srcTx = nil
	}
	if b.tx != nil {
		b.tx.Rollback()
		b.tx = nil
	}
	if b.db != nil {
		b.db.Close()
		b.db = nil
	}
	os.Remove(b.tmp)
}

// finish makes the built file the live one and returns it, open for
// reading.
func (b *build) finish() (*storeFile, error) {
	if err := b.tx.Bucket(bktMeta).Put(keyNextGen, u64(b.nextGen)); err != nil {
		return nil, err
	}
	if err := b.tx.Commit(); err != nil {
		b.tx = nil
		return nil, err
	}
	b.tx = nil
	// One more commit writes the other meta page: both then name the same
	// tree, so a damaged meta page falls back to the same lists.
	tx, err := b.db.Begin(true)
	if err != nil {
		return nil, err
	}
	size := tx.Size()
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	err = b.db.Close()
	b.db = nil
	if err != nil {
		return nil, err
	}
	// bbolt grows a file ahead of its pages (by up to 16 MiB); the file
	// will not grow again. Then sync it once, all of it.
	if err := b.truncateAndSync(size); err != nil {
		return nil, err
	}
	if b.srcTx != nil {
		b.srcTx.Rollback()
		b.srcTx = nil
	}
	if renameNeedsClose {
		b.src.f.close() // checks that find it closed wait for the new file
	}
	if err := os.Rename(b.tmp, b.s.path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	// Best effort: should the rename be lost in a power cut, the old
	// file, complete, is the store.
	_ = syncDir(filepath.Dir(b.s.path))
	return openFile(b.s.path, b.s.opts.LockTimeout)
}

// self describes the file being built, for reading back what it holds.
func (b *build) self() *storeFile { return &storeFile{path: b.tmp, sums: true} }

// truncateAndSync cuts the closed temporary file to size bytes and
// syncs it.
func (b *build) truncateAndSync(size int64) error {
	f, err := os.OpenFile(b.tmp, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// keep copies every list of the source but publisher drop's, as it is,
// and every SMART Health Cards issuer's list but the one named dropSHC.
func (b *build) keep(drop, dropSHC string) error {
	if err := b.keepSHC(dropSHC); err != nil {
		return err
	}
	for name, lv := range b.src.pubs {
		if name == drop {
			continue
		}
		lv, err := b.copyList(lv, &lv.rec)
		if err != nil {
			return err
		}
		b.kept[name] = lv
	}
	return nil
}

// copyList copies the entries and filter of lv, a list of the source, as
// they are, under the record rec (lv's own, or one that changes only what
// the entries do not depend on), and returns its view in the new file.
func (b *build) copyList(lv *listView, rec *pubRecord) (*listView, error) {
	st, err := b.stager(lv.rec.Gen)
	if err != nil {
		return nil, err
	}
	if err := st.copyAll(lv); err != nil {
		return nil, err
	}
	fences, err := b.putList(rec, lv.bloom)
	if err != nil {
		return nil, err
	}
	if lv.fences == nil || rec != &lv.rec {
		// from a schema 1 file (now with its block index), or changed
		lv = newListView(rec, lv.bloom, fences)
	}
	return lv, nil
}

// srcBucket returns the generation bucket of lv in the live file.
func (b *build) srcBucket(lv *listView) (*bolt.Bucket, error) {
	var bk *bolt.Bucket
	if b.srcTx != nil {
		bk = genBucket(b.srcTx, lv.rec.Gen)
	}
	if bk == nil {
		return nil, b.src.f.corrupt("entries of %q missing", lv.rec.List.Publisher)
	}
	return bk, nil
}

// putList makes rec (with filter bf) a publisher's list in the new file:
// its state, filter and block index (read from its generation bucket,
// which it returns).
func (b *build) putList(rec *pubRecord, bf *bloom.BloomFilter) ([]crl.Key, error) {
	pb, err := b.tx.Bucket(bktPubs).CreateBucket([]byte(rec.List.Publisher))
	if err != nil {
		return nil, err
	}
	raw, err := encodeRecord(rec)
	if err != nil {
		return nil, err
	}
	if err := pb.Put(keyState, raw); err != nil {
		return nil, err
	}
	if err := pb.Put(keyBloom, seal(nil, encodeBloom(bf, rec.Gen))); err != nil {
		return nil, err
	}
	gb := genBucket(b.tx, rec.Gen)
	if gb == nil {
		return nil, errors.New("store: list bucket missing")
	}
	var fences []crl.Key
	c := gb.Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		fences = append(fences, crl.KeyFromBytes(k))
	}
	return fences, pb.Put(keyFences, encodeFences(fences))
}

// stager writes sorted entries into a generation bucket of the new file,
// committing every BatchEntries entries to bound the memory a transaction
// holds.
type stager struct {
	b       *build
	gen     uint64
	bk      *bolt.Bucket
	pending int
	last    crl.Key
	any     bool
	builder block.Builder
}

func (b *build) stager(gen uint64) (*stager, error) {
	bk, err := b.tx.Bucket(bktLists).CreateBucket(u64(gen))
	if err != nil {
		return nil, err
	}
	bk.FillPercent = 1.0
	st := &stager{b: b, gen: gen, bk: bk}
	st.builder = block.Builder{Max: maxBlock, Emit: st.put}
	return st, nil
}

// maxBlock is the largest block the store writes: with its checksum, two
// still fit a 4 KiB page (see block.DefaultMax).
const maxBlock = block.DefaultMax - sumLen

func (st *stager) put(first crl.Key, blk []byte) error {
	kv := st.b.alloc(8 + len(blk) + sumLen)
	binary.BigEndian.PutUint64(kv, uint64(first))
	sealBlock(kv[8:], kv[:8], blk)
	return st.bk.Put(kv[:8], kv[8:])
}

// putRaw stores a block of the live file (k, v) as it is, after checking
// it; a block of a schema 1 file gets its sum.
func (st *stager) putRaw(f *storeFile, k, v []byte) error {
	if len(k) != 8 {
		return f.corrupt("block key of %d bytes", len(k))
	}
	blk, err := f.openBlock(k, v)
	if err != nil {
		return err
	}
	n, err := block.Count(blk)
	if err != nil {
		return f.corrupt("block %x: %v", k, err)
	}
	if len(blk) > maxBlock {
		// A block of a schema 1 file, too large to take its checksum and
		// stay two to a page: encoded again.
		es, err := f.decodeBlock(nil, k, v)
		if err != nil {
			return err
		}
		if err := st.flush(); err != nil {
			return err
		}
		st.any = false
		for _, e := range es {
			if err := st.add(e); err != nil {
				return err
			}
		}
		return st.flush()
	}
	if f.sums {
		// Checked: stored as it is, sum included.
		kv := st.b.alloc(len(k) + len(v))
		copy(kv, k)
		copy(kv[len(k):], v)
		err = st.bk.Put(kv[:len(k)], kv[len(k):])
	} else {
		err = st.put(crl.KeyFromBytes(k), blk)
	}
	if err != nil {
		return err
	}
	st.any = false
	return st.counted(n)
}

// add appends e; keys must strictly increase.
func (st *stager) add(e crl.Entry) error {
	if st.any && e.Key <= st.last {
		return fmt.Errorf("%w: keys out of order", snapshot.ErrMalformed)
	}
	st.any, st.last = true, e.Key
	if err := st.builder.Add(e); err != nil {
		return err
	}
	return st.counted(1)
}

func (st *stager) counted(n int) error {
	st.pending += n
	if st.pending >= st.b.s.opts.BatchEntries {
		return st.commit()
	}
	return nil
}

// commit ends the current batch and starts the next.
func (st *stager) commit() error {
	st.pending = 0
	if err := st.b.commit(); err != nil {
		return err
	}
	st.bk = genBucket(st.b.tx, st.gen)
	st.bk.FillPercent = 1.0
	return nil
}

// flush writes the entries the builder holds.
func (st *stager) flush() error { return st.builder.Flush() }

// copyAll copies lv's blocks from the live file, checking each and that
// they are the blocks its index names.
func (st *stager) copyAll(lv *listView) error {
	f := st.b.src.f
	src, err := st.b.srcBucket(lv)
	if err != nil {
		return err
	}
	n := 0
	c := src.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if lv.fences != nil && (n >= len(lv.fences) || crl.KeyFromBytes(k) != lv.fences[n]) {
			return f.corrupt("blocks of %q differ from their index", lv.rec.List.Publisher)
		}
		n++
		if err := st.putRaw(f, k, v); err != nil {
			return err
		}
	}
	if lv.fences != nil && n != len(lv.fences) {
		return f.corrupt("blocks of %q differ from their index", lv.rec.List.Publisher)
	}
	return nil
}
