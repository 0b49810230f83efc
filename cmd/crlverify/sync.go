package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/crlverify/crlverify/snapshot"
	"github.com/crlverify/crlverify/verify/crlsync"
	"github.com/crlverify/crlverify/verify/shc"
	"github.com/crlverify/crlverify/verify/store"
	"github.com/crlverify/crlverify/verify/trust"
)

type syncOptions struct {
	from         string
	jwks         string
	trustPath    string
	issuer       string
	issuers      []string
	issuersSet   bool // --issuers was given, perhaps empty
	storePath    string
	every        time.Duration
	timeout      time.Duration
	allowExpired bool
	json         bool
}

func newSyncCommand() *cobra.Command {
	o := &syncOptions{}
	cmd := &cobra.Command{
		Use:   "sync --from URL|DIR|FILE --jwks FILE [--issuers I,...] | sync --from SHC-CRL.json [--trust FILE]",
		Short: "Fetch the newest signed revocation list into the local store",
		Long: `sync brings the local store up to date from a publication: an http(s) URL
or a directory holding an index (index.jws) and snapshot files, or a single
snapshot file (say, copied from a USB stick).

--from may also name a SMART Health Cards issuer's own revocation list, the
file it publishes at ISSUER/.well-known/crl/KID.json (JSON with "kid",
"method": "rid", "ctr" and "rids"; detected from its content). It is stored
beside the snapshots, as the list of that issuer's key KID, and answers for
the cards that key signed: "rid.T" entries revoke only cards issued before
T. The issuer is the one whose key set in the trust store (--trust) holds
KID, or --issuer. The list is not signed: import it only from the issuer.
Cards of a key whose crlVersion (in the trust store's key set) differs from
the list's ctr have their revocation status unknown until the two agree
(those the list revokes are REVOKED all the same); sync then exits 3. A
list with a lower ctr than the stored one is refused (exit 1).

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

Which issuers a publisher answers for is the verifier's choice, not the
publisher's: a publication names the issuers its lists cover, and a
trusted publisher naming another authority's issuer would otherwise answer
for that authority's certificates. --issuers binds the publisher to the
issuers it may cover (the certificate issuers as check and the publication
name them: a DIVOC issuer, a SMART Health Cards issuer URL, an EU country).
A publication covering any other issuer is refused (exit 1) before its
snapshots are downloaded, the store unchanged; so is an issuer already bound
to another publisher: an issuer never moves from one publisher to another
by itself (crlverify forget the other publisher, or sync it with --issuers
leaving the issuer out). The binding is kept with the publisher's list:
later syncs without --issuers keep it, --issuers again replaces it
(widening it must be explicit). Give --issuers on each publisher's first
sync.

Without --issuers, a publisher's first sync binds it to the issuers its
list covers (trust on first use) and says so on stderr; a later list of
that publisher covering another issuer is refused until --issuers allows
it, so a compromised or confused publisher cannot widen its reach
silently. crlverify status shows each publisher's binding.

` + exitCodeHelp,
		Example: `  # first sync from the ministry's publication, with its public keys and
  # the issuers it answers for
  crlverify sync --from https://crl.health.example/pub/ --jwks ministry.jwks --issuers https://cowin.gov.in/

  # from a USB stick holding a publication directory, or one snapshot
  crlverify sync --from /media/usb/crl --jwks ministry.jwks
  crlverify sync --from /media/usb/full-00000000000000000042.crl --jwks ministry.jwks

  # keep the store current in the background
  crlverify sync --from https://crl.health.example/pub/ --jwks ministry.jwks --every 6h

  # a SMART Health Cards issuer's list, downloaded from its /.well-known/crl/
  crlverify sync --from 3Kfdg-XwP-7gXyywtUfUADwBumDOPKMQx-iELL11W9s.json --trust trust.json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.issuersSet = cmd.Flags().Changed("issuers")
			return o.run(cmd)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.from, "from", "", "publication URL (http, https, file), directory, or snapshot file (required)")
	f.StringVar(&o.jwks, "jwks", "", "the publisher's public keys, a JWKS file (required for snapshots)")
	f.StringVar(&o.trustPath, "trust", "", "trust store naming the SMART Health Cards issuer of a list (default "+describeDefaultTrust()+")")
	f.StringVar(&o.issuer, "issuer", "", "the SMART Health Cards issuer URL a list is of (default: the issuer whose key set holds its kid)")
	f.StringSliceVar(&o.issuers, "issuers", nil, "the issuers this publisher may answer for, comma-separated; kept for later syncs (default: those of its first list)")
	f.StringVar(&o.storePath, "store", "", "store file (default "+describeDefaultStore()+")")
	f.DurationVar(&o.every, "every", 0, "keep running, syncing at this interval, at least 1m (e.g. 6h; 0: sync once)")
	f.DurationVar(&o.timeout, "timeout", crlsync.DefaultTimeout, "give up a sync that takes longer than this (0: no limit)")
	f.BoolVar(&o.allowExpired, "allow-expired", false, "apply a newer list even if it is already past its next update")
	f.BoolVar(&o.json, "json", false, "print the summary as a JSON object")
	_ = cmd.MarkFlagRequired("from")
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
	if o.issuersSet && len(o.issuers) == 0 {
		return errors.New("--issuers is empty: name the issuers this publisher may answer for, comma-separated")
	}
	for _, is := range o.issuers {
		if strings.TrimSpace(is) == "" || strings.TrimSpace(is) != is {
			return fmt.Errorf("--issuers %q: an issuer is named exactly as the publication names it, without spaces, and none may be empty", clean(strings.Join(o.issuers, ",")))
		}
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
	if raw, ok, err := readSHCList(o.from); err != nil {
		return withCode(ExitError, err)
	} else if ok {
		if o.every > 0 {
			return withCode(ExitError, errors.New("--every: a SMART Health Cards revocation list is imported from a file once"))
		}
		if o.issuersSet {
			return withCode(ExitError, errors.New("--issuers binds the publisher of signed snapshots; a SMART Health Cards revocation list is its issuer's own (--issuer names it)"))
		}
		return o.importSHCList(cmd, raw)
	}
	if o.jwks == "" {
		return withCode(ExitError, errors.New(`required flag "jwks" not set: the publisher's public keys verify its snapshots`))
	}
	if o.issuer != "" {
		return withCode(ExitError, errors.New("--issuer names the issuer of a SMART Health Cards revocation list; --from is not one"))
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
	s, err := crlsync.New(st, o.from, keys, &crlsync.Options{AllowExpired: o.allowExpired, Progress: bar.update, Timeout: timeout, Issuers: o.issuers})
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
		if hint := o.issuerHint(err); hint != "" {
			err = fmt.Errorf("%w\n%s", err, hint)
		}
		return withCode(code, err)
	}
	if sum.Learned {
		fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: publisher %s now answers for issuers %s (those its first list covers); pass --issuers %s to fix this explicitly\n",
			quoteClean(sum.Publisher), cleanJoin(sum.BoundIssuers, ", "), clean(strings.Join(sum.BoundIssuers, ",")))
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
		store.ErrIssuerConflict, store.ErrIssuerNotBound, store.ErrKeyChange, crlsync.ErrIndex, crlsync.ErrFork,
	} {
		if errors.Is(err, refused) {
			return ExitInvalid
		}
	}
	return ExitError
}

// issuerHint says how to go on after a list or binding refused for an
// issuer, or "".
func (o *syncOptions) issuerHint(err error) string {
	var ie *store.IssuerError
	if !errors.As(err, &ie) {
		return ""
	}
	if errors.Is(ie, store.ErrIssuerConflict) {
		return fmt.Sprintf("Issuer %s is bound to publisher %s in this store, and an issuer never moves from one publisher to another by itself. "+
			"If %s is to answer for it instead (check with both), run crlverify forget %s, or sync %s with --issuers leaving %s out, then sync this publication again.",
			quoteClean(ie.Issuer), quoteClean(ie.Other), quoteClean(ie.Publisher), shellQuote(ie.Other), quoteClean(ie.Other), quoteClean(ie.Issuer))
	}
	allow := append(slices.Clone(ie.Bound), ie.Issuer)
	slices.Sort(allow)
	if o.issuersSet {
		return fmt.Sprintf("The publication of %s covers %s, which --issuers does not name. If %s answers for it (check with it first), name it: --issuers %s.",
			quoteClean(ie.Publisher), quoteClean(ie.Issuer), quoteClean(ie.Publisher), clean(strings.Join(allow, ",")))
	}
	return fmt.Sprintf("Publisher %s is bound to %s only. If it now answers for %s too (check with it first), allow it with --issuers %s.",
		quoteClean(ie.Publisher), cleanJoin(ie.Bound, ", "), quoteClean(ie.Issuer), clean(strings.Join(allow, ",")))
}

// quoteClean quotes s for a message, cleaned for a terminal.
func quoteClean(s string) string { return `"` + clean(s) + `"` }

// cleanJoin joins ss cleaned, or says "no issuer".
func cleanJoin(ss []string, sep string) string {
	if len(ss) == 0 {
		return "no issuer"
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = clean(s)
	}
	return strings.Join(out, sep)
}

// shellQuote quotes s for a command line to copy, cleaned.
func shellQuote(s string) string {
	s = clean(s)
	if s != "" && !strings.ContainsAny(s, " \t'\"\\$`!*?&;|<>()[]{}#~") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
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

// readSHCList reads --from when it is a file holding a SMART Health Cards
// issuer's revocation list (a JSON object; a snapshot file starts with its
// version line).
func readSHCList(from string) ([]byte, bool, error) {
	if strings.Contains(from, "://") {
		return nil, false, nil
	}
	fi, err := os.Stat(from)
	if err != nil || !fi.Mode().IsRegular() {
		return nil, false, nil // sync says what is wrong with it
	}
	f, err := os.Open(from)
	if err != nil {
		return nil, false, err
	}
	defer f.Close()
	head := make([]byte, 64)
	n, _ := io.ReadFull(f, head)
	if t := bytes.TrimLeft(head[:n], " \t\r\n"); len(t) == 0 || t[0] != '{' {
		return nil, false, nil
	}
	b, err := readBounded(from, shc.MaxCRLSize)
	if err != nil {
		return nil, false, err
	}
	return b, true, nil
}

// shcListLine is the JSON form of an imported SMART Health Cards list.
type shcListLine struct {
	store.SHCImport
	// KeyCRLVersion is the crlVersion of the list's key in the trust
	// store; Current whether it is the list's ctr.
	KeyCRLVersion int64 `json:"key_crl_version"`
	Current       bool  `json:"current"`
}

// importSHCList stores raw as the list of its issuer's key.
func (o *syncOptions) importSHCList(cmd *cobra.Command, raw []byte) error {
	l, err := shc.ParseCRL(raw)
	if err != nil {
		return withCode(ExitInvalid, fmt.Errorf("%s: %w", o.from, err))
	}
	issuer, version, held, err := o.shcIssuerOf(l.KID)
	if err != nil {
		return withCode(ExitError, err)
	}
	path, err := resolveStore(o.storePath, true)
	if err != nil {
		return withCode(ExitError, err)
	}
	st, err := store.Open(path, nil)
	if err != nil {
		return withCode(ExitError, storeHint(err, path))
	}
	defer st.Close()
	res, err := st.ImportSHCList(issuer, raw, o.from, time.Now().UTC())
	if err != nil {
		code := ExitError
		if errors.Is(err, snapshot.ErrRollback) || errors.Is(err, store.ErrSHCListConflict) || errors.Is(err, shc.ErrMalformed) {
			code = ExitInvalid
		}
		return withCode(code, fmt.Errorf("sync from %s: %w", o.from, storeHint(err, path)))
	}
	line := shcListLine{SHCImport: *res, KeyCRLVersion: version, Current: version == res.List.Counter}
	out := cmd.OutOrStdout()
	if o.json {
		if err := writeJSON(out, line); err != nil {
			return withCode(ExitError, err)
		}
	} else {
		what := "imported"
		switch {
		case res.Unchanged:
			what = "already held"
		case res.Repaired:
			what = "repaired the damaged stored copy of its"
		case res.Previous != nil:
			what = fmt.Sprintf("replaced ctr %d with", res.Previous.Counter)
		}
		fmt.Fprintf(out, "%s: %s revocation list of key %s, ctr %d, %d rids\n", clean(issuer), what, clean(l.KID), res.List.Counter, res.List.RIDs)
	}
	switch {
	case !held:
		return withCode(ExitUnknown, fmt.Errorf("the trust store holds no key %s of %s: its cards are from an unknown issuer until its key set is added (crlverify trust add)", clean(l.KID), issuer))
	case version == 0:
		return withCode(ExitUnknown, fmt.Errorf("key %s of %s has no crlVersion in the trust store's key set: the list is not used until the issuer's key set gives it one", l.KID, issuer))
	case !line.Current:
		return withCode(ExitUnknown, fmt.Errorf("the list's ctr is %d but the key's crlVersion in the trust store is %d: the cards of key %s it does not revoke have revocation status unknown until the issuer's current key set and list are both in place",
			res.List.Counter, version, l.KID))
	}
	return nil
}

// shcIssuerOf finds the issuer of a list for key kid: --issuer, or the
// issuer whose key set in the trust store holds kid; and the key's
// crlVersion there, and whether the trust store holds the key at all.
func (o *syncOptions) shcIssuerOf(kid string) (issuer string, version int64, held bool, err error) {
	ts, err := loadTrust(o.trustPath)
	if err != nil {
		if o.issuer == "" {
			return "", 0, false, fmt.Errorf("the issuer of the SMART Health Cards revocation list %s is found in the trust store, or named with --issuer: %w", o.from, err)
		}
		ts = trust.New()
	}
	issuer = o.issuer
	if issuer == "" {
		switch issuers := ts.SHCIssuerForKID(kid); len(issuers) {
		case 0:
			return "", 0, false, fmt.Errorf("no SMART Health Cards issuer in the trust store has key %s (add its key set with crlverify trust add ISSUER jwks.json, or name it with --issuer)", clean(kid))
		case 1:
			issuer = issuers[0]
		default:
			return "", 0, false, fmt.Errorf("the key sets of %s all hold key %s: name the list's issuer with --issuer", strings.Join(issuers, ", "), clean(kid))
		}
	}
	if err := shc.CheckIssuerURL(issuer); err != nil {
		return "", 0, false, fmt.Errorf("--issuer: %w", err)
	}
	if e, ok := ts.SHCIssuer(issuer); ok {
		if k, ok := e.KeySet().Key(kid); ok {
			return issuer, k.CRLVersion, true, nil
		}
	}
	return issuer, 0, false, nil
}
