package registry

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"github.com/crlverify/crlverify/crl"
)

// Status returns the online status of one certificate at time at (zero:
// now): what a verifier asks when it has no fresh list. An id the
// registry neither imported nor holds a record of is StateUnknown; with
// several issuers and none given, an id known under more than one is a
// *RuleError (RuleIssuerAmbiguous).
func (r *Registry) Status(issuer, certificateID string, at time.Time) (CertificateStatus, error) {
	if err := checkName("certificate id", certificateID, MaxIDBytes); err != nil {
		return CertificateStatus{}, err
	}
	if issuer != "" {
		if err := checkName("issuer", issuer, MaxIssuerBytes); err != nil {
			return CertificateStatus{}, err
		}
	}
	if at.IsZero() {
		at = r.clock()
	}
	out := CertificateStatus{Issuer: issuer, CertificateID: certificateID, At: at.UTC().Truncate(time.Second)}
	err := r.view(func(t *txc) error {
		tg, err := t.resolveID(ActionLift, &Selector{Issuer: issuer, CertificateID: certificateID})
		if err != nil {
			if isNotFound(err) {
				out.State = StateUnknown
				if out.Issuer == "" {
					out.Issuer = t.iss.only()
				}
				return nil
			}
			return err
		}
		out.Issuer = tg.issuer
		if tg.cert == nil && tg.st == nil {
			out.State = StateUnknown
			return nil
		}
		if tg.cert != nil {
			out.Imported = true
			out.ValidUntil = fromUnix(tg.cert.ValidUntil)
		}
		if tg.st != nil {
			out.CertState = tg.st.certState(at.Unix())
		} else {
			out.CertState = CertState{State: StateValid}
		}
		return nil
	})
	return out, err
}

func isNotFound(err error) bool { return errors.Is(err, ErrNotFound) }

// Certificates returns what the registry holds about the selected
// certificates, with their state now: by id, by beneficiary (every dose,
// or those in sel.Doses), or by batch. A selector that matches nothing is
// ErrNotFound.
func (r *Registry) Certificates(sel Selector) ([]Certificate, error) {
	var out []Certificate
	err := r.EachCertificate(sel, func(c Certificate) error {
		out = append(out, c)
		return nil
	})
	return out, err
}

// EachCertificate is Certificates calling fn for each certificate.
func (r *Registry) EachCertificate(sel Selector, fn func(Certificate) error) error {
	n := 0
	for _, s := range []string{sel.CertificateID, sel.BeneficiaryID, sel.Batch} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("%w: select by exactly one of certificate id, beneficiary id or batch", ErrInvalid)
	}
	return r.view(func(t *txc) error {
		now := t.now.Unix()
		var targets []*target
		var err error
		switch {
		case sel.CertificateID != "":
			var tg *target
			if tg, err = t.resolveID(ActionLift, &sel); err == nil {
				targets = []*target{tg}
			}
		case sel.BeneficiaryID != "":
			s := sel
			s.AllDoses, s.Doses = true, nil
			if targets, err = t.resolve(ActionRevoke, &s, 0); err == nil && len(sel.Doses) > 0 {
				keep := targets[:0]
				for _, tg := range targets {
					for _, d := range sel.Doses {
						if tg.cert.Dose == d {
							keep = append(keep, tg)
							break
						}
					}
				}
				targets = keep
			}
		default:
			targets, err = t.resolve(ActionRevoke, &sel, 0)
		}
		if err != nil {
			return err
		}
		for _, tg := range targets {
			c, err := t.certificate(tg, now)
			if err != nil {
				return err
			}
			if err := fn(c); err != nil {
				return err
			}
		}
		return nil
	})
}

func (t *txc) certificate(tg *target, now int64) (Certificate, error) {
	c := Certificate{Issuer: tg.issuer, CertificateID: tg.id}
	if tg.cert != nil {
		c.Imported = true
		c.BeneficiaryID, c.Dose = tg.cert.Beneficiary, tg.cert.Dose
		c.IssuedAt, c.ValidUntil = fromUnix(tg.cert.IssuedAt), fromUnix(tg.cert.ValidUntil)
		c.PreviousCertificateID = tg.cert.Previous
		if tg.cert.BatchNo != 0 {
			var err error
			if c.Batch, err = batchName(t.tx, tg.cert.BatchNo); err != nil {
				return c, err
			}
		}
	}
	if tg.st != nil {
		c.CertState = tg.st.certState(now)
	} else {
		c.CertState = CertState{State: StateValid}
	}
	return c, nil
}

// RevocationQuery selects a page of [Registry.Revocations].
type RevocationQuery struct {
	// Since and Until bound the revoked-at times: Since <= t < Until; zero
	// leaves that side open.
	Since, Until time.Time
	// At leaves out suspensions that ended before it; zero means now.
	At time.Time
	// Cursor continues after the page that returned it.
	Cursor string
	// Limit bounds the page; zero means 1000, at most MaxRevocationsPage.
	Limit int
}

// MaxRevocationsPage bounds a page of Revocations.
const MaxRevocationsPage = 10000

// RevocationRecord is one revocation or suspension in force.
type RevocationRecord struct {
	CertificateID  string     `json:"certificate_id"`
	Issuer         string     `json:"issuer"`
	RevokedAt      time.Time  `json:"revoked_at"`
	Reason         crl.Reason `json:"reason"`
	SuspendedUntil time.Time  `json:"suspended_until,omitzero"`
	SupersededBy   string     `json:"superseded_by,omitempty"`
	// LastChange is the audit record of the record's last change.
	LastChange uint64 `json:"last_change"`
}

// Revocations returns the revocations and suspensions in force, oldest
// revoked-at first (then by list key), one page at a time: next is the
// cursor of the following page, empty after the last.
func (r *Registry) Revocations(q RevocationQuery) ([]RevocationRecord, string, error) {
	limit := q.Limit
	switch {
	case limit < 0 || limit > MaxRevocationsPage:
		return nil, "", fmt.Errorf("%w: page limit %d: want 1 to %d", ErrInvalid, limit, MaxRevocationsPage)
	case limit == 0:
		limit = 1000
	}
	var from []byte // revoked-at (8) || state key of the last item returned
	if q.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(q.Cursor)
		if err != nil || len(b) < 8+11 {
			return nil, "", fmt.Errorf("%w: bad page cursor", ErrInvalid)
		}
		from = b
	}
	at := q.At
	if at.IsZero() {
		at = r.clock()
	}
	var page []RevocationRecord
	next := ""
	err := r.view(func(t *txc) error {
		start := make([]byte, 16)
		since := unix(q.Since)
		if from != nil {
			since = max(since, int64(binary.BigEndian.Uint64(from)))
			copy(start[8:], from[8:16])
		}
		binary.BigEndian.PutUint64(start, uint64(since))
		until := unix(q.Until)
		var last []byte
		it := t.chrono.iter(start)
		for it.next() {
			ck := it.key()
			if len(ck) != 16 {
				return fmt.Errorf("%w: chronological index key", errCorrupt)
			}
			revokedAt := int64(binary.BigEndian.Uint64(ck))
			if until != 0 && revokedAt >= until {
				break
			}
			prefix := ck[8:16]
			sit := t.state.iter(prefix)
			for sit.next() && bytes.HasPrefix(sit.key(), prefix) {
				if from != nil {
					pos := append(bytes.Clone(ck[:8]), sit.key()...)
					if bytes.Compare(pos, from) <= 0 {
						continue
					}
				}
				st, err := decodeState(sit.val())
				if err != nil {
					return err
				}
				if st.RevokedAt != revokedAt || !st.inForce(at.Unix()) {
					continue
				}
				if len(page) == limit {
					next = base64.RawURLEncoding.EncodeToString(last)
					return nil
				}
				_, n, id, err := splitStateKey(sit.key())
				if err != nil {
					return err
				}
				issuer, err := t.iss.name(n)
				if err != nil {
					return err
				}
				page = append(page, RevocationRecord{CertificateID: id, Issuer: issuer, RevokedAt: fromUnix(st.RevokedAt),
					Reason: st.Reason, SuspendedUntil: fromUnix(st.Until), SupersededBy: st.SupersededBy, LastChange: st.LastSeq})
				last = append(bytes.Clone(ck[:8]), sit.key()...)
			}
			if sit.err != nil {
				return sit.err
			}
		}
		return it.err
	})
	return page, next, err
}
