package registry

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
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
// process to open the file finishes the operation first.

// bulkChunk is how many staged changes one apply transaction takes.
const bulkChunk = 8192

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

func (o *stagedOp) encode() []byte {
	b := []byte{byte(o.action), byte(o.reason), o.flags}
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

// bulkIntent is a committed bulk operation (meta "bulk", JSON).
type bulkIntent struct {
	Stage     uint64      `json:"stage"`
	Seq       uint64      `json:"seq"`
	Record    AuditRecord `json:"record"`
	Cursor    []byte      `json:"cursor,omitempty"`
	Merkle    merkle      `json:"merkle"`
	Matched   int         `json:"matched"`
	Changed   int         `json:"changed"`
	Unchanged int         `json:"unchanged"`
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
			in = bulkIntent{Stage: stage, Seq: t.nextSeq(), Record: rec}
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
		if err := t.tx.Bucket(bucketStage).DeleteBucket(u64(in.Stage)); err != nil {
			return false, err
		}
		return true, t.meta.Delete(metaBulk)
	}

	now := t.now.Unix()
	finder := newForwardFinder(t.state)
	logged := newForwardFinder(t.changes)
	var stateMuts, chronoMuts, changeMuts, itemMuts []mut
	for i := 0; i < len(chunk); {
		// One list key at a time: its holders before and after.
		k := crl.Key(binary.BigEndian.Uint64(chunk[i].skey))
		j := i + 1
		for j < len(chunk) && crl.Key(binary.BigEndian.Uint64(chunk[j].skey)) == k {
			j++
		}
		before, err := t.holderStates(k)
		if err != nil {
			return false, err
		}
		after := make(map[string]revState, len(before))
		for sk, st := range before {
			after[sk] = st
		}
		changedAny := false
		for _, s := range chunk[i:j] {
			tg, err := stagedTarget(t, finder, s.skey)
			if err != nil {
				return false, err
			}
			st, changed, err := s.op.decide(tg, now)
			if err != nil {
				// Checked when staged; the registry cannot have changed.
				return false, fmt.Errorf("%w: staged change of %q no longer applies: %v", errCorrupt, tg.id, err)
			}
			in.Matched++
			cc := CertificateChange{Issuer: tg.issuer, CertificateID: tg.id, Changed: changed, After: st.certState(now)}
			if tg.st != nil {
				cc.Before = tg.st.certState(now)
			} else {
				cc.Before = CertState{State: StateValid}
			}
			if !changed {
				in.Unchanged++
			} else {
				in.Changed++
				changedAny = true
				st.LastSeq = in.Seq
				cc.After.LastChange = in.Seq
				after[string(s.skey)] = st
				stateMuts = append(stateMuts, mut{key: s.skey, val: st.encode()})
				if tg.st != nil {
					(*t.counts.status(tg.st.Status))--
				}
				(*t.counts.status(st.Status))++
				t.dirty = true
				item := stateItem(tg.issuerNo, tg.id, &st)
				pi, err := t.publicItem(&item)
				if err != nil {
					return false, err
				}
				in.Merkle.add(pi.Canonical())
				itemMuts = append(itemMuts, mut{key: itemKey(in.Seq, uint32(in.Merkle.N-1)), val: item.encode()})
			}
			if out != nil {
				out.Matched, out.Changed, out.Unchanged = in.Matched, in.Changed, in.Unchanged
				if len(out.Certificates) < MaxOutcomeCertificates {
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
				for _, st := range sortedStates(before) {
					if st.Status == StatusRevoked || st.Status == StatusSuspended {
						hs = append(hs, holderOf(&st))
					}
				}
				changeMuts = append(changeMuts, mut{key: ck, val: encodeHolders(hs)})
			}
			chronoMuts = append(chronoMuts, chronoDiff(k, before, after)...)
		}
		i = j
	}
	slices.SortFunc(chronoMuts, func(a, b mut) int { return bytes.Compare(a.key, b.key) })
	chronoMuts = slices.CompactFunc(chronoMuts, func(a, b mut) bool { return bytes.Equal(a.key, b.key) })
	for _, step := range []struct {
		t    table
		muts []mut
	}{{t.state, stateMuts}, {t.chrono, chronoMuts}, {t.changes, changeMuts}, {t.items, itemMuts}} {
		if _, _, err := step.t.apply(step.muts); err != nil {
			return false, err
		}
	}
	in.Cursor = chunk[len(chunk)-1].skey
	v, err := json.Marshal(in)
	if err != nil {
		return false, err
	}
	return false, t.meta.Put(metaBulk, v)
}

// holderStates returns the revocation records of list key k by state key.
func (t *txc) holderStates(k crl.Key) (map[string]revState, error) {
	kb := k.Bytes()
	out := map[string]revState{}
	it := t.state.iter(kb[:])
	for it.next() && bytes.HasPrefix(it.key(), kb[:]) {
		st, err := decodeState(it.val())
		if err != nil {
			return nil, err
		}
		out[string(it.key())] = st
	}
	return out, it.err
}

func sortedStates(m map[string]revState) []revState {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	out := make([]revState, len(keys))
	for i, k := range keys {
		out[i] = m[k]
	}
	return out
}

// chronoDiff returns the chronological index changes of list key k when
// its records go from before to after.
func chronoDiff(k crl.Key, before, after map[string]revState) []mut {
	times := func(m map[string]revState) map[int64]bool {
		s := map[int64]bool{}
		for _, st := range m {
			if st.Status == StatusRevoked || st.Status == StatusSuspended {
				s[st.RevokedAt] = true
			}
		}
		return s
	}
	b, a := times(before), times(after)
	var out []mut
	for at := range b {
		if !a[at] {
			out = append(out, mut{key: chronoKey(at, k), del: true})
		}
	}
	for at := range a {
		if !b[at] {
			out = append(out, mut{key: chronoKey(at, k)})
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
			if in == nil || !bytes.Equal(k, u64(in.Stage)) {
				orphanStages = append(orphanStages, bytes.Clone(k))
			}
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("registry: %s: %w", r.path, err)
	}
	if len(orphanRuns)+len(orphanStages) > 0 {
		if err := db.Update(func(tx *bolt.Tx) error {
			for _, k := range orphanRuns {
				if err := tx.Bucket(bucketRuns).DeleteBucket(k); err != nil {
					return err
				}
			}
			for _, k := range orphanStages {
				if err := tx.Bucket(bucketStage).DeleteBucket(k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
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
		dir, err := tempDir(r.path)
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
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
