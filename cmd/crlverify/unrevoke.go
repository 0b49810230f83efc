package main

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/registry"
)

type unrevokeOptions struct {
	registry string
	id       string
	issuer   string
	json     bool
}

func newUnrevokeCommand() *cobra.Command {
	o := &unrevokeOptions{}
	cmd := &cobra.Command{
		Use:   "unrevoke --registry FILE --id ID [--issuer I]",
		Short: "Lift a revocation or suspension in the authority's registry",
		Long: `unrevoke lifts the revocation or suspension of one certificate: the next
"crlverify publish" leaves it out of the full list and carries its removal in
the deltas, so verifiers holding an older list drop it too.

A suspension with an end date needs no unrevoke: verifiers treat the
certificate as valid again from that date. Lifting is for mistakes and for
ending a suspension early. Every lift is recorded in the registry's audit
trail.

` + exitCodeHelp,
		Example: `  crlverify unrevoke --registry moh.db --issuer https://cowin.gov.in/ --id 8000000000059`,
		Args:    cobra.NoArgs,
		RunE:    func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.registry, "registry", "", "registry file (required)")
	f.StringVar(&o.id, "id", "", "certificate id (required)")
	f.StringVar(&o.issuer, "issuer", "", "issuer of the certificate (default: the registry's only issuer)")
	f.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	_ = cmd.MarkFlagRequired("registry")
	_ = cmd.MarkFlagRequired("id")
	return cmd
}

func (o *unrevokeOptions) run(cmd *cobra.Command) error {
	reg, err := openRegistryFile(o.registry)
	if err != nil {
		return withCode(ExitError, err)
	}
	defer reg.Close()
	issuer := o.issuer
	if issuer == "" {
		if is, err := reg.Issuers(); err == nil && len(is) == 1 {
			issuer = is[0]
		}
	}
	if err := reg.Unrevoke(issuer, o.id); err != nil {
		if errors.Is(err, registry.ErrIssuerRequired) {
			err = fmt.Errorf("%w: the registry covers several issuers; give --issuer", err)
		}
		return withCode(ExitError, err)
	}
	if o.json {
		return json.NewEncoder(cmd.OutOrStdout()).Encode(map[string]string{"lifted": o.id, "issuer": issuer})
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "lifted %s %s\n", issuer, o.id)
	return err
}
