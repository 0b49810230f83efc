package registry

import (
	"bytes"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// A table is a sorted map from byte-string keys to byte-string values,
// packed into blocks: each bbolt key/value pair of the table's bucket is one
// block, keyed by the first item key it holds. bbolt spends 16 bytes of
// element header plus the key on every pair; a block of a few dozen items
// spends it once. Blocks are sized so that two full blocks fill one bbolt
// leaf page, which keeps pages full whether the table is written in order
// (bulk imports, append-only logs) or read, modified and written back block
// by block (single changes).
//
// A block is a run of items, each
//
//	uvarint shared   bytes its key shares with the previous item's key
//	uvarint n        length of the rest of the key
//	n bytes          the rest of the key
//	uvarint m        length of the value
//	m bytes          the value
//
// where the first item's "previous key" is the block key itself, so the
// first item has shared = len(block key) and n = 0. Keys strictly increase
// within a block and from block to block.
type table struct {
	b        *bolt.Bucket
	pageSize int
}

// Sizes of bbolt's page header and leaf element header.
const (
	boltPageHeader = 16
	boltLeafElem   = 16
)

// blockLimit is the largest block value for a block key of keyLen bytes:
// two such blocks and their element headers fill one page.
func blockLimit(pageSize, keyLen int) int {
	n := (pageSize-boltPageHeader)/2 - boltLeafElem - keyLen
	if n < 512 {
		n = 512
	}
	return n
}

func newTable(b *bolt.Bucket, pageSize int) table {
	if b.Writable() {
		// Blocks are written in key order or rewritten in place: let bbolt
		// fill its pages.
		b.FillPercent = 1
	}
	return table{b: b, pageSize: pageSize}
}

func commonPrefix(a, b []byte) int {
	n := min(len(a), len(b))
	for i := range n {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}

func appendItem(dst, prev, key, val []byte) []byte {
	shared := commonPrefix(prev, key)
	dst = binary.AppendUvarint(dst, uint64(shared))
	dst = binary.AppendUvarint(dst, uint64(len(key)-shared))
	dst = append(dst, key[shared:]...)
	dst = binary.AppendUvarint(dst, uint64(len(val)))
	return append(dst, val...)
}

// blockReader decodes one block. The key it holds is its own copy; the
// value aliases the block.
type blockReader struct {
	data  []byte
	key   []byte
	val   []byte
	first bool
	err   error
}

func (r *blockReader) reset(blockKey, data []byte) {
	r.data = data
	r.key = append(r.key[:0], blockKey...)
	r.val = nil
	r.first = true
	r.err = nil
}

// next decodes the next item; false at the end of the block or on a
// corrupt block (r.err set).
func (r *blockReader) next() bool {
	if len(r.data) == 0 || r.err != nil {
		return false
	}
	d := r.data
	shared, n := binary.Uvarint(d)
	if n <= 0 || shared > uint64(len(r.key)) {
		return r.fail()
	}
	d = d[n:]
	sl, n := binary.Uvarint(d)
	if n <= 0 || sl > uint64(len(d)-n) {
		return r.fail()
	}
	suffix := d[n : n+int(sl)]
	d = d[n+int(sl):]
	vl, n := binary.Uvarint(d)
	if n <= 0 || vl > uint64(len(d)-n) {
		return r.fail()
	}
	val := d[n : n+int(vl)]
	r.data = d[n+int(vl):]
	// Keys strictly increase: the first differing byte is in the suffix.
	switch {
	case r.first:
		if int(shared) != len(r.key) || sl != 0 {
			return r.fail()
		}
		r.first = false
	case int(shared) < len(r.key):
		if sl == 0 || suffix[0] <= r.key[shared] {
			return r.fail()
		}
	case sl == 0:
		return r.fail()
	}
	r.key = append(r.key[:shared], suffix...)
	r.val = val
	return true
}

func (r *blockReader) fail() bool {
	r.err = fmt.Errorf("%w: bad block", errCorrupt)
	r.data = nil
	return false
}

// seekBlock positions c on the block that holds key if the table has it:
// the last block whose first key is at most key. It returns nil if key
// sorts before every block.
func seekBlock(c *bolt.Cursor, key []byte) (bk, bv []byte) {
	k, v := c.Seek(key)
	if k != nil && bytes.Equal(k, key) {
		return k, v
	}
	if k == nil {
		return c.Last()
	}
	return c.Prev()
}

// get returns the value of key (aliasing the block, valid in the
// transaction) and whether the table holds key.
func (t table) get(key []byte) ([]byte, bool, error) {
	c := t.b.Cursor()
	bk, bv := seekBlock(c, key)
	if bk == nil {
		return nil, false, nil
	}
	var r blockReader
	r.reset(bk, bv)
	for r.next() {
		switch bytes.Compare(r.key, key) {
		case 0:
			return r.val, true, nil
		case 1:
			return nil, false, nil
		}
	}
	return nil, false, r.err
}

// tableIter walks a table's items in key order.
type tableIter struct {
	c       *bolt.Cursor
	r       blockReader
	err     error
	done    bool
	pending bool // r holds an item not yet returned by next
}

// iter returns an iterator at the first item whose key is at least from
// (nil: the first item).
func (t table) iter(from []byte) *tableIter {
	it := &tableIter{c: t.b.Cursor()}
	var bk, bv []byte
	if from == nil {
		bk, bv = it.c.First()
	} else if bk, bv = seekBlock(it.c, from); bk == nil {
		bk, bv = it.c.First()
	}
	if bk == nil {
		it.done = true
		return it
	}
	it.r.reset(bk, bv)
	if from != nil {
		for {
			if !it.advance() {
				return it
			}
			if bytes.Compare(it.r.key, from) >= 0 {
				it.pending = true
				return it
			}
		}
	}
	return it
}

// advance moves r to the next item, crossing blocks.
func (it *tableIter) advance() bool {
	for {
		if it.r.next() {
			return true
		}
		if it.r.err != nil {
			it.err, it.done = it.r.err, true
			return false
		}
		bk, bv := it.c.Next()
		if bk == nil {
			it.done = true
			return false
		}
		it.r.reset(bk, bv)
	}
}

// next moves to the next item. key and val are valid until the following
// call.
func (it *tableIter) next() bool {
	if it.done {
		return false
	}
	if it.pending {
		it.pending = false
		return true
	}
	return it.advance()
}

func (it *tableIter) key() []byte { return it.r.key }
func (it *tableIter) val() []byte { return it.r.val }

// blockBuilder packs sorted items into blocks.
type blockBuilder struct {
	pageSize int
	target   int // 0: fill blocks to the limit
	first    []byte
	prev     []byte
	buf      []byte
	items    int
	out      []builtBlock
}

type builtBlock struct{ key, val []byte }

// add appends an item; keys must increase.
func (bb *blockBuilder) add(key, val []byte) {
	if bb.items > 0 {
		size := len(bb.buf) + 3*binary.MaxVarintLen16 + len(key) + len(val)
		limit := blockLimit(bb.pageSize, len(bb.first))
		if bb.target > 0 && bb.target < limit {
			limit = bb.target
		}
		if size > limit && len(bb.buf) > 0 {
			bb.flush()
		}
	}
	if bb.items == 0 {
		bb.first = append(bb.first[:0], key...)
		bb.prev = append(bb.prev[:0], key...)
		bb.buf = make([]byte, 0, blockLimit(bb.pageSize, len(key)))
	}
	bb.buf = appendItem(bb.buf, bb.prev, key, val)
	bb.prev = append(bb.prev[:0], key...)
	bb.items++
}

func (bb *blockBuilder) flush() {
	if bb.items == 0 {
		return
	}
	bb.out = append(bb.out, builtBlock{key: bytes.Clone(bb.first), val: bb.buf})
	bb.buf, bb.items = nil, 0
}

// take returns the finished blocks and forgets them.
func (bb *blockBuilder) take() []builtBlock {
	out := bb.out
	bb.out = nil
	return out
}

// mut is one change to a table: put key → val, or delete key.
type mut struct {
	key, val []byte
	del      bool
}

type kv struct{ key, val []byte }

// apply makes the changes muts (sorted by key, keys unique) to the table,
// rewriting each block they touch once. A block that grows past its limit
// is split in even parts, except at the end of the table, where blocks are
// filled (appending keeps pages full). It returns how many items were
// added and removed.
func (t table) apply(muts []mut) (added, removed int, err error) {
	for i := 1; i < len(muts); i++ {
		if bytes.Compare(muts[i-1].key, muts[i].key) >= 0 {
			return 0, 0, fmt.Errorf("registry: changes to a table out of order at %x", muts[i].key)
		}
	}
	c := t.b.Cursor()
	var mb blockMerger
	for i := 0; i < len(muts); {
		bk, bv := seekBlock(c, muts[i].key)
		if bk == nil {
			bk, bv = c.First()
		}
		var hi []byte
		if bk != nil {
			hi, _ = c.Next()
		}
		j := i + 1
		for j < len(muts) && (hi == nil || bytes.Compare(muts[j].key, hi) < 0) {
			j++
		}
		last := hi == nil
		// The common case: the block and the changes fit one block; merge
		// them as they stream, without decoding into items.
		size := len(bv)
		for _, m := range muts[i:j] {
			size += len(m.key) + len(m.val) + 3*binary.MaxVarintLen16
		}
		if size <= blockLimit(t.pageSize, len(muts[i].key)) && (bk == nil || size <= blockLimit(t.pageSize, len(bk))) {
			mb.out = make([]byte, 0, size) // handed to bbolt, which keeps it until the commit
			a, d, first, out, err := mb.merge(bk, bv, muts[i:j])
			if err != nil {
				return added, removed, err
			}
			added, removed = added+a, removed+d
			bk = bytes.Clone(bk)
			if bk != nil && (len(out) == 0 || !bytes.Equal(bk, first)) {
				if err := t.b.Delete(bk); err != nil {
					return added, removed, err
				}
			}
			if len(out) > 0 {
				if err := t.b.Put(first, out); err != nil {
					return added, removed, err
				}
			}
			i = j
			continue
		}
		var old []kv
		if bk != nil {
			var r blockReader
			r.reset(bk, bv)
			for r.next() {
				old = append(old, kv{bytes.Clone(r.key), r.val})
			}
			if r.err != nil {
				return added, removed, r.err
			}
			for k := range old {
				old[k].val = bytes.Clone(old[k].val)
			}
			bk = bytes.Clone(bk)
		}
		merged := make([]kv, 0, len(old)+j-i)
		a, ms := 0, muts[i:j]
		// Fill blocks where items are appended at the end of the table, or
		// where the changes outnumber the block's items (a merge): few
		// later inserts will land there. Split evenly elsewhere, leaving
		// room for inserts to come.
		appending := (last && (len(old) == 0 || bytes.Compare(ms[0].key, old[len(old)-1].key) > 0)) || len(ms) >= len(old)
		for _, m := range ms {
			for a < len(old) && bytes.Compare(old[a].key, m.key) < 0 {
				merged = append(merged, old[a])
				a++
			}
			exists := a < len(old) && bytes.Equal(old[a].key, m.key)
			if exists {
				a++
			}
			switch {
			case m.del && exists:
				removed++
			case m.del:
			default:
				if !exists {
					added++
				}
				merged = append(merged, kv{m.key, m.val})
			}
		}
		merged = append(merged, old[a:]...)
		if bk != nil {
			if err := t.b.Delete(bk); err != nil {
				return added, removed, err
			}
		}
		if err := t.putItems(merged, appending); err != nil {
			return added, removed, err
		}
		i = j
	}
	return added, removed, nil
}

// blockMerger encodes a block with changes applied, reusing its buffers
// from block to block.
type blockMerger struct {
	out, first, prev []byte
}

// merge encodes block (bk, bv) with muts applied and returns the counts,
// the new block's first key and its value (empty when nothing is left);
// both are valid until the next call.
func (mb *blockMerger) merge(bk, bv []byte, muts []mut) (added, removed int, first, out []byte, err error) {
	var r blockReader
	have := false
	if bk != nil {
		r.reset(bk, bv)
		have = r.next()
	}
	mb.first, mb.prev = mb.first[:0], mb.prev[:0]
	n := 0
	emit := func(key, val []byte) {
		if n == 0 {
			mb.first = append(mb.first, key...)
			mb.prev = append(mb.prev, key...)
		}
		mb.out = appendItem(mb.out, mb.prev, key, val)
		mb.prev = append(mb.prev[:0], key...)
		n++
	}
	for _, m := range muts {
		for have && bytes.Compare(r.key, m.key) < 0 {
			emit(r.key, r.val)
			have = r.next()
		}
		exists := have && bytes.Equal(r.key, m.key)
		if exists {
			have = r.next()
		}
		switch {
		case m.del && exists:
			removed++
		case m.del:
		default:
			if !exists {
				added++
			}
			emit(m.key, m.val)
		}
	}
	for have {
		emit(r.key, r.val)
		have = r.next()
	}
	if r.err != nil {
		return 0, 0, nil, nil, r.err
	}
	if n == 0 {
		return added, removed, nil, nil, nil
	}
	return added, removed, mb.first, mb.out, nil
}

// putItems writes sorted items as new blocks.
func (t table) putItems(items []kv, fill bool) error {
	if len(items) == 0 {
		return nil
	}
	bb := blockBuilder{pageSize: t.pageSize}
	if !fill {
		// Estimate the encoded size, then aim for even blocks.
		size := 0
		var prev []byte
		for _, it := range items {
			shared := commonPrefix(prev, it.key)
			size += 3 + len(it.key) - shared + len(it.val)
			prev = it.key
		}
		limit := blockLimit(t.pageSize, len(items[0].key))
		if n := (size + limit - 1) / limit; n > 1 {
			bb.target = size/n + 3*binary.MaxVarintLen16 + 16
		}
	}
	for _, it := range items {
		bb.add(it.key, it.val)
	}
	bb.flush()
	for _, blk := range bb.take() {
		if err := t.b.Put(blk.key, blk.val); err != nil {
			return err
		}
	}
	return nil
}

// deleteBefore deletes every item whose key sorts before limit: whole
// blocks where it can, the first items of the block that straddles limit.
func (t table) deleteBefore(limit []byte) (int, error) {
	c := t.b.Cursor()
	var dead [][]byte
	var straddle []byte
	for bk, _ := c.First(); bk != nil && bytes.Compare(bk, limit) < 0; {
		cur := bytes.Clone(bk)
		nk, _ := c.Next()
		if nk != nil && bytes.Compare(nk, limit) <= 0 {
			dead = append(dead, cur)
		} else {
			straddle = cur
		}
		bk = nk
	}
	n := 0
	for _, bk := range dead {
		v := t.b.Get(bk)
		var r blockReader
		r.reset(bk, v)
		for r.next() {
			n++
		}
		if r.err != nil {
			return n, r.err
		}
		if err := t.b.Delete(bk); err != nil {
			return n, err
		}
	}
	if straddle != nil {
		var muts []mut
		it := t.iter(straddle)
		for it.next() && bytes.Compare(it.key(), limit) < 0 {
			muts = append(muts, mut{key: bytes.Clone(it.key()), del: true})
		}
		if it.err != nil {
			return n, it.err
		}
		_, m, err := t.apply(muts)
		n += m
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// count counts the items of a table (a full scan).
func (t table) count() (int, error) {
	n := 0
	it := t.iter(nil)
	for it.next() {
		n++
	}
	return n, it.err
}
