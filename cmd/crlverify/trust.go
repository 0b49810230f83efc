package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/verify/trust"
)

// trustOptions are the flags every trust subcommand shares.
type trustOptions struct {
	path string
}

func newTrustCommand() *cobra.Command {
	o := &trustOptions{}
	cmd := &cobra.Command{
		Use:   "trust",
		Short: "Manage the issuer keys and policies certificates are verified with",
		Long: `trust manages the trust store: one file holding, for every certificate format
scan reads, who may sign certificates and how they are judged.

  DIVOC            a verification method (a credential's
                   proof.verificationMethod, e.g. did:india) and its public
                   keys: PEM (SPKI "PUBLIC KEY", PKCS #1 "RSA PUBLIC KEY", or a
                   certificate), a JWK, a raw base58 Ed25519 key as DIVOC
                   publishes them, or SPKI DER
  SMART Health     an issuer URL (the cards' iss, https, no trailing /) and
  Cards            its key set, the issuer's /.well-known/jwks.json, kept
                   whole in the file; each key's kid and crlVersion (the ctr
                   of the issuer's own revocation list for it) come from it
  EU DCC           an issuing country (two letters, e.g. AT) and its document
                   signer certificates (PEM or DER files, a directory of
                   them, or a DSC list in the common {kid, country, rawData}
                   JSON form, see import-dsc)

The format is detected: a two-letter country is an EU issuer, an https URL
given a key set ({"keys": [...]}) an SMART Health Cards issuer, anything else
a DIVOC verification method; --format divoc|shc|dcc says it outright. Nothing
is fetched: a verifier trusts exactly what is in this file.

A DIVOC key may have a window (--not-before, --not-after: when it may have
signed) and a status: a key marked terminated fails every certificate it
signed. Each issuer has a policy: by default a DIVOC vaccination certificate
does not expire, and SMART Health Cards and EU certificates expire by their
own dates only; --max-age turns on expiry counted from issuance, and
--enforce-effective-window makes DIVOC's effective dates binding. A DIVOC
certificate whose signature does not cover its holder is refused
(UNSIGNED_HOLDER) unless --accept-unsigned-holder is set for its issuer.
--crl-issuer binds an issuer to the name its revocations are looked up under
in the signed lists. A DIVOC verification method needs one for its
certificates' revocation status to be known: the issuer a credential names
is chosen by its signer, and is never used (a trusted key could name
another authority's issuer and be judged by that authority's list). SMART
Health Cards and EU issuers are bound to their iss URL and country.

The store also maps the JSON-LD context URLs of DIVOC deployments this
program does not bundle ("crlverify trust context").

The store is a JSON file written atomically; edit it with these commands.

` + exitCodeHelp,
		Example: `  crlverify trust add did:india india.pem
  crlverify trust add did:divoc divoc-dev.pub.base58 --not-after 2022-12-31
  crlverify trust add did:india india.pem --status terminated
  crlverify trust add https://spec.smarthealth.cards/examples/issuer jwks.json --name "SMART example issuer"
  crlverify trust add AT at-dsc-1.pem at-dsc-2.der
  crlverify trust import-dsc dsc-list.json --country AT --country DE
  crlverify trust list --json
  crlverify trust remove did:divoc`,
	}
	cmd.PersistentFlags().StringVar(&o.path, "trust", "", "trust store file (default crlverify/trust.json in the user config directory)")
	cmd.AddCommand(newTrustAddCommand(o), newTrustListCommand(o), newTrustRemoveCommand(o), newTrustImportCommand(o),
		newTrustImportDSCCommand(o), newTrustContextCommand(o))
	return cmd
}

// resolve returns the store's path: --trust, or the default.
func (o *trustOptions) resolve() (string, error) {
	if o.path != "" {
		return o.path, nil
	}
	p, err := trust.DefaultPath()
	if err != nil {
		return "", fmt.Errorf("no user config directory for the default trust store (use --trust): %w", err)
	}
	return p, nil
}

// load reads the store; a missing file is an empty store when create is set.
func (o *trustOptions) load(create bool) (*trust.Store, string, error) {
	path, err := o.resolve()
	if err != nil {
		return nil, "", err
	}
	s, err := trust.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		if create {
			return trust.New(), path, nil
		}
		return nil, path, fmt.Errorf("no trust store at %s (add a key with: crlverify trust add)", path)
	}
	return s, path, err
}

type trustAddOptions struct {
	*trustOptions
	format              string
	x5cRoots            []string
	notBefore, notAfter string
	status              string
	name                string
	crlIssuer           string
	publisherKeys       []string
	maxAge              string
	enforceWindow       bool
	acceptUnsigned      bool
}

func newTrustAddCommand(parent *trustOptions) *cobra.Command {
	o := &trustAddOptions{trustOptions: parent}
	cmd := &cobra.Command{
		Use:   "add ISSUER KEYFILE...",
		Short: "Trust an issuer's keys, or update a key's window, status or an issuer's policy",
		Long: `add trusts the keys in KEYFILE ("-" for standard input) for ISSUER:

  DIVOC               add VERIFICATION_METHOD KEYFILE: the public key, in any
                      format DIVOC deployments publish (detected), for
                      certificates whose proof names VERIFICATION_METHOD.
                      Adding a key the issuer already has updates it
                      instead: use that to terminate a key or change its
                      window.
  SMART Health Cards  add ISSUER_URL jwks.json: the issuer's key set, which
                      replaces the one it had (keeping its name and policy).
                      Entries that are not ES256 signing keys are listed and
                      skipped. --x5c-root FILE adds a root certificate the
                      x5c chains of every issuer's keys must then lead to,
                      every certificate valid when the card was issued.
  EU DCC              add COUNTRY FILE...: document signer certificates (PEM,
                      DER, a directory of them, or a DSC list, of which the
                      entries of COUNTRY are taken). A certificate whose
                      subject names another country is refused.

Flags left out keep their values. Times are RFC 3339 or a date (2006-01-02,
UTC; --not-after then means the end of that day). The policy flags apply to
the issuer, not to one key:
  --max-age 365d                certificates expire 365 days after issuance
  --crl-issuer NAME             the issuer's revocations are looked up under
                                NAME in the signed lists. DIVOC: required for
                                a revocation check, never the issuer the
                                credential names; SHC, EU: by default the
                                issuer URL, the country
  --crl-publisher-key KEY       only lists signed by this publisher key (its
                                RFC 7638 thumbprint, as crlverify status shows
                                a list's signer key; repeatable) answer for
                                the issuer: another trusted publisher's list
                                is ignored, the status then unknown.
                                --crl-publisher-key "" answers from any
                                publisher bound to the issuer again
  --enforce-effective-window    DIVOC effectiveStart/effectiveUntil are binding
  --accept-unsigned-holder      accept DIVOC certificates whose signature does
                                not cover the holder (a relative or empty
                                credentialSubject id, as Sri Lanka and Jamaica
                                issue them): they are VALID, with the name,
                                date of birth, gender and age marked unsigned.
                                Without it they are UNSIGNED_HOLDER (exit 1).
--not-before, --not-after, --status, --enforce-effective-window and
--accept-unsigned-holder are for DIVOC keys only.`,
		Example: `  crlverify trust add did:india india.pem --name "Government of India" --crl-issuer https://cowin.gov.in/
  crlverify trust add did:divoc key.base58 --not-before 2021-01-01 --not-after 2023-12-31
  crlverify trust add did:india india.pem --status terminated
  crlverify trust add did:srilanka:moh lk.pem --max-age 365d --crl-issuer https://divoc.lgcc.gov.lk/
  crlverify trust add did:jamaica jm.pem --accept-unsigned-holder
  crlverify trust add https://spec.smarthealth.cards/examples/issuer jwks.json
  crlverify trust add https://myvaccinerecord.cdph.ca.gov/creds jwks.json --x5c-root vci-root.pem
  crlverify trust add IE ie-dsc.pem --name "Ireland HSE"
  crlverify trust add --format dcc XA dsc-list.json`,
		Args: cobra.MinimumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0], args[1:]) },
	}
	f := cmd.Flags()
	f.StringVar(&o.notBefore, "not-before", "", "the key signs nothing before this time")
	f.StringVar(&o.notAfter, "not-after", "", "the key signs nothing after this time")
	f.StringVar(&o.status, "status", "", "active or terminated (a new key is active)")
	f.StringVar(&o.name, "name", "", "issuer name to display")
	f.StringVar(&o.crlIssuer, "crl-issuer", "", `the issuer revocations are looked up under (DIVOC: required for a revocation check; SHC, EU: default the issuer URL, the country)`)
	f.StringArrayVar(&o.publisherKeys, "crl-publisher-key", nil, `only lists signed by this publisher key (RFC 7638 thumbprint) answer for the issuer; repeatable ("" = any publisher bound to it)`)
	f.StringVar(&o.maxAge, "max-age", "", `certificates expire this long after issuance, e.g. 365d or 8760h ("0" = never)`)
	f.BoolVar(&o.enforceWindow, "enforce-effective-window", false, "make DIVOC effectiveStart/effectiveUntil binding")
	f.BoolVar(&o.acceptUnsigned, "accept-unsigned-holder", false, "accept certificates whose signature does not cover the holder, marked unsigned")
	f.StringVar(&o.format, "format", "", "divoc, shc or dcc (default: detected from ISSUER and KEYFILE)")
	f.StringArrayVar(&o.x5cRoots, "x5c-root", nil, "a root certificate (PEM or DER) SMART Health Cards issuers' x5c chains must lead to (repeatable)")
	return cmd
}

func (o *trustAddOptions) run(cmd *cobra.Command, issuer string, files []string) error {
	format, err := o.detectFormat(cmd, issuer, files[0])
	if err != nil {
		return err
	}
	switch format {
	case formatSHC:
		return o.addSHC(cmd, issuer, files)
	case formatDCC:
		return o.addDCC(cmd, issuer, files)
	}
	if len(files) != 1 {
		return fmt.Errorf("a DIVOC verification method takes one key file, not %d", len(files))
	}
	if len(o.x5cRoots) > 0 {
		return errors.New("--x5c-root is for SMART Health Cards issuers")
	}
	return o.addDIVOC(cmd, issuer, files[0])
}

func (o *trustAddOptions) addDIVOC(cmd *cobra.Command, vm, keyFile string) error {
	ko := &trust.KeyOptions{Status: trust.Status(o.status)}
	var err error
	if ko.NotBefore, err = parseFlagTime("--not-before", o.notBefore, false); err != nil {
		return err
	}
	if ko.NotAfter, err = parseFlagTime("--not-after", o.notAfter, true); err != nil {
		return err
	}
	if o.status != "" && ko.Status != trust.StatusActive && ko.Status != trust.StatusTerminated {
		return fmt.Errorf("--status %q: want active or terminated", o.status)
	}
	keyData, err := readKeyFile(cmd, keyFile, trust.MaxKeySize)
	if err != nil {
		return err
	}
	s, path, err := o.load(true)
	if err != nil {
		return err
	}
	k, added, err := s.Add(vm, keyData, ko)
	if err != nil {
		return fmt.Errorf("%s: %w", keyFile, err)
	}
	flags := cmd.Flags()
	if flags.Changed("name") {
		if err := s.SetName(vm, o.name); err != nil {
			return err
		}
	}
	if flags.Changed("crl-issuer") || flags.Changed("crl-publisher-key") || flags.Changed("max-age") || flags.Changed("enforce-effective-window") || flags.Changed("accept-unsigned-holder") {
		e, _ := s.Entry(vm)
		p := e.Policy
		if flags.Changed("crl-issuer") {
			p.CRLIssuer = o.crlIssuer
		}
		if flags.Changed("crl-publisher-key") {
			p.CRLPublisherKeys = o.publisherKeyList()
		}
		if flags.Changed("enforce-effective-window") {
			p.EnforceEffectiveWindow = o.enforceWindow
		}
		if flags.Changed("accept-unsigned-holder") {
			p.AcceptUnsignedHolder = o.acceptUnsigned
		}
		if flags.Changed("max-age") {
			if p.MaxAge, err = trust.ParseDuration(o.maxAge); err != nil {
				return fmt.Errorf("--max-age: %w", err)
			}
		}
		if err := s.SetPolicy(vm, p); err != nil {
			return err
		}
	}
	if err := s.Save(path); err != nil {
		return err
	}
	verb := "updated"
	if added {
		verb = "added"
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: %s key %s (%s, %s, %s)\n", clean(vm), verb, k.ID, k.Algorithm, k.Status, keyWindow(k))
	if e, _ := s.Entry(vm); err == nil && e.CRLIssuer == "" {
		fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: %s is bound to no revocation issuer: the revocation status of its certificates stays unknown until --crl-issuer names the issuer its authority's lists cover\n", clean(vm))
	}
	return err
}

// publisherKeyList is --crl-publisher-key without the empty values ("" to
// clear).
func (o *trustAddOptions) publisherKeyList() []string {
	var keys []string
	for _, k := range o.publisherKeys {
		if k = strings.TrimSpace(k); k != "" && !slices.Contains(keys, k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// publisherKeysNote says which publisher keys answer for an issuer.
func publisherKeysNote(keys []string) string {
	return "revocations from lists signed by publisher key " + cleanJoin(keys, ", ") + " only"
}

// parseFlagTime reads RFC 3339 or a date; a date as an end is that day's
// last second.
func parseFlagTime(flag, v string, end bool) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t.UTC(), nil
	}
	t, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q: want RFC 3339 (2021-01-15T00:00:00Z) or a date (2021-01-15)", flag, v)
	}
	if end {
		t = t.Add(24*time.Hour - time.Second)
	}
	return t, nil
}

func readBounded(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: more than %d bytes", path, limit)
	}
	return b, nil
}

func keyWindow(k trust.Key) string {
	switch {
	case k.NotBefore.IsZero() && k.NotAfter.IsZero():
		return "any time"
	case k.NotAfter.IsZero():
		return "from " + k.NotBefore.Format(time.RFC3339)
	case k.NotBefore.IsZero():
		return "until " + k.NotAfter.Format(time.RFC3339)
	}
	return k.NotBefore.Format(time.RFC3339) + " to " + k.NotAfter.Format(time.RFC3339)
}

type trustListOptions struct {
	*trustOptions
	json bool
}

// trustLine is the JSON form of one issuer in trust list.
type trustLine struct {
	Format                 string         `json:"format"`
	VerificationMethod     string         `json:"verification_method"`
	Name                   string         `json:"name,omitempty"`
	EnforceEffectiveWindow bool           `json:"enforce_effective_window"`
	MaxAgeSeconds          int64          `json:"max_age_seconds,omitempty"`
	CRLIssuer              string         `json:"crl_issuer,omitempty"`
	CRLPublisherKeys       []string       `json:"crl_publisher_keys,omitempty"`
	AcceptUnsignedHolder   bool           `json:"accept_unsigned_holder"`
	Keys                   []trustKeyLine `json:"keys"`
}

type trustKeyLine struct {
	KeyID     string     `json:"key_id"`
	Algorithm string     `json:"algorithm"`
	Status    string     `json:"status"`
	NotBefore *time.Time `json:"not_before,omitempty"`
	NotAfter  *time.Time `json:"not_after,omitempty"`
	Source    string     `json:"source,omitempty"`
	PublicKey string     `json:"public_key"`
}

func newTrustListCommand(parent *trustOptions) *cobra.Command {
	o := &trustListOptions{trustOptions: parent}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the trusted issuers, their keys and policies",
		Long: `list prints every trusted issuer with its policy and keys: DIVOC verification
methods (each key's algorithm, status and window), SMART Health Cards issuers
(each key's kid, crlVersion and x5c certificate with its validity; entries of
the key set that are not signing keys), their x5c roots, and EU DCC countries
(each document signer's kid, key, validity, the certificate types its key
usage allows, subject). An expired document signer is marked. With --json,
one object per issuer (and per root), with "format": "divoc", "shc" or "dcc".`,
		Example: `  crlverify trust list
  crlverify trust list --trust ./trust.json --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON object per issuer")
	return cmd
}

func (o *trustListOptions) run(cmd *cobra.Command) error {
	s, path, err := o.load(true)
	if err != nil {
		return err
	}
	entries, shcIssuers, roots, dccIssuers := s.List(), s.SHCIssuers(), s.SHCRoots(), s.DCCIssuers()
	if len(entries)+len(shcIssuers)+len(roots)+len(dccIssuers) == 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "no trusted issuers in %s\n", clean(path))
		return nil
	}
	w := cmd.OutOrStdout()
	for _, e := range entries {
		if o.json {
			if err := writeJSON(w, toTrustLine(e)); err != nil {
				return err
			}
			continue
		}
		if err := writeTrustEntry(w, e); err != nil {
			return err
		}
	}
	for _, e := range shcIssuers {
		if o.json {
			if err := writeJSON(w, toSHCTrustLine(e)); err != nil {
				return err
			}
			continue
		}
		if err := writeSHCTrustEntry(w, e); err != nil {
			return err
		}
	}
	if err := writeSHCRoots(w, roots, o.json); err != nil {
		return err
	}
	now := time.Now()
	for _, e := range dccIssuers {
		if o.json {
			if err := writeJSON(w, toDCCTrustLine(e)); err != nil {
				return err
			}
			continue
		}
		if err := writeDCCTrustEntry(w, e, now); err != nil {
			return err
		}
	}
	return nil
}

func toTrustLine(e trust.Entry) trustLine {
	l := trustLine{
		Format:                 formatDIVOC,
		VerificationMethod:     e.VerificationMethod,
		Name:                   e.Name,
		EnforceEffectiveWindow: e.EnforceEffectiveWindow,
		CRLIssuer:              e.CRLIssuer,
		CRLPublisherKeys:       e.CRLPublisherKeys,
		AcceptUnsignedHolder:   e.AcceptUnsignedHolder,
		Keys:                   []trustKeyLine{},
	}
	if e.MaxAge > 0 {
		l.MaxAgeSeconds = int64(time.Duration(e.MaxAge) / time.Second)
	}
	for _, k := range e.Keys {
		kl := trustKeyLine{KeyID: k.ID, Algorithm: k.Algorithm, Status: string(k.Status), Source: k.Source, PublicKey: k.PEM,
			NotBefore: utcSecondPtr(k.NotBefore), NotAfter: utcSecondPtr(k.NotAfter)}
		l.Keys = append(l.Keys, kl)
	}
	return l
}

func writeTrustEntry(w io.Writer, e trust.Entry) error {
	var b strings.Builder
	b.WriteString(clean(e.VerificationMethod))
	if e.Name != "" {
		fmt.Fprintf(&b, "  %s", clean(e.Name))
	}
	b.WriteString("\n  policy: ")
	var pol []string
	if e.MaxAge > 0 {
		pol = append(pol, "expires "+e.MaxAge.String()+" after issuance")
	} else {
		pol = append(pol, "no maximum age")
	}
	if e.EnforceEffectiveWindow {
		pol = append(pol, "effective window enforced")
	} else {
		pol = append(pol, "effective window not enforced")
	}
	if e.CRLIssuer != "" {
		pol = append(pol, "revocations under "+clean(e.CRLIssuer))
	} else {
		pol = append(pol, "bound to no revocation issuer: revocation status unknown (--crl-issuer)")
	}
	if len(e.CRLPublisherKeys) > 0 {
		pol = append(pol, publisherKeysNote(e.CRLPublisherKeys))
	}
	if e.AcceptUnsignedHolder {
		pol = append(pol, "unsigned holder accepted (shown unsigned)")
	}
	b.WriteString(strings.Join(pol, "; "))
	b.WriteString("\n")
	if len(e.Keys) == 0 {
		b.WriteString("  no keys: its certificates fail as from an unknown issuer\n")
	}
	for _, k := range e.Keys {
		fmt.Fprintf(&b, "  key %s  %-9s %-10s %s", k.ID, k.Algorithm, k.Status, keyWindow(k))
		if k.Source != "" {
			fmt.Fprintf(&b, "  (added as %s)", clean(k.Source))
		}
		b.WriteString("\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

type trustRemoveOptions struct {
	*trustOptions
	keyID string
	root  string
}

func newTrustRemoveCommand(parent *trustOptions) *cobra.Command {
	o := &trustRemoveOptions{trustOptions: parent}
	cmd := &cobra.Command{
		Use:   "remove ISSUER | --x5c-root SHA256",
		Short: "Stop trusting an issuer, or one of its keys (--key)",
		Long: `remove deletes an issuer with its keys and policy: a DIVOC verification
method, a SMART Health Cards issuer URL, or an EU DCC country. With --key it
removes one key only: a DIVOC key (its id) or an EU document signer (its kid,
base64), as trust list shows them; a SMART Health Cards issuer's key set is
replaced whole with trust add instead. --x5c-root removes an x5c root by its
SHA-256 (or the first 16 hex digits trust list shows). Certificates of a
removed issuer or key fail as from an unknown issuer. To fail a DIVOC key's
certificates while keeping a record of it, mark it terminated instead (trust
add ... --status terminated).`,
		Example: `  crlverify trust remove did:divoc
  crlverify trust remove did:india --key 4a1c5e0d9b7f2a33
  crlverify trust remove https://spec.smarthealth.cards/examples/issuer
  crlverify trust remove AT --key 2M5aCgvUeXs=
  crlverify trust remove --x5c-root 5f3a1c0e9d2b7a44`,
		Args: cobra.RangeArgs(0, 1),
		RunE: func(cmd *cobra.Command, args []string) error {
			switch {
			case o.root != "" && len(args) == 0:
				return o.removeRoot(cmd)
			case o.root != "":
				return errors.New("--x5c-root takes no ISSUER")
			case len(args) == 0:
				return errors.New("remove takes the ISSUER to remove (or --x5c-root)")
			}
			return o.run(cmd, args[0])
		},
	}
	cmd.Flags().StringVar(&o.keyID, "key", "", "remove only the key with this id")
	cmd.Flags().StringVar(&o.root, "x5c-root", "", "remove the SMART Health Cards x5c root with this SHA-256")
	return cmd
}

func (o *trustRemoveOptions) run(cmd *cobra.Command, issuer string) error {
	s, path, err := o.load(false)
	if err != nil {
		return err
	}
	what, found, err := removeOther(s, issuer, o.keyID)
	switch {
	case found && err != nil:
		return err
	case found:
	case o.keyID != "":
		err = s.RemoveKey(issuer, o.keyID)
		what = issuer + " key " + o.keyID
	default:
		err = s.Remove(issuer)
		what = issuer
	}
	if err != nil {
		return err
	}
	if err := s.Save(path); err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", clean(what))
	return err
}

func (o *trustRemoveOptions) removeRoot(cmd *cobra.Command) error {
	s, path, err := o.load(false)
	if err != nil {
		return err
	}
	if err := s.RemoveSHCRoot(o.root); err != nil {
		return err
	}
	if err := s.Save(path); err != nil {
		return err
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "removed x5c root %s\n", o.root)
	return err
}

func newTrustImportCommand(parent *trustOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "import REGISTRY.json",
		Short: "Add the DIVOC issuers of a PathCheck trust registry",
		Long: `import adds every issuer of the "DIVOC" section of a PathCheck trust
registry (github.com/Path-Check/trust-registry registry.json): its key, its
display name, and status (an issuer not "current" is imported terminated).
Check the registry's origin before importing: its keys become trusted.`,
		Example: `  crlverify trust import pathcheck-trust-registry-DIVOC.json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readBounded(args[0], trust.MaxFileSize)
			if err != nil {
				return err
			}
			s, path, err := parent.load(true)
			if err != nil {
				return err
			}
			vms, err := s.ImportRegistry(b)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err := s.Save(path); err != nil {
				return err
			}
			unbound := 0
			for _, vm := range vms {
				if _, err := fmt.Fprintf(cmd.OutOrStdout(), "imported %s\n", clean(vm)); err != nil {
					return err
				}
				if e, _ := s.Entry(vm); e.CRLIssuer == "" {
					unbound++
				}
			}
			if unbound > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: %d of the issuers imported are bound to no revocation issuer (the registry names none): the revocation status of their certificates stays unknown until crlverify trust add VM KEYFILE --crl-issuer ISSUER binds each\n", unbound)
			}
			return nil
		},
	}
}
