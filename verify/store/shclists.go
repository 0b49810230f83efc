package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/shc"
)

// Bounds on the SMART Health Cards issuers' lists a store holds.
const (
	// MaxSHCLists is the most lists (one per issuer and key) a store holds.
	MaxSHCLists = 1000
	// MaxSHCListBytes bounds the lists a store holds, together, as
	// published (each list alone is bounded by shc.MaxCRLSize).
	MaxSHCListBytes = 64 << 20
)

// ErrSHCListConflict: a list with the counter of the stored list of the
// same issuer and key, but other content, was offered. An issuer changes
// its list's ctr with each change, so one of the two is not the issuer's.
// [Store.RemoveSHCList] forgets the stored one.
var ErrSHCListConflict = errors.New("store: another revocation list with the same counter is stored")

// SHCList describes a SMART Health Cards issuer's own revocation list
// held in the store: the list the issuer publishes at
// iss + "/.well-known/crl/" + kid + ".json" for one of its keys (see
// package shc).
type SHCList struct {
	Issuer string `json:"issuer"`
	KID    string `json:"kid"`
	// Counter is the list's ctr: current when it equals the crlVersion of
	// the key in the issuer's key set.
	Counter int64 `json:"ctr"`
	// RIDs is the number of revocation ids it lists.
	RIDs int `json:"rids"`
	// Size and SHA256 describe the list as imported.
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	// Source names where it was imported from; ImportedAt is the time
	// given to the import.
	Source     string    `json:"source,omitempty"`
	ImportedAt time.Time `json:"imported_at"`
}

// SHCImport describes the outcome of [Store.ImportSHCList].
type SHCImport struct {
	List SHCList `json:"list"`
	// Previous is the list it replaced, if any.
	Previous *SHCList `json:"previous,omitempty"`
	// Unchanged: the store already held this very list; nothing was
	// written.
	Unchanged bool `json:"unchanged,omitempty"`
	// Repaired: the store held this very list, but its stored copy was
	// damaged; this one replaced it.
	Repaired bool `json:"repaired,omitempty"`
}

// shcView is one stored list in a view: its description, and the list
// itself, read from the file and parsed on first use.
type shcView struct {
	info SHCList
	once sync.Once
	crl  *shc.CRL
	err  error
}

// Bucket and key names of the lists: under bktSHC, one bucket per list
// named shcName(issuer, kid), holding keySHCMeta (the SHCList as sealed
// JSON) and keySHCList (the list as published, sealed).
var (
	bktSHC     = []byte("shc_crls")
	keySHCMeta = []byte("meta")
	keySHCList = []byte("list")
)

func shcName(issuer, kid string) string { return issuer + "\x00" + kid }

// ImportSHCList stores raw, a SMART Health Cards issuer's revocation list
// for one of its keys (see [shc.ParseCRL]; the key is the list's kid), as
// the list of issuer, an issuer URL. It replaces the stored list of that
// issuer and key when its counter is higher; a lower counter is refused
// ([snapshot.ErrRollback]), as is the same counter with other content
// ([ErrSHCListConflict]). at is the time of the import, source names the
// file, for display.
//
// The list is not signed: whoever imports it vouches for it, as for the
// issuer's key set in the trust store. The verdict checks its counter
// against the key's crlVersion before it relies on it.
//
// Like every write, the import builds the next store file and renames it
// over the old one; the lists are bounded by [MaxSHCLists] and
// [MaxSHCListBytes].
func (s *Store) ImportSHCList(issuer string, raw []byte, source string, at time.Time) (*SHCImport, error) {
	if s.opts.ReadOnly {
		return nil, ErrReadOnly
	}
	if err := shc.CheckIssuerURL(issuer); err != nil {
		return nil, err
	}
	l, err := shc.ParseCRL(raw)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	info := SHCList{
		Issuer: issuer, KID: l.KID, Counter: l.Counter, RIDs: l.Len(),
		Size: len(raw), SHA256: hex.EncodeToString(sum[:]), Source: source, ImportedAt: at.UTC(),
	}
	name := shcName(issuer, l.KID)
	res := &SHCImport{List: info}
	err = s.write(func(v *view) (*view, error) {
		total := len(raw)
		for n, sv := range v.shc {
			if n != name {
				total += sv.info.Size
			}
		}
		old := v.shc[name]
		switch {
		case old != nil && old.info.SHA256 == info.SHA256 && v.f.shcReadable(old):
			res.List, res.Unchanged = old.info, true
			return nil, nil
		case old != nil && old.info.SHA256 == info.SHA256:
			// The stored copy is damaged: this one replaces it.
			res.Repaired = true
		case old != nil && info.Counter < old.info.Counter:
			return nil, fmt.Errorf("%w: the revocation list of %s key %s has ctr %d, the store holds ctr %d",
				snapshot.ErrRollback, issuer, l.KID, info.Counter, old.info.Counter)
		case old != nil && info.Counter == old.info.Counter:
			return nil, fmt.Errorf("%w: %s key %s ctr %d (forget the stored list to replace it)", ErrSHCListConflict, issuer, l.KID, info.Counter)
		case old == nil && len(v.shc) >= MaxSHCLists:
			return nil, fmt.Errorf("store: %d revocation lists of SMART Health Cards issuers are stored, the most a store holds", MaxSHCLists)
		case total > MaxSHCListBytes:
			return nil, fmt.Errorf("store: the revocation lists of SMART Health Cards issuers would take %d bytes, more than the %d a store holds", total, MaxSHCListBytes)
		}
		if old != nil {
			prev := old.info
			res.Previous = &prev
		}
		return s.rewrite(v, "", name, int64(len(raw)), func(b *build) (*listView, error) {
			return nil, b.putSHC(&info, raw)
		})
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// RemoveSHCList forgets the list of issuer's key kid and reports whether
// there was one.
func (s *Store) RemoveSHCList(issuer, kid string) (bool, error) {
	var found bool
	err := s.write(func(v *view) (*view, error) {
		if v.shc[shcName(issuer, kid)] == nil {
			return nil, nil
		}
		found = true
		return s.rewrite(v, "", shcName(issuer, kid), 0, func(b *build) (*listView, error) {
			return nil, b.deleteSHC(shcName(issuer, kid))
		})
	})
	return found, err
}

// SHCLists describes the stored lists, sorted by issuer and kid.
func (s *Store) SHCLists() []SHCList {
	v := s.view.Load()
	out := make([]SHCList, 0, len(v.shc))
	for _, sv := range v.shc {
		out = append(out, sv.info)
	}
	slices.SortFunc(out, func(a, b SHCList) int {
		return strings.Compare(shcName(a.Issuer, a.KID), shcName(b.Issuer, b.KID))
	})
	return out
}

// SHCList returns the stored list of issuer's key kid, parsed, with its
// description; found is false when the store holds none. The list is read
// from the file and parsed when first asked for.
func (s *Store) SHCList(issuer, kid string) (l *shc.CRL, info SHCList, found bool, err error) {
	for {
		v := s.view.Load()
		sv := v.shc[shcName(issuer, kid)]
		if sv == nil {
			return nil, SHCList{}, false, nil
		}
		sv.once.Do(func() { sv.crl, sv.err = v.f.readSHC(sv) })
		if errors.Is(sv.err, bolterrors.ErrDatabaseNotOpen) {
			// Replaced and closed after v was taken: the current file
			// holds the list, or no longer does.
			if _, ok := s.current(v); ok {
				continue
			}
		}
		if sv.err != nil {
			return nil, sv.info, true, sv.err
		}
		return sv.crl, sv.info, true, nil
	}
}

// shcReadable reports whether the list sv describes reads back whole
// from f.
func (f *storeFile) shcReadable(sv *shcView) bool {
	_, err := f.readSHC(sv)
	return err == nil
}

// readSHC reads and parses the list sv describes.
func (f *storeFile) readSHC(sv *shcView) (l *shc.CRL, err error) {
	err = f.view(func(tx *bolt.Tx) error {
		b := shcBucket(tx, shcName(sv.info.Issuer, sv.info.KID))
		if b == nil {
			return f.corrupt("revocation list of %s key %s missing", sv.info.Issuer, sv.info.KID)
		}
		raw, ok := unseal(b.Get(keySHCList))
		if !ok {
			return f.corrupt("revocation list of %s key %s: checksum mismatch", sv.info.Issuer, sv.info.KID)
		}
		if l, err = shc.ParseCRL(raw); err != nil {
			return f.corrupt("revocation list of %s key %s: %v", sv.info.Issuer, sv.info.KID, err)
		}
		return nil
	})
	return l, err
}

func shcBucket(tx *bolt.Tx, name string) *bolt.Bucket {
	b := tx.Bucket(bktSHC)
	if b == nil {
		return nil
	}
	return b.Bucket([]byte(name))
}

// loadSHC reads the descriptions of the lists of a file.
func (f *storeFile) loadSHC(tx *bolt.Tx) (map[string]*shcView, error) {
	out := map[string]*shcView{}
	b := tx.Bucket(bktSHC)
	if b == nil {
		return out, nil
	}
	err := b.ForEachBucket(func(name []byte) error {
		info, err := f.readSHCMeta(name, b.Bucket(name))
		if err != nil {
			return err
		}
		out[string(name)] = &shcView{info: *info}
		return nil
	})
	return out, err
}

func (f *storeFile) readSHCMeta(name []byte, b *bolt.Bucket) (*SHCList, error) {
	raw, ok := unseal(b.Get(keySHCMeta))
	if !ok {
		return nil, f.corrupt("revocation list %q: checksum mismatch", name)
	}
	var info SHCList
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, f.corrupt("revocation list %q: %v", name, err)
	}
	if shcName(info.Issuer, info.KID) != string(name) {
		return nil, f.corrupt("revocation list %q describes %s key %s", name, info.Issuer, info.KID)
	}
	return &info, nil
}

// keepSHC copies the lists of the live file into the new one, each
// checked on the way, but the one named drop (replaced or removed: its
// copy may be damaged).
func (b *build) keepSHC(drop string) error {
	if b.srcTx == nil {
		return nil
	}
	src := b.srcTx.Bucket(bktSHC)
	if src == nil {
		return nil
	}
	f := b.src.f
	return src.ForEachBucket(func(name []byte) error {
		if string(name) == drop {
			return nil
		}
		sb := src.Bucket(name)
		info, err := f.readSHCMeta(name, sb)
		if err != nil {
			return err
		}
		list := sb.Get(keySHCList)
		if _, ok := unseal(list); !ok {
			return f.corrupt("revocation list of %s key %s: checksum mismatch", info.Issuer, info.KID)
		}
		dst, err := b.shcBucket(string(name))
		if err != nil {
			return err
		}
		if err := dst.Put(keySHCMeta, bytes.Clone(sb.Get(keySHCMeta))); err != nil {
			return err
		}
		if err := dst.Put(keySHCList, bytes.Clone(list)); err != nil {
			return err
		}
		b.keptSHC[string(name)] = &shcView{info: *info}
		return nil
	})
}

// shcBucket returns the (new, empty) bucket of list name in the new file.
func (b *build) shcBucket(name string) (*bolt.Bucket, error) {
	top, err := b.tx.CreateBucketIfNotExists(bktSHC)
	if err != nil {
		return nil, err
	}
	if top.Bucket([]byte(name)) != nil {
		if err := top.DeleteBucket([]byte(name)); err != nil {
			return nil, err
		}
	}
	return top.CreateBucket([]byte(name))
}

// putSHC writes a list into the new file, replacing a copy of the old.
func (b *build) putSHC(info *SHCList, raw []byte) error {
	meta, err := json.Marshal(info)
	if err != nil {
		return err
	}
	name := shcName(info.Issuer, info.KID)
	dst, err := b.shcBucket(name)
	if err != nil {
		return err
	}
	if err := dst.Put(keySHCMeta, seal(nil, meta)); err != nil {
		return err
	}
	if err := dst.Put(keySHCList, seal(make([]byte, 0, len(raw)+sumLen), raw)); err != nil {
		return err
	}
	b.keptSHC[name] = &shcView{info: *info}
	return nil
}

// deleteSHC drops a list from the new file.
func (b *build) deleteSHC(name string) error {
	if top := b.tx.Bucket(bktSHC); top != nil && top.Bucket([]byte(name)) != nil {
		if err := top.DeleteBucket([]byte(name)); err != nil {
			return err
		}
	}
	delete(b.keptSHC, name)
	return nil
}

// SHCKey is a key of a SMART Health Cards issuer that has a crlVersion,
// as the verifier trusts it (its trust store's copy of the issuer's key
// set): the issuer publishes a list for it, and the list is current when
// its ctr is CRLVersion.
type SHCKey struct {
	KID        string
	CRLVersion int64
}

// CheckSHCID answers, from the stored lists of the SMART Health Cards
// issuer issuer, whether its cards with revocation id rid are revoked,
// when the card itself is not at hand (a lookup by id): its key and its
// issuance time (nbf) are not known, so every stored list of the issuer
// is asked. keys are the issuer's keys that have a crlVersion, as the
// verifier trusts them; nil when it does not know them. The Result's
// Source is [SourceSHCList] and its SHC is set; it is:
//   - Revoked when a list revokes every card of the id (SHC names it);
//   - Unknown when a list revokes only the cards of the id issued before
//     a time (SHC.Before): only the card's nbf can tell;
//   - NotRevoked otherwise: Fresh when the store holds, for each of keys,
//     its list of its crlVersion; Stale (or NoList when it holds none)
//     with SHC.Why saying what is missing, and then not conclusive.
//
// ok is false when the store holds no list of the issuer and keys is
// empty: the issuer's own lists have nothing to say. A stored list that
// cannot be read is an error wrapping [ErrCorrupt].
func (s *Store) CheckSHCID(issuer, rid string, keys []SHCKey, at time.Time) (r Result, ok bool, err error) {
	v := s.view.Load()
	var kids []string
	for _, sv := range v.shc {
		if sv.info.Issuer == issuer {
			kids = append(kids, sv.info.KID)
		}
	}
	if len(kids) == 0 && len(keys) == 0 {
		return Result{}, false, nil
	}
	slices.Sort(kids)
	r = Result{Issuer: issuer, Key: crl.KeyOf(issuer, rid), At: at, Source: SourceSHCList, SHC: &SHCAnswer{}, Status: NotRevoked}
	held := map[string]int64{}
	var before *SHCAnswer
	for _, kid := range kids {
		l, info, found, err := s.SHCList(issuer, kid)
		if err != nil {
			return Result{}, true, err
		}
		if !found {
			// Removed since v was taken: the store no longer holds it.
			continue
		}
		held[kid] = info.Counter
		e, found := l.Lookup(rid)
		switch {
		case found && e.Before.IsZero():
			r.Status, r.SHC.KID, r.SHC.Counter = Revoked, kid, info.Counter
			r.Freshness = Fresh
			if !slices.ContainsFunc(keys, func(k SHCKey) bool { return k.KID == kid && k.CRLVersion == info.Counter }) {
				r.Freshness = Stale
			}
			return r, true, nil
		case found && before == nil:
			before = &SHCAnswer{KID: kid, Counter: info.Counter, Before: e.Before}
		}
	}
	if before != nil {
		r.Status, r.SHC = Unknown, before
		return r, true, nil
	}
	r.Freshness = Fresh
	var missing []string
	for _, k := range keys {
		switch ctr, found := held[k.KID]; {
		case !found:
			missing = append(missing, fmt.Sprintf("no list of key %s (crlVersion %d)", k.KID, k.CRLVersion))
		case ctr != k.CRLVersion:
			missing = append(missing, fmt.Sprintf("the list of key %s has ctr %d, the key's crlVersion is %d", k.KID, ctr, k.CRLVersion))
		}
	}
	switch {
	case keys == nil:
		r.Freshness = Stale
		r.SHC.Why = fmt.Sprintf("the issuer %s's key set is not known (no trust store holds it): whether its stored lists are current cannot be judged", issuer)
	case len(missing) > 0:
		r.Freshness = Stale
		if len(held) == 0 {
			r.Freshness = NoList
		}
		r.SHC.Why = fmt.Sprintf("its issuer's own revocation lists are not all current in the store (%s): import them with crlverify sync --from", strings.Join(missing, "; "))
	}
	return r, true, nil
}

// WithSHC joins r, the answer of the signed snapshots (or of an
// authority online), with own, that of a SMART Health Cards issuer's own
// lists ([Store.CheckSHCID]), as a verdict joins them: a revocation or
// suspension by r, then a revocation by own, decides; a revocation of the
// id's cards issued before a time leaves the status unknown; with no
// snapshot list for the issuer, its own lists answer; otherwise r's
// answer stands, conclusive only if own's is too.
func (r Result) WithSHC(own Result) Result {
	switch {
	case r.Status == Revoked || r.Status == Suspended:
		return r
	case own.Status == Revoked || own.Status == Unknown && own.SHC != nil && !own.SHC.Before.IsZero():
		return own
	case r.Status == Unknown:
		return own
	}
	r.SHC = own.SHC
	return r
}
