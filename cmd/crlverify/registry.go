package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/crl/service"
)

func newRegistryCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Import issued certificates into the authority's registry, and look at it",
		Long: `The registry is the authority's private file (bbolt): the certificates it
issued, their revocations, the audit trail, and what was published. The
revoke rules find certificates in it by id, by beneficiary and dose, and by
batch.

  registry import   add issued certificates (CSV or JSON lines)
  registry show     what the registry holds about some certificates
  registry stats    counts

` + exitCodeHelp,
	}
	cmd.AddCommand(newRegistryImportCommand(), newRegistryShowCommand(), newRegistryStatsCommand())
	return cmd
}

type registryImportOptions struct {
	registry string
	issuer   string
	format   string
	note     string
	actor    string
	json     bool
}

func newRegistryImportCommand() *cobra.Command {
	o := &registryImportOptions{}
	cmd := &cobra.Command{
		Use:   "import --registry FILE RECORDS",
		Short: "Import issued certificates (CSV or JSON lines; - for stdin)",
		Long: `import adds issued certificates to the registry (created if missing), so the
revoke rules can find them by beneficiary and dose or by batch, and the
online status knows them.

RECORDS is a file, or - for stdin: CSV with a header row naming its columns
in any order, or JSON lines (one object per line, same names), told apart by
the first character ('{' means JSON lines):

  certificate_id,issuer,beneficiary_id,dose,batch,issued_at,valid_until,previous_certificate_id
  7000003421003,https://cowin.gov.in/,12345678901234,1,4121Z025,2021-05-02T10:15:00Z,,
  7000004002118,https://cowin.gov.in/,12345678901234,2,4121Z031,2021-08-01T09:00:00Z,,

certificate_id, beneficiary_id, dose and issued_at are required; issuer
defaults to --issuer (or the registry's only issuer); batch may be empty;
valid_until is optional. previous_certificate_id makes the row a correction:
the previous certificate is revoked as superseded, linked to the new one.
Issuers and ids are opaque (an SHC iss URL and rid, an EU DCC country and
UVCI work as well as DIVOC's).

The input is read once, checked and sorted in bounded memory (temporary files
beside the registry), then written. A file is imported all or nothing: bad
rows are reported as RECORDS:LINE: why and nothing is imported (exit 2). A
row repeating an earlier one is reported as a duplicate; certificates the
registry already holds are counted as unchanged, so importing the same file
again changes nothing. A certificate given again with other fields is a bad
row: correct it with a new certificate id and previous_certificate_id.

` + exitCodeHelp,
		Example: `  crlverify registry import --registry moh.db issued-2021-05.csv
  zcat issued.jsonl.gz | crlverify registry import --registry moh.db - --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	f := cmd.Flags()
	f.StringVar(&o.registry, "registry", "", "registry file (required)")
	f.StringVar(&o.issuer, "issuer", "", "issuer of rows without one (default: the registry's only issuer)")
	f.StringVar(&o.format, "format", "auto", "input format: auto, csv or jsonl")
	f.StringVar(&o.note, "note", "", "free text kept in the audit trail")
	addActorFlag(f, &o.actor)
	f.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	_ = cmd.MarkFlagRequired("registry")
	return cmd
}

func (o *registryImportOptions) run(cmd *cobra.Command, input string) error {
	format, err := parseFormat(o.format)
	if err != nil {
		return withCode(ExitError, err)
	}
	in, name, size, closeIn, err := openInput(cmd, input)
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
	res, err := reg.ImportCertificates(contextOf(cmd), in, &registry.ImportOptions{
		Format: format, Issuer: o.issuer, Source: name, Actor: actorOr(o.actor), Note: o.note, Progress: bar.update,
	})
	bar.done()
	if bad := reportBadRows(cmd.ErrOrStderr(), name, err); bad != nil {
		return bad
	}
	if err != nil {
		return registryError(err)
	}
	stderr := cmd.ErrOrStderr()
	for _, d := range res.DuplicateRows {
		fmt.Fprintf(stderr, "%s:%d: duplicate of line %d (certificate %s), counted once\n", clean(name), d.Line, d.FirstLine, clean(d.CertificateID))
	}
	if n := res.Duplicates - int64(len(res.DuplicateRows)); n > 0 {
		fmt.Fprintf(stderr, "%s: %d more duplicate rows\n", clean(name), n)
	}
	out := cmd.OutOrStdout()
	if o.json {
		return writeJSON(out, struct {
			Source string `json:"source"`
			registry.CertImportResult
		}{name, res})
	}
	fmt.Fprintf(out, "%s: %d rows: %d certificates imported, %d already in the registry, %d duplicate rows",
		clean(name), res.Rows, res.Imported, res.Unchanged, res.Duplicates)
	if res.Corrected+res.CorrectedUnchanged > 0 {
		fmt.Fprintf(out, "; %d corrected certificates revoked as superseded (%d already were)", res.Corrected, res.CorrectedUnchanged)
	}
	if res.AuditSeq != 0 {
		fmt.Fprintf(out, "; audit record %d", res.AuditSeq)
	}
	_, err = fmt.Fprintln(out)
	return err
}

type registryShowOptions struct {
	registry string
	sel      selectorFlags
	json     bool
}

func newRegistryShowCommand() *cobra.Command {
	o := &registryShowOptions{}
	cmd := &cobra.Command{
		Use:   "show --registry FILE (--id ID | --beneficiary B [--doses 1,2] | --batch X) [--json]",
		Short: "Show what the registry holds about some certificates",
		Long: `show prints the selected certificates as the registry holds them: the
imported fields (beneficiary, dose, batch, times, the certificate a
correction replaced) and the revocation state now: valid, revoked,
suspended; a lifted revocation or an ended suspension shows as valid with
its record kept. An id the registry never imported but holds a revocation
of shows as not imported.

With --json, one object per certificate per line: issuer, certificate_id,
status (revoked, suspended, not_revoked), imported, the revocation record
(revoked_at, reason, suspended_until, lifted, superseded_by, last_change)
and the imported fields (beneficiary_id, dose, batch, issued_at,
valid_until, previous_certificate_id).

` + exitCodeHelp,
		Example: `  crlverify registry show --registry moh.db --id 7000003421003
  crlverify registry show --registry moh.db --beneficiary 12345678901234 --json
  crlverify registry show --registry moh.db --batch 4121Z025`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.registry, "registry", "", "registry file (required)")
	f.StringVar(&o.sel.id, "id", "", "certificate id")
	f.StringVar(&o.sel.beneficiary, "beneficiary", "", "beneficiary id")
	f.StringVar(&o.sel.doses, "doses", "", "only these doses of the beneficiary, e.g. 1,2")
	f.StringVar(&o.sel.batch, "batch", "", "vaccine batch")
	f.StringVar(&o.sel.issuer, "issuer", "", "issuer (needed only when the registry cannot tell)")
	f.BoolVar(&o.json, "json", false, "one JSON object per certificate per line")
	_ = cmd.MarkFlagRequired("registry")
	return cmd
}

func (o *registryShowOptions) run(cmd *cobra.Command) error {
	if o.sel.beneficiary != "" && o.sel.doses == "" {
		o.sel.allDoses = true
	}
	sel, err := o.sel.selector()
	if err != nil {
		return withCode(ExitError, err)
	}
	reg, err := openExistingRegistry(o.registry)
	if err != nil {
		return registryError(err)
	}
	defer reg.Close()
	out := cmd.OutOrStdout()
	n := 0
	now := time.Now()
	err = reg.EachCertificate(sel, func(c registry.Certificate) error {
		n++
		if o.json {
			return writeJSON(out, certificateView(c, now))
		}
		fmt.Fprintf(out, "%s %s: %s\n", clean(c.Issuer), clean(c.CertificateID), describeState(c.CertState))
		if c.Imported {
			fmt.Fprintf(out, "  beneficiary %s, dose %d", clean(c.BeneficiaryID), c.Dose)
			if c.Batch != "" {
				fmt.Fprintf(out, ", batch %s", clean(c.Batch))
			}
			fmt.Fprintf(out, ", issued %s", c.IssuedAt.Format(time.RFC3339))
			if !c.ValidUntil.IsZero() {
				fmt.Fprintf(out, ", valid until %s", c.ValidUntil.Format(time.RFC3339))
			}
			fmt.Fprintln(out)
			if c.PreviousCertificateID != "" {
				fmt.Fprintf(out, "  corrects %s\n", clean(c.PreviousCertificateID))
			}
		} else {
			fmt.Fprintln(out, "  not imported: the registry holds only its revocation record")
		}
		if c.SupersededBy != "" {
			fmt.Fprintf(out, "  superseded by %s\n", clean(c.SupersededBy))
		}
		if c.LastChange != 0 {
			fmt.Fprintf(out, "  last changed by audit record %d (crlverify audit list --certificate %s)\n", c.LastChange, clean(c.CertificateID))
		}
		return nil
	})
	if err != nil {
		return registryError(err)
	}
	if !o.json {
		fmt.Fprintf(out, "%d certificate%s\n", n, plural(n))
	}
	return nil
}

type registryStatsOptions struct {
	registry string
	json     bool
}

func newRegistryStatsCommand() *cobra.Command {
	o := &registryStatsOptions{}
	cmd := &cobra.Command{
		Use:   "stats --registry FILE [--json]",
		Short: "Count what the registry holds",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			reg, err := openExistingRegistry(o.registry)
			if err != nil {
				return registryError(err)
			}
			defer reg.Close()
			s, err := reg.Stats()
			if err != nil {
				return registryError(err)
			}
			out := cmd.OutOrStdout()
			if o.json {
				return writeJSON(out, s)
			}
			fmt.Fprintf(out, "certificates:  %d imported (in %d run%s)\n", s.Certificates, s.Runs, plural(s.Runs))
			fmt.Fprintf(out, "revocations:   %d revoked, %d suspended, %d lifted\n", s.Revoked, s.Suspended, s.Lifted)
			fmt.Fprintf(out, "issuers:       %d\n", s.Issuers)
			fmt.Fprintf(out, "last serial:   %d\n", s.LastSerial)
			fmt.Fprintf(out, "audit records: %d\n", s.AuditRecords)
			_, err = fmt.Fprintf(out, "data:          %d bytes\n", s.FileBytes)
			return err
		},
	}
	cmd.Flags().StringVar(&o.registry, "registry", "", "registry file (required)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON object")
	_ = cmd.MarkFlagRequired("registry")
	return cmd
}

// certificateJSON is a certificate as "registry show --json" prints it:
// the online status the API answers for it (service.CertificateStatus),
// with what the registry holds about it.
type certificateJSON struct {
	service.CertificateStatus
	LastChange            uint64    `json:"last_change,omitempty"`
	BeneficiaryID         string    `json:"beneficiary_id,omitempty"`
	Dose                  int       `json:"dose,omitempty"`
	Batch                 string    `json:"batch,omitempty"`
	IssuedAt              time.Time `json:"issued_at,omitzero"`
	ValidUntil            time.Time `json:"valid_until,omitzero"`
	PreviousCertificateID string    `json:"previous_certificate_id,omitempty"`
}

func certificateView(c registry.Certificate, at time.Time) certificateJSON {
	st := service.StatusOf(registry.CertificateStatus{Issuer: c.Issuer, CertificateID: c.CertificateID, Imported: c.Imported,
		At: at, ValidUntil: c.ValidUntil, CertState: c.CertState})
	return certificateJSON{CertificateStatus: st, LastChange: c.LastChange, BeneficiaryID: c.BeneficiaryID, Dose: c.Dose,
		Batch: c.Batch, IssuedAt: utcSecond(c.IssuedAt), ValidUntil: utcSecond(c.ValidUntil), PreviousCertificateID: c.PreviousCertificateID}
}
