package registry

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/crlverify/crlverify/crl"
)

// MaxLineBytes bounds one line of import input. A valid row is far
// shorter (an id is at most MaxIDBytes, an issuer MaxIssuerBytes).
const MaxLineBytes = 64 << 10

// Format is an import input format.
type Format string

// Import formats.
const (
	// FormatAuto detects the format from the first non-blank byte: '{'
	// means JSON lines, anything else CSV.
	FormatAuto Format = ""
	// FormatCSV: a header row naming the columns (id, issuer, reason,
	// revoked_at, suspended_until; only id is required; any order), then
	// one revocation per row.
	FormatCSV Format = "csv"
	// FormatJSONLines: one JSON object per line with the same field names.
	FormatJSONLines Format = "jsonl"
)

// ImportOptions configure [Registry.Import]. A nil *ImportOptions means
// the defaults.
type ImportOptions struct {
	// Format of the input; FormatAuto detects it.
	Format Format
	// Issuer is used for rows with no issuer; empty means the registry's
	// only issuer.
	Issuer string
	// Source names the input in the audit trail (e.g. the file name).
	Source string
	// Progress, if set, is called every few thousand rows and once at the
	// end, from the importing goroutine.
	Progress func(ImportProgress)
	// MaxErrors is how many bad rows to report before giving up; zero
	// means 20.
	MaxErrors int
}

// ImportProgress reports how far an import got.
type ImportProgress struct {
	Rows    int64 // rows read and checked
	Bytes   int64 // input bytes consumed
	Applied int64 // rows applied, once every row has been read and checked
}

// ImportResult counts what an import or batch did.
type ImportResult struct {
	Rows      int64 `json:"rows"`      // rows read
	Changed   int64 `json:"changed"`   // rows that revoked or updated a certificate
	Unchanged int64 `json:"unchanged"` // rows that matched what the registry already held
}

// RowError is one bad input row.
type RowError struct {
	Line int   // 1-based line number in the input (row number for a batch)
	Err  error // why
}

func (e *RowError) Error() string { return fmt.Sprintf("line %d: %v", e.Line, e.Err) }
func (e *RowError) Unwrap() error { return e.Err }

// ImportError lists the bad rows of an import that was refused as a whole:
// nothing was applied.
type ImportError struct {
	Rows []*RowError
	// Truncated is set when more bad rows followed than were reported.
	Truncated bool
}

func (e *ImportError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "nothing imported: %d bad row", len(e.Rows))
	if len(e.Rows) != 1 {
		b.WriteString("s")
	}
	if e.Truncated {
		b.WriteString(" (and more)")
	}
	for i, r := range e.Rows {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(r.Error())
	}
	return b.String()
}

// Unwrap returns the row errors, so errors.Is finds e.g. ErrInvalid.
func (e *ImportError) Unwrap() []error {
	out := make([]error, len(e.Rows))
	for i, r := range e.Rows {
		out[i] = r
	}
	return out
}

var errEndOfRows = errors.New("end of rows")

// Import reads revocations as CSV or JSON lines from in and applies them
// all in one transaction. The input is streamed; the checked rows are kept
// compactly (under 100 bytes each plus the id) until all of them are read,
// then applied in list-key order. If any row is bad nothing is applied and
// the error is an *ImportError listing bad rows by line number. When one
// certificate appears in several rows, the last row wins. Other changes
// and publications wait until Import returns, reading included: give it a
// reader that does not stall.
//
// Fields: id (required), issuer (default [ImportOptions.Issuer]), reason (a
// [crl.Reason] name or code; default unspecified), revoked_at (RFC 3339,
// a date, or Unix seconds; default now), suspended_until (same forms;
// empty means permanent).
func (r *Registry) Import(in io.Reader, opts *ImportOptions) (ImportResult, error) {
	var o ImportOptions
	if opts != nil {
		o = *opts
	}
	cr := &countingReader{r: in}
	next, err := rowSource(cr, o.Format)
	if err != nil {
		return ImportResult{}, err
	}
	return r.apply(next, &o, cr)
}

// rowSource returns the row reader of in: next returns each row with its
// line number, a *RowError for a bad row, errEndOfRows at the end, or
// another error when reading fails. A bad CSV header is an *ImportError.
func rowSource(in io.Reader, format Format) (func() (Revocation, int, error), error) {
	br := bufio.NewReaderSize(in, 64<<10)
	if format == FormatAuto {
		var err error
		if format, err = detectFormat(br); err != nil {
			return nil, err
		}
	}
	switch format {
	case FormatCSV:
		p, err := newCSVRows(br)
		if err != nil {
			return nil, &ImportError{Rows: []*RowError{err}}
		}
		return p.next, nil
	case FormatJSONLines:
		return newJSONRows(br).next, nil
	default:
		return nil, fmt.Errorf("registry: unknown import format %q", format)
	}
}

// stagedRow is one validated input row waiting to be applied.
type stagedRow struct {
	e      crl.Entry
	line   int
	issuer string
	id     string
}

// apply reads every row from next, validating each; if all are good it
// applies them in list-key order (input order among rows of one key), all
// in the same write transaction. Applying in key order makes every bucket
// write sequential, which keeps a million-row transaction fast.
func (r *Registry) apply(next func() (Revocation, int, error), o *ImportOptions, cr *countingReader) (ImportResult, error) {
	maxErrors := o.MaxErrors
	if maxErrors <= 0 {
		maxErrors = 20
	}
	var res ImportResult
	progress := func(applied int64) {
		if o.Progress != nil {
			p := ImportProgress{Rows: res.Rows, Applied: applied}
			if cr != nil {
				p.Bytes = cr.n
			}
			o.Progress(p)
		}
	}
	err := r.update(o.Source, func(t *txn) error {
		bad := &ImportError{}
		var rows []stagedRow
		issuers := map[string]string{} // interned issuer names new to the registry
		for len(bad.Rows) < maxErrors {
			rv, line, err := next()
			if err == errEndOfRows {
				break
			}
			var rowErr *RowError
			if errors.As(err, &rowErr) {
				bad.Rows = append(bad.Rows, rowErr)
				continue
			} else if err != nil {
				return err // I/O: stop
			}
			if res.Rows++; res.Rows%8192 == 0 {
				progress(0)
			}
			if rv, err = t.normalize(rv, o.Issuer); err != nil {
				bad.Rows = append(bad.Rows, &RowError{Line: line, Err: err})
				continue
			}
			issuer, ok := issuers[rv.Issuer]
			if !ok {
				if !t.known[rv.Issuer] && len(t.known)+len(issuers) >= MaxIssuers {
					bad.Rows = append(bad.Rows, &RowError{Line: line,
						Err: fmt.Errorf("%w: issuer %q would exceed %d", ErrTooManyIssuers, rv.Issuer, MaxIssuers)})
					continue
				}
				issuer = rv.Issuer
				issuers[issuer] = issuer
			}
			if len(bad.Rows) > 0 {
				continue // keep validating, stop collecting
			}
			e := rv.Entry()
			e.Key = t.keyOf(issuer, rv.ID)
			rows = append(rows, stagedRow{e: e, line: line, issuer: issuer, id: rv.ID})
		}
		if len(bad.Rows) >= maxErrors {
			if _, _, err := next(); err != errEndOfRows {
				bad.Truncated = true
			}
		}
		progress(0)
		if len(bad.Rows) > 0 {
			return bad
		}
		slices.SortStableFunc(rows, func(a, b stagedRow) int { return cmp.Compare(a.e.Key, b.e.Key) })
		// Sequential inserts: pack pages fuller than the default half.
		t.rev.FillPercent, t.list.FillPercent, t.changes.FillPercent = 0.9, 0.9, 0.9
		for i, row := range rows {
			changed, err := t.revoke(row.issuer, row.id, row.e)
			if err != nil {
				return fmt.Errorf("line %d: %w", row.line, err)
			}
			if changed {
				res.Changed++
			} else {
				res.Unchanged++
			}
			if i%8192 == 8191 {
				progress(int64(i + 1))
			}
		}
		progress(int64(len(rows)))
		return nil
	})
	if err != nil {
		return ImportResult{Rows: res.Rows}, err
	}
	return res, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// detectFormat skips a UTF-8 byte order mark and looks at the first
// non-blank byte.
func detectFormat(br *bufio.Reader) (Format, error) {
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		br.Discard(3)
	}
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if len(b) < i {
			if err == io.EOF || err == nil {
				return FormatCSV, nil // empty input: the CSV reader reports the missing header
			}
			if err == bufio.ErrBufferFull {
				return FormatCSV, nil
			}
			return "", err
		}
		switch b[i-1] {
		case ' ', '\t', '\r', '\n':
			continue
		case '{':
			return FormatJSONLines, nil
		default:
			return FormatCSV, nil
		}
	}
}

// lineLimiter fails a read once a line grows past MaxLineBytes.
type lineLimiter struct {
	r    io.Reader
	cur  int // bytes in the current line so far
	line int // current line number, from 1
}

func (l *lineLimiter) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	for _, c := range p[:n] {
		if c == '\n' {
			l.cur = 0
			l.line++
			continue
		}
		if l.cur++; l.cur > MaxLineBytes {
			return 0, &RowError{Line: l.line, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)}
		}
	}
	return n, err
}

// Columns a CSV header may name.
const (
	colID = iota
	colIssuer
	colReason
	colRevokedAt
	colSuspendedUntil
	numCols
)

var colNames = [numCols]string{"id", "issuer", "reason", "revoked_at", "suspended_until"}

type csvRows struct {
	r    *csv.Reader
	lim  *lineLimiter
	col  [numCols]int // field index of each column, -1 if absent
	done bool
}

func newCSVRows(in io.Reader) (*csvRows, *RowError) {
	p := &csvRows{lim: &lineLimiter{r: in, line: 1}}
	p.r = csv.NewReader(p.lim)
	p.r.ReuseRecord = true
	header, err := p.r.Read()
	if err != nil {
		if err == io.EOF {
			return nil, &RowError{Line: 1, Err: errors.New("empty input: want a CSV header row (id,issuer,reason,revoked_at[,suspended_until]) or JSON lines")}
		}
		return nil, csvRowError(err, p.lim.line)
	}
	for i := range p.col {
		p.col[i] = -1
	}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(name))
		found := false
		for c, want := range colNames {
			if name == want {
				if p.col[c] >= 0 {
					return nil, &RowError{Line: 1, Err: fmt.Errorf("header names column %q twice", name)}
				}
				p.col[c], found = i, true
			}
		}
		if !found {
			return nil, &RowError{Line: 1, Err: fmt.Errorf("unknown column %q in header (known: %s)", name, strings.Join(colNames[:], ", "))}
		}
	}
	if p.col[colID] < 0 {
		return nil, &RowError{Line: 1, Err: errors.New(`header has no "id" column`)}
	}
	p.r.FieldsPerRecord = len(header)
	return p, nil
}

func csvRowError(err error, line int) *RowError {
	var re *RowError
	if errors.As(err, &re) {
		return re
	}
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &RowError{Line: pe.StartLine, Err: pe.Err}
	}
	return &RowError{Line: line, Err: err}
}

func (p *csvRows) next() (Revocation, int, error) {
	if p.done {
		return Revocation{}, 0, errEndOfRows
	}
	rec, err := p.r.Read()
	if err == io.EOF {
		p.done = true
		return Revocation{}, 0, errEndOfRows
	}
	if err != nil {
		var pe *csv.ParseError
		var re *RowError
		switch {
		case errors.As(err, &pe):
			// After a quoting error the reader cannot resynchronise
			// reliably; a wrong field count affects one row only.
			p.done = !errors.Is(pe.Err, csv.ErrFieldCount)
			return Revocation{}, 0, &RowError{Line: pe.StartLine, Err: pe.Err}
		case errors.As(err, &re):
			p.done = true
			return Revocation{}, 0, re
		default:
			p.done = true
			return Revocation{}, 0, err // I/O error
		}
	}
	line, _ := p.r.FieldPos(0)
	field := func(c int) string {
		if p.col[c] < 0 {
			return ""
		}
		return rec[p.col[c]]
	}
	rv, err := parseRow(field(colID), field(colIssuer), field(colReason), field(colRevokedAt), field(colSuspendedUntil))
	if err != nil {
		return Revocation{}, 0, &RowError{Line: line, Err: err}
	}
	return rv, line, nil
}

func parseRow(id, issuer, reason, revokedAt, until string) (Revocation, error) {
	rv := Revocation{ID: id, Issuer: issuer}
	var err error
	if id == "" {
		return rv, errors.New("id is empty")
	}
	if rv.Reason, err = crl.ParseReason(reason); err != nil {
		return rv, err
	}
	if revokedAt != "" {
		if rv.RevokedAt, err = ParseTime(revokedAt); err != nil {
			return rv, fmt.Errorf("revoked_at: %w", err)
		}
	}
	if until != "" {
		if rv.SuspendedUntil, err = ParseTime(until); err != nil {
			return rv, fmt.Errorf("suspended_until: %w", err)
		}
	}
	return rv, nil
}

// ParseTime accepts an RFC 3339 time ("2026-11-22T09:00:00Z"), a date
// ("2026-11-22", midnight UTC) or Unix seconds ("1795338000"). Times are
// kept at second resolution, in UTC.
func ParseTime(s string) (time.Time, error) {
	if s != "" && strings.Trim(s, "0123456789") == "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n > MaxTime {
			return time.Time{}, fmt.Errorf("unix time %q out of range", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC().Truncate(time.Second), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("bad time %q (want RFC 3339 like 2026-11-22T09:00:00Z, a date 2026-11-22, or Unix seconds)", s)
}

type jsonRows struct {
	sc   *bufio.Scanner
	line int
	done bool
}

func newJSONRows(in io.Reader) *jsonRows {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	return &jsonRows{sc: sc}
}

type jsonRow struct {
	ID             *string         `json:"id"`
	Issuer         string          `json:"issuer"`
	Reason         json.RawMessage `json:"reason"`
	RevokedAt      json.RawMessage `json:"revoked_at"`
	SuspendedUntil json.RawMessage `json:"suspended_until"`
}

func (p *jsonRows) next() (Revocation, int, error) {
	for !p.done {
		if !p.sc.Scan() {
			p.done = true
			if err := p.sc.Err(); err != nil {
				if errors.Is(err, bufio.ErrTooLong) {
					return Revocation{}, 0, &RowError{Line: p.line + 1, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)}
				}
				return Revocation{}, 0, err
			}
			break
		}
		p.line++
		b := bytes.TrimSpace(p.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		rv, err := parseJSONRow(b)
		if err != nil {
			return Revocation{}, 0, &RowError{Line: p.line, Err: err}
		}
		return rv, p.line, nil
	}
	return Revocation{}, 0, errEndOfRows
}

func parseJSONRow(b []byte) (Revocation, error) {
	var row jsonRow
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&row); err != nil {
		return Revocation{}, fmt.Errorf("bad JSON: %v", err)
	}
	if dec.More() {
		return Revocation{}, errors.New("bad JSON: more than one value on the line")
	}
	if row.ID == nil {
		return Revocation{}, errors.New(`no "id"`)
	}
	reason, err := jsonScalar(row.Reason)
	if err != nil {
		return Revocation{}, fmt.Errorf("reason: %w", err)
	}
	at, err := jsonScalar(row.RevokedAt)
	if err != nil {
		return Revocation{}, fmt.Errorf("revoked_at: %w", err)
	}
	until, err := jsonScalar(row.SuspendedUntil)
	if err != nil {
		return Revocation{}, fmt.Errorf("suspended_until: %w", err)
	}
	return parseRow(*row.ID, row.Issuer, reason, at, until)
}

// jsonScalar turns a JSON string, non-negative integer or null into the
// text the CSV form would carry.
func jsonScalar(m json.RawMessage) (string, error) {
	if len(m) == 0 || string(m) == "null" {
		return "", nil
	}
	if m[0] == '"' {
		var s string
		if err := json.Unmarshal(m, &s); err != nil {
			return "", err
		}
		return s, nil
	}
	if strings.Trim(string(m), "0123456789") == "" {
		return string(m), nil
	}
	return "", fmt.Errorf("want a string or an integer, got %s", m)
}
