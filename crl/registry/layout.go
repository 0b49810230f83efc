package registry

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"
)

// The registry's top-level buckets; the package documentation describes
// each.
var (
	bucketMeta    = []byte("meta")
	bucketIssuers = []byte("issuers")
	bucketBatches = []byte("batches")
	bucketRuns    = []byte("runs")
	bucketState   = []byte("state")
	bucketChrono  = []byte("chrono")
	bucketChanges = []byte("changes")
	bucketAudit   = []byte("audit")
	bucketItems   = []byte("items")
	bucketSerials = []byte("serials")
	bucketStage   = []byte("stage")
	bucketCarried = []byte("carried") // layout 3

	allBuckets = [][]byte{bucketMeta, bucketIssuers, bucketBatches, bucketRuns, bucketState,
		bucketChrono, bucketChanges, bucketAudit, bucketItems, bucketSerials, bucketStage, bucketCarried}
)

// Keys of the meta bucket.
var (
	metaVersion   = []byte("version")    // layout version, one byte
	metaPublished = []byte("published")  // last published serial (8 BE)
	metaFloor     = []byte("floor")      // change log complete for serials > floor (8 BE)
	metaPublisher = []byte("publisher")  // publisher name of published snapshots
	metaAuditHead = []byte("audit-head") // seq (8 BE) || SHA-256 of the last audit record
	metaNextID    = []byte("next-id")    // counter for run and staging ids (8 BE)
	metaBulk      = []byte("bulk")       // the bulk operation being applied, if any
	metaCounts    = []byte("counts")     // counters, see counts
	metaAcked     = []byte("acked")      // the publication a carry-forward acknowledged, see carry.go
)

// layoutVersion is the version of the on-disk layout this package reads
// and writes. Version 2 (without the carried table) is read as it is and
// upgraded when opened for writing; version 1 (revocations only) is
// refused.
const layoutVersion = 3

// initialMmapSize is the address space reserved when a registry is opened:
// 1 GiB on 64-bit platforms, 0 (bbolt's default) elsewhere. On 64-bit Unix
// it reserves no memory and does not grow the file.
const initialMmapSize = int(1 << 30 * (^uint(0) >> 63))

// Bounds on what a registry accepts.
const (
	// MaxIDBytes bounds a certificate id.
	MaxIDBytes = 1024
	// MaxIssuerBytes bounds an issuer name.
	MaxIssuerBytes = 256
	// MaxNameBytes bounds a beneficiary id, a batch name, an actor and a
	// source name.
	MaxNameBytes = 256
	// MaxNoteBytes bounds the free-text note of a request.
	MaxNoteBytes = 1024
	// MaxIssuers bounds how many issuers one registry covers (the snapshot
	// header lists them all).
	MaxIssuers = 1024
	// MaxDose is the highest dose number.
	MaxDose = 99
	// MaxTime is the latest time a registry accepts (9999-12-31T23:59:59Z).
	MaxTime = 253402300799
)

// checkOrInit creates the layout in an empty file and checks it in any
// other.
func checkOrInit(tx *bolt.Tx) error {
	if tx.Bucket(bucketMeta) == nil {
		empty := true
		if err := tx.ForEach(func([]byte, *bolt.Bucket) error {
			empty = false
			return nil
		}); err != nil {
			return err
		}
		if !empty {
			return fmt.Errorf("%w: a bbolt file, but not a crlverify registry", ErrLayout)
		}
		for _, name := range allBuckets {
			if _, err := tx.CreateBucket(name); err != nil {
				return err
			}
		}
		return tx.Bucket(bucketMeta).Put(metaVersion, []byte{layoutVersion})
	}
	return checkLayout(tx)
}

func checkLayout(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return fmt.Errorf("%w: a bbolt file, but not a crlverify registry", ErrLayout)
	}
	v := meta.Get(metaVersion)
	switch {
	case len(v) == 1 && v[0] == layoutVersion:
	case len(v) == 1 && v[0] == 2:
		// Version 2 lacks only the carried table: read as empty, created by
		// upgradeLayout.
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil && !bytes.Equal(name, bucketCarried) {
				return fmt.Errorf("%w: bucket %q missing", errCorrupt, name)
			}
		}
		return nil
	case len(v) == 1 && v[0] < layoutVersion:
		return fmt.Errorf("%w: registry layout %d was written by an earlier crlverify; this version reads layout %d and does not convert files: start a new registry and import again", ErrLayout, v[0], layoutVersion)
	default:
		return fmt.Errorf("%w: registry layout %v is not one this version reads (%d)", ErrLayout, v, layoutVersion)
	}
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("%w: bucket %q missing", errCorrupt, name)
		}
	}
	return nil
}

// upgradeLayout turns a version 2 file into version 3: it adds the empty
// carried table. Other versions are left alone.
func upgradeLayout(tx *bolt.Tx) error {
	meta := tx.Bucket(bucketMeta)
	if v := meta.Get(metaVersion); len(v) != 1 || v[0] != 2 {
		return nil
	}
	if _, err := tx.CreateBucketIfNotExists(bucketCarried); err != nil {
		return err
	}
	return meta.Put(metaVersion, []byte{layoutVersion})
}

func u64(v uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, v)
	return b
}

func getU64(b []byte) (uint64, error) {
	if b == nil {
		return 0, nil
	}
	if len(b) != 8 {
		return 0, fmt.Errorf("%w: counter of %d bytes", errCorrupt, len(b))
	}
	return binary.BigEndian.Uint64(b), nil
}

// nextID returns a fresh id for a run or a staging area.
func nextID(meta *bolt.Bucket) (uint64, error) {
	n, err := getU64(meta.Get(metaNextID))
	if err != nil {
		return 0, err
	}
	n++
	return n, meta.Put(metaNextID, u64(n))
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
	}
	if isPlainASCII(s) {
		return nil
	}
	switch {
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: %s is not UTF-8", ErrInvalid, what)
	case strings.TrimSpace(s) != s:
		return fmt.Errorf("%w: %s %q has leading or trailing white space", ErrInvalid, what, s)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: %s %q has control characters", ErrInvalid, what, s)
	}
	return nil
}

// isPlainASCII reports whether s is printable ASCII without white space
// at either end: the common case, checked without decoding.
func isPlainASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return s[0] != ' ' && s[len(s)-1] != ' '
}

// checkNote refuses notes that are too long, not UTF-8, or hold control
// characters (a note is printed on terminals).
func checkNote(s string) error {
	switch {
	case len(s) > MaxNoteBytes:
		return fmt.Errorf("%w: note longer than %d bytes", ErrInvalid, MaxNoteBytes)
	case !utf8.ValidString(s):
		return fmt.Errorf("%w: note is not UTF-8", ErrInvalid)
	case strings.IndexFunc(s, unicode.IsControl) >= 0:
		return fmt.Errorf("%w: note has control characters", ErrInvalid)
	}
	return nil
}

// issuerTable is the registry's issuers: each has a number (from 1) that
// stands for it in keys. The issuers bucket maps the number (2 bytes BE)
// to the name. Every issuer the registry holds a certificate or a
// revocation of is covered by its published list.
type issuerTable struct {
	names []string          // index = number - 1
	nums  map[string]uint16 // name -> number
}

func loadIssuers(tx *bolt.Tx) (*issuerTable, error) {
	it := &issuerTable{nums: map[string]uint16{}}
	err := tx.Bucket(bucketIssuers).ForEach(func(k, v []byte) error {
		if len(k) != 2 || int(binary.BigEndian.Uint16(k)) != len(it.names)+1 {
			return fmt.Errorf("%w: issuer numbering", errCorrupt)
		}
		it.names = append(it.names, string(v))
		it.nums[string(v)] = uint16(len(it.names))
		return nil
	})
	return it, err
}

func (it *issuerTable) name(n uint16) (string, error) {
	if n == 0 || int(n) > len(it.names) {
		return "", fmt.Errorf("%w: unknown issuer number %d", errCorrupt, n)
	}
	return it.names[n-1], nil
}

// only returns the registry's issuer if it has exactly one.
func (it *issuerTable) only() string {
	if len(it.names) == 1 {
		return it.names[0]
	}
	return ""
}

// add returns the number of issuer, adding it if new.
func (it *issuerTable) add(tx *bolt.Tx, issuer string) (uint16, bool, error) {
	if n, ok := it.nums[issuer]; ok {
		return n, false, nil
	}
	if err := checkName("issuer", issuer, MaxIssuerBytes); err != nil {
		return 0, false, err
	}
	if len(it.names) >= MaxIssuers {
		return 0, false, fmt.Errorf("%w: the registry already covers %d", ErrTooManyIssuers, MaxIssuers)
	}
	n := uint16(len(it.names) + 1)
	var k [2]byte
	binary.BigEndian.PutUint16(k[:], n)
	if err := tx.Bucket(bucketIssuers).Put(k[:], []byte(issuer)); err != nil {
		return 0, false, err
	}
	it.names = append(it.names, issuer)
	it.nums[issuer] = n
	return n, true, nil
}

// Batches are interned like issuers, but there can be many: the batches
// bucket maps 'n' || name to the number (4 bytes BE) and 'i' || number to
// the name.
func batchNumber(tx *bolt.Tx, name string) (uint32, bool) {
	v := tx.Bucket(bucketBatches).Get(append([]byte{'n'}, name...))
	if len(v) != 4 {
		return 0, false
	}
	return binary.BigEndian.Uint32(v), true
}

func batchName(tx *bolt.Tx, n uint32) (string, error) {
	var k [5]byte
	k[0] = 'i'
	binary.BigEndian.PutUint32(k[1:], n)
	v := tx.Bucket(bucketBatches).Get(k[:])
	if v == nil {
		return "", fmt.Errorf("%w: unknown batch number %d", errCorrupt, n)
	}
	return string(v), nil
}

var errTooManyBatches = errors.New("registry: too many batches")

// batchInterner numbers the batches of a bulk import: known ones from the
// bucket, new ones in order of first appearance, written sorted when the
// import commits (many random inserts into one bbolt transaction cost
// time quadratic in their number).
type batchInterner struct {
	known map[string]uint32
	fresh []string
	first uint32 // number of fresh[0]
}

func newBatchInterner(tx *bolt.Tx) *batchInterner {
	return &batchInterner{known: map[string]uint32{}, first: uint32(tx.Bucket(bucketBatches).Sequence() + 1)}
}

func (bi *batchInterner) number(tx *bolt.Tx, nameb []byte) (uint32, error) {
	if n, ok := bi.known[string(nameb)]; ok {
		return n, nil
	}
	name := string(nameb)
	if n, ok := batchNumber(tx, name); ok {
		bi.known[name] = n
		return n, nil
	}
	if uint64(bi.first)+uint64(len(bi.fresh)) > 1<<32-1 {
		return 0, errTooManyBatches
	}
	n := bi.first + uint32(len(bi.fresh))
	bi.fresh = append(bi.fresh, name)
	bi.known[name] = n
	return n, nil
}

// commit writes the new batches.
func (bi *batchInterner) commit(tx *bolt.Tx) error {
	if len(bi.fresh) == 0 {
		return nil
	}
	b := tx.Bucket(bucketBatches)
	if b.Sequence()+1 != uint64(bi.first) {
		return fmt.Errorf("%w: batch numbering changed during the import", errCorrupt)
	}
	for i, name := range bi.fresh {
		var num [4]byte
		binary.BigEndian.PutUint32(num[:], bi.first+uint32(i))
		if err := b.Put(append([]byte{'i'}, num[:]...), []byte(name)); err != nil {
			return err
		}
	}
	names := slices.Clone(bi.fresh)
	slices.Sort(names)
	for _, name := range names {
		var num [4]byte
		binary.BigEndian.PutUint32(num[:], bi.known[name])
		if err := b.Put(append([]byte{'n'}, name...), num[:]); err != nil {
			return err
		}
	}
	return b.SetSequence(uint64(bi.first) + uint64(len(bi.fresh)) - 1)
}
