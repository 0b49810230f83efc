package registry

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/crlverify/crlverify/crl"
)

// Bucket names. The layout is versioned by metaVersion.
var (
	bucketMeta    = []byte("meta")        // small named values, see meta* keys
	bucketRevoked = []byte("revocations") // revKey(key, issuer, id) -> entry value
	bucketList    = []byte("list")        // crl.Key (8 bytes BE) -> list value
	bucketIssuers = []byte("issuers")     // issuer -> empty
	bucketChanges = []byte("changes")     // serial (8 BE) || crl.Key -> change value
	bucketSerials = []byte("serials")     // serial (8 BE) -> JSON serialRecord
	bucketAudit   = []byte("audit")       // sequence (8 BE) -> audit value
)

var (
	metaVersion   = []byte("version")   // layout version, one byte
	metaPublished = []byte("published") // last claimed serial (8 BE)
	metaFloor     = []byte("floor")     // change log complete for serials > floor (8 BE)
	metaPublisher = []byte("publisher") // publisher name of published snapshots
)

const layoutVersion = 1

// initialMmapSize is the address space reserved when a registry is opened:
// 1 GiB on 64-bit platforms, 0 (bbolt's default) elsewhere.
const initialMmapSize = int(1 << 30 * (^uint(0) >> 63))

// entryLen is the size of an encoded entry: revoked-at (8), reason (1),
// suspended-until (8).
const entryLen = 17

func putEntry(b []byte, e crl.Entry) {
	binary.BigEndian.PutUint64(b[0:8], uint64(e.RevokedAt))
	b[8] = byte(e.Reason)
	binary.BigEndian.PutUint64(b[9:17], uint64(e.SuspendedUntil))
}

func getEntry(b []byte, k crl.Key) crl.Entry {
	return crl.Entry{
		Key:            k,
		RevokedAt:      int64(binary.BigEndian.Uint64(b[0:8])),
		Reason:         crl.Reason(b[8]),
		SuspendedUntil: int64(binary.BigEndian.Uint64(b[9:17])),
	}
}

func encodeEntry(e crl.Entry) []byte {
	b := make([]byte, entryLen)
	putEntry(b, e)
	return b
}

var errCorrupt = errors.New("registry: corrupt record")

// revKey is key (8 bytes BE) || uvarint(len(issuer)) || issuer || id. The
// revocations sort in list-key order, like the list and the change log, so
// a bulk import sorted by key writes every bucket sequentially, and the
// holders of one key (a collision) are adjacent.
func revKey(k crl.Key, issuer, id string) []byte {
	b := make([]byte, 8, 8+binary.MaxVarintLen64+len(issuer)+len(id))
	binary.BigEndian.PutUint64(b, uint64(k))
	b = binary.AppendUvarint(b, uint64(len(issuer)))
	b = append(b, issuer...)
	return append(b, id...)
}

func splitRevKey(b []byte) (k crl.Key, issuer, id string, err error) {
	if len(b) < 9 {
		return 0, "", "", errCorrupt
	}
	k = crl.KeyFromBytes(b[:8])
	b = b[8:]
	n, w := binary.Uvarint(b)
	if w <= 0 || uint64(len(b)-w) < n {
		return 0, "", "", errCorrupt
	}
	return k, string(b[w : w+int(n)]), string(b[w+int(n):]), nil
}

// A list value is an entry followed by uvarint(holders): how many
// revocations share this crl.Key (more than one only on a 64-bit key
// collision).
func encodeListValue(e crl.Entry, holders uint64) []byte {
	b := make([]byte, entryLen, entryLen+binary.MaxVarintLen64)
	putEntry(b, e)
	return binary.AppendUvarint(b, holders)
}

func decodeListValue(b []byte, k crl.Key) (crl.Entry, uint64, error) {
	if len(b) < entryLen+1 {
		return crl.Entry{}, 0, errCorrupt
	}
	n, w := binary.Uvarint(b[entryLen:])
	if w <= 0 || n == 0 {
		return crl.Entry{}, 0, errCorrupt
	}
	return getEntry(b, k), n, nil
}

// A change value is the list entry before and after: each a presence byte
// then an entry.
const changeLen = 2 * (1 + entryLen)

func encodeChange(before, after *crl.Entry) []byte {
	b := make([]byte, changeLen)
	if before != nil {
		b[0] = 1
		putEntry(b[1:], *before)
	}
	if after != nil {
		b[1+entryLen] = 1
		putEntry(b[2+entryLen:], *after)
	}
	return b
}

func decodeChange(b []byte, k crl.Key) (before, after *crl.Entry, err error) {
	if len(b) != changeLen || b[0] > 1 || b[1+entryLen] > 1 {
		return nil, nil, errCorrupt
	}
	if b[0] == 1 {
		e := getEntry(b[1:], k)
		before = &e
	}
	if b[1+entryLen] == 1 {
		e := getEntry(b[2+entryLen:], k)
		after = &e
	}
	return before, after, nil
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

func changeKey(serial uint64, k crl.Key) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, serial)
	binary.BigEndian.PutUint64(b[8:], uint64(k))
	return b
}

// sameEntry compares two optional entries.
func sameEntry(a, b *crl.Entry) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// mergeEntries combines two revocations that share one crl.Key (a 64-bit
// collision between different certificates): the key must stay listed as
// strongly as any of its holders. A permanent revocation beats a suspension;
// of two permanent ones the earlier, of two suspensions the one that ends
// later. Ties go to the earlier revocation, then the lower reason code.
func mergeEntries(a, b crl.Entry) crl.Entry {
	ap, bp := a.SuspendedUntil == 0, b.SuspendedUntil == 0
	switch {
	case ap && !bp:
		return a
	case bp && !ap:
		return b
	case !ap && a.SuspendedUntil != b.SuspendedUntil:
		if a.SuspendedUntil > b.SuspendedUntil {
			return a
		}
		return b
	case a.RevokedAt != b.RevokedAt:
		if a.RevokedAt < b.RevokedAt {
			return a
		}
		return b
	case a.Reason <= b.Reason:
		return a
	default:
		return b
	}
}
