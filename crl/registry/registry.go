package registry

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/crlverify/crlverify/crl"
)

// DefaultLockAttempts is how many times an operation tries to get the
// registry file while another process has it, lockRetry apart (about 30
// seconds in all).
const DefaultLockAttempts = 1500

const lockRetry = 20 * time.Millisecond

// Options configure [Open]. A nil *Options means the defaults.
type Options struct {
	// Now is the clock for default times and the audit trail; nil means
	// time.Now.
	Now func() time.Time
	// Actor is who the audit trail names for changes that carry no
	// [Request] (imports, publications, added issuers), e.g. "cli:alice".
	Actor string
	// ReadOnly opens an existing registry for reading only (several
	// readers may share the file). It does not finish a bulk operation a
	// crash interrupted: open for writing to do that.
	ReadOnly bool
	// LockAttempts bounds how often an operation tries to get the file
	// while another process has it; zero means DefaultLockAttempts.
	LockAttempts int
}

// Registry is an issuing authority's certificate and revocation registry
// in one bbolt file. It is safe for concurrent use. The file is held
// (locked) only while an operation runs; other processes take turns on
// it (see "Sharing the file" in the package documentation).
type Registry struct {
	path     string
	now      func() time.Time
	actor    string
	readOnly bool
	attempts int
	// keyOf is crl.KeyOf; tests replace it (and clear fastKeys) to
	// provoke key collisions.
	keyOf    func(issuer, id string) crl.Key
	fastKeys bool

	bmu sync.RWMutex // bulk operations (write side) against everything else
	wmu sync.Mutex   // one writer at a time in this process

	hmu      sync.Mutex
	hcond    *sync.Cond
	db       *bolt.DB
	refs     int
	draining bool
	gate     *os.File
	closed   bool

	// writersWaiting counts writers of this process waiting for the
	// file, so the group committer gives it up between groups.
	writersWaiting atomic.Int32

	com committer
	// hooks for tests: called between the steps of bulk operations.
	stepHook func(string)
	// noSync skips bbolt's fsyncs: for a file being rebuilt privately
	// (a restore), synced once when done.
	noSync bool
}

// Open opens the registry at path, creating it (mode 0600) if it does not
// exist, and checks its layout. It does not keep the file locked: each
// operation takes the file and gives it back.
func Open(path string, opts *Options) (*Registry, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.LockAttempts <= 0 {
		o.LockAttempts = DefaultLockAttempts
	}
	if o.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
	}
	r := &Registry{path: path, now: o.Now, actor: o.Actor, readOnly: o.ReadOnly,
		attempts: o.LockAttempts, keyOf: crl.KeyOf, fastKeys: true}
	r.hcond = sync.NewCond(&r.hmu)
	r.com.r = r
	r.gate = openGate(path)
	if err := r.view(func(*txc) error { return nil }); err != nil {
		r.Close()
		return nil, err
	}
	return r, nil
}

// openGate opens the lock gate beside the registry: FILE.lock. A process
// waiting for the registry holds the gate; the process that has the
// registry sees it and gives the file back after its current operation.
func openGate(path string) *os.File {
	if !haveGate {
		return nil
	}
	f, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if f, err = os.Open(path + ".lock"); err != nil {
			return nil
		}
	}
	return f
}

// Close waits for running operations, fails queued ones with ErrClosed,
// and releases the file.
func (r *Registry) Close() error {
	r.com.stop()
	r.bmu.Lock()
	defer r.bmu.Unlock()
	r.hmu.Lock()
	defer r.hmu.Unlock()
	var err error
	if r.db != nil {
		err = r.db.Close()
		r.db = nil
	}
	r.closed = true
	if r.gate != nil {
		r.gate.Close()
		r.gate = nil
	}
	return err
}

// Path returns the registry's file name.
func (r *Registry) Path() string { return r.path }

func (r *Registry) clock() time.Time { return r.now().UTC().Truncate(time.Second) }

// acquire returns the open database, opening it (and waiting for other
// processes) if this process does not have it.
func (r *Registry) acquire() (*bolt.DB, error) {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	for r.draining {
		r.hcond.Wait()
	}
	if r.closed {
		return nil, ErrClosed
	}
	if r.db == nil {
		db, err := r.openPrepared()
		if err != nil {
			return nil, err
		}
		db.NoSync = r.noSync
		r.db = db
	}
	r.refs++
	return r.db, nil
}

// release gives back what acquire returned. The last user closes the
// file, so other processes can have it; while others in this process still
// use it and another process waits at the gate, new users here wait.
func (r *Registry) release() {
	r.hmu.Lock()
	defer r.hmu.Unlock()
	r.refs--
	if r.refs > 0 {
		if !r.draining && r.gateWaiting() {
			r.draining = true
		}
		return
	}
	if r.db != nil {
		r.db.Close()
		r.db = nil
	}
	r.draining = false
	r.hcond.Broadcast()
}

// gateWaiting reports whether another process waits for the file.
func (r *Registry) gateWaiting() bool {
	if r.gate == nil {
		return false
	}
	ok, err := tryLock(r.gate)
	if err != nil {
		return false
	}
	if ok {
		unlock(r.gate)
		return false
	}
	return true
}

// openPrepared opens the bbolt file and prepares it. bbolt trusts the
// file's pages (its freelist, the pages a transaction reads), so a damaged
// one can send it outside the mapping or into an assertion: that panic or
// memory fault is reported as a corrupt file, not a crash.
func (r *Registry) openPrepared() (db *bolt.DB, err error) {
	defer guardRead(&err, r.path, debug.SetPanicOnFault(true))
	if db, err = r.openDB(); err != nil {
		return nil, err
	}
	if err := r.prepare(db); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

// guardRead turns a panic or a memory fault in the function that defers
// it, as
//
//	defer guardRead(&err, path, debug.SetPanicOnFault(true))
//
// into an error wrapping errCorrupt. The flag applies to the calling
// goroutine; guardRead restores it.
func guardRead(err *error, path string, old bool) {
	debug.SetPanicOnFault(old)
	if p := recover(); p != nil {
		*err = fmt.Errorf("%w: %s: reading it failed: %v", errCorrupt, path, p)
	}
}

// openDB opens the bbolt file: first the gate (queueing behind earlier
// waiters), then bbolt's own lock, each tried at most r.attempts times in
// all.
func (r *Registry) openDB() (*bolt.DB, error) {
	tries := 0
	wait := func() error {
		tries++
		if tries >= r.attempts {
			return fmt.Errorf("%w: %s: gave up after %d attempts over about %v; another crlverify command or serve is using it (a long import or publication?): try again when it is done",
				ErrLocked, r.path, tries, (time.Duration(tries) * lockRetry).Round(time.Second))
		}
		time.Sleep(lockRetry)
		return nil
	}
	if r.gate != nil {
		for {
			ok, err := tryLock(r.gate)
			if err != nil {
				break // the gate does not work here: go on without it
			}
			if ok {
				defer unlock(r.gate)
				break
			}
			if err := wait(); err != nil {
				return nil, err
			}
		}
	}
	if err := checkIntact(r.path); err != nil {
		return nil, err
	}
	for {
		db, err := bolt.Open(r.path, 0o600, &bolt.Options{
			// One attempt: waiting is counted here, in attempts.
			Timeout:         time.Nanosecond,
			ReadOnly:        r.readOnly,
			FreelistType:    bolt.FreelistMapType,
			InitialMmapSize: initialMmapSize,
		})
		if err == nil {
			return db, nil
		}
		if !errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("registry: open %s: %w", r.path, err)
		}
		if err := wait(); err != nil {
			return nil, err
		}
	}
}

// prepare checks (or creates) the layout of a freshly opened file and, in
// write mode, finishes a bulk operation a crash interrupted and removes
// what an interrupted import left.
func (r *Registry) prepare(db *bolt.DB) error {
	if r.readOnly {
		if err := db.View(checkLayout); err != nil {
			return fmt.Errorf("registry: %s: %w", r.path, err)
		}
		return nil
	}
	// Grow the file in steps that fit its size: an empty registry stays
	// small, a big one does not grow (and sync) for every transaction.
	if fi, err := os.Stat(r.path); err == nil {
		db.AllocSize = int(min(max(fi.Size()/16, 256<<10), 64<<20))
	}
	// A read transaction checks the layout; only a new file, or one of
	// layout 2, needs a write.
	fresh, old := false, false
	if err := db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			fresh = true
			return nil
		}
		old = tx.Bucket(bucketCarried) == nil
		return checkLayout(tx)
	}); err != nil {
		return fmt.Errorf("registry: %s: %w", r.path, err)
	}
	if fresh {
		if err := db.Update(checkOrInit); err != nil {
			return fmt.Errorf("registry: %s: %w", r.path, err)
		}
	} else if old {
		if err := db.Update(upgradeLayout); err != nil {
			return fmt.Errorf("registry: %s: %w", r.path, err)
		}
	}
	return r.recover(db)
}

// view runs fn in a read transaction; a damaged page it reads is a
// corrupt file, not a crash (see openPrepared).
func (r *Registry) view(fn func(*txc) error) (err error) {
	defer guardRead(&err, r.path, debug.SetPanicOnFault(true))
	r.bmu.RLock()
	defer r.bmu.RUnlock()
	db, err := r.acquire()
	if err != nil {
		return err
	}
	defer r.release()
	return db.View(func(tx *bolt.Tx) error {
		t, err := r.newTxc(tx)
		if err != nil {
			return err
		}
		return fn(t)
	})
}

// update runs fn in one write transaction.
func (r *Registry) update(fn func(*txc) error) error {
	if r.readOnly {
		return fmt.Errorf("%w: the registry was opened read-only", ErrInvalid)
	}
	r.writersWaiting.Add(1)
	r.bmu.RLock()
	defer r.bmu.RUnlock()
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.writersWaiting.Add(-1)
	db, err := r.acquire()
	if err != nil {
		return err
	}
	defer r.release()
	return db.Update(func(tx *bolt.Tx) error { return runTxc(r, tx, fn) })
}

func runTxc(r *Registry, tx *bolt.Tx, fn func(*txc) error) error {
	t, err := r.newTxc(tx)
	if err != nil {
		return err
	}
	if err := fn(t); err != nil {
		return err
	}
	return t.finish()
}

// exclusive runs fn with the file held and every other operation of this
// process waiting: for work spread over several transactions.
func (r *Registry) exclusive(fn func(db *bolt.DB) error) error {
	if r.readOnly {
		return fmt.Errorf("%w: the registry was opened read-only", ErrInvalid)
	}
	r.writersWaiting.Add(1)
	r.bmu.Lock()
	defer r.bmu.Unlock()
	r.wmu.Lock()
	defer r.wmu.Unlock()
	r.writersWaiting.Add(-1)
	db, err := r.acquire()
	if err != nil {
		return err
	}
	defer r.release()
	return fn(db)
}

// txc is the context of one transaction.
type txc struct {
	r        *Registry
	tx       *bolt.Tx
	now      time.Time
	pageSize int
	meta     *bolt.Bucket
	iss      *issuerTable
	state    table
	chrono   table
	changes  table
	audit    table
	items    table
	carried  table  // b nil in a layout 2 file opened read-only
	pending  uint64 // the serial changes made now will first be published in
	counts   counts
	dirty    bool // counts changed
	runs     []*run
	runsRead bool
	head     auditHead
	headRead bool
	headSet  bool
}

func (r *Registry) newTxc(tx *bolt.Tx) (*txc, error) {
	ps := tx.DB().Info().PageSize
	t := &txc{r: r, tx: tx, now: r.clock(), pageSize: ps, meta: tx.Bucket(bucketMeta)}
	if t.meta == nil {
		return nil, fmt.Errorf("%w: no meta bucket", errCorrupt)
	}
	t.state = newTable(tx.Bucket(bucketState), ps)
	t.chrono = newTable(tx.Bucket(bucketChrono), ps)
	t.changes = newTable(tx.Bucket(bucketChanges), ps)
	t.audit = newTable(tx.Bucket(bucketAudit), ps)
	t.items = newTable(tx.Bucket(bucketItems), ps)
	if b := tx.Bucket(bucketCarried); b != nil {
		t.carried = newTable(b, ps)
	}
	var err error
	if t.iss, err = loadIssuers(tx); err != nil {
		return nil, err
	}
	published, err := getU64(t.meta.Get(metaPublished))
	if err != nil {
		return nil, err
	}
	t.pending = published + 1
	if err := t.counts.decode(t.meta.Get(metaCounts)); err != nil {
		return nil, err
	}
	return t, nil
}

// finish writes what the transaction kept in memory.
func (t *txc) finish() error {
	if t.dirty {
		if err := t.meta.Put(metaCounts, t.counts.encode()); err != nil {
			return err
		}
	}
	if t.headSet {
		v := make([]byte, 40)
		binary.BigEndian.PutUint64(v, t.head.seq)
		copy(v[8:], t.head.hash[:])
		if err := t.meta.Put(metaAuditHead, v); err != nil {
			return err
		}
	}
	return nil
}

// counts are kept in the meta bucket so Stats need not scan.
type counts struct {
	certs     uint64 // imported certificates
	revoked   uint64 // revocation records by status
	suspended uint64
	lifted    uint64
}

func (c *counts) decode(b []byte) error {
	if b == nil {
		*c = counts{}
		return nil
	}
	if len(b) != 32 {
		return fmt.Errorf("%w: counters", errCorrupt)
	}
	c.certs = binary.BigEndian.Uint64(b)
	c.revoked = binary.BigEndian.Uint64(b[8:])
	c.suspended = binary.BigEndian.Uint64(b[16:])
	c.lifted = binary.BigEndian.Uint64(b[24:])
	return nil
}

func (c *counts) encode() []byte {
	b := make([]byte, 32)
	binary.BigEndian.PutUint64(b, c.certs)
	binary.BigEndian.PutUint64(b[8:], c.revoked)
	binary.BigEndian.PutUint64(b[16:], c.suspended)
	binary.BigEndian.PutUint64(b[24:], c.lifted)
	return b
}

func (c *counts) status(s Status) *uint64 {
	switch s {
	case StatusRevoked:
		return &c.revoked
	case StatusSuspended:
		return &c.suspended
	case StatusLifted:
		return &c.lifted
	}
	return nil
}

// addIssuer returns the number of issuer, adding it (with an audit record)
// if new.
func (t *txc) addIssuer(issuer, actor string) (uint16, error) {
	n, added, err := t.iss.add(t.tx, issuer)
	if err != nil || !added {
		return n, err
	}
	_, err = t.appendAudit(&AuditRecord{Action: ActionAddIssuer, Actor: actor, Issuer: issuer}, nil)
	return n, err
}

// AddIssuers declares issuers the list is authoritative for, even before
// any of their certificates is imported or revoked. Verifiers treat a
// certificate of an issuer not covered by any list as of unknown
// revocation status.
func (r *Registry) AddIssuers(issuers ...string) error {
	return r.update(func(t *txc) error {
		for _, is := range issuers {
			if _, err := t.addIssuer(is, r.actorOr("")); err != nil {
				return err
			}
		}
		return nil
	})
}

func (r *Registry) actorOr(actor string) string {
	if actor != "" {
		return actor
	}
	if r.actor != "" {
		return r.actor
	}
	return "unknown"
}

// Issuers returns the issuers the registry covers, sorted.
func (r *Registry) Issuers() ([]string, error) {
	var out []string
	err := r.view(func(t *txc) error {
		out = slices.Clone(t.iss.names)
		return nil
	})
	slices.Sort(out)
	return out, err
}

// Stats summarises a registry.
type Stats struct {
	// Certificates is how many issued certificates were imported.
	Certificates uint64 `json:"certificates"`
	// Revoked, Suspended and Lifted count revocation records by status
	// (a suspension whose end has passed still counts as suspended).
	Revoked   uint64 `json:"revoked"`
	Suspended uint64 `json:"suspended"`
	Lifted    uint64 `json:"lifted"`
	// Issuers is how many issuers the list covers.
	Issuers int `json:"issuers"`
	// Runs is how many sorted runs hold the certificates (imports not yet
	// merged).
	Runs int `json:"runs"`
	// LastSerial is the last serial published (0: never).
	LastSerial uint64 `json:"last_serial"`
	// AuditRecords is the length of the audit chain.
	AuditRecords uint64 `json:"audit_records"`
	// FileBytes is the size of the registry file.
	FileBytes int64 `json:"file_bytes"`
}

// Stats returns counts over the registry.
func (r *Registry) Stats() (Stats, error) {
	var s Stats
	err := r.view(func(t *txc) error {
		s.Certificates, s.Revoked, s.Suspended, s.Lifted = t.counts.certs, t.counts.revoked, t.counts.suspended, t.counts.lifted
		s.Issuers = len(t.iss.names)
		runs, err := t.loadRuns()
		if err != nil {
			return err
		}
		s.Runs = len(runs)
		if s.LastSerial, err = getU64(t.meta.Get(metaPublished)); err != nil {
			return err
		}
		h, err := t.auditHead()
		s.AuditRecords = h.seq
		s.FileBytes = t.tx.Size()
		return err
	})
	return s, err
}
