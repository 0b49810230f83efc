package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
)

// A revocation import is a bulk operation staged as blocks. With the file
// held, the import decides every change as it reads the sorted rows
// (once, at one time) and builds what the changes make of each table
// they touch as blocks of that table, in key order: the revocation
// records, the audit items, the change log entries, the chronological
// index items to add and to remove. A block whose key range its table
// holds nothing in (every block, in a fresh registry; the audit items,
// always) goes straight into the table, and is listed in the staging
// table; any other block, and every block of index items to remove, goes
// into the staging table, one sub-bucket per table. Until the commit the listed blocks are removed with the staging
// table: when a row is refused, or by the next process to open the file
// after a crash. The commit records the operation with its audit record
// complete (items root included); applying it merges the staged blocks
// into their tables, about bulkChunk changes per transaction, deleting
// them from the staging table in the same transaction; the last
// transaction appends the audit record and changes the counters.

// stagedUnchrono names the sub-bucket of chronological index items to
// remove.
var stagedUnchrono = []byte("unchrono")

// stagedTables are the sub-buckets of a block-staged operation's staging
// table, in the order they are applied: each but the last holds blocks
// of the table of the same name.
var stagedTables = [][]byte{bucketState, bucketItems, bucketChanges, bucketChrono, stagedUnchrono}

// stagedDirect names the sub-bucket listing the blocks put straight into
// their tables, each as its table's index in stagedTables (1 byte) and
// its key: what removing an operation that was not committed removes.
var stagedDirect = []byte("direct")

// undoBatch bounds the blocks one transaction removes.
const undoBatch = 4096

// takeBlocks returns the blocks w finished (with final, all it holds)
// and forgets them.
func takeBlocks(w *tableWriter, final bool) []builtBlock {
	if final {
		w.bb.flush()
	}
	blocks := append(w.pending, w.bb.take()...)
	w.pending, w.size = nil, 0
	return blocks
}

// putStaged writes blocks of table i of stagedTables, sorted: each into
// the table itself, listed in the staging table as put there, where the
// table holds no key in its range (always, for a table written in key
// order from its end: a fresh registry, the audit items); into the
// staging table elsewhere, and for removals.
func putStaged(tx *bolt.Tx, stage uint64, i int, blocks []builtBlock) error {
	if len(blocks) == 0 {
		return nil
	}
	sb := stageBucket(tx, stage)
	staged, direct := sb.Bucket(stagedTables[i]), sb.Bucket(stagedDirect)
	staged.FillPercent, direct.FillPercent = 1, 1
	if bytes.Equal(stagedTables[i], stagedUnchrono) {
		for _, b := range blocks {
			if err := staged.Put(b.key, b.val); err != nil {
				return err
			}
		}
		return nil
	}
	dst := newTable(tx.Bucket(stagedTables[i]), tx.DB().Info().PageSize)
	c := dst.b.Cursor()
	// Past the table's last key, every block goes in as it is.
	tail, err := dst.tail(c)
	if err != nil {
		return err
	}
	for _, b := range blocks {
		free := tail == nil || bytes.Compare(b.key, tail) > 0
		if !free {
			if free, err = dst.vacant(c, kv(b)); err != nil {
				return err
			}
		}
		if !free {
			if err := staged.Put(b.key, b.val); err != nil {
				return err
			}
			continue
		}
		if err := dst.b.Put(b.key, b.val); err != nil {
			return err
		}
		if err := direct.Put(append([]byte{byte(i)}, b.key...), nil); err != nil {
			return err
		}
		if tail != nil && bytes.Compare(b.key, tail) > 0 {
			tail = nil
		}
	}
	return nil
}

// dropStaged removes a staging table no committed operation refers to,
// after the blocks its operation put straight into their tables, a few
// thousand per transaction.
func (r *Registry) dropStaged(db *bolt.DB, stage uint64) error {
	for done := false; !done; {
		err := db.Update(func(tx *bolt.Tx) error {
			sb := stageBucket(tx, stage)
			if sb == nil {
				done = true
				return nil
			}
			if direct := sb.Bucket(stagedDirect); direct != nil {
				c := direct.Cursor()
				n := 0
				for k, _ := c.First(); k != nil; k, _ = c.First() {
					if n == undoBatch {
						return nil
					}
					if len(k) < 2 || int(k[0]) >= len(stagedTables)-1 {
						return fmt.Errorf("%w: staging table %d lists a block %x", errCorrupt, stage, k)
					}
					if err := tx.Bucket(stagedTables[k[0]]).Delete(k[1:]); err != nil {
						return err
					}
					if err := c.Delete(); err != nil {
						return err
					}
					n++
				}
			}
			done = true
			return tx.Bucket(bucketStage).DeleteBucket(u64(stage))
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// importRevocations stages, commits and applies a revocation import whose
// rows have been read and sorted; the file is held.
func (r *Registry) importRevocations(db *bolt.DB, im *importer, sorted *mergeIter, res *ImportResult) error {
	var iss *issuerTable
	var head auditHead
	var pending uint64
	anyLogged := false // the change log has entries for the pending serial
	if err := db.View(func(tx *bolt.Tx) error {
		t, err := r.newTxc(tx)
		if err != nil {
			return err
		}
		iss, pending = t.iss, t.pending
		it := t.changes.iter(u64(pending))
		anyLogged = it.next() && bytes.HasPrefix(it.key(), u64(pending))
		if it.err != nil {
			return it.err
		}
		head, err = t.auditHead()
		return err
	}); err != nil {
		return err
	}
	nums, fresh, err := im.issuerMap(iss)
	if err != nil {
		return err
	}
	allNames := append(slices.Clone(iss.names), fresh...)
	// The import's audit record follows those adding its new issuers.
	seq := head.seq + 1 + uint64(len(fresh))
	now := r.clock().Unix()

	var stage uint64
	if err := db.Update(func(tx *bolt.Tx) error {
		var err error
		if stage, err = nextID(tx.Bucket(bucketMeta)); err != nil {
			return err
		}
		sb, err := tx.Bucket(bucketStage).CreateBucket(u64(stage))
		if err != nil {
			return err
		}
		for _, name := range append(stagedTables, stagedDirect) {
			if _, err := sb.CreateBucket(name); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	committed := false
	defer func() {
		if !committed {
			_ = r.dropStaged(db, stage)
		}
	}()

	ps := db.Info().PageSize
	w := make([]*tableWriter, len(stagedTables))
	for i := range w {
		w[i] = newTableWriter(ps)
	}
	flush := func(tx *bolt.Tx, final bool, tables ...int) error {
		for _, i := range tables {
			if err := putStaged(tx, stage, i, takeBlocks(w[i], final)); err != nil {
				return err
			}
		}
		return nil
	}
	pendingBytes := func() int { return w[0].size + w[1].size + w[2].size }
	// Each list key's changes to the chronological index are sorted apart,
	// and staged after the rest.
	chronoS := newSorter(im.dir.path, im.o.MemoryBytes/4)
	defer chronoS.close()
	// The items' hashes go into the tree on another goroutine.
	var tree merkle
	leaves := newLeafHasher(&tree)
	defer leaves.wait()
	var delta [StatusLifted + 1]int64 // records by status
	matched, changed := 0, 0
	g := newGroupFeed(&groupReader{it: sorted, nums: nums})
	defer g.stop()
	var before, after []holderState
	var kb, sk, key, val []byte
	for done := false; !done; {
		err := db.Update(func(tx *bolt.Tx) error {
			releaseMapping(db, tx.Size())
			t, err := r.newTxc(tx)
			if err != nil {
				return err
			}
			states := newListRecords(t.state)
			logged := newForwardFinder(t.changes)
			var mem slab
			for pendingBytes() < txBytes && !im.full() {
				grp, ok := g.groups()
				if !ok {
					if g.err != nil {
						return g.err
					}
					done = true
					break
				}
				k := grp[0].key
				kb = binary.BigEndian.AppendUint64(kb[:0], uint64(k))
				if before, err = states.records(kb, before[:0]); err != nil {
					return err
				}
				after = append(after[:0], before...)
				changedKey := false
				for i, rec := range grp {
					if i+1 < len(grp) && grp[i+1].issuerNo == rec.issuerNo && bytes.Equal(grp[i+1].id, rec.id) {
						res.Replaced++ // a later row for the same certificate wins
						continue
					}
					op, err := decodeStagedOp(rec.val)
					if err != nil {
						return err
					}
					op.line = rec.line
					sk = rec.appendSkey(sk[:0])
					skey := mem.copy(sk)
					issuer := allNames[rec.issuerNo-1]
					tg := target{key: k, issuerNo: rec.issuerNo, issuer: issuer, id: string(rec.id), skey: skey}
					idx := -1
					for x := range after {
						if bytes.Equal(after[x].skey, skey) {
							idx = x
							st := after[x].st
							tg.st = &st
						}
					}
					st, ch, err := op.decide(&tg, now)
					if err != nil {
						im.badRow(rec.line, err)
						continue
					}
					matched++
					if !ch || len(im.bad.Rows) > 0 {
						continue
					}
					changed++
					changedKey = true
					st.LastSeq = seq
					if idx >= 0 {
						after[idx].st = st
					} else {
						after = append(after, holderState{skey: skey, st: st})
					}
					if tg.st != nil {
						delta[tg.st.Status]--
					}
					delta[st.Status]++
					val = st.appendTo(val[:0])
					w[0].add(skey, val)
					leaves.end(appendRevItem(leaves.begin(), issuer, tg.id, &st))
					key = binary.BigEndian.AppendUint64(key[:0], seq)
					key = binary.BigEndian.AppendUint32(key, uint32(changed-1))
					item := stateItem(rec.issuerNo, tg.id, &st)
					w[1].add(key, item.encode())
				}
				if !changedKey || len(im.bad.Rows) > 0 {
					continue
				}
				// The change log keeps the list key's records before its
				// first change in the pending serial.
				key = binary.BigEndian.AppendUint64(key[:0], pending)
				key = append(key, kb...)
				found := false
				if anyLogged {
					if _, found, err = logged.find(key); err != nil {
						return err
					}
				}
				if !found {
					val = appendHolders(val[:0], before)
					w[2].add(key, val)
				}
				if err := sortChronoDiff(chronoS, k, before, after); err != nil {
					return err
				}
			}
			if im.full() {
				done = true
			}
			if len(im.bad.Rows) > 0 {
				return nil
			}
			return flush(tx, done, 0, 1, 2)
		})
		if err != nil {
			return err
		}
		im.progress(ImportProgress{Phase: "writing", Written: int64(matched)})
		if r.stepHook != nil {
			r.stepHook("stage")
		}
	}
	if len(im.bad.Rows) > 0 {
		if im.full() {
			im.bad.Truncated = true
		}
		return im.bad
	}
	leaves.wait()
	res.Changed, res.Unchanged = int64(changed), int64(matched-changed)
	if changed == 0 {
		return nil // nothing to do, nothing to record
	}

	// The chronological index changes, in key order; where a key repeats
	// (two records of a list key at one time), once.
	it, err := chronoS.sorted()
	if err != nil {
		return err
	}
	defer it.close()
	var last []byte
	for done := false; !done; {
		err := db.Update(func(tx *bolt.Tx) error {
			for w[3].size+w[4].size < txBytes {
				if !it.next() {
					done = true
					break
				}
				if last != nil && bytes.Equal(it.key, last) {
					continue
				}
				last = append(last[:0], it.key...)
				if len(it.val) == 1 && it.val[0] == 1 {
					w[3].add(it.key, nil)
				} else {
					w[4].add(it.key, nil)
				}
			}
			if it.err != nil {
				return it.err
			}
			return flush(tx, done, 3, 4)
		})
		if err != nil {
			return err
		}
	}

	// Commit: the new issuers, the operation.
	in := bulkIntent{Stage: stage, Seq: seq, Blocks: true, Delta: delta[:], Matched: matched, Changed: changed,
		Unchanged: matched - changed, Record: AuditRecord{Action: ActionRevoke, Actor: im.o.Actor, Source: im.o.Source,
			Note: im.o.Note, ItemCount: tree.N, ItemsRoot: tree.root()}}
	if err := db.Update(func(tx *bolt.Tx) error {
		return runTxc(r, tx, func(t *txc) error {
			for i, name := range fresh {
				n, err := t.addIssuer(name, im.o.Actor)
				if err != nil {
					return err
				}
				if int(n) != len(iss.names)+i+1 {
					return fmt.Errorf("%w: issuer numbering changed during the import", errCorrupt)
				}
			}
			if t.nextSeq() != seq || t.pending != pending {
				return fmt.Errorf("%w: audit trail or publication moved during the import", errCorrupt)
			}
			v, err := json.Marshal(&in)
			if err != nil {
				return err
			}
			return t.meta.Put(metaBulk, v)
		})
	}); err != nil {
		return err
	}
	committed = true
	var out Outcome
	if err := r.applyBulk(db, &in, &out); err != nil {
		return err
	}
	res.AuditSeq = out.AuditSeq
	return nil
}

// blockStep moves the next staged blocks, bulkChunk × 64 bytes of them
// (2 MiB, about bulkChunk changes), into their tables and out of the
// staging table; once none are left it appends the audit record, updates
// the counters and clears the operation.
func (t *txc) blockStep(in *bulkIntent, out *Outcome) (bool, error) {
	sb := stageBucket(t.tx, in.Stage)
	if sb == nil {
		return false, fmt.Errorf("%w: staging table %d of a bulk operation missing", errCorrupt, in.Stage)
	}
	budget := bulkChunk * 64
	for _, name := range stagedTables {
		src := sb.Bucket(name)
		if src == nil {
			return false, fmt.Errorf("%w: staging table %d lacks %q", errCorrupt, in.Stage, name)
		}
		// The blocks stay where they are, in pages this transaction frees
		// (bbolt copies them before it would map the file anew).
		var blocks []kv
		c := src.Cursor()
		for k, v := c.First(); k != nil && budget > 0; k, v = c.Next() {
			blocks = append(blocks, kv{k, v})
			budget -= len(k) + len(v)
		}
		if len(blocks) == 0 {
			continue
		}
		for _, b := range blocks {
			if err := src.Delete(b.key); err != nil {
				return false, err
			}
		}
		dst, remove := name, false
		if bytes.Equal(name, stagedUnchrono) {
			dst, remove = bucketChrono, true
		}
		if err := newTable(t.tx.Bucket(dst), t.pageSize).putBlocks(blocks, remove); err != nil {
			return false, err
		}
		if budget <= 0 {
			return false, nil
		}
	}
	head, err := t.auditHead()
	if err != nil {
		return false, err
	}
	if head.seq+1 != in.Seq {
		return false, fmt.Errorf("%w: bulk operation expects audit record %d, the trail is at %d", errCorrupt, in.Seq, head.seq)
	}
	rec := in.Record
	if err := t.putRecord(&rec); err != nil {
		return false, err
	}
	if len(in.Delta) != int(StatusLifted)+1 {
		return false, fmt.Errorf("%w: bulk operation counters", errCorrupt)
	}
	for s := StatusRevoked; s <= StatusLifted; s++ {
		c := t.counts.status(s)
		*c = uint64(int64(*c) + in.Delta[s])
	}
	t.dirty = true
	if out != nil {
		out.Matched, out.Changed, out.Unchanged, out.AuditSeq = in.Matched, in.Changed, in.Unchanged, rec.Seq
	}
	if err := t.tx.Bucket(bucketStage).DeleteBucket(u64(in.Stage)); err != nil {
		return false, err
	}
	return true, t.meta.Delete(metaBulk)
}

// putBlocks writes staged blocks (sorted, each built for this table) into
// the table: a block as it is where the table holds no key in its range,
// its items merged into the table's blocks elsewhere. With remove, the
// blocks' keys are removed instead.
func (t table) putBlocks(blocks []kv, remove bool) error {
	c := t.b.Cursor()
	// tail is the table's last key: blocks past it (the common case) go in
	// as they are, and so do all blocks after them.
	tail, err := t.tail(c)
	if err != nil {
		return err
	}
	var muts []mut
	merge := func() error {
		if len(muts) == 0 {
			return nil
		}
		_, _, err := t.apply(muts)
		muts = muts[:0]
		if err == nil {
			tail, err = t.tail(c)
		}
		return err
	}
	var r blockReader
	for _, b := range blocks {
		if !remove {
			free := tail == nil || bytes.Compare(b.key, tail) > 0
			if !free {
				var err error
				if free, err = t.vacant(c, b); err != nil {
					return err
				}
			}
			if free {
				if err := merge(); err != nil {
					return err
				}
				if err := t.b.Put(b.key, b.val); err != nil {
					return err
				}
				if tail != nil && bytes.Compare(b.key, tail) > 0 {
					tail = nil // appending from here on
				}
				continue
			}
		}
		r.reset(b.key, b.val)
		for r.next() {
			muts = append(muts, mut{key: bytes.Clone(r.key), val: r.val, del: remove})
		}
		if r.err != nil {
			return r.err
		}
	}
	return merge()
}

// tail returns the table's last key (nil when it is empty).
func (t table) tail(c *bolt.Cursor) ([]byte, error) {
	bk, bv := c.Last()
	if bk == nil {
		return nil, nil
	}
	k, err := lastKey(bk, bv)
	return bytes.Clone(k), err
}

// vacant reports whether the table holds no key in the range of block b.
func (t table) vacant(c *bolt.Cursor, b kv) (bool, error) {
	hi, err := lastKey(b.key, b.val)
	if err != nil {
		return false, err
	}
	bk, bv := seekBlock(c, hi)
	switch {
	case bk == nil:
		return true, nil
	case bytes.Compare(bk, b.key) >= 0:
		return false, nil
	}
	last, err := lastKey(bk, bv)
	return bytes.Compare(last, b.key) < 0, err
}

// lastKey returns the last item key of a block (its reader's buffer).
func lastKey(bk, bv []byte) ([]byte, error) {
	var r blockReader
	r.reset(bk, bv)
	for r.next() {
	}
	return r.key, r.err
}

// appendHolders appends the change log value of records hs (their
// revoked and suspended ones).
func appendHolders(b []byte, hs []holderState) []byte {
	n := 0
	for i := range hs {
		if indexed(&hs[i].st) {
			n++
		}
	}
	b = binary.AppendUvarint(b, uint64(n))
	for i := range hs {
		if st := &hs[i].st; indexed(st) {
			b = append(b, byte(st.Status), byte(st.Reason))
			b = binary.AppendUvarint(b, uint64(st.RevokedAt))
			b = binary.AppendUvarint(b, uint64(st.Until))
		}
	}
	return b
}

// sortChronoDiff adds to s the chronological index changes of list key k
// when its records go from before to after, as chronoDiff returns them:
// each keyed by its index key, with the value 1 (add) or 0 (remove).
func sortChronoDiff(s *sorter, k crl.Key, before, after []holderState) error {
	var key [16]byte
	binary.BigEndian.PutUint64(key[8:], uint64(k))
	for i := range before {
		if st := &before[i].st; indexed(st) && !indexedAt(after, st.RevokedAt) {
			binary.BigEndian.PutUint64(key[:8], uint64(st.RevokedAt))
			if err := s.add(key[:], []byte{0}); err != nil {
				return err
			}
		}
	}
	for i := range after {
		if st := &after[i].st; indexed(st) && !indexedAt(before, st.RevokedAt) {
			binary.BigEndian.PutUint64(key[:8], uint64(st.RevokedAt))
			if err := s.add(key[:], []byte{1}); err != nil {
				return err
			}
		}
	}
	return nil
}

// indexed reports whether the chronological index holds a record: it is
// revoked or suspended.
func indexed(st *revState) bool { return st.Status == StatusRevoked || st.Status == StatusSuspended }

// indexedAt reports whether one of hs is indexed at revoked-at at.
func indexedAt(hs []holderState, at int64) bool {
	for i := range hs {
		if indexed(&hs[i].st) && hs[i].st.RevokedAt == at {
			return true
		}
	}
	return false
}

// listRecords reads the revocation records of list keys asked for in
// increasing order: each block of the state table is read at most once,
// and blocks no asked key falls in are skipped.
type listRecords struct {
	c       *bolt.Cursor
	r       blockReader
	started bool
	have    bool   // r is at an item not yet passed
	hi, hiv []byte // the block after r's (hi nil: r's is the last)
	mem     slab
}

func newListRecords(t table) *listRecords { return &listRecords{c: t.b.Cursor()} }

func (l *listRecords) load(bk, bv []byte) {
	l.r.reset(bk, bv)
	l.hi, l.hiv = l.c.Next()
	l.have = l.r.next()
}

// records appends the records of list key kb (8 bytes) to out; their
// keys are valid until the transaction ends.
func (l *listRecords) records(kb []byte, out []holderState) ([]holderState, error) {
	if !l.started || (l.hi != nil && bytes.Compare(kb, l.hi) >= 0) {
		l.started = true
		bk, bv := seekBlock(l.c, kb)
		if bk == nil {
			bk, bv = l.c.First()
		}
		if bk == nil {
			l.have, l.hi = false, nil
			return out, nil
		}
		l.load(bk, bv)
	}
	for {
		// A key with prefix kb sorts after kb.
		for l.have && bytes.Compare(l.r.key, kb) < 0 {
			l.have = l.r.next()
		}
		for l.have && bytes.HasPrefix(l.r.key, kb) {
			st, err := decodeState(l.r.val)
			if err != nil {
				return out, err
			}
			out = append(out, holderState{skey: l.mem.copy(l.r.key), st: st})
			l.have = l.r.next()
		}
		if l.r.err != nil {
			return out, l.r.err
		}
		if l.have || l.hi == nil || !bytes.HasPrefix(l.hi, kb) {
			return out, nil
		}
		l.load(l.hi, l.hiv) // kb's records go on in the next block
	}
}

// slab hands out copies of byte strings carved from large buffers: the
// many small keys one transaction keeps, in few allocations.
type slab struct{ buf []byte }

func (s *slab) copy(b []byte) []byte {
	if cap(s.buf)-len(s.buf) < len(b) {
		s.buf = make([]byte, 0, max(len(b), 64<<10))
	}
	n := len(s.buf)
	s.buf = append(s.buf, b...)
	return s.buf[n:len(s.buf):len(s.buf)]
}

// leafHasher adds leaves to a Merkle tree on a goroutine of its own, a
// batch at a time, in order.
type leafHasher struct {
	m     *merkle
	batch []byte // leaves, each after a 4-byte length
	at    int    // where the leaf being added starts in batch
	work  chan []byte
	free  chan []byte
	done  chan struct{}
	ended bool
}

const leafBatch = 64 << 10

func newLeafHasher(m *merkle) *leafHasher {
	h := &leafHasher{m: m, work: make(chan []byte, 2), free: make(chan []byte, 3), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		for b := range h.work {
			for rest := b; len(rest) > 0; {
				n := binary.BigEndian.Uint32(rest)
				h.m.addLeafHash(sha256.Sum256(rest[4 : 4+n]))
				rest = rest[4+n:]
			}
			select {
			case h.free <- b[:0]:
			default:
			}
		}
	}()
	return h
}

// begin returns the buffer to append the next leaf to (an item's
// canonical encoding); end takes it back.
func (h *leafHasher) begin() []byte {
	if h.batch == nil {
		select {
		case h.batch = <-h.free:
		default:
			h.batch = make([]byte, 0, leafBatch+4096)
		}
	}
	h.at = len(h.batch)
	return append(h.batch, 0, 0, 0, 0, 0) // the length, then 0x00
}

func (h *leafHasher) end(b []byte) {
	h.batch = b
	binary.BigEndian.PutUint32(h.batch[h.at:], uint32(len(h.batch)-h.at-4))
	if len(h.batch) >= leafBatch {
		h.work <- h.batch
		h.batch = nil
	}
}

// wait hands over the last batch and waits for the tree to take every
// leaf; the tree is the caller's again.
func (h *leafHasher) wait() {
	if h.ended {
		return
	}
	h.ended = true
	if len(h.batch) > 0 {
		h.work <- h.batch
	}
	close(h.work)
	<-h.done
}

// groupFeed reads the groups of a groupReader on a goroutine of its own,
// a batch ahead of its caller: reading and merging the sorted input runs
// beside the work on each group.
type groupFeed struct {
	batches chan *groupBatch
	free    chan *groupBatch
	quit    chan struct{}
	done    chan struct{}
	cur     *groupBatch
	next    int // the next group of cur
	ptrs    []*sortedRec
	err     error
	stopped bool
}

// groupBatch is a run of groups copied out of the reader: the records,
// their ids and values in arena, and where each group ends.
type groupBatch struct {
	arena []byte
	spans [][3]int // id start, id end (value start), value end in arena
	recs  []sortedRec
	ends  []int
	err   error // the reader's error, after the last group
	last  bool  // no group follows
}

const feedBatch = 8192 // records, about, in a batch

func newGroupFeed(g *groupReader) *groupFeed {
	f := &groupFeed{batches: make(chan *groupBatch, 2), free: make(chan *groupBatch, 4),
		quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for last := false; !last; {
			var b *groupBatch
			select {
			case b = <-f.free:
				b.arena, b.spans, b.recs, b.ends = b.arena[:0], b.spans[:0], b.recs[:0], b.ends[:0]
			default:
				b = &groupBatch{}
			}
			for len(b.recs) < feedBatch {
				grp, ok := g.next()
				if !ok {
					b.err, b.last, last = g.err, true, true
					break
				}
				for _, rec := range grp {
					at := len(b.arena)
					b.arena = append(append(b.arena, rec.id...), rec.val...)
					b.spans = append(b.spans, [3]int{at, at + len(rec.id), len(b.arena)})
					b.recs = append(b.recs, *rec)
				}
				b.ends = append(b.ends, len(b.recs))
			}
			for i, sp := range b.spans {
				b.recs[i].id, b.recs[i].val = b.arena[sp[0]:sp[1]:sp[1]], b.arena[sp[1]:sp[2]:sp[2]]
			}
			select {
			case f.batches <- b:
			case <-f.quit:
				return
			}
		}
	}()
	return f
}

// groups returns the records of the next list key, as groupReader.next
// does; they are valid until the call after.
func (f *groupFeed) groups() ([]*sortedRec, bool) {
	for f.cur == nil || f.next == len(f.cur.ends) {
		if f.cur != nil {
			if f.cur.last {
				f.err = f.cur.err
				return nil, false
			}
			select {
			case f.free <- f.cur:
			default:
			}
		}
		f.cur, f.next = <-f.batches, 0
	}
	start := 0
	if f.next > 0 {
		start = f.cur.ends[f.next-1]
	}
	end := f.cur.ends[f.next]
	f.next++
	f.ptrs = f.ptrs[:0]
	for i := start; i < end; i++ {
		f.ptrs = append(f.ptrs, &f.cur.recs[i])
	}
	return f.ptrs, true
}

// stop ends the goroutine (which may be waiting to hand over a batch).
func (f *groupFeed) stop() {
	if !f.stopped {
		f.stopped = true
		close(f.quit)
		<-f.done
	}
}
