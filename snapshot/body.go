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
	// MaxBlock is the largest number of items in one block.
	MaxBlock = 4096
	// riceEscape is the quotient from which a gap is written raw.
	riceEscape = 24
	// maxGapBits is the longest code of one gap: the escape.
	maxGapBits = riceEscape + 64
	// minBodyLength is the shortest body: two empty sections.
	minBodyLength = 2
	// maxReasonWidth is the widest reason field (codes are below 16).
	maxReasonWidth = 4
	// flagSuspensions marks an entry block that carries suspension ends.
	flagSuspensions = 1
)

// BodyInfo describes a body a [BodyWriter] wrote: the header fields
// body_length, body_digest, upserts and removals.
type BodyInfo struct {
	Length   int64
	Digest   Digest
	Upserts  uint64
	Removals uint64
}

// BodyWriter encodes a snapshot body as it is given, holding at most one
// block of items. Upserts come first in increasing key order, then
// removals in increasing key order; Close ends the body. A full snapshot
// has only upserts.
//
// Encoding is canonical: the same items always give the same bytes. So a
// BodyWriter fed a whole list and writing to io.Discard yields the list's
// digest ([Header.ListDigest]).
type BodyWriter struct {
	w   io.Writer
	h   hash.Hash
	n   int64
	err error

	entries  []crl.Entry
	removals []crl.Key
	last     crl.Key
	haveLast bool
	removing bool
	closed   bool
	info     BodyInfo

	out  []byte
	gaps []uint64
}

// NewBodyWriter returns a BodyWriter writing to w.
func NewBodyWriter(w io.Writer) *BodyWriter {
	return &BodyWriter{w: w, h: sha256.New()}
}

// Upsert adds an entry to the list. Keys must strictly increase; the
// reason must be at most [crl.MaxReason]; a suspension must end after it
// starts. Upsert cannot follow Remove.
func (w *BodyWriter) Upsert(e crl.Entry) error {
	if w.err != nil {
		return w.err
	}
	switch {
	case w.closed:
		return errors.New("snapshot: Upsert after Close")
	case w.removing:
		return errors.New("snapshot: Upsert after Remove (upserts come first)")
	case w.haveLast && e.Key <= w.last:
		return fmt.Errorf("snapshot: upsert key %v is not above the previous key %v", e.Key, w.last)
	case e.Reason > crl.MaxReason:
		return fmt.Errorf("snapshot: entry %v: reason code %d is above %d", e.Key, e.Reason, crl.MaxReason)
	case e.SuspendedUntil != 0 && e.SuspendedUntil <= e.RevokedAt:
		return fmt.Errorf("snapshot: entry %v: suspension ends (%d) before it starts (%d)", e.Key, e.SuspendedUntil, e.RevokedAt)
	}
	w.last, w.haveLast = e.Key, true
	if w.entries == nil {
		w.entries = make([]crl.Entry, 0, MaxBlock)
	}
	w.entries = append(w.entries, e)
	w.info.Upserts++
	if len(w.entries) == MaxBlock {
		return w.flushEntries()
	}
	return nil
}

// Remove records that the key is no longer in the list (a delta only).
// Keys must strictly increase among removals, and a key must not also be
// upserted in the same body.
func (w *BodyWriter) Remove(k crl.Key) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return errors.New("snapshot: Remove after Close")
	}
	if !w.removing {
		if err := w.endEntries(); err != nil {
			return err
		}
		w.removing, w.haveLast = true, false
	}
	if w.haveLast && k <= w.last {
		return fmt.Errorf("snapshot: removed key %v is not above the previous key %v", k, w.last)
	}
	w.last, w.haveLast = k, true
	if w.removals == nil {
		w.removals = make([]crl.Key, 0, MaxBlock)
	}
	w.removals = append(w.removals, k)
	w.info.Removals++
	if len(w.removals) == MaxBlock {
		return w.flushRemovals()
	}
	return nil
}

// Close ends the body and returns its length, digest and counts. It does
// not close the underlying writer.
func (w *BodyWriter) Close() (BodyInfo, error) {
	if w.err != nil {
		return BodyInfo{}, w.err
	}
	if w.closed {
		return w.info, nil
	}
	if !w.removing {
		if err := w.endEntries(); err != nil {
			return BodyInfo{}, err
		}
		w.removing = true
	}
	if err := w.flushRemovals(); err != nil {
		return BodyInfo{}, err
	}
	if err := w.write([]byte{0}); err != nil {
		return BodyInfo{}, err
	}
	w.closed = true
	w.info.Length = w.n
	copy(w.info.Digest[:], w.h.Sum(nil))
	return w.info, nil
}

func (w *BodyWriter) endEntries() error {
	if err := w.flushEntries(); err != nil {
		return err
	}
	return w.write([]byte{0})
}

func (w *BodyWriter) write(b []byte) error {
	if _, err := w.w.Write(b); err != nil {
		w.err = fmt.Errorf("snapshot: writing body: %w", err)
		return w.err
	}
	w.h.Write(b)
	w.n += int64(len(b))
	return nil
}

// flushEntries encodes the buffered entries as one entry block.
func (w *BodyWriter) flushEntries() error {
	es := w.entries
	if len(es) == 0 {
		return nil
	}
	w.gaps = w.gaps[:0]
	tmin, tmax := es[0].RevokedAt, es[0].RevokedAt
	var rmax crl.Reason
	var smax uint64
	susp := false
	for i, e := range es {
		if i > 0 {
			w.gaps = append(w.gaps, uint64(e.Key-es[i-1].Key)-1)
		}
		tmin, tmax = min(tmin, e.RevokedAt), max(tmax, e.RevokedAt)
		rmax = max(rmax, e.Reason)
		if e.SuspendedUntil != 0 {
			susp = true
			smax = max(smax, uint64(e.SuspendedUntil)-uint64(e.RevokedAt)-1)
		}
	}
	k := riceParameter(w.gaps)
	tw := uint(bits.Len64(uint64(tmax) - uint64(tmin)))
	rw := uint(bits.Len8(uint8(rmax)))
	b := w.out[:0]
	b = binary.AppendUvarint(b, uint64(len(es)))
	b = binary.BigEndian.AppendUint64(b, uint64(es[0].Key))
	b = append(b, byte(k))
	b = binary.AppendVarint(b, tmin)
	b = append(b, byte(tw), byte(rw))
	sw := uint(0)
	if susp {
		sw = uint(bits.Len64(smax))
		b = append(b, flagSuspensions, byte(sw))
	} else {
		b = append(b, 0)
	}
	bw := bitWriter{buf: b}
	for _, g := range w.gaps {
		bw.rice(g, k)
	}
	for _, e := range es {
		bw.write(uint64(e.RevokedAt)-uint64(tmin), tw)
	}
	for _, e := range es {
		bw.write(uint64(e.Reason), rw)
	}
	if susp {
		for _, e := range es {
			if e.SuspendedUntil == 0 {
				bw.write(0, 1)
			} else {
				bw.write(1, 1)
				bw.write(uint64(e.SuspendedUntil)-uint64(e.RevokedAt)-1, sw)
			}
		}
	}
	w.out = bw.finish()
	w.entries = w.entries[:0]
	return w.write(w.out)
}

// flushRemovals encodes the buffered removals as one key block.
func (w *BodyWriter) flushRemovals() error {
	ks := w.removals
	if len(ks) == 0 {
		return nil
	}
	w.gaps = w.gaps[:0]
	for i := 1; i < len(ks); i++ {
		w.gaps = append(w.gaps, uint64(ks[i]-ks[i-1])-1)
	}
	k := riceParameter(w.gaps)
	b := w.out[:0]
	b = binary.AppendUvarint(b, uint64(len(ks)))
	b = binary.BigEndian.AppendUint64(b, uint64(ks[0]))
	b = append(b, byte(k))
	bw := bitWriter{buf: b}
	for _, g := range w.gaps {
		bw.rice(g, k)
	}
	w.out = bw.finish()
	w.removals = w.removals[:0]
	return w.write(w.out)
}

// riceCost is the length in bits of gap g Rice-coded with parameter k.
func riceCost(g uint64, k uint) uint64 {
	if q := g >> k; q < riceEscape {
		return q + 1 + uint64(k)
	}
	return maxGapBits
}

// riceParameter returns the k in 0..63 that codes gaps in the fewest bits,
// the smallest such k on a tie. For a gap of bit length l, every k <= l-6
// gives a quotient of at least 32 (an escape) and every k >= l a quotient
// of 0, so only five values of k need the gap itself.
func riceParameter(gaps []uint64) uint {
	var cost [64]uint64
	var escapes, zeros [65]int64 // difference arrays over k
	for _, g := range gaps {
		l := bits.Len64(g)
		lo := max(0, l-5)
		if lo > 0 {
			escapes[0]++
			escapes[lo]--
		}
		for k := lo; k < l && k < 64; k++ {
			cost[k] += riceCost(g, uint(k))
		}
		if l < 64 {
			zeros[l]++
		}
	}
	best, bestK := uint64(math.MaxUint64), uint(0)
	var e, z int64
	for k := 0; k < 64; k++ {
		e += escapes[k]
		z += zeros[k]
		c := cost[k] + uint64(e)*maxGapBits + uint64(z)*uint64(1+k)
		if c < best {
			best, bestK = c, uint(k)
		}
	}
	return bestK
}

// bitWriter appends bits most significant first, through a 64-bit
// accumulator whose top n bits are pending.
type bitWriter struct {
	buf []byte
	acc uint64
	n   uint
}

// write appends the low w bits of v (w <= 64; v < 2^w).
func (bw *bitWriter) write(v uint64, w uint) {
	if w == 0 {
		return
	}
	free := 64 - bw.n
	if w < free {
		bw.acc |= v << (free - w)
		bw.n += w
		return
	}
	rest := w - free
	bw.acc |= v >> rest
	bw.buf = binary.BigEndian.AppendUint64(bw.buf, bw.acc)
	if rest == 0 {
		bw.acc, bw.n = 0, 0
		return
	}
	bw.acc, bw.n = v<<(64-rest), rest
}

// rice appends gap g Rice-coded with parameter k, or escaped.
func (bw *bitWriter) rice(g uint64, k uint) {
	q := g >> k
	if q >= riceEscape {
		bw.write(1<<riceEscape-1, riceEscape)
		bw.write(g, 64)
		return
	}
	bw.write((1<<q-1)<<1, uint(q)+1)
	bw.write(g&(1<<k-1), k)
}

// finish pads the pending bits with zeros to a byte boundary and returns
// the bytes.
func (bw *bitWriter) finish() []byte {
	for i := uint(0); i < bw.n; i += 8 {
		bw.buf = append(bw.buf, byte(bw.acc>>(56-i)))
	}
	bw.acc, bw.n = 0, 0
	return bw.buf
}
