package registry

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/crlverify/crlverify/crl"
)

// ImportOptions configure [Registry.ImportCertificates] and
// [Registry.ImportRevocations]. A nil *ImportOptions means the defaults.
type ImportOptions struct {
	// Format of the input; FormatAuto detects it.
	Format Format
	// Issuer is used for rows with no issuer; empty means the registry's
	// only issuer.
	Issuer string
	// Source names the input in the audit trail (e.g. the file name).
	Source string
	// Actor is who the audit trail names; empty means [Options.Actor].
	Actor string
	// Note is kept in the audit record.
	Note string
	// Progress, if set, is called every few thousand rows and at the end
	// of each phase, from the importing goroutine.
	Progress func(ImportProgress)
	// MaxErrors is how many bad rows to report before giving up; zero
	// means 20.
	MaxErrors int
	// MemoryBytes bounds the memory the sort uses (the import uses about
	// twice it in all); zero means 64 MiB.
	MemoryBytes int
}

// ImportProgress reports how far an import got.
type ImportProgress struct {
	// Phase is "reading" (rows are read, checked and sorted) or "writing"
	// (the sorted rows go into the registry).
	Phase string
	Rows  int64 // rows read and checked
	Bytes int64 // input bytes consumed
	// Written counts rows written, in the writing phase.
	Written int64
}

// Duplicate is an input row that repeats an earlier one exactly.
type Duplicate struct {
	Line          int    `json:"line"`
	FirstLine     int    `json:"first_line"`
	CertificateID string `json:"certificate_id"`
}

// MaxReportedDuplicates bounds CertImportResult.DuplicateRows.
const MaxReportedDuplicates = 20

// CertImportResult counts what a certificate import did.
type CertImportResult struct {
	Rows int64 `json:"rows"`
	// Imported certificates are new to the registry; Unchanged ones were
	// imported before with the same fields.
	Imported  int64 `json:"imported"`
	Unchanged int64 `json:"unchanged"`
	// Duplicates counts rows repeating an earlier row of the input; the
	// first MaxReportedDuplicates are listed.
	Duplicates    int64       `json:"duplicates"`
	DuplicateRows []Duplicate `json:"duplicate_rows,omitempty"`
	// Corrected counts earlier certificates the import's corrections
	// (previous_certificate_id) revoked as superseded; CorrectedUnchanged
	// those that already were.
	Corrected          int64 `json:"corrected"`
	CorrectedUnchanged int64 `json:"corrected_unchanged"`
	// AuditSeq is the import's audit record (0 when nothing was new).
	AuditSeq uint64 `json:"audit_seq,omitempty"`
}

// ImportResult counts what a revocation import did.
type ImportResult struct {
	Rows int64 `json:"rows"`
	// Changed certificates were revoked, suspended or updated; Unchanged
	// ones were already so.
	Changed   int64 `json:"changed"`
	Unchanged int64 `json:"unchanged"`
	// Replaced counts rows a later row for the same certificate replaced.
	Replaced int64 `json:"replaced"`
	// AuditSeq is the import's audit record (0 when nothing changed).
	AuditSeq uint64 `json:"audit_seq,omitempty"`
}

var certSchema = newSchema("certificates",
	[]string{"certificate_id", "issuer", "beneficiary_id", "dose", "batch", "issued_at", "valid_until", "previous_certificate_id"},
	map[string]string{"id": "certificate_id"},
	"certificate_id", "beneficiary_id", "dose", "issued_at")

// Columns of certSchema.
const (
	ccID = iota
	ccIssuer
	ccBeneficiary
	ccDose
	ccBatch
	ccIssuedAt
	ccValidUntil
	ccPrevious
)

var revSchema = newSchema("revocations",
	[]string{"id", "issuer", "reason", "revoked_at", "suspended_until"},
	map[string]string{"certificate_id": "id"},
	"id")

// Columns of revSchema.
const (
	rcID = iota
	rcIssuer
	rcReason
	rcRevokedAt
	rcUntil
)

func newSchema(what string, cols []string, aliases map[string]string, required ...string) *schema {
	s := &schema{what: what, cols: cols, aliases: map[string]int{}}
	for i, c := range cols {
		s.aliases[c] = i
	}
	for a, c := range aliases {
		s.aliases[a] = s.aliases[c]
	}
	for _, c := range required {
		s.required = append(s.required, s.aliases[c])
	}
	return s
}

// importer is what the two imports share: options, bad rows, the
// input's issuers numbered locally in order of appearance, the sorter.
type importer struct {
	r      *Registry
	o      ImportOptions
	ctx    context.Context
	dir    *workDir
	s      *sorter
	bad    *ImportError
	rows   int64
	rr     rowReader
	defIss string

	locals  []string
	localNo map[string]uint16
	keyers  []func(string) crl.Key
}

func (r *Registry) newImporter(ctx context.Context, opts *ImportOptions) (*importer, error) {
	im := &importer{r: r, ctx: ctx, bad: &ImportError{}, localNo: map[string]uint16{}}
	if opts != nil {
		im.o = *opts
	}
	if im.o.MaxErrors <= 0 {
		im.o.MaxErrors = 20
	}
	if im.o.MemoryBytes <= 0 {
		im.o.MemoryBytes = 64 << 20
	}
	im.o.Actor = r.actorOr(im.o.Actor)
	if err := checkName("actor", im.o.Actor, MaxNameBytes); err != nil {
		return nil, err
	}
	if err := checkNote(im.o.Note); err != nil {
		return nil, err
	}
	// The source is a file name: shown, never trusted to be printable.
	im.o.Source = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(im.o.Source, "?"))
	if len(im.o.Source) > MaxNameBytes {
		im.o.Source = strings.ToValidUTF8(im.o.Source[:MaxNameBytes], "")
	}
	if im.o.Issuer != "" {
		if err := checkName("issuer", im.o.Issuer, MaxIssuerBytes); err != nil {
			return nil, err
		}
	}
	if r.readOnly {
		return nil, fmt.Errorf("%w: the registry was opened read-only", ErrInvalid)
	}
	// The default issuer: the option, else the registry's only one.
	im.defIss = im.o.Issuer
	if im.defIss == "" {
		if err := r.view(func(t *txc) error {
			im.defIss = t.iss.only()
			return nil
		}); err != nil {
			return nil, err
		}
	}
	wd, err := newWorkDir(r.path)
	if err != nil {
		return nil, fmt.Errorf("registry: temporary directory: %w", err)
	}
	im.dir = wd
	im.s = newSorter(wd.path, im.o.MemoryBytes/2)
	return im, nil
}

func (im *importer) close() {
	if im.s != nil {
		im.s.close()
	}
	im.dir.remove()
}

func (im *importer) badRow(line int, err error) {
	im.bad.Rows = append(im.bad.Rows, &RowError{Line: line, Err: err})
}

func (im *importer) full() bool { return len(im.bad.Rows) >= im.o.MaxErrors }

func (im *importer) progress(p ImportProgress) {
	if im.o.Progress != nil {
		p.Rows = im.rows
		if im.rr != nil {
			p.Bytes = im.rr.bytesRead()
		}
		im.o.Progress(p)
	}
}

// local returns the input-local number of issuer (from 0) and its keyer.
func (im *importer) local(issuer string) (uint16, func(string) crl.Key, error) {
	if n, ok := im.localNo[issuer]; ok {
		return n, im.keyers[n], nil
	}
	if len(im.locals) >= MaxIssuers {
		return 0, nil, fmt.Errorf("%w: the input names more than %d issuers", ErrTooManyIssuers, MaxIssuers)
	}
	n := uint16(len(im.locals))
	im.locals = append(im.locals, issuer)
	im.localNo[issuer] = n
	if im.r.fastKeys {
		kr := crl.KeyerOf(issuer)
		im.keyers = append(im.keyers, kr.Key)
	} else {
		keyOf := im.r.keyOf
		im.keyers = append(im.keyers, func(id string) crl.Key { return keyOf(issuer, id) })
	}
	return n, im.keyers[n], nil
}

// read reads every row, calling check for each; check returns the sort
// key and value of a good row. Once a row is bad, rows are still read and
// checked (to report more) but no longer sorted.
func (im *importer) read(in io.Reader, sc *schema, check func(f []string) ([]byte, []byte, error)) error {
	r, err := newRowReader(in, im.o.Format, sc)
	if err != nil {
		return err
	}
	rr := newRowFeed(r, len(sc.cols))
	defer rr.stop()
	im.rr = rr
	for !im.full() {
		rw, err := rr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var re *RowError
			if errors.As(err, &re) {
				im.bad.Rows = append(im.bad.Rows, re)
				continue
			}
			return fmt.Errorf("registry: reading input: %w", err)
		}
		im.rows++
		if im.rows%8192 == 0 {
			if err := im.ctx.Err(); err != nil {
				return err
			}
			im.progress(ImportProgress{Phase: "reading"})
		}
		k, v, err := check(rw.fields)
		if err != nil {
			im.badRow(rw.line, err)
			continue
		}
		if len(im.bad.Rows) > 0 {
			continue
		}
		v = binary.BigEndian.AppendUint32(v, uint32(rw.line))
		if err := im.s.add(k, v); err != nil {
			return err
		}
	}
	if im.full() {
		if _, err := rr.next(); err != io.EOF {
			im.bad.Truncated = true
		}
	}
	im.progress(ImportProgress{Phase: "reading"})
	if len(im.bad.Rows) > 0 {
		return im.bad
	}
	return nil
}

// issuerMap numbers the input's issuers as the registry does: existing
// ones keep their number, new ones get the next numbers in order of
// appearance (added when the import commits).
func (im *importer) issuerMap(iss *issuerTable) ([]uint16, []string, error) {
	nums := make([]uint16, len(im.locals))
	var fresh []string
	for i, name := range im.locals {
		if n, ok := iss.nums[name]; ok {
			nums[i] = n
			continue
		}
		fresh = append(fresh, name)
		if len(iss.names)+len(fresh) > MaxIssuers {
			return nil, nil, fmt.Errorf("%w: the registry would cover more than %d", ErrTooManyIssuers, MaxIssuers)
		}
		nums[i] = uint16(len(iss.names) + len(fresh))
	}
	return nums, fresh, nil
}

// sortedRec is one record from the sorter: list key, local issuer, id,
// the rest of the value, and the line. id and val are valid until the
// next group is read.
type sortedRec struct {
	key      crl.Key
	local    uint16
	issuerNo uint16
	id       []byte
	val      []byte
	line     int
}

// groupReader returns the sorted records one list key at a time, copied
// into a buffer it reuses.
type groupReader struct {
	it     *mergeIter
	peeked bool // it holds the first record of the next group
	done   bool
	err    error
	nums   []uint16
	arena  []byte
	recs   []sortedRec
	ptrs   []*sortedRec
	spans  [][4]int // id start, id end, val start, val end in arena
}

// take copies the record under the iterator.
func (g *groupReader) take() bool {
	k, v := g.it.key, g.it.val
	if len(k) < 11 || len(v) < 4 {
		g.err = fmt.Errorf("%w: sort record", errCorrupt)
		return false
	}
	local := binary.BigEndian.Uint16(k[8:])
	if int(local) >= len(g.nums) {
		g.err = fmt.Errorf("%w: sort record", errCorrupt)
		return false
	}
	var sp [4]int
	sp[0] = len(g.arena)
	g.arena = append(g.arena, k[10:]...)
	sp[1] = len(g.arena)
	sp[2] = len(g.arena)
	g.arena = append(g.arena, v[:len(v)-4]...)
	sp[3] = len(g.arena)
	g.spans = append(g.spans, sp)
	g.recs = append(g.recs, sortedRec{key: crl.Key(binary.BigEndian.Uint64(k)), local: local, issuerNo: g.nums[local],
		line: int(binary.BigEndian.Uint32(v[len(v)-4:]))})
	return true
}

// next returns the records of the next list key, sorted by issuer number,
// id and line.
func (g *groupReader) next() ([]*sortedRec, bool) {
	if g.done {
		return nil, false
	}
	g.arena, g.recs, g.spans, g.ptrs = g.arena[:0], g.recs[:0], g.spans[:0], g.ptrs[:0]
	if !g.peeked && !g.it.next() {
		g.done, g.err = true, g.it.err
		return nil, false
	}
	g.peeked = false
	first := binary.BigEndian.Uint64(g.it.key)
	for {
		if !g.take() {
			g.done = true
			return nil, false
		}
		if !g.it.next() {
			g.done, g.err = true, g.it.err
			break
		}
		if binary.BigEndian.Uint64(g.it.key) != first {
			g.peeked = true
			break
		}
	}
	for i := range g.recs {
		sp := g.spans[i]
		g.recs[i].id, g.recs[i].val = g.arena[sp[0]:sp[1]:sp[1]], g.arena[sp[2]:sp[3]:sp[3]]
		g.ptrs = append(g.ptrs, &g.recs[i])
	}
	if len(g.ptrs) > 1 {
		slices.SortStableFunc(g.ptrs, func(a, b *sortedRec) int {
			if c := cmp.Compare(a.issuerNo, b.issuerNo); c != 0 {
				return c
			}
			if c := bytes.Compare(a.id, b.id); c != 0 {
				return c
			}
			return cmp.Compare(a.line, b.line)
		})
	}
	return g.ptrs, true
}

// appendSkey appends the record's state key to b.
func (s *sortedRec) appendSkey(b []byte) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(s.key))
	b = binary.BigEndian.AppendUint16(b, s.issuerNo)
	return append(b, s.id...)
}

func sortKey(k crl.Key, local uint16, id string) []byte {
	return appendSortKey(make([]byte, 0, 10+len(id)), k, local, id)
}

func appendSortKey(b []byte, k crl.Key, local uint16, id string) []byte {
	b = binary.BigEndian.AppendUint64(b, uint64(k))
	b = binary.BigEndian.AppendUint16(b, local)
	return append(b, id...)
}

// ImportCertificates reads issued certificates as CSV (with a header row)
// or JSON lines from in and adds them to the registry, all or none. The
// fields are certificate_id, issuer (default [ImportOptions.Issuer]),
// beneficiary_id, dose (1 to MaxDose), batch (may be empty), issued_at,
// and optionally valid_until and previous_certificate_id: a correction,
// whose previous certificate is revoked as superseded and linked to the
// new one. Times are RFC 3339, dates or Unix seconds.
//
// The input is streamed and sorted in bounded memory (temporary files
// beside the registry). If any row is bad nothing is imported and the
// error is an *ImportError naming the rows by line: a malformed field, a
// certificate given twice with different fields, or one the registry holds
// with different fields. A row repeating an earlier one exactly is
// reported as a duplicate; a certificate the registry already holds
// unchanged is counted, so importing the same input again changes
// nothing. Reading and sorting do not hold the registry file; writing
// does, about a microsecond per new certificate.
func (r *Registry) ImportCertificates(ctx context.Context, in io.Reader, opts *ImportOptions) (CertImportResult, error) {
	var res CertImportResult
	im, err := r.newImporter(ctx, opts)
	if err != nil {
		return res, err
	}
	defer im.close()
	val := make([]byte, 0, 4096)
	err = im.read(in, certSchema, func(f []string) ([]byte, []byte, error) {
		c, issuer, err := parseCertRow(f, im.defIss)
		if err != nil {
			return nil, nil, err
		}
		local, keyer, err := im.local(issuer)
		if err != nil {
			return nil, nil, err
		}
		val = val[:0]
		val = appendStr(val, c.Beneficiary)
		val = binary.AppendUvarint(val, uint64(c.Dose))
		val = appendStr(val, f[ccBatch])
		val = binary.AppendUvarint(val, uint64(c.IssuedAt))
		val = binary.AppendUvarint(val, uint64(c.ValidUntil))
		val = appendStr(val, c.Previous)
		return sortKey(keyer(c.ID), local, c.ID), val, nil
	})
	res.Rows = im.rows
	if err != nil {
		return res, err
	}
	sorted, err := im.s.sorted()
	if err != nil {
		return res, err
	}
	defer sorted.close()
	if err := r.writeCertificates(im, sorted, &res); err != nil {
		return res, err
	}
	if res.Imported > 0 {
		if err := r.compact(); err != nil {
			return res, fmt.Errorf("registry: the import committed; merging runs failed (the next import retries): %w", err)
		}
	}
	return res, nil
}

// parseCertRow checks one certificate row.
func parseCertRow(f []string, defIssuer string) (certRec, string, error) {
	c := certRec{ID: f[ccID], Beneficiary: f[ccBeneficiary], Previous: f[ccPrevious]}
	issuer := f[ccIssuer]
	if issuer == "" {
		if issuer = defIssuer; issuer == "" {
			return c, "", fmt.Errorf("%w: give the issuer (a column, or the default)", ErrIssuerRequired)
		}
	}
	if err := checkName("issuer", issuer, MaxIssuerBytes); err != nil {
		return c, "", err
	}
	if err := checkName("certificate_id", c.ID, MaxIDBytes); err != nil {
		return c, "", err
	}
	if err := checkName("beneficiary_id", c.Beneficiary, MaxNameBytes); err != nil {
		return c, "", err
	}
	dose, err := strconv.Atoi(f[ccDose])
	if err != nil || dose < 1 || dose > MaxDose {
		return c, "", fmt.Errorf("%w: dose %q: want 1 to %d", ErrInvalid, f[ccDose], MaxDose)
	}
	c.Dose = dose
	if f[ccBatch] != "" {
		if err := checkName("batch", f[ccBatch], MaxNameBytes); err != nil {
			return c, "", err
		}
	}
	at, err := ParseTime(f[ccIssuedAt])
	if err != nil {
		return c, "", fmt.Errorf("%w: issued_at: %v", ErrInvalid, err)
	}
	c.IssuedAt = at.Unix()
	if f[ccValidUntil] != "" {
		vu, err := ParseTime(f[ccValidUntil])
		if err != nil {
			return c, "", fmt.Errorf("%w: valid_until: %v", ErrInvalid, err)
		}
		if c.ValidUntil = vu.Unix(); c.ValidUntil <= c.IssuedAt {
			return c, "", fmt.Errorf("%w: valid_until %s is not after issued_at %s", ErrInvalid, f[ccValidUntil], f[ccIssuedAt])
		}
	}
	if c.Previous != "" {
		if err := checkName("previous_certificate_id", c.Previous, MaxIDBytes); err != nil {
			return c, "", err
		}
		if c.Previous == c.ID {
			return c, "", fmt.Errorf("%w: a certificate cannot correct itself", ErrInvalid)
		}
	}
	return c, issuer, nil
}

// certFields is a sorted certificate record's value; the slices alias it.
type certFields struct {
	ben        []byte
	dose       int
	batch      []byte
	issuedAt   int64
	validUntil int64
	prev       []byte
}

func decodeCertFields(v []byte) (certFields, error) {
	d := decoder{b: v}
	var f certFields
	f.ben = d.bytes(int(d.uvarint()))
	f.dose = int(d.uvarint())
	f.batch = d.bytes(int(d.uvarint()))
	f.issuedAt = int64(d.uvarint())
	f.validUntil = int64(d.uvarint())
	f.prev = d.bytes(int(d.uvarint()))
	if d.err != nil || len(d.b) != 0 {
		return f, fmt.Errorf("%w: sort record", errCorrupt)
	}
	return f, nil
}

// appendCertValue appends a certificate's stored value (see certRec).
func appendCertValue(b []byte, f certFields, batch uint32, importSeq uint64) []byte {
	b = binary.AppendUvarint(b, uint64(len(f.ben)))
	b = append(b, f.ben...)
	b = binary.AppendUvarint(b, uint64(f.dose))
	b = binary.AppendUvarint(b, uint64(batch))
	b = binary.AppendUvarint(b, uint64(f.issuedAt))
	b = binary.AppendUvarint(b, uint64(f.validUntil))
	b = binary.AppendUvarint(b, uint64(len(f.prev)))
	b = append(b, f.prev...)
	return binary.AppendUvarint(b, importSeq)
}

// appendCertItem appends a certificate's canonical audit item encoding
// (as AuditItem.Canonical does).
func appendCertItem(b []byte, issuer string, id []byte, f certFields) []byte {
	b = append(b, itemCertificate)
	b = cStr(b, issuer)
	b = cU32(b, uint32(len(id)))
	b = append(b, id...)
	b = cU32(b, uint32(len(f.ben)))
	b = append(b, f.ben...)
	b = cU32(b, uint32(f.dose))
	b = cU32(b, uint32(len(f.batch)))
	b = append(b, f.batch...)
	b = cI64(b, f.issuedAt)
	b = cI64(b, f.validUntil)
	b = cU32(b, uint32(len(f.prev)))
	return append(b, f.prev...)
}

// writeCertificates is the import's second phase, with the file held:
// the sorted rows are checked against each other and the registry, the
// new ones written to a new run with its indexes, and the run made live
// with the audit record; then the corrections are applied.
func (r *Registry) writeCertificates(im *importer, sorted *mergeIter, res *CertImportResult) error {
	return r.exclusive(func(db *bolt.DB) error {
		var iss *issuerTable
		var head auditHead
		if err := db.View(func(tx *bolt.Tx) error {
			t, err := r.newTxc(tx)
			if err != nil {
				return err
			}
			iss = t.iss
			head, err = t.auditHead()
			return err
		}); err != nil {
			return err
		}
		nums, fresh, err := im.issuerMap(iss)
		if err != nil {
			return err
		}
		allNames := append(slices.Clone(iss.names), fresh...)
		importSeq := head.seq + 1 + uint64(len(fresh))
		var runID uint64
		if err := db.Update(func(tx *bolt.Tx) error {
			t, err := r.newTxc(tx)
			if err != nil {
				return err
			}
			runID, err = t.createRun()
			return err
		}); err != nil {
			return err
		}
		committed := false
		defer func() {
			if !committed {
				_ = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketRuns).DeleteBucket(u64(runID)) })
			}
		}()
		ps := db.Info().PageSize
		cw := newTableWriter(ps)
		benS := newSorter(im.dir.path, im.o.MemoryBytes/8)
		defer benS.close()
		batS := newSorter(im.dir.path, im.o.MemoryBytes/8)
		defer batS.close()
		corS := newSorter(im.dir.path, 4<<20)
		defer corS.close()
		var m merkle
		var batches *batchInterner
		g := &groupReader{it: sorted, nums: nums}
		// Buffers reused row after row.
		var skey, val, ck, canon []byte
		leaves := sha256.New()
		var leaf Hash
		runLine := 0
		for done := false; !done; {
			err := db.Update(func(tx *bolt.Tx) error {
				releaseMapping(db, tx.Size())
				t, err := r.newTxc(tx)
				if err != nil {
					return err
				}
				runs, err := t.loadRuns()
				if err != nil {
					return err
				}
				if batches == nil {
					batches = newBatchInterner(tx)
				}
				finders := make([]*forwardFinder, len(runs))
				for i, rn := range runs {
					finders[i] = newForwardFinder(rn.tabs[indexCerts])
				}
				for cw.size < txBytes && !im.full() {
					grp, ok := g.next()
					if !ok {
						if g.err != nil {
							return g.err
						}
						done = true
						break
					}
					for i, rec := range grp {
						f, err := decodeCertFields(rec.val)
						if err != nil {
							return err
						}
						if i > 0 && grp[i-1].issuerNo == rec.issuerNo && bytes.Equal(grp[i-1].id, rec.id) {
							if bytes.Equal(grp[i-1].val, rec.val) {
								res.Duplicates++
								if len(res.DuplicateRows) < MaxReportedDuplicates {
									res.DuplicateRows = append(res.DuplicateRows, Duplicate{Line: rec.line, FirstLine: runLine, CertificateID: string(rec.id)})
								}
							} else {
								im.badRow(rec.line, fmt.Errorf("%w: certificate %q given again with other fields (first on line %d)", ErrInvalid, rec.id, runLine))
							}
							continue
						}
						runLine = rec.line
						skey = rec.appendSkey(skey[:0])
						exists := false
						for _, fd := range finders {
							v, ok, err := fd.find(skey)
							if err != nil {
								return err
							}
							if !ok {
								continue
							}
							exists = true
							old, err := decodeCert(skey, v)
							if err != nil {
								return err
							}
							same := old.Beneficiary == string(f.ben) && old.Dose == f.dose && old.IssuedAt == f.issuedAt &&
								old.ValidUntil == f.validUntil && old.Previous == string(f.prev)
							if same {
								bn := uint32(0)
								if len(f.batch) > 0 {
									bn, _ = batchNumber(tx, string(f.batch))
								}
								same = bn == old.BatchNo
							}
							if same {
								res.Unchanged++
							} else {
								im.badRow(rec.line, fmt.Errorf("%w: certificate %q was imported before with other fields (audit record %d)", ErrInvalid, rec.id, old.ImportSeq))
							}
							break
						}
						if exists || len(im.bad.Rows) > 0 {
							continue
						}
						var bn uint32
						if len(f.batch) > 0 {
							if bn, err = batches.number(tx, f.batch); err != nil {
								return err
							}
						}
						val = appendCertValue(val[:0], f, bn, importSeq)
						cw.add(skey, val)
						canon = appendCertItem(canon[:0], allNames[rec.issuerNo-1], rec.id, f)
						leaves.Reset()
						leaves.Write([]byte{0})
						leaves.Write(canon)
						leaves.Sum(leaf[:0])
						m.addLeafHash(leaf)
						ck = appendBenKey(ck[:0], rec.issuerNo, benHash(string(f.ben)), f.dose, rec.key)
						if err := benS.add(ck, nil); err != nil {
							return err
						}
						if bn != 0 {
							ck = appendBatchKey(ck[:0], rec.issuerNo, bn, rec.key)
							if err := batS.add(ck, nil); err != nil {
								return err
							}
						}
						if len(f.prev) > 0 {
							prev := string(f.prev)
							pk := im.keyers[rec.local](prev)
							op := stagedOp{action: ActionRevoke, flags: stagedSoftAt, at: f.issuedAt, replacedBy: string(rec.id), line: rec.line}
							if err := corS.add(stateKey(pk, rec.issuerNo, prev), op.encode()); err != nil {
								return err
							}
						}
						res.Imported++
						if res.Imported%8192 == 0 {
							im.progress(ImportProgress{Phase: "writing", Written: res.Imported})
						}
					}
				}
				if im.full() {
					done = true
				}
				if len(im.bad.Rows) > 0 {
					return nil
				}
				return cw.flush(tx.Bucket(bucketRuns).Bucket(u64(runID)).Bucket(runTableNames[indexCerts]), done)
			})
			if err != nil {
				return err
			}
			if r.stepHook != nil {
				r.stepHook("import")
			}
		}
		if len(im.bad.Rows) > 0 {
			if im.full() {
				im.bad.Truncated = true
			}
			return im.bad
		}
		if res.Imported == 0 {
			return nil
		}
		// The indexes.
		counts, err := writeIndexes(db, runID, cw.count, benS, batS, ps)
		if err != nil {
			return err
		}
		// The corrections, staged and checked.
		stage, ncor, err := r.stageCorrections(db, corS, allNames, im)
		if err != nil {
			return err
		}
		if len(im.bad.Rows) > 0 {
			return im.bad
		}
		// Commit: issuers, the import record, the run, the corrections.
		var in *bulkIntent
		if err := db.Update(func(tx *bolt.Tx) error {
			return runTxc(r, tx, func(t *txc) error {
				for i, name := range fresh {
					n, err := t.addIssuer(name, im.o.Actor)
					if err != nil {
						return err
					}
					if int(n) != len(iss.names)+i+1 {
						return fmt.Errorf("%w: issuer numbering changed during the import", errCorrupt)
					}
				}
				if err := batches.commit(tx); err != nil {
					return err
				}
				if t.nextSeq() != importSeq {
					return fmt.Errorf("%w: audit trail moved during the import", errCorrupt)
				}
				rec := &AuditRecord{Action: ActionImport, Actor: im.o.Actor, Source: im.o.Source, Note: im.o.Note,
					ItemCount: m.N, ItemsRoot: m.root()}
				if err := t.putRecord(rec); err != nil {
					return err
				}
				res.AuditSeq = rec.Seq
				rn, err := t.openRun(runID)
				if err != nil {
					return err
				}
				rn.meta = runMeta{live: true, n: counts}
				if err := rn.b.Put(runMetaKey, rn.meta.encode()); err != nil {
					return err
				}
				t.counts.certs += counts[indexCerts]
				t.dirty = true
				if ncor > 0 {
					chrono, err := nextID(t.meta)
					if err != nil {
						return err
					}
					if _, err := t.tx.Bucket(bucketStage).CreateBucket(u64(chrono)); err != nil {
						return err
					}
					in = &bulkIntent{Stage: stage, Chrono: chrono, Seq: t.nextSeq(), Record: AuditRecord{Action: ActionRevoke, Actor: im.o.Actor,
						Source: im.o.Source, Note: im.o.Note, Reason: crl.ReasonSuperseded}}
					v, err := json.Marshal(in)
					if err != nil {
						return err
					}
					return t.meta.Put(metaBulk, v)
				}
				return nil
			})
		}); err != nil {
			if ncor > 0 {
				dropStage(db, stage)
			}
			return err
		}
		committed = true
		im.progress(ImportProgress{Phase: "writing", Written: res.Imported})
		if in != nil {
			var out Outcome
			if err := r.applyBulk(db, in, &out); err != nil {
				return fmt.Errorf("registry: the import committed; applying its corrections failed (the next use of the registry finishes them): %w", err)
			}
			res.Corrected, res.CorrectedUnchanged = int64(out.Changed), int64(out.Unchanged)
		}
		return nil
	})
}

// writeIndexes writes a run's beneficiary and batch indexes from the
// sorters of their keys, and returns the run's table counts, certs the
// number of its certificates.
func writeIndexes(db *bolt.DB, runID, certs uint64, benS, batS *sorter, pageSize int) ([numRunTables]uint64, error) {
	var counts [numRunTables]uint64
	counts[indexCerts] = certs
	for _, ix := range []struct {
		kind int
		s    *sorter
	}{{indexBen, benS}, {indexBatch, batS}} {
		n, err := writeIndex(db, runID, ix.kind, ix.s, pageSize)
		if err != nil {
			return counts, err
		}
		counts[ix.kind] = n
	}
	return counts, nil
}

// writeIndex writes a run's index table from a sorter of its keys.
func writeIndex(db *bolt.DB, runID uint64, kind int, s *sorter, pageSize int) (uint64, error) {
	it, err := s.sorted()
	if err != nil {
		return 0, err
	}
	defer it.close()
	w := newTableWriter(pageSize)
	var last []byte
	for done := false; !done; {
		err := db.Update(func(tx *bolt.Tx) error {
			for w.size < txBytes {
				if !it.next() {
					done = true
					break
				}
				if last != nil && bytes.Equal(it.key, last) {
					continue // two certificates sharing a list key and more
				}
				last = append(last[:0], it.key...)
				w.add(bytes.Clone(it.key), nil)
			}
			if it.err != nil {
				return it.err
			}
			return w.flush(tx.Bucket(bucketRuns).Bucket(u64(runID)).Bucket(runTableNames[kind]), done)
		})
		if err != nil {
			return 0, err
		}
	}
	return w.count, nil
}

// stageCorrections stages the revocations an import's corrections make.
// A certificate corrected twice, or already superseded by another, is a
// bad row.
func (r *Registry) stageCorrections(db *bolt.DB, s *sorter, names []string, im *importer) (uint64, int, error) {
	it, err := s.sorted()
	if err != nil {
		return 0, 0, err
	}
	defer it.close()
	var stage uint64
	n := 0
	w := newTableWriter(db.Info().PageSize)
	var last []byte
	lastLine := 0
	for done := false; !done; {
		err := db.Update(func(tx *bolt.Tx) error {
			if stage == 0 {
				var err error
				if stage, err = nextID(tx.Bucket(bucketMeta)); err != nil {
					return err
				}
				if _, err := tx.Bucket(bucketStage).CreateBucket(u64(stage)); err != nil {
					return err
				}
			}
			finder := newForwardFinder(newTable(tx.Bucket(bucketState), db.Info().PageSize))
			for w.size < txBytes && !im.full() {
				if !it.next() {
					done = true
					break
				}
				op, err := decodeStagedOp(it.val)
				if err != nil {
					return err
				}
				_, _, id, err := splitStateKey(it.key)
				if err != nil {
					return err
				}
				if last != nil && bytes.Equal(it.key, last) {
					im.badRow(max(op.line, lastLine), fmt.Errorf("%w: certificate %q is corrected twice (also on line %d)", ErrInvalid, id, min(op.line, lastLine)))
					continue
				}
				last, lastLine = append(last[:0], it.key...), op.line
				v, ok, err := finder.find(it.key)
				if err != nil {
					return err
				}
				if ok {
					st, err := decodeState(v)
					if err != nil {
						return err
					}
					if st.SupersededBy != "" && st.SupersededBy != op.replacedBy {
						im.badRow(op.line, fmt.Errorf("%w: certificate %q was already superseded by %q", ErrInvalid, id, st.SupersededBy))
						continue
					}
				}
				w.add(bytes.Clone(it.key), bytes.Clone(it.val))
				n++
			}
			if it.err != nil {
				return it.err
			}
			if im.full() {
				done = true
			}
			return w.flush(stageBucket(tx, stage), done)
		})
		if err != nil {
			if stage != 0 {
				dropStage(db, stage)
			}
			return 0, 0, err
		}
	}
	if n == 0 || len(im.bad.Rows) > 0 {
		dropStage(db, stage)
		return 0, 0, nil
	}
	return stage, n, nil
}

// ImportRevocations reads revocations as CSV or JSON lines from in and
// applies them all or none. Fields: id (or certificate_id; required),
// issuer (default [ImportOptions.Issuer]), reason (a [crl.Reason] name or
// code; default unspecified), revoked_at (RFC 3339, a date, or Unix
// seconds; default now, or the original time of a certificate already
// revoked), suspended_until (same forms; makes the row a suspension).
// When one certificate appears in several rows, the last row wins.
//
// The input is streamed and sorted in bounded memory; if any row is bad
// (malformed, or refused by a rule such as suspending a revoked
// certificate) nothing is applied and the error is an *ImportError naming
// the rows by line. The changes then apply as one bulk operation with one
// audit record, none if nothing changes (see the package documentation).
func (r *Registry) ImportRevocations(ctx context.Context, in io.Reader, opts *ImportOptions) (ImportResult, error) {
	var res ImportResult
	im, err := r.newImporter(ctx, opts)
	if err != nil {
		return res, err
	}
	defer im.close()
	now := r.clock()
	// Buffers reused row after row (the sorter copies), and the reasons
	// seen so far (a few names, at most reasonCache of them).
	var key, val []byte
	reasons := map[string]crl.Reason{}
	const reasonCache = 64
	err = im.read(in, revSchema, func(f []string) ([]byte, []byte, error) {
		issuer := f[rcIssuer]
		if issuer == "" {
			if issuer = im.defIss; issuer == "" {
				return nil, nil, fmt.Errorf("%w: give the issuer (a column, or the default)", ErrIssuerRequired)
			}
		}
		if err := checkName("issuer", issuer, MaxIssuerBytes); err != nil {
			return nil, nil, err
		}
		id := f[rcID]
		if err := checkName("id", id, MaxIDBytes); err != nil {
			return nil, nil, err
		}
		op := stagedOp{action: ActionRevoke}
		var ok bool
		if op.reason, ok = reasons[f[rcReason]]; !ok {
			var err error
			if op.reason, err = crl.ParseReason(f[rcReason]); err != nil {
				return nil, nil, err
			}
			if len(reasons) < reasonCache {
				reasons[f[rcReason]] = op.reason
			}
		}
		if f[rcRevokedAt] != "" {
			t, err := ParseTime(f[rcRevokedAt])
			if err != nil {
				return nil, nil, fmt.Errorf("revoked_at: %w", err)
			}
			op.at = t.Unix()
		}
		if f[rcUntil] != "" {
			t, err := ParseTime(f[rcUntil])
			if err != nil {
				return nil, nil, fmt.Errorf("suspended_until: %w", err)
			}
			op.action, op.until = ActionSuspend, t.Unix()
			start := op.at
			if start == 0 {
				start = now.Unix()
			}
			if op.until <= start {
				return nil, nil, fmt.Errorf("%w: suspension end %s is not after revoked-at %s", ErrInvalid,
					t.Format("2006-01-02T15:04:05Z"), fromUnix(start).Format("2006-01-02T15:04:05Z"))
			}
		}
		local, keyer, err := im.local(issuer)
		if err != nil {
			return nil, nil, err
		}
		key = appendSortKey(key[:0], keyer(id), local, id)
		val = op.appendTo(val[:0])
		return key, val, nil
	})
	res.Rows = im.rows
	if err != nil {
		return res, err
	}
	sorted, err := im.s.sorted()
	if err != nil {
		return res, err
	}
	defer sorted.close()
	err = r.exclusive(func(db *bolt.DB) error { return r.importRevocations(db, im, sorted, &res) })
	return res, err
}
