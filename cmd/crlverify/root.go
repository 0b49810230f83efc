package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/snapshot"
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
                 publish, audit, serve, token, inspect
Verifiers:       sync, status, check, scan, trust, forget

` + outputHelp + `

` + exitCodeHelp,
		Version:       buildVersion().line(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetVersionTemplate("crlverify {{.Version}}\n")
	root.AddCommand(
		newVersionCommand(),
		newSyncCommand(), newStatusCommand(), newCheckCommand(), newForgetCommand(),
		newTrustCommand(), newScanCommand(),
		newKeygenCommand(), newInspectCommand(),
		newRegistryCommand(), newRevokeCommand(), newSuspendCommand(), newUnrevokeCommand(),
		newRevocationsCommand(), newPublishCommand(), newAuditCommand(), newServeCommand(), newTokenCommand(),
		newBackupCommand(), newRestoreCommand(),
	)
	return root
}

// run executes the command line and returns the process exit code.
func run(args []string) int {
	return execute(NewRootCommand(), args, os.Stderr)
}

// execute runs the command line and maps its error, once for every
// command, to the exit code, the message on stderr and, when the command
// was given --json, an error object on stdout.
func execute(root *cobra.Command, args []string, stderr io.Writer) int {
	root.SetArgs(args)
	cmd, err := root.ExecuteC()
	if err == nil {
		return ExitOK
	}
	code := exitCode(err)
	var silent *exitError
	if errors.As(err, &silent) && silent.err == nil {
		return code
	}
	fmt.Fprintf(stderr, "crlverify: %s\n", cleanLines(err.Error()))
	if cmd != nil && wantsJSON(cmd, args) {
		_ = writeJSON(cmd.OutOrStdout(), errorLine{Error: err.Error(), ExitCode: code})
	}
	return code
}

// errorLine is the JSON form of an error that ended a command.
type errorLine struct {
	Error    string `json:"error"`
	ExitCode int    `json:"exit_code"`
}

// wantsJSON reports whether cmd was asked for JSON output: its --json flag
// is set, or, when the flags could not all be parsed, named before "--".
func wantsJSON(cmd *cobra.Command, args []string) bool {
	f := cmd.Flags().Lookup("json")
	if f == nil {
		return false
	}
	if f.Changed {
		return f.Value.String() == "true"
	}
	if i := slices.Index(args, "--"); i >= 0 {
		args = args[:i]
	}
	return slices.Contains(args, "--json") || slices.Contains(args, "--json=true")
}

func newVersionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit it was built from, and the snapshot format it reads and writes",
		Long: `version prints the program's version: the module version when installed
with "go install", else the version stamped at build time; the commit it was
built from (with "modified" when the checkout had uncommitted changes) and
that commit's time, when built from a git checkout; the Go release; and the
snapshot format version it reads and writes. "crlverify --version" prints
the same line.`,
		Example: `  crlverify version
  crlverify version --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := buildVersion()
			if asJSON {
				return writeJSON(cmd.OutOrStdout(), v)
			}
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "crlverify %s\n", v.line())
			return err
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object")
	return cmd
}

// version, when set at build time with -ldflags "-X main.version=...",
// overrides the version the build information gives.
var version = ""

// versionInfo is what version reports, and its JSON form.
type versionInfo struct {
	Version        string     `json:"version"`
	Revision       string     `json:"revision,omitempty"`
	RevisionTime   *time.Time `json:"revision_time,omitempty"`
	Modified       bool       `json:"modified"`
	GoVersion      string     `json:"go_version"`
	SnapshotFormat int        `json:"snapshot_format"`
}

func buildVersion() versionInfo {
	bi, _ := debug.ReadBuildInfo()
	return versionOf(bi, version)
}

// versionOf reads the version from the build information: the -X
// override, else the main module's version (a release tag when installed
// with go install, a pseudo-version when built from a checkout), else
// "devel"; and the VCS revision, its time and whether the tree was
// modified, which go build records when it builds from a checkout.
func versionOf(bi *debug.BuildInfo, override string) versionInfo {
	v := versionInfo{Version: "devel", GoVersion: runtime.Version(), SnapshotFormat: snapshot.Version}
	if bi != nil {
		if mv := bi.Main.Version; mv != "" && mv != "(devel)" {
			v.Version = mv
		}
		if bi.GoVersion != "" {
			v.GoVersion = bi.GoVersion
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				v.Revision = s.Value
			case "vcs.time":
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					v.RevisionTime = utcSecondPtr(t)
				}
			case "vcs.modified":
				v.Modified = s.Value == "true"
			}
		}
	}
	if override != "" {
		v.Version = override
	}
	return v
}

// line is the text form: "v1.2.0 (commit 0123abcd4567, 2026-05-01T10:00:00Z;
// go1.26.8; snapshot format v1)".
func (v versionInfo) line() string {
	var parts []string
	if v.Revision != "" {
		c := "commit " + v.Revision
		if v.Modified {
			c += " modified"
		}
		if v.RevisionTime != nil {
			c += ", " + v.RevisionTime.Format(time.RFC3339)
		}
		parts = append(parts, c)
	}
	parts = append(parts, v.GoVersion, fmt.Sprintf("snapshot format v%d", v.SnapshotFormat))
	return fmt.Sprintf("%s (%s)", v.Version, strings.Join(parts, "; "))
}
