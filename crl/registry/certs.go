package registry

import (
	"bytes"
	"container/heap"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
)

// Imported certificates live in runs. An import writes one new run: three
// sorted tables (the certificates, the beneficiary index and the batch
// index) in a bucket of their own, built over several transactions and
// made live in one last, small one. Lookups consult every live run. Runs
// are merged, newest into the one before, when the newest has grown as
// large (or when there are more than maxRuns), a bounded slice of blocks
// per transaction: a certificate is always in exactly one run.

// The tables of a run.
const (
	indexCerts = iota
	indexBen
	indexBatch
	numRunTables
)

var (
	runTableNames = [numRunTables][]byte{[]byte("c"), []byte("b"), []byte("t")}
	runMetaKey    = []byte("m")
)

// maxRuns bounds the live runs: past it the newest two merge whatever
// their sizes.
const maxRuns = 12

type run struct {
	id   uint64
	b    *bolt.Bucket
	tabs [numRunTables]table
	meta runMeta
}

// runMeta is a run's "m" value: a live byte (1 once the import that wrote
// the run committed) and the item count of each table (uvarints).
type runMeta struct {
	live bool
	n    [numRunTables]uint64
}

func (m *runMeta) encode() []byte {
	b := []byte{0}
	if m.live {
		b[0] = 1
	}
	for _, n := range m.n {
		b = binary.AppendUvarint(b, n)
	}
	return b
}

func decodeRunMeta(v []byte) (runMeta, error) {
	var m runMeta
	d := decoder{b: v}
	m.live = d.byte() == 1
	for i := range m.n {
		m.n[i] = d.uvarint()
	}
	if d.err != nil || len(d.b) != 0 {
		return m, fmt.Errorf("%w: run meta", errCorrupt)
	}
	return m, nil
}

func (t *txc) openRun(id uint64) (*run, error) {
	b := t.tx.Bucket(bucketRuns).Bucket(u64(id))
	if b == nil {
		return nil, fmt.Errorf("%w: run %d missing", errCorrupt, id)
	}
	rn := &run{id: id, b: b}
	for i, name := range runTableNames {
		tb := b.Bucket(name)
		if tb == nil {
			return nil, fmt.Errorf("%w: run %d table %s missing", errCorrupt, id, name)
		}
		rn.tabs[i] = newTable(tb, t.pageSize)
	}
	var err error
	rn.meta, err = decodeRunMeta(b.Get(runMetaKey))
	return rn, err
}

// loadRuns returns the live runs, oldest first.
func (t *txc) loadRuns() ([]*run, error) {
	if t.runsRead {
		return t.runs, nil
	}
	var runs []*run
	err := t.tx.Bucket(bucketRuns).ForEach(func(k, v []byte) error {
		if v != nil || len(k) != 8 {
			return fmt.Errorf("%w: runs bucket", errCorrupt)
		}
		rn, err := t.openRun(binary.BigEndian.Uint64(k))
		if err != nil {
			return err
		}
		if rn.meta.live {
			runs = append(runs, rn)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.runs, t.runsRead = runs, true
	return runs, nil
}

// createRun makes a new run, not live.
func (t *txc) createRun() (uint64, error) {
	id, err := nextID(t.meta)
	if err != nil {
		return 0, err
	}
	b, err := t.tx.Bucket(bucketRuns).CreateBucket(u64(id))
	if err != nil {
		return 0, err
	}
	for _, name := range runTableNames {
		if _, err := b.CreateBucket(name); err != nil {
			return 0, err
		}
	}
	return id, b.Put(runMetaKey, (&runMeta{}).encode())
}

// findCert returns the imported certificate with state key skey.
func (t *txc) findCert(skey []byte) (certRec, bool, error) {
	runs, err := t.loadRuns()
	if err != nil {
		return certRec{}, false, err
	}
	for _, rn := range runs {
		v, ok, err := rn.tabs[indexCerts].get(skey)
		if err != nil {
			return certRec{}, false, err
		}
		if ok {
			c, err := decodeCert(skey, v)
			return c, err == nil, err
		}
	}
	return certRec{}, false, nil
}

// certsOf calls fn for each imported certificate of issuer with list key
// k (more than one only on a key collision).
func (t *txc) certsOf(k crl.Key, issuerNo uint16, fn func(*certRec) error) error {
	var prefix [10]byte
	binary.BigEndian.PutUint64(prefix[:], uint64(k))
	binary.BigEndian.PutUint16(prefix[8:], issuerNo)
	runs, err := t.loadRuns()
	if err != nil {
		return err
	}
	for _, rn := range runs {
		it := rn.tabs[indexCerts].iter(prefix[:])
		for it.next() && bytes.HasPrefix(it.key(), prefix[:]) {
			c, err := decodeCert(it.key(), it.val())
			if err != nil {
				return err
			}
			if err := fn(&c); err != nil {
				return err
			}
		}
		if it.err != nil {
			return it.err
		}
	}
	return nil
}

// scanIndex calls fn with each key of an index table that starts with
// prefix, run by run.
func (t *txc) scanIndex(kind int, prefix []byte, fn func([]byte) error) error {
	runs, err := t.loadRuns()
	if err != nil {
		return err
	}
	for _, rn := range runs {
		it := rn.tabs[kind].iter(prefix)
		for it.next() && bytes.HasPrefix(it.key(), prefix) {
			if err := fn(it.key()); err != nil {
				return err
			}
		}
		if it.err != nil {
			return it.err
		}
	}
	return nil
}

// eachCert calls fn for every imported certificate, in key order across
// runs.
func (t *txc) eachCert(fn func(*certRec) error) error { return t.eachCertFrom(nil, fn) }

// eachCertFrom calls fn for every imported certificate from the one with
// state key from on, in key order across runs.
func (t *txc) eachCertFrom(from []byte, fn func(*certRec) error) error {
	runs, err := t.loadRuns()
	if err != nil {
		return err
	}
	var h iterHeap
	for i, rn := range runs {
		it := rn.tabs[indexCerts].iter(from)
		if it.next() {
			h = append(h, iterAt{it, i})
		} else if it.err != nil {
			return it.err
		}
	}
	heap.Init(&h)
	for len(h) > 0 {
		top := h[0]
		c, err := decodeCert(top.it.key(), top.it.val())
		if err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
		if top.it.next() {
			heap.Fix(&h, 0)
		} else {
			if top.it.err != nil {
				return top.it.err
			}
			heap.Pop(&h)
		}
	}
	return nil
}

type iterAt struct {
	it  *tableIter
	idx int
}

type iterHeap []iterAt

func (h iterHeap) Len() int { return len(h) }
func (h iterHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].it.key(), h[j].it.key()); c != 0 {
		return c < 0
	}
	return h[i].idx < h[j].idx
}
func (h iterHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *iterHeap) Push(x any)   { *h = append(*h, x.(iterAt)) }
func (h *iterHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// forwardFinder looks keys up in one table in increasing key order,
// reading each block once however many keys fall in it.
type forwardFinder struct {
	t     table
	c     *bolt.Cursor
	r     blockReader
	bk    []byte // current block's key
	hi    []byte // next block's key (nil: last block)
	items []kv   // current block's items
	pos   int
	valid bool
}

func newForwardFinder(t table) *forwardFinder { return &forwardFinder{t: t, c: t.b.Cursor()} }

// find returns the value of key; keys must not decrease between calls.
func (f *forwardFinder) find(key []byte) ([]byte, bool, error) {
	if !f.valid || bytes.Compare(key, f.bk) < 0 || (f.hi != nil && bytes.Compare(key, f.hi) >= 0) {
		bk, bv := seekBlock(f.c, key)
		if bk == nil {
			f.valid = false
			return nil, false, nil
		}
		f.bk = append(f.bk[:0], bk...)
		f.hi = nil
		f.items = f.items[:0]
		f.r.reset(bk, bv)
		for f.r.next() {
			f.items = append(f.items, kv{bytes.Clone(f.r.key), f.r.val})
		}
		if f.r.err != nil {
			return nil, false, f.r.err
		}
		if nk, _ := f.c.Next(); nk != nil {
			f.hi = bytes.Clone(nk)
		}
		f.pos, f.valid = 0, true
	}
	for f.pos < len(f.items) && bytes.Compare(f.items[f.pos].key, key) < 0 {
		f.pos++
	}
	if f.pos < len(f.items) && bytes.Equal(f.items[f.pos].key, key) {
		return f.items[f.pos].val, true, nil
	}
	return nil, false, nil
}

// mergeStep moves up to maxBlocks blocks of each table of run src into
// run dst, in one transaction. It reports whether src is empty (and
// deleted).
func (t *txc) mergeStep(srcID, dstID uint64, maxBlocks int) (bool, error) {
	src, err := t.openRun(srcID)
	if err != nil {
		return false, err
	}
	dst, err := t.openRun(dstID)
	if err != nil {
		return false, err
	}
	empty := true
	for k := range numRunTables {
		var muts []mut
		var dead [][]byte
		c := src.tabs[k].b.Cursor()
		for bk, bv := c.First(); bk != nil && len(dead) < maxBlocks; bk, bv = c.Next() {
			var r blockReader
			r.reset(bk, bv)
			for r.next() {
				muts = append(muts, mut{key: bytes.Clone(r.key), val: bytes.Clone(r.val)})
			}
			if r.err != nil {
				return false, r.err
			}
			dead = append(dead, bytes.Clone(bk))
		}
		for _, bk := range dead {
			if err := src.tabs[k].b.Delete(bk); err != nil {
				return false, err
			}
		}
		added, _, err := dst.tabs[k].apply(muts)
		if err != nil {
			return false, err
		}
		if added != len(muts) {
			return false, fmt.Errorf("%w: merging run %d into %d: %d of %d items already there", errCorrupt, srcID, dstID, len(muts)-added, len(muts))
		}
		src.meta.n[k] -= uint64(len(muts))
		dst.meta.n[k] += uint64(len(muts))
		if k, _ := c.First(); k != nil {
			empty = false
		}
	}
	if err := dst.b.Put(runMetaKey, dst.meta.encode()); err != nil {
		return false, err
	}
	if empty {
		return true, t.tx.Bucket(bucketRuns).DeleteBucket(u64(srcID))
	}
	return false, src.b.Put(runMetaKey, src.meta.encode())
}

// nextMerge picks the runs to merge next, if any: the newest into the one
// before when it has grown as large, or when there are too many runs.
// Runs so double in size from newest to oldest, as the digits of a binary
// counter: a certificate is rewritten about log2(total/import) times, and
// a lookup reads at most that many runs.
func (t *txc) nextMerge() (src, dst uint64, ok bool, err error) {
	runs, err := t.loadRuns()
	if err != nil || len(runs) < 2 {
		return 0, 0, false, err
	}
	n := len(runs)
	newest, prev := runs[n-1], runs[n-2]
	if newest.meta.n[indexCerts] >= prev.meta.n[indexCerts] || n > maxRuns {
		return newest.id, prev.id, true, nil
	}
	return 0, 0, false, nil
}

// mergeBlocksPerStep bounds a merge transaction: about 4 MB of blocks per
// table.
const mergeBlocksPerStep = 2048

// compact merges runs until the policy is met, one bounded transaction per
// step, letting other operations in between.
func (r *Registry) compact() error {
	for {
		var src, dst uint64
		var ok bool
		if err := r.view(func(t *txc) error {
			var err error
			src, dst, ok, err = t.nextMerge()
			return err
		}); err != nil || !ok {
			return err
		}
		for done := false; !done; {
			if err := r.update(func(t *txc) error {
				releaseMapping(t.tx.DB(), t.tx.Size())
				var err error
				done, err = t.mergeStep(src, dst, mergeBlocksPerStep)
				return err
			}); err != nil {
				return err
			}
			if r.stepHook != nil {
				r.stepHook("merge")
			}
		}
	}
}

// Compact merges the certificate runs as the merge policy asks. Imports
// do it after they commit; an import interrupted during the merge leaves
// the runs correct but not merged until the next import or Compact.
func (r *Registry) Compact() error { return r.compact() }

// tableWriter packs sorted items into blocks for a table being written
// over several transactions: add items, and flush the finished blocks
// into the table's bucket in each transaction.
type tableWriter struct {
	bb      blockBuilder
	pending []builtBlock
	size    int
	count   uint64
}

func newTableWriter(pageSize int) *tableWriter {
	return &tableWriter{bb: blockBuilder{pageSize: pageSize}}
}

func (w *tableWriter) add(key, val []byte) {
	w.bb.add(key, val)
	w.count++
	for _, b := range w.bb.take() {
		w.size += len(b.key) + len(b.val)
		w.pending = append(w.pending, b)
	}
}

// flush writes the finished blocks into b; final also ends the open
// block.
func (w *tableWriter) flush(b *bolt.Bucket, final bool) error {
	if final {
		w.bb.flush()
		w.pending = append(w.pending, w.bb.take()...)
	}
	b.FillPercent = 1
	for _, blk := range w.pending {
		if err := b.Put(blk.key, blk.val); err != nil {
			return err
		}
	}
	w.pending, w.size = nil, 0
	return nil
}

// txBytes is about how many bytes of new blocks one transaction of a bulk
// write holds.
const txBytes = 8 << 20
