package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/store"
	"github.com/crlverify/crlverify/verify/trust"
)

type checkOptions struct {
	storePath string
	trustPath string
	issuer    string
	at        string
	grace     time.Duration
	json      bool
	online    onlineFlags
}

func newCheckCommand() *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check [--issuer I] ID...",
		Short: "Check certificate ids against the local revocation lists, offline",
		Long: `check looks up each certificate id in the stored revocation list of its
issuer and prints whether it is revoked, suspended or not revoked, with the
list's serial and freshness. It needs no network (but see --online).

--issuer may be left out when the store covers a single issuer. A list past
its next update (plus --grace) still reports revocations, but "not revoked"
from it is not conclusive: the exit code is then 3.

For a SMART Health Cards issuer (--issuer its iss URL, the id a card's rid),
the issuer's own revocation lists imported with sync --from are asked too,
every list of the issuer, since the card's key is not known: a list that
revokes the rid decides; one that revokes only the rid's cards issued before
a time leaves the status unknown (scan the card: its nbf tells). "Not
revoked" needs the issuer's current list of each of its keys with a
crlVersion, judged against the trust store (--trust).

--trust (or the default trust store, if there is one) applies the trust
file's publisher-key policy, as scan does: when its entries bound to the
issuer name the publisher keys that may answer for it (trust add
--crl-publisher-key), an answer from a list signed by another key is
ignored, revoked or not, and the status is unknown (exit 3), saying which
key answered. An id does not tell which entry issued it, so every entry
bound to the issuer (a DIVOC entry whose crl_issuer it is, a SMART Health
Cards iss, an EU DCC country) must allow the key: an entry naming no keys
allows any, entries naming keys allow only the keys all of them name.
Without a trust store every list the store binds to the issuer answers.

` + onlineHelp + `

` + exitCodeHelp,
		Example: `  crlverify check --issuer did:web:health.example 123456789012
  crlverify check --json 123456789012 210987654321
  crlverify check --at 2026-11-01T12:00:00Z --grace 24h 123456789012
  crlverify check --trust trust.json --issuer https://cowin.gov.in/ 123456789012
  crlverify check --online https://crl.moh.example:8443 --online-token-file reader.token --issuer https://cowin.gov.in/ 123456789012`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args) },
	}
	f := cmd.Flags()
	f.StringVar(&o.storePath, "store", "", "store file (default "+describeDefaultStore()+")")
	f.StringVar(&o.issuer, "issuer", "", "certificate issuer (default: the store's only issuer)")
	f.StringVar(&o.trustPath, "trust", "", "trust store: its publisher-key policy (crl_publisher_keys) says which lists may answer, and it judges whether a SMART Health Cards issuer's lists are current (default "+describeDefaultTrust()+", if there is one)")
	f.StringVar(&o.at, "at", "", "judge at this time, RFC 3339 (default: now)")
	f.DurationVar(&o.grace, "grace", 0, "how long past its next update a list still counts as fresh")
	f.BoolVar(&o.json, "json", false, "print one JSON object per id")
	o.online.add(f)
	return cmd
}

// checkLine is the JSON form of one check: the id, then the store's
// answer (store.Result's JSON: status, known, detail, reason, the list).
type checkLine struct {
	ID string `json:"id"`
	store.Result
}

func (l checkLine) MarshalJSON() ([]byte, error) {
	r, err := json.Marshal(l.Result)
	if err != nil {
		return nil, err
	}
	id, err := json.Marshal(l.ID)
	if err != nil {
		return nil, err
	}
	return append(append([]byte(`{"id":`), id...), append([]byte{','}, r[1:]...)...), nil
}

func (o *checkOptions) run(cmd *cobra.Command, ids []string) error {
	at, err := parseAt(o.at)
	if err != nil {
		return withCode(ExitError, err)
	}
	if o.grace < 0 {
		return withCode(ExitError, errors.New("--grace must not be negative"))
	}
	if err := o.online.check(); err != nil {
		return withCode(ExitError, err)
	}
	for i, id := range ids {
		if strings.TrimSpace(id) == "" {
			return withCode(ExitError, fmt.Errorf("certificate id %d of %d is empty: give the id as the certificate states it", i+1, len(ids)))
		}
	}
	st, path, missing, err := openReadOnly(o.storePath, &store.Options{Grace: o.grace})
	if err != nil {
		return withCode(ExitError, err)
	}
	var crls verify.Revocations
	switch {
	case missing && o.online.url == "":
		return withCode(ExitUnknown, fmt.Errorf("no store at %s yet; run crlverify sync", path))
	case missing && o.issuer == "":
		return withCode(ExitError, fmt.Errorf("no store at %s to tell the issuer: give --issuer", path))
	case !missing:
		defer st.Close()
		crls = st
	}
	if crls, err = o.online.wrap(cmd.Context(), crls); err != nil {
		return withCode(ExitError, err)
	}
	issuer := o.issuer
	if issuer == "" {
		var all []string
		for _, l := range st.Lists() {
			all = append(all, l.Issuers...)
		}
		for _, l := range st.SHCLists() {
			all = append(all, l.Issuer)
		}
		slices.Sort(all)
		all = slices.Compact(all)
		switch len(all) {
		case 0:
			return withCode(ExitUnknown, fmt.Errorf("%s holds no revocation list; run crlverify sync", path))
		case 1:
			issuer = all[0]
		default:
			for i := range all {
				all[i] = clean(all[i])
			}
			return withCode(ExitError, fmt.Errorf("the store covers %d issuers; pick one with --issuer (%s)", len(all), strings.Join(all, ", ")))
		}
	}
	ts, err := o.trustStore()
	if err != nil {
		return withCode(ExitError, err)
	}
	shcKeys := checkSHCKeys(ts, issuer)
	checker := verify.NewIDChecker(crls, ts, issuer)
	out := cmd.OutOrStdout()
	code := ExitOK
	for _, id := range ids {
		r, err := checker.Check(id, at)
		if err != nil {
			return withCode(ExitError, storeHint(err, path))
		}
		if st != nil {
			own, ok, err := st.CheckSHCID(issuer, id, shcKeys, at)
			if err != nil {
				return withCode(ExitError, storeHint(err, path))
			}
			if ok {
				r = r.WithSHC(own)
			}
		}
		switch {
		case r.Status == store.Revoked || r.Status == store.Suspended:
			code = ExitInvalid
		case !r.Conclusive() && code == ExitOK:
			code = ExitUnknown
		}
		if o.json {
			if err := writeJSON(out, checkLine{ID: id, Result: r}); err != nil {
				return withCode(ExitError, err)
			}
			continue
		}
		fmt.Fprintln(out, describe(id, &r))
	}
	if code != ExitOK {
		return withCode(code, nil)
	}
	return nil
}

// trustStore returns the trust store check judges answers by: --trust, or
// the default one if there is one; nil when there is none.
func (o *checkOptions) trustStore() (*trust.Store, error) {
	if o.trustPath == "" {
		p, err := trust.DefaultPath()
		if err != nil {
			return nil, nil
		}
		if _, err := os.Stat(p); err != nil {
			return nil, nil
		}
	}
	return loadTrust(o.trustPath)
}

// checkSHCKeys returns the keys with a crlVersion of the SMART Health
// Cards issuer issuer, as the trust store ts holds them: nil when there is
// no trust store or it does not hold the issuer.
func checkSHCKeys(ts *trust.Store, issuer string) []store.SHCKey {
	if ts == nil {
		return nil
	}
	e, ok := ts.SHCIssuer(issuer)
	if !ok {
		return nil
	}
	keys := []store.SHCKey{}
	for _, k := range e.KeySet().Keys {
		if k.CRLVersion > 0 {
			keys = append(keys, store.SHCKey{KID: k.ID, CRLVersion: k.CRLVersion})
		}
	}
	return keys
}

// describe is the one-line text form of a check; every value from
// outside (the id, issuer and publisher names) is cleaned.
func describe(id string, r *store.Result) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", clean(id))
	switch r.Status {
	case store.Unknown:
		fmt.Fprintf(&b, "UNKNOWN (%s)", clean(r.Reason()))
		return b.String()
	case store.Revoked:
		if r.Entry == nil {
			fmt.Fprintf(&b, "REVOKED by its issuer's revocation list of key %s (ctr %d)", clean(r.SHC.KID), r.SHC.Counter)
			break
		}
		fmt.Fprintf(&b, "REVOKED (%s, %s)", r.Entry.Reason, r.Entry.Revoked().Format(time.RFC3339))
	case store.Suspended:
		fmt.Fprintf(&b, "SUSPENDED until %s (%s)", r.Entry.Until().Format(time.RFC3339), r.Entry.Reason)
	case store.NotRevoked:
		b.WriteString("NOT REVOKED")
		if r.Entry != nil {
			fmt.Fprintf(&b, " (suspension ended %s)", r.Entry.Until().Format(time.RFC3339))
		}
	}
	switch r.Source {
	case store.SourceOnline:
		b.WriteString("; answered online by the authority's status endpoint")
		return b.String()
	case store.SourceSHCList:
		if r.Status == store.NotRevoked {
			b.WriteString("; its issuer's own revocation lists")
			if reason := r.Reason(); reason != "" {
				fmt.Fprintf(&b, ": NOT CONCLUSIVE, %s", clean(reason))
			}
		}
		return b.String()
	}
	fmt.Fprintf(&b, "; list %s serial %d, %s old, %s", clean(r.Publisher), r.Serial, roundAge(r.Age), r.Freshness)
	if reason := r.Reason(); reason != "" {
		fmt.Fprintf(&b, ": NOT CONCLUSIVE, %s", clean(reason))
	}
	return b.String()
}
