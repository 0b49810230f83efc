package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/registry"
)

type revocationsOptions struct {
	registry string
	since    string
	until    string
	json     bool
}

func newRevocationsCommand() *cobra.Command {
	o := &revocationsOptions{}
	cmd := &cobra.Command{
		Use:   "revocations --registry FILE [--since T] [--until T] [--json]",
		Short: "List the revocations and suspensions in force, oldest first",
		Long: `revocations lists the certificates revoked or suspended now, in the
chronological order of their revoked-at times (then by list key): what the
next publication lists, by id. Suspensions that have ended and lifted
revocations are left out.

--since and --until bound the revoked-at times (since <= t < until); each is
RFC 3339, a date or Unix seconds.

With --json, one object per revocation per line: certificate_id, issuer,
revoked_at, reason, and suspended_until for a suspension.

` + exitCodeHelp,
		Example: `  crlverify revocations --registry moh.db --since 2026-11-01
  crlverify revocations --registry moh.db --json | jq -r .certificate_id`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.registry, "registry", "", "registry file (required)")
	f.StringVar(&o.since, "since", "", "only revocations at or after this time")
	f.StringVar(&o.until, "until", "", "only revocations before this time")
	f.BoolVar(&o.json, "json", false, "one JSON object per revocation per line")
	_ = cmd.MarkFlagRequired("registry")
	return cmd
}

func (o *revocationsOptions) run(cmd *cobra.Command) error {
	var q registry.RevocationQuery
	var err error
	if q.Since, err = parseTimeFlag("since", o.since); err != nil {
		return withCode(ExitError, err)
	}
	if q.Until, err = parseTimeFlag("until", o.until); err != nil {
		return withCode(ExitError, err)
	}
	reg, err := openExistingRegistry(o.registry)
	if err != nil {
		return registryError(err)
	}
	defer reg.Close()
	out := cmd.OutOrStdout()
	q.Limit = registry.MaxRevocationsPage
	n := 0
	for {
		page, next, err := reg.Revocations(q)
		if err != nil {
			return registryError(err)
		}
		for _, rv := range page {
			n++
			if o.json {
				if err := writeJSON(out, rv); err != nil {
					return err
				}
				continue
			}
			fmt.Fprintf(out, "%s  %-20s %s %s", rv.RevokedAt.Format(time.RFC3339), rv.Reason, clean(rv.Issuer), clean(rv.CertificateID))
			if !rv.SuspendedUntil.IsZero() {
				fmt.Fprintf(out, "  (suspended until %s)", rv.SuspendedUntil.Format(time.RFC3339))
			}
			if rv.SupersededBy != "" {
				fmt.Fprintf(out, "  (superseded by %s)", clean(rv.SupersededBy))
			}
			fmt.Fprintln(out)
		}
		if next == "" {
			break
		}
		q.Cursor = next
	}
	if !o.json {
		fmt.Fprintf(cmd.ErrOrStderr(), "%d revocation%s in force\n", n, plural(n))
	}
	return nil
}
