package registry

import (
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
)

// Action names what an audit record records.
type Action uint8

// The audited actions.
const (
	// ActionRevoke: a certificate was revoked or suspended.
	ActionRevoke Action = 1
	// ActionUpdate: an already revoked certificate got a new revoked-at,
	// reason or suspension end.
	ActionUpdate Action = 2
	// ActionLift: a revocation or suspension was lifted.
	ActionLift Action = 3
	// ActionAddIssuer: the list started covering an issuer.
	ActionAddIssuer Action = 4
	// ActionPublish: a serial was published.
	ActionPublish Action = 5
)

var actionNames = map[Action]string{
	ActionRevoke:    "revoke",
	ActionUpdate:    "update",
	ActionLift:      "lift",
	ActionAddIssuer: "add-issuer",
	ActionPublish:   "publish",
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

// AuditRecord is one entry of the append-only audit trail. The registry
// records only changes that took effect: re-revoking a certificate with
// the same values leaves no record.
type AuditRecord struct {
	// Seq numbers records from 1 in the order they were made.
	Seq    uint64    `json:"seq"`
	Time   time.Time `json:"time"`
	Action Action    `json:"action"`
	Issuer string    `json:"issuer,omitempty"`
	ID     string    `json:"id,omitempty"`
	// Reason, RevokedAt and SuspendedUntil are the values set by a revoke or
	// update.
	Reason         crl.Reason `json:"reason"`
	RevokedAt      time.Time  `json:"revoked_at,omitzero"`
	SuspendedUntil time.Time  `json:"suspended_until,omitzero"`
	// Serial is the serial a publish produced.
	Serial uint64 `json:"serial,omitempty"`
	// Actor is who made the change ([Options.Actor]); Source what input it
	// came from (a file name for an import).
	Actor  string `json:"actor,omitempty"`
	Source string `json:"source,omitempty"`
}

const auditVersion = 1

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

func (t *txn) appendAudit(a AuditRecord) error {
	seq, err := t.audit.NextSequence()
	if err != nil {
		return err
	}
	b := make([]byte, 0, 40+len(a.Issuer)+len(a.ID)+len(t.actor)+len(t.source))
	b = append(b, auditVersion, byte(a.Action), byte(a.Reason))
	b = binary.AppendVarint(b, t.now.Unix())
	b = binary.AppendVarint(b, unix(a.RevokedAt))
	b = binary.AppendVarint(b, unix(a.SuspendedUntil))
	b = binary.AppendUvarint(b, a.Serial)
	for _, s := range []string{a.Issuer, a.ID, t.actor, t.source} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	return t.audit.Put(u64(seq), b)
}

func decodeAudit(k, v []byte) (AuditRecord, error) {
	var a AuditRecord
	seq, err := getU64(k)
	if err != nil || len(v) < 3 || v[0] != auditVersion {
		return a, errCorrupt
	}
	a.Seq, a.Action, a.Reason = seq, Action(v[1]), crl.Reason(v[2])
	v = v[3:]
	var ints [3]int64
	for i := range ints {
		n, w := binary.Varint(v)
		if w <= 0 {
			return a, errCorrupt
		}
		ints[i], v = n, v[w:]
	}
	a.Time, a.RevokedAt, a.SuspendedUntil = fromUnix(ints[0]), fromUnix(ints[1]), fromUnix(ints[2])
	n, w := binary.Uvarint(v)
	if w <= 0 {
		return a, errCorrupt
	}
	a.Serial, v = n, v[w:]
	var strs [4]string
	for i := range strs {
		n, w := binary.Uvarint(v)
		if w <= 0 || uint64(len(v)-w) < n {
			return a, errCorrupt
		}
		strs[i], v = string(v[w:w+int(n)]), v[w+int(n):]
	}
	a.Issuer, a.ID, a.Actor, a.Source = strs[0], strs[1], strs[2], strs[3]
	return a, nil
}

// Audit calls fn for each audit record with Seq >= from, oldest first.
func (r *Registry) Audit(from uint64, fn func(AuditRecord) error) error {
	return r.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketAudit).Cursor()
		for k, v := c.Seek(u64(from)); k != nil; k, v = c.Next() {
			a, err := decodeAudit(k, v)
			if err != nil {
				return err
			}
			if err := fn(a); err != nil {
				return err
			}
		}
		return nil
	})
}
