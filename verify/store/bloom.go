package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"

	"github.com/bits-and-blooms/bloom/v3"
	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
)

// bloomCapacity is the number of keys a new filter is sized for: the list
// with room to grow by a quarter through deltas before a rebuild.
func bloomCapacity(count uint64) uint64 {
	return max(count+count/4, 1024)
}

// The filter is blocked: all k bits of a key fall in one 512-bit block (a
// cache line), chosen by the key's value, so a check costs one memory
// access and building from sorted keys walks the filter in order. Keys are
// already uniform 64-bit digests; the bits inside the block come from a
// mix of the key, 9 bits per probe.
const blockBits = 512

func newBloom(capacity uint64, fp float64) *bloom.BloomFilter {
	m, k := bloom.EstimateParameters(uint(capacity), fp)
	m = (m + blockBits - 1) / blockBits * blockBits
	return bloom.New(m, k)
}

func mix(z uint64) uint64 {
	z += 0x9e3779b97f4a7c15
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}

// filter is the read side of a blocked filter, kept next to the
// *bloom.BloomFilter it reads so that a check makes no calls to find it.
type filter struct {
	words  []uint64
	blocks uint64 // number of 512-bit blocks
	k      uint   // probes per key
}

func filterOf(bf *bloom.BloomFilter) filter {
	return filter{words: bf.BitSet().Words(), blocks: uint64(bf.Cap()) / blockBits, k: bf.K()}
}

// block returns the index of the first word of k's block.
func (f *filter) block(k crl.Key) uint64 {
	hi, _ := bits.Mul64(uint64(k), f.blocks)
	return hi * (blockBits / 64)
}

func addKey(bf *bloom.BloomFilter, k crl.Key) {
	f := filterOf(bf)
	w := f.block(k)
	h := mix(uint64(k))
	for i, used := uint(0), 0; i < f.k; i++ {
		if used+9 > 64 {
			h, used = mix(h), 0
		}
		b := h >> used & (blockBits - 1)
		used += 9
		f.words[w+b>>6] |= 1 << (b & 63)
	}
}

// has reports whether k may be in the filter; false means it is not.
func (f *filter) has(k crl.Key) bool {
	blk := f.words[f.block(k):][:blockBits/64]
	h := mix(uint64(k))
	for i, used := uint(0), 0; i < f.k; i++ {
		if used+9 > 64 {
			h, used = mix(h), 0
		}
		b := h >> used & (blockBits - 1)
		used += 9
		if blk[b>>6]&(1<<(b&63)) == 0 {
			return false
		}
	}
	return true
}

// encodeBloom stores the filter with the generation it describes:
// gen, m, k (8 bytes each, big-endian), then the bit words little-endian.
func encodeBloom(bf *bloom.BloomFilter, gen uint64) []byte {
	words := bf.BitSet().Words()
	out := make([]byte, 24+8*len(words))
	binary.BigEndian.PutUint64(out[0:], gen)
	binary.BigEndian.PutUint64(out[8:], uint64(bf.Cap()))
	binary.BigEndian.PutUint64(out[16:], uint64(bf.K()))
	for i, w := range words {
		binary.LittleEndian.PutUint64(out[24+8*i:], w)
	}
	return out
}

// readBloom decodes the stored filter of generation gen.
func (f *storeFile) readBloom(raw []byte, gen uint64) (*bloom.BloomFilter, error) {
	if f.sums {
		var ok bool
		if raw, ok = unseal(raw); !ok {
			return nil, f.corrupt("bloom filter: checksum mismatch")
		}
	}
	bf, err := decodeBloom(raw, gen)
	if err != nil {
		return nil, f.corrupt("%v", err)
	}
	return bf, nil
}

func decodeBloom(raw []byte, gen uint64) (*bloom.BloomFilter, error) {
	if len(raw) < 24 {
		return nil, errors.New("bloom filter missing")
	}
	if g := binary.BigEndian.Uint64(raw); g != gen {
		return nil, fmt.Errorf("bloom filter of generation %d, list is %d", g, gen)
	}
	m := binary.BigEndian.Uint64(raw[8:])
	k := binary.BigEndian.Uint64(raw[16:])
	nw := (m + 63) / 64
	if m == 0 || m%blockBits != 0 || k == 0 || k > 64 || uint64(len(raw)-24) != 8*nw {
		return nil, errors.New("bloom filter size")
	}
	words := make([]uint64, nw)
	for i := range words {
		words[i] = binary.LittleEndian.Uint64(raw[24+8*i:])
	}
	return bloom.FromWithM(words, uint(m), uint(k)), nil
}

// buildBloom makes a filter over the entries of rec's generation in f,
// read in tx, sized for the list plus a quarter.
func buildBloom(f *storeFile, tx *bolt.Tx, rec *pubRecord, fp float64) (*bloom.BloomFilter, uint64, error) {
	if fp <= 0 {
		fp = DefaultBloomFPRate
	}
	capacity := bloomCapacity(rec.List.Count)
	bf := newBloom(capacity, fp)
	b := genBucket(tx, rec.Gen)
	if b == nil {
		return nil, 0, f.corrupt("entries of %q missing", rec.List.Publisher)
	}
	var buf []crl.Entry
	c := b.Cursor()
	for k, v := c.First(); k != nil; k, v = c.Next() {
		var err error
		if buf, err = f.decodeBlock(buf[:0], k, v); err != nil {
			return nil, 0, err
		}
		for _, e := range buf {
			addKey(bf, e.Key)
		}
	}
	return bf, capacity, nil
}
