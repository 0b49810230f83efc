package main

import (
	"errors"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/service/auth"
)

func newTokenCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token add|list|revoke --tokens FILE ...",
		Short: "Manage the API tokens of crlverify serve",
		Long: `token manages the API tokens the authority's systems present to
"crlverify serve" (Authorization: Bearer <token>). Each token has a name,
recorded as who made each change, and one role:

  revoker    revoke, suspend and lift certificates
  publisher  publish a new serial of the list
  auditor    list revocations and read the audit trail
  reader     online status of a certificate, verify a scanned payload

A token is shown once, when it is made; the token file keeps only its
SHA-256 hash, with mode 0600, and is replaced atomically. A running server
sees additions and revocations at its next request.

` + exitCodeHelp,
		Example: `  crlverify token add --tokens tokens.json --role revoker --name vaccination-platform
  crlverify token add --tokens tokens.json --role reader --name verifier-app --json
  crlverify token list --tokens tokens.json
  crlverify token revoke --tokens tokens.json --name verifier-app`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newTokenAddCommand(), newTokenListCommand(), newTokenRevokeCommand())
	return cmd
}

type tokenOptions struct {
	tokens string
	name   string
	role   string
	json   bool
}

func newTokenAddCommand() *cobra.Command {
	o := &tokenOptions{}
	cmd := &cobra.Command{
		Use:   "add --tokens FILE --role ROLE --name NAME [--json]",
		Short: "Make a new API token and print it once",
		Long: `add makes a new API token with one role, records its hash in the token
file (created if need be) and prints the token on standard output. Store it
in the calling system's secret store now: it cannot be shown again. Names
are 1 to 64 letters, digits, '.', '_', '-' or '@'.

` + exitCodeHelp,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			role, err := auth.ParseRole(o.role)
			if err != nil {
				return withCode(ExitError, err)
			}
			tok, err := auth.AddToken(o.tokens, o.name, role, time.Now())
			if err != nil {
				return withCode(ExitError, err)
			}
			if o.json {
				return writeJSON(cmd.OutOrStdout(), struct {
					Name  string    `json:"name"`
					Role  auth.Role `json:"role"`
					Token string    `json:"token"`
				}{o.name, role, tok})
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: token %s (%s) added to %s; it is shown only this once\n", o.name, role, o.tokens)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.tokens, "tokens", "", "token file (required)")
	f.StringVar(&o.role, "role", "", "revoker, publisher, auditor or reader (required)")
	f.StringVar(&o.name, "name", "", "who the token is for, recorded with each change (required)")
	f.BoolVar(&o.json, "json", false, `print {"name", "role", "token"}`)
	for _, n := range []string{"tokens", "role", "name"} {
		_ = cmd.MarkFlagRequired(n)
	}
	return cmd
}

func newTokenListCommand() *cobra.Command {
	o := &tokenOptions{}
	cmd := &cobra.Command{
		Use:   "list --tokens FILE [--json]",
		Short: "List the API tokens (names, roles, dates; never the tokens)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := auth.ListTokens(o.tokens)
			if err != nil {
				return withCode(ExitError, err)
			}
			out := cmd.OutOrStdout()
			if o.json {
				for _, t := range list {
					if err := writeJSON(out, struct {
						Name      string    `json:"name"`
						Role      auth.Role `json:"role"`
						CreatedAt time.Time `json:"created_at"`
					}{t.Name, t.Role, t.CreatedAt}); err != nil {
						return withCode(ExitError, err)
					}
				}
				return nil
			}
			tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tROLE\tCREATED")
			for _, t := range list {
				fmt.Fprintf(tw, "%s\t%s\t%s\n", t.Name, t.Role, t.CreatedAt.Format(time.RFC3339))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&o.tokens, "tokens", "", "token file (required)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON object per token")
	_ = cmd.MarkFlagRequired("tokens")
	return cmd
}

func newTokenRevokeCommand() *cobra.Command {
	o := &tokenOptions{}
	cmd := &cobra.Command{
		Use:   "revoke --tokens FILE --name NAME",
		Short: "Revoke an API token; a running server refuses it from its next request",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			err := auth.RevokeToken(o.tokens, o.name)
			if errors.Is(err, auth.ErrUnknownToken) {
				return withCode(ExitError, fmt.Errorf("%s has no token named %q (see crlverify token list)", o.tokens, o.name))
			}
			if err != nil {
				return withCode(ExitError, err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: token %s revoked\n", o.name)
			return nil
		},
	}
	cmd.Flags().StringVar(&o.tokens, "tokens", "", "token file (required)")
	cmd.Flags().StringVar(&o.name, "name", "", "name of the token to revoke (required)")
	_ = cmd.MarkFlagRequired("tokens")
	_ = cmd.MarkFlagRequired("name")
	return cmd
}
