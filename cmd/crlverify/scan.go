package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/store"
	"github.com/crlverify/crlverify/verify/trust"
)

type scanOptions struct {
	trustPath string
	storePath string
	at        string
	grace     time.Duration
	json      bool
	workers   int
	color     string
}

func newScanCommand() *cobra.Command {
	o := &scanOptions{}
	cmd := &cobra.Command{
		Use:   "scan [--trust FILE] [--store FILE] [--at T] [--json] IMAGE|PAYLOAD|DIR|-...",
		Short: "Verify health certificates from QR photos or payload files, offline",
		Long: `scan reads each input — a photo of a QR code (PNG, JPEG, GIF), a file holding
the QR payload itself (a DIVOC ZIP or JSON), a directory of such files, or "-"
for standard input — and gives one verdict per certificate:

  VALID           genuine, valid, and not revoked on a fresh list
  REVOKED         revoked by its issuer's list (date and reason shown)
  SUSPENDED       revoked until a date
  EXPIRED         past the validity its issuer's policy gives it
  NOT_YET_VALID   issued or signed after the time of the check
  BAD_SIGNATURE   the signature fails, or its key is terminated
  UNSIGNED_HOLDER the issuer signed it, but not the holder's name: it cannot
                  prove who it belongs to (see trust add --accept-unsigned-holder)
  UNKNOWN_ISSUER  no trusted key for its verification method
  MALFORMED       no readable certificate

A VALID certificate whose issuer has no list in the store, or whose list is
past its next update (plus --grace), is reported as "revocation status
unknown" and exits 3: run "crlverify sync" when a network is there.

Issuer keys come from the trust store (see "crlverify trust"), revocation
lists from the store "crlverify sync" fills. Nothing is fetched. A directory is
scanned concurrently; results are printed in input order, then a tally.

` + exitCodeHelp,
		Example: `  crlverify scan photo.jpg
  crlverify scan --trust trust.json --store crl.db certificates/
  crlverify scan --json --at 2026-06-01T00:00:00Z a.png b.png
  cat payload.zip | crlverify scan -`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	f := cmd.Flags()
	f.StringVar(&o.trustPath, "trust", "", "trust store file (default "+describeDefaultTrust()+")")
	f.StringVar(&o.storePath, "store", "", "revocation list store (default "+describeDefaultStore()+")")
	f.StringVar(&o.at, "at", "", "judge at this time, RFC 3339 (default: now)")
	f.DurationVar(&o.grace, "grace", 0, "how long past its next update a list still counts as fresh")
	f.BoolVar(&o.json, "json", false, "print one JSON object per input")
	f.IntVar(&o.workers, "workers", runtime.GOMAXPROCS(0), "inputs scanned at once")
	f.StringVar(&o.color, "color", "auto", "colour the verdicts: auto (on a terminal), always, never")
	return cmd
}

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
	if o.workers < 1 || o.grace < 0 {
		return withCode(ExitError, errors.New("--workers must be at least 1 and --grace not negative"))
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
		fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: no revocation list store at %s; revocation status will be unknown (run crlverify sync)\n", path)
	default:
		defer st.Close()
		crls = st
	}
	inputs, err := expandInputs(args)
	if err != nil {
		return withCode(ExitError, err)
	}
	v := verify.New(ts, crls, nil)
	results := scanAll(v, inputs, at, o.workers, cmd.InOrStdin())

	out := cmd.OutOrStdout()
	var t tally
	for i := range results {
		r := &results[i]
		t.add(r)
		if o.json {
			if err := json.NewEncoder(out).Encode(r); err != nil {
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

// scanInput is one thing to verify: a file, or standard input ("-").
type scanInput struct{ name string }

// expandInputs turns the arguments into inputs, listing directories (their
// regular files, recursively, in lexical order; hidden files skipped).
func expandInputs(args []string) ([]scanInput, error) {
	var in []scanInput
	stdin := false
	for _, a := range args {
		if a == "-" {
			if stdin {
				return nil, errors.New(`"-" (standard input) may be named once`)
			}
			stdin = true
			in = append(in, scanInput{a})
			continue
		}
		fi, err := os.Stat(a)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			if err := readable(a); err != nil {
				return nil, err
			}
			in = append(in, scanInput{a})
			continue
		}
		n := len(in)
		err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if strings.HasPrefix(d.Name(), ".") && p != a {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.Type().IsRegular() {
				if err := readable(p); err != nil {
					return err
				}
				in = append(in, scanInput{p})
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(in) == n {
			return nil, fmt.Errorf("%s: no files to scan", a)
		}
	}
	return in, nil
}

// readable reports an input that cannot be opened as the I/O error it is
// (exit 2), before it could be mistaken for a malformed certificate.
func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	return f.Close()
}

// scanAll verifies the inputs with up to workers at once and returns the
// results in input order.
func scanAll(v *verify.Verifier, inputs []scanInput, at time.Time, workers int, stdin io.Reader) []verify.Result {
	results := make([]verify.Result, len(inputs))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(inputs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if inputs[i].name == "-" {
					results[i] = v.VerifyReader("-", stdin, at)
				} else {
					results[i] = v.VerifyFile(inputs[i].name, at)
				}
			}
		}()
	}
	for i := range inputs {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}

// tally counts verdicts for the summary line and the exit code.
type tally struct {
	n        int
	byStatus map[verify.Status]int
	unknown  int
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

func (t *tally) exitCode() int {
	switch {
	case t.byStatus[verify.StatusValid] < t.n:
		return ExitInvalid
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
	return fmt.Sprintf("scanned %d: %s", t.n, strings.Join(parts, ", "))
}

var statusOrder = []verify.Status{
	verify.StatusValid, verify.StatusRevoked, verify.StatusSuspended, verify.StatusExpired,
	verify.StatusNotYetValid, verify.StatusBadSignature, verify.StatusUnsignedHolder, verify.StatusUnknownIssuer, verify.StatusMalformed,
}

// humanResult is the text form of one verdict: a status line, then the
// facts a field officer looks at.
func humanResult(r *verify.Result, colour bool) string {
	var b strings.Builder
	status := string(r.Status)
	if r.Status == verify.StatusValid && !r.Revocation.Known {
		status = "VALID, REVOCATION STATUS UNKNOWN"
	}
	if r.Status == verify.StatusValid && len(r.UnsignedFields) > 0 {
		status += ", HOLDER NOT SIGNED"
	}
	if colour {
		code := "31" // red
		switch {
		case r.OK() && len(r.UnsignedFields) == 0:
			code = "32" // green
		case r.Status == verify.StatusValid:
			code = "33" // yellow
		}
		status = "\x1b[1;" + code + "m" + status + "\x1b[0m"
	}
	name := r.Input
	if name == "" {
		name = "input"
	}
	fmt.Fprintf(&b, "%s: %s\n", name, status)
	if r.Detail != "" {
		fmt.Fprintf(&b, "  why:         %s\n", r.Detail)
	}
	if c := r.Certificate; c != nil {
		line := func(label, v string) {
			if v != "" {
				fmt.Fprintf(&b, "  %-12s %s\n", label+":", v)
			}
		}
		// holder marks a field the issuer's signature does not cover.
		holder := func(label, field, v string) {
			if v != "" && slices.Contains(r.UnsignedFields, field) {
				v += "  [NOT SIGNED by the issuer]"
			}
			line(label, v)
		}
		holder("name", "name", c.Name)
		holder("born", "date_of_birth", c.DateOfBirth)
		holder("age", "age", c.Age)
		holder("gender", "gender", c.Gender)
		line("certificate", c.ID)
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
		issuer := c.Issuer
		if c.IssuerName != "" {
			issuer = c.IssuerName + " " + paren(c.Issuer)
		}
		line("issuer", strings.TrimSpace(issuer+" "+paren(c.VerificationMethod)))
	}
	if rv := r.Revocation; rv.Serial != 0 {
		fmt.Fprintf(&b, "  %-12s serial %d from %s, %s, next update %s\n", "crl:", rv.Serial, rv.Publisher, rv.Freshness, rv.NextUpdate.Format(time.RFC3339))
	}
	return b.String()
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}
