package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/registry"
)

type restoreOptions struct {
	from       string
	registry   string
	identities []string
	json       bool
}

func newRestoreCommand() *cobra.Command {
	o := &restoreOptions{}
	cmd := &cobra.Command{
		Use:   "restore --from DIR|- --registry FILE [--identity KEYFILE] [--json]",
		Short: "Put the registry back from its backups, verified first",
		Long: `restore rebuilds the registry from the backups in DIR: the newest full backup
and every incremental backup after it, which must form an unbroken chain
(each continues from the audit head of the one before). With --from - it
reads one full backup from stdin.

Everything is checked before FILE is touched: each backup decrypts (age: give
the identity file with --identity, as age-keygen writes it), its data has the
size and SHA-256 its manifest says, the full backup's registry reaches the
audit head its manifest says, every record of every increment chains on and
hashes as recorded, and the rebuilt registry's audit trail verifies. The
registry is rebuilt in a temporary file beside FILE and renamed over it, while
no other process is inside an operation on FILE.

A backup that does not check out (a flipped byte, a wrong identity, a
missing increment, a truncated file) is refused, exit 1, and FILE stays as it
was. After restoring, "crlverify audit verify --publication" compares the
registry with what it published; if it published after the newest backup,
"crlverify publish" refuses until the gap is resolved (see its --help).

` + exitCodeHelp,
		Example: `  crlverify restore --from /backups --registry moh.db --identity backup-key.txt
  ssh vault 'cat moh-full.crlbackup' | crlverify restore --from - --registry moh.db --identity backup-key.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "", "backup directory, or - for one backup on stdin (required)")
	f.StringVar(&o.registry, "registry", "", "registry file to restore (required; replaced)")
	f.StringArrayVar(&o.identities, "identity", nil, "age identity file to decrypt with (repeatable)")
	f.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("registry")
	return cmd
}

func (o *restoreOptions) run(cmd *cobra.Command) error {
	var ids []age.Identity
	for _, p := range o.identities {
		f, err := os.Open(p)
		if err != nil {
			return withCode(ExitError, err)
		}
		is, err := age.ParseIdentities(io.LimitReader(f, 1<<20))
		f.Close()
		if err != nil {
			return withCode(ExitError, fmt.Errorf("%s: %v", clean(p), err))
		}
		ids = append(ids, is...)
	}
	ropts := &registry.RestoreOptions{Identities: ids}
	var res *registry.RestoreResult
	var err error
	if o.from == "-" {
		res, err = registry.RestoreStream(o.registry, cmd.InOrStdin(), ropts)
	} else {
		res, err = registry.Restore(o.registry, o.from, ropts)
	}
	if errors.Is(err, registry.ErrBackup) {
		return withCode(ExitInvalid, fmt.Errorf("%w; %s was not changed", err, clean(o.registry)))
	}
	if err != nil {
		return registryError(err)
	}
	out := cmd.OutOrStdout()
	if o.json {
		return writeJSON(out, res)
	}
	names := make([]string, len(res.Backups))
	for i, n := range res.Backups {
		names[i] = clean(n)
	}
	_, err = fmt.Fprintf(out, "restored %s from %s\n  audit records 1 to %d verified (head %s, %d replayed from incremental backups), serial %d\n  %d certificates, %d revocation records\n",
		clean(o.registry), strings.Join(names, " + "), res.AuditSeq, res.AuditHead, res.Replayed, res.Serial, res.Audit.Certificates, res.Audit.Revocations)
	return err
}
