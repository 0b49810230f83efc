package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/verify/store"
)

// forgetLine is the JSON form of one name forget removed.
type forgetLine struct {
	// Removed is "publisher" (its list and sync records) or "source"
	// (the records of syncs from it).
	Removed   string          `json:"removed"`
	Publisher string          `json:"publisher,omitempty"`
	Source    string          `json:"source,omitempty"`
	List      *forgotListLine `json:"list,omitempty"`
}

// forgotListLine is the list forget removed with its publisher.
type forgotListLine struct {
	Serial  uint64 `json:"serial"`
	Entries uint64 `json:"entries"`
}

func newForgetCommand() *cobra.Command {
	var storePath string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "forget PUBLISHER|SOURCE|SHC-LIST-URL...",
		Short: "Remove publishers' revocation lists, or sources' sync records, from the local store",
		Long: `forget removes from the local store, for each PUBLISHER (the name status
prints), its revocation list and the records of the syncs that fetched it.
Checks for the publisher's issuers answer "unknown" (exit 3) until a sync
stores a full snapshot again. Given a SOURCE (a URL or path, as status
prints it), it removes the record of syncs from that source only, such as
a "source ... no list" line of status. Given the URL of a SMART Health
Cards issuer's revocation list (ISSUER/.well-known/crl/KID.json, as status
prints it), it removes that list.

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
  crlverify forget --json ministry
  crlverify sync --from https://crl.example.org/ministry/ --jwks ministry-2027.jwks
  crlverify forget https://old-mirror.example.org/ministry/`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, names []string) error {
			path, err := resolveStore(storePath, false)
			if err != nil {
				return withCode(ExitError, err)
			}
			if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
				return withCode(ExitError, fmt.Errorf("no store at %s", clean(path)))
			}
			st, err := store.Open(path, nil)
			if err != nil {
				return withCode(ExitError, storeHint(err, path))
			}
			defer st.Close()
			recs, err := st.SyncRecords()
			if err != nil {
				return withCode(ExitError, storeHint(err, path))
			}
			// Every name is checked before anything is removed.
			publisher := map[string]bool{}
			shcList := map[string]store.SHCList{}
			for _, l := range st.SHCLists() {
				shcList[shcListURL(l.Issuer, l.KID)] = l
			}
			for _, name := range names {
				if _, ok := shcList[name]; ok {
					continue
				}
				_, isList := st.List(name)
				isPub, isSource := isList, false
				for _, r := range recs {
					isPub = isPub || r.Publisher == name && name != ""
					isSource = isSource || r.Source == name
				}
				if !isPub && !isSource {
					return withCode(ExitError, fmt.Errorf("%s holds no list of publisher %q, nor a record of syncs from a source of that name, nor a SMART Health Cards list of that URL (crlverify status lists them)", clean(path), name))
				}
				publisher[name] = isPub
			}
			out := cmd.OutOrStdout()
			for _, name := range names {
				if l, ok := shcList[name]; ok {
					if _, err := st.RemoveSHCList(l.Issuer, l.KID); err != nil {
						return withCode(ExitError, storeHint(err, path))
					}
					fmt.Fprintf(out, "forgot the revocation list of %s key %s: ctr %d, %d rids\n", l.Issuer, clean(l.KID), l.Counter, l.RIDs)
					continue
				}
				if !publisher[name] {
					if _, err := st.RemoveSyncRecord(name); err != nil {
						return withCode(ExitError, storeHint(err, path))
					}
					if asJSON {
						if err := writeJSON(out, forgetLine{Removed: "source", Source: name}); err != nil {
							return withCode(ExitError, err)
						}
						continue
					}
					fmt.Fprintf(out, "forgot source %s\n", clean(name))
					continue
				}
				l, hadList := st.List(name)
				if err := st.Remove(name); err != nil {
					return withCode(ExitError, storeHint(err, path))
				}
				if asJSON {
					line := forgetLine{Removed: "publisher", Publisher: name}
					if hadList {
						line.List = &forgotListLine{Serial: l.Serial, Entries: l.Count}
					}
					if err := writeJSON(out, line); err != nil {
						return withCode(ExitError, err)
					}
					continue
				}
				if hadList {
					fmt.Fprintf(out, "forgot %s: serial %d, %d entries\n", clean(name), l.Serial, l.Count)
				} else {
					fmt.Fprintf(out, "forgot %s: no list, its sync records\n", clean(name))
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&storePath, "store", "", "store file (default "+describeDefaultStore()+")")
	cmd.Flags().BoolVar(&asJSON, "json", false, `print one JSON object per name: {"removed": "publisher"|"source", ...}`)
	return cmd
}
