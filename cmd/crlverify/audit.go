package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/snapshot"
)

func newAuditCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Check and read the registry's hash-chained audit trail",
		Long: `Every change to the registry (an import, a revocation, a suspension, a lift,
an issuer added, a publication) is one record of an append-only audit trail:
who, when, why (reason, note), and what changed (the certificates, with a
Merkle root over them). Each record's hash covers the previous record's
hash, so editing, removing, reordering or adding a record breaks the chain.
The record format is specified in the crl/registry package documentation.

  audit verify   prove the chain unbroken and the registry consistent with it
  audit list     the records, filtered

` + exitCodeHelp,
	}
	cmd.AddCommand(newAuditVerifyCommand(), newAuditListCommand())
	return cmd
}

type auditVerifyOptions struct {
	registry    string
	publication string
	jwks        string
	json        bool
}

func newAuditVerifyCommand() *cobra.Command {
	o := &auditVerifyOptions{}
	cmd := &cobra.Command{
		Use:   "verify --registry FILE [--publication DIR --jwks FILE] [--json]",
		Short: "Prove the audit trail unbroken",
		Long: `verify recomputes every audit record's hash over its canonical encoding and
the previous record's hash, checks the sequence numbers run from 1 to the
head the registry keeps, recomputes each record's items root from its items
(for an import, from the certificates the registry holds), and replays the
trail against the registry: every revocation record must be what its last
audit record set.

Nothing in the file alone stops someone who can write it from rewriting the
whole chain consistently. Every publication signs the audit head it was made
at (checkpoint-<serial>.jws, kept beside the snapshots): with --publication
DIR and the publisher's public keys (--jwks), verify also proves the trail
consistent with every checkpoint in DIR (record audit_seq hashes to the
signed head). A trail rewritten before the last publication, or a registry
put back from a copy older than it, is found from the published files alone.

It names the first record that does not hold and exits 1; exit 0 means the
trail is unbroken, the registry follows from it, and every checkpoint holds.
A checkpoint that is not signed by a --jwks key also exits 1. Exit 2 is an
I/O error.

` + exitCodeHelp,
		Example: `  crlverify audit verify --registry moh.db
  crlverify audit verify --registry moh.db --publication pub/ --jwks keys/publisher.jwks`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	cmd.Flags().StringVar(&o.registry, "registry", "", "registry file (required)")
	cmd.Flags().StringVar(&o.publication, "publication", "", "publication directory whose signed checkpoints the trail must match")
	cmd.Flags().StringVar(&o.jwks, "jwks", "", "the publisher's public keys (JWKS), with --publication")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the result as one JSON object")
	_ = cmd.MarkFlagRequired("registry")
	return cmd
}

func (o *auditVerifyOptions) run(cmd *cobra.Command) error {
	if (o.publication == "") != (o.jwks == "") {
		return withCode(ExitError, errors.New("--publication and --jwks go together"))
	}
	var keys snapshot.Keys
	if o.jwks != "" {
		var err error
		if keys, err = readKeys(o.jwks); err != nil {
			return withCode(ExitError, err)
		}
	}
	reg, err := openExistingRegistry(o.registry)
	if err != nil {
		return registryError(err)
	}
	defer reg.Close()
	rep, err := reg.VerifyAudit()
	var cps registry.CheckpointReport
	if err == nil && o.publication != "" {
		cps, err = reg.VerifyCheckpoints(o.publication, keys)
		if isSnapshotRefusal(err) {
			return withCode(ExitInvalid, err)
		}
	}
	out := cmd.OutOrStdout()
	var broken *registry.AuditError
	if errors.As(err, &broken) {
		if o.json {
			writeJSON(out, struct {
				OK      bool   `json:"ok"`
				Seq     uint64 `json:"seq"`
				Problem string `json:"problem"`
			}{false, broken.Seq, broken.Problem})
		}
		return withCode(ExitInvalid, err)
	}
	if err != nil {
		return registryError(err)
	}
	if o.json {
		return writeJSON(out, struct {
			OK bool `json:"ok"`
			registry.AuditReport
			Checkpoints *[]registry.CheckpointResult `json:"checkpoints,omitempty"`
		}{true, rep, checkpointsOf(o.publication, cps)})
	}
	_, err = fmt.Fprintf(out, "audit trail verified: %d records, head %s\n  %d items, %d certificates, %d revocation records consistent with it\n",
		rep.Records, rep.Head, rep.Items, rep.Certificates, rep.Revocations)
	if o.publication != "" {
		n := len(cps.Checkpoints)
		if n == 0 {
			fmt.Fprintf(out, "  no signed checkpoint in %s\n", clean(o.publication))
		} else {
			last := cps.Checkpoints[n-1]
			fmt.Fprintf(out, "  consistent with %d signed checkpoint%s in %s (the newest: serial %d at record %d)\n",
				n, plural(n), clean(o.publication), last.Serial, last.AuditSeq)
		}
	}
	return err
}

func checkpointsOf(dir string, rep registry.CheckpointReport) *[]registry.CheckpointResult {
	if dir == "" {
		return nil
	}
	cps := rep.Checkpoints
	if cps == nil {
		cps = []registry.CheckpointResult{}
	}
	return &cps
}

// isSnapshotRefusal reports whether err is a published file refused
// (forged, unknown key, malformed).
func isSnapshotRefusal(err error) bool {
	for _, s := range []error{snapshot.ErrBadSignature, snapshot.ErrUnknownKey, snapshot.ErrMalformed, snapshot.ErrUnsupportedVersion, snapshot.ErrTooLarge} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

type auditListOptions struct {
	registry    string
	since       string
	until       string
	actor       string
	action      string
	issuer      string
	certificate string
	items       bool
	json        bool
}

func newAuditListCommand() *cobra.Command {
	o := &auditListOptions{}
	cmd := &cobra.Command{
		Use:   "list --registry FILE [--since T] [--until T] [--actor A] [--action A] [--certificate ID] [--json [--items]]",
		Short: "List audit records, oldest first",
		Long: `list prints the audit records the filters select, oldest first: sequence
number, time, action, actor, reason, and what the request selected.

  --since, --until    record times (since <= t < until)
  --actor             one actor, e.g. cli:alice or a token's name
  --action            import, revoke, suspend, lift, add-issuer, publish or
                      carry-forward
  --certificate ID    records that changed or named one certificate
                      (with --issuer when ids repeat across issuers)

With --json, one object per record per line, with every field of the
record's canonical encoding and its hash; --items adds the items (the
certificates it changed), enough to recompute the chain elsewhere.

` + exitCodeHelp,
		Example: `  crlverify audit list --registry moh.db --since 2026-11-01 --actor cli:alice
  crlverify audit list --registry moh.db --certificate 7000003421003
  crlverify audit list --registry moh.db --json --items > audit.jsonl`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.registry, "registry", "", "registry file (required)")
	f.StringVar(&o.since, "since", "", "records at or after this time")
	f.StringVar(&o.until, "until", "", "records before this time")
	f.StringVar(&o.actor, "actor", "", "records of this actor")
	f.StringVar(&o.action, "action", "", "records of this action")
	f.StringVar(&o.issuer, "issuer", "", "issuer of --certificate")
	f.StringVar(&o.certificate, "certificate", "", "records that changed or named this certificate id")
	f.BoolVar(&o.items, "items", false, "with --json: include each record's items")
	f.BoolVar(&o.json, "json", false, "one JSON object per record per line")
	_ = cmd.MarkFlagRequired("registry")
	return cmd
}

func (o *auditListOptions) run(cmd *cobra.Command) error {
	var f registry.AuditFilter
	var err error
	if f.Since, err = parseTimeFlag("since", o.since); err != nil {
		return withCode(ExitError, err)
	}
	if f.Until, err = parseTimeFlag("until", o.until); err != nil {
		return withCode(ExitError, err)
	}
	if o.action != "" {
		if f.Action, err = registry.ParseAction(o.action); err != nil {
			return withCode(ExitError, fmt.Errorf("--action: %w", err))
		}
	}
	if o.items && !o.json {
		return withCode(ExitError, errors.New("--items goes with --json"))
	}
	f.Actor, f.Issuer, f.CertificateID = o.actor, o.issuer, o.certificate
	reg, err := openExistingRegistry(o.registry)
	if err != nil {
		return registryError(err)
	}
	defer reg.Close()
	out := cmd.OutOrStdout()
	var recs []*registry.AuditRecord
	err = reg.AuditList(f, func(a *registry.AuditRecord) error {
		if o.items {
			rec := *a
			recs = append(recs, &rec)
			return nil
		}
		if o.json {
			return writeJSON(out, a)
		}
		return printAuditRecord(out, a)
	})
	if err != nil {
		return registryError(err)
	}
	// Items are read after the walk: each read is its own transaction.
	for _, a := range recs {
		items := []registry.AuditItem{}
		if err := reg.AuditItems(a.Seq, func(it registry.AuditItem) error {
			items = append(items, it)
			return nil
		}); err != nil {
			return registryError(err)
		}
		if err := writeJSON(out, struct {
			*registry.AuditRecord
			Items []registry.AuditItem `json:"items"`
		}{a, items}); err != nil {
			return err
		}
	}
	return nil
}

func printAuditRecord(w io.Writer, a *registry.AuditRecord) error {
	var what []string
	add := func(format string, args ...any) { what = append(what, fmt.Sprintf(format, args...)) }
	if a.Issuer != "" {
		add("issuer %s", clean(a.Issuer))
	}
	if a.CertificateID != "" {
		add("id %s", clean(a.CertificateID))
	}
	if a.BeneficiaryID != "" {
		if a.AllDoses {
			add("beneficiary %s all doses", clean(a.BeneficiaryID))
		} else {
			add("beneficiary %s doses %v", clean(a.BeneficiaryID), a.Doses)
		}
	}
	if a.Batch != "" {
		add("batch %s", clean(a.Batch))
	}
	if a.ReplacedBy != "" {
		add("replaced by %s", clean(a.ReplacedBy))
	}
	if a.Source != "" {
		add("from %s", clean(a.Source))
	}
	if a.Serial != 0 {
		add("serial %d", a.Serial)
	}
	switch a.Action {
	case registry.ActionRevoke, registry.ActionSuspend:
		add("reason %s", a.Reason)
	}
	if !a.Until.IsZero() {
		add("until %s", a.Until.Format(time.RFC3339))
	}
	if a.ItemCount > 0 {
		add("%d certificate%s", a.ItemCount, plural(int(a.ItemCount)))
	}
	if a.Note != "" {
		add("note \"%s\"", clean(a.Note))
	}
	_, err := fmt.Fprintf(w, "%6d  %s  %-10s %-16s %s\n", a.Seq, a.Time.Format(time.RFC3339), a.Action, clean(a.Actor), strings.Join(what, ", "))
	return err
}
