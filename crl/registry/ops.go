package registry

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/crlverify/crlverify/crl"
)

// Selector names the certificates a request is about: exactly one of
// CertificateID, BeneficiaryID (with Doses or AllDoses) or Batch.
type Selector struct {
	// Issuer may be empty when the registry can tell which issuer is meant
	// (it has one, or the certificates selected are all of one issuer).
	Issuer        string
	CertificateID string
	BeneficiaryID string
	// Doses lists the beneficiary's doses to select; they must be
	// consecutive and include the latest dose issued (DIVOC's rule).
	Doses []int
	// AllDoses selects every dose of the beneficiary.
	AllDoses bool
	Batch    string
}

// Request is one revoke, suspend or lift request.
type Request struct {
	Selector
	// Reason is why. Zero means the rule's default: faultyBatch for a
	// batch, superseded for a correction (ReplacedBy), certificateHold for
	// a suspension, unspecified otherwise; a certificate already revoked
	// keeps its reason when none is given.
	Reason crl.Reason
	// Note is a free-text explanation kept in the audit trail (at most
	// MaxNoteBytes).
	Note string
	// Actor is who asks: a person or a token identity. Required.
	Actor string
	// At is when the revocation or suspension took effect; zero means now,
	// except that re-revoking a certificate already revoked (or
	// re-suspending one suspended) keeps its original time.
	At time.Time
	// Until ends a suspension (Suspend only).
	Until time.Time
	// ReplacedBy, for Revoke by CertificateID, is the id of the new
	// certificate that corrects this one (same issuer): the old one is
	// revoked as superseded and linked to the new.
	ReplacedBy string
}

// Outcome says what a request changed.
type Outcome struct {
	Action Action `json:"action"`
	// Matched is how many certificates the selector matched; Changed of
	// them changed, Unchanged were already so.
	Matched   int `json:"matched"`
	Changed   int `json:"changed"`
	Unchanged int `json:"unchanged"`
	// Certificates lists the matched certificates (at most
	// MaxOutcomeCertificates, Truncated then set), in list-key order.
	Certificates []CertificateChange `json:"certificates"`
	Truncated    bool                `json:"truncated,omitempty"`
	// AuditSeq is the audit record of the change (0 when nothing changed).
	AuditSeq uint64 `json:"audit_seq,omitempty"`
}

// MaxOutcomeCertificates bounds Outcome.Certificates; the audit record
// lists every certificate a request changed.
const MaxOutcomeCertificates = 1000

// CertificateChange is one certificate a request matched.
type CertificateChange struct {
	Issuer        string    `json:"issuer"`
	CertificateID string    `json:"certificate_id"`
	Changed       bool      `json:"changed"`
	Before        CertState `json:"before"`
	After         CertState `json:"after"`
}

// Revoke revokes the selected certificates for good. By id it works for
// ids the registry never imported. It returns once the change is durable;
// concurrent calls share commits.
func (r *Registry) Revoke(ctx context.Context, req Request) (Outcome, error) {
	return r.do(ctx, ActionRevoke, req)
}

// Suspend suspends the selected certificates until req.Until. A
// permanently revoked certificate is refused (RuleRevokedNotSuspendable).
func (r *Registry) Suspend(ctx context.Context, req Request) (Outcome, error) {
	return r.do(ctx, ActionSuspend, req)
}

// Lift lifts the revocations and suspensions of the selected
// certificates: they leave the next published list, and their records
// stay, marked lifted, with their history in the audit trail.
func (r *Registry) Lift(ctx context.Context, req Request) (Outcome, error) {
	return r.do(ctx, ActionLift, req)
}

func (r *Registry) do(ctx context.Context, action Action, req Request) (Outcome, error) {
	if err := checkRequest(action, &req); err != nil {
		return Outcome{}, err
	}
	if r.readOnly {
		return Outcome{}, fmt.Errorf("%w: the registry was opened read-only", ErrInvalid)
	}
	return r.com.submit(ctx, &pendingOp{action: action, req: req})
}

// checkRequest checks what can be checked without the registry.
func checkRequest(action Action, req *Request) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
	}
	if err := checkName("actor", req.Actor, MaxNameBytes); err != nil {
		return err
	}
	if err := checkNote(req.Note); err != nil {
		return err
	}
	if !req.Reason.Valid() {
		return bad("%d is not a revocation reason", int(req.Reason))
	}
	n := 0
	for _, s := range []string{req.CertificateID, req.BeneficiaryID, req.Batch} {
		if s != "" {
			n++
		}
	}
	if n != 1 {
		return bad("select by exactly one of certificate id, beneficiary id or batch")
	}
	if req.Issuer != "" {
		if err := checkName("issuer", req.Issuer, MaxIssuerBytes); err != nil {
			return err
		}
	}
	switch {
	case req.CertificateID != "":
		if err := checkName("certificate id", req.CertificateID, MaxIDBytes); err != nil {
			return err
		}
	case req.BeneficiaryID != "":
		if err := checkName("beneficiary id", req.BeneficiaryID, MaxNameBytes); err != nil {
			return err
		}
	default:
		if err := checkName("batch", req.Batch, MaxNameBytes); err != nil {
			return err
		}
	}
	if req.BeneficiaryID == "" && (len(req.Doses) > 0 || req.AllDoses) {
		return bad("doses select among a beneficiary's certificates: give the beneficiary id")
	}
	if req.BeneficiaryID != "" {
		switch {
		case req.AllDoses && len(req.Doses) > 0:
			return bad("give doses or all doses, not both")
		case !req.AllDoses && len(req.Doses) == 0:
			return bad("give the doses to select, or all doses")
		case len(req.Doses) > MaxDose:
			return bad("more than %d doses", MaxDose)
		}
		for _, d := range req.Doses {
			if d < 1 || d > MaxDose {
				return bad("dose %d out of range 1-%d", d, MaxDose)
			}
		}
	}
	if !req.At.IsZero() {
		req.At = req.At.UTC().Truncate(time.Second)
		if s := req.At.Unix(); s <= 0 || s > MaxTime {
			return bad("time %s out of range", req.At.Format(time.RFC3339))
		}
	}
	switch action {
	case ActionSuspend:
		if req.Until.IsZero() {
			return bad("a suspension needs an end (until)")
		}
		req.Until = req.Until.UTC().Truncate(time.Second)
		if s := req.Until.Unix(); s <= 0 || s > MaxTime {
			return bad("suspension end %s out of range", req.Until.Format(time.RFC3339))
		}
		if !req.At.IsZero() && !req.Until.After(req.At) {
			return bad("suspension end %s is not after its start %s", req.Until.Format(time.RFC3339), req.At.Format(time.RFC3339))
		}
	default:
		if !req.Until.IsZero() {
			return bad("an end (until) is for suspensions")
		}
	}
	if req.ReplacedBy != "" {
		if action != ActionRevoke || req.CertificateID == "" {
			return bad("a replacing certificate is for revoking one certificate by id")
		}
		if err := checkName("replacing certificate id", req.ReplacedBy, MaxIDBytes); err != nil {
			return err
		}
		if req.ReplacedBy == req.CertificateID {
			return bad("a certificate cannot replace itself")
		}
	}
	if action == ActionLift && req.Reason != 0 {
		return bad("a lift takes no reason (say why in the note)")
	}
	return nil
}

// target is one certificate a request selected.
type target struct {
	key      crl.Key
	issuerNo uint16
	issuer   string
	id       string
	skey     []byte
	cert     *certRec  // nil: not imported
	st       *revState // nil: no record
}

// errBulk: the selection is too large for a shared commit.
var errBulk = errors.New("registry: selection needs a bulk operation")

// bulkThreshold is the largest selection applied in a shared commit;
// larger ones go through the bulk path, in several transactions.
const bulkThreshold = 4096

// issuerCandidates returns the issuer numbers a selector may mean.
func (t *txc) issuerCandidates(issuer string) []uint16 {
	if issuer != "" {
		if n, ok := t.iss.nums[issuer]; ok {
			return []uint16{n}
		}
		return nil
	}
	out := make([]uint16, len(t.iss.names))
	for i := range out {
		out[i] = uint16(i + 1)
	}
	return out
}

func (t *txc) keyOf(issuerNo uint16, id string) crl.Key {
	return t.r.keyOf(t.iss.names[issuerNo-1], id)
}

// resolve finds the certificates a selector names. limit bounds the
// selection (errBulk past it; 0: no bound).
func (t *txc) resolve(action Action, sel *Selector, limit int) ([]*target, error) {
	var targets []*target
	switch {
	case sel.CertificateID != "":
		tg, err := t.resolveID(action, sel)
		if err != nil {
			return nil, err
		}
		targets = []*target{tg}
	case sel.BeneficiaryID != "":
		var err error
		if targets, err = t.resolveBeneficiary(sel); err != nil {
			return nil, err
		}
	default:
		var err error
		if targets, err = t.resolveBatch(sel, limit); err != nil {
			return nil, err
		}
	}
	for _, tg := range targets {
		if tg.st == nil && tg.skey != nil {
			v, ok, err := t.state.get(tg.skey)
			if err != nil {
				return nil, err
			}
			if ok {
				st, err := decodeState(v)
				if err != nil {
					return nil, err
				}
				tg.st = &st
			}
		}
	}
	slices.SortFunc(targets, func(a, b *target) int { return bytes.Compare(a.skey, b.skey) })
	return targets, nil
}

func (t *txc) resolveID(action Action, sel *Selector) (*target, error) {
	var found []*target
	for _, n := range t.issuerCandidates(sel.Issuer) {
		tg := &target{issuerNo: n, issuer: t.iss.names[n-1], id: sel.CertificateID}
		tg.key = t.keyOf(n, tg.id)
		tg.skey = stateKey(tg.key, n, tg.id)
		c, ok, err := t.findCert(tg.skey)
		if err != nil {
			return nil, err
		}
		if ok {
			tg.cert = &c
		}
		v, ok, err := t.state.get(tg.skey)
		if err != nil {
			return nil, err
		}
		if ok {
			st, err := decodeState(v)
			if err != nil {
				return nil, err
			}
			tg.st = &st
		}
		if tg.cert != nil || tg.st != nil {
			found = append(found, tg)
		}
	}
	switch {
	case len(found) == 1:
		return found[0], nil
	case len(found) > 1:
		var names []string
		for _, f := range found {
			names = append(names, f.issuer)
		}
		return nil, ruleErr(RuleIssuerAmbiguous, "certificate %q is known under issuers %q: give the issuer", sel.CertificateID, names)
	case action == ActionLift:
		return nil, fmt.Errorf("%w: certificate %q is neither imported nor revoked", ErrNotFound, sel.CertificateID)
	case sel.Issuer != "":
		if n, ok := t.iss.nums[sel.Issuer]; ok {
			tg := &target{issuerNo: n, issuer: sel.Issuer, id: sel.CertificateID}
			tg.key = t.keyOf(n, tg.id)
			tg.skey = stateKey(tg.key, n, tg.id)
			return tg, nil
		}
		// A new issuer: revoking an id of it makes the list cover it.
		return &target{issuer: sel.Issuer, id: sel.CertificateID}, nil
	case t.iss.only() != "":
		tg := &target{issuerNo: 1, issuer: t.iss.names[0], id: sel.CertificateID}
		tg.key = t.keyOf(1, tg.id)
		tg.skey = stateKey(tg.key, 1, tg.id)
		return tg, nil
	default:
		return nil, fmt.Errorf("%w: certificate %q is unknown and the registry covers %d issuers", ErrIssuerRequired, sel.CertificateID, len(t.iss.names))
	}
}

func (t *txc) resolveBeneficiary(sel *Selector) ([]*target, error) {
	h := benHash(sel.BeneficiaryID)
	byIssuer := map[uint16][]*target{}
	var issuers []uint16
	for _, n := range t.issuerCandidates(sel.Issuer) {
		var prefix [10]byte
		binary.BigEndian.PutUint16(prefix[:], n)
		binary.BigEndian.PutUint64(prefix[2:], h)
		err := t.scanIndex(indexBen, prefix[:], func(k []byte) error {
			if len(k) != 19 {
				return fmt.Errorf("%w: beneficiary index key", errCorrupt)
			}
			dose := int(k[10])
			ck := crl.Key(binary.BigEndian.Uint64(k[11:]))
			return t.certsOf(ck, n, func(c *certRec) error {
				if c.Beneficiary != sel.BeneficiaryID || c.Dose != dose {
					return nil
				}
				tg := &target{key: c.Key, issuerNo: n, issuer: t.iss.names[n-1], id: c.ID, cert: c}
				tg.skey = stateKey(tg.key, n, tg.id)
				if len(byIssuer[n]) == 0 {
					issuers = append(issuers, n)
				}
				byIssuer[n] = append(byIssuer[n], tg)
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
	}
	switch len(issuers) {
	case 0:
		return nil, fmt.Errorf("%w: no certificate of beneficiary %q", ErrNotFound, sel.BeneficiaryID)
	case 1:
	default:
		var names []string
		for _, n := range issuers {
			names = append(names, t.iss.names[n-1])
		}
		return nil, ruleErr(RuleIssuerAmbiguous, "beneficiary %q has certificates of issuers %q: give the issuer", sel.BeneficiaryID, names)
	}
	all := byIssuer[issuers[0]]
	byDose := map[int][]*target{}
	latest := 0
	for _, tg := range all {
		byDose[tg.cert.Dose] = append(byDose[tg.cert.Dose], tg)
		latest = max(latest, tg.cert.Dose)
	}
	if sel.AllDoses {
		return all, nil
	}
	issued := make([]int, 0, len(byDose))
	for d := range byDose {
		issued = append(issued, d)
	}
	slices.Sort(issued)
	if err := CheckDoses(sel.Doses, issued); err != nil {
		return nil, err
	}
	var out []*target
	for _, d := range sel.Doses {
		out = append(out, byDose[d]...)
	}
	return out, nil
}

func (t *txc) resolveBatch(sel *Selector, limit int) ([]*target, error) {
	bn, ok := batchNumber(t.tx, sel.Batch)
	if !ok {
		return nil, fmt.Errorf("%w: no certificate of batch %q", ErrNotFound, sel.Batch)
	}
	var out []*target
	issuers := map[uint16]bool{}
	for _, n := range t.issuerCandidates(sel.Issuer) {
		var prefix [6]byte
		binary.BigEndian.PutUint16(prefix[:], n)
		binary.BigEndian.PutUint32(prefix[2:], bn)
		err := t.scanIndex(indexBatch, prefix[:], func(k []byte) error {
			if len(k) != 14 {
				return fmt.Errorf("%w: batch index key", errCorrupt)
			}
			ck := crl.Key(binary.BigEndian.Uint64(k[6:]))
			return t.certsOf(ck, n, func(c *certRec) error {
				if c.BatchNo != bn {
					return nil
				}
				if limit > 0 && len(out) >= limit {
					return errBulk
				}
				tg := &target{key: c.Key, issuerNo: n, issuer: t.iss.names[n-1], id: c.ID, cert: c}
				tg.skey = stateKey(tg.key, n, tg.id)
				out = append(out, tg)
				issuers[n] = true
				return nil
			})
		})
		if err != nil {
			return nil, err
		}
	}
	switch {
	case len(out) == 0:
		return nil, fmt.Errorf("%w: no certificate of batch %q", ErrNotFound, sel.Batch)
	case len(issuers) > 1:
		return nil, ruleErr(RuleIssuerAmbiguous, "batch %q has certificates of %d issuers: give the issuer", sel.Batch, len(issuers))
	}
	return out, nil
}

// CheckDoses applies DIVOC's rule for revoking a beneficiary's
// certificates by dose: the doses asked for (in any order) must have been
// issued (issued is sorted), be distinct and consecutive, and include the
// latest dose issued. Revoking dose 1 while dose 2 stands is refused,
// because the dose-2 certificate restates dose 1. The error is a
// *RuleError.
func CheckDoses(doses []int, issued []int) error {
	if len(doses) == 0 {
		return fmt.Errorf("%w: no dose given", ErrInvalid)
	}
	ds := slices.Clone(doses)
	slices.Sort(ds)
	for _, d := range ds {
		if _, ok := slices.BinarySearch(issued, d); !ok {
			return ruleErr(RuleDoseNotIssued, "dose %d was not issued to the beneficiary (doses issued: %v)", d, issued)
		}
	}
	for i := 1; i < len(ds); i++ {
		if ds[i] != ds[i-1]+1 {
			return ruleErr(RuleDosesConsecutive, "doses %v are not consecutive: a dose list must be a sequence such as [2 3]", ds)
		}
	}
	if latest := issued[len(issued)-1]; ds[len(ds)-1] != latest {
		return ruleErr(RuleDosesIncludeLatest, "doses %v leave the latest dose %d standing: include dose %d (the later certificate restates the earlier doses)", ds, latest, latest)
	}
	return nil
}

// decide computes a target's record after the request, and whether it
// changes.
func decide(action Action, req *Request, tg *target, now int64) (revState, bool, error) {
	cur := tg.st
	at := unix(req.At)
	var after revState
	switch action {
	case ActionRevoke:
		inForce := cur != nil && cur.inForce(now)
		after = revState{Status: StatusRevoked, Reason: req.Reason}
		if req.Reason == 0 {
			switch {
			case cur != nil && cur.Status == StatusRevoked:
				after.Reason = cur.Reason
			case req.ReplacedBy != "":
				after.Reason = crl.ReasonSuperseded
			case req.Batch != "":
				after.Reason = crl.ReasonFaultyBatch
			}
		}
		switch {
		case at != 0:
			after.RevokedAt = at
		case inForce:
			after.RevokedAt = cur.RevokedAt
		default:
			after.RevokedAt = now
		}
		after.SupersededBy = req.ReplacedBy
		if after.SupersededBy == "" && cur != nil {
			after.SupersededBy = cur.SupersededBy
		}
	case ActionSuspend:
		if cur != nil && cur.Status == StatusRevoked {
			return revState{}, false, ruleErr(RuleRevokedNotSuspendable, "certificate %q is revoked: lift the revocation before suspending it", tg.id)
		}
		inForce := cur != nil && cur.Status == StatusSuspended && cur.inForce(now)
		after = revState{Status: StatusSuspended, Reason: req.Reason, Until: unix(req.Until)}
		if req.Reason == 0 {
			switch {
			case inForce:
				after.Reason = cur.Reason
			case req.Batch != "":
				after.Reason = crl.ReasonFaultyBatch
			default:
				after.Reason = crl.ReasonCertificateHold
			}
		}
		switch {
		case at != 0:
			after.RevokedAt = at
		case inForce:
			after.RevokedAt = cur.RevokedAt
		default:
			after.RevokedAt = now
		}
		if after.Until <= after.RevokedAt {
			return revState{}, false, fmt.Errorf("%w: suspension of %q would end (%s) before it starts (%s)", ErrInvalid, tg.id,
				fromUnix(after.Until).Format(time.RFC3339), fromUnix(after.RevokedAt).Format(time.RFC3339))
		}
		if cur != nil {
			after.SupersededBy = cur.SupersededBy
		}
	case ActionLift:
		if cur == nil || cur.Status == StatusLifted {
			if cur != nil {
				return *cur, false, nil
			}
			return revState{}, false, nil
		}
		after = *cur
		after.Status = StatusLifted
	}
	if cur != nil {
		after.LastSeq = cur.LastSeq
		if *cur == after {
			return after, false, nil
		}
	}
	return after, true, nil
}

// applyOp resolves and applies one request in the transaction. A request
// refused (by a rule, or as invalid) leaves the transaction untouched.
func (t *txc) applyOp(action Action, req *Request, limit int) (Outcome, error) {
	out := Outcome{Action: action}
	targets, err := t.resolve(action, &req.Selector, limit)
	if err != nil {
		return out, err
	}
	now := t.now.Unix()
	afters := make([]revState, len(targets))
	changed := make([]bool, len(targets))
	for i, tg := range targets {
		if afters[i], changed[i], err = decide(action, req, tg, now); err != nil {
			return out, err
		}
	}
	// Nothing written before this point.
	seq := t.nextSeq()
	var items []auditItem
	for i, tg := range targets {
		if changed[i] {
			if tg.issuerNo == 0 {
				n, err := t.addIssuer(tg.issuer, req.Actor)
				if err != nil {
					return out, err
				}
				seq = t.nextSeq()
				tg.issuerNo = n
				tg.key = t.keyOf(n, tg.id)
				tg.skey = stateKey(tg.key, n, tg.id)
			}
		}
	}
	for i, tg := range targets {
		out.Matched++
		cc := CertificateChange{Issuer: tg.issuer, CertificateID: tg.id, Changed: changed[i], After: afters[i].certState(now)}
		if tg.st != nil {
			cc.Before = tg.st.certState(now)
		} else {
			cc.Before = CertState{State: StateValid}
			if tg.cert == nil {
				cc.Before.State = StateUnknown
			}
		}
		if !changed[i] {
			out.Unchanged++
		} else {
			out.Changed++
			afters[i].LastSeq = seq
			cc.After.LastChange = seq
			if err := t.setState(tg, afters[i]); err != nil {
				return out, err
			}
			items = append(items, stateItem(tg.issuerNo, tg.id, &afters[i]))
		}
		if len(out.Certificates) < MaxOutcomeCertificates {
			out.Certificates = append(out.Certificates, cc)
		} else {
			out.Truncated = true
		}
	}
	if out.Changed == 0 {
		return out, nil
	}
	rec := requestRecord(action, req)
	got, err := t.appendAudit(rec, items)
	if err != nil {
		return out, err
	}
	if got != seq {
		return out, fmt.Errorf("%w: audit sequence %d, expected %d", errCorrupt, got, seq)
	}
	out.AuditSeq = seq
	return out, nil
}

// requestRecord is the audit record of a request, before its items.
func requestRecord(action Action, req *Request) *AuditRecord {
	return &AuditRecord{
		Action: action, Actor: req.Actor, Reason: req.Reason, Note: req.Note,
		Issuer: req.Issuer, CertificateID: req.CertificateID, BeneficiaryID: req.BeneficiaryID,
		Doses: slices.Clone(req.Doses), AllDoses: req.AllDoses, Batch: req.Batch,
		At: req.At, Until: req.Until, ReplacedBy: req.ReplacedBy,
	}
}

// setState writes a certificate's new record and keeps the chronological
// index, the change log and the counters in step.
func (t *txc) setState(tg *target, after revState) error {
	before := tg.st
	if err := t.logChange(tg.key); err != nil {
		return err
	}
	active := func(s *revState) bool {
		return s != nil && (s.Status == StatusRevoked || s.Status == StatusSuspended)
	}
	if active(before) && (!active(&after) || before.RevokedAt != after.RevokedAt) {
		if err := t.unindexChrono(tg, before.RevokedAt); err != nil {
			return err
		}
	}
	if active(&after) && (!active(before) || before.RevokedAt != after.RevokedAt) {
		if _, _, err := t.chrono.apply([]mut{{key: chronoKey(after.RevokedAt, tg.key), val: nil}}); err != nil {
			return err
		}
	}
	if _, _, err := t.state.apply([]mut{{key: tg.skey, val: after.encode()}}); err != nil {
		return err
	}
	if before != nil {
		(*t.counts.status(before.Status))--
	}
	(*t.counts.status(after.Status))++
	t.dirty = true
	st := after
	tg.st = &st
	return nil
}

// unindexChrono removes the chronological index item of a record revoked
// at revokedAt, unless another record of the same list key keeps it.
func (t *txc) unindexChrono(tg *target, revokedAt int64) error {
	kb := tg.key.Bytes()
	it := t.state.iter(kb[:])
	for it.next() && bytes.HasPrefix(it.key(), kb[:]) {
		if bytes.Equal(it.key(), tg.skey) {
			continue
		}
		st, err := decodeState(it.val())
		if err != nil {
			return err
		}
		if (st.Status == StatusRevoked || st.Status == StatusSuspended) && st.RevokedAt == revokedAt {
			return nil
		}
	}
	if it.err != nil {
		return it.err
	}
	_, _, err := t.chrono.apply([]mut{{key: chronoKey(revokedAt, tg.key), del: true}})
	return err
}

// chronoKey is the key of a chronological index item: revoked-at (8 BE),
// list key (8 BE).
func chronoKey(revokedAt int64, k crl.Key) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, uint64(revokedAt))
	binary.BigEndian.PutUint64(b[8:], uint64(k))
	return b
}

// logChange files, once per pending serial, what the list held for key k
// before its first change in that serial.
func (t *txc) logChange(k crl.Key) error {
	ck := changeKey(t.pending, k)
	if _, ok, err := t.changes.get(ck); err != nil || ok {
		return err
	}
	hs, err := t.holders(k)
	if err != nil {
		return err
	}
	_, _, err = t.changes.apply([]mut{{key: ck, val: encodeHolders(hs)}})
	return err
}

// holders returns the revoked and suspended records of list key k.
func (t *txc) holders(k crl.Key) ([]holder, error) {
	kb := k.Bytes()
	var hs []holder
	it := t.state.iter(kb[:])
	for it.next() && bytes.HasPrefix(it.key(), kb[:]) {
		st, err := decodeState(it.val())
		if err != nil {
			return nil, err
		}
		if st.Status == StatusRevoked || st.Status == StatusSuspended {
			hs = append(hs, holderOf(&st))
		}
	}
	if it.err != nil {
		return nil, it.err
	}
	// A carried entry of the key is listed too.
	if h, ok, err := t.carriedHolder(k); err != nil || ok {
		return append(hs, h), err
	}
	return hs, nil
}

func changeKey(serial uint64, k crl.Key) []byte {
	b := make([]byte, 16)
	binary.BigEndian.PutUint64(b, serial)
	binary.BigEndian.PutUint64(b[8:], uint64(k))
	return b
}
