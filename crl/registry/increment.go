package registry

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"github.com/crlverify/crlverify/crl"
)

// An increment is the audit records of a stretch of the trail with
// everything needed to apply them: the package documentation ("Backups")
// specifies it. Frames are a type byte, a uvarint length and that many
// bytes.
const (
	incrementMagic = "crlverify-increment-v1\n"

	frameRecord      = 'R'
	frameItem        = 'I'
	framePublication = 'P'
	frameEnd         = 'E'

	// Bounds of one frame's bytes.
	maxRecordFrame      = 16 << 10
	maxItemFrame        = 4 << 10
	maxPublicationFrame = 4 << 10
)

// ErrBackup: a backup or increment is not what its manifest says, or does
// not follow the format: truncated, altered, out of order, or not chained
// to the backup before it.
var ErrBackup = errors.New("registry: backup refused")

func backupErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBackup, fmt.Sprintf(format, args...))
}

// incrementWriter writes an increment.
type incrementWriter struct {
	w       *bufio.Writer
	records uint64
	items   uint64
}

func newIncrementWriter(w io.Writer) (*incrementWriter, error) {
	iw := &incrementWriter{w: bufio.NewWriterSize(w, 256<<10)}
	_, err := iw.w.WriteString(incrementMagic)
	return iw, err
}

func (iw *incrementWriter) frame(typ byte, b []byte) error {
	iw.w.WriteByte(typ)
	var n [binary.MaxVarintLen64]byte
	iw.w.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))])
	_, err := iw.w.Write(b)
	return err
}

func (iw *incrementWriter) record(rec *AuditRecord) error {
	iw.records++
	return iw.frame(frameRecord, rec.Canonical())
}

func (iw *incrementWriter) item(canonical []byte) error {
	iw.items++
	return iw.frame(frameItem, canonical)
}

func (iw *incrementWriter) publication(p *Published) error {
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return iw.frame(framePublication, b)
}

func (iw *incrementWriter) end() error {
	if err := iw.frame(frameEnd, nil); err != nil {
		return err
	}
	return iw.w.Flush()
}

// incrementReader reads an increment, checking the format and the chain
// as it goes: each record's sequence number follows the one before, its
// prev_hash is the hash before, its items hash to its items root.
type incrementReader struct {
	r    *bufio.Reader
	head auditHead // the last record read (the base before the first)
	buf  []byte
	done bool
}

func newIncrementReader(r io.Reader, base auditHead) (*incrementReader, error) {
	ir := &incrementReader{r: bufio.NewReaderSize(r, 256<<10), head: base}
	m := make([]byte, len(incrementMagic))
	if _, err := io.ReadFull(ir.r, m); err != nil || string(m) != incrementMagic {
		return nil, backupErr("not an increment (it does not start %q)", incrementMagic[:len(incrementMagic)-1])
	}
	return ir, nil
}

func (ir *incrementReader) frame() (byte, []byte, error) {
	typ, err := ir.r.ReadByte()
	if err != nil {
		return 0, nil, backupErr("increment cut short")
	}
	n, err := binary.ReadUvarint(ir.r)
	if err != nil {
		return 0, nil, backupErr("increment cut short")
	}
	limit := map[byte]uint64{frameRecord: maxRecordFrame, frameItem: maxItemFrame, framePublication: maxPublicationFrame, frameEnd: 0}
	max, ok := limit[typ]
	if !ok {
		return 0, nil, backupErr("unknown frame type %q", typ)
	}
	if n > max {
		return 0, nil, backupErr("frame %q of %d bytes (at most %d)", typ, n, max)
	}
	if uint64(cap(ir.buf)) < n {
		ir.buf = make([]byte, n)
	}
	b := ir.buf[:n]
	if _, err := io.ReadFull(ir.r, b); err != nil {
		return 0, nil, backupErr("increment cut short")
	}
	return typ, b, nil
}

// nextRecord returns the next record, checked against the chain, or
// io.EOF after the end frame. The caller then reads its items with
// items, before the next record.
func (ir *incrementReader) nextRecord() (*AuditRecord, error) {
	if ir.done {
		return nil, io.EOF
	}
	typ, b, err := ir.frame()
	if err != nil {
		return nil, err
	}
	if typ == frameEnd {
		ir.done = true
		if _, err := ir.r.ReadByte(); err != io.EOF {
			return nil, backupErr("data after the end of the increment")
		}
		return nil, io.EOF
	}
	if typ != frameRecord {
		return nil, backupErr("frame %q where a record was expected", typ)
	}
	rec, err := decodeCanonicalRecord(b)
	if err != nil {
		return nil, err
	}
	if rec.Seq != ir.head.seq+1 {
		return nil, backupErr("record %d follows record %d", rec.Seq, ir.head.seq)
	}
	if rec.PrevHash != ir.head.hash {
		return nil, backupErr("record %d is not chained to the record before it", rec.Seq)
	}
	ir.head = auditHead{seq: rec.Seq, hash: rec.Hash}
	return &rec, nil
}

// items reads the items of rec, calling fn for each with its canonical
// encoding, and checks that they hash to its items root; for a
// publication it then reads and returns the serial it published.
func (ir *incrementReader) items(rec *AuditRecord, fn func(*AuditItem, []byte) error) (*Published, error) {
	var m merkle
	for range rec.ItemCount {
		typ, b, err := ir.frame()
		if err != nil {
			return nil, err
		}
		if typ != frameItem {
			return nil, backupErr("record %d: frame %q where an item was expected", rec.Seq, typ)
		}
		it, err := decodeCanonicalItem(b)
		if err != nil {
			return nil, fmt.Errorf("record %d: %w", rec.Seq, err)
		}
		m.add(b)
		if err := fn(&it, b); err != nil {
			return nil, err
		}
	}
	if m.root() != rec.ItemsRoot {
		return nil, backupErr("record %d: its items do not hash to its items root", rec.Seq)
	}
	if rec.Action != ActionPublish {
		return nil, nil
	}
	typ, b, err := ir.frame()
	if err != nil {
		return nil, err
	}
	if typ != framePublication {
		return nil, backupErr("record %d: frame %q where its publication was expected", rec.Seq, typ)
	}
	var p Published
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, backupErr("record %d: publication: %v", rec.Seq, err)
	}
	if p.Serial != rec.Serial || p.ListDigest != "sha256:"+rec.ListDigest.String() {
		return nil, backupErr("record %d: its publication is not serial %d", rec.Seq, rec.Serial)
	}
	return &p, nil
}

// canonReader reads the canonical encodings of records and items.
type canonReader struct {
	b   []byte
	bad bool
}

func (c *canonReader) take(n int) []byte {
	if c.bad || n < 0 || n > len(c.b) {
		c.bad = true
		return nil
	}
	v := c.b[:n]
	c.b = c.b[n:]
	return v
}

func (c *canonReader) u8() byte {
	b := c.take(1)
	if b == nil {
		return 0
	}
	return b[0]
}

func (c *canonReader) u32() uint32 {
	b := c.take(4)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint32(b)
}

func (c *canonReader) u64() uint64 {
	b := c.take(8)
	if b == nil {
		return 0
	}
	return binary.BigEndian.Uint64(b)
}

func (c *canonReader) str(max int) string {
	n := c.u32()
	if int64(n) > int64(max) {
		c.bad = true
		return ""
	}
	s := string(c.take(int(n)))
	if !utf8.ValidString(s) {
		c.bad = true
	}
	return s
}

func (c *canonReader) hash() Hash {
	var h Hash
	copy(h[:], c.take(32))
	return h
}

func (c *canonReader) time() time.Time {
	s := int64(c.u64())
	if s < 0 || s > MaxTime {
		c.bad = true
	}
	return fromUnix(s)
}

// decodeCanonicalRecord reads a record's canonical encoding; the record's
// Hash is computed from it.
func decodeCanonicalRecord(b []byte) (AuditRecord, error) {
	var a AuditRecord
	c := canonReader{b: b}
	if string(c.take(len(auditMagic))) != auditMagic {
		return a, backupErr("record does not start %q", auditMagic)
	}
	a.Seq = c.u64()
	a.Time = c.time()
	a.Action = Action(c.u8())
	a.Actor = c.str(MaxNameBytes)
	a.Reason = crl.Reason(c.u8())
	a.Note = c.str(MaxNoteBytes)
	a.Source = c.str(MaxNameBytes)
	a.Issuer = c.str(MaxIssuerBytes)
	a.CertificateID = c.str(MaxIDBytes)
	a.BeneficiaryID = c.str(MaxNameBytes)
	n := c.u32()
	if n > MaxDose {
		c.bad, n = true, 0
	}
	for range n {
		d := c.u32()
		if d > MaxDose {
			c.bad = true
		}
		a.Doses = append(a.Doses, int(d))
	}
	switch c.u8() {
	case 0:
	case 1:
		a.AllDoses = true
	default:
		c.bad = true
	}
	a.Batch = c.str(MaxNameBytes)
	a.ReplacedBy = c.str(MaxIDBytes)
	a.At = c.time()
	a.Until = c.time()
	a.Serial = c.u64()
	a.ListDigest = c.hash()
	a.ItemCount = c.u64()
	a.ItemsRoot = c.hash()
	a.PrevHash = c.hash()
	if _, ok := actionNames[a.Action]; !ok || c.bad || len(c.b) != 0 || a.Seq == 0 || a.Reason > crl.MaxReason {
		return a, backupErr("record %d does not decode", a.Seq)
	}
	a.Hash = a.ComputeHash()
	return a, nil
}

// decodeCanonicalItem reads an item's canonical encoding.
func decodeCanonicalItem(b []byte) (AuditItem, error) {
	var it AuditItem
	c := canonReader{b: b}
	switch c.u8() {
	case itemRevocation:
		it.Kind = "revocation"
		it.Issuer = c.str(MaxIssuerBytes)
		it.CertificateID = c.str(MaxIDBytes)
		it.Status = Status(c.u8())
		it.Reason = crl.Reason(c.u8())
		it.RevokedAt = c.time()
		it.SuspendedUntil = c.time()
		it.SupersededBy = c.str(MaxIDBytes)
		if it.Status < StatusRevoked || it.Status > StatusLifted || it.RevokedAt.IsZero() {
			c.bad = true
		}
	case itemCertificate:
		it.Kind = "certificate"
		it.Issuer = c.str(MaxIssuerBytes)
		it.CertificateID = c.str(MaxIDBytes)
		it.BeneficiaryID = c.str(MaxNameBytes)
		d := c.u32()
		if d > MaxDose {
			c.bad = true
		}
		it.Dose = int(d)
		it.Batch = c.str(MaxNameBytes)
		it.IssuedAt = c.time()
		it.ValidUntil = c.time()
		it.PreviousCertificateID = c.str(MaxIDBytes)
	case itemCarried:
		it.Kind = "carried"
		it.ListKey = fmt.Sprintf("%016x", c.u64())
		it.Reason = crl.Reason(c.u8())
		it.RevokedAt = c.time()
		it.SuspendedUntil = c.time()
		it.Status = StatusRevoked
		if !it.SuspendedUntil.IsZero() {
			it.Status = StatusSuspended
		}
		if it.RevokedAt.IsZero() {
			c.bad = true
		}
	default:
		c.bad = true
	}
	if c.bad || len(c.b) != 0 || it.Reason > crl.MaxReason || (it.Kind != "carried" && (it.Issuer == "" || it.CertificateID == "")) {
		return it, backupErr("item does not decode")
	}
	return it, nil
}
