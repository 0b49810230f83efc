package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/qr"
	"github.com/crlverify/crlverify/verify/store"
	"github.com/crlverify/crlverify/verify/trust"
)

type scanOptions struct {
	trustPath string
	valueSets string
	storePath string
	at        string
	grace     time.Duration
	json      bool
	workers   int
	color     string
	maxPixels int
	maxMemory byteSize
	online    onlineFlags
}

func newScanCommand() *cobra.Command {
	o := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan [--trust FILE] [--store FILE] [--at T] [--json] IMAGE|PAYLOAD|DIR|-...",
		Short: "Verify health certificates from QR photos or payload files, offline",
		Long: `scan reads each input — a photo of a QR or Aztec code (PNG, JPEG, GIF), a
file holding the payload itself, a directory of such files, or "-" for
standard input — and gives one verdict per certificate. It reads, detected
from the payload:

  SMART Health Cards      a numeric QR code ("shc:/" and digits, also typed
                          in a text file), the JWS as text, a
                          .smart-health-card file (one verdict per card);
                          a card split over several QR codes ("shc:/1/3/",
                          deprecated) is joined when every code is among the
                          inputs of one scan (missing ones are named)
  EU Digital COVID        "HC1:" from a QR code, an Aztec code (Ireland) or
  Certificates            a text file; vaccination, test and recovery
  DIVOC credentials       the QR's ZIP (raw or UTF-8-expanded) or the JSON

and gives one of:

  VALID           genuine, valid, and not revoked on a fresh list
  REVOKED         revoked by its issuer's list (date and reason shown)
  SUSPENDED       revoked until a date
  EXPIRED         past its own expiry or the validity its issuer's policy
                  gives it
  NOT_YET_VALID   issued or signed after the time of the check
  BAD_SIGNATURE   the signature fails, or its key is terminated (an EU
                  document signer: also its country, key usage or validity)
  UNSIGNED_HOLDER the issuer signed it, but not the holder's name: it cannot
                  prove who it belongs to (see trust add --accept-unsigned-holder)
  UNKNOWN_ISSUER  no trusted key for it (DIVOC verification method, SMART
                  Health Cards issuer and kid, EU document signer kid)
  MALFORMED       no readable certificate
  UNREADABLE      the input itself could not be read (missing, not
                  readable, empty, a directory with no files): no verdict,
                  the other inputs are still scanned

A VALID certificate whose issuer has no list in the store, or whose list is
past its next update (plus --grace), is reported as "revocation status
unknown" and exits 3: run "crlverify sync" when a network is there.

Issuer keys come from the trust store (see "crlverify trust": DIVOC keys,
SMART Health Cards issuers' key sets, EU document signer certificates),
revocation lists from the store "crlverify sync" fills. A SMART Health Card
is looked up by its rid under its issuer URL, an EU DCC by its certificate
identifier (UVCI) under its country, in the signed lists; a card whose key
has a crlVersion also needs its issuer's own list, imported with
"crlverify sync --from KID.json". Vaccines, tests and diseases are named
from the formats' code systems: the EU value sets (built in; the published
files with --dcc-valuesets) and the CVX and SNOMED CT codes of SMART Health
Cards. Nothing is fetched (but see --online). A directory is scanned
concurrently; results are
printed in input order, then a tally (on stderr with --json). The exit code
is that of the worst input, in the order 1 (a certificate not valid), 2 (an
input UNREADABLE, or a store file too damaged to answer: its certificates'
revocation status is unknown, and stderr says how to replace the store), 3
(revocation status unknown), 0.

With --json each input is one line: the verdict (status, detail, format,
certificate{...}, unsigned_fields, revocation{known, status, freshness,
detail, reason, revoked_at, publisher, serial, ...}, at), or for an input
that could not be read {"input": ..., "status": "UNREADABLE", "error": ...}.

` + onlineHelp + `

The same image gives the same verdict on any machine, however busy: QR
decoding tries a fixed ladder of attempts, bounded by work, never by time.
Images are bounded before any pixel is decoded: by file size (20 MiB), by
--max-pixels, and by the memory decoding and scanning them takes, estimated
from the image header (a 16-bit RGBA PNG takes 8 bytes a pixel, a grey one 1).
The --workers scanning at once share one --max-image-memory budget: a large
image waits for memory instead of piling up, and an image needing more than
the whole budget is MALFORMED ("image too large") at once. The budget plus
64 MiB also becomes the Go runtime's soft memory limit (unless GOMEMLIMIT is
set), so memory freed by one image is reused before the process grows. On a
machine short of memory, lower --max-image-memory (and --max-pixels); raise
it to read a huge image.

` + exitCodeHelp,
		Example: `  crlverify scan photo.jpg
  crlverify scan --trust trust.json --store crl.db certificates/
  crlverify scan card-1.png card-2.png card-3.png       # one SMART Health Card in three codes
  crlverify scan vaccination.smart-health-card hc1.txt
  crlverify scan --dcc-valuesets ehn-dcc-valuesets/ irish-aztec.jpg
  crlverify scan --json --at 2026-06-01T00:00:00Z a.png b.png
  crlverify scan --online https://crl.moh.example:8443 --online-token-file reader.token photo.jpg
  cat payload.zip | crlverify scan -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	f := cmd.Flags()
	f.StringVar(&o.trustPath, "trust", "", "trust store file (default "+describeDefaultTrust()+")")
	f.StringVar(&o.storePath, "store", "", "revocation list store (default "+describeDefaultStore()+")")
	f.StringVar(&o.valueSets, "dcc-valuesets", "", "directory of EU DCC value set files naming vaccines, tests and diseases (default: the built-in names)")
	f.StringVar(&o.at, "at", "", "judge at this time, RFC 3339 (default: now)")
	f.DurationVar(&o.grace, "grace", 0, "how long past its next update a list still counts as fresh")
	f.BoolVar(&o.json, "json", false, "print one JSON object per certificate")
	f.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "inputs scanned at once (they share --max-image-memory)")
	f.StringVar(&o.color, "color", "auto", "colour the verdicts: auto (on a terminal), always, never")
	f.IntVar(&o.maxPixels, "max-pixels", qr.DefaultMaxPixels, "largest image, in pixels (width × height), read from its header")
	o.maxMemory = qr.DefaultMaxMemory
	f.Var(&o.maxMemory, "max-image-memory", "memory all images scanned at once may take, e.g. 128MiB or 1GiB")
	o.online.add(f)
	return cmd
}

// qrOptions are the image bounds of the flags, with one memory pool for
// every worker.
func (o *scanOptions) qrOptions() *qr.Options {
	return &qr.Options{
		MaxPixels: o.maxPixels,
		MaxMemory: int64(o.maxMemory),
		Pool:      qr.NewMemoryPool(int64(o.maxMemory)),
		LimitHelp: func(field string) string {
			switch field {
			case "MaxMemory":
				return "raise or lower the limit with --max-image-memory"
			case "MaxPixels":
				return "raise or lower the limit with --max-pixels"
			}
			return "a fixed bound"
		},
	}
}

// scanHeadroom is the memory beyond the image budget the soft memory limit
// leaves for everything else (stores, trust, credential processing).
const scanHeadroom = 64 << 20

// limitMemory makes the image budget plus scanHeadroom the runtime's soft
// memory limit, unless GOMEMLIMIT or an earlier call set a lower one, and
// returns the function that restores the previous limit. Without it the
// collector lets the heap grow to twice what is live, so images already
// scanned would add to the ones being scanned.
func (o *scanOptions) limitMemory() (restore func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	limit := int64(o.maxMemory) + scanHeadroom
	if limit < 0 || limit >= debug.SetMemoryLimit(-1) {
		return func() {}
	}
	old := debug.SetMemoryLimit(limit)
	return func() { debug.SetMemoryLimit(old) }
}

// byteSize is a flag holding a number of bytes: 1048576, 512KiB, 64MiB,
// 1GiB (or KB, MB, GB in powers of 1000).
type byteSize int64

func (b *byteSize) String() string {
	switch n := int64(*b); {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKiB", n>>10)
	default:
		return strconv.FormatInt(n, 10)
	}
}

func (b *byteSize) Set(s string) error {
	units := []struct {
		suffix string
		n      int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
	}
	num, unit := s, int64(1)
	for _, u := range units {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			num, unit = strings.TrimSpace(rest), u.n
			break
		}
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 || n > math.MaxInt64/unit {
		return fmt.Errorf("want a positive size such as 256MiB or 1GiB, not %q", s)
	}
	*b = byteSize(n * unit)
	return nil
}

func (b *byteSize) Type() string { return "size" }

func describeDefaultTrust() string {
	p, err := trust.DefaultPath()
	if err != nil {
		return "under the user's configuration directory"
	}
	return p
}

func (o *scanOptions) run(cmd *cobra.Command, args []string) error {
	at, err := parseAt(o.at)
	if err != nil {
		return withCode(ExitError, err)
	}
	if o.workers < 1 || o.grace < 0 || o.maxPixels < 1 {
		return withCode(ExitError, errors.New("--workers and --max-pixels must be at least 1 and --grace not negative"))
	}
	if err := o.online.check(); err != nil {
		return withCode(ExitError, err)
	}
	colour, err := o.useColour(cmd.OutOrStdout())
	if err != nil {
		return withCode(ExitError, err)
	}
	ts, err := loadTrust(o.trustPath)
	if err != nil {
		return withCode(ExitError, err)
	}
	var crls verify.Revocations
	st, path, missing, err := openReadOnly(o.storePath, &store.Options{Grace: o.grace})
	switch {
	case err != nil:
		return withCode(ExitError, err)
	case missing:
		fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: no revocation list store at %s; revocation status will be unknown (run crlverify sync)\n", clean(path))
	default:
		defer st.Close()
		crls = st
	}
	if crls, err = o.online.wrap(cmd.Context(), crls); err != nil {
		return withCode(ExitError, err)
	}
	inputs, err := expandInputs(args)
	if err != nil {
		return withCode(ExitError, err)
	}
	stdin := readStdin(inputs, cmd.InOrStdin())
	var vs *dcc.ValueSets
	if o.valueSets != "" {
		if vs, err = dcc.LoadValueSets(o.valueSets); err != nil {
			return withCode(ExitError, fmt.Errorf("--dcc-valuesets: %w", err))
		}
	}
	defer o.limitMemory()()
	v := verify.New(ts, crls, &verify.Options{QR: o.qrOptions(), ValueSets: vs})
	results, err := scanAll(cmd.Context(), v, inputs, at, o.workers, stdin)
	if err != nil {
		return withCode(ExitError, err)
	}

	out := cmd.OutOrStdout()
	var t tally
	var damage error // the first damaged-store error a verdict met
	for i := range results {
		if in := results[i].unreadable; in != nil {
			t.addUnreadable()
			fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: %s\n", clean(in.err.Error()))
			if o.json {
				if err := writeJSON(out, unreadableLine{Input: in.name, Status: StatusUnreadable, Error: in.err.Error()}); err != nil {
					return withCode(ExitError, err)
				}
				continue
			}
			fmt.Fprint(out, humanUnreadable(*in, colour))
			continue
		}
		r := &results[i].result
		t.add(r)
		if errors.Is(r.Revocation.Err, store.ErrCorrupt) && damage == nil {
			damage = r.Revocation.Err
		}
		if o.json {
			if err := writeJSON(out, r); err != nil {
				return withCode(ExitError, err)
			}
			continue
		}
		fmt.Fprint(out, humanResult(r, colour))
	}
	if len(results) > 1 {
		w := out
		if o.json {
			w = cmd.ErrOrStderr()
		}
		fmt.Fprintln(w, t.String())
	}
	if damage != nil {
		// The verdicts stand (revocation status unknown), but the store
		// must be replaced: say so as for every other command, and exit 2
		// unless a certificate was refused.
		t.damaged = true
		fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: %s\n", cleanLines(storeHint(damage, path).Error()))
	}
	if code := t.exitCode(); code != ExitOK {
		return withCode(code, nil)
	}
	return nil
}

func (o *scanOptions) useColour(w io.Writer) (bool, error) {
	switch o.color {
	case "always":
		return true, nil
	case "never":
		return false, nil
	case "auto":
		f, ok := w.(*os.File)
		return ok && term.IsTerminal(int(f.Fd())) && os.Getenv("NO_COLOR") == "", nil
	}
	return false, fmt.Errorf("--color must be auto, always or never, not %q", o.color)
}

// parseAt reads an --at flag: RFC 3339, or empty for now.
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now().UTC(), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--at: want an RFC 3339 time such as 2026-06-01T00:00:00Z: %w", err)
	}
	return t, nil
}

func loadTrust(flag string) (*trust.Store, error) {
	path := flag
	if path == "" {
		p, err := trust.DefaultPath()
		if err != nil {
			return nil, err
		}
		path = p
	}
	ts, err := trust.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("no trust store at %s: add issuer keys with \"crlverify trust add\", or name one with --trust", path)
	}
	return ts, err
}

// scanInput is one thing to verify: a file, or standard input ("-"). err
// is set when it cannot be read: it gets no verdict but an UNREADABLE
// result of its own, and the other inputs are still scanned.
type scanInput struct {
	name string
	err  error
}

// StatusUnreadable is scan's result for an input that could not be read
// at all, as distinct from a certificate that was read and is MALFORMED.
const StatusUnreadable verify.Status = "UNREADABLE"

// unreadableLine is the JSON form of an UNREADABLE input.
type unreadableLine struct {
	Input  string        `json:"input"`
	Status verify.Status `json:"status"`
	Error  string        `json:"error"`
}

// expandInputs turns the arguments into inputs, listing directories (their
// regular files, recursively, in lexical order; hidden files skipped). An
// argument or directory entry that cannot be read is an input with its
// error; only a usage error (standard input named twice) is returned.
func expandInputs(args []string) ([]scanInput, error) {
	var in []scanInput
	stdin := false
	for _, a := range args {
		if a == "-" {
			if stdin {
				return nil, errors.New(`"-" (standard input) may be named once`)
			}
			stdin = true
			in = append(in, scanInput{name: a})
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			in = append(in, scanInput{name: a, err: err})
			continue
		}
		if !fi.IsDir() {
			in = append(in, scanInput{name: a, err: readable(a)})
			continue
		}
		n := len(in)
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if d != nil && strings.HasPrefix(d.Name(), ".") && p != a {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if err != nil {
				// A directory that cannot be listed (or an entry that
				// vanished) is an input of its own; the walk goes on.
				in = append(in, scanInput{name: p, err: err})
				if d != nil && d.IsDir() && p != a {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				in = append(in, scanInput{name: p, err: readable(p)})
			}
			return nil
		})
		if err != nil {
			in = append(in, scanInput{name: a, err: err})
		}
		if len(in) == n {
			in = append(in, scanInput{name: a, err: fmt.Errorf("%s: no files to scan", a)})
		}
	}
	return in, nil
}

// readable reports an input that cannot be opened, or that is empty, as the
// input error it is, before it could be mistaken for a malformed
// certificate.
func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() && fi.Size() == 0 {
		return fmt.Errorf("%s: empty file", path)
	}
	return nil
}

// readStdin reads standard input when "-" is among the inputs; an empty or
// unreadable one is that input's error, as readable reports an empty file.
// The payload decoder bounds what it reads itself; this stops at one byte
// past that bound.
func readStdin(inputs []scanInput, stdin io.Reader) []byte {
	i := slices.IndexFunc(inputs, func(in scanInput) bool { return in.name == "-" })
	if i < 0 {
		return nil
	}
	b, err := io.ReadAll(io.LimitReader(stdin, qr.DefaultMaxFileSize+1))
	switch {
	case err != nil:
		inputs[i].err = fmt.Errorf("standard input: %w", err)
	case len(b) == 0:
		inputs[i].err = errors.New("standard input: empty")
	}
	return b
}

// scanAll verifies the inputs with up to workers at once and returns the
// results in input order: one per certificate (a .smart-health-card file
// gives one per card). The QR codes of a SMART Health Card split over
// several inputs are joined into one result, at the place of its first
// chunk. When ctx ends first, it returns ctx's error: an interrupted scan
// gives no verdicts rather than wrong ones.
func scanAll(ctx context.Context, v *verify.Verifier, inputs []scanInput, at time.Time, workers int, stdin []byte) ([]scanRow, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	results := make([][]scanRow, len(inputs))
	reads := make([]verify.Scanned, len(inputs))
	chunk := make([]bool, len(inputs))
	errs := make([]error, len(inputs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(inputs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if inputs[i].err != nil {
					results[i] = []scanRow{{unreadable: &inputs[i]}}
					continue
				}
				if inputs[i].name == "-" {
					reads[i], errs[i] = v.ReadReaderContext(ctx, "-", bytes.NewReader(stdin))
				} else {
					reads[i], errs[i] = v.ReadFileContext(ctx, inputs[i].name)
				}
				if errs[i] != nil {
					continue
				}
				if chunk[i] = reads[i].IsChunk(); !chunk[i] {
					for _, r := range v.VerifyScanned(reads[i], at) {
						results[i] = append(results[i], scanRow{result: r})
					}
				}
			}
		}()
	}
feed:
	for i := range inputs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scan interrupted: %w", err)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// The chunks of SMART Health Cards, joined across inputs.
	var chunks []verify.Scanned
	first := map[string]int{}
	for i := range inputs {
		if chunk[i] {
			chunks = append(chunks, reads[i])
			if _, seen := first[reads[i].Input]; !seen {
				first[reads[i].Input] = i
			}
		}
	}
	for _, r := range v.VerifyChunks(chunks, at) {
		i := first[r.Input]
		results[i] = append(results[i], scanRow{result: r})
	}
	var out []scanRow
	for _, rs := range results {
		out = append(out, rs...)
	}
	return out, nil
}

// scanRow is one line of scan's output: a verdict, or an input that could
// not be read (unreadable set).
type scanRow struct {
	result     verify.Result
	unreadable *scanInput
}

// tally counts verdicts for the summary line and the exit code.
type tally struct {
	n          int
	byStatus   map[verify.Status]int
	unknown    int
	unreadable int
	// damaged: the store could not answer for some certificate, its file
	// being damaged (an I/O error, as an unreadable input).
	damaged bool
}

func (t *tally) add(r *verify.Result) {
	if t.byStatus == nil {
		t.byStatus = make(map[verify.Status]int)
	}
	t.n++
	t.byStatus[r.Status]++
	if r.Status == verify.StatusValid && !r.Revocation.Known {
		t.unknown++
	}
}

// addUnreadable counts an input that could not be read.
func (t *tally) addUnreadable() {
	t.n++
	t.unreadable++
}

// exitCode is the code of the worst input, in the order exit.go gives:
// a certificate not valid, then an input not read, then a revocation
// status unknown.
func (t *tally) exitCode() int {
	switch {
	case t.byStatus[verify.StatusValid] < t.n-t.unreadable:
		return ExitInvalid
	case t.unreadable > 0 || t.damaged:
		return ExitError
	case t.unknown > 0:
		return ExitUnknown
	}
	return ExitOK
}

func (t *tally) String() string {
	var parts []string
	for _, s := range statusOrder {
		if c := t.byStatus[s]; c > 0 {
			p := fmt.Sprintf("%d %s", c, s)
			if s == verify.StatusValid && t.unknown > 0 {
				p += fmt.Sprintf(" (%d with revocation status unknown)", t.unknown)
			}
			parts = append(parts, p)
		}
	}
	if t.unreadable > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", t.unreadable, StatusUnreadable))
	}
	return fmt.Sprintf("scanned %d: %s", t.n, strings.Join(parts, ", "))
}

var statusOrder = []verify.Status{
	verify.StatusValid, verify.StatusRevoked, verify.StatusSuspended, verify.StatusExpired,
	verify.StatusNotYetValid, verify.StatusBadSignature, verify.StatusUnsignedHolder, verify.StatusUnknownIssuer, verify.StatusMalformed,
}

// paint colours a status for a terminal: green for a verdict that lets
// the certificate through, yellow for VALID with a caveat, red otherwise.
func paint(status string, code string, colour bool) string {
	if !colour {
		return status
	}
	return "\x1b[1;" + code + "m" + status + "\x1b[0m"
}

// humanUnreadable is the text form of an input that could not be read.
func humanUnreadable(in scanInput, colour bool) string {
	return fmt.Sprintf("%s: %s\n  %-12s %s\n", clean(in.name), paint(string(StatusUnreadable), "31", colour), "error:", clean(in.err.Error()))
}

// humanResult is the text form of one verdict: a status line, then the
// facts a field officer looks at. Every value from the certificate, the
// input's name and the list is cleaned: none reaches the terminal raw.
func humanResult(r *verify.Result, colour bool) string {
	var b strings.Builder
	status := string(r.Status)
	if r.Status == verify.StatusValid && !r.Revocation.Known {
		status = "VALID, REVOCATION STATUS UNKNOWN"
	}
	if r.Status == verify.StatusValid && len(r.UnsignedFields) > 0 {
		status += ", HOLDER NOT SIGNED"
	}
	code := "31" // red
	switch {
	case r.OK() && len(r.UnsignedFields) == 0:
		code = "32" // green
	case r.Status == verify.StatusValid:
		code = "33" // yellow
	}
	status = paint(status, code, colour)
	name := r.Input
	if name == "" {
		name = "input"
	}
	if len(r.ChunkInputs) > 1 {
		name = strings.Join(r.ChunkInputs, " + ")
	}
	if r.Cards > 1 {
		name += fmt.Sprintf(" (card %d of %d)", r.Card, r.Cards)
	}
	fmt.Fprintf(&b, "%s: %s\n", clean(name), status)
	if r.Detail != "" {
		fmt.Fprintf(&b, "  why:         %s\n", clean(r.Detail))
	}
	if c := r.Certificate; c != nil {
		line := func(label, v string) {
			if v != "" {
				fmt.Fprintf(&b, "  %-12s %s\n", label+":", clean(v))
			}
		}
		// holder marks a field the issuer's signature does not cover.
		holder := func(label, field, v string) {
			if v != "" && slices.Contains(r.UnsignedFields, field) {
				fmt.Fprintf(&b, "  %-12s %s  [NOT SIGNED by the issuer]\n", label+":", clean(v))
				return
			}
			line(label, v)
		}
		holder("name", "name", c.Name)
		holder("born", "date_of_birth", c.DateOfBirth)
		holder("age", "age", c.Age)
		holder("gender", "gender", c.Gender)
		line("format", formatName(r))
		line("certificate", c.ID)
		line("disease", c.Disease)
		dose := ""
		if c.Dose > 0 {
			dose = fmt.Sprint(c.Dose)
			if c.TotalDoses > 0 {
				dose += fmt.Sprintf(" of %d", c.TotalDoses)
			}
		}
		line("dose", dose)
		line("vaccine", strings.TrimSpace(c.Vaccine+" "+paren(c.Manufacturer)))
		line("vaccinated", c.VaccinationDate)
		line("test", strings.TrimSpace(c.TestType+" "+paren(strings.TrimSpace(c.TestName+" "+c.TestDevice))))
		line("result", c.TestResult)
		line("sampled", c.SampledAt)
		line("tested +", c.FirstPositive)
		if c.ValidFrom != "" || c.ValidUntil != "" {
			line("valid", strings.TrimSpace(c.ValidFrom+" to "+c.ValidUntil))
		}
		line("given by", strings.TrimSpace(c.Performer+" "+c.TestCentre))
		line("country", c.Country)
		if !c.ExpiresAt.IsZero() {
			line("expires", c.ExpiresAt.UTC().Format(time.RFC3339))
		}
		issuer := c.Issuer
		if c.IssuerName != "" {
			issuer = c.IssuerName + " " + paren(c.Issuer)
		}
		line("issuer", strings.TrimSpace(issuer+" "+paren(c.VerificationMethod)))
	}
	if rv := r.Revocation; rv.Serial != 0 {
		fmt.Fprintf(&b, "  %-12s serial %d from %s, %s, next update %s\n", "crl:", rv.Serial, clean(rv.Publisher), rv.Freshness, rv.NextUpdate.UTC().Format(time.RFC3339))
	}
	if rv := r.Revocation; rv.ListKID != "" && rv.ListCounter != 0 {
		fmt.Fprintf(&b, "  %-12s the issuer's list of key %s, ctr %d\n", "crl:", rv.ListKID, rv.ListCounter)
	}
	return b.String()
}

// formatName says what kind of certificate a result is about.
func formatName(r *verify.Result) string {
	switch r.Format {
	case verify.FormatSHC:
		return "SMART Health Card"
	case verify.FormatDCC:
		return strings.TrimSpace("EU Digital COVID Certificate " + paren(r.CertificateType))
	case verify.FormatDIVOC:
		return "DIVOC credential"
	}
	return r.Format
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}
