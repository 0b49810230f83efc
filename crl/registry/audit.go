package registry

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/crlverify/crlverify/crl"
)

// Action names what an audit record records.
type Action uint8

// The audited actions; the code is part of the record's canonical
// encoding.
const (
	// ActionImport: issued certificates were imported (and the ones they
	// correct revoked, in the record that follows).
	ActionImport Action = 1
	// ActionRevoke: certificates were revoked.
	ActionRevoke Action = 2
	// ActionSuspend: certificates were suspended.
	ActionSuspend Action = 3
	// ActionLift: revocations or suspensions were lifted.
	ActionLift Action = 4
	// ActionAddIssuer: the registry started covering an issuer.
	ActionAddIssuer Action = 5
	// ActionPublish: a serial was published.
	ActionPublish Action = 6
	// ActionCarry: the entries of a publication the registry did not make
	// were carried into it (see [Registry.CarryForward]).
	ActionCarry Action = 7
)

var actionNames = map[Action]string{
	ActionImport:    "import",
	ActionRevoke:    "revoke",
	ActionSuspend:   "suspend",
	ActionLift:      "lift",
	ActionAddIssuer: "add-issuer",
	ActionPublish:   "publish",
	ActionCarry:     "carry-forward",
}

// String returns the action's name.
func (a Action) String() string {
	if s, ok := actionNames[a]; ok {
		return s
	}
	return fmt.Sprintf("action(%d)", uint8(a))
}

// MarshalText encodes a as its name.
func (a Action) MarshalText() ([]byte, error) { return []byte(a.String()), nil }

// UnmarshalText accepts an action's name.
func (a *Action) UnmarshalText(b []byte) error {
	v, err := ParseAction(string(b))
	if err != nil {
		return err
	}
	*a = v
	return nil
}

// ParseAction returns the action named s.
func ParseAction(s string) (Action, error) {
	for a, name := range actionNames {
		if name == s {
			return a, nil
		}
	}
	return 0, fmt.Errorf("unknown action %q (want import, revoke, suspend, lift, add-issuer, publish or carry-forward)", s)
}

// Hash is a SHA-256 value; it prints as 64 hex digits.
type Hash [32]byte

// MarshalText encodes h in hex.
func (h Hash) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(h[:])), nil }

// UnmarshalText decodes 64 hex digits.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("hash %q: want 64 hex digits", b)
	}
	_, err := hex.Decode(h[:], b)
	return err
}

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// AuditRecord is one record of the hash-chained audit trail. The package
// documentation specifies its canonical encoding and the chain.
type AuditRecord struct {
	Seq    uint64     `json:"seq"`
	Time   time.Time  `json:"time"`
	Action Action     `json:"action"`
	Actor  string     `json:"actor"`
	Reason crl.Reason `json:"reason"`
	Note   string     `json:"note,omitempty"`
	// Source names the input of an import (a file name, "stdin").
	Source string `json:"source,omitempty"`
	// The request's selector, as given.
	Issuer        string `json:"issuer,omitempty"`
	CertificateID string `json:"certificate_id,omitempty"`
	BeneficiaryID string `json:"beneficiary_id,omitempty"`
	Doses         []int  `json:"doses,omitempty"`
	AllDoses      bool   `json:"all_doses,omitempty"`
	Batch         string `json:"batch,omitempty"`
	ReplacedBy    string `json:"replaced_by,omitempty"`
	// At and Until are the times the request gave.
	At    time.Time `json:"at,omitzero"`
	Until time.Time `json:"until,omitzero"`
	// Serial and ListDigest are those of a publication.
	Serial     uint64 `json:"serial,omitempty"`
	ListDigest Hash   `json:"list_digest,omitzero"`
	// ItemCount and ItemsRoot describe what changed: the RFC 6962 Merkle
	// tree hash of the record's items (see AuditItem).
	ItemCount uint64 `json:"item_count"`
	ItemsRoot Hash   `json:"items_root"`
	PrevHash  Hash   `json:"prev_hash"`
	Hash      Hash   `json:"hash"`
}

// AuditItem is one certificate an audit record changed: for an import,
// the certificate imported; otherwise the certificate's revocation record
// after the change.
type AuditItem struct {
	Kind          string `json:"kind"` // "certificate", "revocation" or "carried"
	Issuer        string `json:"issuer,omitempty"`
	CertificateID string `json:"certificate_id,omitempty"`
	// ListKey is a carried entry's list key (crl.Key), 16 hex digits: its
	// certificate's issuer and id are not known.
	ListKey string `json:"list_key,omitempty"`
	// Revocation items.
	Status         Status     `json:"status,omitempty"`
	Reason         crl.Reason `json:"reason,omitempty"`
	RevokedAt      time.Time  `json:"revoked_at,omitzero"`
	SuspendedUntil time.Time  `json:"suspended_until,omitzero"`
	SupersededBy   string     `json:"superseded_by,omitempty"`
	// Certificate items.
	BeneficiaryID         string    `json:"beneficiary_id,omitempty"`
	Dose                  int       `json:"dose,omitempty"`
	Batch                 string    `json:"batch,omitempty"`
	IssuedAt              time.Time `json:"issued_at,omitzero"`
	ValidUntil            time.Time `json:"valid_until,omitzero"`
	PreviousCertificateID string    `json:"previous_certificate_id,omitempty"`
}

// Item kinds in the canonical encoding.
const (
	itemRevocation  = 1
	itemCertificate = 2
)

// auditMagic starts every canonical record encoding.
const auditMagic = "crlverify-audit-v1"

// canonical encoding helpers: big-endian integers, strings as a u32
// length and the bytes.
func cU8(b []byte, v byte) []byte    { return append(b, v) }
func cU32(b []byte, v uint32) []byte { return binary.BigEndian.AppendUint32(b, v) }
func cU64(b []byte, v uint64) []byte { return binary.BigEndian.AppendUint64(b, v) }
func cI64(b []byte, v int64) []byte  { return binary.BigEndian.AppendUint64(b, uint64(v)) }
func cStr(b []byte, s string) []byte { return append(cU32(b, uint32(len(s))), s...) }

// Canonical returns the record's canonical encoding, the input of its
// hash.
func (a *AuditRecord) Canonical() []byte {
	b := make([]byte, 0, 256+len(a.Note))
	b = append(b, auditMagic...)
	b = cU64(b, a.Seq)
	b = cI64(b, unix(a.Time))
	b = cU8(b, byte(a.Action))
	b = cStr(b, a.Actor)
	b = cU8(b, byte(a.Reason))
	b = cStr(b, a.Note)
	b = cStr(b, a.Source)
	b = cStr(b, a.Issuer)
	b = cStr(b, a.CertificateID)
	b = cStr(b, a.BeneficiaryID)
	b = cU32(b, uint32(len(a.Doses)))
	for _, d := range a.Doses {
		b = cU32(b, uint32(d))
	}
	if a.AllDoses {
		b = cU8(b, 1)
	} else {
		b = cU8(b, 0)
	}
	b = cStr(b, a.Batch)
	b = cStr(b, a.ReplacedBy)
	b = cI64(b, unix(a.At))
	b = cI64(b, unix(a.Until))
	b = cU64(b, a.Serial)
	b = append(b, a.ListDigest[:]...)
	b = cU64(b, a.ItemCount)
	b = append(b, a.ItemsRoot[:]...)
	return append(b, a.PrevHash[:]...)
}

// ComputeHash returns SHA-256 of the canonical encoding.
func (a *AuditRecord) ComputeHash() Hash { return sha256.Sum256(a.Canonical()) }

// Canonical returns the item's canonical encoding, a leaf of its record's
// items tree.
func (it *AuditItem) Canonical() []byte {
	b := make([]byte, 0, 64+len(it.CertificateID)+len(it.Issuer))
	if it.Kind == "carried" {
		b = cU8(b, itemCarried)
		b = cU64(b, parseListKey(it.ListKey))
		b = cU8(b, byte(it.Reason))
		b = cI64(b, unix(it.RevokedAt))
		return cI64(b, unix(it.SuspendedUntil))
	}
	if it.Kind == "certificate" {
		b = cU8(b, itemCertificate)
		b = cStr(b, it.Issuer)
		b = cStr(b, it.CertificateID)
		b = cStr(b, it.BeneficiaryID)
		b = cU32(b, uint32(it.Dose))
		b = cStr(b, it.Batch)
		b = cI64(b, unix(it.IssuedAt))
		b = cI64(b, unix(it.ValidUntil))
		return cStr(b, it.PreviousCertificateID)
	}
	b = cU8(b, itemRevocation)
	b = cStr(b, it.Issuer)
	b = cStr(b, it.CertificateID)
	b = cU8(b, byte(it.Status))
	b = cU8(b, byte(it.Reason))
	b = cI64(b, unix(it.RevokedAt))
	b = cI64(b, unix(it.SuspendedUntil))
	return cStr(b, it.SupersededBy)
}

// merkle computes the RFC 6962 Merkle tree hash of a sequence of leaves
// as they come, keeping one hash per level.
type merkle struct {
	Hashes []Hash   `json:"h,omitempty"`
	Sizes  []uint64 `json:"s,omitempty"`
	N      uint64   `json:"n"`
}

func (m *merkle) add(leaf []byte) {
	h := sha256.New()
	h.Write([]byte{0})
	h.Write(leaf)
	var x Hash
	h.Sum(x[:0])
	m.addLeafHash(x)
}

// addLeafHash adds a leaf by its hash, SHA-256(0x00 || leaf).
func (m *merkle) addLeafHash(x Hash) {
	m.Hashes = append(m.Hashes, x)
	m.Sizes = append(m.Sizes, 1)
	m.N++
	for n := len(m.Sizes); n >= 2 && m.Sizes[n-1] == m.Sizes[n-2]; n = len(m.Sizes) {
		m.Hashes[n-2] = nodeHash(m.Hashes[n-2], m.Hashes[n-1])
		m.Sizes[n-2] *= 2
		m.Hashes, m.Sizes = m.Hashes[:n-1], m.Sizes[:n-1]
	}
}

func nodeHash(l, r Hash) Hash {
	var b [65]byte
	b[0] = 1
	copy(b[1:], l[:])
	copy(b[33:], r[:])
	return sha256.Sum256(b[:])
}

// root returns the tree hash; SHA-256 of nothing for no leaves.
func (m *merkle) root() Hash {
	if m.N == 0 {
		return sha256.Sum256(nil)
	}
	h := m.Hashes[len(m.Hashes)-1]
	for i := len(m.Hashes) - 2; i >= 0; i-- {
		h = nodeHash(m.Hashes[i], h)
	}
	return h
}

// ItemsRoot returns the RFC 6962 Merkle tree hash of items, as an audit
// record holds it.
func ItemsRoot(items []AuditItem) Hash {
	var m merkle
	for i := range items {
		m.add(items[i].Canonical())
	}
	return m.root()
}

// auditItem is an item as stored in the items table (key: record sequence
// number (8 BE) || index (4 BE)); a revocation item's value is
//
//	byte    1
//	uvarint issuer number
//	uvarint n, n bytes: certificate id
//	the revocation record as in the state table, without the last-change
//	sequence number: status, reason, uvarint revoked-at, uvarint
//	suspended-until, uvarint n, n bytes: superseding id
//
// Certificate items are not stored: they are the certificates whose
// import sequence number is the record's, in list-key order.
type auditItem struct {
	issuerNo uint16
	id       string
	st       revState
	carried  *carriedEntry // a carry-forward's item; the fields above are zero
}

func stateItem(issuerNo uint16, id string, st *revState) auditItem {
	return auditItem{issuerNo: issuerNo, id: id, st: *st}
}

func (it *auditItem) encode() []byte {
	b := make([]byte, 0, 24+len(it.id)+len(it.st.SupersededBy))
	b = append(b, itemRevocation)
	b = binary.AppendUvarint(b, uint64(it.issuerNo))
	b = appendStr(b, it.id)
	b = append(b, byte(it.st.Status), byte(it.st.Reason))
	b = binary.AppendUvarint(b, uint64(it.st.RevokedAt))
	b = binary.AppendUvarint(b, uint64(it.st.Until))
	return appendStr(b, it.st.SupersededBy)
}

func decodeAuditItem(v []byte) (auditItem, error) {
	var it auditItem
	if len(v) > 0 && v[0] == itemCarried {
		c, err := decodeCarriedItem(v)
		if err != nil {
			return it, err
		}
		it.carried = &c
		return it, nil
	}
	d := decoder{b: v}
	if d.byte() != itemRevocation {
		return it, fmt.Errorf("%w: audit item", errCorrupt)
	}
	n := d.uvarint()
	it.id = d.str()
	it.st.Status = Status(d.byte())
	it.st.Reason = crl.Reason(d.byte())
	it.st.RevokedAt = int64(d.uvarint())
	it.st.Until = int64(d.uvarint())
	it.st.SupersededBy = d.str()
	if d.err != nil || len(d.b) != 0 || n == 0 || n > MaxIssuers || it.st.Status < StatusRevoked || it.st.Status > StatusLifted {
		return it, fmt.Errorf("%w: audit item", errCorrupt)
	}
	it.issuerNo = uint16(n)
	return it, nil
}

func (t *txc) publicItem(it *auditItem) (AuditItem, error) {
	if it.carried != nil {
		return carriedItem(it.carried), nil
	}
	issuer, err := t.iss.name(it.issuerNo)
	if err != nil {
		return AuditItem{}, err
	}
	return AuditItem{Kind: "revocation", Issuer: issuer, CertificateID: it.id, Status: it.st.Status, Reason: it.st.Reason,
		RevokedAt: fromUnix(it.st.RevokedAt), SuspendedUntil: fromUnix(it.st.Until), SupersededBy: it.st.SupersededBy}, nil
}

func (t *txc) certItem(c *certRec) (AuditItem, error) {
	issuer, err := t.iss.name(c.IssuerNo)
	if err != nil {
		return AuditItem{}, err
	}
	it := AuditItem{Kind: "certificate", Issuer: issuer, CertificateID: c.ID, BeneficiaryID: c.Beneficiary, Dose: c.Dose,
		IssuedAt: fromUnix(c.IssuedAt), ValidUntil: fromUnix(c.ValidUntil), PreviousCertificateID: c.Previous}
	if c.BatchNo != 0 {
		if it.Batch, err = batchName(t.tx, c.BatchNo); err != nil {
			return AuditItem{}, err
		}
	}
	return it, nil
}

func itemKey(seq uint64, idx uint32) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint64(b, seq)
	binary.BigEndian.PutUint32(b[8:], idx)
	return b
}

type auditHead struct {
	seq  uint64
	hash Hash
}

func (t *txc) auditHead() (auditHead, error) {
	if t.headRead {
		return t.head, nil
	}
	v := t.meta.Get(metaAuditHead)
	switch {
	case v == nil:
	case len(v) == 40:
		t.head.seq = binary.BigEndian.Uint64(v)
		copy(t.head.hash[:], v[8:])
	default:
		return auditHead{}, fmt.Errorf("%w: audit head", errCorrupt)
	}
	t.headRead = true
	return t.head, nil
}

// nextSeq is the sequence number the next audit record will get.
func (t *txc) nextSeq() uint64 {
	h, _ := t.auditHead()
	return h.seq + 1
}

// appendAudit appends a record with its (revocation) items: the record's
// sequence number, time, previous hash, item count, items root and hash
// are filled in.
func (t *txc) appendAudit(rec *AuditRecord, items []auditItem) (uint64, error) {
	head, err := t.auditHead()
	if err != nil {
		return 0, err
	}
	seq := head.seq + 1
	var m merkle
	muts := make([]mut, len(items))
	for i := range items {
		pi, err := t.publicItem(&items[i])
		if err != nil {
			return 0, err
		}
		m.add(pi.Canonical())
		muts[i] = mut{key: itemKey(seq, uint32(i)), val: items[i].encode()}
	}
	if _, _, err := t.items.apply(muts); err != nil {
		return 0, err
	}
	rec.ItemCount, rec.ItemsRoot = m.N, m.root()
	return seq, t.putRecord(rec)
}

// putRecord appends rec, whose items (count and root filled in) are
// already stored.
func (t *txc) putRecord(rec *AuditRecord) error {
	head, err := t.auditHead()
	if err != nil {
		return err
	}
	rec.Seq = head.seq + 1
	if rec.Time.IsZero() {
		rec.Time = t.now
	}
	rec.PrevHash = head.hash
	rec.Hash = rec.ComputeHash()
	if _, _, err := t.audit.apply([]mut{{key: u64(rec.Seq), val: encodeRecord(rec)}}); err != nil {
		return err
	}
	t.head = auditHead{seq: rec.Seq, hash: rec.Hash}
	t.headSet = true
	return nil
}

// A record's stored value:
//
//	32 bytes  its hash
//	uvarint time, byte action, str actor, byte reason, str note, str
//	source, str issuer, str certificate id, str beneficiary id, uvarint n
//	and n uvarint doses, byte all-doses, str batch, str replaced-by,
//	uvarint at, uvarint until, uvarint serial, str list digest, uvarint
//	item count, and the 32-byte items root when the count is above 1 or
//	the record is an import
//
// (str: uvarint length, bytes). The previous hash is the previous
// record's; a single item's root is computed from it.
func encodeRecord(a *AuditRecord) []byte {
	b := make([]byte, 0, 96+len(a.Note)+len(a.Actor)+len(a.CertificateID))
	b = append(b, a.Hash[:]...)
	b = binary.AppendUvarint(b, uint64(unix(a.Time)))
	b = append(b, byte(a.Action))
	b = appendStr(b, a.Actor)
	b = append(b, byte(a.Reason))
	b = appendStr(b, a.Note)
	b = appendStr(b, a.Source)
	b = appendStr(b, a.Issuer)
	b = appendStr(b, a.CertificateID)
	b = appendStr(b, a.BeneficiaryID)
	b = binary.AppendUvarint(b, uint64(len(a.Doses)))
	for _, d := range a.Doses {
		b = binary.AppendUvarint(b, uint64(d))
	}
	if a.AllDoses {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	b = appendStr(b, a.Batch)
	b = appendStr(b, a.ReplacedBy)
	b = binary.AppendUvarint(b, uint64(unix(a.At)))
	b = binary.AppendUvarint(b, uint64(unix(a.Until)))
	b = binary.AppendUvarint(b, a.Serial)
	if a.ListDigest != (Hash{}) {
		b = appendStr(b, string(a.ListDigest[:]))
	} else {
		b = appendStr(b, "")
	}
	b = binary.AppendUvarint(b, a.ItemCount)
	if storesRoot(a) {
		b = append(b, a.ItemsRoot[:]...)
	}
	return b
}

func storesRoot(a *AuditRecord) bool { return a.ItemCount > 1 || a.Action == ActionImport }

// decodeRecord decodes a stored record. The previous hash and, for a
// record with one item, the items root are not stored: the caller fills
// them in.
func decodeRecord(seq uint64, v []byte) (AuditRecord, error) {
	a := AuditRecord{Seq: seq}
	d := decoder{b: v}
	copy(a.Hash[:], d.bytes(32))
	a.Time = fromUnix(int64(d.uvarint()))
	a.Action = Action(d.byte())
	a.Actor = d.str()
	a.Reason = crl.Reason(d.byte())
	a.Note = d.str()
	a.Source = d.str()
	a.Issuer = d.str()
	a.CertificateID = d.str()
	a.BeneficiaryID = d.str()
	n := d.uvarint()
	if n > MaxDose {
		return a, fmt.Errorf("%w: audit record %d", errCorrupt, seq)
	}
	for range n {
		a.Doses = append(a.Doses, int(d.uvarint()))
	}
	a.AllDoses = d.byte() == 1
	a.Batch = d.str()
	a.ReplacedBy = d.str()
	a.At = fromUnix(int64(d.uvarint()))
	a.Until = fromUnix(int64(d.uvarint()))
	a.Serial = d.uvarint()
	if ld := d.str(); len(ld) == 32 {
		copy(a.ListDigest[:], ld)
	} else if ld != "" {
		d.err = errCorrupt
	}
	a.ItemCount = d.uvarint()
	if storesRoot(&a) {
		copy(a.ItemsRoot[:], d.bytes(32))
	} else if a.ItemCount == 0 {
		a.ItemsRoot = sha256.Sum256(nil)
	}
	if d.err != nil || len(d.b) != 0 {
		return a, fmt.Errorf("%w: audit record %d", errCorrupt, seq)
	}
	return a, nil
}

// AuditHead returns the sequence number and hash of the last audit
// record: (0, zero hash) for an empty trail.
func (r *Registry) AuditHead() (uint64, [32]byte, error) {
	var h auditHead
	err := r.view(func(t *txc) error {
		var err error
		h, err = t.auditHead()
		return err
	})
	return h.seq, h.hash, err
}

// Audit calls fn for each audit record with Seq >= from, oldest first, as
// stored: PrevHash is the stored hash of the record before, ItemsRoot as
// stored (computed from the item for a one-item record). [Registry.VerifyAudit]
// checks that the hashes hold. It reads in one transaction: other
// operations of this process that write wait until it returns.
func (r *Registry) Audit(from uint64, fn func(*AuditRecord) error) error {
	return r.view(func(t *txc) error { return t.walkAudit(from, fn) })
}

func (t *txc) walkAudit(from uint64, fn func(*AuditRecord) error) error {
	var prev Hash
	start := from
	if start > 1 {
		start--
	}
	it := t.audit.iter(u64(start))
	first := true
	for it.next() {
		seq, err := getU64(it.key())
		if err != nil {
			return err
		}
		rec, err := decodeRecord(seq, it.val())
		if err != nil {
			return err
		}
		if first && from > 1 && seq == from-1 {
			prev, first = rec.Hash, false
			continue
		}
		first = false
		rec.PrevHash = prev
		prev = rec.Hash
		if rec.ItemCount == 1 && rec.Action != ActionImport {
			if err := t.fillRoot(&rec); err != nil {
				return err
			}
		}
		if seq < from {
			continue
		}
		if err := fn(&rec); err != nil {
			return err
		}
	}
	return it.err
}

// fillRoot computes the items root of a one-item record from its item.
func (t *txc) fillRoot(rec *AuditRecord) error {
	v, ok, err := t.items.get(itemKey(rec.Seq, 0))
	if err != nil {
		return err
	}
	if !ok {
		return nil // left zero: verification reports the missing item
	}
	ai, err := decodeAuditItem(v)
	if err != nil {
		return err
	}
	pi, err := t.publicItem(&ai)
	if err != nil {
		return err
	}
	rec.ItemsRoot = ItemsRoot([]AuditItem{pi})
	return nil
}

// AuditItems calls fn for each item of audit record seq, in order. The
// items of an import are its certificates, found by reading every
// certificate the registry holds.
func (r *Registry) AuditItems(seq uint64, fn func(AuditItem) error) error {
	return r.view(func(t *txc) error {
		v, ok, err := t.audit.get(u64(seq))
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("%w: audit record %d", ErrNotFound, seq)
		}
		rec, err := decodeRecord(seq, v)
		if err != nil {
			return err
		}
		if rec.Action == ActionImport {
			return t.eachCert(func(c *certRec) error {
				if c.ImportSeq != seq {
					return nil
				}
				it, err := t.certItem(c)
				if err != nil {
					return err
				}
				return fn(it)
			})
		}
		return t.eachItem(seq, func(_ uint32, ai *auditItem) error {
			pi, err := t.publicItem(ai)
			if err != nil {
				return err
			}
			return fn(pi)
		})
	})
}

// eachItem calls fn for the stored items of record seq, in order.
func (t *txc) eachItem(seq uint64, fn func(uint32, *auditItem) error) error {
	prefix := u64(seq)
	it := t.items.iter(prefix)
	for it.next() && bytes.HasPrefix(it.key(), prefix) {
		if len(it.key()) != 12 {
			return fmt.Errorf("%w: audit item key", errCorrupt)
		}
		ai, err := decodeAuditItem(it.val())
		if err != nil {
			return err
		}
		if err := fn(binary.BigEndian.Uint32(it.key()[8:]), &ai); err != nil {
			return err
		}
	}
	return it.err
}
