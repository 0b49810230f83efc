package registry

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// ErrAuditBroken: the audit trail does not hold: a record was edited,
// removed, reordered or added outside the registry, or the registry's
// state does not follow from its records. The error is an *AuditError.
var ErrAuditBroken = errors.New("registry: audit trail broken")

// AuditError names the first audit record that does not hold.
type AuditError struct {
	Seq     uint64 // the record (0: the problem is not one record's)
	Problem string
}

func (e *AuditError) Error() string {
	if e.Seq == 0 {
		return "registry: audit trail broken: " + e.Problem
	}
	return fmt.Sprintf("registry: audit trail broken at record %d: %s", e.Seq, e.Problem)
}

// Is makes errors.Is(err, ErrAuditBroken) true.
func (e *AuditError) Is(target error) bool { return target == ErrAuditBroken }

func auditBroken(seq uint64, format string, args ...any) error {
	return &AuditError{Seq: seq, Problem: fmt.Sprintf(format, args...)}
}

// AuditReport says what [Registry.VerifyAudit] checked.
type AuditReport struct {
	Records      uint64 `json:"records"`
	Head         Hash   `json:"head"`
	Items        uint64 `json:"items"`
	Certificates uint64 `json:"certificates"`
	Revocations  uint64 `json:"revocation_records"`
}

// VerifyAudit proves the audit trail unbroken: every record's hash over
// its canonical encoding and the previous hash, sequence numbers
// contiguous from 1 up to the head the registry keeps, every record's
// items (stored, or for an import its certificates) hashing to its items
// root; and the registry's state consistent with replaying the trail:
// every revocation record equals the last item that changed it, every
// imported certificate belongs to its import, the chronological index and
// counters agree. The first problem found is an *AuditError naming the
// record. The check reads everything, with the file held (shared) until it
// ends; its sort of the items uses temporary files beside the registry
// (for a registry opened read-only where that directory cannot be
// written, a private directory under [os.TempDir]).
func (r *Registry) VerifyAudit() (AuditReport, error) {
	var rep AuditReport
	err := r.view(func(t *txc) error { return t.verifyAudit(&rep) })
	return rep, err
}

func (t *txc) verifyAudit(rep *AuditReport) error {
	if v := t.meta.Get(metaBulk); v != nil {
		return auditBroken(0, "a bulk operation is still being applied; open the registry for writing to finish it")
	}
	head, err := t.auditHead()
	if err != nil {
		return err
	}
	imports := map[uint64]*AuditRecord{}
	// 1. The chain, with the stored items.
	var prev Hash
	var want uint64 = 1
	items := t.items.iter(nil)
	itemsOK := items.next()
	it := t.audit.iter(nil)
	for it.next() {
		if len(it.key()) != 8 {
			return auditBroken(want, "bad record key %x", it.key())
		}
		seq := binary.BigEndian.Uint64(it.key())
		switch {
		case seq > want:
			return auditBroken(want, "record %d is missing (the next is %d)", want, seq)
		case seq < want:
			return auditBroken(seq, "record out of order")
		}
		rec, err := decodeRecord(seq, it.val())
		if err != nil {
			return auditBroken(seq, "record does not decode: %v", err)
		}
		if rec.Action == ActionImport {
			r := rec
			imports[seq] = &r
		} else {
			// Its stored items: seq || 0, 1, ...
			var m merkle
			for itemsOK && binary.BigEndian.Uint64(items.key()) < seq {
				return auditBroken(binary.BigEndian.Uint64(items.key()), "items stored for a record that is not there")
			}
			for itemsOK && binary.BigEndian.Uint64(items.key()) == seq {
				if len(items.key()) != 12 || binary.BigEndian.Uint32(items.key()[8:]) != uint32(m.N) {
					return auditBroken(seq, "item %d missing or out of order", m.N)
				}
				ai, err := decodeAuditItem(items.val())
				if err != nil {
					return auditBroken(seq, "item %d does not decode", m.N)
				}
				pi, err := t.publicItem(&ai)
				if err != nil {
					return auditBroken(seq, "item %d: %v", m.N, err)
				}
				m.add(pi.Canonical())
				rep.Items++
				itemsOK = items.next()
			}
			if items.err != nil {
				return items.err
			}
			if m.N != rec.ItemCount {
				return auditBroken(seq, "%d items stored, the record says %d", m.N, rec.ItemCount)
			}
			if rec.ItemCount <= 1 {
				rec.ItemsRoot = m.root()
			} else if m.root() != rec.ItemsRoot {
				return auditBroken(seq, "the items do not hash to the record's items root")
			}
		}
		rec.PrevHash = prev
		if got := rec.ComputeHash(); got != rec.Hash {
			return auditBroken(seq, "hash does not match the record (edited?)")
		}
		prev = rec.Hash
		want++
	}
	if it.err != nil {
		return it.err
	}
	if itemsOK {
		return auditBroken(binary.BigEndian.Uint64(items.key()), "items stored for a record that is not there")
	}
	last := want - 1
	switch {
	case last < head.seq:
		return auditBroken(last+1, "records %d to %d are missing (the registry's head is %d)", last+1, head.seq, head.seq)
	case last > head.seq:
		return auditBroken(head.seq+1, "record is past the head the registry keeps (%d): added outside the registry?", head.seq)
	case prev != head.hash:
		return auditBroken(last, "the last record's hash is not the head the registry keeps")
	}
	rep.Records, rep.Head = last, head.hash

	// 2. Imports: each certificate belongs to an import whose items root
	// it helps make.
	roots := map[uint64]*merkle{}
	if err := t.eachCert(func(c *certRec) error {
		rec, ok := imports[c.ImportSeq]
		if !ok {
			return auditBroken(c.ImportSeq, "certificate %q names this record as its import, which it is not", c.ID)
		}
		item, err := t.certItem(c)
		if err != nil {
			return err
		}
		m := roots[rec.Seq]
		if m == nil {
			m = &merkle{}
			roots[rec.Seq] = m
		}
		m.add(item.Canonical())
		rep.Certificates++
		return nil
	}); err != nil {
		return err
	}
	seqs := make([]uint64, 0, len(imports))
	for s := range imports {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	for _, s := range seqs {
		m := roots[s]
		if m == nil {
			m = &merkle{}
		}
		if m.N != imports[s].ItemCount || m.root() != imports[s].ItemsRoot {
			return auditBroken(s, "the registry holds %d certificates of this import, the record says %d (or their fields differ)", m.N, imports[s].ItemCount)
		}
	}
	if rep.Certificates != t.counts.certs {
		return auditBroken(0, "the registry counts %d certificates, it holds %d", t.counts.certs, rep.Certificates)
	}
	return t.verifyState(rep)
}

// verifyState replays the revocation items: sorted by certificate, the
// last item of each must be its revocation record.
func (t *txc) verifyState(rep *AuditReport) error {
	wd, err := newWorkDir(t.r.path)
	if err != nil && t.r.readOnly {
		// A read-only copy, perhaps in a directory the auditor may not
		// write: the sort goes to a private temporary directory.
		wd, err = newPrivateWorkDir()
	}
	if err != nil {
		return err
	}
	defer wd.remove()
	dir := wd.path
	s := newSorter(dir, 32<<20)
	defer s.close()
	cs := newSorter(dir, 8<<20) // carried items
	defer cs.close()
	it := t.items.iter(nil)
	for it.next() {
		ai, err := decodeAuditItem(it.val())
		if err != nil {
			return err
		}
		if c := ai.carried; c != nil {
			kb := c.key.Bytes()
			c.seq = binary.BigEndian.Uint64(it.key())
			if err := cs.add(binary.BigEndian.AppendUint64(kb[:], c.seq), c.encode()); err != nil {
				return err
			}
			continue
		}
		issuer, err := t.iss.name(ai.issuerNo)
		if err != nil {
			return err
		}
		k := stateKey(t.r.keyOf(issuer, ai.id), ai.issuerNo, ai.id)
		// key: state key || seq, so each certificate's items come in
		// record order; value: the item's state.
		if err := s.add(binary.BigEndian.AppendUint64(k, binary.BigEndian.Uint64(it.key())), ai.st.encode()); err != nil {
			return err
		}
	}
	if it.err != nil {
		return it.err
	}
	sorted, err := s.sorted()
	if err != nil {
		return err
	}
	defer sorted.close()
	var c counts
	c.certs = t.counts.certs
	st := t.state.iter(nil)
	stOK := st.next()
	var curKey []byte
	var curSeq uint64
	var cur revState
	have := false
	check := func() error {
		if !have {
			return nil
		}
		// Records of certificates before curKey have no items.
		for stOK && bytes.Compare(st.key(), curKey) < 0 {
			return t.stateWithoutItem(st.key())
		}
		if !stOK || !bytes.Equal(st.key(), curKey) {
			_, _, id, _ := splitStateKey(curKey)
			return auditBroken(curSeq, "changed certificate %q, which has no revocation record", id)
		}
		got, err := decodeState(st.val())
		if err != nil {
			return err
		}
		cur.LastSeq = curSeq
		if got != cur {
			_, _, id, _ := splitStateKey(curKey)
			return auditBroken(curSeq, "the revocation record of %q (%s, %s) is not what its last audit record set (%s, %s)",
				id, got.Status, got.Reason, cur.Status, cur.Reason)
		}
		(*c.status(got.Status))++
		rep.Revocations++
		if err := t.checkChrono(&got, curKey); err != nil {
			return err
		}
		stOK = st.next()
		return nil
	}
	for sorted.next() {
		k := sorted.key
		if len(k) < 19 {
			return fmt.Errorf("%w: sort record", errCorrupt)
		}
		skey, seq := k[:len(k)-8], binary.BigEndian.Uint64(k[len(k)-8:])
		if have && !bytes.Equal(skey, curKey) {
			if err := check(); err != nil {
				return err
			}
		}
		sv, err := decodeState(sorted.val)
		if err != nil {
			return err
		}
		curKey, curSeq, cur, have = append(curKey[:0], skey...), seq, sv, true
	}
	if sorted.err != nil {
		return sorted.err
	}
	if err := check(); err != nil {
		return err
	}
	if stOK {
		return t.stateWithoutItem(st.key())
	}
	if st.err != nil {
		return st.err
	}
	if c != t.counts {
		return auditBroken(0, "the registry's counters (%d revoked, %d suspended, %d lifted) differ from its records (%d, %d, %d)",
			t.counts.revoked, t.counts.suspended, t.counts.lifted, c.revoked, c.suspended, c.lifted)
	}
	n, err := t.chrono.count()
	if err != nil {
		return err
	}
	if uint64(n) > c.revoked+c.suspended {
		return auditBroken(0, "the chronological index has %d items for %d revocations and suspensions", n, c.revoked+c.suspended)
	}
	return t.verifyCarried(cs)
}

// verifyCarried checks the carried table against the carry-forward
// items, sorted by list key then record: each entry is what the last item
// of its key set, and every entry was set by one.
func (t *txc) verifyCarried(s *sorter) error {
	sorted, err := s.sorted()
	if err != nil {
		return err
	}
	defer sorted.close()
	ca := t.carriedIter()
	caOK := ca.next()
	var cur []byte
	var curVal []byte
	check := func() error {
		if cur == nil {
			return nil
		}
		seq := binary.BigEndian.Uint64(cur[8:])
		if !caOK || !bytes.Equal(ca.key(), cur[:8]) {
			return auditBroken(seq, "carried entry %x is not in the carried table", cur[:8])
		}
		if !bytes.Equal(ca.val(), curVal) {
			return auditBroken(seq, "the carried entry %x is not what its last audit record set", cur[:8])
		}
		caOK = ca.next()
		return nil
	}
	for sorted.next() {
		k := sorted.key
		if len(k) != 16 {
			return fmt.Errorf("%w: sort record", errCorrupt)
		}
		if cur != nil && !bytes.Equal(cur[:8], k[:8]) {
			if err := check(); err != nil {
				return err
			}
		}
		if caOK && bytes.Compare(ca.key(), k[:8]) < 0 {
			return auditBroken(0, "carried entry %x was set by no audit record", ca.key())
		}
		cur = append(cur[:0], k...)
		curVal = append(curVal[:0], sorted.val...)
	}
	if sorted.err != nil {
		return sorted.err
	}
	if err := check(); err != nil {
		return err
	}
	if caOK {
		return auditBroken(0, "carried entry %x was set by no audit record", ca.key())
	}
	return ca.err
}

func (t *txc) stateWithoutItem(skey []byte) error {
	_, _, id, _ := splitStateKey(skey)
	return auditBroken(0, "certificate %q has a revocation record no audit record made", id)
}

// checkChrono checks that an active record is in the chronological
// index.
func (t *txc) checkChrono(st *revState, skey []byte) error {
	if st.Status != StatusRevoked && st.Status != StatusSuspended {
		return nil
	}
	k, _, id, err := splitStateKey(skey)
	if err != nil {
		return err
	}
	if _, ok, err := t.chrono.get(chronoKey(st.RevokedAt, k)); err != nil {
		return err
	} else if !ok {
		return auditBroken(st.LastSeq, "certificate %q is missing from the chronological index", id)
	}
	return nil
}

// AuditFilter selects audit records for [Registry.AuditList].
type AuditFilter struct {
	// Since and Until bound the records' times: Since <= t < Until.
	Since, Until time.Time
	// Actor, if set, selects the records of one actor.
	Actor string
	// Action, if not zero, selects one action.
	Action Action
	// CertificateID (with Issuer, optional) selects the records that
	// changed or named one certificate.
	Issuer        string
	CertificateID string
}

// AuditList calls fn for each audit record the filter selects, oldest
// first.
func (r *Registry) AuditList(f AuditFilter, fn func(*AuditRecord) error) error {
	return r.view(func(t *txc) error {
		var touched map[uint64]bool
		if f.CertificateID != "" {
			touched = map[uint64]bool{}
			it := t.items.iter(nil)
			for it.next() {
				ai, err := decodeAuditItem(it.val())
				if err != nil {
					return err
				}
				if ai.id != f.CertificateID {
					continue
				}
				if f.Issuer != "" {
					if name, _ := t.iss.name(ai.issuerNo); name != f.Issuer {
						continue
					}
				}
				touched[binary.BigEndian.Uint64(it.key())] = true
			}
			if it.err != nil {
				return it.err
			}
			for _, n := range t.issuerCandidates(f.Issuer) {
				k := t.keyOf(n, f.CertificateID)
				if c, ok, err := t.findCert(stateKey(k, n, f.CertificateID)); err != nil {
					return err
				} else if ok {
					touched[c.ImportSeq] = true
				}
			}
		}
		return t.walkAudit(1, func(rec *AuditRecord) error {
			switch {
			case !f.Since.IsZero() && rec.Time.Before(f.Since):
				return nil
			case !f.Until.IsZero() && !rec.Time.Before(f.Until):
				return nil
			case f.Actor != "" && rec.Actor != f.Actor:
				return nil
			case f.Action != 0 && rec.Action != f.Action:
				return nil
			case touched != nil && !touched[rec.Seq] && rec.CertificateID != f.CertificateID && rec.ReplacedBy != f.CertificateID:
				return nil
			}
			return fn(rec)
		})
	})
}
