package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/registry"
)

// changeOptions are the flags of revoke, suspend and unrevoke.
type changeOptions struct {
	action     registry.Action
	registry   string
	sel        selectorFlags
	reason     string
	note       string
	at         string
	until      string
	replacedBy string
	fromFile   string
	format     string
	actor      string
	json       bool
}

const selectorHelp = `Select the certificates with one of:

  --id ID                        one certificate (revoke and suspend also take
                                 ids the registry never imported)
  --beneficiary B --doses 2,3    a beneficiary's doses: consecutive, and
                                 including the latest dose issued (doses 1-3
                                 issued: 3, 2,3 or 1,2,3; not 1, 2 or 1,3)
  --beneficiary B --all-doses    every dose of the beneficiary
  --batch X                      every certificate of a vaccine batch

--issuer is needed only when the registry covers several issuers and the
selection does not tell which. A request a rule refuses (doses that leave the
latest dose standing, suspending a revoked certificate, an unknown beneficiary
or batch) changes nothing and exits 2, naming the rule.`

func newRevokeCommand() *cobra.Command {
	o := &changeOptions{action: registry.ActionRevoke}
	cmd := &cobra.Command{
		Use:   "revoke --registry FILE (--id ID | --beneficiary B (--doses 2,3 | --all-doses) | --batch X | --from-file FILE|-) [flags]",
		Short: "Revoke certificates in the authority's registry",
		Long: `revoke revokes certificates for good in the registry (a bbolt file, created
if missing). They reach verifiers with the next "crlverify publish".

` + selectorHelp + `

A batch revocation says how many certificates it revoked; its reason is
faultyBatch unless --reason says otherwise. --replaced-by NEW revokes --id as
superseded by the corrected certificate NEW (a correction).

Revoking a certificate that is already revoked keeps its original revoked-at
(unless --at is given) and its reason (unless --reason is given): repeating a
request changes nothing. Every change is one record of the audit trail,
naming --actor (default cli:$USER), the reason and --note.

Many at once: --from-file FILE (or - for stdin), CSV or JSON lines, told apart
by the first character ('{' means JSON lines). CSV has a header row naming
its columns, in any order; only id is required:

  id,issuer,reason,revoked_at,suspended_until
  7000003421003,https://cowin.gov.in/,tampering,2025-06-07T22:56:18Z,
  7000003421004,https://cowin.gov.in/,certificateHold,2026-05-10,2026-09-01

JSON lines carry the same fields, one object per line:

  {"id":"7000003421003","issuer":"https://cowin.gov.in/","reason":"tampering","revoked_at":1749336978}

A row with suspended_until is a suspension. The last row for a certificate
wins. A file is applied all or nothing: if any row is bad, every bad row is
reported as FILE:LINE: why, nothing is applied and the exit code is 2.

Times are RFC 3339, a date (midnight UTC) or Unix seconds. Reasons (name or
code):

` + reasonTable() + `

` + exitCodeHelp,
		Example: `  crlverify revoke --registry moh.db --id 7000003421003 --reason dataError --note "ticket 4411"
  crlverify revoke --registry moh.db --beneficiary 12345678901234 --doses 2,3 --reason tampering
  crlverify revoke --registry moh.db --batch 4121Z025 --json
  crlverify revoke --registry moh.db --id 7000003421003 --replaced-by 7000009999001
  crlverify revoke --registry moh.db --from-file revocations.csv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.addFlags(cmd)
	f := cmd.Flags()
	f.StringVar(&o.replacedBy, "replaced-by", "", "id of the certificate that corrects --id (revokes it as superseded)")
	f.StringVar(&o.fromFile, "from-file", "", "CSV or JSON lines file of revocations, - for stdin")
	f.StringVar(&o.format, "format", "auto", "format of --from-file: auto, csv or jsonl")
	// --until made a suspension in earlier versions; say where it went.
	f.StringVar(&o.until, "until", "", "")
	_ = f.MarkHidden("until")
	return cmd
}

func (o *changeOptions) addFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.StringVar(&o.registry, "registry", "", "registry file (required)")
	o.sel.add(f)
	if o.action != registry.ActionLift {
		f.StringVar(&o.reason, "reason", "", "reason name or code (default: see above)")
		f.StringVar(&o.at, "at", "", "when it took effect (default now; a certificate already revoked keeps its time)")
	}
	f.StringVar(&o.note, "note", "", "free text kept in the audit trail")
	addActorFlag(f, &o.actor)
	f.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	_ = cmd.MarkFlagRequired("registry")
}

func (o *changeOptions) run(cmd *cobra.Command) error {
	if o.action == registry.ActionRevoke && o.until != "" {
		return withCode(ExitError, errors.New("--until makes a suspension: use \"crlverify suspend ... --until T\""))
	}
	if o.fromFile != "" {
		return o.runFile(cmd)
	}
	sel, err := o.sel.selector()
	if err != nil {
		return withCode(ExitError, err)
	}
	q := registry.Request{Selector: sel, Note: o.note, Actor: actorOr(o.actor), ReplacedBy: o.replacedBy}
	if q.Reason, err = parseReasonFlag(o.reason); err != nil {
		return withCode(ExitError, err)
	}
	if q.At, err = parseTimeFlag("at", o.at); err != nil {
		return withCode(ExitError, err)
	}
	if o.action == registry.ActionSuspend {
		if q.Until, err = parseUntil(o.until, q.At); err != nil {
			return withCode(ExitError, fmt.Errorf("--until: %w", err))
		}
	}
	reg, err := openRegistryFile(o.registry, o.actor)
	if err != nil {
		return registryError(err)
	}
	defer reg.Close()
	var out registry.Outcome
	ctx := contextOf(cmd)
	switch o.action {
	case registry.ActionRevoke:
		out, err = reg.Revoke(ctx, q)
	case registry.ActionSuspend:
		out, err = reg.Suspend(ctx, q)
	default:
		out, err = reg.Lift(ctx, q)
	}
	if err != nil {
		return registryError(err)
	}
	return printOutcome(cmd.OutOrStdout(), out, o.json)
}

// parseUntil reads --until: a time, or "+DURATION" after at (now when at
// is zero).
func parseUntil(v string, at time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, errors.New("a suspension needs an end: give --until")
	}
	if d, ok := strings.CutPrefix(v, "+"); ok {
		dur, err := time.ParseDuration(d)
		if err != nil || dur < time.Second {
			return time.Time{}, fmt.Errorf("bad duration %q (want e.g. +720h)", v)
		}
		if at.IsZero() {
			at = time.Now()
		}
		return at.Add(dur).UTC().Truncate(time.Second), nil
	}
	return registry.ParseTime(v)
}

func (o *changeOptions) runFile(cmd *cobra.Command) error {
	switch {
	case o.sel != selectorFlags{}:
		return withCode(ExitError, errors.New("give --from-file or a selector (--id, --beneficiary, --batch), not both"))
	case o.reason != "" || o.at != "" || o.replacedBy != "":
		return withCode(ExitError, errors.New("--reason, --at and --replaced-by are for one request; a file carries them per row"))
	}
	format, err := parseFormat(o.format)
	if err != nil {
		return withCode(ExitError, err)
	}
	in, name, size, closeIn, err := openInput(cmd, o.fromFile)
	if err != nil {
		return withCode(ExitError, err)
	}
	defer closeIn()
	reg, err := openRegistryFile(o.registry, o.actor)
	if err != nil {
		return registryError(err)
	}
	defer reg.Close()
	boundImportMemory()
	bar := newImportBar(cmd.ErrOrStderr(), size)
	res, err := reg.ImportRevocations(contextOf(cmd), in, &registry.ImportOptions{
		Format: format, Issuer: o.sel.issuer, Source: name, Actor: actorOr(o.actor), Note: o.note, Progress: bar.update,
	})
	bar.done()
	if bad := reportBadRows(cmd.ErrOrStderr(), name, err); bad != nil {
		return bad
	}
	if err != nil {
		return registryError(err)
	}
	out := cmd.OutOrStdout()
	if o.json {
		return writeJSON(out, struct {
			Source string `json:"source"`
			registry.ImportResult
		}{name, res})
	}
	fmt.Fprintf(out, "%s: %d rows: %d certificates revoked, suspended or updated, %d unchanged", clean(name), res.Rows, res.Changed, res.Unchanged)
	if res.Replaced > 0 {
		fmt.Fprintf(out, ", %d rows replaced by a later row", res.Replaced)
	}
	if res.AuditSeq != 0 {
		fmt.Fprintf(out, "; audit record %d", res.AuditSeq)
	}
	_, err = fmt.Fprintln(out)
	return err
}
