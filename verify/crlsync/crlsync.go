package crlsync

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/store"
)

// Errors a caller can branch on with errors.Is, besides the snapshot
// package's sentinels (ErrBadSignature, ErrRollback, ErrTooLarge, ...).
var (
	// ErrSource: the source could not be reached or read.
	ErrSource = errors.New("crlsync: source unavailable")
	// ErrIndex: the index does not offer what it should (a file it names
	// differs from what the index says, or no path to the newest serial).
	ErrIndex = errors.New("crlsync: index inconsistent")
	// ErrTimeout: the sync did not end within [Options.Timeout]; the store
	// is as it was.
	ErrTimeout = errors.New("crlsync: sync did not finish within its time limit")
	// ErrStale: the sync found nothing newer than a list already past its
	// next-update (plus grace): the publisher's feed is frozen, or the
	// source serves an old copy of it. The store keeps the list, and
	// checks against it are not conclusive.
	ErrStale = errors.New("crlsync: the publisher's feed is stale")
	// ErrFork: the publisher's history forked (a list of the serial the
	// store holds, or the base of a delta from it, is not the stored list)
	// and the index offers no full snapshot to recover with.
	ErrFork = errors.New("crlsync: the publisher's history forked")
)

// Defaults for [Options].
const (
	DefaultAttempts     = 4
	DefaultBackoff      = 500 * time.Millisecond
	DefaultMaxBackoff   = 30 * time.Second
	DefaultStallTimeout = 60 * time.Second
	// DefaultTimeout bounds a whole sync: a full snapshot of 10M entries
	// (about 100 MB) takes about 14 minutes at 1 Mbit/s.
	DefaultTimeout = 30 * time.Minute
)

// Phase names a step of a sync in [Progress].
type Phase string

// The phases of a sync.
const (
	PhaseIndex    Phase = "index"
	PhaseDownload Phase = "download"
	PhaseApply    Phase = "apply"
)

// Progress reports how far a sync has come. Done and Total are bytes for
// PhaseDownload and items for PhaseApply; Total is 0 when unknown.
type Progress struct {
	Phase       Phase
	File        string
	Done, Total int64
}

// Options configure a [Syncer]. A nil *Options means the defaults.
type Options struct {
	// HTTPClient makes the requests. Nil: a client with connect, TLS and
	// response-header timeouts and no overall timeout (large downloads are
	// bounded by StallTimeout instead).
	HTTPClient HTTPDoer
	// Attempts is how many times a request is tried. Default DefaultAttempts.
	Attempts int
	// Backoff is the first pause between attempts, doubled each time up to
	// MaxBackoff, with random jitter. Defaults DefaultBackoff, DefaultMaxBackoff.
	Backoff, MaxBackoff time.Duration
	// StallTimeout abandons a download when no byte arrives for this long.
	StallTimeout time.Duration
	// Timeout bounds a whole sync, downloads, retries and applies
	// included; a sync that does not end in time fails with ErrTimeout and
	// leaves the store as it was. A server that sends a byte now and then
	// keeps the stall timer from firing, but not this one. Zero means
	// DefaultTimeout; negative, no bound (a deadline of the context given
	// to Sync still holds).
	Timeout time.Duration
	// Limits bound the snapshots accepted. Nil: the store's.
	Limits *snapshot.Limits
	// AllowExpired applies a newer list even when it is already past its
	// next-update (see store.ApplyOptions).
	AllowExpired bool
	// Issuers, when not empty, binds the publisher to these issuers (see
	// store.ApplyOptions.Issuers): an index or snapshot covering another
	// issuer is refused before anything is downloaded or applied
	// (store.ErrIssuerNotBound), as is one of these bound to another
	// publisher (store.ErrIssuerConflict); when the store already holds
	// the newest list, the binding is applied to it (store.Store.Bind).
	// Empty keeps the stored binding, or binds a publisher the store does
	// not hold to the issuers of its first list ([Summary.Learned]).
	Issuers []string
	// TempDir receives partial downloads, named after the store file (so
	// two stores in one directory do not share them). Default: the store
	// file's directory.
	TempDir string
	// Progress, if set, is called as the sync advances.
	Progress func(Progress)
	// OnSync, if set, is called by Run after each sync.
	OnSync func(Summary, error)
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// Summary describes the outcome of one sync.
type Summary struct {
	Source    string `json:"source"`
	Publisher string `json:"publisher,omitempty"`
	// OldSerial and NewSerial are the stored serials before and after (0:
	// no list).
	OldSerial uint64 `json:"old_serial"`
	NewSerial uint64 `json:"new_serial"`
	// Applied lists the kinds of snapshot applied, in order.
	Applied []snapshot.Kind `json:"applied,omitempty"`
	// Entries is the number of entries in the list afterwards.
	Entries uint64 `json:"entries"`
	// BytesFetched counts the bytes read from the source.
	BytesFetched int64 `json:"bytes_fetched"`
	// UpToDate: the source has nothing newer than the store.
	UpToDate bool `json:"up_to_date"`
	// Stale: the list is past its next-update (plus grace) after the sync.
	Stale bool `json:"stale"`
	// Forked: the publisher's history forked (the list of the stored
	// serial, or the base of the delta from it, was another list), and
	// the sync replaced the stored list from the full snapshot.
	Forked bool `json:"forked,omitempty"`
	// ForkedAt is the stored serial at which the histories differ.
	ForkedAt uint64 `json:"forked_at,omitempty"`
	// BoundIssuers are the issuers the publisher is bound to after the
	// sync (store.List.Bound), BoundExplicitly whether they were given
	// ([Options.Issuers]) rather than taken from its first list. Learned:
	// this sync stored the publisher's first list without a binding, and
	// bound it to the issuers that list covers (trust on first use);
	// Rebound: it changed the binding of a stored list.
	BoundIssuers    []string `json:"bound_issuers,omitempty"`
	BoundExplicitly bool     `json:"bound_explicitly,omitempty"`
	Learned         bool     `json:"binding_learned,omitempty"`
	Rebound         bool     `json:"rebound,omitempty"`
}

// String is the one-line summary the CLI prints.
func (s Summary) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", orDash(s.Publisher))
	switch {
	case s.UpToDate:
		fmt.Fprintf(&b, "serial %d up to date", s.NewSerial)
	case s.OldSerial == 0:
		fmt.Fprintf(&b, "none -> serial %d", s.NewSerial)
	default:
		fmt.Fprintf(&b, "serial %d -> %d", s.OldSerial, s.NewSerial)
	}
	if len(s.Applied) > 0 {
		kinds := make([]string, len(s.Applied))
		for i, k := range s.Applied {
			kinds[i] = string(k)
		}
		fmt.Fprintf(&b, " (%s)", strings.Join(kinds, "+"))
	}
	fmt.Fprintf(&b, ", %d entries, %s fetched", s.Entries, byteCount(s.BytesFetched))
	if s.Forked {
		fmt.Fprintf(&b, "; the publisher's history forked at serial %d (its list is not the one stored): replaced from its full snapshot", s.ForkedAt)
	}
	if s.Stale {
		b.WriteString(", STALE: past next update")
	}
	return b.String()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func byteCount(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 10<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

// Syncer brings a store up to date from one source.
type Syncer struct {
	st   *store.Store
	src  source
	keys snapshot.Keys
	opts Options
}

// New returns a Syncer for st from the source from: an http:// or https://
// URL of a publication directory, a local publication directory, or a
// single snapshot file. A URL of any other scheme is refused
// ([ErrSource]), never taken for a path. keys are the publisher's trusted
// keys.
func New(st *store.Store, from string, keys snapshot.Keys, opts *Options) (*Syncer, error) {
	o := Options{}
	if opts != nil {
		o = *opts
	}
	if o.Attempts <= 0 {
		o.Attempts = DefaultAttempts
	}
	if o.Backoff <= 0 {
		o.Backoff = DefaultBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = DefaultMaxBackoff
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	if o.Limits == nil {
		o.Limits = st.Options().Limits
	}
	if o.TempDir == "" {
		o.TempDir = filepath.Dir(st.Path())
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.HTTPClient == nil {
		o.HTTPClient = defaultClient()
	}
	s := &Syncer{st: st, keys: keys, opts: o}
	switch {
	case from == "":
		return nil, fmt.Errorf("%w: no source given", ErrSource)
	case strings.HasPrefix(from, "http://") || strings.HasPrefix(from, "https://"):
		u, err := url.Parse(from)
		if err != nil {
			return nil, fmt.Errorf("crlsync: source %q: %w", from, err)
		}
		if !strings.HasSuffix(u.Path, "/") {
			u.Path += "/"
		}
		s.src = &httpSource{base: u, s: s}
	case urlScheme(from) != "":
		// Another URL scheme (ftp://, file://, HTTPS://) is not a path.
		return nil, fmt.Errorf("%w: %q: unsupported URL scheme %q (want http:// or https://, or a local path)", ErrSource, from, urlScheme(from))
	default:
		abs, err := filepath.Abs(from)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(abs)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrSource, err)
		}
		if fi.IsDir() {
			s.src = &dirSource{dir: abs}
		} else {
			s.src = &fileSource{path: abs}
		}
	}
	return s, nil
}

// urlScheme returns the scheme of from when it starts as a URL does
// ("scheme://"), else "".
func urlScheme(from string) string {
	scheme, _, ok := strings.Cut(from, "://")
	if !ok || scheme == "" {
		return ""
	}
	for i, c := range scheme {
		letter := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
		if !letter && (i == 0 || !(c >= '0' && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return ""
		}
	}
	return scheme
}

// Source names the source as recorded in the store's bookkeeping.
func (s *Syncer) Source() string { return s.src.String() }

// source is where publications come from.
type source interface {
	String() string
}

// indexSource serves an index and the files it names.
type indexSource interface {
	source
	// index returns the index bytes (bounded), or notModified when etag
	// still matches.
	index(ctx context.Context, etag string) (b []byte, newETag string, notModified bool, err error)
	// fetch makes the file named f available, verified against f's length
	// and digest, as a path; done removes any temporary copy.
	fetch(ctx context.Context, f snapshot.IndexFile, sum *Summary) (path string, done func(), err error)
}

func (s *Syncer) progress(p Progress) {
	if s.opts.Progress != nil {
		s.opts.Progress(p)
	}
}

// Sync brings the store up to date once, and records the attempt in the
// store's bookkeeping. A sync that fails leaves the store's lists as they
// were; its error is recorded for a source that has delivered a list
// before, and nothing at all is recorded for one that never has.
func (s *Syncer) Sync(ctx context.Context) (Summary, error) {
	if s.opts.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, s.opts.Timeout, fmt.Errorf("%w of %v", ErrTimeout, s.opts.Timeout))
		defer cancel()
	}
	attempt := s.opts.Now()
	sum := Summary{Source: s.src.String()}
	// Another process may have synced meanwhile.
	if _, err := s.st.Reload(); err != nil {
		return sum, err
	}
	rec, known, err := s.st.SyncRecord(sum.Source)
	if err != nil && !errors.Is(err, store.ErrCorrupt) {
		return sum, err
	}
	rec.Source = sum.Source
	switch src := s.src.(type) {
	case indexSource:
		err = s.syncIndex(ctx, src, &rec, &sum)
	case *fileSource:
		err = s.syncFile(ctx, src, &sum)
	}
	if err != nil && ctx.Err() != nil {
		if cause := context.Cause(ctx); !errors.Is(err, cause) {
			err = fmt.Errorf("%w (%v)", cause, err)
		}
	}
	stored := false
	if sum.Publisher != "" {
		if l, ok := s.st.List(sum.Publisher); ok {
			stored = true
			rec.Publisher = sum.Publisher
			sum.NewSerial, sum.Entries = l.Serial, l.Count
			sum.BoundIssuers, sum.BoundExplicitly = l.Binding(), l.BoundExplicitly
			now := s.opts.Now()
			if sum.Stale = l.Stale(now, s.st.Options().Grace); sum.Stale && err == nil {
				err = fmt.Errorf("%w: %q offers nothing newer than serial %d, which was due to be replaced at %s (now %s); checks against it are not conclusive",
					ErrStale, sum.Publisher, l.Serial, l.NextUpdate.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
			}
		}
	}
	// The bookkeeping serves status and conditional requests: a source
	// that has never delivered a list leaves none.
	if !known && !stored {
		return sum, err
	}
	rec.LastAttempt, rec.LastError, rec.BytesFetched = attempt, "", sum.BytesFetched
	if err != nil {
		rec.LastError = err.Error()
	} else {
		rec.LastSuccess = attempt
	}
	if perr := s.st.PutSyncRecord(rec); perr != nil && err == nil {
		err = perr
	}
	return sum, err
}

// Run syncs now and then every interval (with ±10% jitter) until ctx is
// done, reporting each outcome to Options.OnSync. It returns ctx's error.
func (s *Syncer) Run(ctx context.Context, every time.Duration) error {
	return Every(ctx, every, func(ctx context.Context) {
		sum, err := s.Sync(ctx)
		if s.opts.OnSync != nil {
			s.opts.OnSync(sum, err)
		}
	})
}

// Every calls fn now and then every interval, ±10% jitter, until ctx is
// done; it returns ctx's error.
func Every(ctx context.Context, every time.Duration, fn func(context.Context)) error {
	for {
		fn(ctx)
		d := every
		if j := int64(every / 10); j > 0 {
			d += time.Duration(rand.Int64N(2*j+1) - j)
		}
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (s *Syncer) syncIndex(ctx context.Context, src indexSource, rec *store.SyncRecord, sum *Summary) error {
	etag := ""
	if l, ok := s.st.List(rec.Publisher); ok && rec.ETag != "" && rec.ETagSerial == l.Serial {
		etag = rec.ETag
	}
	s.progress(Progress{Phase: PhaseIndex, File: snapshot.IndexName})
	raw, newETag, notModified, err := src.index(ctx, etag)
	if err != nil {
		return err
	}
	sum.BytesFetched += int64(len(raw))
	if notModified {
		l, ok := s.st.List(rec.Publisher)
		if etag == "" || !ok {
			return fmt.Errorf("%w: %s answered 304 Not Modified to a request for the index it had not served", ErrSource, src)
		}
		sum.Publisher, sum.OldSerial, sum.UpToDate = rec.Publisher, l.Serial, true
		return s.bind(sum)
	}
	ix, err := snapshot.ReadIndex(bytes.NewReader(raw), s.keys, s.opts.Limits)
	if err != nil {
		return fmt.Errorf("index: %w", err)
	}
	sum.Publisher = ix.Publisher
	// The issuers the index names are those of its snapshots: a list
	// its publisher may not cover is refused before it is downloaded.
	if err := s.st.AdmitIssuers(ix.Publisher, ix.Issuers, s.applyOptions(false)); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	cur, have := s.st.List(ix.Publisher)
	s.removeParts(ix, cur, have)
	if have {
		sum.OldSerial = cur.Serial
		switch {
		case ix.Serial < cur.Serial:
			return fmt.Errorf("index: %w: source offers serial %d, store holds %d", snapshot.ErrRollback, ix.Serial, cur.Serial)
		case ix.Serial == cur.Serial && ix.ThisUpdate.Equal(cur.ThisUpdate) && ix.NextUpdate.Equal(cur.NextUpdate):
			sum.UpToDate = true
			rec.ETag, rec.ETagSerial = newETag, cur.Serial
			return s.bind(sum)
		case ix.Serial == cur.Serial:
			// The index describes another list of the stored serial.
			if err := s.forkAtSerial(ctx, src, ix, cur, sum); err != nil {
				return err
			}
			s.noteETag(rec, ix, newETag)
			return nil
		}
	}
	path, err := choosePath(ix, cur, have)
	if err != nil {
		return err
	}
	for i, f := range path {
		err := s.applyIndexed(ctx, src, ix, f, sum, nil)
		if errors.Is(err, errForked) && i == 0 {
			// The delta's base is not the stored list: the publisher's
			// history forked at or before the stored serial.
			err = s.recoverFork(ctx, src, ix, cur, sum)
		}
		if err != nil {
			return err
		}
		if sum.Forked {
			break
		}
	}
	s.noteETag(rec, ix, newETag)
	s.removePartsExcept(nil)
	return nil
}

// noteETag remembers the index's ETag once the store holds its serial.
func (s *Syncer) noteETag(rec *store.SyncRecord, ix *snapshot.Index, etag string) {
	if l, ok := s.st.List(ix.Publisher); ok && l.Serial == ix.Serial {
		rec.ETag, rec.ETagSerial = etag, l.Serial
	}
}

// errForked: a delta's base is not the stored list.
var errForked = errors.New("crlsync: delta base is not the stored list")

// forkAtSerial handles an index of the stored serial whose times are not
// the stored list's: the full snapshot of that serial tells whether its
// list is another one, and if it is, replaces the stored list.
func (s *Syncer) forkAtSerial(ctx context.Context, src indexSource, ix *snapshot.Index, cur store.List, sum *Summary) error {
	if ix.Full.Name == "" || ix.Full.Serial != ix.Serial {
		return fmt.Errorf("%w: the index describes serial %d made %s, the stored serial %d was made %s, and it names no full snapshot of that serial",
			ErrIndex, ix.Serial, ix.ThisUpdate.Format(time.RFC3339), cur.Serial, cur.ThisUpdate.Format(time.RFC3339))
	}
	same := false
	err := s.applyIndexed(ctx, src, ix, ix.Full, sum, func(h *snapshot.Header) bool {
		same = h.ListDigest == cur.ListDigest
		return !same
	})
	if err != nil || same {
		sum.UpToDate = same
		if err == nil {
			err = s.bind(sum)
		}
		return err
	}
	sum.Forked, sum.ForkedAt = true, cur.Serial
	return nil
}

// recoverFork replaces the stored list from the index's full snapshot
// after a delta from the stored serial turned out to start from another
// list.
func (s *Syncer) recoverFork(ctx context.Context, src indexSource, ix *snapshot.Index, cur store.List, sum *Summary) error {
	full := ix.Full
	if full.Name == "" || full.Serial < cur.Serial {
		return fmt.Errorf("%w: a delta from serial %d starts from another list than the stored one, and the index names no full snapshot from serial %d on; "+
			"forget the publisher and sync again when it publishes one", ErrFork, cur.Serial, cur.Serial)
	}
	files := []snapshot.IndexFile{full}
	if full.Serial != ix.Serial {
		d, ok := deltaTo(ix, full.Serial)
		if !ok {
			return fmt.Errorf("%w: no delta leads from the full snapshot's serial %d to serial %d", ErrIndex, full.Serial, ix.Serial)
		}
		files = append(files, d)
	}
	sum.Forked, sum.ForkedAt = true, cur.Serial
	for i, f := range files {
		var admit func(*snapshot.Header) bool
		if i == 0 && f.Serial == cur.Serial {
			// The full snapshot of the stored serial, in the other history.
			admit = func(h *snapshot.Header) bool { return h.ListDigest != cur.ListDigest }
		}
		if err := s.applyIndexed(ctx, src, ix, f, sum, admit); err != nil {
			return err
		}
	}
	return nil
}

// removeParts deletes partial downloads of this store that the sync will
// not resume: those of files the index does not name as the way from the
// stored serial. Partial files that cannot grow (a full disk) would
// otherwise stay.
func (s *Syncer) removeParts(ix *snapshot.Index, cur store.List, have bool) {
	keep := map[string]bool{}
	if path, err := choosePath(ix, cur, have); err == nil {
		for _, f := range path {
			keep[s.partPath(f)] = true
		}
	}
	s.removePartsExcept(keep)
}

func (s *Syncer) removePartsExcept(keep map[string]bool) {
	prefix := s.partPrefix()
	ents, err := os.ReadDir(s.opts.TempDir)
	if err != nil {
		return
	}
	for _, e := range ents {
		p := filepath.Join(s.opts.TempDir, e.Name())
		if strings.HasPrefix(e.Name(), prefix) && !keep[p] {
			os.Remove(p)
		}
	}
}

// partPrefix starts the names of this store's partial downloads.
func (s *Syncer) partPrefix() string { return filepath.Base(s.st.Path()) + "-part-" }

// partPath names the partial download of f by the store and the file's
// digest, so that a later sync resumes only the very same file, into the
// same store.
func (s *Syncer) partPath(f snapshot.IndexFile) string {
	return filepath.Join(s.opts.TempDir, s.partPrefix()+hex.EncodeToString(f.Digest[:12]))
}

func deltaTo(ix *snapshot.Index, base uint64) (snapshot.IndexFile, bool) {
	for _, d := range ix.Deltas {
		if d.BaseSerial == base && d.Serial == ix.Serial {
			return d, true
		}
	}
	return snapshot.IndexFile{}, false
}

// choosePath picks the files that lead from the stored list to the index's
// serial with the fewest bytes.
func choosePath(ix *snapshot.Index, cur store.List, have bool) ([]snapshot.IndexFile, error) {
	deltaFrom := func(base uint64) (snapshot.IndexFile, bool) { return deltaTo(ix, base) }
	var best []snapshot.IndexFile
	var bestCost int64 = -1
	consider := func(cost int64, files ...snapshot.IndexFile) {
		if bestCost < 0 || cost < bestCost {
			best, bestCost = files, cost
		}
	}
	if have {
		if d, ok := deltaFrom(cur.Serial); ok {
			consider(d.Length, d)
		}
	}
	if full := ix.Full; full.Name != "" && (!have || full.Serial > cur.Serial) {
		if full.Serial == ix.Serial {
			consider(full.Length, full)
		} else if d, ok := deltaFrom(full.Serial); ok {
			consider(full.Length+d.Length, full, d)
		}
	}
	if best == nil {
		return nil, fmt.Errorf("%w: no full snapshot or delta leads to serial %d", ErrIndex, ix.Serial)
	}
	return best, nil
}

// applyIndexed fetches f and applies it. If admit is not nil, it is
// called with the verified header first and the file is applied only if
// it returns true (then as a fork of the stored list).
func (s *Syncer) applyIndexed(ctx context.Context, src indexSource, ix *snapshot.Index, f snapshot.IndexFile, sum *Summary, admit func(*snapshot.Header) bool) error {
	path, done, err := src.fetch(ctx, f, sum)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	defer done()
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	h, err := snapshot.ReadHeader(bufio.NewReader(file), s.keys, s.opts.Limits)
	if err != nil {
		return fmt.Errorf("%s: %w", f.Name, err)
	}
	if h.Publisher != ix.Publisher || h.Serial != f.Serial || h.Kind != f.Kind || (f.Kind == snapshot.KindDelta && h.BaseSerial != f.BaseSerial) {
		return fmt.Errorf("%w: %s holds %s serial %d of %q", ErrIndex, f.Name, h.Kind, h.Serial, h.Publisher)
	}
	if cur, ok := s.st.List(h.Publisher); ok && h.Kind == snapshot.KindDelta && h.BaseSerial == cur.Serial && h.BaseDigest != cur.ListDigest {
		return fmt.Errorf("%s: %w", f.Name, errForked)
	}
	fork := false
	if admit != nil {
		if !admit(h) {
			return nil
		}
		fork = true
	}
	if _, err := file.Seek(0, io.SeekStart); err != nil {
		return err
	}
	err = s.apply(ctx, file, f.Name, sum, fork)
	if errors.Is(err, snapshot.ErrRollback) {
		// Another sync (another process) applied this very list meanwhile.
		if l, ok := s.st.List(h.Publisher); ok && l.Serial == h.Serial && l.ListDigest == h.ListDigest {
			return nil
		}
	}
	return err
}

// applyOptions are the options of an apply.
func (s *Syncer) applyOptions(fork bool) *store.ApplyOptions {
	return &store.ApplyOptions{AllowExpired: s.opts.AllowExpired, Fork: fork, Issuers: s.opts.Issuers}
}

// bind applies the binding given to the publisher's stored list, when
// the sync applies nothing.
func (s *Syncer) bind(sum *Summary) error {
	if len(s.opts.Issuers) == 0 {
		return nil
	}
	changed, err := s.st.Bind(sum.Publisher, s.opts.Issuers)
	sum.Rebound = changed
	return err
}

func (s *Syncer) apply(ctx context.Context, r io.Reader, name string, sum *Summary, fork bool) error {
	ao := s.applyOptions(fork)
	if s.opts.Progress != nil {
		ao.Progress = func(done, total uint64) {
			s.progress(Progress{Phase: PhaseApply, File: name, Done: int64(done), Total: int64(total)})
		}
	}
	// The time limit holds while the body is applied too: the apply
	// fails, and the store stays as it was.
	res, err := s.st.ApplySnapshot(&ctxReader{ctx: ctx, r: r}, s.keys, s.opts.Now(), ao)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	sum.Applied = append(sum.Applied, res.Kind)
	sum.Learned = sum.Learned || res.Learned
	return nil
}

// ctxReader fails once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c *ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, context.Cause(c.ctx)
	}
	return c.r.Read(p)
}

// syncFile applies a single snapshot file.
func (s *Syncer) syncFile(ctx context.Context, src *fileSource, sum *Summary) error {
	f, err := os.Open(src.path)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrSource, err)
	}
	defer f.Close()
	cr := &countingReader{r: f}
	h, err := snapshot.ReadHeader(bufio.NewReader(cr), s.keys, s.opts.Limits)
	if err != nil {
		return err
	}
	sum.Publisher = h.Publisher
	if cur, ok := s.st.List(h.Publisher); ok {
		sum.OldSerial = cur.Serial
		if cur.Serial == h.Serial && cur.ListDigest == h.ListDigest {
			sum.UpToDate = true
			sum.BytesFetched = cr.n
			return s.bind(sum)
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	cr.n = 0
	err = s.apply(ctx, cr, filepath.Base(src.path), sum, false)
	sum.BytesFetched = cr.n
	return err
}

type fileSource struct{ path string }

func (f *fileSource) String() string { return f.path }

type dirSource struct{ dir string }

func (d *dirSource) String() string { return d.dir }

func (d *dirSource) index(_ context.Context, _ string) ([]byte, string, bool, error) {
	f, err := os.Open(filepath.Join(d.dir, snapshot.IndexName))
	if err != nil {
		return nil, "", false, fmt.Errorf("%w: %v", ErrSource, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, snapshot.MaxIndexBytes+1))
	if err != nil {
		return nil, "", false, fmt.Errorf("%w: %v", ErrSource, err)
	}
	if len(b) > snapshot.MaxIndexBytes {
		return nil, "", false, fmt.Errorf("index: %w: more than %d bytes", snapshot.ErrTooLarge, snapshot.MaxIndexBytes)
	}
	return b, "", false, nil
}

func (d *dirSource) fetch(_ context.Context, f snapshot.IndexFile, sum *Summary) (string, func(), error) {
	path := filepath.Join(d.dir, filepath.Base(f.Name))
	file, err := os.Open(path)
	if err != nil {
		return "", nil, fmt.Errorf("%w: %v", ErrSource, err)
	}
	defer file.Close()
	n, err := checkFile(file, f)
	sum.BytesFetched += n
	if err != nil {
		return "", nil, err
	}
	return path, func() {}, nil
}

// checkFile reads r to its end (at most f.Length+1 bytes) and checks its
// length and SHA-256 against f.
func checkFile(r io.Reader, f snapshot.IndexFile) (int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, io.LimitReader(r, f.Length+1))
	if err != nil {
		return n, err
	}
	if n > f.Length {
		return n, fmt.Errorf("%w: file longer than the %d bytes the index gives", snapshot.ErrTooLarge, f.Length)
	}
	if n != f.Length {
		return n, fmt.Errorf("%w: file has %d bytes, the index gives %d", snapshot.ErrDigestMismatch, n, f.Length)
	}
	var d snapshot.Digest
	h.Sum(d[:0])
	if d != f.Digest {
		return n, fmt.Errorf("%w: file digest %s, the index gives %s", snapshot.ErrDigestMismatch, d, f.Digest)
	}
	return n, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}
