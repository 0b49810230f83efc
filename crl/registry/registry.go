package registry

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/crlverify/crlverify/crl"
)

// Bounds on what a registry accepts.
const (
	// MaxIDBytes bounds a certificate id.
	MaxIDBytes = 1024
	// MaxIssuerBytes bounds an issuer name.
	MaxIssuerBytes = 256
	// MaxIssuers bounds how many issuers one list covers (the snapshot
	// header lists them all).
	MaxIssuers = 1024
	// MaxTime is the latest time a registry accepts (9999-12-31T23:59:59Z).
	MaxTime = 253402300799
)

// Errors a caller can branch on with errors.Is.
var (
	// ErrNotRevoked: Unrevoke of a certificate the registry does not hold.
	ErrNotRevoked = errors.New("registry: certificate is not revoked")
	// ErrIssuerRequired: no issuer given and the registry does not cover
	// exactly one issuer to default to.
	ErrIssuerRequired = errors.New("registry: issuer required")
	// ErrInvalid: a revocation's fields are out of bounds.
	ErrInvalid = errors.New("registry: invalid revocation")
	// ErrTooManyIssuers: adding an issuer would exceed MaxIssuers.
	ErrTooManyIssuers = errors.New("registry: too many issuers")
	// ErrLocked: another process has the registry open.
	ErrLocked = errors.New("registry: file is in use by another process")
)

// Options configure [Open]. A nil *Options means the defaults.
type Options struct {
	// Now is the clock for default revoked-at times and the audit trail;
	// nil means time.Now.
	Now func() time.Time
	// Actor is recorded in the audit trail as who made each change, for
	// example "cli:alice" or "api:token-3".
	Actor string
	// Timeout is how long Open waits for another process to close the file;
	// zero means 2 seconds.
	Timeout time.Duration
	// ReadOnly opens an existing registry for reading only.
	ReadOnly bool
}

// Registry is an issuing authority's revocation registry in one bbolt file.
// It is safe for concurrent use; only one process may have the file open
// for writing at a time.
type Registry struct {
	db    *bolt.DB
	now   func() time.Time
	actor string
	// keyOf is crl.KeyOf; tests replace it to provoke key collisions.
	keyOf func(issuer, id string) crl.Key
	// mu orders writers so that Publish can claim a serial and start its
	// read transaction with no change slipping in between.
	mu sync.Mutex
}

// Revocation is one revoked certificate as the authority knows it.
type Revocation struct {
	// Issuer is who issued the certificate. Empty means the registry's only
	// issuer (see [ErrIssuerRequired]).
	Issuer string
	// ID is the certificate id (for DIVOC, evidence[0].certificateId).
	ID string
	// Reason says why.
	Reason crl.Reason
	// RevokedAt is when it took effect, kept at second resolution; the
	// zero time means now.
	RevokedAt time.Time
	// SuspendedUntil, if not zero, makes this a suspension ending then; it
	// must be after RevokedAt.
	SuspendedUntil time.Time
}

// Key returns the public list key of the revoked certificate.
func (r Revocation) Key() crl.Key { return crl.KeyOf(r.Issuer, r.ID) }

// Entry returns the public list entry for r.
func (r Revocation) Entry() crl.Entry {
	e := crl.Entry{Key: r.Key(), RevokedAt: r.RevokedAt.Unix(), Reason: r.Reason}
	if !r.SuspendedUntil.IsZero() {
		e.SuspendedUntil = r.SuspendedUntil.Unix()
	}
	return e
}

func revocationOf(issuer, id string, e crl.Entry) Revocation {
	r := Revocation{Issuer: issuer, ID: id, Reason: e.Reason, RevokedAt: e.Revoked()}
	if e.SuspendedUntil != 0 {
		r.SuspendedUntil = e.Until()
	}
	return r
}

// Open opens the registry at path, creating it (mode 0600) if it does not
// exist.
func Open(path string, opts *Options) (*Registry, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Second
	}
	if o.ReadOnly {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("registry: %w", err)
		}
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:        o.Timeout,
		ReadOnly:       o.ReadOnly,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		// Reserve address space up front: every remap while a big
		// transaction commits copies all of its pending keys and values.
		// On 64-bit Unix this reserves no memory and does not grow the file.
		InitialMmapSize: initialMmapSize,
	})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, path)
		}
		return nil, fmt.Errorf("registry: open %s: %w", path, err)
	}
	r := &Registry{db: db, now: o.Now, actor: o.Actor, keyOf: crl.KeyOf}
	if o.ReadOnly {
		err = db.View(checkLayout)
	} else {
		err = db.Update(initLayout)
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("registry: %s: %w", path, err)
	}
	return r, nil
}

func initLayout(tx *bolt.Tx) error {
	for _, name := range [][]byte{bucketMeta, bucketRevoked, bucketList, bucketIssuers, bucketChanges, bucketSerials, bucketAudit} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if meta.Get(metaVersion) == nil {
		return meta.Put(metaVersion, []byte{layoutVersion})
	}
	return checkLayout(tx)
}

func checkLayout(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return errors.New("not a crlverify registry")
	}
	if v := meta.Get(metaVersion); len(v) != 1 || v[0] != layoutVersion {
		return fmt.Errorf("unsupported registry layout %v", v)
	}
	return nil
}

// Close closes the registry file.
func (r *Registry) Close() error { return r.db.Close() }

// Path returns the registry's file name.
func (r *Registry) Path() string { return r.db.Path() }

func (r *Registry) clock() time.Time { return r.now().UTC().Truncate(time.Second) }

// update runs fn in one write transaction, with the change context set up.
func (r *Registry) update(source string, fn func(*txn) error) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.db.Update(func(tx *bolt.Tx) error {
		t, err := r.newTxn(tx, source)
		if err != nil {
			return err
		}
		return fn(t)
	})
}

// txn is the state of one write transaction.
type txn struct {
	tx      *bolt.Tx
	meta    *bolt.Bucket
	rev     *bolt.Bucket
	list    *bolt.Bucket
	issuers *bolt.Bucket
	changes *bolt.Bucket
	audit   *bolt.Bucket
	now     time.Time
	actor   string
	source  string
	keyOf   func(issuer, id string) crl.Key
	pending uint64 // the serial changes made now will first be published in

	known     map[string]bool // issuers already covered
	defIssuer string          // the only issuer, if exactly one
}

func (r *Registry) newTxn(tx *bolt.Tx, source string) (*txn, error) {
	t := &txn{
		tx:      tx,
		meta:    tx.Bucket(bucketMeta),
		rev:     tx.Bucket(bucketRevoked),
		list:    tx.Bucket(bucketList),
		issuers: tx.Bucket(bucketIssuers),
		changes: tx.Bucket(bucketChanges),
		audit:   tx.Bucket(bucketAudit),
		now:     r.clock(),
		actor:   r.actor,
		source:  source,
		keyOf:   r.keyOf,
		known:   map[string]bool{},
	}
	t.audit.FillPercent = 1 // append-only
	published, err := getU64(t.meta.Get(metaPublished))
	if err != nil {
		return nil, err
	}
	t.pending = published + 1
	if err := t.issuers.ForEach(func(k, _ []byte) error {
		t.known[string(k)] = true
		return nil
	}); err != nil {
		return nil, err
	}
	if len(t.known) == 1 {
		for k := range t.known {
			t.defIssuer = k
		}
	}
	return t, nil
}

// normalize fills defaults and checks bounds. def is the issuer used when
// rv.Issuer is empty.
func (t *txn) normalize(rv Revocation, def string) (Revocation, error) {
	if rv.Issuer == "" {
		rv.Issuer = def
		if rv.Issuer == "" {
			rv.Issuer = t.defIssuer
		}
		if rv.Issuer == "" {
			return rv, ErrIssuerRequired
		}
	}
	if err := checkName("issuer", rv.Issuer, MaxIssuerBytes); err != nil {
		return rv, err
	}
	if err := checkName("id", rv.ID, MaxIDBytes); err != nil {
		return rv, err
	}
	if rv.Reason > crl.MaxReason {
		return rv, fmt.Errorf("%w: reason code %d above %d", ErrInvalid, rv.Reason, crl.MaxReason)
	}
	if rv.RevokedAt.IsZero() {
		rv.RevokedAt = t.now
	}
	rv.RevokedAt = rv.RevokedAt.UTC().Truncate(time.Second)
	if s := rv.RevokedAt.Unix(); s <= 0 || s > MaxTime {
		return rv, fmt.Errorf("%w: revoked-at %s out of range", ErrInvalid, rv.RevokedAt.Format(time.RFC3339))
	}
	if !rv.SuspendedUntil.IsZero() {
		rv.SuspendedUntil = rv.SuspendedUntil.UTC().Truncate(time.Second)
		if !rv.SuspendedUntil.After(rv.RevokedAt) {
			return rv, fmt.Errorf("%w: suspension end %s is not after revoked-at %s", ErrInvalid,
				rv.SuspendedUntil.Format(time.RFC3339), rv.RevokedAt.Format(time.RFC3339))
		}
		if rv.SuspendedUntil.Unix() > MaxTime {
			return rv, fmt.Errorf("%w: suspension end out of range", ErrInvalid)
		}
	}
	return rv, nil
}

// checkName refuses empty, oversized, non-UTF-8 names, control characters,
// and leading or trailing white space (which would silently make a
// different list key than the certificate carries).
func checkName(what, s string, max int) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: empty %s", ErrInvalid, what)
	case len(s) > max:
		return fmt.Errorf("%w: %s longer than %d bytes", ErrInvalid, what, max)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not UTF-8", ErrInvalid, what)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%w: %s %q has leading or trailing white space", ErrInvalid, what, s)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %s %q has control characters", ErrInvalid, what, s)
	}
	return nil
}

func (t *txn) addIssuer(issuer string) error {
	if t.known[issuer] {
		return nil
	}
	if len(t.known) >= MaxIssuers {
		return fmt.Errorf("%w: the list already covers %d", ErrTooManyIssuers, MaxIssuers)
	}
	if err := t.issuers.Put([]byte(issuer), []byte{}); err != nil {
		return err
	}
	t.known[issuer] = true
	return t.appendAudit(AuditRecord{Action: ActionAddIssuer, Issuer: issuer})
}

// revoke records the revocation of (issuer, id) as list entry e (e.Key is
// the certificate's key). It reports whether anything changed.
func (t *txn) revoke(issuer, id string, e crl.Entry) (bool, error) {
	rk := revKey(e.Key, issuer, id)
	val := encodeEntry(e)
	old := t.rev.Get(rk)
	if old != nil && bytes.Equal(old, val) {
		return false, nil
	}
	if err := t.addIssuer(issuer); err != nil {
		return false, err
	}
	if err := t.rev.Put(rk, val); err != nil {
		return false, err
	}
	kb := e.Key.Bytes()
	before, holders, err := t.listGet(e.Key)
	if err != nil {
		return false, err
	}
	after := e
	switch {
	case old == nil && before != nil:
		// Another certificate shares this key: list the stronger.
		after = mergeEntries(*before, e)
		holders++
	case old == nil:
		holders = 1
	case holders > 1:
		if after, err = t.recompute(e.Key); err != nil {
			return false, err
		}
	}
	if err := t.list.Put(kb[:], encodeListValue(after, holders)); err != nil {
		return false, err
	}
	if err := t.recordChange(e.Key, before, &after); err != nil {
		return false, err
	}
	action := ActionRevoke
	if old != nil {
		action = ActionUpdate
	}
	return true, t.appendAudit(AuditRecord{Action: action, Issuer: issuer, ID: id,
		Reason: e.Reason, RevokedAt: fromUnix(e.RevokedAt), SuspendedUntil: fromUnix(e.SuspendedUntil)})
}

// lift removes the revocation of (issuer, id).
func (t *txn) lift(issuer, id string) error {
	k := t.keyOf(issuer, id)
	rk := revKey(k, issuer, id)
	if t.rev.Get(rk) == nil {
		return fmt.Errorf("%w: %s %q", ErrNotRevoked, issuer, id)
	}
	if err := t.rev.Delete(rk); err != nil {
		return err
	}
	kb := k.Bytes()
	before, holders, err := t.listGet(k)
	if err != nil {
		return err
	}
	if before == nil {
		return fmt.Errorf("%w: list has no entry for %s %q", errCorrupt, issuer, id)
	}
	var after *crl.Entry
	if holders <= 1 {
		err = t.list.Delete(kb[:])
	} else {
		var e crl.Entry
		if e, err = t.recompute(k); err == nil {
			after = &e
			err = t.list.Put(kb[:], encodeListValue(e, holders-1))
		}
	}
	if err != nil {
		return err
	}
	if err := t.recordChange(k, before, after); err != nil {
		return err
	}
	return t.appendAudit(AuditRecord{Action: ActionLift, Issuer: issuer, ID: id})
}

func (t *txn) listGet(k crl.Key) (*crl.Entry, uint64, error) {
	kb := k.Bytes()
	v := t.list.Get(kb[:])
	if v == nil {
		return nil, 0, nil
	}
	e, n, err := decodeListValue(v, k)
	if err != nil {
		return nil, 0, err
	}
	return &e, n, nil
}

// recompute merges every revocation whose key is k (more than one only on
// a key collision).
func (t *txn) recompute(k crl.Key) (crl.Entry, error) {
	var out *crl.Entry
	kb := k.Bytes()
	c := t.rev.Cursor()
	for rk, v := c.Seek(kb[:]); rk != nil && bytes.HasPrefix(rk, kb[:]); rk, v = c.Next() {
		if len(v) != entryLen {
			return crl.Entry{}, errCorrupt
		}
		e := getEntry(v, k)
		if out != nil {
			e = mergeEntries(*out, e)
		}
		out = &e
	}
	if out == nil {
		return crl.Entry{}, fmt.Errorf("%w: no revocation for key %s", errCorrupt, k)
	}
	return *out, nil
}

// recordChange files a change of the list entry for k under the pending
// serial, folding it with an earlier change to k in the same serial.
func (t *txn) recordChange(k crl.Key, before, after *crl.Entry) error {
	ck := changeKey(t.pending, k)
	if v := t.changes.Get(ck); v != nil {
		first, _, err := decodeChange(v, k)
		if err != nil {
			return err
		}
		before = first
	}
	if sameEntry(before, after) {
		return t.changes.Delete(ck)
	}
	return t.changes.Put(ck, encodeChange(before, after))
}

// Revoke records one revocation, or replaces the revoked-at, reason and
// suspension end of a certificate already revoked. It returns the
// revocation as stored (defaults filled in).
func (r *Registry) Revoke(rv Revocation) (Revocation, error) {
	err := r.update("", func(t *txn) error {
		var err error
		if rv, err = t.normalize(rv, ""); err != nil {
			return err
		}
		e := rv.Entry()
		e.Key = t.keyOf(rv.Issuer, rv.ID)
		_, err = t.revoke(rv.Issuer, rv.ID, e)
		return err
	})
	return rv, err
}

// Unrevoke lifts the revocation or suspension of (issuer, id); an empty
// issuer means the registry's only issuer. The certificate disappears from
// the next published list (a delta carries it as a removal).
func (r *Registry) Unrevoke(issuer, id string) error {
	return r.update("", func(t *txn) error {
		if issuer == "" {
			if issuer = t.defIssuer; issuer == "" {
				return ErrIssuerRequired
			}
		}
		return t.lift(issuer, id)
	})
}

// RevokeBatch applies every revocation in one transaction: either all are
// recorded or, if one is invalid, none is and the error is an *ImportError
// whose rows are numbered from 1 in batch order. Later revocations of the
// same certificate replace earlier ones.
func (r *Registry) RevokeBatch(revs []Revocation) (ImportResult, error) {
	i := 0
	return r.apply(func() (Revocation, int, error) {
		if i == len(revs) {
			return Revocation{}, 0, errEndOfRows
		}
		i++
		return revs[i-1], i, nil
	}, &ImportOptions{Source: "batch"}, nil)
}

// AddIssuers declares issuers the list is authoritative for, even before
// any of their certificates is revoked. Verifiers treat a certificate of an
// issuer not covered by any list as of unknown revocation status.
func (r *Registry) AddIssuers(issuers ...string) error {
	return r.update("", func(t *txn) error {
		for _, is := range issuers {
			if err := checkName("issuer", is, MaxIssuerBytes); err != nil {
				return err
			}
			if err := t.addIssuer(is); err != nil {
				return err
			}
		}
		return nil
	})
}

// Issuers returns the issuers the list covers, sorted.
func (r *Registry) Issuers() ([]string, error) {
	var out []string
	err := r.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketIssuers).ForEach(func(k, _ []byte) error {
			out = append(out, string(k))
			return nil
		})
	})
	sort.Strings(out)
	return out, err
}

// Lookup returns the revocation of (issuer, id), if any.
func (r *Registry) Lookup(issuer, id string) (Revocation, bool, error) {
	var (
		rv Revocation
		ok bool
	)
	err := r.db.View(func(tx *bolt.Tx) error {
		k := r.keyOf(issuer, id)
		v := tx.Bucket(bucketRevoked).Get(revKey(k, issuer, id))
		if v == nil {
			return nil
		}
		if len(v) != entryLen {
			return errCorrupt
		}
		rv, ok = revocationOf(issuer, id, getEntry(v, k)), true
		return nil
	})
	return rv, ok, err
}

// Revocations calls fn for every revocation, in list-key order.
func (r *Registry) Revocations(fn func(Revocation) error) error {
	return r.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketRevoked).ForEach(func(k, v []byte) error {
			key, issuer, id, err := splitRevKey(k)
			if err != nil || len(v) != entryLen {
				return errCorrupt
			}
			return fn(revocationOf(issuer, id, getEntry(v, key)))
		})
	})
}

// Entries calls fn for every entry of the current public list, in key
// order: exactly what the next full snapshot will contain.
func (r *Registry) Entries(fn func(crl.Entry) error) error {
	return r.db.View(func(tx *bolt.Tx) error {
		return forEachEntry(tx, fn)
	})
}

func forEachEntry(tx *bolt.Tx, fn func(crl.Entry) error) error {
	c := tx.Bucket(bucketList).Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		if len(k) != 8 {
			return errCorrupt
		}
		e, _, err := decodeListValue(v, crl.KeyFromBytes(k))
		if err != nil {
			return err
		}
		if err := fn(e); err != nil {
			return err
		}
	}
	return nil
}

// Stats summarises a registry.
type Stats struct {
	// Revocations is how many certificates are revoked or suspended.
	Revocations int `json:"revocations"`
	// ListEntries is how many entries the next full snapshot will hold
	// (fewer than Revocations only on a key collision).
	ListEntries int `json:"list_entries"`
	// Issuers is how many issuers the list covers.
	Issuers int `json:"issuers"`
	// LastSerial is the last serial published (0: never).
	LastSerial uint64 `json:"last_serial"`
	// PendingChanges is how many list entries changed since LastSerial.
	PendingChanges int `json:"pending_changes"`
}

// Stats returns counts over the registry.
func (r *Registry) Stats() (Stats, error) {
	var s Stats
	err := r.db.View(func(tx *bolt.Tx) error {
		s.Revocations = tx.Bucket(bucketRevoked).Stats().KeyN
		s.ListEntries = tx.Bucket(bucketList).Stats().KeyN
		s.Issuers = tx.Bucket(bucketIssuers).Stats().KeyN
		var err error
		if s.LastSerial, err = getU64(tx.Bucket(bucketMeta).Get(metaPublished)); err != nil {
			return err
		}
		prefix := u64(s.LastSerial + 1)
		c := tx.Bucket(bucketChanges).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			s.PendingChanges++
		}
		return nil
	})
	return s, err
}

// Published is what the registry remembers of one published serial.
type Published struct {
	Serial     uint64    `json:"serial"`
	ThisUpdate time.Time `json:"this_update"`
	NextUpdate time.Time `json:"next_update"`
	// ListDigest is the body digest of the full snapshot ("sha256:<hex>").
	ListDigest string `json:"list_digest"`
	ListCount  uint64 `json:"list_count"`
	// Full is the file name of the full snapshot.
	Full string `json:"full"`
}

// PublishedSerials returns the serials published so far, oldest first. A
// serial claimed by a publication that failed midway is absent.
func (r *Registry) PublishedSerials() ([]Published, error) {
	var out []Published
	err := r.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketSerials).ForEach(func(_, v []byte) error {
			var p Published
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("%w: %v", errCorrupt, err)
			}
			out = append(out, p)
			return nil
		})
	})
	return out, err
}
