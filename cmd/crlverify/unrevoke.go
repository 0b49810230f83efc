package main

import (
	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/registry"
)

func newUnrevokeCommand() *cobra.Command {
	o := &changeOptions{action: registry.ActionLift}
	cmd := &cobra.Command{
		Use:   "unrevoke --registry FILE (--id ID | --beneficiary B (--doses 2,3 | --all-doses) | --batch X) [flags]",
		Short: "Lift revocations or suspensions in the authority's registry",
		Long: `unrevoke lifts the revocations and suspensions of the selected certificates:
the next "crlverify publish" leaves them out of the full list and carries
their removal in the deltas, so verifiers holding an older list drop them too.

` + selectorHelp + `

Lifting is a soft delete: the registry keeps the certificate and the record
of the revocation, marked lifted, and the audit trail keeps its history.
Lifting what is not revoked changes nothing; an id the registry never heard
of is an error. A suspension needs no unrevoke to end on its date; this is
for mistakes and for ending one early.

` + exitCodeHelp,
		Example: `  crlverify unrevoke --registry moh.db --id 8000000000059 --note "revoked in error, ticket 4412"
  crlverify unrevoke --registry moh.db --batch 4121Z025`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.addFlags(cmd)
	return cmd
}
