package store

import (
	"bufio"
	"bytes"
	"crypto"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bits-and-blooms/bloom/v3"
	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/store/internal/block"
)

// ApplyOptions tune one apply. A nil *ApplyOptions means the defaults.
type ApplyOptions struct {
	// AllowExpired accepts a snapshot that is newer than the stored list
	// but already past its next-update plus grace: it holds more
	// revocations than the stored list, and checks against it report
	// [Stale]. By default such a snapshot is refused with
	// [snapshot.ErrExpired].
	AllowExpired bool
	// Fork accepts a full snapshot at the stored serial whose list is not
	// the stored one, when it was made after the stored list: the
	// publisher's history has forked (its registry restored from a backup
	// and published again), and the snapshot is the list it publishes now.
	// By default such a snapshot is refused with [snapshot.ErrRollback].
	// It must be signed as any other: only the publisher can fork its own
	// history, and not back and forth, since each fork moves forward in
	// time.
	Fork bool
	// Issuers, when not empty, binds the publisher to these issuers,
	// replacing its binding ([List.Bound]): the snapshot may cover only
	// issuers among them ([ErrIssuerNotBound]), and none of them may be
	// bound to another publisher ([ErrIssuerConflict]). Empty keeps the
	// stored binding; a publisher the store holds no list of is then
	// bound to the issuers its snapshot covers (trust on first use,
	// reported in [ApplyResult.Learned]), and a later list of it that
	// covers another issuer is refused until a binding names that issuer.
	Issuers []string
	// Progress, if set, is called as the body is read with the items read
	// so far and the items in the body.
	Progress func(done, total uint64)
}

// ApplyResult describes a successful apply.
type ApplyResult struct {
	Publisher string        `json:"publisher"`
	Kind      snapshot.Kind `json:"kind"`
	// OldSerial is 0 when the store held no list of the publisher.
	OldSerial uint64 `json:"old_serial"`
	NewSerial uint64 `json:"new_serial"`
	// Entries is the number of entries in the list now.
	Entries uint64 `json:"entries"`
	// Upserts and Removals count the items of the snapshot body.
	Upserts  uint64 `json:"upserts"`
	Removals uint64 `json:"removals"`
	// Forked: the snapshot replaced a list of the same serial (see
	// [ApplyOptions.Fork]).
	Forked bool `json:"forked,omitempty"`
	// Bound is the publisher's binding after the apply ([List.Bound]);
	// Learned says that it was taken from this snapshot, the first list of
	// a publisher the store did not hold, applied without
	// [ApplyOptions.Issuers].
	Bound   []string `json:"bound"`
	Learned bool     `json:"learned,omitempty"`
}

// itemReader is what a snapshot body yields: [snapshot.BodyReader].
type itemReader interface {
	Next() (e crl.Entry, removed bool, err error)
}

// ApplySnapshot reads a signed snapshot from r, verifies its header with
// keys and against the stored list (see the package documentation), and
// makes it the publisher's current list once the whole body has been read
// and its digest verified. On any error the store is unchanged. at is the
// time to judge expiry by (normally the current time).
func (s *Store) ApplySnapshot(r io.Reader, keys snapshot.Keys, at time.Time, opts *ApplyOptions) (*ApplyResult, error) {
	if s.opts.ReadOnly {
		return nil, ErrReadOnly
	}
	br := bufio.NewReaderSize(r, 64<<10)
	h, err := snapshot.ReadHeader(br, keys, s.opts.Limits)
	if err != nil {
		return nil, err
	}
	return s.apply(h, keys, snapshot.NewBodyReader(br, h, s.opts.Limits), at, opts)
}

// signerKey returns the thumbprint of the key of keys that h's signature
// verified with (see [List.SignerKey]), or "" if it cannot be had.
func signerKey(keys snapshot.Keys, h *snapshot.Header) string {
	if keys == nil {
		return ""
	}
	k, err := keys.VerificationKey(h.KeyID)
	if err != nil {
		return ""
	}
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return ""
	}
	return base64.RawURLEncoding.EncodeToString(tp)
}

// Admit reports whether a snapshot with the header h, verified with keys,
// would be accepted at time at, without reading a body: the checks
// ApplySnapshot makes before it reads one.
func (s *Store) Admit(h *snapshot.Header, keys snapshot.Keys, at time.Time, opts *ApplyOptions) error {
	v := s.view.Load()
	_, err := s.admit(v, v.pubs[h.Publisher], h, keys, at, opts)
	return err
}

// admit checks h (verified with keys) against the stored lists of v, of
// which cur is its publisher's, and returns the binding its publisher
// will have.
func (s *Store) admit(v *view, cur *listView, h *snapshot.Header, keys snapshot.Keys, at time.Time, ao *ApplyOptions) (binding, error) {
	if cur != nil {
		if err := signerContinues(&cur.rec.List, h, keys); err != nil {
			return binding{}, err
		}
	}
	var want []string
	if ao != nil {
		want = ao.Issuers
	}
	b, err := bindingFor(v, cur, h.Publisher, h.Issuers, want)
	if err != nil {
		return binding{}, err
	}
	return b, s.admitList(cur, h, at, ao)
}

// admitList checks h against cur, its publisher's stored list (or nil):
// serial, times, kind and base.
func (s *Store) admitList(cur *listView, h *snapshot.Header, at time.Time, ao *ApplyOptions) error {
	// A clock set back must not make a replayed list look current: a
	// publisher's lists are judged no earlier than the newest it has
	// signed (and only its own: another publisher's times, right or
	// wrong, do not count).
	now := at
	if cur != nil {
		l := &cur.rec.List
		switch {
		case h.Serial == l.Serial && forks(l, h, ao):
		case h.Serial <= l.Serial:
			return fmt.Errorf("%w: snapshot serial %d, store holds serial %d of %q", snapshot.ErrRollback, h.Serial, l.Serial, h.Publisher)
		}
		if h.ThisUpdate.Before(l.ThisUpdate) {
			return fmt.Errorf("%w: snapshot serial %d made %s, before stored serial %d made %s", snapshot.ErrRollback,
				h.Serial, h.ThisUpdate.Format(time.RFC3339), l.Serial, l.ThisUpdate.Format(time.RFC3339))
		}
		if l.ThisUpdate.After(now) {
			now = l.ThisUpdate
		}
	}
	if now.After(h.NextUpdate.Add(s.opts.Grace)) && (ao == nil || !ao.AllowExpired) {
		return fmt.Errorf("%w: snapshot serial %d of %q was due to be replaced at %s (now %s)", snapshot.ErrExpired,
			h.Serial, h.Publisher, h.NextUpdate.Format(time.RFC3339), now.Format(time.RFC3339))
	}
	switch h.Kind {
	case snapshot.KindDelta:
		if cur == nil {
			return fmt.Errorf("%w: delta from serial %d, store holds no list of %q", snapshot.ErrWrongBase, h.BaseSerial, h.Publisher)
		}
		l := &cur.rec.List
		if h.BaseSerial != l.Serial || h.BaseDigest != l.ListDigest {
			return fmt.Errorf("%w: delta from serial %d (%s), store holds serial %d (%s)", snapshot.ErrWrongBase,
				h.BaseSerial, h.BaseDigest, l.Serial, l.ListDigest)
		}
	case snapshot.KindFull:
	default:
		return fmt.Errorf("%w: snapshot kind %q", snapshot.ErrMalformed, h.Kind)
	}
	if cur != nil && h.Serial-cur.rec.List.Serial > s.opts.MaxSerialJump {
		return fmt.Errorf("%w: serial %d is %d above the stored %d (at most %d)", snapshot.ErrFastForward,
			h.Serial, h.Serial-cur.rec.List.Serial, cur.rec.List.Serial, s.opts.MaxSerialJump)
	}
	return nil
}

// forks reports whether h is a fork of the stored list l that ao accepts:
// a full snapshot at l's serial, of another list, made after l.
func forks(l *List, h *snapshot.Header, ao *ApplyOptions) bool {
	return ao != nil && ao.Fork && h.Kind == snapshot.KindFull && h.Serial == l.Serial &&
		h.ListDigest != l.ListDigest && h.ThisUpdate.After(l.ThisUpdate)
}

// maxSigners bounds List.Signers.
const maxSigners = 8

// signerContinues checks that h's signing key may sign the lists of prev's
// publisher: it is a key that signed them before, or keys (with which h
// was verified) still hold one of those, as when a publisher rotates to a
// new key and its key set carries the old and the new. Otherwise a
// publisher's key could replace another publisher's list, whenever the
// snapshot verifies with the keys given.
func signerContinues(prev *List, h *snapshot.Header, keys snapshot.Keys) error {
	known := signers(prev)
	if slices.Contains(known, h.KeyID) {
		return nil
	}
	if keys != nil {
		for _, kid := range known {
			if _, err := keys.VerificationKey(kid); err == nil {
				return nil
			}
		}
	}
	return fmt.Errorf("%w: snapshot serial %d of %q is signed by key %s; the stored list was signed by %s, which the keys given do not hold",
		ErrKeyChange, h.Serial, h.Publisher, h.KeyID, strings.Join(known, ", "))
}

// signers returns the keys that signed l's publisher's lists: l.Signers,
// or l's own key for a list stored before signers were recorded.
func signers(l *List) []string {
	if len(l.Signers) == 0 {
		return []string{l.KeyID}
	}
	return l.Signers
}

func listFromHeader(h *snapshot.Header, at time.Time, prev *List, b binding, signer string) List {
	l := List{
		Publisher: h.Publisher, Issuers: slices.Clone(h.Issuers), Serial: h.Serial,
		ThisUpdate: h.ThisUpdate.UTC(), NextUpdate: h.NextUpdate.UTC(),
		ListDigest: h.ListDigest, Count: h.ListCount, KeyID: h.KeyID, Algorithm: h.Algorithm,
		Kind: h.Kind, AppliedAt: at.UTC(),
		Bound: slices.Clone(b.issuers), BoundExplicitly: b.explicit, SignerKey: signer,
	}
	if l.Bound == nil {
		l.Bound = []string{}
	}
	if prev != nil {
		l.Signers = slices.DeleteFunc(slices.Clone(signers(prev)), func(kid string) bool { return kid == h.KeyID })
	}
	l.Signers = append(l.Signers, h.KeyID)
	if n := len(l.Signers); n > maxSigners {
		l.Signers = l.Signers[n-maxSigners:]
	}
	return l
}

// apply applies a snapshot whose header h has been verified; body yields
// its items and verifies the digest at the end.
func (s *Store) apply(h *snapshot.Header, keys snapshot.Keys, body itemReader, at time.Time, ao *ApplyOptions) (*ApplyResult, error) {
	var res *ApplyResult
	err := s.write(func(v *view) (*view, error) {
		cur := v.pubs[h.Publisher]
		bd, err := s.admit(v, cur, h, keys, at, ao)
		if err != nil {
			return nil, err
		}
		var prev *List
		if cur != nil {
			prev = &cur.rec.List
		}
		l := listFromHeader(h, at, prev, bd, signerKey(keys, h))
		res = &ApplyResult{Publisher: h.Publisher, Kind: h.Kind, NewSerial: h.Serial, Entries: h.ListCount, Upserts: h.Upserts, Removals: h.Removals,
			Bound: slices.Clone(l.Bound), Learned: bd.learned}
		if cur != nil {
			res.OldSerial = cur.rec.List.Serial
			res.Forked = h.Serial == cur.rec.List.Serial
		}
		p := progress{total: h.Upserts + h.Removals}
		if ao != nil {
			p.fn = ao.Progress
		}
		small := h.Kind == snapshot.KindDelta && h.Upserts+h.Removals <= s.smallDelta
		if !small {
			pf := newPrefetch(body)
			defer pf.stop()
			body = pf
		}
		return s.rewrite(v, h.Publisher, "", int64(h.ListCount)*12, func(b *build) (*listView, error) {
			switch {
			case h.Kind == snapshot.KindFull:
				return b.applyFull(h, l, body, &p)
			case small:
				return b.applySmallDelta(cur, h, l, body, &p)
			default:
				return b.applyBigDelta(cur, h, l, body, &p)
			}
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

type progress struct {
	fn          func(done, total uint64)
	done, total uint64
}

func (p *progress) step() {
	p.done++
	if p.fn != nil && p.done&0xffff == 0 {
		p.fn(p.done, p.total)
	}
}

func (p *progress) end() {
	if p.fn != nil {
		p.fn(p.done, p.total)
	}
}

func countMismatch(h *snapshot.Header, got uint64) error {
	return fmt.Errorf("%w: applying serial %d gives %d entries, its header says %d", snapshot.ErrWrongBase, h.Serial, got, h.ListCount)
}

// list makes rec (with filter bf) its publisher's list in the new file
// and returns its view.
func (b *build) list(rec *pubRecord, bf *bloom.BloomFilter) (*listView, error) {
	fences, err := b.putList(rec, bf)
	if err != nil {
		return nil, err
	}
	return newListView(rec, bf, fences), nil
}

func (b *build) applyFull(h *snapshot.Header, l List, body itemReader, p *progress) (*listView, error) {
	gen := b.gen()
	st, err := b.stager(gen)
	if err != nil {
		return nil, err
	}
	capacity := bloomCapacity(h.ListCount)
	bf := newBloom(capacity, b.s.opts.BloomFPRate)
	var count uint64
	for {
		e, removed, err := body.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if removed {
			return nil, fmt.Errorf("%w: removal in a full snapshot", snapshot.ErrMalformed)
		}
		if count++; count > h.ListCount {
			return nil, countMismatch(h, count)
		}
		addKey(bf, e.Key)
		if err := st.add(e); err != nil {
			return nil, err
		}
		p.step()
	}
	p.end()
	if count != h.ListCount {
		return nil, countMismatch(h, count)
	}
	if err := st.flush(); err != nil {
		return nil, err
	}
	return b.list(&pubRecord{List: l, Gen: gen, BloomCap: capacity, BloomLoad: count}, bf)
}

// change is one item of a delta.
type change struct {
	e      crl.Entry
	remove bool
}

// mergeChanges merges sorted upserts and sorted removals into one sorted
// list; for a key in both, the removal comes last and so wins.
func mergeChanges(ups []crl.Entry, rems []crl.Key) []change {
	out := make([]change, 0, len(ups)+len(rems))
	i, j := 0, 0
	for i < len(ups) || j < len(rems) {
		if j == len(rems) || (i < len(ups) && ups[i].Key <= rems[j]) {
			out = append(out, change{e: ups[i]})
			i++
		} else {
			out = append(out, change{e: crl.Entry{Key: rems[j]}, remove: true})
			j++
		}
	}
	return out
}

// applySmallDelta reads the delta into memory and writes the stored list
// into the new file block by block: a block no change falls in is copied
// as it is, the others are decoded, merged and encoded again.
func (b *build) applySmallDelta(cur *listView, h *snapshot.Header, l List, body itemReader, p *progress) (*listView, error) {
	ups := make([]crl.Entry, 0, h.Upserts)
	rems := make([]crl.Key, 0, h.Removals)
	for {
		e, removed, err := body.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if removed {
			if len(rems) > 0 && e.Key <= rems[len(rems)-1] {
				return nil, fmt.Errorf("%w: removals out of order", snapshot.ErrMalformed)
			}
			rems = append(rems, e.Key)
		} else {
			if len(rems) > 0 || (len(ups) > 0 && e.Key <= ups[len(ups)-1].Key) {
				return nil, fmt.Errorf("%w: upserts out of order", snapshot.ErrMalformed)
			}
			ups = append(ups, e)
		}
		if uint64(len(ups)) > h.Upserts || uint64(len(rems)) > h.Removals {
			return nil, fmt.Errorf("%w: more items than the header counts", snapshot.ErrMalformed)
		}
		p.step()
	}
	p.end()
	gen := b.gen()
	st, err := b.stager(gen)
	if err != nil {
		return nil, err
	}
	added, removed, err := st.merge(cur, mergeChanges(ups, rems))
	if err != nil {
		return nil, err
	}
	count := cur.rec.List.Count + added - removed
	if count != h.ListCount {
		return nil, countMismatch(h, count)
	}
	rec := &pubRecord{List: l, Gen: gen, BloomCap: cur.rec.BloomCap, BloomLoad: cur.rec.BloomLoad + added}
	var bf *bloom.BloomFilter
	if rec.BloomLoad > rec.BloomCap {
		bf, rec.BloomCap, err = buildBloom(b.self(), b.tx, rec, b.s.opts.BloomFPRate)
		if err != nil {
			return nil, err
		}
		rec.BloomLoad = count
	} else {
		bf = cur.bloom.Copy()
		for _, e := range ups {
			addKey(bf, e.Key)
		}
	}
	return b.list(rec, bf)
}

// merge writes cur's entries with the sorted changes applied, and returns
// how many keys were added and removed.
func (st *stager) merge(cur *listView, changes []change) (added, removed uint64, err error) {
	f := st.b.src.f
	src, err := st.b.srcBucket(cur)
	if err != nil {
		return 0, 0, err
	}
	var old, merged []crl.Entry
	add := func(es []crl.Entry) error {
		for _, e := range es {
			if err := st.add(e); err != nil {
				return err
			}
		}
		return nil
	}
	i, n := 0, 0
	c := src.Cursor()
	k, v := c.First()
	if k == nil {
		merged, added, removed = mergeBlock(merged, nil, changes)
		return added, removed, errors.Join(add(merged), st.flush())
	}
	for k != nil {
		if cur.fences != nil && (n >= len(cur.fences) || crl.KeyFromBytes(k) != cur.fences[n]) {
			return 0, 0, f.corrupt("blocks of %q differ from their index", cur.rec.List.Publisher)
		}
		n++
		nk, nv := c.Next()
		// The changes that fall in this block: below the next block's
		// first key (and, for the first block, also below its own).
		j := i
		for j < len(changes) && (nk == nil || changes[j].e.Key < crl.KeyFromBytes(nk)) {
			j++
		}
		if j == i {
			if err := st.flush(); err != nil {
				return 0, 0, err
			}
			if err := st.putRaw(f, k, v); err != nil {
				return 0, 0, err
			}
		} else {
			if old, err = f.decodeBlock(old[:0], k, v); err != nil {
				return 0, 0, err
			}
			var a, r uint64
			merged, a, r = mergeBlock(merged[:0], old, changes[i:j])
			added += a
			removed += r
			if err := add(merged); err != nil {
				return 0, 0, err
			}
		}
		i = j
		k, v = nk, nv
	}
	if cur.fences != nil && n != len(cur.fences) {
		return 0, 0, f.corrupt("blocks of %q differ from their index", cur.rec.List.Publisher)
	}
	return added, removed, st.flush()
}

// applyChanges merges sorted changes into the blocks of st's bucket in
// place, within the build's transaction. It returns how many keys were
// added and removed.
func (st *stager) applyChanges(changes []change) (added, removed uint64, err error) {
	self := st.b.self()
	b := st.bk
	var (
		old, merged []crl.Entry
		builder     = block.Builder{Max: maxBlock, Emit: st.put}
	)
	for i := 0; i < len(changes); {
		k := changes[i].e.Key
		kb := k.Bytes()
		c := b.Cursor()
		bk, bv := c.Seek(kb[:])
		if bk == nil {
			bk, bv = c.Last()
		} else if crl.KeyFromBytes(bk) > k {
			if pk, pv := c.Prev(); pk != nil {
				bk, bv = pk, pv
			}
			// else: k is below the first block; merge into that block.
		}
		old = old[:0]
		hasUpper := false
		var upper crl.Key
		var oldKey []byte
		if bk != nil {
			if old, err = self.decodeBlock(old, bk, bv); err != nil {
				return 0, 0, err
			}
			oldKey = bytes.Clone(bk)
			c.Seek(oldKey)
			if nk, _ := c.Next(); nk != nil {
				hasUpper, upper = true, crl.KeyFromBytes(nk)
			}
		}
		j := i
		for j < len(changes) && (!hasUpper || changes[j].e.Key < upper) {
			j++
		}
		var a, r uint64
		merged, a, r = mergeBlock(merged[:0], old, changes[i:j])
		added += a
		removed += r
		if oldKey != nil {
			if err := b.Delete(oldKey); err != nil {
				return 0, 0, err
			}
		}
		for _, e := range merged {
			if err := builder.Add(e); err != nil {
				return 0, 0, err
			}
		}
		if err := builder.Flush(); err != nil {
			return 0, 0, err
		}
		i = j
	}
	return added, removed, nil
}

// mergeBlock applies sorted changes to sorted old entries; among changes
// to one key the last wins.
func mergeBlock(dst, old []crl.Entry, ch []change) (out []crl.Entry, added, removed uint64) {
	i := 0
	for j := 0; j < len(ch); j++ {
		c := ch[j]
		if j+1 < len(ch) && ch[j+1].e.Key == c.e.Key {
			continue
		}
		for i < len(old) && old[i].Key < c.e.Key {
			dst = append(dst, old[i])
			i++
		}
		present := i < len(old) && old[i].Key == c.e.Key
		if present {
			i++
		}
		switch {
		case c.remove && present:
			removed++
		case c.remove:
		case present:
			dst = append(dst, c.e)
		default:
			dst = append(dst, c.e)
			added++
		}
	}
	dst = append(dst, old[i:]...)
	return dst, added, removed
}

// oldIter walks the entries of a list of the live file.
type oldIter struct {
	f      *storeFile
	c      *bolt.Cursor
	lv     *listView
	buf    []crl.Entry
	i, n   int
	done   bool
	primed bool
}

func (it *oldIter) peek() (crl.Entry, bool, error) {
	for it.i >= len(it.buf) {
		if it.done {
			return crl.Entry{}, false, nil
		}
		var k, v []byte
		if !it.primed {
			k, v = it.c.First()
			it.primed = true
		} else {
			k, v = it.c.Next()
		}
		fences := it.lv.fences
		if k == nil {
			if fences != nil && it.n != len(fences) {
				return crl.Entry{}, false, it.f.corrupt("blocks of %q differ from their index", it.lv.rec.List.Publisher)
			}
			it.done = true
			continue
		}
		if fences != nil && (it.n >= len(fences) || crl.KeyFromBytes(k) != fences[it.n]) {
			return crl.Entry{}, false, it.f.corrupt("blocks of %q differ from their index", it.lv.rec.List.Publisher)
		}
		it.n++
		var err error
		if it.buf, err = it.f.decodeBlock(it.buf[:0], k, v); err != nil {
			return crl.Entry{}, false, err
		}
		it.i = 0
	}
	return it.buf[it.i], true, nil
}

// applyBigDelta writes a new list: the stored list merged with the
// upserts as they stream in, then the removals applied batch by batch.
func (b *build) applyBigDelta(cur *listView, h *snapshot.Header, l List, body itemReader, p *progress) (*listView, error) {
	src, err := b.srcBucket(cur)
	if err != nil {
		return nil, err
	}
	gen := b.gen()
	st, err := b.stager(gen)
	if err != nil {
		return nil, err
	}
	capacity := bloomCapacity(h.ListCount + h.Removals)
	bf := newBloom(capacity, b.s.opts.BloomFPRate)
	old := &oldIter{f: b.src.f, c: src.Cursor(), lv: cur}
	var merged, nups, removed uint64
	emit := func(e crl.Entry) error {
		merged++
		addKey(bf, e.Key)
		return st.add(e)
	}
	drainBelow := func(k crl.Key, all bool) error {
		for {
			e, ok, err := old.peek()
			if err != nil || !ok || (!all && e.Key >= k) {
				return err
			}
			old.i++
			if err := emit(e); err != nil {
				return err
			}
		}
	}
	var (
		rems       []change
		inRemovals bool
		lastRem    crl.Key
	)
	flushRemovals := func() error {
		if len(rems) == 0 {
			return nil
		}
		_, r, err := st.applyChanges(rems)
		removed += r
		rems = rems[:0]
		if err != nil {
			return err
		}
		return st.commit()
	}
	for {
		e, isRemoval, err := body.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		p.step()
		if !isRemoval {
			if inRemovals {
				return nil, fmt.Errorf("%w: upsert after removals", snapshot.ErrMalformed)
			}
			if nups++; nups > h.Upserts {
				return nil, fmt.Errorf("%w: more upserts than the header counts", snapshot.ErrMalformed)
			}
			if err := drainBelow(e.Key, false); err != nil {
				return nil, err
			}
			if o, ok, err := old.peek(); err != nil {
				return nil, err
			} else if ok && o.Key == e.Key {
				old.i++ // replaced by the upsert
			}
			if err := emit(e); err != nil {
				return nil, err
			}
			continue
		}
		if !inRemovals {
			inRemovals = true
			if err := drainBelow(0, true); err != nil {
				return nil, err
			}
			if err := st.flush(); err != nil {
				return nil, err
			}
		} else if e.Key <= lastRem {
			return nil, fmt.Errorf("%w: removals out of order", snapshot.ErrMalformed)
		}
		lastRem = e.Key
		rems = append(rems, change{e: e, remove: true})
		if len(rems) >= b.s.opts.BatchEntries {
			if err := flushRemovals(); err != nil {
				return nil, err
			}
		}
	}
	p.end()
	if !inRemovals {
		if err := drainBelow(0, true); err != nil {
			return nil, err
		}
	}
	if err := st.flush(); err != nil {
		return nil, err
	}
	if len(rems) > 0 {
		_, r, err := st.applyChanges(rems)
		if err != nil {
			return nil, err
		}
		removed += r
	}
	count := merged - removed
	if count != h.ListCount {
		return nil, countMismatch(h, count)
	}
	return b.list(&pubRecord{List: l, Gen: gen, BloomCap: capacity, BloomLoad: merged}, bf)
}
