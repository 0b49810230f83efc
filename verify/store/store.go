package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bits-and-blooms/bloom/v3"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

// Errors a caller can branch on with errors.Is.
var (
	// ErrIssuerConflict: an issuer a list covers, or a binding names, is
	// bound to another publisher (see [List.Bound]). An issuer never moves
	// from one publisher to another by itself: [Store.Remove] forgets the
	// other publisher, or a binding of it that leaves the issuer out
	// ([ApplyOptions.Issuers], [Store.Bind]) releases it. The error is an
	// [*IssuerError].
	ErrIssuerConflict = errors.New("store: issuer bound to another publisher")
	// ErrIssuerNotBound: a list covers an issuer its publisher is not
	// bound to (see [List.Bound]): the verifier has not allowed that
	// publisher to answer for it. A binding that names the issuer
	// ([ApplyOptions.Issuers]) allows it. The error is an [*IssuerError].
	ErrIssuerNotBound = errors.New("store: list covers an issuer its publisher is not bound to")
	// ErrLocked: another process is writing the store file and did not
	// finish within [Options.LockTimeout]. Only writers wait for one
	// another; reading never does.
	ErrLocked = errors.New("store: in use by another process")
	// ErrSchema: the file is not a store of a version this one reads.
	ErrSchema = errors.New("store: unsupported store file")
	// ErrCorrupt: the store file is damaged (truncated, or its bytes
	// changed). The message names the file; the way out is to remove it
	// and sync again into a new one.
	ErrCorrupt = errors.New("store: damaged store file")
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
	DefaultLockTimeout   = time.Minute
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
	// ReadOnly opens the file for reading only: writes return
	// ErrReadOnly, and nothing is created next to the file. Any number of
	// processes may read a store, also while another one writes it.
	ReadOnly bool
	// LockTimeout is how long a write waits for another process's write
	// to the same store to end before it fails with ErrLocked. Reads never
	// wait. Default: DefaultLockTimeout.
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
	// Bound are the issuers the verifier allows the publisher's lists to
	// cover, sorted: its binding. Issuers is always among them; a list
	// covering another issuer is refused ([ErrIssuerNotBound]), and no
	// other publisher may cover or be bound to one of them
	// ([ErrIssuerConflict]). BoundExplicitly says that the binding was
	// given ([ApplyOptions.Issuers], [Store.Bind]); otherwise it was
	// taken from the issuers of the publisher's first list (trust on
	// first use). A list stored before bindings were kept has none: it is
	// bound to its Issuers ([List.Binding]).
	Bound           []string `json:"bound,omitempty"`
	BoundExplicitly bool     `json:"bound_explicitly,omitempty"`
	// SignerKey is the RFC 7638 SHA-256 thumbprint, base64url, of the
	// key that verified the list's signature: of the key itself, unlike
	// KeyID, which names it as the signer chose. A trust store may name
	// the keys whose lists answer for an issuer (package verify). Empty
	// for a list stored before it was recorded.
	SignerKey string `json:"signer_key,omitempty"`
}

// Binding returns the issuers the publisher is bound to: Bound, or
// Issuers for a list stored before bindings were kept.
func (l *List) Binding() []string {
	if l.Bound != nil {
		return l.Bound
	}
	return l.Issuers
}

// IssuerError is the error of a list or a binding refused for an issuer
// ([ErrIssuerNotBound], [ErrIssuerConflict]).
type IssuerError struct {
	// Err is ErrIssuerNotBound or ErrIssuerConflict.
	Err error
	// Publisher is the publisher of the list or binding refused, Issuer
	// the issuer refused.
	Publisher, Issuer string
	// Bound is Publisher's binding (ErrIssuerNotBound).
	Bound []string
	// Other is the publisher Issuer is bound to (ErrIssuerConflict).
	Other string
}

func (e *IssuerError) Error() string {
	if errors.Is(e.Err, ErrIssuerConflict) {
		return fmt.Sprintf("%v: %q is bound to publisher %q, not to %q", e.Err, e.Issuer, e.Other, e.Publisher)
	}
	return fmt.Sprintf("%v: %q covers issuer %q, and is bound to %s only", e.Err, e.Publisher, e.Issuer, quoteList(e.Bound))
}

func (e *IssuerError) Unwrap() error { return e.Err }

func quoteList(ss []string) string {
	if len(ss) == 0 {
		return "no issuer"
	}
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return strings.Join(q, ", ")
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
	bktSources = []byte("sources") // schema 1 only

	keySchema  = []byte("schema")
	keyNextGen = []byte("next_gen")
	keyState   = []byte("state")
	keyBloom   = []byte("bloom")
	keyFences  = []byte("fences")
)

// schemaVersion is the version of the files this package writes; it also
// reads version 1 (see the package documentation).
const schemaVersion = 2

// listView is an immutable in-memory picture of one publisher's list.
type listView struct {
	rec   pubRecord
	bloom *bloom.BloomFilter
	// What a check of an absent key needs, laid out for it: the filter's
	// words, blocks and probes, and the list's validity period.
	filter filter
	period time.Duration // NextUpdate - ThisUpdate
	// fences are the first keys of the list's blocks (nil in a schema 1
	// file, whose lookups seek in bbolt instead).
	fences []crl.Key
}

func newListView(rec *pubRecord, bf *bloom.BloomFilter, fences []crl.Key) *listView {
	return &listView{
		rec: *rec, bloom: bf, filter: filterOf(bf), fences: fences,
		period: rec.List.NextUpdate.Sub(rec.List.ThisUpdate),
	}
}

// view is an immutable picture of all lists and the file they are read
// from, swapped as a whole.
type view struct {
	f        *storeFile // nil: there is no store file yet
	pubs     map[string]*listView
	byIssuer map[string]*issuerList
	// few is byIssuer as a slice when it has at most maxFew issuers, the
	// usual case: comparing a few strings is quicker than hashing one.
	few []*issuerList
	// boundTo names the publisher each bound issuer is bound to.
	boundTo map[string]string
	// shc are the SMART Health Cards issuers' own lists, by
	// shcName(issuer, kid).
	shc map[string]*shcView
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

// newView returns the view of the lists pubs in file f.
func newView(f *storeFile, pubs map[string]*listView) *view {
	nv := &view{f: f, pubs: pubs, byIssuer: map[string]*issuerList{}, boundTo: map[string]string{}, shc: map[string]*shcView{}}
	for _, l := range nv.pubs {
		for _, is := range l.rec.List.Issuers {
			nv.byIssuer[is] = &issuerList{is, crl.KeyerOf(is), l}
		}
		for _, is := range l.rec.List.Binding() {
			nv.boundTo[is] = l.rec.List.Publisher
		}
	}
	if len(nv.byIssuer) <= maxFew {
		for _, il := range nv.byIssuer {
			nv.few = append(nv.few, il)
		}
	}
	return nv
}

// Store is an open store. Its methods are safe for concurrent use; writes
// are serialised, checks run alongside them.
//
// A store is a file that is never modified in place: a write builds the
// next file beside it and renames it over the old one (see the package
// documentation). Store follows the renames its own writes make; a store
// open in a process that only reads sees another process's writes after
// [Store.Reload].
type Store struct {
	path string
	opts Options

	mu     sync.Mutex // serialises writes and reloads
	view   atomic.Pointer[view]
	closed bool
	// smallDelta is the largest delta merged block by block (see the
	// constant).
	smallDelta uint64
	res        *resident
}

// Open opens the store at path. A missing file is an empty store, created
// by the first write (an error when opts.ReadOnly).
func Open(path string, opts *Options) (*Store, error) {
	o := opts.withDefaults()
	path = followLinks(path)
	s := &Store{path: path, opts: o, smallDelta: smallDelta, res: newResident(o.ResidentLimit)}
	v, err := s.load()
	if err != nil {
		if o.ReadOnly || !errors.Is(err, fs.ErrNotExist) {
			s.res.close()
			return nil, err
		}
		v = newView(nil, map[string]*listView{})
	}
	s.view.Store(v)
	if !o.ReadOnly {
		s.tidy()
	}
	if v.f != nil {
		// Opening read the Bloom filters through the mapping.
		s.res.release(v.f.db)
	}
	return s, nil
}

// followLinks returns the file path names through symbolic links (which
// may not exist yet): a write renames a new file over the store, and so
// over the file a link points to, not over the link.
func followLinks(path string) string {
	for range 40 {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode()&fs.ModeSymlink == 0 {
			return path
		}
		target, err := os.Readlink(path)
		if err != nil {
			return path
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(path), target)
		}
		path = target
	}
	return path
}

// load opens the file at s.path and reads its lists.
func (s *Store) load() (*view, error) {
	f, err := openFile(s.path, s.opts.LockTimeout)
	if err != nil {
		return nil, err
	}
	v, err := loadView(f)
	if err != nil {
		f.close()
		return nil, err
	}
	return v, nil
}

// tidy removes files left by writes that did not finish, unless another
// process is writing.
func (s *Store) tidy() {
	lf, err := os.OpenFile(lockPath(s.path), os.O_RDWR, 0)
	if err != nil {
		return
	}
	defer lf.Close()
	if ok, _ := tryLock(lf); ok {
		s.removeTemps()
		unlockFile(lf)
	}
}

// Path returns the file the store was opened from.
func (s *Store) Path() string { return s.path }

// Options returns the options in force, defaults filled in.
func (s *Store) Options() Options { return s.opts }

// Close closes the store. Checks and applies must have returned.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	s.res.close()
	return s.view.Load().f.close()
}

// Reload makes the store answer from the file at its path, if another
// process has written it since this store last read it, and reports
// whether it did. Checks in progress finish on the lists they began with.
func (s *Store) Reload() (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refresh()
}

// refresh is Reload with s.mu held.
func (s *Store) refresh() (bool, error) {
	if s.closed {
		return false, bolterrors.ErrDatabaseNotOpen
	}
	v := s.view.Load()
	fi, err := os.Stat(s.path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if v.f == nil {
			return false, nil
		}
		// Removed: no lists.
		s.swap(newView(nil, map[string]*listView{}))
		return true, nil
	case err != nil:
		return false, fmt.Errorf("store: %w", err)
	case v.f != nil && os.SameFile(fi, v.f.info):
		return false, nil
	}
	nv, err := s.load()
	if err != nil {
		return false, err
	}
	s.swap(nv)
	return true, nil
}

// swap makes nv the current view and closes the file of the one it
// replaces once the reads in progress on it have ended; a check that
// finds that file closed starts again on the current view.
func (s *Store) swap(nv *view) {
	old := s.view.Swap(nv)
	if old.f != nil && old.f != nv.f {
		old.f.close()
	}
	if nv.f != nil {
		s.res.release(nv.f.db)
	}
}

// write runs fn with the writer lock held and the current lists read
// from the live file; fn returns the view of the file it wrote, or nil if
// it wrote none.
func (s *Store) write(fn func(v *view) (*view, error)) error {
	if s.opts.ReadOnly {
		return ErrReadOnly
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return bolterrors.ErrDatabaseNotOpen
	}
	unlock, err := s.lockWriter()
	if err != nil {
		return err
	}
	defer unlock()
	s.removeTemps()
	if _, err := s.refresh(); err != nil {
		return err
	}
	v := s.view.Load()
	if err := s.migrateRecords(v); err != nil {
		return err
	}
	nv, err := fn(v)
	if err != nil && v.f != nil && v.f.closed.Load() {
		// Closed for a rename that failed (Windows): read it again.
		if nv, lerr := s.load(); lerr == nil {
			s.view.Store(nv)
		}
	}
	if err != nil || nv == nil {
		return err
	}
	s.swap(nv)
	return nil
}

// current returns the view that replaced v, once v's file is found
// closed: waiting, if need be, for the write that closed it to end.
func (s *Store) current(v *view) (*view, bool) {
	nv := s.view.Load()
	if nv == v {
		s.mu.Lock()
		nv = s.view.Load()
		s.mu.Unlock()
	}
	return nv, nv != v
}

// rewrite builds the next file from v: fn adds what changes to b (after
// the other lists are copied, except publisher drop's and the SMART Health
// Cards list named dropSHC, which may be damaged), and returns the view of
// the changed list, or nil.
func (s *Store) rewrite(v *view, drop, dropSHC string, extra int64, fn func(b *build) (*listView, error)) (nv *view, err error) {
	var b *build
	defer func() {
		if err != nil && b != nil {
			b.abort()
		}
	}()
	path := s.path
	if v.f != nil {
		path = v.f.path
	}
	defer guard(&err, path, debug.SetPanicOnFault(true))
	if b, err = s.newBuild(v, extra); err != nil {
		return nil, err
	}
	if err := b.keep(drop, dropSHC); err != nil {
		return nil, err
	}
	var lv *listView
	if fn != nil {
		if lv, err = fn(b); err != nil {
			return nil, err
		}
	}
	nf, err := b.finish()
	if err != nil {
		return nil, err
	}
	if lv != nil {
		b.kept[lv.rec.List.Publisher] = lv
	}
	nv = newView(nf, b.kept)
	nv.shc = b.keptSHC
	return nv, nil
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

// loadView reads the lists of f.
func loadView(f *storeFile) (*view, error) {
	pubs := map[string]*listView{}
	var shcLists map[string]*shcView
	err := f.view(func(tx *bolt.Tx) error {
		var err error
		if shcLists, err = f.loadSHC(tx); err != nil {
			return err
		}
		return tx.Bucket(bktPubs).ForEachBucket(func(name []byte) error {
			pb := tx.Bucket(bktPubs).Bucket(name)
			rec, err := f.readRecord(name, pb)
			if err != nil {
				return err
			}
			if genBucket(tx, rec.Gen) == nil {
				return f.corrupt("entries of %q missing", name)
			}
			var fences []crl.Key
			if f.sums {
				if fences, err = f.readFences(pb); err != nil {
					return err
				}
			}
			bf, err := f.readBloom(pb.Get(keyBloom), rec.Gen)
			if err != nil {
				if f.sums {
					return err
				}
				// A schema 1 file stores the filter in the same
				// transaction as the list, so this is damage: rebuild it
				// from the entries.
				bf, rec.BloomCap, err = buildBloom(f, tx, rec, 0)
				if err != nil {
					return err
				}
				rec.BloomLoad = rec.List.Count
			}
			pubs[rec.List.Publisher] = newListView(rec, bf, fences)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	v := newView(f, pubs)
	v.shc = shcLists
	return v, nil
}

// Lists returns the stored lists, sorted by publisher.
func (s *Store) Lists() []List {
	v := s.view.Load()
	out := make([]List, 0, len(v.pubs))
	for _, lv := range v.pubs {
		out = append(out, lv.rec.List.clone())
	}
	slices.SortFunc(out, func(a, b List) int { return strings.Compare(a.Publisher, b.Publisher) })
	return out
}

// List returns the stored list of publisher.
func (s *Store) List(publisher string) (List, bool) {
	lv := s.view.Load().pubs[publisher]
	if lv == nil {
		return List{}, false
	}
	return lv.rec.List.clone(), true
}

func (l *List) clone() List {
	c := *l
	c.Issuers, c.Bound, c.Signers = slices.Clone(l.Issuers), slices.Clone(l.Bound), slices.Clone(l.Signers)
	return c
}

// Remove forgets publisher: its list, and the sync records of the sources
// that served it. Its next full snapshot is then trusted on the keys given
// alone, and judged against no earlier time.
func (s *Store) Remove(publisher string) error {
	return s.write(func(v *view) (*view, error) {
		if err := s.removeRecords(func(r *SyncRecord) bool { return r.Publisher == publisher }); err != nil {
			return nil, err
		}
		if v.pubs[publisher] == nil {
			return nil, nil
		}
		return s.rewrite(v, publisher, "", 0, nil)
	})
}

// Entries calls fn for every entry of publisher's list in key order, from
// one consistent read; fn must not call methods that write to the store.
func (s *Store) Entries(publisher string, fn func(crl.Entry) error) error {
	for {
		v := s.view.Load()
		lv := v.pubs[publisher]
		if lv == nil {
			return nil
		}
		err := v.f.view(func(tx *bolt.Tx) error {
			return forEachEntry(v.f, tx, lv, fn)
		})
		s.res.release(v.f.db)
		if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
			if _, ok := s.current(v); ok {
				continue // replaced meanwhile: read the current list
			}
		}
		return err
	}
}

func genBucket(tx *bolt.Tx, gen uint64) *bolt.Bucket {
	lists := tx.Bucket(bktLists)
	if lists == nil {
		return nil
	}
	return lists.Bucket(u64(gen))
}

// forEachEntry calls fn for every entry of lv in f, checking the blocks
// against lv's index.
func forEachEntry(f *storeFile, tx *bolt.Tx, lv *listView, fn func(crl.Entry) error) error {
	b := genBucket(tx, lv.rec.Gen)
	if b == nil {
		return f.corrupt("entries of %q missing", lv.rec.List.Publisher)
	}
	var buf []crl.Entry
	n := 0
	var count uint64
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if lv.fences != nil && (n >= len(lv.fences) || crl.KeyFromBytes(k) != lv.fences[n]) {
			return f.corrupt("blocks of %q differ from their index", lv.rec.List.Publisher)
		}
		n++
		var err error
		if buf, err = f.decodeBlock(buf[:0], k, v); err != nil {
			return err
		}
		count += uint64(len(buf))
		for _, e := range buf {
			if err := fn(e); err != nil {
				return err
			}
		}
	}
	if lv.fences != nil && n != len(lv.fences) || count != lv.rec.List.Count {
		return f.corrupt("list of %q has %d entries in %d blocks, its state says %d", lv.rec.List.Publisher, count, n, lv.rec.List.Count)
	}
	return nil
}
