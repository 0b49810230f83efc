package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bits-and-blooms/bloom/v3"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/store/internal/block"
)

// Errors a caller can branch on with errors.Is.
var (
	// ErrIssuerConflict: a list claims an issuer that another publisher's
	// stored list already covers.
	ErrIssuerConflict = errors.New("store: issuer already covered by another publisher")
	// ErrLocked: another process has the store file open for writing.
	ErrLocked = errors.New("store: in use by another process")
	// ErrSchema: the file is not a store of this version.
	ErrSchema = errors.New("store: unsupported store file")
	// ErrCorrupt: stored data does not decode.
	ErrCorrupt = block.ErrCorrupt
	// ErrReadOnly: a write was attempted on a store opened read-only.
	ErrReadOnly = errors.New("store: opened read-only")
	// ErrKeyChange: a snapshot is signed by a key that has not signed its
	// publisher's stored lists, and the keys it was verified with hold
	// none of those that have. [Store.Remove] forgets the stored list, so
	// that the next full snapshot is trusted on the keys given alone.
	ErrKeyChange = errors.New("store: snapshot signed by a key its publisher's list was never signed by")
)

// Defaults for [Options].
const (
	DefaultMaxSerialJump = 1 << 20
	DefaultBatchEntries  = 100_000
	DefaultBloomFPRate   = 0.005
	DefaultLockTimeout   = 2 * time.Second
	// DefaultResidentLimit keeps a process checking a store of 10M
	// entries (a file of about 130 MB) within about 100 MB of resident
	// memory, its Bloom filter included.
	DefaultResidentLimit = 48 << 20
	// smallDelta is the largest delta (upserts + removals) merged into the
	// current list in one transaction; larger ones build a new generation.
	smallDelta = 1 << 18
)

// Options configure a [Store]. A nil *Options means the defaults.
type Options struct {
	// Grace is how long past its next-update a list still counts as fresh.
	// Default: none.
	Grace time.Duration
	// MaxSerialJump bounds how far a snapshot's serial may be above the
	// stored list's. Default: DefaultMaxSerialJump.
	MaxSerialJump uint64
	// Limits bound snapshots read by ApplySnapshot. Nil: snapshot.DefaultLimits.
	Limits *snapshot.Limits
	// ReadOnly opens the file for reading only; several processes may then
	// read it at once (but not while one writes).
	ReadOnly bool
	// LockTimeout is how long Open waits for another process to release
	// the file. Default: DefaultLockTimeout.
	LockTimeout time.Duration
	// BloomFPRate is the false-positive rate the Bloom filter is sized for.
	// Default: DefaultBloomFPRate.
	BloomFPRate float64
	// BatchEntries is how many entries go into one staging transaction.
	// Default: DefaultBatchEntries.
	BatchEntries int
	// ResidentLimit bounds, roughly, how many bytes of the store file a
	// checking process keeps mapped, and so counted in its resident
	// memory: entries are read through a memory mapping, and random
	// lookups in a large list would otherwise map all of it over time (see
	// the package documentation). Released pages stay in the system's file
	// cache, but mapping one again costs a page fault (microseconds) on a
	// later lookup. Only stores larger than the limit are affected, and
	// only on Linux. Default: DefaultResidentLimit; negative: no limit.
	ResidentLimit int64
}

func (o *Options) withDefaults() Options {
	var v Options
	if o != nil {
		v = *o
	}
	if v.MaxSerialJump == 0 {
		v.MaxSerialJump = DefaultMaxSerialJump
	}
	if v.LockTimeout == 0 {
		v.LockTimeout = DefaultLockTimeout
	}
	if v.BloomFPRate <= 0 || v.BloomFPRate >= 1 {
		v.BloomFPRate = DefaultBloomFPRate
	}
	if v.BatchEntries <= 0 {
		v.BatchEntries = DefaultBatchEntries
	}
	if v.ResidentLimit == 0 {
		v.ResidentLimit = DefaultResidentLimit
	}
	return v
}

// List is the verified header of a publisher's current list.
type List struct {
	Publisher  string          `json:"publisher"`
	Issuers    []string        `json:"issuers"`
	Serial     uint64          `json:"serial"`
	ThisUpdate time.Time       `json:"this_update"`
	NextUpdate time.Time       `json:"next_update"`
	ListDigest snapshot.Digest `json:"list_digest"`
	// Count is the number of entries.
	Count     uint64 `json:"list_count"`
	KeyID     string `json:"key_id"`
	Algorithm string `json:"algorithm"`
	// Signers are the ids of the keys that signed the publisher's lists
	// stored so far, oldest first, at most eight. A later snapshot must be
	// signed by one of them, or verify with keys that still hold one of
	// them (a key rotation); see [ErrKeyChange].
	Signers []string `json:"signers,omitempty"`
	// Kind is the kind of the snapshot last applied.
	Kind snapshot.Kind `json:"kind"`
	// AppliedAt is the time given to the apply that made this list.
	AppliedAt time.Time `json:"applied_at"`
}

// Stale reports whether the list is past its next-update plus grace at at.
func (l *List) Stale(at time.Time, grace time.Duration) bool {
	return at.After(l.NextUpdate.Add(grace))
}

// pubRecord is what the store keeps per publisher, besides the entries and
// the Bloom filter.
type pubRecord struct {
	List List `json:"list"`
	// Gen names the bucket under "lists" that holds the entries.
	Gen uint64 `json:"gen"`
	// BloomCap is the number of keys the filter was sized for; BloomLoad
	// the number of keys added to it since it was built (removed keys
	// stay counted).
	BloomCap  uint64 `json:"bloom_cap"`
	BloomLoad uint64 `json:"bloom_load"`
}

// Bucket and key names.
var (
	bktMeta    = []byte("meta")
	bktPubs    = []byte("publishers")
	bktLists   = []byte("lists")
	bktSources = []byte("sources")

	keySchema  = []byte("schema")
	keyNextGen = []byte("next_gen")
	keyNewest  = []byte("newest_seen")
	keyState   = []byte("state")
	keyCurrent = []byte("current")
	keyBloom   = []byte("bloom")
)

const schemaVersion = 1

// listView is an immutable in-memory picture of one publisher's list.
type listView struct {
	rec   pubRecord
	bloom *bloom.BloomFilter
	// What a check of an absent key needs, laid out for it: the filter's
	// words, blocks and probes, and the list's validity period.
	filter filter
	period time.Duration // NextUpdate - ThisUpdate
}

func newListView(rec *pubRecord, bf *bloom.BloomFilter) *listView {
	return &listView{
		rec: *rec, bloom: bf, filter: filterOf(bf),
		period: rec.List.NextUpdate.Sub(rec.List.ThisUpdate),
	}
}

// view is an immutable picture of all lists, swapped as a whole.
type view struct {
	pubs     map[string]*listView
	byIssuer map[string]*issuerList
	// few is byIssuer as a slice when it has at most maxFew issuers, the
	// usual case: comparing a few strings is quicker than hashing one.
	few    []*issuerList
	newest time.Time
}

// issuerList is the list that covers an issuer, with the issuer's part of
// its certificates' keys computed once.
type issuerList struct {
	issuer string
	keyer  crl.Keyer
	lv     *listView
}

const maxFew = 8

// list returns what covers issuer, or nil.
func (v *view) list(issuer string) *issuerList {
	if len(v.byIssuer) > maxFew {
		return v.byIssuer[issuer]
	}
	for _, il := range v.few {
		if il.issuer == issuer {
			return il
		}
	}
	return nil
}

func (v *view) with(lv *listView, newest time.Time) *view {
	nv := &view{pubs: map[string]*listView{}, byIssuer: map[string]*issuerList{}, newest: v.newest}
	if newest.After(nv.newest) {
		nv.newest = newest
	}
	for p, l := range v.pubs {
		if lv == nil || p != lv.rec.List.Publisher {
			nv.pubs[p] = l
		}
	}
	if lv != nil {
		nv.pubs[lv.rec.List.Publisher] = lv
	}
	for _, l := range nv.pubs {
		for _, is := range l.rec.List.Issuers {
			nv.byIssuer[is] = &issuerList{is, crl.KeyerOf(is), l}
		}
	}
	if len(nv.byIssuer) <= maxFew {
		for _, il := range nv.byIssuer {
			nv.few = append(nv.few, il)
		}
	}
	return nv
}

// Store is an open store file. Its methods are safe for concurrent use;
// applies are serialised, checks run alongside them.
type Store struct {
	db   *bolt.DB
	opts Options
	path string

	mu   sync.Mutex // serialises writers
	view atomic.Pointer[view]
	// smallDelta is the largest delta merged in place (see the constant).
	smallDelta uint64
	res        *resident
}

// Open opens or creates the store file at path.
func Open(path string, opts *Options) (*Store, error) {
	o := opts.withDefaults()
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      o.LockTimeout,
		ReadOnly:     o.ReadOnly,
		FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	s := &Store{db: db, opts: o, path: path, smallDelta: smallDelta, res: newResident(o.ResidentLimit)}
	if err := s.init(); err != nil {
		s.res.close()
		db.Close()
		return nil, err
	}
	// Opening read the Bloom filters through the mapping.
	s.res.release(db)
	return s, nil
}

// Path returns the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Options returns the options in force, defaults filled in.
func (s *Store) Options() Options { return s.opts }

// Close closes the file. Checks and applies must have returned.
func (s *Store) Close() error {
	s.res.close()
	return s.db.Close()
}

func (s *Store) init() error {
	if !s.opts.ReadOnly {
		err := s.db.Update(func(tx *bolt.Tx) error {
			meta, err := tx.CreateBucketIfNotExists(bktMeta)
			if err != nil {
				return err
			}
			if v := meta.Get(keySchema); v == nil {
				if err := meta.Put(keySchema, u64(schemaVersion)); err != nil {
					return err
				}
			}
			for _, name := range [][]byte{bktPubs, bktLists, bktSources} {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: initialise: %w", err)
		}
	}
	var v *view
	err := s.db.View(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bktMeta)
		if meta == nil {
			// A read-only open of a file never written: no lists.
			v = &view{pubs: map[string]*listView{}, byIssuer: map[string]*issuerList{}}
			return nil
		}
		if sv := meta.Get(keySchema); len(sv) != 8 || binary.BigEndian.Uint64(sv) != schemaVersion {
			return ErrSchema
		}
		var err error
		v, err = loadView(tx)
		return err
	})
	if err != nil {
		return err
	}
	s.view.Store(v)
	if !s.opts.ReadOnly {
		if err := s.collect(); err != nil {
			return fmt.Errorf("store: clean staging: %w", err)
		}
	}
	return nil
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func loadView(tx *bolt.Tx) (*view, error) {
	v := &view{pubs: map[string]*listView{}, byIssuer: map[string]*issuerList{}}
	if nb := tx.Bucket(bktMeta).Get(keyNewest); nb != nil {
		if err := v.newest.UnmarshalText(nb); err != nil {
			return nil, fmt.Errorf("%w: newest time: %v", ErrCorrupt, err)
		}
	}
	pubs := tx.Bucket(bktPubs)
	if pubs == nil {
		return v, nil
	}
	err := pubs.ForEachBucket(func(name []byte) error {
		pb := pubs.Bucket(name)
		rec, err := readRecord(pb)
		if err != nil {
			return err
		}
		bf, err := decodeBloom(pb.Get(keyBloom), rec.Gen)
		if err != nil {
			// The filter is written in the same transaction as the list,
			// so this is damage: rebuild it from the entries.
			bf, rec.BloomCap, err = buildBloom(tx, rec, 0)
			if err != nil {
				return err
			}
			rec.BloomLoad = rec.List.Count
		}
		v.pubs[rec.List.Publisher] = newListView(rec, bf)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return v.with(nil, time.Time{}), nil
}

// currentMarker is the generation and serial of a publisher's list, kept
// next to its state so that a check can tell cheaply whether the list it
// read from memory is still the current one.
func currentMarker(rec *pubRecord) []byte {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:], rec.Gen)
	binary.BigEndian.PutUint64(b[8:], rec.List.Serial)
	return b[:]
}

func readRecord(pb *bolt.Bucket) (*pubRecord, error) {
	raw := pb.Get(keyState)
	if raw == nil {
		return nil, fmt.Errorf("%w: publisher without state", ErrCorrupt)
	}
	var rec pubRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, fmt.Errorf("%w: publisher state: %v", ErrCorrupt, err)
	}
	return &rec, nil
}

// collect deletes generation buckets that no publisher points at: staging
// left by a crash or a failed apply, and replaced lists.
func (s *Store) collect() error {
	var garbage [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		live := map[uint64]bool{}
		for _, lv := range s.view.Load().pubs {
			live[lv.rec.Gen] = true
		}
		return tx.Bucket(bktLists).ForEachBucket(func(k []byte) error {
			if len(k) != 8 || !live[binary.BigEndian.Uint64(k)] {
				garbage = append(garbage, slices.Clone(k))
			}
			return nil
		})
	})
	if err != nil || len(garbage) == 0 {
		return err
	}
	return s.db.Update(func(tx *bolt.Tx) error {
		lists := tx.Bucket(bktLists)
		for _, k := range garbage {
			if err := lists.DeleteBucket(k); err != nil && !errors.Is(err, bolterrors.ErrBucketNotFound) {
				return err
			}
		}
		return nil
	})
}

// Lists returns the stored lists, sorted by publisher.
func (s *Store) Lists() []List {
	v := s.view.Load()
	out := make([]List, 0, len(v.pubs))
	for _, lv := range v.pubs {
		l := lv.rec.List
		l.Issuers = slices.Clone(l.Issuers)
		out = append(out, l)
	}
	slices.SortFunc(out, func(a, b List) int {
		switch {
		case a.Publisher < b.Publisher:
			return -1
		case a.Publisher > b.Publisher:
			return 1
		}
		return 0
	})
	return out
}

// List returns the stored list of publisher.
func (s *Store) List(publisher string) (List, bool) {
	lv := s.view.Load().pubs[publisher]
	if lv == nil {
		return List{}, false
	}
	l := lv.rec.List
	l.Issuers = slices.Clone(l.Issuers)
	return l, true
}

// NewestSeen returns the latest signed this-update the store has seen (in
// a list or a publication index). A clock earlier than this is wrong.
func (s *Store) NewestSeen() time.Time { return s.view.Load().newest }

// NoteSeen records t, a this-update from a verified signed document, as
// seen; later checks at an earlier time report [ClockBehind].
func (s *Store) NoteSeen(t time.Time) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.view.Load()
	if !t.After(v.newest) {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error { return putNewest(tx, t) })
	if err != nil {
		return err
	}
	s.view.Store(v.with(nil, t))
	return nil
}

func putNewest(tx *bolt.Tx, t time.Time) error {
	meta := tx.Bucket(bktMeta)
	if old := meta.Get(keyNewest); old != nil {
		var ot time.Time
		if ot.UnmarshalText(old) == nil && !t.After(ot) {
			return nil
		}
	}
	b, err := t.UTC().MarshalText()
	if err != nil {
		return err
	}
	return meta.Put(keyNewest, b)
}

// Remove deletes publisher's list from the store (for instance to start
// over from a full snapshot). The bookkeeping of syncs is kept.
func (s *Store) Remove(publisher string) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.view.Load()
	lv := v.pubs[publisher]
	if lv == nil {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bktPubs).DeleteBucket([]byte(publisher)); err != nil {
			return err
		}
		return tx.Bucket(bktLists).DeleteBucket(u64(lv.rec.Gen))
	})
	if err != nil {
		return err
	}
	nv := &view{pubs: map[string]*listView{}, newest: v.newest}
	for p, l := range v.pubs {
		if p != publisher {
			nv.pubs[p] = l
		}
	}
	s.view.Store(nv.with(nil, time.Time{}))
	return nil
}

// Entries calls fn for every entry of publisher's list in key order, from
// one consistent read; fn must not call methods that write to the store.
func (s *Store) Entries(publisher string, fn func(crl.Entry) error) error {
	defer s.res.release(s.db)
	return s.db.View(func(tx *bolt.Tx) error {
		pb := tx.Bucket(bktPubs).Bucket([]byte(publisher))
		if pb == nil {
			return nil
		}
		rec, err := readRecord(pb)
		if err != nil {
			return err
		}
		return forEachEntry(tx, rec.Gen, fn)
	})
}

func genBucket(tx *bolt.Tx, gen uint64) *bolt.Bucket {
	lists := tx.Bucket(bktLists)
	if lists == nil {
		return nil
	}
	return lists.Bucket(u64(gen))
}

func forEachEntry(tx *bolt.Tx, gen uint64, fn func(crl.Entry) error) error {
	b := genBucket(tx, gen)
	if b == nil {
		return fmt.Errorf("%w: list bucket missing", ErrCorrupt)
	}
	var buf []crl.Entry
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return fmt.Errorf("%w: bad block key", ErrCorrupt)
		}
		var err error
		buf, err = block.Decode(buf[:0], crl.KeyFromBytes(k), v)
		if err != nil {
			return err
		}
		for _, e := range buf {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	return nil
}
