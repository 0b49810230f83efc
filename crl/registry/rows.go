package registry

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// MaxLineBytes bounds one line of import input. A valid row is far
// shorter (an id is at most MaxIDBytes, every other field at most
// MaxNameBytes).
const MaxLineBytes = 16 << 10

// Format is an import input format.
type Format string

// Import formats.
const (
	// FormatAuto detects the format from the first non-blank byte: '{'
	// means JSON lines, anything else CSV.
	FormatAuto Format = ""
	// FormatCSV: a header row naming the columns (any order), then one
	// record per row.
	FormatCSV Format = "csv"
	// FormatJSONLines: one JSON object per line with the same field names;
	// blank lines are skipped.
	FormatJSONLines Format = "jsonl"
)

// schema names the columns of an input kind.
type schema struct {
	what     string   // "certificates", "revocations"
	cols     []string // canonical names
	aliases  map[string]int
	required []int // columns the header must name
}

// row is one input row: its fields by schema column ("" when absent) and
// its line number.
type row struct {
	fields []string
	line   int
}

// rowReader yields the rows of an input: next returns a row, a *RowError
// for a bad row (reading goes on after it when it can), io.EOF at the
// end, or another error when reading fails.
type rowReader interface {
	next() (row, error)
	bytesRead() int64
}

// newRowReader detects the format and reads the header. A bad header is
// an *ImportError.
func newRowReader(in io.Reader, format Format, sc *schema) (rowReader, error) {
	cr := &countingReader{r: in}
	br := bufio.NewReaderSize(cr, max(256<<10, 2*MaxLineBytes))
	if format == FormatAuto {
		var err error
		if format, err = detectFormat(br); err != nil {
			return nil, err
		}
	}
	switch format {
	case FormatCSV:
		p, rerr := newCSVRows(br, sc)
		if rerr != nil {
			return nil, &ImportError{Rows: []*RowError{rerr}}
		}
		p.cr = cr
		return p, nil
	case FormatJSONLines:
		return newJSONRows(br, sc, cr), nil
	default:
		return nil, fmt.Errorf("%w: unknown import format %q", ErrInvalid, format)
	}
}

// rowFeed reads the rows of a rowReader on a goroutine of its own, a
// batch ahead of its caller: parsing the input runs beside checking and
// sorting the rows. It is a rowReader itself; a row it returns is valid
// until the call after, and bytesRead counts the input read for the
// rows handed out so far.
type rowFeed struct {
	batches chan *rowBatch
	free    chan *rowBatch
	quit    chan struct{}
	done    chan struct{}
	cur     *rowBatch
	pos     int
	read    int64
	stopped bool
}

// rowBatch is a run of rows read ahead: each row's fields (nf of them),
// or the *RowError in its place.
type rowBatch struct {
	rows   []row
	errs   []error
	fields []string
	end    error // after the rows: io.EOF, or the error that ended reading
	bytes  int64 // input read by the end of the batch
}

const rowBatchLen = 1024

func newRowFeed(rr rowReader, nf int) *rowFeed {
	f := &rowFeed{batches: make(chan *rowBatch, 2), free: make(chan *rowBatch, 4),
		quit: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(f.done)
		for {
			var b *rowBatch
			select {
			case b = <-f.free:
				b.rows, b.errs, b.fields = b.rows[:0], b.errs[:0], b.fields[:0]
			default:
				b = &rowBatch{}
			}
			for len(b.rows) < rowBatchLen {
				rw, err := rr.next()
				if err != nil {
					var re *RowError
					if !errors.As(err, &re) {
						b.end = err
						break
					}
				}
				b.errs = append(b.errs, err)
				b.rows = append(b.rows, row{line: rw.line})
				if err != nil {
					b.fields = append(b.fields, make([]string, nf)...)
				} else {
					b.fields = append(b.fields, rw.fields...)
				}
			}
			for i := range b.rows {
				b.rows[i].fields = b.fields[i*nf : (i+1)*nf : (i+1)*nf]
			}
			b.bytes = rr.bytesRead()
			select {
			case f.batches <- b:
			case <-f.quit:
				return
			}
			if b.end != nil {
				return
			}
		}
	}()
	return f
}

func (f *rowFeed) next() (row, error) {
	for f.cur == nil || f.pos == len(f.cur.rows) {
		if f.cur != nil {
			f.read = f.cur.bytes
			if f.cur.end != nil {
				return row{}, f.cur.end
			}
			select {
			case f.free <- f.cur:
			default:
			}
		}
		f.cur, f.pos = <-f.batches, 0
	}
	i := f.pos
	f.pos++
	if err := f.cur.errs[i]; err != nil {
		return row{}, err
	}
	return f.cur.rows[i], nil
}

func (f *rowFeed) bytesRead() int64 { return f.read }

// stop ends the goroutine, after the row it may be reading.
func (f *rowFeed) stop() {
	if !f.stopped {
		f.stopped = true
		close(f.quit)
		<-f.done
	}
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
			if err == io.EOF || err == nil || err == bufio.ErrBufferFull {
				return FormatCSV, nil // the CSV reader reports an empty input
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

// csvRows reads RFC 4180 CSV: fields separated by commas, a field in
// double quotes may hold commas, newlines and doubled quotes; lines end
// with LF or CRLF; empty lines are skipped. It is encoding/csv's dialect,
// read without a string per field.
type csvRows struct {
	br    *bufio.Reader
	cr    *countingReader
	sc    *schema
	col   []int // field index of each schema column, -1 if absent
	nf    int   // fields per record
	line  int   // lines read so far
	start int   // line the last record started on
	done  bool
	out   []string
	rec   []byte // the record's fields, concatenated
	ends  []int  // end of each field in rec
}

func newCSVRows(in *bufio.Reader, sc *schema) (*csvRows, *RowError) {
	p := &csvRows{br: in, sc: sc}
	if err := p.read(); err != nil {
		if err == io.EOF {
			return nil, &RowError{Line: 1, Err: fmt.Errorf("empty input: want a CSV header row (%s) or JSON lines", strings.Join(sc.cols, ","))}
		}
		var re *RowError
		if errors.As(err, &re) {
			return nil, re
		}
		return nil, &RowError{Line: 1, Err: err}
	}
	p.col = make([]int, len(sc.cols))
	for i := range p.col {
		p.col[i] = -1
	}
	for i := range p.ends {
		name := strings.ToLower(strings.TrimSpace(string(p.field(i))))
		c, ok := sc.aliases[name]
		if !ok {
			return nil, &RowError{Line: 1, Err: fmt.Errorf("unknown column %q in header (known: %s)", name, strings.Join(sc.cols, ", "))}
		}
		if p.col[c] >= 0 {
			return nil, &RowError{Line: 1, Err: fmt.Errorf("header names column %q twice", sc.cols[c])}
		}
		p.col[c] = i
	}
	for _, c := range sc.required {
		if p.col[c] < 0 {
			return nil, &RowError{Line: 1, Err: fmt.Errorf("header has no %q column", sc.cols[c])}
		}
	}
	p.nf = len(p.ends)
	p.out = make([]string, len(sc.cols))
	return p, nil
}

func (p *csvRows) field(i int) []byte {
	start := 0
	if i > 0 {
		start = p.ends[i-1]
	}
	return p.rec[start:p.ends[i]]
}

// readLine returns the next line without its end, failing past
// MaxLineBytes.
func (p *csvRows) readLine() ([]byte, error) {
	line, err := p.br.ReadSlice('\n')
	if len(line) == 0 {
		if err == nil {
			err = io.EOF
		}
		return nil, err
	}
	p.line++
	if err != nil && err != io.EOF && err != bufio.ErrBufferFull {
		return nil, err
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if err == bufio.ErrBufferFull || len(line) > MaxLineBytes {
		return nil, &RowError{Line: p.line, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)}
	}
	return line, nil
}

// read reads one record into rec and ends, and its first line into
// start.
func (p *csvRows) read() error {
	var line []byte
	for {
		l, err := p.readLine()
		if err != nil {
			return err
		}
		if len(l) > 0 {
			line = l
			break
		}
	}
	start := p.line
	p.start = start
	p.rec, p.ends = p.rec[:0], p.ends[:0]
	if bytes.IndexByte(line, '"') < 0 {
		for {
			i := bytes.IndexByte(line, ',')
			if i < 0 {
				p.rec = append(p.rec, line...)
				p.ends = append(p.ends, len(p.rec))
				return nil
			}
			p.rec = append(p.rec, line[:i]...)
			p.ends = append(p.ends, len(p.rec))
			line = line[i+1:]
		}
	}
	// The slow path: quoted fields, perhaps over several lines.
	bad := func(e error) error { return &RowError{Line: start, Err: e} }
	for {
		if len(line) > 0 && line[0] == '"' {
			line = line[1:]
			for {
				i := bytes.IndexByte(line, '"')
				switch {
				case i < 0:
					// The field goes on past the end of the line.
					p.rec = append(p.rec, line...)
					p.rec = append(p.rec, '\n')
					l, err := p.readLine()
					if err == io.EOF {
						return bad(csv.ErrQuote)
					}
					if err != nil {
						return err
					}
					line = l
					continue
				case i+1 < len(line) && line[i+1] == '"':
					p.rec = append(p.rec, line[:i+1]...)
					line = line[i+2:]
					continue
				}
				p.rec = append(p.rec, line[:i]...)
				line = line[i+1:]
				break
			}
			p.ends = append(p.ends, len(p.rec))
			switch {
			case len(line) == 0:
				return nil
			case line[0] == ',':
				line = line[1:]
				if len(line) == 0 {
					p.ends = append(p.ends, len(p.rec))
					return nil
				}
				continue
			default:
				return bad(csv.ErrQuote)
			}
		}
		i := bytes.IndexByte(line, ',')
		field := line
		if i >= 0 {
			field = line[:i]
		}
		if bytes.IndexByte(field, '"') >= 0 {
			return bad(csv.ErrBareQuote)
		}
		p.rec = append(p.rec, field...)
		p.ends = append(p.ends, len(p.rec))
		if i < 0 {
			return nil
		}
		line = line[i+1:]
		if len(line) == 0 {
			p.ends = append(p.ends, len(p.rec))
			return nil
		}
	}
}

func (p *csvRows) bytesRead() int64 { return p.cr.n }

func (p *csvRows) next() (row, error) {
	if p.done {
		return row{}, io.EOF
	}
	err := p.read()
	if err == io.EOF {
		p.done = true
		return row{}, io.EOF
	}
	line := p.start
	if err != nil {
		p.done = true
		var re *RowError
		if errors.As(err, &re) {
			// After a quoting error the reader cannot resynchronise
			// reliably.
			return row{}, re
		}
		return row{}, err // I/O error
	}
	if len(p.ends) != p.nf {
		return row{}, &RowError{Line: line, Err: csv.ErrFieldCount}
	}
	// One string for the whole record; fields are slices of it.
	s := string(p.rec)
	for c, i := range p.col {
		if i < 0 {
			p.out[c] = ""
			continue
		}
		start := 0
		if i > 0 {
			start = p.ends[i-1]
		}
		p.out[c] = s[start:p.ends[i]]
	}
	return row{fields: p.out, line: line}, nil
}

type jsonRows struct {
	sc   *bufio.Scanner
	cr   *countingReader
	sch  *schema
	line int
	done bool
	out  []string
}

func newJSONRows(in io.Reader, sch *schema, cr *countingReader) *jsonRows {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), MaxLineBytes)
	return &jsonRows{sc: sc, cr: cr, sch: sch, out: make([]string, len(sch.cols))}
}

func (p *jsonRows) bytesRead() int64 { return p.cr.n }

func (p *jsonRows) next() (row, error) {
	for !p.done {
		if !p.sc.Scan() {
			p.done = true
			if err := p.sc.Err(); err != nil {
				if errors.Is(err, bufio.ErrTooLong) {
					return row{}, &RowError{Line: p.line + 1, Err: fmt.Errorf("line longer than %d bytes", MaxLineBytes)}
				}
				return row{}, err
			}
			break
		}
		p.line++
		b := bytes.TrimSpace(p.sc.Bytes())
		if len(b) == 0 {
			continue
		}
		if err := p.parse(b); err != nil {
			return row{}, &RowError{Line: p.line, Err: err}
		}
		return row{fields: p.out, line: p.line}, nil
	}
	return row{}, io.EOF
}

func (p *jsonRows) parse(b []byte) error {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&obj); err != nil {
		return fmt.Errorf("bad JSON: %v", err)
	}
	if dec.More() {
		return errors.New("bad JSON: more than one value on the line")
	}
	if obj == nil {
		return errors.New("bad JSON: not an object")
	}
	for i := range p.out {
		p.out[i] = ""
	}
	seen := make([]bool, len(p.out))
	for name, v := range obj {
		c, ok := p.sch.aliases[name]
		if !ok {
			return fmt.Errorf("bad JSON: unknown field %q (known: %s)", name, strings.Join(p.sch.cols, ", "))
		}
		if seen[c] {
			return fmt.Errorf("bad JSON: field %q given twice", p.sch.cols[c])
		}
		seen[c] = true
		s, err := jsonScalar(v)
		if err != nil {
			return fmt.Errorf("%s: %w", p.sch.cols[c], err)
		}
		p.out[c] = s
	}
	for _, c := range p.sch.required {
		if !seen[c] {
			return fmt.Errorf("no %q", p.sch.cols[c])
		}
	}
	return nil
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

// ParseTime accepts an RFC 3339 time ("2026-11-22T09:00:00Z"), a date
// ("2026-11-22", midnight UTC) or Unix seconds ("1795338000"), from
// 1970-01-01T00:00:01Z to MaxTime. Times are kept at second resolution, in
// UTC.
func ParseTime(s string) (time.Time, error) {
	if allDigits(s) {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 || n > MaxTime {
			return time.Time{}, fmt.Errorf("unix time %q out of range", s)
		}
		return time.Unix(n, 0).UTC(), nil
	}
	t, ok := parseRFC3339Z(s)
	if !ok {
		var err error
		if t, err = time.Parse(time.RFC3339Nano, s); err != nil {
			if t, err = time.Parse(time.DateOnly, s); err != nil {
				return time.Time{}, fmt.Errorf("bad time %q (want RFC 3339 like 2026-11-22T09:00:00Z, a date 2026-11-22, or Unix seconds)", s)
			}
		}
		t = t.UTC().Truncate(time.Second)
	}
	if u := t.Unix(); u <= 0 || u > MaxTime {
		return time.Time{}, fmt.Errorf("time %q out of range (1970-01-01T00:00:01Z to 9999-12-31T23:59:59Z)", s)
	}
	return t, nil
}

// allDigits reports whether s is a non-empty run of ASCII digits.
func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseRFC3339Z reads the common exact form YYYY-MM-DDThh:mm:ssZ without
// the general parser.
func parseRFC3339Z(s string) (time.Time, bool) {
	if len(s) != 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != 'Z' {
		return time.Time{}, false
	}
	num := func(a, b int) (int, bool) {
		n := 0
		for i := a; i < b; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	y, ok1 := num(0, 4)
	mo, ok2 := num(5, 7)
	d, ok3 := num(8, 10)
	h, ok4 := num(11, 13)
	mi, ok5 := num(14, 16)
	se, ok6 := num(17, 19)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 59 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, se, 0, time.UTC)
	if t.Day() != d {
		return time.Time{}, false // 2026-02-30: let the general parser refuse it
	}
	return t, true
}
