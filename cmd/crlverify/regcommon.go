package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/user"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/term"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/crl/service"
)

// Flags and helpers the authority's registry commands share.

// defaultActor is who the audit trail names for a command line: cli: and
// the OS user.
func defaultActor() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return "cli:" + u.Username
	}
	if name := os.Getenv("USER"); name != "" {
		return "cli:" + name
	}
	return "cli"
}

// addActorFlag adds --actor.
func addActorFlag(f *pflag.FlagSet, actor *string) {
	f.StringVar(actor, "actor", "", `who the audit trail names (default "cli:$USER")`)
}

func actorOr(actor string) string {
	if actor != "" {
		return actor
	}
	return defaultActor()
}

// openRegistryFile opens the registry for a command, naming actor in its
// audit trail.
func openRegistryFile(path, actor string) (*registry.Registry, error) {
	if path == "" {
		return nil, errors.New("--registry is required")
	}
	return registry.Open(path, &registry.Options{Actor: actorOr(actor)})
}

// openExistingRegistry opens a registry that must exist, for reading
// commands: a mistyped path is not silently a new, empty registry. A
// file the user may not write is opened read-only.
func openExistingRegistry(path string) (*registry.Registry, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("registry %s: %w", path, err)
	}
	reg, err := openRegistryFile(path, "")
	if err != nil && (errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS)) {
		// An auditor's read-only copy, or a file this user may only
		// read: reading commands read it as it is.
		return registry.Open(path, &registry.Options{ReadOnly: true})
	}
	return reg, err
}

// selectorFlags name the certificates a revoke, suspend or unrevoke is
// about.
type selectorFlags struct {
	issuer      string
	id          string
	beneficiary string
	doses       string
	allDoses    bool
	batch       string
}

func (s *selectorFlags) add(f *pflag.FlagSet) {
	f.StringVar(&s.id, "id", "", "certificate id")
	f.StringVar(&s.beneficiary, "beneficiary", "", "beneficiary id (pre-enrollment code), with --doses or --all-doses")
	f.StringVar(&s.doses, "doses", "", "the beneficiary's doses, e.g. 2,3 (consecutive, ending with the latest dose)")
	f.BoolVar(&s.allDoses, "all-doses", false, "every dose of the beneficiary")
	f.StringVar(&s.batch, "batch", "", "every certificate of a vaccine batch")
	f.StringVar(&s.issuer, "issuer", "", "issuer of the certificates (default: the registry's only issuer, or the one that has them)")
}

// selector checks the flags: exactly one of --id, --beneficiary, --batch.
func (s *selectorFlags) selector() (registry.Selector, error) {
	sel := registry.Selector{Issuer: s.issuer, CertificateID: s.id, BeneficiaryID: s.beneficiary, AllDoses: s.allDoses, Batch: s.batch}
	n := 0
	for _, v := range []string{s.id, s.beneficiary, s.batch} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return sel, errors.New("give --id, --beneficiary (with --doses or --all-doses) or --batch")
	case n > 1:
		return sel, errors.New("give one of --id, --beneficiary or --batch")
	case s.beneficiary == "" && (s.doses != "" || s.allDoses):
		return sel, errors.New("--doses and --all-doses go with --beneficiary")
	case s.beneficiary != "" && s.doses == "" && !s.allDoses:
		return sel, errors.New("--beneficiary needs --doses (e.g. --doses 2,3) or --all-doses")
	case s.doses != "" && s.allDoses:
		return sel, errors.New("give --doses or --all-doses, not both")
	}
	if s.doses != "" {
		for _, part := range strings.Split(s.doses, ",") {
			d, err := strconv.Atoi(strings.TrimSpace(part))
			if err != nil || d < 1 || d > registry.MaxDose {
				return sel, fmt.Errorf("--doses %q: want dose numbers 1 to %d separated by commas, e.g. 2,3", s.doses, registry.MaxDose)
			}
			sel.Doses = append(sel.Doses, d)
		}
	}
	return sel, nil
}

// parseReasonFlag reads --reason: a reason's name or code; codes without
// a name (7, 14, 15) are refused.
func parseReasonFlag(s string) (crl.Reason, error) {
	r, err := crl.ParseReason(s)
	if err != nil {
		return 0, fmt.Errorf("--reason: %w", err)
	}
	return r, nil
}

// parseTimeFlag reads a time flag with registry.ParseTime.
func parseTimeFlag(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := registry.ParseTime(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--%s: %w", name, err)
	}
	return t, nil
}

// registryError turns a registry error into a command error with a hint
// where one helps. Every registry failure is exit code 2.
func registryError(err error) error {
	switch {
	case errors.Is(err, registry.ErrIssuerRequired):
		err = fmt.Errorf("%w (give --issuer)", err)
	case errors.Is(err, registry.ErrLayout):
		err = fmt.Errorf("%w", err)
	}
	return withCode(ExitError, err)
}

// printOutcome prints what a revoke, suspend or unrevoke did; --json
// prints what the API answers for the same request (service.Outcome).
func printOutcome(w io.Writer, out registry.Outcome, asJSON bool) error {
	if asJSON {
		return writeJSON(w, service.OutcomeOf(out))
	}
	verb := map[registry.Action]string{registry.ActionRevoke: "revoked", registry.ActionSuspend: "suspended", registry.ActionLift: "lifted"}[out.Action]
	fmt.Fprintf(w, "%s %d of %d certificate%s", verb, out.Changed, out.Matched, plural(out.Matched))
	if out.Unchanged > 0 {
		fmt.Fprintf(w, " (%d already so)", out.Unchanged)
	}
	if out.AuditSeq != 0 {
		fmt.Fprintf(w, ", audit record %d", out.AuditSeq)
	}
	fmt.Fprintln(w)
	const maxLines = 20
	for i, c := range out.Certificates {
		if i == maxLines {
			fmt.Fprintf(w, "  ... and %d more (--json lists up to %d; the audit record lists all)\n", out.Matched-maxLines, registry.MaxOutcomeCertificates)
			break
		}
		mark := " "
		if !c.Changed {
			mark = "="
		}
		fmt.Fprintf(w, " %s %s %s: %s -> %s\n", mark, clean(c.Issuer), clean(c.CertificateID), describeState(c.Before), describeState(c.After))
	}
	return nil
}

// describeState says a certificate's state in a few words.
func describeState(s registry.CertState) string {
	switch s.State {
	case registry.StateRevoked:
		return fmt.Sprintf("revoked (%s, from %s)", s.Reason, s.RevokedAt.Format(time.RFC3339))
	case registry.StateSuspended:
		return fmt.Sprintf("suspended (%s, from %s until %s)", s.Reason, s.RevokedAt.Format(time.RFC3339), s.SuspendedUntil.Format(time.RFC3339))
	case registry.StateValid:
		if s.Status == registry.StatusLifted {
			return "valid (revocation lifted)"
		}
		if s.Status == registry.StatusSuspended {
			return "valid (suspension ended " + s.SuspendedUntil.Format(time.RFC3339) + ")"
		}
	}
	return string(s.State)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// importBar shows a progress bar on a terminal: bytes read, then rows
// written. It stays silent when stderr is not a terminal.
type importBar struct {
	w       io.Writer
	bar     *progressbar.ProgressBar
	writing bool
}

func newImportBar(stderr io.Writer, size int64) *importBar {
	f, ok := stderr.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return &importBar{}
	}
	return &importBar{w: f, bar: progressbar.NewOptions64(size,
		progressbar.OptionSetWriter(f),
		progressbar.OptionSetDescription("reading"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)}
}

func (b *importBar) update(p registry.ImportProgress) {
	if b.bar == nil {
		return
	}
	if p.Phase == "writing" && !b.writing {
		b.writing = true
		b.bar.Clear()
		b.bar = progressbar.NewOptions64(-1,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription("writing"),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("rows"),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionClearOnFinish(),
		)
	}
	if b.writing {
		b.bar.Set64(p.Written)
	} else {
		b.bar.Set64(p.Bytes)
	}
}

func (b *importBar) done() {
	if b.bar != nil {
		b.bar.Clear()
	}
}

// boundImportMemory asks the garbage collector to keep the heap near the
// import's working set (its sort buffers, about 100 MB), unless GOMEMLIMIT
// says otherwise: an import's peak memory then does not depend on how
// big the input is.
func boundImportMemory() {
	if debug.SetMemoryLimit(-1) == math.MaxInt64 {
		debug.SetMemoryLimit(importMemoryLimit)
	}
}

const importMemoryLimit = 160 << 20

// openInput opens an input file, "-" meaning stdin; it returns the name
// to report and the size (-1 if unknown).
func openInput(cmd *cobra.Command, name string) (io.Reader, string, int64, func(), error) {
	if name == "-" {
		return cmd.InOrStdin(), "stdin", -1, func() {}, nil
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, "", 0, nil, err
	}
	size := int64(-1)
	if fi, err := f.Stat(); err == nil && fi.Mode().IsRegular() {
		size = fi.Size()
	}
	return f, name, size, func() { f.Close() }, nil
}

func parseFormat(s string) (registry.Format, error) {
	switch s {
	case "auto", "":
		return registry.FormatAuto, nil
	case "csv":
		return registry.FormatCSV, nil
	case "jsonl", "json":
		return registry.FormatJSONLines, nil
	}
	return "", fmt.Errorf("--format must be auto, csv or jsonl, not %q", s)
}

// reportBadRows prints an import's bad rows as NAME:LINE: why.
func reportBadRows(stderr io.Writer, name string, err error) error {
	var bad *registry.ImportError
	if !errors.As(err, &bad) {
		return nil
	}
	for _, row := range bad.Rows {
		fmt.Fprintf(stderr, "%s:%d: %s\n", clean(name), row.Line, clean(row.Err.Error()))
	}
	more := ""
	if bad.Truncated {
		more = " (stopped looking after these)"
	}
	return withCode(ExitError, fmt.Errorf("%s: nothing applied: %d bad row%s%s", clean(name), len(bad.Rows), plural(len(bad.Rows)), more))
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
