package registry

import (
	"bytes"
	"container/heap"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
)

// Bulk operations change more certificates than one transaction should
// hold: a file of revocations, a batch, the certificates an import
// corrects. They run in three steps, with the file held throughout:
//
//  1. stage: the changes, sorted by state key and checked against the
//     registry (a refused row refuses the whole operation), are written to
//     a staging table, over as many transactions as needed;
//  2. commit: one transaction records the operation in meta "bulk" (its
//     audit record's fields and sequence number, the staging table, a
//     cursor). From here the operation will complete;
//  3. apply: transactions of bulkChunk changes each move the cursor; the
//     last appends the audit record and drops the staging table.
//
// A crash during step 1 leaves a staging table nothing refers to, which
// the next process to open the file deletes; during step 3 the next
// process to open the file finishes the operation first. A revocation
// import stages the blocks its changes make instead (staged.go).

// bulkChunk is how many staged changes one apply transaction takes (a
// variable for tests).
var bulkChunk = 32768

// stagedOp is what to do to one certificate: a staging table item's value
//
//	byte action, byte reason, byte flags, uvarint at, uvarint until,
//	uvarint n, n bytes: replacing id, uvarint line
type stagedOp struct {
	action     Action
	reason     crl.Reason
	flags      byte
	at, until  int64
	replacedBy string
	line       int
}

const (
	stagedBatch  = 1 << iota // the default reason is faultyBatch
	stagedSoftAt             // at applies only to a certificate not revoked already
)

func (o *stagedOp) encode() []byte { return o.appendTo(make([]byte, 0, 16+len(o.replacedBy))) }

func (o *stagedOp) appendTo(b []byte) []byte {
	b = append(b, byte(o.action), byte(o.reason), o.flags)
	b = binary.AppendUvarint(b, uint64(o.at))
	b = binary.AppendUvarint(b, uint64(o.until))
	b = appendStr(b, o.replacedBy)
	return binary.AppendUvarint(b, uint64(o.line))
}

func decodeStagedOp(v []byte) (stagedOp, error) {
	var o stagedOp
	d := decoder{b: v}
	o.action = Action(d.byte())
	o.reason = crl.Reason(d.byte())
	o.flags = d.byte()
	o.at = int64(d.uvarint())
	o.until = int64(d.uvarint())
	o.replacedBy = d.str()
	o.line = int(d.uvarint())
	if d.err != nil || len(d.b) != 0 {
		return o, fmt.Errorf("%w: staged change", errCorrupt)
	}
	return o, nil
}

// decide applies decide to a staged change.
func (o *stagedOp) decide(tg *target, now int64) (revState, bool, error) {
	req := Request{Reason: o.reason, At: fromUnix(o.at), Until: fromUnix(o.until), ReplacedBy: o.replacedBy}
	if o.flags&stagedBatch != 0 {
		req.Batch = "x"
	}
	if o.flags&stagedSoftAt != 0 && tg.st != nil && tg.st.inForce(now) {
		req.At = time.Time{}
	}
	return decide(o.action, &req, tg, now)
}

// bulkIntent is a committed bulk operation (meta "bulk", JSON). It runs
// in two phases: the staged changes go into the revocation records, the
// change log and the audit items, chunk after chunk, each chunk's changes
// to the chronological index appended to a second staging table (Chrono)
// under the chunk's number; then those are merged in key order into the
// chronological index, so each of its blocks is rewritten once, not once
// per chunk.
//
// An operation staged as blocks (Blocks: a revocation import, see
// staged.go) has its record complete, items root included, and the
// changes to the counters of records by status in Delta; it moves its
// blocks and then appends the record.
type bulkIntent struct {
	Stage     uint64      `json:"stage"`
	Chrono    uint64      `json:"chrono"`
	Chunks    uint32      `json:"chunks"`
	Phase     int         `json:"phase"`
	ChronoAt  []byte      `json:"chrono_at,omitempty"`
	Seq       uint64      `json:"seq"`
	Record    AuditRecord `json:"record"`
	Cursor    []byte      `json:"cursor,omitempty"`
	Merkle    merkle      `json:"merkle"`
	Matched   int         `json:"matched"`
	Changed   int         `json:"changed"`
	Unchanged int         `json:"unchanged"`
	Blocks    bool        `json:"blocks,omitempty"`
	Delta     []int64     `json:"delta,omitempty"`
}

func stageBucket(tx *bolt.Tx, id uint64) *bolt.Bucket {
	return tx.Bucket(bucketStage).Bucket(u64(id))
}

func newStage(db *bolt.DB) (uint64, error) {
	var id uint64
	err := db.Update(func(tx *bolt.Tx) error {
		var err error
		if id, err = nextID(tx.Bucket(bucketMeta)); err != nil {
			return err
		}
		_, err = tx.Bucket(bucketStage).CreateBucket(u64(id))
		return err
	})
	return id, err
}

func dropStage(db *bolt.DB, id uint64) {
	_ = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketStage).DeleteBucket(u64(id)) })
}

// stagedTarget turns a state key into a target, with the registry's
// record.
func stagedTarget(t *txc, finder *forwardFinder, skey []byte) (*target, error) {
	k, n, id, err := splitStateKey(skey)
	if err != nil {
		return nil, err
	}
	issuer, err := t.iss.name(n)
	if err != nil {
		return nil, err
	}
	tg := &target{key: k, issuerNo: n, issuer: issuer, id: id, skey: skey}
	v, ok, err := finder.find(skey)
	if err != nil {
		return nil, err
	}
	if ok {
		st, err := decodeState(v)
		if err != nil {
			return nil, err
		}
		tg.st = &st
	}
	return tg, nil
}

// startBulk commits a bulk operation whose changes are staged (step 2)
// and applies it (step 3). rec is its audit record before items; new
// issuers are added first.
func (r *Registry) startBulk(db *bolt.DB, stage uint64, rec AuditRecord, newIssuers []string, out *Outcome) error {
	var in bulkIntent
	err := db.Update(func(tx *bolt.Tx) error {
		return runTxc(r, tx, func(t *txc) error {
			for _, is := range newIssuers {
				if _, err := t.addIssuer(is, rec.Actor); err != nil {
					return err
				}
			}
			chrono, err := nextID(t.meta)
			if err != nil {
				return err
			}
			if _, err := t.tx.Bucket(bucketStage).CreateBucket(u64(chrono)); err != nil {
				return err
			}
			in = bulkIntent{Stage: stage, Chrono: chrono, Seq: t.nextSeq(), Record: rec}
			v, err := json.Marshal(&in)
			if err != nil {
				return err
			}
			return t.meta.Put(metaBulk, v)
		})
	})
	if err != nil {
		dropStage(db, stage)
		return err
	}
	return r.applyBulk(db, &in, out)
}

// applyBulk applies a committed bulk operation to the end.
func (r *Registry) applyBulk(db *bolt.DB, in *bulkIntent, out *Outcome) error {
	for {
		done := false
		err := db.Update(func(tx *bolt.Tx) error {
			releaseMapping(db, tx.Size())
			return runTxc(r, tx, func(t *txc) error {
				var err error
				done, err = t.bulkStep(in, out)
				return err
			})
		})
		if err != nil {
			return err
		}
		if r.stepHook != nil {
			r.stepHook("bulk")
		}
		if done {
			return nil
		}
	}
}

// bulkStep applies the next chunk of staged changes; after the last one it
// appends the audit record and clears the operation.
func (t *txc) bulkStep(in *bulkIntent, out *Outcome) (bool, error) {
	if in.Blocks {
		return t.blockStep(in, out)
	}
	if in.Phase == 1 {
		return t.bulkChronoStep(in, out)
	}
	sb := stageBucket(t.tx, in.Stage)
	if sb == nil {
		return false, fmt.Errorf("%w: staging table %d of a bulk operation missing", errCorrupt, in.Stage)
	}
	stage := newTable(sb, t.pageSize)
	type staged struct {
		skey []byte
		op   stagedOp
	}
	var chunk []staged
	it := stage.iter(in.Cursor)
	for len(chunk) < bulkChunk && it.next() {
		if in.Cursor != nil && bytes.Equal(it.key(), in.Cursor) {
			continue
		}
		op, err := decodeStagedOp(it.val())
		if err != nil {
			return false, err
		}
		chunk = append(chunk, staged{bytes.Clone(it.key()), op})
	}
	if it.err != nil {
		return false, it.err
	}
	if len(chunk) == 0 {
		in.Phase = 1
		if err := t.tx.Bucket(bucketStage).DeleteBucket(u64(in.Stage)); err != nil {
			return false, err
		}
		v, err := json.Marshal(in)
		if err != nil {
			return false, err
		}
		return false, t.meta.Put(metaBulk, v)
	}

	now := t.now.Unix()
	// The state table is read forward once: the records of each list key
	// the chunk touches, in order.
	states := t.state.iter(chunk[0].skey[:8])
	statesOK := states.next()
	logged := newForwardFinder(t.changes)
	var stateMuts, chronoMuts, changeMuts, itemMuts []mut
	var before, after []holderState
	leaves := sha256.New()
	var canon []byte
	var leaf Hash
	for i := 0; i < len(chunk); {
		// One list key at a time: its records before and after.
		kb := chunk[i].skey[:8]
		k := crl.Key(binary.BigEndian.Uint64(kb))
		j := i + 1
		for j < len(chunk) && bytes.Equal(chunk[j].skey[:8], kb) {
			j++
		}
		for statesOK && bytes.Compare(states.key(), kb) < 0 && !bytes.HasPrefix(states.key(), kb) {
			statesOK = states.next()
		}
		before = before[:0]
		for statesOK && bytes.HasPrefix(states.key(), kb) {
			st, err := decodeState(states.val())
			if err != nil {
				return false, err
			}
			before = append(before, holderState{skey: bytes.Clone(states.key()), st: st})
			statesOK = states.next()
		}
		if states.err != nil {
			return false, states.err
		}
		after = append(after[:0], before...)
		changedAny := false
		for _, s := range chunk[i:j] {
			_, n, id, err := splitStateKey(s.skey)
			if err != nil {
				return false, err
			}
			issuer, err := t.iss.name(n)
			if err != nil {
				return false, err
			}
			tg := &target{key: k, issuerNo: n, issuer: issuer, id: id, skey: s.skey}
			idx := -1
			for x := range after {
				if bytes.Equal(after[x].skey, s.skey) {
					idx = x
					st := after[x].st
					tg.st = &st
				}
			}
			st, changed, err := s.op.decide(tg, now)
			if err != nil {
				// Checked when staged; the registry cannot have changed.
				return false, fmt.Errorf("%w: a staged change no longer applies", errCorrupt)
			}
			in.Matched++
			if changed {
				in.Changed++
				changedAny = true
				st.LastSeq = in.Seq
				if idx >= 0 {
					after[idx].st = st
				} else {
					after = append(after, holderState{skey: s.skey, st: st})
				}
				stateMuts = append(stateMuts, mut{key: s.skey, val: st.encode()})
				if tg.st != nil {
					(*t.counts.status(tg.st.Status))--
				}
				(*t.counts.status(st.Status))++
				t.dirty = true
				item := stateItem(n, id, &st)
				canon = appendRevItem(canon[:0], issuer, id, &st)
				leaves.Reset()
				leaves.Write([]byte{0})
				leaves.Write(canon)
				leaves.Sum(leaf[:0])
				in.Merkle.addLeafHash(leaf)
				itemMuts = append(itemMuts, mut{key: itemKey(in.Seq, uint32(in.Merkle.N-1)), val: item.encode()})
			} else {
				in.Unchanged++
			}
			if out != nil {
				out.Matched, out.Changed, out.Unchanged = in.Matched, in.Changed, in.Unchanged
				if len(out.Certificates) < MaxOutcomeCertificates {
					cc := CertificateChange{Issuer: issuer, CertificateID: id, Changed: changed, After: st.certState(now)}
					if tg.st != nil {
						cc.Before = tg.st.certState(now)
					} else {
						cc.Before = CertState{State: StateValid}
					}
					if changed {
						cc.After.LastChange = in.Seq
					}
					out.Certificates = append(out.Certificates, cc)
				} else {
					out.Truncated = true
				}
			}
		}
		if changedAny {
			ck := changeKey(t.pending, k)
			if _, ok, err := logged.find(ck); err != nil {
				return false, err
			} else if !ok {
				var hs []holder
				for _, h := range before {
					if h.st.Status == StatusRevoked || h.st.Status == StatusSuspended {
						hs = append(hs, holderOf(&h.st))
					}
				}
				if h, ok, err := t.carriedHolder(k); err != nil {
					return false, err
				} else if ok {
					hs = append(hs, h)
				}
				changeMuts = append(changeMuts, mut{key: ck, val: encodeHolders(hs)})
			}
			chronoMuts = append(chronoMuts, chronoDiff(k, before, after)...)
		}
		i = j
	}
	// This chunk's changes to the chronological index wait, in key order,
	// under the chunk's number. A list key's changes come from one group,
	// so no key repeats.
	slices.SortFunc(chronoMuts, func(a, b mut) int { return bytes.Compare(a.key, b.key) })
	var chronoStaged []mut
	for i, m := range chronoMuts {
		if i+1 < len(chronoMuts) && bytes.Equal(chronoMuts[i+1].key, m.key) {
			continue
		}
		op := []byte{1}
		if m.del {
			op[0] = 0
		}
		chronoStaged = append(chronoStaged, mut{key: append(binary.BigEndian.AppendUint32(nil, in.Chunks), m.key...), val: op})
	}
	in.Chunks++
	cb := stageBucket(t.tx, in.Chrono)
	if cb == nil {
		return false, fmt.Errorf("%w: chronological staging table %d of a bulk operation missing", errCorrupt, in.Chrono)
	}
	for _, step := range []struct {
		t    table
		muts []mut
	}{{t.state, stateMuts}, {newTable(cb, t.pageSize), chronoStaged}, {t.changes, changeMuts}, {t.items, itemMuts}} {
		if _, _, err := step.t.apply(step.muts); err != nil {
			return false, err
		}
	}
	// The applied changes leave the staging table, whose pages the next
	// chunks reuse.
	in.Cursor = chunk[len(chunk)-1].skey
	if _, err := stage.deleteBefore(append(bytes.Clone(in.Cursor), 0)); err != nil {
		return false, err
	}
	v, err := json.Marshal(in)
	if err != nil {
		return false, err
	}
	return false, t.meta.Put(metaBulk, v)
}

// bulkChronoStep merges the next bulkChunk changes of the chronological
// index, in key order, from every chunk's staged changes; after the last
// it appends the audit record and clears the operation.
func (t *txc) bulkChronoStep(in *bulkIntent, out *Outcome) (bool, error) {
	cb := stageBucket(t.tx, in.Chrono)
	if cb == nil {
		return false, fmt.Errorf("%w: chronological staging table %d of a bulk operation missing", errCorrupt, in.Chrono)
	}
	ct := newTable(cb, t.pageSize)
	// One stream per chunk, each past the cursor, merged on the key after
	// the chunk number.
	var h chronoHeap
	for c := range in.Chunks {
		from := binary.BigEndian.AppendUint32(nil, c)
		if in.ChronoAt != nil {
			from = append(append(from, in.ChronoAt...), 0)
		}
		it := ct.iter(from)
		if it.next() && bytes.HasPrefix(it.key(), from[:4]) {
			h = append(h, iterAt{it, int(c)})
		} else if it.err != nil {
			return false, it.err
		}
	}
	heap.Init(&h)
	var muts []mut
	for len(h) > 0 && len(muts) < bulkChunk {
		top := h[0]
		key, op := bytes.Clone(top.it.key()[4:]), top.it.val()
		m := mut{key: key, del: len(op) == 1 && op[0] == 0}
		if n := len(muts); n > 0 && bytes.Equal(muts[n-1].key, key) {
			muts[n-1] = m // a later chunk's change wins
		} else {
			muts = append(muts, m)
		}
		prefix := binary.BigEndian.AppendUint32(nil, uint32(top.idx))
		if top.it.next() && bytes.HasPrefix(top.it.key(), prefix) {
			heap.Fix(&h, 0)
		} else {
			if top.it.err != nil {
				return false, top.it.err
			}
			heap.Pop(&h)
		}
	}
	// Every chunk's stream is now past the last key taken, or at a key
	// after it: take the rest of a key split across chunks in the next
	// step only if it sorts after.
	for len(h) > 0 && len(muts) > 0 && bytes.Equal(h[0].it.key()[4:], muts[len(muts)-1].key) {
		top := h[0]
		op := top.it.val()
		muts[len(muts)-1].del = len(op) == 1 && op[0] == 0
		prefix := binary.BigEndian.AppendUint32(nil, uint32(top.idx))
		if top.it.next() && bytes.HasPrefix(top.it.key(), prefix) {
			heap.Fix(&h, 0)
		} else {
			heap.Pop(&h)
		}
	}
	if len(muts) > 0 {
		if _, _, err := t.chrono.apply(muts); err != nil {
			return false, err
		}
		in.ChronoAt = muts[len(muts)-1].key
		v, err := json.Marshal(in)
		if err != nil {
			return false, err
		}
		return false, t.meta.Put(metaBulk, v)
	}
	head, err := t.auditHead()
	if err != nil {
		return false, err
	}
	if head.seq+1 != in.Seq {
		return false, fmt.Errorf("%w: bulk operation expects audit record %d, the trail is at %d", errCorrupt, in.Seq, head.seq)
	}
	rec := in.Record
	rec.ItemCount, rec.ItemsRoot = in.Merkle.N, in.Merkle.root()
	if err := t.putRecord(&rec); err != nil {
		return false, err
	}
	if out != nil {
		out.AuditSeq = 0
		if in.Changed > 0 {
			out.AuditSeq = rec.Seq
		}
	}
	if err := t.tx.Bucket(bucketStage).DeleteBucket(u64(in.Chrono)); err != nil {
		return false, err
	}
	return true, t.meta.Delete(metaBulk)
}

// chronoHeap orders chunks' streams of staged chronological index changes
// by key, then chunk.
type chronoHeap []iterAt

func (h chronoHeap) Len() int { return len(h) }
func (h chronoHeap) Less(i, j int) bool {
	if c := bytes.Compare(h[i].it.key()[4:], h[j].it.key()[4:]); c != 0 {
		return c < 0
	}
	return h[i].idx < h[j].idx
}
func (h chronoHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *chronoHeap) Push(x any)   { *h = append(*h, x.(iterAt)) }
func (h *chronoHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// holderState is a revocation record with its state key.
type holderState struct {
	skey []byte
	st   revState
}

// appendRevItem appends a revocation item's canonical encoding (as
// AuditItem.Canonical does).
func appendRevItem(b []byte, issuer, id string, st *revState) []byte {
	b = append(b, itemRevocation)
	b = cStr(b, issuer)
	b = cStr(b, id)
	b = append(b, byte(st.Status), byte(st.Reason))
	b = cI64(b, st.RevokedAt)
	b = cI64(b, st.Until)
	return cStr(b, st.SupersededBy)
}

// chronoDiff returns the chronological index changes of list key k when
// its records go from before to after.
func chronoDiff(k crl.Key, before, after []holderState) []mut {
	active := func(hs []holderState, at int64) bool {
		for _, h := range hs {
			if (h.st.Status == StatusRevoked || h.st.Status == StatusSuspended) && h.st.RevokedAt == at {
				return true
			}
		}
		return false
	}
	var out []mut
	for _, h := range before {
		if (h.st.Status == StatusRevoked || h.st.Status == StatusSuspended) && !active(after, h.st.RevokedAt) {
			out = append(out, mut{key: chronoKey(h.st.RevokedAt, k), del: true})
		}
	}
	for _, h := range after {
		if (h.st.Status == StatusRevoked || h.st.Status == StatusSuspended) && !active(before, h.st.RevokedAt) {
			out = append(out, mut{key: chronoKey(h.st.RevokedAt, k)})
		}
	}
	return out
}

// recover runs when this process opens the file for writing: it finishes
// a bulk operation a crash interrupted and removes what an interrupted
// import or staging left.
func (r *Registry) recover(db *bolt.DB) error {
	var in *bulkIntent
	var orphanRuns, orphanStages [][]byte
	err := db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bucketMeta).Get(metaBulk); v != nil {
			in = &bulkIntent{}
			if err := json.Unmarshal(v, in); err != nil {
				return fmt.Errorf("%w: bulk operation record: %v", errCorrupt, err)
			}
		}
		if err := tx.Bucket(bucketRuns).ForEach(func(k, _ []byte) error {
			b := tx.Bucket(bucketRuns).Bucket(k)
			if b == nil {
				return fmt.Errorf("%w: runs bucket", errCorrupt)
			}
			m, err := decodeRunMeta(b.Get(runMetaKey))
			if err != nil {
				return err
			}
			if !m.live {
				orphanRuns = append(orphanRuns, bytes.Clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketStage).ForEach(func(k, _ []byte) error {
			if in == nil || (!bytes.Equal(k, u64(in.Stage)) && !bytes.Equal(k, u64(in.Chrono))) {
				orphanStages = append(orphanStages, bytes.Clone(k))
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("registry: %s: %w", r.path, err)
	}
	if len(orphanRuns) > 0 {
		if err := db.Update(func(tx *bolt.Tx) error {
			for _, k := range orphanRuns {
				if err := tx.Bucket(bucketRuns).DeleteBucket(k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return fmt.Errorf("registry: %s: removing what an interrupted operation left: %w", r.path, err)
		}
	}
	for _, k := range orphanStages {
		if len(k) != 8 {
			return fmt.Errorf("registry: %s: %w: staging table %x", r.path, errCorrupt, k)
		}
		if err := r.dropStaged(db, binary.BigEndian.Uint64(k)); err != nil {
			return fmt.Errorf("registry: %s: removing what an interrupted operation left: %w", r.path, err)
		}
	}
	if in != nil {
		if err := r.applyBulk(db, in, nil); err != nil {
			return fmt.Errorf("registry: %s: finishing an interrupted bulk operation: %w", r.path, err)
		}
	}
	return nil
}

// bulkRequest runs a request whose selection is too large for a shared
// commit.
func (r *Registry) bulkRequest(action Action, req *Request) (Outcome, error) {
	out := Outcome{Action: action}
	err := r.exclusive(func(db *bolt.DB) error {
		wd, err := newWorkDir(r.path)
		if err != nil {
			return err
		}
		defer wd.remove()
		dir := wd.path
		s := newSorter(dir, 16<<20)
		defer s.close()
		op := stagedOp{action: action, reason: req.Reason, at: unix(req.At), until: unix(req.Until), replacedBy: req.ReplacedBy}
		if req.Batch != "" {
			op.flags |= stagedBatch
		}
		val := op.encode()
		if err := db.View(func(tx *bolt.Tx) error {
			t, err := r.newTxc(tx)
			if err != nil {
				return err
			}
			targets, err := t.resolve(action, &req.Selector, 0)
			if err != nil {
				return err
			}
			for _, tg := range targets {
				if err := s.add(tg.skey, val); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
		it, err := s.sorted()
		if err != nil {
			return err
		}
		defer it.close()
		stage, err := newStage(db)
		if err != nil {
			return err
		}
		// Stage the changes, checking each against the registry.
		w := newTableWriter(db.Info().PageSize)
		for done := false; !done; {
			err := db.Update(func(tx *bolt.Tx) error {
				t, err := r.newTxc(tx)
				if err != nil {
					return err
				}
				finder := newForwardFinder(t.state)
				now := t.now.Unix()
				for w.size < txBytes {
					if !it.next() {
						done = true
						break
					}
					tg, err := stagedTarget(t, finder, it.key)
					if err != nil {
						return err
					}
					if _, _, err := op.decide(tg, now); err != nil {
						return err
					}
					w.add(bytes.Clone(it.key), val)
				}
				if it.err != nil {
					return it.err
				}
				return w.flush(stageBucket(tx, stage), done)
			})
			if err != nil {
				dropStage(db, stage)
				return err
			}
		}
		return r.startBulk(db, stage, *requestRecord(action, req), nil, &out)
	})
	return out, err
}
