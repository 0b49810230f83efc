package service

import (
	"time"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/crl/registry"
)

// The JSON views of the registry's answers, in the vocabulary every
// crlverify output shares: "status" is revoked, suspended, not_revoked or
// unknown; "reason" a reason's name; times RFC 3339 in UTC to the second.
// The registry's types carry the data; these say how the API (and the
// command line, for the same answers) writes them. This file is the one
// place they are defined.

// Outcome is the JSON answer of a revoke, suspend or lift: what the
// request matched and what it changed.
type Outcome struct {
	// Action is "revoke", "suspend" or "lift".
	Action string `json:"action"`
	// Matched is how many certificates the selector named; Unchanged how
	// many of them were already in the state asked.
	Matched   int `json:"matched"`
	Unchanged int `json:"unchanged"`
	// Changed lists the certificates whose state changed (at most
	// registry.MaxOutcomeCertificates; Truncated is set beyond).
	Changed   []Change `json:"changed"`
	Truncated bool     `json:"truncated,omitempty"`
	// AuditSeq is the audit record of the change (0 when nothing changed).
	AuditSeq uint64 `json:"audit_seq,omitempty"`
}

// Change is one certificate's state before and after a write.
type Change struct {
	Issuer        string `json:"issuer"`
	CertificateID string `json:"certificate_id"`
	// Before and After are nil when the certificate was neither revoked
	// nor suspended.
	Before *State `json:"before"`
	After  *State `json:"after"`
}

// State is a revocation or a suspension.
type State struct {
	// Status is "revoked" or "suspended" (also once a suspension ended).
	Status         string     `json:"status"`
	RevokedAt      time.Time  `json:"revoked_at"`
	Reason         crl.Reason `json:"reason"`
	SuspendedUntil time.Time  `json:"suspended_until,omitzero"`
	// SupersededBy is the certificate that corrects this one.
	SupersededBy string `json:"superseded_by,omitempty"`
}

// OutcomeOf is the JSON view of a registry outcome.
func OutcomeOf(o registry.Outcome) Outcome {
	v := Outcome{Action: o.Action.String(), Matched: o.Matched, Unchanged: o.Unchanged,
		Changed: []Change{}, Truncated: o.Truncated, AuditSeq: o.AuditSeq}
	for _, c := range o.Certificates {
		if c.Changed {
			v.Changed = append(v.Changed, Change{Issuer: c.Issuer, CertificateID: c.CertificateID,
				Before: stateOf(c.Before), After: stateOf(c.After)})
		}
	}
	return v
}

// stateOf is the revocation or suspension a record holds; nil for none or
// a lifted one.
func stateOf(s registry.CertState) *State {
	var status string
	switch s.Status {
	case registry.StatusRevoked:
		status = "revoked"
	case registry.StatusSuspended:
		status = "suspended"
	default:
		return nil
	}
	return &State{Status: status, RevokedAt: utc(s.RevokedAt), Reason: s.Reason,
		SuspendedUntil: utc(s.SuspendedUntil), SupersededBy: s.SupersededBy}
}

// CertificateStatus is the JSON answer of GET /v1/status: one
// certificate's online status.
type CertificateStatus struct {
	Issuer        string `json:"issuer"`
	CertificateID string `json:"certificate_id"`
	// Status is "revoked", "suspended", "not_revoked" (also after a lift
	// or once a suspension ended, whose dates then show), or "unknown"
	// when the list does not cover the issuer.
	Status string `json:"status"`
	// Imported says whether the registry holds the issued certificate
	// (not every authority imports them: revocation by id works without).
	Imported bool `json:"imported"`
	// The revocation record, when there is one.
	RevokedAt      time.Time   `json:"revoked_at,omitzero"`
	Reason         *crl.Reason `json:"reason,omitempty"`
	SuspendedUntil time.Time   `json:"suspended_until,omitzero"`
	Lifted         bool        `json:"lifted,omitempty"`
	SupersededBy   string      `json:"superseded_by,omitempty"`
	// At is the time the status is for.
	At time.Time `json:"at"`
}

// StatusOf is the JSON view of a backend's status answer.
func StatusOf(st registry.CertificateStatus) CertificateStatus {
	v := CertificateStatus{Issuer: st.Issuer, CertificateID: st.CertificateID, Imported: st.Imported, At: utc(st.At)}
	switch st.State {
	case registry.StateRevoked:
		v.Status = "revoked"
	case registry.StateSuspended:
		v.Status = "suspended"
	case registry.StateValid:
		v.Status = "not_revoked"
	default:
		v.Status = "unknown"
	}
	if st.Status != registry.StatusNone {
		reason := st.Reason
		v.Reason = &reason
		v.RevokedAt, v.SuspendedUntil = utc(st.RevokedAt), utc(st.SuspendedUntil)
		v.Lifted = st.Status == registry.StatusLifted
		v.SupersededBy = st.SupersededBy
	}
	return v
}

// RevocationPage is the JSON answer of GET /v1/revocations: a page of the
// registry's chronological list.
type RevocationPage struct {
	Revocations []registry.RevocationRecord `json:"revocations"`
	// NextPage is the cursor of the next page; empty after the last.
	NextPage string `json:"next_page"`
}

// AuditPage is a page of the audit trail.
type AuditPage struct {
	Records []registry.AuditRecord `json:"records"`
	// Next is the record number to ask for next; 0 after the last.
	Next uint64 `json:"next"`
}

// utc is t in UTC to the second; zero stays zero.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}
