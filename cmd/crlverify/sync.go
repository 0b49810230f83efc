package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/crlsync"
	"github.com/crlverify/crlverify/verify/store"
)

type syncOptions struct {
	from         string
	jwks         string
	storePath    string
	every        time.Duration
	timeout      time.Duration
	allowExpired bool
	json         bool
}

func newSyncCommand() *cobra.Command {
	o := &syncOptions{}
	cmd := &cobra.Command{
		Use:   "sync --from URL|DIR|FILE --jwks FILE",
		Short: "Fetch the newest signed revocation list into the local store",
		Long: `sync brings the local store up to date from a publication: an http(s) URL
or a directory holding an index (index.jws) and snapshot files, or a single
snapshot file (say, copied from a USB stick).

It fetches the signed index, checks its signature against the publisher's
keys (--jwks), and downloads the cheapest way to the newest list: a delta
from the stored serial, or the full snapshot. Nothing is stored until the
signature, length, digest, serial and dates check out; a refused download
leaves the store as it was. Over HTTP it uses conditional requests,
retries with backoff, and resumes a cut download. A sync ends within
--timeout, however slowly a server sends.

check, status and scan keep answering from the stored lists while a sync
runs, also in other processes: the store is replaced whole, once the new
list is complete.

It prints one line: publisher, old -> new serial, entries, bytes fetched.
It exits 3 when the publisher's feed is stale: it offers nothing newer
than a list already past its next update (checks against it are not
conclusive). When the publisher's history has forked (say, its registry
was restored from a backup and published again), sync replaces the stored
list from the full snapshot and says so.
With --every it keeps running and syncs at that interval (with jitter), at
least 1m; a failed sync is reported on stderr and retried at the next.

--from takes an http:// or https:// URL, a file:// URL or a local path; any
other URL scheme is refused.

` + exitCodeHelp,
		Example: `  # first sync from the ministry's publication, with its public keys
  crlverify sync --from https://crl.health.example/pub/ --jwks ministry.jwks

  # from a USB stick holding a publication directory, or one snapshot
  crlverify sync --from /media/usb/crl --jwks ministry.jwks
  crlverify sync --from /media/usb/full-00000000000000000042.crl --jwks ministry.jwks

  # keep the store current in the background
  crlverify sync --from https://crl.health.example/pub/ --jwks ministry.jwks --every 6h`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "", "publication URL (http, https, file), directory, or snapshot file (required)")
	f.StringVar(&o.jwks, "jwks", "", "the publisher's public keys, a JWKS file (required)")
	f.StringVar(&o.storePath, "store", "", "store file (default "+describeDefaultStore()+")")
	f.DurationVar(&o.every, "every", 0, "keep running, syncing at this interval, at least 1m (e.g. 6h; 0: sync once)")
	f.DurationVar(&o.timeout, "timeout", crlsync.DefaultTimeout, "give up a sync that takes longer than this (0: no limit)")
	f.BoolVar(&o.allowExpired, "allow-expired", false, "apply a newer list even if it is already past its next update")
	f.BoolVar(&o.json, "json", false, "print the summary as a JSON object")
	_ = cmd.MarkFlagRequired("from")
	_ = cmd.MarkFlagRequired("jwks")
	return cmd
}

// minEvery is the shortest --every: a publisher publishes hours apart,
// and a shorter interval would only load its server.
const minEvery = time.Minute

// checkFlags refuses flag values that cannot be meant, before anything is
// read or created, and turns a file:// URL into its path.
func (o *syncOptions) checkFlags() error {
	switch {
	case o.every < 0:
		return fmt.Errorf("--every %v: want a positive interval such as 6h (or 0 to sync once)", o.every)
	case o.every > 0 && o.every < minEvery:
		return fmt.Errorf("--every %v: the shortest interval is %v", o.every, minEvery)
	case o.timeout < 0:
		return fmt.Errorf("--timeout %v: want a positive time limit, or 0 for none", o.timeout)
	}
	from, err := sourceOf(o.from)
	if err != nil {
		return err
	}
	o.from = from
	return nil
}

// sourceOf checks a --from value: an http(s) URL or a local path as it is,
// a file:// URL as its path; another URL scheme is refused rather than
// taken for a path.
func sourceOf(from string) (string, error) {
	if strings.TrimSpace(from) == "" {
		return "", errors.New("--from is empty: give the publication's URL, directory or snapshot file")
	}
	scheme, _, ok := strings.Cut(from, "://")
	if !ok || strings.ContainsAny(scheme, "/\\") {
		return from, nil
	}
	switch strings.ToLower(scheme) {
	case "http", "https":
		return strings.ToLower(scheme) + from[len(scheme):], nil
	case "file":
		u, err := url.Parse(from)
		if err != nil {
			return "", fmt.Errorf("--from %q: %w", clean(from), err)
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("--from %q: a file:// URL must name a local path (file:///path), not host %q", clean(from), clean(u.Host))
		}
		if u.Path == "" {
			return "", fmt.Errorf("--from %q: the file:// URL names no path", clean(from))
		}
		return filepath.FromSlash(u.Path), nil
	}
	return "", fmt.Errorf("--from %q: unsupported URL scheme %q: give an http:// or https:// URL, a file:// URL, or a local directory or snapshot file", clean(from), clean(scheme))
}

func (o *syncOptions) run(cmd *cobra.Command) error {
	if err := o.checkFlags(); err != nil {
		return withCode(ExitError, err)
	}
	keys, err := readKeys(o.jwks)
	if err != nil {
		return withCode(ExitError, err)
	}
	path, err := resolveStore(o.storePath, true)
	if err != nil {
		return withCode(ExitError, err)
	}
	if o.every <= 0 {
		return o.once(cmd.Context(), cmd, path, keys)
	}
	ctx, stop := signal.NotifyContext(contextOf(cmd), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The store is opened for each sync only, so that check and status can
	// read it in between.
	err = crlsync.Every(ctx, o.every, func(ctx context.Context) {
		if err := o.once(ctx, cmd, path, keys); err != nil {
			fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: sync: %s\n", cleanLines(err.Error()))
		}
	})
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return withCode(ExitError, err)
}

func contextOf(cmd *cobra.Command) context.Context {
	if ctx := cmd.Context(); ctx != nil {
		return ctx
	}
	return context.Background()
}

func (o *syncOptions) once(ctx context.Context, cmd *cobra.Command, path string, keys snapshot.Keys) error {
	if ctx == nil {
		ctx = context.Background()
	}
	st, err := store.Open(path, nil)
	if err != nil {
		return withCode(ExitError, storeHint(err, path))
	}
	defer st.Close()
	bar := newProgress(cmd.ErrOrStderr())
	timeout := o.timeout
	if timeout == 0 {
		timeout = -1
	}
	s, err := crlsync.New(st, o.from, keys, &crlsync.Options{AllowExpired: o.allowExpired, Progress: bar.update, Timeout: timeout})
	if err != nil {
		return withCode(ExitError, err)
	}
	sum, err := s.Sync(ctx)
	bar.finish()
	if err != nil && !errors.Is(err, crlsync.ErrStale) {
		code := syncExitCode(err)
		err = fmt.Errorf("sync from %s: %w", o.from, storeHint(err, path))
		if errors.Is(err, store.ErrKeyChange) || errors.Is(err, crlsync.ErrFork) {
			err = fmt.Errorf("%w\nIf the publisher has changed its keys or restarted its history, check with it, then run crlverify forget PUBLISHER and sync again", err)
		}
		return withCode(code, err)
	}
	out := cmd.OutOrStdout()
	if o.json {
		if jerr := writeJSON(out, sum); jerr != nil {
			return withCode(ExitError, jerr)
		}
	} else if _, perr := fmt.Fprintln(out, clean(sum.String())); perr != nil {
		return withCode(ExitError, perr)
	}
	if err != nil {
		// The feed is stale: the store holds its newest list, which is
		// too old for a conclusive check.
		return withCode(ExitUnknown, fmt.Errorf("sync from %s: %w", o.from, err))
	}
	return nil
}

// syncExitCode: a list that was refused is ExitInvalid; a feed that
// offers nothing newer than a stale list ExitUnknown; anything else
// (network, disk, time limit) ExitError.
func syncExitCode(err error) int {
	if errors.Is(err, crlsync.ErrStale) {
		return ExitUnknown
	}
	if errors.Is(err, store.ErrCorrupt) || errors.Is(err, crlsync.ErrTimeout) {
		return ExitError
	}
	for _, refused := range []error{
		snapshot.ErrBadSignature, snapshot.ErrUnknownKey, snapshot.ErrDigestMismatch,
		snapshot.ErrUnsupportedVersion, snapshot.ErrTooLarge, snapshot.ErrMalformed,
		snapshot.ErrRollback, snapshot.ErrExpired, snapshot.ErrWrongBase, snapshot.ErrFastForward,
		store.ErrIssuerConflict, store.ErrKeyChange, crlsync.ErrIndex, crlsync.ErrFork,
	} {
		if errors.Is(err, refused) {
			return ExitInvalid
		}
	}
	return ExitError
}

func readKeys(path string) (snapshot.Keys, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	set, err := snapshot.ReadJWKS(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return snapshot.KeysFromSet(set), nil
}

// progress draws a bar per phase on a terminal, and nothing otherwise.
type progress struct {
	w     io.Writer
	bar   *progressbar.ProgressBar
	phase string
}

func newProgress(w io.Writer) *progress {
	if f, ok := w.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return &progress{}
	}
	return &progress{w: w}
}

func (p *progress) update(pr crlsync.Progress) {
	if p.w == nil || pr.Total <= 0 {
		return
	}
	key := string(pr.Phase) + " " + pr.File
	if key != p.phase {
		p.finish()
		p.phase = key
		opts := []progressbar.Option{
			progressbar.OptionSetWriter(p.w), progressbar.OptionSetDescription(key),
			progressbar.OptionThrottle(100 * time.Millisecond), progressbar.OptionClearOnFinish(),
		}
		if pr.Phase == crlsync.PhaseDownload {
			opts = append(opts, progressbar.OptionShowBytes(true))
		} else {
			opts = append(opts, progressbar.OptionShowCount())
		}
		p.bar = progressbar.NewOptions64(pr.Total, opts...)
	}
	_ = p.bar.Set64(pr.Done)
}

func (p *progress) finish() {
	if p.bar != nil {
		_ = p.bar.Finish()
		p.bar = nil
	}
}

// resolveStore returns the store path: flag, or the default under the
// user's data directory (created when create is set).
func resolveStore(flag string, create bool) (string, error) {
	path := flag
	if path == "" {
		var err error
		if path, err = defaultStorePath(); err != nil {
			return "", err
		}
	}
	if create {
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return "", err
		}
	}
	return path, nil
}
