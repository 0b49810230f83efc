package block

import (
	"encoding/binary"
	"errors"
	"math/bits"

	"github.com/crlverify/crlverify/crl"
)

// ErrCorrupt is returned when a stored block does not decode.
var ErrCorrupt = errors.New("store: corrupt block")

const flagSuspensions = 1

// header is a decoded block header.
type header struct {
	n          int
	kw, tw, rw int
	sw, iw, ns int
	susp       bool
	tmin, smin int64
	bits       []byte // the bit stream
	// offsets of each field array in bits
	tOff, rOff, sOff int
}

func parseHeader(b []byte) (header, error) {
	var h header
	if len(b) < 1 {
		return h, ErrCorrupt
	}
	flags := b[0]
	if flags&^flagSuspensions != 0 {
		return h, ErrCorrupt
	}
	h.susp = flags&flagSuspensions != 0
	p := 1
	n, k := binary.Uvarint(b[p:])
	if k <= 0 || n == 0 || n > 1<<20 {
		return h, ErrCorrupt
	}
	p += k
	h.n = int(n)
	if p >= len(b) {
		return h, ErrCorrupt
	}
	h.kw = int(b[p])
	p++
	tmin, k := binary.Varint(b[p:])
	if k <= 0 {
		return h, ErrCorrupt
	}
	p += k
	h.tmin = tmin
	if p+2 > len(b) {
		return h, ErrCorrupt
	}
	h.tw, h.rw = int(b[p]), int(b[p+1])
	p += 2
	if h.susp {
		ns, k := binary.Uvarint(b[p:])
		if k <= 0 || ns == 0 || ns > n {
			return h, ErrCorrupt
		}
		h.ns = int(ns)
		p += k
		smin, k := binary.Varint(b[p:])
		if k <= 0 || p+k >= len(b) {
			return h, ErrCorrupt
		}
		h.smin = smin
		p += k
		h.sw = int(b[p])
		p++
		h.iw = bits.Len(uint(h.n - 1))
	}
	if h.kw > 64 || h.tw > 64 || h.rw > 8 || h.sw > 64 {
		return h, ErrCorrupt
	}
	h.bits = b[p:]
	h.tOff = (h.n - 1) * h.kw
	h.rOff = h.tOff + h.n*h.tw
	h.sOff = h.rOff + h.n*h.rw
	total := h.sOff + h.ns*(h.iw+h.sw)
	if (total+7)/8 != len(h.bits) {
		return h, ErrCorrupt
	}
	return h, nil
}

// getBits reads w (0..64) bits MSB first starting at bit position pos.
func getBits(b []byte, pos, w int) uint64 {
	if w == 0 {
		return 0
	}
	if w > 56 {
		hi := getBits(b, pos, w-32)
		return hi<<32 | getBits(b, pos+w-32, 32)
	}
	i := pos >> 3
	sh := pos & 7
	var v uint64
	if i+8 <= len(b) {
		v = binary.BigEndian.Uint64(b[i:])
	} else {
		for j := 0; j < 8; j++ {
			v <<= 8
			if i+j < len(b) {
				v |= uint64(b[i+j])
			}
		}
	}
	return (v << uint(sh)) >> uint(64-w)
}

func (h *header) key(first crl.Key, i int) crl.Key {
	if i == 0 {
		return first
	}
	return first + crl.Key(getBits(h.bits, (i-1)*h.kw, h.kw))
}

func (h *header) entry(first crl.Key, i int) crl.Entry {
	e := crl.Entry{
		Key:       h.key(first, i),
		RevokedAt: int64(uint64(h.tmin) + getBits(h.bits, h.tOff+i*h.tw, h.tw)),
		Reason:    crl.Reason(getBits(h.bits, h.rOff+i*h.rw, h.rw)),
	}
	if h.susp {
		// binary search of the sparse, index-sorted suspension list
		lo, hi := 0, h.ns
		for lo < hi {
			m := int(uint(lo+hi) >> 1)
			pos := h.sOff + m*(h.iw+h.sw)
			switch j := int(getBits(h.bits, pos, h.iw)); {
			case j < i:
				lo = m + 1
			case j > i:
				hi = m
			default:
				e.SuspendedUntil = int64(uint64(h.smin) + getBits(h.bits, pos+h.iw, h.sw))
				return e
			}
		}
	}
	return e
}

// Lookup finds key k in the block whose first key is first.
func Lookup(first crl.Key, b []byte, k crl.Key) (crl.Entry, bool, error) {
	h, err := parseHeader(b)
	if err != nil {
		return crl.Entry{}, false, err
	}
	if k < first {
		return crl.Entry{}, false, nil
	}
	off := uint64(k - first)
	lo, hi := 1, h.n // search offsets of entries 1..n-1
	if off == 0 {
		return h.entry(first, 0), true, nil
	}
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		v := getBits(h.bits, (m-1)*h.kw, h.kw)
		switch {
		case v < off:
			lo = m + 1
		case v > off:
			hi = m
		default:
			return h.entry(first, m), true, nil
		}
	}
	return crl.Entry{}, false, nil
}

// Count returns the number of entries in a block.
func Count(b []byte) (int, error) {
	h, err := parseHeader(b)
	return h.n, err
}

// Decode appends the block's entries to dst, in key order.
func Decode(dst []crl.Entry, first crl.Key, b []byte) ([]crl.Entry, error) {
	h, err := parseHeader(b)
	if err != nil {
		return dst, err
	}
	for m, last := 0, -1; m < h.ns; m++ {
		j := int(getBits(h.bits, h.sOff+m*(h.iw+h.sw), h.iw))
		if j <= last || j >= h.n {
			return dst, ErrCorrupt
		}
		last = j
	}
	prev := first
	for i := 0; i < h.n; i++ {
		e := h.entry(first, i)
		if i > 0 && e.Key <= prev {
			return dst, ErrCorrupt
		}
		prev = e.Key
		dst = append(dst, e)
	}
	return dst, nil
}

// Builder cuts a sorted stream of entries into blocks of at most Max bytes.
type Builder struct {
	// Max is the largest encoded block; 0 means DefaultMax.
	Max int
	// Emit receives each finished block: its first key and encoding. The
	// slice is reused after Emit returns.
	Emit func(first crl.Key, b []byte) error

	pend []crl.Entry
	st   sizeState
	buf  []byte
}

// DefaultMax fits two blocks and their bbolt element headers in one 4 KiB
// page: 16-byte page header + 2 × (16-byte element + 8-byte key + 2016).
const DefaultMax = 2016

type sizeState struct {
	tmin, tmax int64
	rmax       crl.Reason
	susp       bool
	ns         int
	smin, smax int64
}

func (s *sizeState) add(e crl.Entry, first bool) {
	if first {
		*s = sizeState{tmin: e.RevokedAt, tmax: e.RevokedAt, rmax: e.Reason}
	} else {
		s.tmin = min(s.tmin, e.RevokedAt)
		s.tmax = max(s.tmax, e.RevokedAt)
		s.rmax = max(s.rmax, e.Reason)
	}
	if e.SuspendedUntil != 0 {
		s.ns++
		if !s.susp {
			s.susp, s.smin, s.smax = true, e.SuspendedUntil, e.SuspendedUntil
		} else {
			s.smin = min(s.smin, e.SuspendedUntil)
			s.smax = max(s.smax, e.SuspendedUntil)
		}
	}
}

func varintLen(v int64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutVarint(b[:], v)
}

func uvarintLen(v uint64) int {
	var b [binary.MaxVarintLen64]byte
	return binary.PutUvarint(b[:], v)
}

// size returns the encoded size of n entries spanning keys first..last.
func (s *sizeState) size(n int, first, last crl.Key) int {
	kw := bits.Len64(uint64(last - first))
	tw := bits.Len64(uint64(s.tmax) - uint64(s.tmin))
	rw := bits.Len8(uint8(s.rmax))
	hdr := 1 + uvarintLen(uint64(n)) + 1 + varintLen(s.tmin) + 2
	nb := (n-1)*kw + n*tw + n*rw
	if s.susp {
		sw := bits.Len64(uint64(s.smax) - uint64(s.smin))
		hdr += uvarintLen(uint64(s.ns)) + varintLen(s.smin) + 1
		nb += s.ns * (bits.Len(uint(n-1)) + sw)
	}
	return hdr + (nb+7)/8
}

// Add appends e; keys must strictly increase across calls.
func (bl *Builder) Add(e crl.Entry) error {
	max := bl.Max
	if max == 0 {
		max = DefaultMax
	}
	if len(bl.pend) > 0 {
		trial := bl.st
		trial.add(e, false)
		if trial.size(len(bl.pend)+1, bl.pend[0].Key, e.Key) > max {
			if err := bl.Flush(); err != nil {
				return err
			}
		} else {
			bl.st = trial
			bl.pend = append(bl.pend, e)
			return nil
		}
	}
	bl.st.add(e, true)
	bl.pend = append(bl.pend, e)
	return nil
}

// Flush emits the pending entries as one block.
func (bl *Builder) Flush() error {
	if len(bl.pend) == 0 {
		return nil
	}
	bl.buf = Encode(bl.buf[:0], bl.pend)
	first := bl.pend[0].Key
	bl.pend = bl.pend[:0]
	return bl.Emit(first, bl.buf)
}

// bitWriter appends MSB-first bit fields.
type bitWriter struct {
	b   []byte
	acc uint64
	n   int // bits in acc
}

func (w *bitWriter) put(v uint64, width int) {
	if width == 0 {
		return
	}
	if width > 32 {
		w.put(v>>32, width-32)
		w.put(v&0xffffffff, 32)
		return
	}
	v &= (1 << uint(width)) - 1
	w.acc = w.acc<<uint(width) | v
	w.n += width
	for w.n >= 8 {
		w.n -= 8
		w.b = append(w.b, byte(w.acc>>uint(w.n)))
	}
}

func (w *bitWriter) finish() []byte {
	if w.n > 0 {
		w.b = append(w.b, byte(w.acc<<uint(8-w.n)))
		w.n = 0
	}
	return w.b
}

// Encode appends the block form of es (sorted, non-empty) to dst.
func Encode(dst []byte, es []crl.Entry) []byte {
	var st sizeState
	for i, e := range es {
		st.add(e, i == 0)
	}
	n := len(es)
	first := es[0].Key
	kw := bits.Len64(uint64(es[n-1].Key - first))
	tw := bits.Len64(uint64(st.tmax) - uint64(st.tmin))
	rw := bits.Len8(uint8(st.rmax))
	var flags byte
	if st.susp {
		flags = flagSuspensions
	}
	dst = append(dst, flags)
	dst = binary.AppendUvarint(dst, uint64(n))
	dst = append(dst, byte(kw))
	dst = binary.AppendVarint(dst, st.tmin)
	dst = append(dst, byte(tw), byte(rw))
	sw := 0
	if st.susp {
		sw = bits.Len64(uint64(st.smax) - uint64(st.smin))
		dst = binary.AppendUvarint(dst, uint64(st.ns))
		dst = binary.AppendVarint(dst, st.smin)
		dst = append(dst, byte(sw))
	}
	w := bitWriter{b: dst}
	for _, e := range es[1:] {
		w.put(uint64(e.Key-first), kw)
	}
	for _, e := range es {
		w.put(uint64(e.RevokedAt)-uint64(st.tmin), tw)
	}
	for _, e := range es {
		w.put(uint64(e.Reason), rw)
	}
	if st.susp {
		iw := bits.Len(uint(n - 1))
		for i, e := range es {
			if e.SuspendedUntil != 0 {
				w.put(uint64(i), iw)
				w.put(uint64(e.SuspendedUntil)-uint64(st.smin), sw)
			}
		}
	}
	return w.finish()
}
