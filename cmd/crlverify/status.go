package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/verify/store"
)

// defaultStorePath is $XDG_DATA_HOME/crlverify/store.db, else
// ~/.local/share/crlverify/store.db; on macOS and Windows the user's
// configuration directory stands in for the data directory.
func defaultStorePath() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" && filepath.IsAbs(d) {
		return filepath.Join(d, "crlverify", "store.db"), nil
	}
	switch runtime.GOOS {
	case "darwin", "ios", "windows", "plan9":
		d, err := os.UserConfigDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(d, "crlverify", "store.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("no home directory for the default store (use --store): %w", err)
	}
	return filepath.Join(home, ".local", "share", "crlverify", "store.db"), nil
}

func describeDefaultStore() string {
	switch runtime.GOOS {
	case "darwin", "ios", "windows", "plan9":
		return "crlverify/store.db in the user config directory"
	}
	return "$XDG_DATA_HOME/crlverify/store.db or ~/.local/share/crlverify/store.db"
}

// openReadOnly opens an existing store for reading; missing reports
// whether there is none yet.
func openReadOnly(flag string, opts *store.Options) (st *store.Store, path string, missing bool, err error) {
	path, err = resolveStore(flag, false)
	if err != nil {
		return nil, "", false, err
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return nil, path, true, nil
	}
	o := store.Options{}
	if opts != nil {
		o = *opts
	}
	o.ReadOnly = true
	st, err = store.Open(path, &o)
	return st, path, false, storeHint(err, path)
}

// storeHint adds the way out to an error that says the store at path is
// damaged.
func storeHint(err error, path string) error {
	if !errors.Is(err, store.ErrCorrupt) {
		return err
	}
	return fmt.Errorf("%w\nThe store %s is damaged and cannot be used. Delete it (or move it aside) and run crlverify sync to fetch the lists again into a new store", err, path)
}

type statusOptions struct {
	storePath string
	json      bool
}

// statusLine is the JSON form of one list's status.
type statusLine struct {
	Publisher string   `json:"publisher"`
	Issuers   []string `json:"issuers,omitempty"`
	// BoundIssuers are the issuers the publisher may answer for;
	// BoundExplicitly whether sync --issuers gave them, rather than its
	// first list.
	BoundIssuers    []string  `json:"bound_issuers,omitempty"`
	BoundExplicitly bool      `json:"bound_explicitly,omitempty"`
	Serial          uint64    `json:"serial"`
	ThisUpdate      time.Time `json:"this_update,omitzero"`
	NextUpdate      time.Time `json:"next_update,omitzero"`
	AgeSeconds      int64     `json:"age_seconds"`
	Entries         uint64    `json:"entries"`
	Freshness       string    `json:"freshness,omitempty"`
	KeyID           string    `json:"key_id,omitempty"`
	// SignerKey is the RFC 7638 thumbprint of the key that verified the
	// list, as a trust store's crl_publisher_keys names it.
	SignerKey   string     `json:"signer_key,omitempty"`
	Source      string     `json:"source,omitempty"`
	LastAttempt *time.Time `json:"last_attempt,omitempty"`
	LastSuccess *time.Time `json:"last_success,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
}

func newStatusCommand() *cobra.Command {
	o := &statusOptions{}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the revocation lists in the local store and how fresh they are",
		Long: `status prints, for each publisher in the local store, the list's serial,
when it was made and when the next one is due, its age, the number of
entries, whether it is fresh or stale, and the last sync attempt and error;
and the issuers the publisher is bound to (those it may answer for), with
whether sync --issuers set them or they were taken from its first list
(then pass --issuers on its next sync to make them explicit); and the key
that signed the list, by its thumbprint (what trust add
--crl-publisher-key names).

It exits 3 when the store holds no list, or when some list is stale (past
its next update) or the clock is behind a list's time of making: checks
against it would not be conclusive. A list whose last sync found nothing
newer says so: the publisher's feed is stale.

A source that never delivered a list is listed as "source ... no list";
crlverify forget SOURCE removes its record.

SMART Health Cards issuers' own revocation lists imported with sync --from
are listed by the URL the issuer publishes them at, with their ctr and the
number of rids; whether a list is current (its ctr the crlVersion of its
key) is judged against the trust store when a card is checked. Each is read
back: a damaged one is shown DAMAGED and status exits 2 (import it again,
or forget it).

` + exitCodeHelp,
		Example: `  crlverify status
  crlverify status --store /var/lib/verifier/store.db --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	cmd.Flags().StringVar(&o.storePath, "store", "", "store file (default "+describeDefaultStore()+")")
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON object per list")
	return cmd
}

func (o *statusOptions) run(cmd *cobra.Command) error {
	st, path, missing, err := openReadOnly(o.storePath, nil)
	if err != nil {
		return withCode(ExitError, err)
	}
	if missing {
		return withCode(ExitUnknown, fmt.Errorf("no store at %s yet; run crlverify sync", path))
	}
	defer st.Close()
	recs, err := st.SyncRecords()
	if err != nil {
		return withCode(ExitError, storeHint(err, path))
	}
	lists := st.Lists()
	shcLists := st.SHCLists()
	code := ExitOK
	now := time.Now().UTC()
	grace := st.Options().Grace
	out := cmd.OutOrStdout()
	for _, l := range lists {
		fresh := "fresh"
		switch {
		case now.Before(l.ThisUpdate):
			fresh = "clock_behind"
		case l.Stale(now, grace):
			fresh = "stale"
		}
		if fresh != "fresh" {
			code = ExitUnknown
		}
		line := statusLine{Publisher: l.Publisher, Issuers: l.Issuers, Serial: l.Serial,
			ThisUpdate: utcSecond(l.ThisUpdate), NextUpdate: utcSecond(l.NextUpdate), AgeSeconds: int64(now.Sub(l.ThisUpdate) / time.Second),
			Entries: l.Count, Freshness: fresh, KeyID: l.KeyID, SignerKey: l.SignerKey, BoundIssuers: l.Binding(), BoundExplicitly: l.BoundExplicitly}
		var last *store.SyncRecord
		for i, r := range recs {
			if r.Publisher == l.Publisher && (last == nil || r.LastAttempt.After(last.LastAttempt)) {
				last = &recs[i]
			}
		}
		if last != nil {
			line.Source, line.LastError = last.Source, last.LastError
			line.LastAttempt, line.LastSuccess = utcSecondPtr(last.LastAttempt), utcSecondPtr(last.LastSuccess)
		}
		if o.json {
			if err := writeJSON(out, line); err != nil {
				return withCode(ExitError, err)
			}
			continue
		}
		issuers := make([]string, len(l.Issuers))
		for i, is := range l.Issuers {
			issuers[i] = clean(is)
		}
		fmt.Fprintf(out, "%s  serial %d  %s  %d entries\n", clean(l.Publisher), l.Serial, strings.ToUpper(fresh), l.Count)
		fmt.Fprintf(out, "  issuers:     %s\n", strings.Join(issuers, ", "))
		how := "set with sync --issuers"
		if !l.BoundExplicitly {
			how = "taken from its first list: pass sync --issuers to fix them"
		}
		fmt.Fprintf(out, "  bound to:    %s (%s)\n", cleanJoin(l.Binding(), ", "), how)
		if l.SignerKey != "" {
			fmt.Fprintf(out, "  signed by:   key %s, thumbprint %s\n", clean(l.KeyID), l.SignerKey)
		}
		fmt.Fprintf(out, "  made:        %s (%s)\n", l.ThisUpdate.UTC().Format(time.RFC3339), ago(now.Sub(l.ThisUpdate)))
		fmt.Fprintf(out, "  next update: %s\n", l.NextUpdate.UTC().Format(time.RFC3339))
		if last != nil {
			res := "ok"
			if last.LastError != "" {
				res = "error: " + clean(last.LastError)
			}
			fmt.Fprintf(out, "  last sync:   %s from %s: %s\n", last.LastAttempt.UTC().Format(time.RFC3339), clean(last.Source), res)
		}
	}
	// A list is read only when a card of its key is checked: read each
	// now, so that a damaged one is reported here rather than found by a
	// scan.
	var damaged []error
	for _, l := range shcLists {
		_, _, _, lerr := st.SHCList(l.Issuer, l.KID)
		if lerr != nil {
			damaged = append(damaged, lerr)
		}
		if err := writeSHCListStatus(out, l, lerr, o.json); err != nil {
			return withCode(ExitError, err)
		}
	}
	// Sources that never delivered a stored list.
	for _, r := range recs {
		if _, ok := st.List(r.Publisher); ok && r.Publisher != "" {
			continue
		}
		line := statusLine{Publisher: r.Publisher, Source: r.Source, LastError: r.LastError,
			LastAttempt: utcSecondPtr(r.LastAttempt), LastSuccess: utcSecondPtr(r.LastSuccess)}
		if o.json {
			if err := writeJSON(out, line); err != nil {
				return withCode(ExitError, err)
			}
			continue
		}
		res := "ok"
		if r.LastError != "" {
			res = "error: " + clean(r.LastError)
		}
		fmt.Fprintf(out, "source %s  no list (crlverify forget %s removes this record)\n  last sync:   %s: %s\n", clean(r.Source), clean(r.Source), r.LastAttempt.UTC().Format(time.RFC3339), res)
	}
	if len(damaged) > 0 {
		return withCode(ExitError, fmt.Errorf("%w\nThe store %s holds %d damaged SMART Health Cards revocation lists: no card of their keys can be checked against them. "+
			"Import each list again (crlverify sync --from FILE-OR-URL-OF-THE-LIST), or forget it (crlverify forget LIST-URL); or delete the store and sync again into a new one",
			errors.Join(damaged...), clean(path), len(damaged)))
	}
	if len(lists) == 0 && len(shcLists) == 0 {
		return withCode(ExitUnknown, fmt.Errorf("%s holds no revocation list; run crlverify sync", clean(path)))
	}
	if code != ExitOK {
		return withCode(code, nil)
	}
	return nil
}

// ago says how long ago a time d before now was ("in ..." for a time
// to come).
func ago(d time.Duration) string {
	switch {
	case d == math.MinInt64:
		return "in over 290 years"
	case d < 0:
		return "in " + roundAge(-d)
	}
	return roundAge(d) + " ago"
}

// roundAge writes d for a person: seconds, minutes or days as it grows.
// A negative d (a time in the future) gets a minus sign; the extremes
// (time.Sub saturates about 292 years away) are said as such.
func roundAge(d time.Duration) string {
	switch {
	case d == math.MinInt64 || d == math.MaxInt64:
		if d < 0 {
			return "-over 290 years"
		}
		return "over 290 years"
	case d < 0:
		return "-" + roundAge(-d)
	case d < time.Minute:
		return d.Round(time.Second).String()
	case d < 48*time.Hour:
		return d.Round(time.Minute).String()
	}
	return fmt.Sprintf("%dd%s", int(d/(24*time.Hour)), (d % (24 * time.Hour)).Round(time.Hour))
}

// shcStatusLine is the JSON form of an imported SMART Health Cards list
// in status.
type shcStatusLine struct {
	URL string `json:"shc_crl"`
	store.SHCList
	// Damaged says the stored copy cannot be read, Error why.
	Damaged bool   `json:"damaged,omitempty"`
	Error   string `json:"error,omitempty"`
}

// shcListURL is where an issuer publishes the list of its key kid: the
// name status and forget know the list by.
func shcListURL(issuer, kid string) string { return issuer + "/.well-known/crl/" + kid + ".json" }

// writeSHCListStatus writes the status of a stored list, damaged when
// lerr (the error reading it) is not nil.
func writeSHCListStatus(w io.Writer, l store.SHCList, lerr error, asJSON bool) error {
	line := shcStatusLine{URL: shcListURL(l.Issuer, l.KID), SHCList: l}
	if lerr != nil {
		line.Damaged, line.Error = true, lerr.Error()
	}
	if asJSON {
		return writeJSON(w, line)
	}
	state := ""
	if lerr != nil {
		state = "  DAMAGED"
	}
	_, err := fmt.Fprintf(w, "%s  ctr %d  %d rids%s\n  issuer:      %s (SMART Health Cards), key %s\n  imported:    %s from %s\n",
		clean(line.URL), l.Counter, l.RIDs, state, clean(l.Issuer), clean(l.KID), l.ImportedAt.Format(time.RFC3339), clean(l.Source))
	if err == nil && lerr != nil {
		_, err = fmt.Fprintf(w, "  damaged:     %s\n", clean(lerr.Error()))
	}
	return err
}
