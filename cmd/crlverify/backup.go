package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"filippo.io/age"
	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/registry"
)

func newBackupCommand() *cobra.Command {
	o := &backupOptions{}
	cmd := &cobra.Command{
		Use:   "backup --registry FILE --to DIR|- [--incremental] [--recipient age1...] [--json]",
		Short: "Back the registry up, fully or incrementally, encrypted to age recipients",
		Long: `backup writes one backup of the registry, while it is in use ("serve"
running, revocations arriving):

  full          a copy of the registry file as one read transaction sees it
                (consistent: every change acknowledged before the backup
                started is in it). Other processes wait while it is copied,
                about a second per GB of registry; then they go on while it
                is compressed, encrypted and written.
  --incremental the audit records since the newest backup in DIR (with their
                items, an import's certificates, a publication's serial),
                chained to it, read a few thousand records at a time.

A backup is one stream: a gzip'd tar of manifest.json (time, serial, audit
head, the head it continues from, sizes and SHA-256 of its data) and its data
(registry.db or increment.bin), encrypted with age to every --recipient and
every recipient of --recipients-file when any is given (recommended: a backup
holds beneficiary ids). The crl/registry package documentation specifies it.

With --to DIR the backup is named by kind, time and audit record:
  full-<time>-<record>.crlbackup, incr-<time>-<from>-<to>.crlbackup
With --to - it is written to stdout (any tool can carry it elsewhere); an
incremental backup to stdout needs --base-seq, the audit record it continues
from.

DIVOC's platform policy is a daily full backup and hourly incrementals, kept
as "crlverify backup prune" applies. "crlverify restore" puts a registry back.

` + exitCodeHelp,
		Example: `  crlverify backup --registry moh.db --to /backups --recipient age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p
  crlverify backup --registry moh.db --to /backups --incremental --recipients-file backup-recipients.txt
  crlverify backup --registry moh.db --to - --recipients-file r.txt | ssh vault 'cat > moh-full.crlbackup'`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.registry, "registry", "", "registry file (required)")
	f.StringVar(&o.to, "to", "", "backup directory, or - for stdout (required)")
	f.BoolVar(&o.incremental, "incremental", false, "only the audit records since the newest backup in DIR")
	f.Uint64Var(&o.baseSeq, "base-seq", 0, "with --incremental: the audit record to continue from (default: the newest backup's)")
	f.StringArrayVar(&o.recipients, "recipient", nil, "encrypt to this age recipient (repeatable)")
	f.StringVar(&o.recipientsFile, "recipients-file", "", "encrypt to the age recipients in this file, one per line")
	f.BoolVar(&o.json, "json", false, "print the result as one JSON object (on stderr with --to -)")
	_ = cmd.MarkFlagRequired("registry")
	_ = cmd.MarkFlagRequired("to")
	cmd.AddCommand(newBackupPruneCommand())
	return cmd
}

type backupOptions struct {
	registry       string
	to             string
	incremental    bool
	baseSeq        uint64
	recipients     []string
	recipientsFile string
	json           bool
}

// backupLine is what backup prints about the backup it wrote.
type backupLine struct {
	File        string  `json:"file,omitempty"`
	Bytes       int64   `json:"bytes"`
	Encrypted   bool    `json:"encrypted"`
	HeldSeconds float64 `json:"held_seconds"`
	registry.BackupManifest
}

func (o *backupOptions) run(cmd *cobra.Command) error {
	recipients, err := readRecipients(o.recipients, o.recipientsFile)
	if err != nil {
		return withCode(ExitError, err)
	}
	if o.baseSeq != 0 && !o.incremental {
		return withCode(ExitError, errors.New("--base-seq goes with --incremental"))
	}
	if o.to == "-" && o.incremental && o.baseSeq == 0 {
		return withCode(ExitError, errors.New("an incremental backup to stdout needs --base-seq, the audit record it continues from"))
	}
	reg, err := openExistingRegistry(o.registry)
	if err != nil {
		return registryError(err)
	}
	defer reg.Close()
	bo := &registry.BackupOptions{Recipients: recipients, Incremental: o.incremental, BaseSeq: o.baseSeq}
	var res *registry.BackupResult
	report := cmd.OutOrStdout()
	if o.to == "-" {
		report = cmd.ErrOrStderr()
		res, err = reg.Backup(cmd.OutOrStdout(), bo)
	} else {
		if err := os.MkdirAll(o.to, 0o700); err != nil {
			return withCode(ExitError, err)
		}
		res, err = reg.BackupTo(o.to, bo)
	}
	if err != nil {
		return registryError(err)
	}
	line := backupLine{Bytes: res.Bytes, Encrypted: res.Encrypted, HeldSeconds: res.Held.Seconds(), BackupManifest: res.Manifest}
	if res.Name != "" {
		line.File = filepath.Join(o.to, res.Name)
	}
	if o.json {
		return writeJSON(report, line)
	}
	m := &res.Manifest
	where := "stdout"
	if line.File != "" {
		where = clean(line.File)
	}
	enc := "not encrypted"
	if res.Encrypted {
		enc = fmt.Sprintf("encrypted to %d recipient%s", len(recipients), plural(len(recipients)))
	}
	what := fmt.Sprintf("full backup: audit records 1 to %d", m.AuditSeq)
	if m.Kind == registry.BackupIncremental {
		what = fmt.Sprintf("incremental backup: audit records %d to %d (%d records, %d items)", m.BaseSeq+1, m.AuditSeq, m.Records, m.Items)
	}
	_, err = fmt.Fprintf(report, "%s, serial %d, head %s\n  %s: %d bytes, %s; the registry was held %s at most\n",
		what, m.Serial, m.AuditHead, where, res.Bytes, enc, res.Held.Round(time.Millisecond))
	return err
}

// readRecipients parses --recipient values and a --recipients-file.
func readRecipients(flags []string, file string) ([]age.Recipient, error) {
	var out []age.Recipient
	for _, s := range flags {
		r, err := age.ParseX25519Recipient(s)
		if err != nil {
			return nil, fmt.Errorf("--recipient %q: %v", clean(s), err)
		}
		out = append(out, r)
	}
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		rs, err := age.ParseRecipients(io.LimitReader(f, 1<<20))
		if err != nil {
			return nil, fmt.Errorf("%s: %v", clean(file), err)
		}
		out = append(out, rs...)
	}
	return out, nil
}

type backupPruneOptions struct {
	to             string
	keepFull       time.Duration
	keepIncr       time.Duration
	keepSuperseded bool
	dryRun         bool
	json           bool
}

func newBackupPruneCommand() *cobra.Command {
	o := &backupPruneOptions{}
	cmd := &cobra.Command{
		Use:   "prune --to DIR [--keep-full 336h] [--keep-superseded] [--dry-run] [--json]",
		Short: "Remove the backups the retention policy no longer keeps",
		Long: `prune applies the retention policy to the backups in DIR and says what it
removed. By default it is DIVOC's platform policy:

  full backups          kept 14 days (--keep-full); the newest is always kept
  incremental backups   purged once a newer full backup exists; those after
                        the newest full are always kept (a restore to now
                        needs them; taken hourly, they are under a day old).
                        --keep-superseded keeps the purged ones until they
                        are older than --keep-incremental (default 24h).

With --dry-run it only says what it would remove. With --json, one object per
backup removed per line.

` + exitCodeHelp,
		Example: `  crlverify backup prune --to /backups
  crlverify backup prune --to /backups --keep-full 720h --dry-run`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.to, "to", "", "backup directory (required)")
	f.DurationVar(&o.keepFull, "keep-full", registry.DefaultRetention.Full, "how long full backups are kept")
	f.DurationVar(&o.keepIncr, "keep-incremental", registry.DefaultRetention.Incremental, "with --keep-superseded: how long incrementals older than the newest full are kept")
	f.BoolVar(&o.keepSuperseded, "keep-superseded", false, "keep incrementals older than the newest full until --keep-incremental")
	f.BoolVar(&o.dryRun, "dry-run", false, "say what would be removed, remove nothing")
	f.BoolVar(&o.json, "json", false, "one JSON object per backup removed per line")
	_ = cmd.MarkFlagRequired("to")
	return cmd
}

func (o *backupPruneOptions) run(cmd *cobra.Command) error {
	if o.keepFull <= 0 || o.keepIncr <= 0 {
		return withCode(ExitError, errors.New("--keep-full and --keep-incremental must be positive durations, e.g. 336h"))
	}
	removed, err := registry.PruneBackups(o.to, registry.Retention{Full: o.keepFull, Incremental: o.keepIncr, KeepSuperseded: o.keepSuperseded}, time.Now(), o.dryRun)
	out := cmd.OutOrStdout()
	for _, e := range removed {
		if o.json {
			if err := writeJSON(out, struct {
				registry.BackupEntry
				Removed bool `json:"removed"`
			}{e, !o.dryRun}); err != nil {
				return err
			}
			continue
		}
		verb := "removed"
		if o.dryRun {
			verb = "would remove"
		}
		fmt.Fprintf(out, "%s %s (%s backup of %s, %d bytes)\n", verb, clean(e.Name), e.Kind, e.Created.Format(time.RFC3339), e.Size)
	}
	if err != nil {
		return registryError(err)
	}
	if !o.json && len(removed) == 0 {
		fmt.Fprintln(out, "nothing to remove")
	}
	return nil
}
