package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// NewRootCommand returns the crlverify command tree.
func NewRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "crlverify",
		Short: "Signed certificate revocation lists for health certificates, checked offline",
		Long: `crlverify lets an issuing authority publish signed, serial-numbered
certificate revocation lists (CRL snapshots), and lets anyone check a scanned
health certificate against them with no network.

Authorities:     keygen, registry, revoke, suspend, unrevoke, revocations,
                 publish, audit, serve, inspect
Verifiers:       sync, status, check, scan, trust, forget

` + exitCodeHelp,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newVersionCommand(),
		newSyncCommand(), newStatusCommand(), newCheckCommand(), newForgetCommand(),
		newTrustCommand(), newScanCommand(),
		newKeygenCommand(), newInspectCommand(),
		newRegistryCommand(), newRevokeCommand(), newSuspendCommand(), newUnrevokeCommand(),
		newRevocationsCommand(), newPublishCommand(), newAuditCommand(), newServeCommand(),
	)
	return root
}

// run executes the command line and returns the process exit code.
func run(args []string) int {
	return execute(NewRootCommand(), args, os.Stderr)
}

func execute(root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	var silent *exitError
	if !errors.As(err, &silent) || silent.err != nil {
		fmt.Fprintf(stderr, "crlverify: %v\n", err)
	}
	return code
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version and the snapshot format it reads and writes",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "crlverify %s (snapshot format v1)\n", version)
			return err
		},
	}
}

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"
