package main

import (
	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/registry"
)

func newSuspendCommand() *cobra.Command {
	o := &changeOptions{action: registry.ActionSuspend}
	cmd := &cobra.Command{
		Use:   "suspend --registry FILE (--id ID | --beneficiary B (--doses 2,3 | --all-doses) | --batch X) --until T [flags]",
		Short: "Suspend certificates until a date",
		Long: `suspend revokes certificates until a time: verifiers treat them as revoked
before --until and as valid again from then, and the first list published
after --until leaves them out. "crlverify unrevoke" ends a suspension early.

` + selectorHelp + `

--until is a time (RFC 3339, a date, Unix seconds) or +DURATION after --at
(e.g. +720h). The reason is certificateHold unless --reason says otherwise
(faultyBatch for a batch). Suspending again moves the end and keeps the
start. A certificate revoked for good cannot be suspended: lift the
revocation first.

` + exitCodeHelp,
		Example: `  crlverify suspend --registry moh.db --id 8000000000042 --until 2026-09-01 --note "pending review"
  crlverify suspend --registry moh.db --batch 4121Z025 --until +720h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	o.addFlags(cmd)
	cmd.Flags().StringVar(&o.until, "until", "", "end of the suspension: a time, or +DURATION after --at (required)")
	_ = cmd.MarkFlagRequired("until")
	return cmd
}
