package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/verify/store"
)

func newForgetCommand() *cobra.Command {
	var storePath string
	cmd := &cobra.Command{
		Use:   "forget PUBLISHER...",
		Short: "Remove publishers' revocation lists from the local store",
		Long: `forget removes the stored revocation list of each PUBLISHER (the name
status prints). Checks for the publisher's issuers answer "unknown" (exit 3)
until a sync stores a full snapshot again; the record of past syncs is kept.

Use it when a publisher has changed its signing keys and sync refuses its
snapshots as "signed by a key its publisher's list was never signed by". A
store accepts a new signing key only while the key set given to sync still
holds a key that signed the stored list (a rotation), so that one
publisher's key cannot replace another publisher's list (give each
publisher its own key set). After forget, the next full snapshot is
trusted on the key set given alone: check that key set with the
publisher first.

` + exitCodeHelp,
		Example: `  crlverify forget ministry
  crlverify sync --from https://crl.example.org/ministry/ --jwks ministry-2027.jwks`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, publishers []string) error {
			path, err := resolveStore(storePath, false)
			if err != nil {
				return withCode(ExitError, err)
			}
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				return withCode(ExitError, fmt.Errorf("no store at %s", path))
			}
			st, err := store.Open(path, nil)
			if err != nil {
				return withCode(ExitError, err)
			}
			defer st.Close()
			// Every name is checked before anything is removed.
			for _, p := range publishers {
				if _, ok := st.List(p); !ok {
					return withCode(ExitError, fmt.Errorf("%s holds no list of publisher %q (crlverify status lists them)", path, p))
				}
			}
			for _, p := range publishers {
				l, _ := st.List(p)
				if err := st.Remove(p); err != nil {
					return withCode(ExitError, err)
				}
				fmt.Fprintf(cmd.OutOrStdout(), "forgot %s: serial %d, %d entries\n", p, l.Serial, l.Count)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&storePath, "store", "", "store file (default "+describeDefaultStore()+")")
	return cmd
}
