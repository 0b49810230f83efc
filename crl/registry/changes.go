package registry

import (
	"bytes"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
)

// Change is how one list entry differs between two serials: Before is the
// entry at the older serial (nil: not listed), After at the newer one
// (nil: removed).
type Change struct {
	Key    crl.Key
	Before *crl.Entry
	After  *crl.Entry
}

// foldChanges calls fn, in key order, for every list entry that differs
// between serial base and serial target (base < target), folding the
// change log filed under base+1 … target: the state before the first
// change and after the last. Entries changed and changed back are skipped.
func foldChanges(tx *bolt.Tx, base, target uint64, fn func(Change) error) error {
	type stream struct {
		c      *bolt.Cursor
		prefix []byte
		k, v   []byte
	}
	var streams []*stream
	for s := base + 1; s <= target && s > base; s++ {
		st := &stream{c: tx.Bucket(bucketChanges).Cursor(), prefix: u64(s)}
		st.k, st.v = st.c.Seek(st.prefix)
		if st.k != nil && bytes.HasPrefix(st.k, st.prefix) {
			streams = append(streams, st)
		}
	}
	// streams are in serial order; the smallest key among their heads is
	// next. With a handful of kept serials a linear scan beats a heap.
	for len(streams) > 0 {
		var minKey uint64
		for i, st := range streams {
			if k := binary.BigEndian.Uint64(st.k[8:]); i == 0 || k < minKey {
				minKey = k
			}
		}
		key := crl.Key(minKey)
		ch := Change{Key: key}
		first := true
		live := streams[:0]
		for _, st := range streams {
			if binary.BigEndian.Uint64(st.k[8:]) == minKey {
				before, after, err := decodeChange(st.v, key)
				if err != nil {
					return err
				}
				if first {
					ch.Before, first = before, false
				}
				ch.After = after
				st.k, st.v = st.c.Next()
			}
			if st.k != nil && bytes.HasPrefix(st.k, st.prefix) {
				live = append(live, st)
			}
		}
		streams = live
		if sameEntry(ch.Before, ch.After) {
			continue
		}
		if err := fn(ch); err != nil {
			return err
		}
	}
	return nil
}

// Changes calls fn, in key order, for every list entry that differs
// between published serial base and the current (pending) state. It
// returns false if the change log no longer reaches back to base.
func (r *Registry) Changes(base uint64, fn func(Change) error) (bool, error) {
	ok := false
	err := r.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		floor, err := getU64(meta.Get(metaFloor))
		if err != nil {
			return err
		}
		published, err := getU64(meta.Get(metaPublished))
		if err != nil {
			return err
		}
		if base < floor || base > published {
			return nil
		}
		ok = true
		return foldChanges(tx, base, published+1, fn)
	})
	return ok, err
}
