// Package block is the store's on-disk form of a run of sorted revocation
// entries: a compact, bit-packed record that is searched in place, without
// decoding the whole run.
//
// A block holds 1..n entries with strictly increasing keys. Its first key is
// kept outside the block (it is the bbolt key), every other key as its offset
// from the first. Layout:
//
//	byte     flags (bit 0: some entry is a suspension; other bits 0)
//	uvarint  n, the number of entries
//	byte     kw: bit width of each key offset (key[i] - key[0], i >= 1)
//	varint   tmin: the smallest revoked-at (Unix seconds)
//	byte     tw: bit width of each revoked-at offset (t - tmin)
//	byte     rw: bit width of each reason
//	if bit 0: uvarint ns (suspensions, 1..n), varint smin (smallest
//	         suspended-until), byte sw
//	bits     MSB first, zero-padded to a byte: n-1 key offsets, n time
//	         offsets, n reasons, and if bit 0, ns pairs in increasing index
//	         order: the entry's index (bits.Len(n-1) bits) and its
//	         (until - smin) in sw bits.
//
// Fixed widths inside a block make entry i addressable directly, so a
// lookup is a binary search over the key offsets. Suspensions are rare and
// kept as a sparse list, so they cost the other entries nothing.
package block
