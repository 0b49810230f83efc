package registry

import (
	"encoding/binary"
	"fmt"
	"time"
	"unsafe"

	"github.com/dchest/siphash"

	"github.com/crlverify/crlverify/crl"
)

// Status is what a revocation record says of its certificate.
type Status uint8

// Revocation record statuses. A certificate without a record has none.
const (
	StatusNone      Status = 0
	StatusRevoked   Status = 1 // revoked for good
	StatusSuspended Status = 2 // revoked until SuspendedUntil
	StatusLifted    Status = 3 // a revocation or suspension that was lifted; its history stays
)

var statusNames = [...]string{"none", "revoked", "suspended", "lifted"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("status(%d)", uint8(s))
}

// MarshalText encodes s as its name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText accepts a status's name.
func (s *Status) UnmarshalText(b []byte) error {
	for i, name := range statusNames {
		if name == string(b) {
			*s = Status(i)
			return nil
		}
	}
	return fmt.Errorf("unknown status %q", b)
}

// State is a certificate's standing at a given time.
type State string

// Certificate states.
const (
	// StateValid: not revoked nor suspended at that time (a revocation
	// may have been lifted, or a suspension may have ended).
	StateValid State = "valid"
	// StateRevoked: revoked for good.
	StateRevoked State = "revoked"
	// StateSuspended: suspended, and the suspension has not ended.
	StateSuspended State = "suspended"
	// StateUnknown: the registry neither imported the certificate nor
	// holds a revocation record of it.
	StateUnknown State = "unknown"
)

// CertState is the revocation side of a certificate.
type CertState struct {
	// State is the certificate's standing at the time asked.
	State State `json:"state"`
	// Status is the revocation record's status (none without a record).
	Status Status `json:"status"`
	// Reason, RevokedAt and SuspendedUntil are the record's; for a lifted
	// record they are those of the revocation that was lifted.
	Reason         crl.Reason `json:"reason"`
	RevokedAt      time.Time  `json:"revoked_at,omitzero"`
	SuspendedUntil time.Time  `json:"suspended_until,omitzero"`
	// SupersededBy is the id of the certificate that replaced this one (a
	// correction).
	SupersededBy string `json:"superseded_by,omitempty"`
	// LastChange is the sequence number of the audit record of the
	// record's last change (0: no record).
	LastChange uint64 `json:"last_change,omitempty"`
}

// Certificate is what the registry holds about one certificate.
type Certificate struct {
	Issuer        string `json:"issuer"`
	CertificateID string `json:"certificate_id"`
	// Imported is set for an issued certificate the registry imported;
	// without it the registry has only a revocation record of the id.
	Imported              bool      `json:"imported"`
	BeneficiaryID         string    `json:"beneficiary_id,omitempty"`
	Dose                  int       `json:"dose,omitempty"`
	Batch                 string    `json:"batch,omitempty"`
	IssuedAt              time.Time `json:"issued_at,omitzero"`
	ValidUntil            time.Time `json:"valid_until,omitzero"`
	PreviousCertificateID string    `json:"previous_certificate_id,omitempty"`
	CertState
}

// CertificateStatus is the online status of one certificate id.
type CertificateStatus struct {
	Issuer        string    `json:"issuer"`
	CertificateID string    `json:"certificate_id"`
	Imported      bool      `json:"imported"`
	At            time.Time `json:"at"`
	ValidUntil    time.Time `json:"valid_until,omitzero"`
	CertState
}

// revState is a revocation record as stored: the value of a state table
// item,
//
//	byte    status
//	byte    reason
//	uvarint revoked-at (Unix seconds)
//	uvarint suspended-until (0: none)
//	uvarint sequence number of the audit record of the last change
//	uvarint n, n bytes: id of the superseding certificate
type revState struct {
	Status       Status
	Reason       crl.Reason
	RevokedAt    int64
	Until        int64
	LastSeq      uint64
	SupersededBy string
}

func (s *revState) encode() []byte {
	return s.appendTo(make([]byte, 0, 2+3*binary.MaxVarintLen64+1+len(s.SupersededBy)))
}

// appendTo appends the record's encoding to b.
func (s *revState) appendTo(b []byte) []byte {
	b = append(b, byte(s.Status), byte(s.Reason))
	b = binary.AppendUvarint(b, uint64(s.RevokedAt))
	b = binary.AppendUvarint(b, uint64(s.Until))
	b = binary.AppendUvarint(b, s.LastSeq)
	b = binary.AppendUvarint(b, uint64(len(s.SupersededBy)))
	return append(b, s.SupersededBy...)
}

func decodeState(b []byte) (revState, error) {
	var s revState
	if len(b) < 2 || b[0] < 1 || b[0] > 3 || crl.Reason(b[1]) > crl.MaxReason {
		return s, fmt.Errorf("%w: revocation record", errCorrupt)
	}
	s.Status, s.Reason = Status(b[0]), crl.Reason(b[1])
	d := decoder{b: b[2:]}
	s.RevokedAt = int64(d.uvarint())
	s.Until = int64(d.uvarint())
	s.LastSeq = d.uvarint()
	s.SupersededBy = d.str()
	if d.err != nil || len(d.b) != 0 {
		return s, fmt.Errorf("%w: revocation record", errCorrupt)
	}
	return s, nil
}

// inForce reports whether the record keeps its certificate off the
// valid list at Unix time at.
func (s *revState) inForce(at int64) bool {
	return s.Status == StatusRevoked || (s.Status == StatusSuspended && s.Until > at)
}

func (s *revState) certState(at int64) CertState {
	cs := CertState{State: StateValid, Status: s.Status, Reason: s.Reason, RevokedAt: fromUnix(s.RevokedAt),
		SuspendedUntil: fromUnix(s.Until), SupersededBy: s.SupersededBy, LastChange: s.LastSeq}
	if s.inForce(at) {
		cs.State = StateRevoked
		if s.Status == StatusSuspended {
			cs.State = StateSuspended
		}
	}
	return cs
}

// stateKey is the key of a certificate's items in the state table and of
// its record in a certificate run: the list key (8 bytes BE), the issuer
// number (2 bytes BE), the id.
func stateKey(k crl.Key, issuerNo uint16, id string) []byte {
	b := make([]byte, 10, 10+len(id))
	binary.BigEndian.PutUint64(b, uint64(k))
	binary.BigEndian.PutUint16(b[8:], issuerNo)
	return append(b, id...)
}

func splitStateKey(b []byte) (crl.Key, uint16, string, error) {
	if len(b) < 11 {
		return 0, 0, "", fmt.Errorf("%w: key", errCorrupt)
	}
	return crl.Key(binary.BigEndian.Uint64(b)), binary.BigEndian.Uint16(b[8:]), string(b[10:]), nil
}

// certRec is an imported certificate as stored in a run's certificate
// table: the key is stateKey(list key, issuer number, id); the value is
//
//	uvarint n, n bytes: beneficiary id
//	uvarint dose
//	uvarint batch number (0: none)
//	uvarint issued-at (Unix seconds)
//	uvarint valid-until (0: none)
//	uvarint n, n bytes: id of the certificate this one corrects
//	uvarint sequence number of the audit record of its import
type certRec struct {
	Key         crl.Key
	IssuerNo    uint16
	ID          string
	Beneficiary string
	Dose        int
	BatchNo     uint32
	IssuedAt    int64
	ValidUntil  int64
	Previous    string
	ImportSeq   uint64
}

func (c *certRec) appendValue(b []byte) []byte {
	return appendCertValue(b, certFields{ben: []byte(c.Beneficiary), dose: c.Dose, issuedAt: c.IssuedAt,
		validUntil: c.ValidUntil, prev: []byte(c.Previous)}, c.BatchNo, c.ImportSeq)
}

func decodeCert(key, val []byte) (certRec, error) {
	var c certRec
	var err error
	if c.Key, c.IssuerNo, c.ID, err = splitStateKey(key); err != nil {
		return c, err
	}
	d := decoder{b: val}
	c.Beneficiary = d.str()
	c.Dose = int(d.uvarint())
	batch := d.uvarint()
	c.IssuedAt = int64(d.uvarint())
	c.ValidUntil = int64(d.uvarint())
	c.Previous = d.str()
	c.ImportSeq = d.uvarint()
	if d.err != nil || len(d.b) != 0 || batch > 1<<32-1 {
		return c, fmt.Errorf("%w: certificate record", errCorrupt)
	}
	c.BatchNo = uint32(batch)
	return c, nil
}

// decoder reads varint-encoded fields, remembering the first error.
type decoder struct {
	b   []byte
	err error
}

func (d *decoder) uvarint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.err = errCorrupt
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *decoder) byte() byte {
	if d.err != nil || len(d.b) == 0 {
		d.err = errCorrupt
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *decoder) bytes(n int) []byte {
	if d.err != nil || n < 0 || n > len(d.b) {
		d.err = errCorrupt
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *decoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.b)) {
		d.err = errCorrupt
		return ""
	}
	return string(d.bytes(int(n)))
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func unix(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func fromUnix(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// The beneficiary index keys beneficiaries by a 64-bit SipHash-2-4 under
// this fixed key; a hash collision costs a look at one more certificate.
var benK0, benK1 = binary.LittleEndian.Uint64([]byte("crlverif")), binary.LittleEndian.Uint64([]byte("y/v1 ben"))

func benHash(beneficiary string) uint64 {
	return siphash.Hash(benK0, benK1, unsafe.Slice(unsafe.StringData(beneficiary), len(beneficiary)))
}

// appendBenKey appends the key of a beneficiary index item: issuer
// number (2 BE), beneficiary hash (8 BE), dose (1), list key (8 BE).
func appendBenKey(b []byte, issuerNo uint16, h uint64, dose int, k crl.Key) []byte {
	b = binary.BigEndian.AppendUint16(b, issuerNo)
	b = binary.BigEndian.AppendUint64(b, h)
	b = append(b, byte(dose))
	return binary.BigEndian.AppendUint64(b, uint64(k))
}

// appendBatchKey appends the key of a batch index item: issuer number (2
// BE), batch number (4 BE), list key (8 BE).
func appendBatchKey(b []byte, issuerNo uint16, batch uint32, k crl.Key) []byte {
	b = binary.BigEndian.AppendUint16(b, issuerNo)
	b = binary.BigEndian.AppendUint32(b, batch)
	return binary.BigEndian.AppendUint64(b, uint64(k))
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

// holder is what the list needs of one revocation record: a change log
// keeps these for the records of a key before a change.
type holder struct {
	Status    Status
	Reason    crl.Reason
	RevokedAt int64
	Until     int64
}

func holderOf(s *revState) holder {
	return holder{Status: s.Status, Reason: s.Reason, RevokedAt: s.RevokedAt, Until: s.Until}
}

// listEntry is the list entry of key k at Unix time at for its holders: the
// merge of those in force, and whether there is one.
func listEntry(k crl.Key, hs []holder, at int64) (crl.Entry, bool) {
	var out crl.Entry
	ok := false
	for _, h := range hs {
		if h.Status != StatusRevoked && (h.Status != StatusSuspended || h.Until <= at) {
			continue
		}
		e := crl.Entry{Key: k, RevokedAt: h.RevokedAt, Reason: h.Reason}
		if h.Status == StatusSuspended {
			e.SuspendedUntil = h.Until
		}
		if ok {
			out = mergeEntries(out, e)
		} else {
			out, ok = e, true
		}
	}
	return out, ok
}

// Change log values: uvarint n, then n holders, each: status byte, reason
// byte, uvarint revoked-at, uvarint suspended-until. Only revoked and
// suspended holders are kept (a lifted one is never listed).
func encodeHolders(hs []holder) []byte {
	b := binary.AppendUvarint(nil, uint64(len(hs)))
	for _, h := range hs {
		b = append(b, byte(h.Status), byte(h.Reason))
		b = binary.AppendUvarint(b, uint64(h.RevokedAt))
		b = binary.AppendUvarint(b, uint64(h.Until))
	}
	return b
}

func decodeHolders(b []byte) ([]holder, error) {
	d := decoder{b: b}
	n := d.uvarint()
	if n > uint64(len(b)) {
		return nil, fmt.Errorf("%w: change log", errCorrupt)
	}
	hs := make([]holder, 0, n)
	for range n {
		h := holder{Status: Status(d.byte()), Reason: crl.Reason(d.byte())}
		h.RevokedAt = int64(d.uvarint())
		h.Until = int64(d.uvarint())
		hs = append(hs, h)
	}
	if d.err != nil || len(d.b) != 0 {
		return nil, fmt.Errorf("%w: change log", errCorrupt)
	}
	return hs, nil
}
