package snapshot

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"math/bits"

	"github.com/crlverify/crlverify/crl"
)

const (
	// readChunk is how much the reader asks of the underlying reader at a
	// time; the buffer also holds the largest possible block.
	readChunk = 64 << 10
	// maxBlockHeader bounds an entry block header: uvarint n, first key,
	// rice_k, varint t_min, t_width, r_width, flags, s_width.
	maxBlockHeader = binary.MaxVarintLen64 + 8 + 1 + binary.MaxVarintLen64 + 4
	// guard bytes after the data let the bit reader load 9 bytes at any
	// position it may reach.
	guard = 16
)

// BodyReader decodes a snapshot body as it streams in, holding one block of
// items. It checks every rule of the format as it goes, and the body's
// length and digest against the [Header] at the end.
type BodyReader struct {
	r      io.Reader
	hdr    *Header
	lim    Limits
	h      hash.Hash
	pulled int64 // body bytes taken from r
	short  bool  // r ended before BodyLength bytes
	buf    []byte
	start  int // next unread byte of buf
	end    int // end of the data in buf

	section int // 0: upserts, 1: removals, 2: done
	want    [2]uint64
	count   [2]uint64
	prev    uint64
	started bool // a block was read in this section

	keys   []uint64
	times  []int64
	reason []uint8
	until  []int64
	n, i   int

	err error
}

// NewBodyReader returns a reader of the body that follows h in r, as
// [ReadHeader] left it. A nil lim means [DefaultLimits].
func NewBodyReader(r io.Reader, h *Header, lim *Limits) *BodyReader {
	return &BodyReader{r: r, hdr: h, lim: lim.withDefaults(), h: sha256.New()}
}

// Next returns the next item in file order: an upserted entry (removed is
// false), or a removed key (removed is true, only e.Key is set). After the
// last item it checks that the body has exactly the header's length and
// digest and that nothing follows it, then returns io.EOF. Items are not
// genuine until Next has returned io.EOF: a caller must not keep their
// effect when Next fails.
//
// A body that is not the one the header signs fails with an error
// wrapping [ErrDigestMismatch]: when the decoder finds a fault it reads the
// rest of the body to tell a changed or cut body (ErrDigestMismatch) from a
// genuine body that breaks the format ([ErrMalformed]). Bytes after the
// body give ErrMalformed. Errors from the underlying reader are returned
// wrapped, as they are.
func (br *BodyReader) Next() (e crl.Entry, removed bool, err error) {
	if br.i < br.n {
		i := br.i
		br.i++
		if br.section == 1 {
			return crl.Entry{Key: crl.Key(br.keys[i])}, true, nil
		}
		return crl.Entry{Key: crl.Key(br.keys[i]), RevokedAt: br.times[i], Reason: crl.Reason(br.reason[i]), SuspendedUntil: br.until[i]}, false, nil
	}
	if br.err != nil {
		return crl.Entry{}, false, br.err
	}
	for {
		if br.section == 2 {
			br.err = br.finish()
			if br.err == nil {
				br.err = io.EOF
			}
			return crl.Entry{}, false, br.err
		}
		if br.buf == nil {
			if br.err = br.init(); br.err != nil {
				return crl.Entry{}, false, br.err
			}
		}
		ok, err := br.block()
		if err != nil {
			br.err = br.fail(err)
			return crl.Entry{}, false, br.err
		}
		if ok {
			return br.Next()
		}
	}
}

// init checks the header against the limits and allocates the buffers,
// no larger than the body and its counts need.
func (br *BodyReader) init() error {
	h := br.hdr
	if h == nil {
		return errors.New("snapshot: NewBodyReader needs the header")
	}
	if h.BodyLength > br.lim.MaxBodyBytes {
		return fmt.Errorf("%w: body_length %d is above the limit of %d bytes", ErrTooLarge, h.BodyLength, br.lim.MaxBodyBytes)
	}
	if h.Upserts > br.lim.MaxEntries || h.Removals > br.lim.MaxEntries {
		return fmt.Errorf("%w: %d upserts and %d removals, above the limit of %d entries", ErrTooLarge, h.Upserts, h.Removals, br.lim.MaxEntries)
	}
	if h.BodyLength < minBodyLength {
		return malformed("body_length %d is below the minimum of %d", h.BodyLength, minBodyLength)
	}
	br.want = [2]uint64{h.Upserts, h.Removals}
	size := int64(readChunk) + maxBlockBytes(MaxBlock, 64, maxReasonWidth, true, 64)
	size = min(size, h.BodyLength)
	br.buf = make([]byte, size+guard)
	n := min(max(h.Upserts, h.Removals), MaxBlock)
	br.keys = make([]uint64, n)
	if h.Upserts > 0 {
		br.times = make([]int64, n)
		br.reason = make([]uint8, n)
		br.until = make([]int64, n)
	}
	return nil
}

// maxBlockBytes bounds the encoded length of a block's bit stream.
func maxBlockBytes(n int, tw, rw uint, susp bool, sw uint) int64 {
	b := int64(n-1)*maxGapBits + int64(n)*int64(tw+rw)
	if susp {
		b += int64(n) * int64(1+sw)
	}
	return (b + 7) / 8
}

// fill makes at least need bytes available from start, or as many as the
// body has left. It returns an error only for a failing reader.
func (br *BodyReader) fill(need int) error {
	if br.end-br.start >= need {
		return nil
	}
	if br.start+need > len(br.buf)-guard {
		if need > len(br.buf)-guard {
			// Only a block header that claims more than a small body
			// holds gets here; need is at most one block.
			nb := make([]byte, need+guard)
			copy(nb, br.buf[br.start:br.end])
			br.buf = nb
		} else {
			copy(br.buf, br.buf[br.start:br.end])
		}
		br.end -= br.start
		br.start = 0
	}
	idle := 0
	for br.end-br.start < need && br.pulled < br.hdr.BodyLength && !br.short {
		room := min(int64(len(br.buf)-guard-br.end), br.hdr.BodyLength-br.pulled, readChunk)
		m, err := br.r.Read(br.buf[br.end : br.end+int(room)])
		br.h.Write(br.buf[br.end : br.end+m])
		br.end += m
		br.pulled += int64(m)
		switch {
		case err == io.EOF:
			br.short = true
		case err != nil:
			return fmt.Errorf("snapshot: reading body: %w", err)
		case m == 0:
			if idle++; idle > 100 {
				return fmt.Errorf("snapshot: reading body: %w", io.ErrNoProgress)
			}
		}
	}
	return nil
}

// ioError marks an error of the underlying reader, which fail passes on.
type ioError struct{ error }

func (e ioError) Unwrap() error { return e.error }

// offset is the body offset of the next unread byte.
func (br *BodyReader) offset() int64 { return br.pulled - int64(br.end-br.start) }

// block reads the next block header and block. It returns false at the end
// of a section (moving to the next one), true when items are ready.
func (br *BodyReader) block() (bool, error) {
	if err := br.fill(maxBlockHeader); err != nil {
		return false, ioError{err}
	}
	off := br.offset()
	p := br.buf[br.start:br.end]
	if len(p) == 0 {
		return false, malformed("body ends at offset %d inside section %d", off, br.section)
	}
	n, m := binary.Uvarint(p)
	if m <= 0 || (m > 1 && p[m-1] == 0) {
		return false, malformed("block count at offset %d is not a minimal uvarint", off)
	}
	p = p[m:]
	sec := br.section
	if n == 0 {
		if br.count[sec] != br.want[sec] {
			return false, malformed("section %d ends at offset %d after %d items; the header says %d", sec, off, br.count[sec], br.want[sec])
		}
		br.start += m
		br.section++
		br.started = false
		return false, nil
	}
	if n > MaxBlock {
		return false, malformed("block at offset %d has %d items (at most %d)", off, n, MaxBlock)
	}
	if n > br.want[sec]-br.count[sec] {
		return false, malformed("block at offset %d brings section %d past the header's %d items", off, sec, br.want[sec])
	}
	if len(p) < 9 {
		return false, malformed("block header cut short at offset %d", off)
	}
	first := binary.BigEndian.Uint64(p)
	k := uint(p[8])
	p = p[9:]
	if k > 63 {
		return false, malformed("rice_k %d at offset %d is above 63", k, off)
	}
	if br.started && first <= br.prev {
		return false, malformed("block at offset %d: key %016x is not above the previous key %016x", off, first, br.prev)
	}
	var tmin int64
	var tw, rw, sw uint
	susp := false
	if sec == 0 {
		ut, m := binary.Uvarint(p)
		if m <= 0 || (m > 1 && p[m-1] == 0) {
			return false, malformed("t_min at offset %d is not a minimal varint", off)
		}
		tmin = int64(ut>>1) ^ -int64(ut&1)
		p = p[m:]
		if len(p) < 3 {
			return false, malformed("block header cut short at offset %d", off)
		}
		tw, rw = uint(p[0]), uint(p[1])
		flags := p[2]
		p = p[3:]
		if tw > 64 || rw > maxReasonWidth || flags&^flagSuspensions != 0 {
			return false, malformed("block at offset %d: t_width %d, r_width %d or flags %#x out of range", off, tw, rw, flags)
		}
		if flags&flagSuspensions != 0 {
			susp = true
			if len(p) < 1 {
				return false, malformed("block header cut short at offset %d", off)
			}
			sw = uint(p[0])
			p = p[1:]
			if sw > 64 {
				return false, malformed("block at offset %d: s_width %d is above 64", off, sw)
			}
		}
	}
	br.start = br.end - len(p)
	need := maxBlockBytes(int(n), tw, rw, susp, sw)
	if err := br.fill(int(need)); err != nil {
		return false, ioError{err}
	}
	nbits, err := br.decode(int(n), first, k, tmin, tw, rw, susp, sw)
	if err != nil {
		return false, fmt.Errorf("%w (block at offset %d)", err, off)
	}
	avail := uint64(br.end-br.start) * 8
	if nbits > avail {
		return false, malformed("block at offset %d runs past the end of the body", off)
	}
	used := int((nbits + 7) / 8)
	if pad := nbits % 8; pad != 0 && br.buf[br.start+used-1]&(0xff>>pad) != 0 {
		return false, malformed("block at offset %d: padding bits are not zero", off)
	}
	br.start += used
	br.count[sec] += n
	br.prev = br.keys[n-1]
	br.started = true
	br.n, br.i = int(n), 0
	return true, nil
}

// decode reads the bit stream of a block that starts at br.start into the
// item arrays and returns its length in bits. Reads may run past the data
// into the guard; the caller checks the length.
func (br *BodyReader) decode(n int, first uint64, k uint, tmin int64, tw, rw uint, susp bool, sw uint) (uint64, error) {
	buf := br.buf[br.start:]
	var pos uint64
	// peek returns the 64 bits at pos.
	peek := func(pos uint64) uint64 {
		i := pos >> 3
		s := pos & 7
		return binary.BigEndian.Uint64(buf[i:])<<s | uint64(buf[i+8])>>(8-s)
	}
	keys := br.keys[:n]
	keys[0] = first
	prev := first
	for j := 1; j < n; j++ {
		v := peek(pos)
		q := uint64(bits.LeadingZeros64(^v))
		var g uint64
		if q >= riceEscape {
			g = peek(pos + riceEscape)
			pos += maxGapBits
		} else {
			if k > 0 && q>>(64-k) != 0 {
				return 0, malformed("key gap overflows 64 bits")
			}
			r := (v << (q + 1)) >> (64 - k)
			if q+1+uint64(k) > 64 {
				r = peek(pos+q+1) >> (64 - k)
			}
			g = q<<k | r
			pos += q + 1 + uint64(k)
		}
		if g >= math.MaxUint64-prev {
			return 0, malformed("key gap overflows 64 bits")
		}
		prev += g + 1
		keys[j] = prev
	}
	if br.section == 1 {
		return pos, nil
	}
	times := br.times[:n]
	if tw == 0 {
		for j := range times {
			times[j] = tmin
		}
	} else {
		maxOff := uint64(math.MaxInt64) - uint64(tmin)
		for j := range times {
			d := peek(pos) >> (64 - tw)
			pos += uint64(tw)
			if d > maxOff {
				return 0, malformed("revoked-at time overflows")
			}
			times[j] = int64(uint64(tmin) + d)
		}
	}
	reasons := br.reason[:n]
	if rw == 0 {
		clear(reasons)
	} else {
		for j := range reasons {
			r := peek(pos) >> (64 - rw)
			pos += uint64(rw)
			if r > uint64(crl.MaxReason) {
				return 0, malformed("reason code %d is above %d", r, crl.MaxReason)
			}
			reasons[j] = uint8(r)
		}
	}
	until := br.until[:n]
	clear(until)
	if susp {
		for j := range until {
			v := peek(pos)
			pos++
			if v>>63 == 0 {
				continue
			}
			d := (v << 1) >> (64 - sw)
			if sw > 63 {
				d = peek(pos) >> (64 - sw)
			}
			pos += uint64(sw)
			t := times[j]
			if d >= uint64(math.MaxInt64)-uint64(t) {
				return 0, malformed("suspension end overflows")
			}
			u := int64(uint64(t) + d + 1)
			if u == 0 {
				return 0, malformed("suspension ends at time 0, which means no suspension")
			}
			until[j] = u
		}
	}
	return pos, nil
}

// fail turns a decoding fault into the error Next reports. The rest of the
// body is read and hashed (at most the header's body length), so that a
// body that is not the signed one reports ErrDigestMismatch and only a
// signed body that breaks the format reports ErrMalformed.
func (br *BodyReader) fail(err error) error {
	var ioe ioError
	if errors.As(err, &ioe) {
		return ioe.error
	}
	if derr := br.drain(); derr != nil {
		return derr
	}
	if mismatch := br.check(); mismatch != nil {
		return fmt.Errorf("%w (and the body does not decode: %v)", mismatch, err)
	}
	return err
}

// drain reads the rest of the body into the digest.
func (br *BodyReader) drain() error {
	for br.pulled < br.hdr.BodyLength && !br.short {
		br.start, br.end = 0, 0
		if err := br.fill(len(br.buf) - guard); err != nil {
			return err
		}
	}
	br.start, br.end = 0, 0
	return nil
}

// check compares the body read so far with the header's length and digest.
func (br *BodyReader) check() error {
	if br.pulled != br.hdr.BodyLength {
		return fmt.Errorf("%w: body is cut short at %d of %d bytes", ErrDigestMismatch, br.pulled, br.hdr.BodyLength)
	}
	var d Digest
	br.h.Sum(d[:0])
	if d != br.hdr.BodyDigest {
		return fmt.Errorf("%w: body digest is %v, the header says %v", ErrDigestMismatch, d, br.hdr.BodyDigest)
	}
	return nil
}

// finish runs after the last section: the body must end there, match the
// header, and nothing may follow it.
func (br *BodyReader) finish() error {
	if br.end > br.start || (br.pulled < br.hdr.BodyLength && !br.short) {
		return br.fail(malformed("%d bytes follow the last section of the body", br.hdr.BodyLength-br.offset()))
	}
	if err := br.check(); err != nil {
		return err
	}
	var one [1]byte
	m, err := io.ReadFull(br.r, one[:])
	if m > 0 {
		return malformed("data follows the %d-byte body", br.hdr.BodyLength)
	}
	if err != io.EOF {
		return fmt.Errorf("snapshot: reading past the body: %w", err)
	}
	return nil
}
