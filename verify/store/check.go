package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/verify/store/internal/block"
)

// Status is what a list says about a certificate.
type Status int

const (
	// Unknown: no stored list covers the certificate's issuer.
	Unknown Status = iota
	// NotRevoked: the list does not hold the certificate, or holds a
	// suspension that has ended.
	NotRevoked
	// Revoked: the list revokes the certificate.
	Revoked
	// Suspended: the list suspends the certificate until [Result.Until].
	Suspended
)

var statusNames = [...]string{"unknown", "not_revoked", "revoked", "suspended"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", int(s))
}

// MarshalText encodes s as its name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Freshness says how far a list's answer can be trusted at the time asked.
type Freshness int

const (
	// NoList: there is no list to be fresh or stale.
	NoList Freshness = iota
	// Fresh: the time asked is between the list's this-update and its
	// next-update plus grace.
	Fresh
	// Stale: the list is past its next-update plus grace; it still answers,
	// but a newer list may revoke what this one does not.
	Stale
	// ClockBehind: the time asked is earlier than the list's this-update,
	// a time its publisher has signed, so the device clock is wrong (or
	// the publisher's) and freshness cannot be judged.
	ClockBehind
)

var freshnessNames = [...]string{"no_list", "fresh", "stale", "clock_behind"}

func (f Freshness) String() string {
	if int(f) < len(freshnessNames) {
		return freshnessNames[f]
	}
	return fmt.Sprintf("freshness(%d)", int(f))
}

// MarshalText encodes f as its name.
func (f Freshness) MarshalText() ([]byte, error) { return []byte(f.String()), nil }

// Result is the answer to a [Store.Check].
type Result struct {
	Status Status
	// Issuer and Key name the certificate asked about.
	Issuer string
	Key    crl.Key
	// Entry is the list's entry for the certificate, if it has one: for
	// Revoked and Suspended, and for NotRevoked after a suspension ended.
	Entry *crl.Entry
	// The list that answered (zero for Unknown). SignerKey is the
	// thumbprint of the key that verified it ([List.SignerKey]).
	Publisher  string
	SignerKey  string
	Serial     uint64
	ThisUpdate time.Time
	NextUpdate time.Time
	// At is the time asked about; Age is At - ThisUpdate.
	At  time.Time
	Age time.Duration
	// Freshness of the list at At.
	Freshness Freshness
	// NewestSeen is the newest time the list's publisher has signed that
	// the store holds: the list's this-update. A store judges a publisher's
	// lists by its own times only, so a publisher whose clock is wrong
	// affects nothing but its own list.
	NewestSeen time.Time
	// Source is what answered: empty for the store's own lists;
	// SourceOnline for an authority's status endpoint, asked because the
	// store had no conclusive answer (package verify/online). An online
	// answer is Fresh at the time the authority gave it (ThisUpdate);
	// Publisher and Serial are then empty.
	Source string
	// OnlineError says why asking the authority's status endpoint gave no
	// answer, when it was asked and failed: the result is then the
	// store's, and Reason says both.
	OnlineError string
	// SHC is what a SMART Health Cards issuer's own lists said, when they
	// were asked ([Store.CheckSHCID], [Result.WithSHC]); nil otherwise.
	SHC *SHCAnswer
	// Ignored, when set, says why the answer of the stored list that
	// answered was not listened to (the key that signed it is not one the
	// trust store allows to answer for the issuer, see
	// verify.CheckID): the status is then Unknown, the list's fields
	// empty, and Reason says this.
	Ignored string
}

// SHCAnswer is what a SMART Health Cards issuer's own lists in the store
// say about a revocation id looked up alone ([Store.CheckSHCID]).
type SHCAnswer struct {
	// KID and Counter name the list that revokes the id, when one does.
	KID     string
	Counter int64
	// Before, when not zero, says that the list revokes only the cards of
	// the id issued before it ("rid.timestamp"): without the card, whose
	// nbf tells, the status is unknown.
	Before time.Time
	// Why, when set, says why the lists' answer is not conclusive: a key
	// of the issuer whose current list the store does not hold. A result
	// with a Why is not conclusive.
	Why string
}

// SourceSHCList is [Result.Source] for an answer from a SMART Health
// Cards issuer's own lists alone.
const SourceSHCList = "shc_crl"

// SourceOnline is [Result.Source] for an answer from an authority's status
// endpoint.
const SourceOnline = "online"

// Conclusive reports whether a verdict may rely on the result without
// qualification: the certificate is not revoked according to a fresh list.
// A revoked or suspended result is conclusive for rejection whatever its
// freshness; a not-revoked one is only as good as its list.
func (r *Result) Conclusive() bool {
	switch r.Status {
	case Revoked, Suspended:
		return true
	case NotRevoked:
		return r.Freshness == Fresh && (r.SHC == nil || r.SHC.Why == "")
	}
	return false
}

// Reason explains, in a few words, why a result is not conclusive; empty
// when it is.
func (r *Result) Reason() string {
	if r.Conclusive() {
		return ""
	}
	var whys []string
	switch {
	case r.SHC != nil && !r.SHC.Before.IsZero() && r.Status == Unknown:
		whys = append(whys, fmt.Sprintf("its issuer's revocation list of key %s (ctr %d) revokes the cards of this id issued before %s; only the card (its nbf) tells whether it is one",
			r.SHC.KID, r.SHC.Counter, r.SHC.Before.UTC().Format(time.RFC3339)))
	case r.Ignored != "":
		whys = append(whys, r.Ignored)
	case r.Status == Unknown:
		whys = append(whys, "no revocation list for issuer "+r.Issuer)
	case r.Source == SourceSHCList:
	case r.Freshness == Stale:
		whys = append(whys, fmt.Sprintf("revocation list serial %d is past its next update (%s)", r.Serial, r.NextUpdate.Format(time.RFC3339)))
	case r.Freshness == ClockBehind:
		whys = append(whys, fmt.Sprintf("device clock (%s) is earlier than the time the list was made (%s)", r.At.Format(time.RFC3339), r.NewestSeen.Format(time.RFC3339)))
	}
	if r.SHC != nil && r.SHC.Why != "" {
		whys = append(whys, r.SHC.Why)
	}
	why := strings.Join(whys, "; ")
	if why == "" {
		why = "revocation status not conclusive"
	}
	if r.OnlineError != "" {
		why += "; online status: " + r.OnlineError
	}
	return why
}

// resultJSON is the stable JSON form of a Result, in the vocabulary of
// every crlverify JSON output: known is [Result.Conclusive], detail
// [Result.Reason] (why it is not), reason the revocation reason's name;
// times are UTC to the second.
type resultJSON struct {
	Issuer         string     `json:"issuer"`
	Key            string     `json:"key"`
	Status         Status     `json:"status"`
	Known          bool       `json:"known"`
	Detail         string     `json:"detail,omitempty"`
	RevokedAt      *time.Time `json:"revoked_at,omitempty"`
	Reason         string     `json:"reason,omitempty"`
	SuspendedUntil *time.Time `json:"suspended_until,omitempty"`
	Publisher      string     `json:"publisher,omitempty"`
	Serial         uint64     `json:"serial,omitempty"`
	ThisUpdate     *time.Time `json:"this_update,omitempty"`
	NextUpdate     *time.Time `json:"next_update,omitempty"`
	At             time.Time  `json:"at"`
	AgeSeconds     int64      `json:"age_seconds"`
	Freshness      Freshness  `json:"freshness"`
	Source         string     `json:"source,omitempty"`
	// A SMART Health Cards issuer's own list: the key and ctr of the one
	// that revokes, and the time before which it revokes the cards.
	ListKID       string     `json:"list_kid,omitempty"`
	ListCounter   int64      `json:"list_counter,omitempty"`
	RevokedBefore *time.Time `json:"revoked_before,omitempty"`
}

// MarshalJSON encodes r with snake_case fields (see resultJSON).
func (r Result) MarshalJSON() ([]byte, error) {
	second := func(t time.Time) *time.Time {
		u := t.UTC().Truncate(time.Second)
		return &u
	}
	j := resultJSON{
		Issuer: r.Issuer, Key: r.Key.String(), Status: r.Status,
		Known: r.Conclusive(), Detail: r.Reason(),
		Publisher: r.Publisher, Serial: r.Serial, At: *second(r.At),
		AgeSeconds: int64(r.Age / time.Second), Freshness: r.Freshness, Source: r.Source,
	}
	if r.Entry != nil {
		j.RevokedAt = second(r.Entry.Revoked())
		j.Reason = r.Entry.Reason.String()
		if r.Entry.IsSuspension() {
			j.SuspendedUntil = second(r.Entry.Until())
		}
	}
	if r.Status != Unknown && r.Source != SourceSHCList {
		j.ThisUpdate, j.NextUpdate = second(r.ThisUpdate), second(r.NextUpdate)
	}
	if a := r.SHC; a != nil {
		j.ListKID, j.ListCounter = a.KID, a.Counter
		if !a.Before.IsZero() {
			j.RevokedBefore = second(a.Before)
		}
	}
	return json.Marshal(j)
}

// Check answers whether the certificate certificateID of issuer is revoked
// according to the stored list that covers issuer, judged at time at.
func (s *Store) Check(issuer, certificateID string, at time.Time) (r Result, err error) {
	v := s.view.Load()
	il := v.list(issuer)
	if il == nil {
		r.Issuer, r.Key, r.At = issuer, crl.KeyOf(issuer, certificateID), at
		return r, nil
	}
	err = s.check(&r, v, il, il.keyer.Key(certificateID), at)
	return
}

// CheckKey is [Store.Check] for a key already computed with [crl.KeyOf].
func (s *Store) CheckKey(issuer string, k crl.Key, at time.Time) (r Result, err error) {
	v := s.view.Load()
	il := v.list(issuer)
	if il == nil {
		r.Issuer, r.Key, r.At = issuer, k, at
		return r, nil
	}
	err = s.check(&r, v, il, k, at)
	return
}

// check fills r, which is the zero Result, from view v, in which il
// covers the issuer. The Check methods pass their own result so that it
// is written once, in place.
func (s *Store) check(r *Result, v *view, il *issuerList, k crl.Key, at time.Time) error {
	r.Issuer, r.Key, r.At = il.issuer, k, at
	lv := il.lv
	if !lv.filter.has(k) {
		// The answer for most keys: the list does not hold them.
		s.judge(r, &lv.rec.List, lv.period, nil)
		return nil
	}
	return s.confirm(r, v, il, k)
}

// confirm looks k up in the list of il, which the Bloom filter says may
// hold it.
func (s *Store) confirm(r *Result, v *view, il *issuerList, k crl.Key) error {
	e, found, err := s.lookup(v.f, il.lv, k)
	if errors.Is(err, bolterrors.ErrDatabaseNotOpen) {
		// The file was replaced, and closed, after v was taken: answer
		// from the current lists instead.
		nv, ok := s.current(v)
		if !ok {
			return fmt.Errorf("store: check: %w", err)
		}
		if il = nv.list(il.issuer); il == nil {
			return nil // r holds the issuer, key and time alone: Unknown
		}
		return s.check(r, nv, il, k, r.At)
	}
	if err != nil {
		*r = Result{}
		return fmt.Errorf("store: check: %w", err)
	}
	if found {
		s.judge(r, &il.lv.rec.List, il.lv.period, &e)
	} else {
		s.judge(r, &il.lv.rec.List, il.lv.period, nil)
	}
	return nil
}

// lookup finds k in lv, a list of file f.
func (s *Store) lookup(f *storeFile, lv *listView, k crl.Key) (e crl.Entry, found bool, err error) {
	defer guard(&err, f.path, debug.SetPanicOnFault(true))
	err = f.db.View(func(tx *bolt.Tx) error {
		b := genBucket(tx, lv.rec.Gen)
		if b == nil {
			return f.corrupt("entries of %q missing", lv.rec.List.Publisher)
		}
		e, found, err = f.find(b, lv, k)
		s.res.looked(f.db, tx)
		return err
	})
	return e, found, err
}

// find looks k up in b, the bucket of lv's blocks.
func (f *storeFile) find(b *bolt.Bucket, lv *listView, k crl.Key) (crl.Entry, bool, error) {
	var first, v []byte
	if lv.fences != nil {
		i := sort.Search(len(lv.fences), func(i int) bool { return lv.fences[i] > k }) - 1
		if i < 0 {
			return crl.Entry{}, false, nil
		}
		fb := lv.fences[i].Bytes()
		first = fb[:]
		if v = b.Get(first); v == nil {
			return crl.Entry{}, false, f.corrupt("block %x of %q missing", first, lv.rec.List.Publisher)
		}
	} else {
		kb := k.Bytes()
		c := b.Cursor()
		first, v = c.Seek(kb[:])
		if first == nil {
			first, v = c.Last()
		} else if crl.KeyFromBytes(first) > k {
			first, v = c.Prev()
		}
		if first == nil {
			return crl.Entry{}, false, nil
		}
		if len(first) != 8 {
			return crl.Entry{}, false, f.corrupt("block key of %d bytes", len(first))
		}
	}
	blk, err := f.openBlock(first, v)
	if err != nil {
		return crl.Entry{}, false, err
	}
	e, found, err := block.Lookup(crl.KeyFromBytes(first), blk, k)
	if err != nil {
		return crl.Entry{}, false, f.corrupt("block %x: %v", first, err)
	}
	return e, found, nil
}

// judge fills r from list l, whose next-update is period after its
// this-update, and l's entry e for the key, if any.
func (s *Store) judge(r *Result, l *List, period time.Duration, e *crl.Entry) {
	r.Publisher, r.SignerKey, r.Serial = l.Publisher, l.SignerKey, l.Serial
	r.ThisUpdate, r.NextUpdate, r.NewestSeen = l.ThisUpdate, l.NextUpdate, l.ThisUpdate
	r.Age = since(r.At, l.ThisUpdate)
	// Stale is l.Stale(r.At, grace), with one subtraction fewer: r.At is
	// past NextUpdate + grace exactly when Age > period + grace.
	switch {
	case r.Age < 0:
		r.Freshness = ClockBehind
	case r.Age > satAdd(period, s.opts.Grace) || r.Age == maxDuration && l.Stale(r.At, s.opts.Grace):
		r.Freshness = Stale
	default:
		r.Freshness = Fresh
	}
	r.Status = NotRevoked
	if e != nil {
		r.Entry = e
		switch {
		case !e.IsSuspension():
			r.Status = Revoked
		case e.InForce(r.At):
			r.Status = Suspended
		}
	}
}

const maxDuration = time.Duration(1<<63 - 1)

// satAdd returns a + b, saturating at the largest duration (a is never
// negative here; b, the grace, may be).
func satAdd(a, b time.Duration) time.Duration {
	if c := a + b; b < 0 || c >= a {
		return c
	}
	return maxDuration
}

// since returns at.Sub(t) without time.Sub's overflow check where none
// can happen: for instants within about 270 years of each other.
func since(at, t time.Time) time.Duration {
	if d := at.Unix() - t.Unix(); -1<<33 < d && d < 1<<33 {
		return time.Duration(d)*time.Second + time.Duration(at.Nanosecond()-t.Nanosecond())
	}
	return at.Sub(t)
}
