package registry

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// Never publishing backwards. Before it publishes, the registry compares
// itself with the newest publication in the directory (its signed index
// and checkpoint). A directory holding a serial the registry never
// published, or a list or audit head other than the registry's for a
// serial it did, is refused with a *PublicationConflictError: publishing
// over it could drop revocations verifiers already hold (an old copy of
// the registry put back, a second registry writing into the same
// directory). [Registry.CarryForward] is the way on that keeps every
// published revocation: it carries the entries of the newest published
// list the registry would not list into the registry's carried table,
// keyed by list key (crl.Key) since their ids are unknown, with an audit
// record naming the list's serial and digest, and acknowledges that
// publication, so the next one goes ahead.

// ErrPublicationConflict: the publication directory holds what this
// registry did not publish. The error is a *PublicationConflictError.
var ErrPublicationConflict = errors.New("registry: publication directory conflicts with the registry")

// PublicationConflictError says how the newest publication of a directory
// differs from the registry.
type PublicationConflictError struct {
	Dir string
	// Serial is the directory's newest serial, RegistrySerial the
	// registry's last published one.
	Serial, RegistrySerial uint64
	// What differs, in a sentence.
	Problem string
	// Dropped counts entries of the directory's newest list that the
	// registry would not list (or list more weakly): publishing would
	// un-revoke them. Examples holds a few of their list keys.
	Dropped  uint64
	Examples []crl.Key
	// Added counts entries the registry would list that the directory's
	// list does not hold (revocations lifted there, or new here).
	Added uint64
}

func (e *PublicationConflictError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "registry: not publishing into %s: %s", e.Dir, e.Problem)
	if e.Dropped > 0 {
		fmt.Fprintf(&b, "; its list revokes %d certificate%s this registry would not (list keys", e.Dropped, plural(e.Dropped))
		for _, k := range e.Examples {
			fmt.Fprintf(&b, " %016x", uint64(k))
		}
		if uint64(len(e.Examples)) < e.Dropped {
			b.WriteString(" ...")
		}
		b.WriteString("): publishing now would un-revoke them")
	}
	if e.Added > 0 {
		fmt.Fprintf(&b, "; this registry lists %d entr%s the directory's list does not", e.Added, pluralY(e.Added))
	}
	b.WriteString(". To go on: restore the registry from its newest backup (crlverify restore), or carry the directory's newest list into this registry (crlverify publish --carry-forward: every entry it lists stays revoked, recorded in the audit trail), or publish into another directory")
	return b.String()
}

// Is makes errors.Is(err, ErrPublicationConflict) true.
func (e *PublicationConflictError) Is(target error) bool { return target == ErrPublicationConflict }

func plural(n uint64) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func pluralY(n uint64) string {
	if n == 1 {
		return "y"
	}
	return "ies"
}

// dirPublication is the newest publication of a directory.
type dirPublication struct {
	ix         *snapshot.Index
	cp         *snapshot.Checkpoint // nil: none (written before checkpoints)
	listDigest snapshot.Digest
}

// readDirPublication reads the index of dir and the checkpoint of its
// serial, verified with keys; nil without an index.
func readDirPublication(dir string, keys snapshot.Keys) (*dirPublication, error) {
	f, err := os.Open(filepath.Join(dir, snapshot.IndexName))
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	ix, err := snapshot.ReadIndex(f, keys, nil)
	if err != nil {
		return nil, fmt.Errorf("registry: the index of %s: %w (give the public keys it was signed with)", dir, err)
	}
	dp := &dirPublication{ix: ix, listDigest: ix.ListDigest}
	cp, err := readCheckpointFile(filepath.Join(dir, snapshot.CheckpointName(ix.Serial)), keys)
	switch {
	case err == nil:
		if cp.Serial != ix.Serial {
			return nil, fmt.Errorf("registry: %s: %w: checkpoint of serial %d", snapshot.CheckpointName(ix.Serial), snapshot.ErrMalformed, cp.Serial)
		}
		dp.cp = cp
		if dp.listDigest.IsZero() {
			dp.listDigest = cp.ListDigest
		}
	case !errors.Is(err, os.ErrNotExist):
		return nil, fmt.Errorf("registry: %w", err)
	}
	if dp.listDigest.IsZero() && ix.Full.Serial == ix.Serial {
		h, err := readFullHeader(dir, ix, keys)
		if err != nil {
			return nil, err
		}
		dp.listDigest = h.ListDigest
	}
	return dp, nil
}

func readFullHeader(dir string, ix *snapshot.Index, keys snapshot.Keys) (*snapshot.Header, error) {
	f, err := os.Open(filepath.Join(dir, ix.Full.Name))
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	h, err := snapshot.ReadHeader(bufio.NewReader(f), keys, nil)
	if err != nil {
		return nil, fmt.Errorf("registry: %s: %w", ix.Full.Name, err)
	}
	return h, nil
}

// readPublishedList reads the full snapshot of the index's serial, every
// entry, checking it against the index and its signature.
func readPublishedList(dir string, ix *snapshot.Index, keys snapshot.Keys) (*snapshot.Header, []crl.Entry, error) {
	if ix.Full.Serial != ix.Serial {
		return nil, nil, fmt.Errorf("registry: the index of %s names no full snapshot of its serial %d", dir, ix.Serial)
	}
	f, err := os.Open(filepath.Join(dir, ix.Full.Name))
	if err != nil {
		return nil, nil, fmt.Errorf("registry: %w", err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 256<<10)
	h, err := snapshot.ReadHeader(br, keys, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("registry: %s: %w", ix.Full.Name, err)
	}
	if h.Kind != snapshot.KindFull || h.Serial != ix.Serial || h.Publisher != ix.Publisher {
		return nil, nil, fmt.Errorf("registry: %s: %w: not the full snapshot the index names", ix.Full.Name, snapshot.ErrMalformed)
	}
	rd := snapshot.NewBodyReader(br, h, nil)
	out := make([]crl.Entry, 0, min(h.ListCount, 1<<20))
	for {
		e, _, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("registry: %s: %w", ix.Full.Name, err)
		}
		out = append(out, e)
	}
	return h, out, nil
}

// acked is what a carry-forward acknowledged: a publication of the
// directory that the registry did not make (meta "acked": serial (8) ||
// list digest (32) || audit seq (8) || audit head (32), zero when the
// publication had no checkpoint).
type acked struct {
	serial     uint64
	listDigest snapshot.Digest
	auditSeq   uint64
	auditHead  snapshot.Digest
}

func (a *acked) encode() []byte {
	b := binary.BigEndian.AppendUint64(nil, a.serial)
	b = append(b, a.listDigest[:]...)
	b = binary.BigEndian.AppendUint64(b, a.auditSeq)
	return append(b, a.auditHead[:]...)
}

func decodeAcked(v []byte) (acked, bool) {
	var a acked
	if len(v) != 80 {
		return a, false
	}
	a.serial = binary.BigEndian.Uint64(v)
	copy(a.listDigest[:], v[8:40])
	a.auditSeq = binary.BigEndian.Uint64(v[40:48])
	copy(a.auditHead[:], v[48:])
	return a, true
}

func ackOf(dp *dirPublication) acked {
	a := acked{serial: dp.ix.Serial, listDigest: dp.listDigest}
	if dp.cp != nil {
		a.auditSeq, a.auditHead = dp.cp.AuditSeq, dp.cp.AuditHead
	}
	return a
}

// guard compares the registry with the newest publication of dir; nil
// when publishing over it keeps everything it published.
func (t *txc) guard(dir string, dp *dirPublication, keys snapshot.Keys, publisher string) error {
	if dp == nil {
		return nil
	}
	ix := dp.ix
	last, err := getU64(t.meta.Get(metaPublished))
	if err != nil {
		return err
	}
	if a, ok := decodeAcked(t.meta.Get(metaAcked)); ok && a == ackOf(dp) {
		return nil // carried forward
	}
	conflict := func(format string, args ...any) error {
		e := &PublicationConflictError{Dir: dir, Serial: ix.Serial, RegistrySerial: last, Problem: fmt.Sprintf(format, args...)}
		if err := t.diffPublished(dir, ix, keys, e); err != nil {
			e.Problem += fmt.Sprintf(" (its list could not be compared: %v)", err)
		}
		return e
	}
	pub := string(t.meta.Get(metaPublisher))
	if pub == "" {
		pub = publisher
	}
	if pub != "" && pub != ix.Publisher {
		return conflict("it holds the publication of %q, this registry publishes as %q", ix.Publisher, pub)
	}
	if ix.Serial > last {
		return conflict("it holds serial %d (made %s), which this registry did not publish (its last serial is %d): the registry is older than the directory (an old copy put back?) or another registry publishes there",
			ix.Serial, ix.ThisUpdate.Format(time.RFC3339), last)
	}
	v := t.tx.Bucket(bucketSerials).Get(u64(ix.Serial))
	if v == nil {
		return conflict("it holds serial %d, which this registry has no record of publishing", ix.Serial)
	}
	mine, err := decodePublished(v)
	if err != nil {
		return err
	}
	if !dp.listDigest.IsZero() && mine.ListDigest != dp.listDigest.String() {
		return conflict("its serial %d lists other entries (%s) than this registry published as serial %d (%s)", ix.Serial, dp.listDigest, ix.Serial, mine.ListDigest)
	}
	if dp.cp != nil {
		v, ok, err := t.audit.get(u64(dp.cp.AuditSeq))
		if err != nil {
			return err
		}
		if !ok {
			return conflict("its serial %d was signed over %d audit records, this registry has fewer", ix.Serial, dp.cp.AuditSeq)
		}
		rec, err := decodeRecord(dp.cp.AuditSeq, v)
		if err != nil {
			return err
		}
		if snapshot.Digest(rec.Hash) != dp.cp.AuditHead {
			return conflict("its serial %d was signed over another audit trail than this registry's (record %d differs: crlverify audit verify --publication tells more)", ix.Serial, dp.cp.AuditSeq)
		}
	}
	return nil
}

// diffPublished counts the entries of the directory's newest list the
// registry would drop or weaken, and those it adds.
func (t *txc) diffPublished(dir string, ix *snapshot.Index, keys snapshot.Keys, e *PublicationConflictError) error {
	_, list, err := readPublishedList(dir, ix, keys)
	if err != nil {
		return err
	}
	now := t.now.Unix()
	i := 0
	err = t.eachListEntry(now, func(mine crl.Entry) error {
		for i < len(list) && list[i].Key < mine.Key {
			if list[i].SuspendedUntil == 0 || list[i].SuspendedUntil > now {
				e.note(list[i].Key)
			}
			i++
		}
		if i < len(list) && list[i].Key == mine.Key {
			if mergeEntries(mine, list[i]) != mine {
				e.note(mine.Key)
			}
			i++
			return nil
		}
		e.Added++
		return nil
	})
	for ; i < len(list); i++ {
		if list[i].SuspendedUntil == 0 || list[i].SuspendedUntil > now {
			e.note(list[i].Key)
		}
	}
	return err
}

func (e *PublicationConflictError) note(k crl.Key) {
	e.Dropped++
	if len(e.Examples) < 3 {
		e.Examples = append(e.Examples, k)
	}
}

// eachListEntry calls fn for every entry of the list at Unix time at, in
// key order: the revocation records and the carried entries of each key,
// merged.
func (t *txc) eachListEntry(at int64, fn func(crl.Entry) error) error {
	lh := t.listHolders()
	var hs []holder
	for {
		k, have, err := lh.least()
		if err != nil {
			return err
		}
		if !have {
			return nil
		}
		if hs, err = lh.take(k, hs[:0]); err != nil {
			return err
		}
		if e, ok := listEntry(k, hs, at); ok {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
}

// listHolders walks, key by key in order, what lists each key: its
// revocation records (revoked or suspended) and its carried entry.
type listHolders struct {
	st, ca     *tableIter
	stOK, caOK bool
}

func (t *txc) listHolders() *listHolders {
	lh := &listHolders{st: t.state.iter(nil), ca: t.carriedIter()}
	lh.stOK, lh.caOK = lh.st.next(), lh.ca.next()
	return lh
}

// least returns the smallest key not yet taken, if any.
func (lh *listHolders) least() (k crl.Key, have bool, err error) {
	if lh.stOK {
		if len(lh.st.key()) < 8 {
			return 0, false, fmt.Errorf("%w: state key", errCorrupt)
		}
		k, have = crl.Key(binary.BigEndian.Uint64(lh.st.key())), true
	}
	if lh.caOK {
		if ck := crl.Key(binary.BigEndian.Uint64(lh.ca.key())); !have || ck < k {
			k, have = ck, true
		}
	}
	return k, have, nil
}

// take appends to hs the holders of key k, which must be at most the
// least key, and moves past it.
func (lh *listHolders) take(k crl.Key, hs []holder) ([]holder, error) {
	kb := k.Bytes()
	for lh.stOK && bytes.HasPrefix(lh.st.key(), kb[:]) {
		s, err := decodeState(lh.st.val())
		if err != nil {
			return hs, err
		}
		if s.Status == StatusRevoked || s.Status == StatusSuspended {
			hs = append(hs, holderOf(&s))
		}
		lh.stOK = lh.st.next()
	}
	if lh.st.err != nil {
		return hs, lh.st.err
	}
	if lh.caOK && bytes.Equal(lh.ca.key(), kb[:]) {
		c, err := decodeCarried(lh.ca.key(), lh.ca.val())
		if err != nil {
			return hs, err
		}
		hs = append(hs, c.holder())
		lh.caOK = lh.ca.next()
	}
	return hs, lh.ca.err
}

// The carried table: list key (8) → byte reason, uvarint revoked-at,
// uvarint suspended-until (0: none), uvarint sequence number of the
// carry-forward record that set it.
type carriedEntry struct {
	key       crl.Key
	reason    crl.Reason
	revokedAt int64
	until     int64
	seq       uint64
}

func (c *carriedEntry) encode() []byte {
	b := []byte{byte(c.reason)}
	b = binary.AppendUvarint(b, uint64(c.revokedAt))
	b = binary.AppendUvarint(b, uint64(c.until))
	return binary.AppendUvarint(b, c.seq)
}

func decodeCarried(k, v []byte) (carriedEntry, error) {
	var c carriedEntry
	if len(k) != 8 || len(v) < 1 || crl.Reason(v[0]) > crl.MaxReason {
		return c, fmt.Errorf("%w: carried entry", errCorrupt)
	}
	c.key, c.reason = crl.Key(binary.BigEndian.Uint64(k)), crl.Reason(v[0])
	d := decoder{b: v[1:]}
	c.revokedAt = int64(d.uvarint())
	c.until = int64(d.uvarint())
	c.seq = d.uvarint()
	if d.err != nil || len(d.b) != 0 || c.revokedAt <= 0 {
		return c, fmt.Errorf("%w: carried entry", errCorrupt)
	}
	return c, nil
}

func (c *carriedEntry) holder() holder {
	h := holder{Status: StatusRevoked, Reason: c.reason, RevokedAt: c.revokedAt, Until: c.until}
	if c.until != 0 {
		h.Status = StatusSuspended
	}
	return h
}

func (c *carriedEntry) entry() crl.Entry {
	return crl.Entry{Key: c.key, RevokedAt: c.revokedAt, Reason: c.reason, SuspendedUntil: c.until}
}

func carriedOf(e crl.Entry) carriedEntry {
	return carriedEntry{key: e.Key, reason: e.Reason, revokedAt: e.RevokedAt, until: e.SuspendedUntil}
}

// carriedIter walks the carried table (empty in a layout 2 file).
func (t *txc) carriedIter() *tableIter {
	if t.carried.b == nil {
		return &tableIter{done: true}
	}
	return t.carried.iter(nil)
}

// carriedHolder returns the carried entry of list key k as a holder.
func (t *txc) carriedHolder(k crl.Key) (holder, bool, error) {
	if t.carried.b == nil {
		return holder{}, false, nil
	}
	kb := k.Bytes()
	v, ok, err := t.carried.get(kb[:])
	if err != nil || !ok {
		return holder{}, false, err
	}
	c, err := decodeCarried(kb[:], v)
	if err != nil {
		return holder{}, false, err
	}
	return c.holder(), true, nil
}

// Audit items of a carry-forward: the entries carried, in key order. The
// canonical encoding is
//
//	u8 3, u64 list key, u8 reason, i64 revoked_at, i64 suspended_until (0: none)
//
// and the stored value byte 3, the 8-byte list key, the reason byte,
// uvarint revoked-at, uvarint suspended-until.
const itemCarried = 3

func carriedItemValue(c *carriedEntry) []byte {
	b := []byte{itemCarried}
	b = binary.BigEndian.AppendUint64(b, uint64(c.key))
	b = append(b, byte(c.reason))
	b = binary.AppendUvarint(b, uint64(c.revokedAt))
	return binary.AppendUvarint(b, uint64(c.until))
}

func decodeCarriedItem(v []byte) (carriedEntry, error) {
	var c carriedEntry
	if len(v) < 10 || v[0] != itemCarried || crl.Reason(v[9]) > crl.MaxReason {
		return c, fmt.Errorf("%w: audit item", errCorrupt)
	}
	c.key, c.reason = crl.Key(binary.BigEndian.Uint64(v[1:9])), crl.Reason(v[9])
	d := decoder{b: v[10:]}
	c.revokedAt = int64(d.uvarint())
	c.until = int64(d.uvarint())
	if d.err != nil || len(d.b) != 0 || c.revokedAt <= 0 {
		return c, fmt.Errorf("%w: audit item", errCorrupt)
	}
	return c, nil
}

func carriedItem(c *carriedEntry) AuditItem {
	it := AuditItem{Kind: "carried", ListKey: fmt.Sprintf("%016x", uint64(c.key)), Status: StatusRevoked, Reason: c.reason,
		RevokedAt: fromUnix(c.revokedAt), SuspendedUntil: fromUnix(c.until)}
	if c.until != 0 {
		it.Status = StatusSuspended
	}
	return it
}

// parseListKey reads an AuditItem's ListKey.
func parseListKey(s string) uint64 {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func decodePublished(v []byte) (Published, error) {
	var p Published
	if err := json.Unmarshal(v, &p); err != nil {
		return p, fmt.Errorf("%w: serial record: %v", errCorrupt, err)
	}
	return p, nil
}

// CarryOptions configure [Registry.CarryForward]. A nil *CarryOptions
// means the defaults.
type CarryOptions struct {
	// Actor and Note go into the audit record; an empty Actor means
	// [Options.Actor].
	Actor string
	Note  string
}

// CarryResult says what [Registry.CarryForward] did.
type CarryResult struct {
	// Serial and ListDigest are those of the publication carried.
	Serial     uint64          `json:"serial"`
	ListDigest snapshot.Digest `json:"list_digest"`
	// Listed counts the entries of its list; Carried those the registry
	// did not list as they are, now in its carried table; Issuers the
	// issuers of the publication the registry did not cover.
	Listed  uint64   `json:"listed"`
	Carried uint64   `json:"carried"`
	Issuers []string `json:"issuers,omitempty"`
	// AuditSeq is the carry-forward's audit record.
	AuditSeq uint64 `json:"audit_seq"`
}

// MaxCarried bounds how many entries one carry-forward carries (one
// transaction holds them all).
const MaxCarried = 10_000_000

// CarryForward reads the newest publication of dir (its index, checkpoint
// and full snapshot, verified with keys, the publisher's public keys) and
// carries into the registry every entry of its list that the registry
// would not list as strongly: those entries stay on every list the
// registry publishes from now on, keyed by list key since their
// certificate ids are unknown (a suspension until it ends). The issuers
// the publication covers are added. One audit record (action
// carry-forward) names the publication's serial, its full snapshot and
// list digest, and holds the entries carried as items; the publication is
// acknowledged, so [Registry.Publish] no longer refuses the directory for
// it. Carried entries cannot be lifted: revoke the certificate by id if
// it is known again.
func (r *Registry) CarryForward(dir string, keys snapshot.Keys, opts *CarryOptions) (CarryResult, error) {
	var o CarryOptions
	if opts != nil {
		o = *opts
	}
	var res CarryResult
	if err := checkNote(o.Note); err != nil {
		return res, err
	}
	dp, err := readDirPublication(dir, keys)
	if err != nil {
		return res, err
	}
	if dp == nil {
		return res, fmt.Errorf("registry: %s holds no publication (no %s)", dir, snapshot.IndexName)
	}
	h, list, err := readPublishedList(dir, dp.ix, keys)
	if err != nil {
		return res, err
	}
	if !dp.listDigest.IsZero() && h.ListDigest != dp.listDigest {
		return res, fmt.Errorf("registry: %s: %w: its list digest is not the one its index and checkpoint give", dp.ix.Full.Name, snapshot.ErrMalformed)
	}
	if uint64(len(list)) > MaxCarried {
		return res, fmt.Errorf("%w: the list holds %d entries, more than %d", ErrInvalid, len(list), MaxCarried)
	}
	res.Serial, res.ListDigest, res.Listed = h.Serial, h.ListDigest, uint64(len(list))
	actor := r.actorOr(o.Actor)
	err = r.update(func(t *txc) error {
		if pub := string(t.meta.Get(metaPublisher)); pub != "" && pub != h.Publisher {
			return fmt.Errorf("%w: the publication is of %q, this registry publishes as %q", ErrPublisherChanged, h.Publisher, pub)
		}
		if t.carried.b == nil {
			return fmt.Errorf("%w: the carried table is missing", errCorrupt)
		}
		res.Issuers = nil
		for _, is := range h.Issuers {
			if _, ok := t.iss.nums[is]; !ok {
				if _, err := t.addIssuer(is, actor); err != nil {
					return err
				}
				res.Issuers = append(res.Issuers, is)
			}
		}
		// The entries the registry does not list as strongly.
		now := t.now.Unix()
		var carry []carriedEntry
		i := 0
		take := func(e crl.Entry) {
			if e.SuspendedUntil == 0 || e.SuspendedUntil > now {
				carry = append(carry, carriedOf(e))
			}
		}
		if err := t.eachListEntry(now, func(mine crl.Entry) error {
			for i < len(list) && list[i].Key < mine.Key {
				take(list[i])
				i++
			}
			if i < len(list) && list[i].Key == mine.Key {
				if mergeEntries(mine, list[i]) != mine {
					take(list[i])
				}
				i++
			}
			return nil
		}); err != nil {
			return err
		}
		for ; i < len(list); i++ {
			take(list[i])
		}
		seq := t.nextSeq()
		muts := make([]mut, 0, len(carry))
		items := make([]mut, 0, len(carry))
		var m merkle
		for j := range carry {
			c := &carry[j]
			if old, ok, err := t.carriedHolder(c.key); err != nil {
				return err
			} else if ok {
				// A key carried before keeps the stronger of the two.
				prev := carriedEntry{key: c.key, reason: old.Reason, revokedAt: old.RevokedAt, until: old.Until}
				*c = carriedOf(mergeEntries(prev.entry(), c.entry()))
			}
			c.seq = seq
			if err := t.logChange(c.key); err != nil {
				return err
			}
			kb := c.key.Bytes()
			muts = append(muts, mut{key: kb[:], val: c.encode()})
			items = append(items, mut{key: itemKey(seq, uint32(j)), val: carriedItemValue(c)})
			it := carriedItem(c)
			m.add(it.Canonical())
		}
		if _, _, err := t.carried.apply(muts); err != nil {
			return err
		}
		if _, _, err := t.items.apply(items); err != nil {
			return err
		}
		rec := &AuditRecord{Action: ActionCarry, Actor: actor, Note: o.Note, Source: dp.ix.Full.Name,
			Serial: h.Serial, ListDigest: Hash(h.ListDigest), ItemCount: m.N, ItemsRoot: m.root()}
		if err := t.putRecord(rec); err != nil {
			return err
		}
		if rec.Seq != seq {
			return fmt.Errorf("%w: audit sequence %d, expected %d", errCorrupt, rec.Seq, seq)
		}
		if string(t.meta.Get(metaPublisher)) == "" {
			if err := t.meta.Put(metaPublisher, []byte(h.Publisher)); err != nil {
				return err
			}
		}
		a := ackOf(dp)
		if err := t.meta.Put(metaAcked, a.encode()); err != nil {
			return err
		}
		res.Carried, res.AuditSeq = uint64(len(carry)), seq
		return nil
	})
	return res, err
}
