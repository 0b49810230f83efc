package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/crc32"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/verify/store/internal/block"
)

// Every value a schema 2 file stores ends with the CRC-32C (Castagnoli)
// of what it holds, little-endian; a block's sum covers its bbolt key (its
// first entry's key) too. bbolt checks only its own meta pages, so without
// these a flipped bit in a page would be read as a different list.
const sumLen = 4

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// seal appends v and its sum to dst.
func seal(dst, v []byte) []byte {
	dst = append(dst, v...)
	return binary.LittleEndian.AppendUint32(dst, crc32.Checksum(v, castagnoli))
}

// unseal returns v without its sum, or false when the sum does not match.
func unseal(v []byte) ([]byte, bool) {
	if len(v) < sumLen {
		return nil, false
	}
	body := v[:len(v)-sumLen]
	return body, crc32.Checksum(body, castagnoli) == binary.LittleEndian.Uint32(v[len(body):])
}

func blockSum(key, blk []byte) uint32 {
	return crc32.Update(crc32.Checksum(key, castagnoli), castagnoli, blk)
}

// sealBlock writes blk and the sum of key and blk into dst, which has
// room for len(blk)+sumLen bytes.
func sealBlock(dst, key, blk []byte) {
	copy(dst, blk)
	binary.LittleEndian.PutUint32(dst[len(blk):], blockSum(key, blk))
}

// openBlock returns the block stored under key as v in a file of schema
// sums (v itself for schema 1), checking its sum.
func (f *storeFile) openBlock(key, v []byte) ([]byte, error) {
	if !f.sums {
		return v, nil
	}
	if len(v) < sumLen {
		return nil, f.corrupt("block %x: %d bytes", key, len(v))
	}
	blk := v[:len(v)-sumLen]
	if blockSum(key, blk) != binary.LittleEndian.Uint32(v[len(blk):]) {
		return nil, f.corrupt("block %x: checksum mismatch", key)
	}
	return blk, nil
}

// decodeBlock appends the entries of the block stored as k, v.
func (f *storeFile) decodeBlock(dst []crl.Entry, k, v []byte) ([]crl.Entry, error) {
	if len(k) != 8 {
		return dst, f.corrupt("block key of %d bytes", len(k))
	}
	blk, err := f.openBlock(k, v)
	if err != nil {
		return dst, err
	}
	out, err := block.Decode(dst, crl.KeyFromBytes(k), blk)
	if err != nil {
		return dst, f.corrupt("block %x: %v", k, err)
	}
	return out, nil
}

// readRecord reads the state of the publisher whose bucket is pb.
func (f *storeFile) readRecord(name []byte, pb *bolt.Bucket) (*pubRecord, error) {
	raw := pb.Get(keyState)
	if raw == nil {
		return nil, f.corrupt("publisher without state")
	}
	if f.sums {
		var ok bool
		if raw, ok = unseal(raw); !ok {
			return nil, f.corrupt("publisher state: checksum mismatch")
		}
	}
	var rec pubRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		return nil, f.corrupt("publisher state: %v", err)
	}
	if rec.List.Publisher != string(name) {
		return nil, f.corrupt("publisher state names %q", rec.List.Publisher)
	}
	return &rec, nil
}

func encodeRecord(rec *pubRecord) ([]byte, error) {
	raw, err := json.Marshal(rec)
	if err != nil {
		return nil, err
	}
	return seal(nil, raw), nil
}

// The fences of a list are the first keys of its blocks, in order: 8 bytes
// each, big-endian. A lookup finds the block that may hold a key in them,
// in memory, and reads that block by its exact key, so a damaged branch of
// bbolt's tree is seen as damage instead of leading to another block.
func encodeFences(fences []crl.Key) []byte {
	b := make([]byte, 0, 8*len(fences))
	for _, k := range fences {
		b = binary.BigEndian.AppendUint64(b, uint64(k))
	}
	return seal(make([]byte, 0, len(b)+sumLen), b)
}

func (f *storeFile) readFences(pb *bolt.Bucket) ([]crl.Key, error) {
	raw := pb.Get(keyFences)
	if raw == nil {
		return nil, f.corrupt("list without block index")
	}
	b, ok := unseal(raw)
	if !ok || len(b)%8 != 0 {
		return nil, f.corrupt("block index: checksum mismatch")
	}
	fences := make([]crl.Key, len(b)/8)
	for i := range fences {
		fences[i] = crl.Key(binary.BigEndian.Uint64(b[8*i:]))
		if i > 0 && fences[i] <= fences[i-1] {
			return nil, f.corrupt("block index out of order")
		}
	}
	return fences, nil
}

// corrupt reports damage found in the file.
func (f *storeFile) corrupt(format string, args ...any) error {
	return corruptErr(f.path, fmt.Sprintf(format, args...))
}

func corruptErr(path, detail string) error {
	return fmt.Errorf("%w: %s: %s", ErrCorrupt, path, detail)
}
