package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/crl/registry"
)

type revokeOptions struct {
	registry string
	id       string
	issuer   string
	reason   string
	at       string
	until    string
	fromFile string
	format   string
	json     bool
}

func newRevokeCommand() *cobra.Command {
	o := &revokeOptions{}
	cmd := &cobra.Command{
		Use:   "revoke --registry FILE (--id ID | --from-file FILE|-) [flags]",
		Short: "Revoke or suspend certificates in the authority's registry",
		Long: `revoke records revocations in the registry (a bbolt file, created if
missing). They reach verifiers with the next "crlverify publish".

One certificate:  --id, with --issuer, --reason, --at and --until.
Many:             --from-file FILE (or - for stdin), CSV or JSON lines, told
                  apart by the first character ('{' means JSON lines).

CSV has a header row naming its columns, in any order; only id is required:

  id,issuer,reason,revoked_at,suspended_until
  7000003421003,https://cowin.gov.in/,tampering,2025-06-07T22:56:18Z,
  7000003421004,https://cowin.gov.in/,certificateHold,2026-05-10,2026-09-01

JSON lines carry the same fields, one object per line:

  {"id":"7000003421003","issuer":"https://cowin.gov.in/","reason":"tampering","revoked_at":1749336978}

Times are RFC 3339, a date (midnight UTC) or Unix seconds; revoked_at
defaults to now. A suspended_until (--until) makes the entry a suspension: the
certificate is valid again from then. An empty issuer means --issuer, or the
registry's only issuer. Reasons (name or code):

` + reasonTable() + `

A file is applied all or nothing: if any row is bad, every bad row is
reported as FILE:LINE: why, nothing is applied and the exit code is 2.
Revoking a certificate again replaces its reason and times; within one file
the last row for a certificate wins. Lift a revocation with "crlverify
unrevoke".

` + exitCodeHelp,
		Example: `  crlverify revoke --registry moh.db --issuer https://cowin.gov.in/ --id 7000003421003 --reason dataError
  crlverify revoke --registry moh.db --id 8000000000042 --reason certificateHold --until 2026-09-01
  crlverify revoke --registry moh.db --from-file revocations.csv
  zcat batch.jsonl.gz | crlverify revoke --registry moh.db --from-file - --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.registry, "registry", "", "registry file (required)")
	f.StringVar(&o.id, "id", "", "certificate id to revoke")
	f.StringVar(&o.issuer, "issuer", "", "issuer of the certificate (default: the registry's only issuer); for --from-file, of rows without one")
	f.StringVar(&o.reason, "reason", "", "reason name or code (default unspecified)")
	f.StringVar(&o.at, "at", "", "when the revocation took effect (default now)")
	f.StringVar(&o.until, "until", "", "end of a suspension: a time, or +DURATION after --at (e.g. +720h)")
	f.StringVar(&o.fromFile, "from-file", "", "CSV or JSON lines file of revocations, - for stdin")
	f.StringVar(&o.format, "format", "auto", "format of --from-file: auto, csv or jsonl")
	f.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	_ = cmd.MarkFlagRequired("registry")
	return cmd
}

func (o *revokeOptions) run(cmd *cobra.Command) error {
	switch {
	case o.id == "" && o.fromFile == "":
		return withCode(ExitError, errors.New("give --id or --from-file"))
	case o.id != "" && o.fromFile != "":
		return withCode(ExitError, errors.New("give --id or --from-file, not both"))
	case o.fromFile != "" && (o.reason != "" || o.at != "" || o.until != ""):
		return withCode(ExitError, errors.New("--reason, --at and --until are for a single --id; a file carries them per row"))
	}
	reg, err := openRegistryFile(o.registry)
	if err != nil {
		return withCode(ExitError, err)
	}
	defer reg.Close()
	if o.fromFile != "" {
		return o.runFile(cmd, reg)
	}
	rv := registry.Revocation{Issuer: o.issuer, ID: o.id}
	if rv.Reason, err = crl.ParseReason(o.reason); err != nil {
		return withCode(ExitError, fmt.Errorf("--reason: %w", err))
	}
	if o.at != "" {
		if rv.RevokedAt, err = registry.ParseTime(o.at); err != nil {
			return withCode(ExitError, fmt.Errorf("--at: %w", err))
		}
	}
	if o.until != "" {
		if rv.SuspendedUntil, err = parseUntil(o.until, rv.RevokedAt); err != nil {
			return withCode(ExitError, fmt.Errorf("--until: %w", err))
		}
	}
	rv, err = reg.Revoke(rv)
	if errors.Is(err, registry.ErrIssuerRequired) {
		err = fmt.Errorf("%w: give --issuer (the registry does not cover exactly one issuer to default to)", err)
	}
	if err != nil {
		return withCode(ExitError, err)
	}
	out := cmd.OutOrStdout()
	if o.json {
		return json.NewEncoder(out).Encode(revocationJSON(rv))
	}
	what := "revoked"
	if !rv.SuspendedUntil.IsZero() {
		what = "suspended"
	}
	fmt.Fprintf(out, "%s %s %s (%s, from %s", what, rv.Issuer, rv.ID, rv.Reason, rv.RevokedAt.Format(time.RFC3339))
	if !rv.SuspendedUntil.IsZero() {
		fmt.Fprintf(out, " until %s", rv.SuspendedUntil.Format(time.RFC3339))
	}
	fmt.Fprintln(out, ")")
	return nil
}

// parseUntil reads --until: a time, or "+DURATION" after at (now when at
// is zero).
func parseUntil(v string, at time.Time) (time.Time, error) {
	if d, ok := strings.CutPrefix(v, "+"); ok {
		dur, err := time.ParseDuration(d)
		if err != nil || dur <= 0 {
			return time.Time{}, fmt.Errorf("bad duration %q (want e.g. +720h)", v)
		}
		if at.IsZero() {
			at = time.Now()
		}
		return at.Add(dur).UTC().Truncate(time.Second), nil
	}
	return registry.ParseTime(v)
}

func (o *revokeOptions) runFile(cmd *cobra.Command, reg *registry.Registry) error {
	var format registry.Format
	switch o.format {
	case "auto", "":
		format = registry.FormatAuto
	case "csv":
		format = registry.FormatCSV
	case "jsonl", "json":
		format = registry.FormatJSONLines
	default:
		return withCode(ExitError, fmt.Errorf("--format must be auto, csv or jsonl, not %q", o.format))
	}
	var in io.Reader = cmd.InOrStdin()
	name, size := "stdin", int64(-1)
	if o.fromFile != "-" {
		f, err := os.Open(o.fromFile)
		if err != nil {
			return withCode(ExitError, err)
		}
		defer f.Close()
		if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
		}
		in, name = f, o.fromFile
	}
	bar := newImportBar(cmd.ErrOrStderr(), size)
	res, err := reg.Import(in, &registry.ImportOptions{
		Format: format, Issuer: o.issuer, Source: name, Progress: bar.update,
	})
	bar.done()
	var bad *registry.ImportError
	if errors.As(err, &bad) {
		stderr := cmd.ErrOrStderr()
		for _, row := range bad.Rows {
			fmt.Fprintf(stderr, "%s:%d: %v\n", name, row.Line, row.Err)
		}
		more := ""
		if bad.Truncated {
			more = " (stopped looking after these)"
		}
		return withCode(ExitError, fmt.Errorf("%s: nothing applied: %d bad rows%s", name, len(bad.Rows), more))
	}
	if err != nil {
		return withCode(ExitError, err)
	}
	out := cmd.OutOrStdout()
	if o.json {
		return json.NewEncoder(out).Encode(struct {
			Source string `json:"source"`
			registry.ImportResult
		}{name, res})
	}
	_, err = fmt.Fprintf(out, "%s: %d rows, %d revoked or updated, %d unchanged\n", name, res.Rows, res.Changed, res.Unchanged)
	return err
}

// importBar shows a progress bar on a terminal: bytes read, then rows
// applied. It stays silent when stderr is not a terminal.
type importBar struct {
	w        io.Writer
	bar      *progressbar.ProgressBar
	applying bool
}

func newImportBar(stderr io.Writer, size int64) *importBar {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &importBar{}
	}
	return &importBar{w: f, bar: progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription("reading "),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b *importBar) update(p registry.ImportProgress) {
	if b.bar == nil {
		return
	}
	if p.Applied > 0 && !b.applying {
		b.applying = true
		b.bar.Clear()
		b.bar = progressbar.NewOptions64(p.Rows,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription("applying"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	if b.applying {
		b.bar.Set64(p.Applied)
	} else {
		b.bar.Set64(p.Bytes)
	}
}

func (b *importBar) done() {
	if b.bar != nil {
		b.bar.Clear()
	}
}

// openRegistryFile opens the registry for a command, recording the OS
// user as the actor in its audit trail.
func openRegistryFile(path string) (*registry.Registry, error) {
	actor := "cli"
	if u, err := user.Current(); err == nil {
		actor = "cli:" + u.Username
	}
	return registry.Open(path, &registry.Options{Actor: actor})
}

type revocationLine struct {
	Issuer         string     `json:"issuer"`
	ID             string     `json:"id"`
	Key            string     `json:"key"`
	Reason         crl.Reason `json:"reason"`
	RevokedAt      time.Time  `json:"revoked_at"`
	SuspendedUntil *time.Time `json:"suspended_until,omitempty"`
}

func revocationJSON(rv registry.Revocation) revocationLine {
	l := revocationLine{Issuer: rv.Issuer, ID: rv.ID, Key: rv.Key().String(), Reason: rv.Reason, RevokedAt: rv.RevokedAt}
	if !rv.SuspendedUntil.IsZero() {
		l.SuspendedUntil = &rv.SuspendedUntil
	}
	return l
}

// reasonTable lists the reason codes for help texts, three to a line.
func reasonTable() string {
	var lines []string
	var line strings.Builder
	for i, r := range crl.Reasons() {
		fmt.Fprintf(&line, "%-3d %-22s", int(r), r)
		if i%3 == 2 {
			lines = append(lines, "  "+strings.TrimRight(line.String(), " "))
			line.Reset()
		}
	}
	if line.Len() > 0 {
		lines = append(lines, "  "+strings.TrimRight(line.String(), " "))
	}
	return strings.Join(lines, "\n")
}
