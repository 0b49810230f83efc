package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/verify/dcc"
	"github.com/crlverify/crlverify/verify/shc"
	"github.com/crlverify/crlverify/verify/trust"
)

// The certificate formats a trust store entry is for.
const (
	formatDIVOC = "divoc"
	formatSHC   = "shc"
	formatDCC   = "dcc"
)

// readKeyFile reads a key file, or standard input for "-", bounded.
func readKeyFile(cmd *cobra.Command, path string, limit int64) ([]byte, error) {
	if path != "-" {
		return readBounded(path, limit)
	}
	b, err := io.ReadAll(io.LimitReader(cmd.InOrStdin(), limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("standard input: more than %d bytes", limit)
	}
	return b, nil
}

// detectFormat says which kind of issuer add is given: --format, or a
// two-letter country (EU DCC), an https URL with a key set (SMART Health
// Cards), else a DIVOC verification method.
func (o *trustAddOptions) detectFormat(cmd *cobra.Command, issuer, file string) (string, error) {
	switch o.format {
	case formatDIVOC, formatSHC, formatDCC:
		return o.format, nil
	case "":
	default:
		return "", fmt.Errorf("--format %q: want divoc, shc or dcc", o.format)
	}
	if trust.IsCountry(issuer) {
		return formatDCC, nil
	}
	if strings.HasPrefix(issuer, "https://") && file != "-" {
		if b, err := readBounded(file, shc.MaxJWKSSize); err == nil && isKeySet(b) {
			return formatSHC, nil
		}
	}
	return formatDIVOC, nil
}

// isKeySet reports whether b is a JSON object with a "keys" array.
func isKeySet(b []byte) bool {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	return json.Unmarshal(b, &set) == nil && set.Keys != nil
}

// divocOnly names the DIVOC key flags given, which other formats refuse.
func (o *trustAddOptions) divocOnly(cmd *cobra.Command) error {
	for _, f := range []string{"not-before", "not-after", "status", "enforce-effective-window", "accept-unsigned-holder"} {
		if cmd.Flags().Changed(f) {
			return fmt.Errorf("--%s is for DIVOC keys only", f)
		}
	}
	return nil
}

// issuerPolicy applies the policy flags to p.
func (o *trustAddOptions) issuerPolicy(cmd *cobra.Command, name string, p trust.IssuerPolicy) (string, trust.IssuerPolicy, error) {
	flags := cmd.Flags()
	if flags.Changed("name") {
		name = o.name
	}
	if flags.Changed("crl-issuer") {
		p.CRLIssuer = o.crlIssuer
	}
	if flags.Changed("crl-publisher-key") {
		p.CRLPublisherKeys = o.publisherKeyList()
	}
	if flags.Changed("max-age") {
		d, err := trust.ParseDuration(o.maxAge)
		if err != nil {
			return "", p, fmt.Errorf("--max-age: %w", err)
		}
		p.MaxAge = d
	}
	return name, p, nil
}

func (o *trustAddOptions) addSHC(cmd *cobra.Command, issuer string, files []string) error {
	if err := o.divocOnly(cmd); err != nil {
		return err
	}
	if len(files) != 1 {
		return fmt.Errorf("a SMART Health Cards issuer takes one key set file (its jwks.json), not %d", len(files))
	}
	b, err := readKeyFile(cmd, files[0], shc.MaxJWKSSize)
	if err != nil {
		return err
	}
	s, path, err := o.load(true)
	if err != nil {
		return err
	}
	e, added, err := s.AddSHCIssuer(issuer, b, filepath.Base(files[0]))
	if err != nil {
		return fmt.Errorf("%s: %w", files[0], err)
	}
	name, p, err := o.issuerPolicy(cmd, e.Name, e.IssuerPolicy)
	if err != nil {
		return err
	}
	if err := s.SetSHCIssuer(issuer, name, p); err != nil {
		return err
	}
	var roots []trust.SHCRoot
	for _, f := range o.x5cRoots {
		rb, err := readBounded(f, trust.MaxKeySize)
		if err != nil {
			return err
		}
		r, isNew, err := s.AddSHCRoot(rb, filepath.Base(f))
		if err != nil {
			return fmt.Errorf("--x5c-root %s: %w", f, err)
		}
		if isNew {
			roots = append(roots, r)
		}
	}
	if err := s.Save(path); err != nil {
		return err
	}
	out, errw := cmd.OutOrStdout(), cmd.ErrOrStderr()
	verb := "replaced the key set"
	if added {
		verb = "added"
	}
	set := e.KeySet()
	fmt.Fprintf(out, "%s: %s (SMART Health Cards issuer), %d signing keys\n", issuer, verb, len(set.Keys))
	for _, k := range set.Keys {
		fmt.Fprintf(out, "  key %s%s\n", clean(k.ID), shcKeyNotes(k))
		if k.ID != k.Thumbprint {
			fmt.Fprintf(errw, "crlverify: note: key %s of %s is not named by its thumbprint (%s); it is used as the key set names it\n", clean(k.ID), issuer, k.Thumbprint)
		}
	}
	for _, sk := range set.Skipped {
		fmt.Fprintf(errw, "crlverify: skipped entry %d of the key set (kid %q): %s\n", sk.Index+1, sk.ID, clean(sk.Reason))
	}
	for _, r := range roots {
		fmt.Fprintf(out, "added x5c root %s (%s)\n", r.Fingerprint()[:16], clean(r.X509().Subject.String()))
	}
	return nil
}

// shcKeyNotes says what a key set says of a key beyond its kid.
func shcKeyNotes(k *shc.Key) string {
	var notes []string
	if k.CRLVersion > 0 {
		notes = append(notes, fmt.Sprintf("crlVersion %d", k.CRLVersion))
	}
	for _, chain := range k.Chains {
		leaf := chain[0]
		notes = append(notes, fmt.Sprintf("x5c %s, %s", clean(leaf.Subject.String()), certWindow(leaf)))
	}
	if len(notes) == 0 {
		return "  ES256"
	}
	return "  ES256  " + strings.Join(notes, "; ")
}

func certWindow(c *x509.Certificate) string {
	return "valid " + c.NotBefore.UTC().Format(time.DateOnly) + " to " + c.NotAfter.UTC().Format(time.DateOnly)
}

func (o *trustAddOptions) addDCC(cmd *cobra.Command, country string, files []string) error {
	if err := o.divocOnly(cmd); err != nil {
		return err
	}
	if len(o.x5cRoots) > 0 {
		return errors.New("--x5c-root is for SMART Health Cards issuers")
	}
	if !trust.IsCountry(country) {
		return fmt.Errorf("an EU DCC issuer is a country: two upper-case letters (ISO 3166-1 alpha-2), not %q", country)
	}
	var certs []*x509.Certificate
	others := 0
	for _, f := range files {
		var signers []*dcc.Signer
		var err error
		if f == "-" {
			b, rerr := readKeyFile(cmd, f, dcc.MaxSignerFileSize)
			if rerr != nil {
				return rerr
			}
			signers, err = dcc.ParseSigners(b, "stdin")
		} else {
			set, lerr := dcc.LoadSigners(f)
			signers, err = set.All(), lerr
		}
		if err != nil {
			return err
		}
		if len(signers) == 0 {
			return fmt.Errorf("%s: no document signer certificate", f)
		}
		for _, sg := range signers {
			// The country a DSC list gives an entry, or a certificate's
			// subject names.
			if sg.Country != "" && sg.Country != country {
				others++
				continue
			}
			certs = append(certs, sg.Certificate)
		}
	}
	if len(certs) == 0 {
		return fmt.Errorf("%s: no document signer of %s (%d of other countries)", strings.Join(files, ", "), country, others)
	}
	s, path, err := o.load(true)
	if err != nil {
		return err
	}
	source := filepath.Base(files[0])
	if len(files) > 1 {
		source = ""
	}
	added, err := s.AddDCCSigners(country, certs, source)
	if err != nil {
		return err
	}
	e, _ := s.DCCIssuer(country)
	name, p, err := o.issuerPolicy(cmd, e.Name, e.IssuerPolicy)
	if err != nil {
		return err
	}
	if err := s.SetDCCIssuer(country, name, p); err != nil {
		return err
	}
	if err := s.Save(path); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	fmt.Fprintf(out, "%s: added %d document signers (EU DCC), %d already trusted\n", country, len(added), len(certs)-len(added))
	for _, d := range added {
		fmt.Fprintf(out, "  signer %s\n", dscLine(d))
	}
	if others > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: %d entries of other countries skipped (crlverify trust import-dsc takes every country)\n", others)
	}
	return nil
}

// dscLine describes a document signer on one line.
func dscLine(d trust.DSC) string {
	c := d.X509()
	line := fmt.Sprintf("%s  %s  %s  %s  %s", d.KID, keyAlgorithm(c.PublicKey), certWindow(c), typeNames(d.Types()), clean(c.Subject.String()))
	if d.Source != "" {
		line += "  (from " + clean(d.Source) + ")"
	}
	return line
}

func typeNames(ts []dcc.Type) string {
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.String()
	}
	return strings.Join(names, "/")
}

func keyAlgorithm(pub any) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "EC " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

func newTrustImportDSCCommand(parent *trustOptions) *cobra.Command {
	var countries []string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "import-dsc LIST.json",
		Short: "Add the EU document signer certificates of a DSC list",
		Long: `import-dsc adds every document signer certificate (DSC) of a DSC list in the
common JSON form the EU gateway and national backends publish: an array of
{"kid", "country", "rawData"} entries (or an object holding it as
"certificates"), each under its country. Every entry's kid must be its
certificate's (the first 8 bytes of its SHA-256): one entry that lies refuses
the whole list. With --country, only those countries' entries are taken.
Check the list's origin before importing: its certificates become trusted.`,
		Example: `  crlverify trust import-dsc dsc-list.json
  crlverify trust import-dsc dsc-list.json --country IE --country AT`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := readBounded(args[0], dcc.MaxSignerFileSize)
			if err != nil {
				return err
			}
			s, path, err := parent.load(true)
			if err != nil {
				return err
			}
			added, err := s.ImportDSCList(b, filepath.Base(args[0]), countries...)
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			if err := s.Save(path); err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			keys := make([]string, 0, len(added))
			for c := range added {
				keys = append(keys, c)
			}
			slices.Sort(keys)
			for _, c := range keys {
				if asJSON {
					if err := writeJSON(out, struct {
						Country string `json:"country"`
						Added   int    `json:"added"`
					}{c, len(added[c])}); err != nil {
						return err
					}
					continue
				}
				fmt.Fprintf(out, "%s: added %d document signers\n", c, len(added[c]))
			}
			if len(keys) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "crlverify: the list holds no document signer of the countries asked for")
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&countries, "country", nil, "take only this country's entries (repeatable)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per country")
	return cmd
}

// shcTrustLine is the JSON form of a SMART Health Cards issuer in trust
// list.
type shcTrustLine struct {
	Format    string `json:"format"`
	Issuer    string `json:"issuer"`
	Name      string `json:"name,omitempty"`
	MaxAge    string `json:"max_age,omitempty"`
	CRLIssuer string `json:"crl_issuer,omitempty"`
	// CRLPublisherKeys are the publisher keys whose lists answer for it.
	CRLPublisherKeys []string         `json:"crl_publisher_keys,omitempty"`
	Source           string           `json:"source,omitempty"`
	SHA256           string           `json:"sha256"`
	Keys             []shcKeyLine     `json:"keys"`
	Skipped          []shcSkippedLine `json:"skipped,omitempty"`
}

type shcKeyLine struct {
	KID        string        `json:"kid"`
	Algorithm  string        `json:"alg"`
	CRLVersion int64         `json:"crl_version,omitempty"`
	Thumbprint string        `json:"thumbprint"`
	X5C        []certSummary `json:"x5c,omitempty"`
}

type shcSkippedLine struct {
	Index  int    `json:"index"`
	KID    string `json:"kid,omitempty"`
	Reason string `json:"reason"`
}

type shcRootLine struct {
	Fingerprint string `json:"sha256"`
	certSummary
	Source string `json:"source,omitempty"`
}

// certSummary is what trust list shows of a certificate.
type certSummary struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
}

func summary(c *x509.Certificate) certSummary {
	return certSummary{Subject: c.Subject.String(), Issuer: c.Issuer.String(), NotBefore: c.NotBefore.UTC(), NotAfter: c.NotAfter.UTC()}
}

// dccTrustLine is the JSON form of an EU DCC issuer in trust list.
type dccTrustLine struct {
	Format    string `json:"format"`
	Country   string `json:"country"`
	Name      string `json:"name,omitempty"`
	MaxAge    string `json:"max_age,omitempty"`
	CRLIssuer string `json:"crl_issuer,omitempty"`
	// CRLPublisherKeys are the publisher keys whose lists answer for it.
	CRLPublisherKeys []string      `json:"crl_publisher_keys,omitempty"`
	Signers          []dscListLine `json:"signers"`
}

type dscListLine struct {
	KID       string   `json:"kid"`
	Algorithm string   `json:"alg"`
	KeyUsage  []string `json:"key_usage"`
	Serial    string   `json:"serial"`
	certSummary
	Source string `json:"source,omitempty"`
}

func maxAgeString(d trust.Duration) string {
	if d > 0 {
		return d.String()
	}
	return ""
}

func toSHCTrustLine(e trust.SHCIssuer) shcTrustLine {
	l := shcTrustLine{Format: formatSHC, Issuer: e.Issuer, Name: e.Name, MaxAge: maxAgeString(e.MaxAge), CRLIssuer: e.CRLIssuer, CRLPublisherKeys: e.CRLPublisherKeys,
		Source: e.Source, SHA256: e.SHA256, Keys: []shcKeyLine{}}
	set := e.KeySet()
	for _, k := range set.Keys {
		kl := shcKeyLine{KID: k.ID, Algorithm: shc.AlgES256, CRLVersion: k.CRLVersion, Thumbprint: k.Thumbprint}
		for _, chain := range k.Chains {
			kl.X5C = append(kl.X5C, summary(chain[0]))
		}
		l.Keys = append(l.Keys, kl)
	}
	for _, sk := range set.Skipped {
		l.Skipped = append(l.Skipped, shcSkippedLine{Index: sk.Index, KID: sk.ID, Reason: sk.Reason})
	}
	return l
}

func writeSHCTrustEntry(w io.Writer, e trust.SHCIssuer) error {
	var b strings.Builder
	b.WriteString(clean(e.Issuer) + "  (SMART Health Cards)")
	if e.Name != "" {
		b.WriteString("  " + clean(e.Name))
	}
	b.WriteString("\n  policy: ")
	if e.MaxAge > 0 {
		b.WriteString("expires " + e.MaxAge.String() + " after issuance (or at its exp)")
	} else {
		b.WriteString("expires at its exp, if it has one")
	}
	if e.CRLIssuer != "" {
		b.WriteString("; revocations under " + clean(e.CRLIssuer))
	} else {
		b.WriteString("; revocations under the issuer URL")
	}
	if len(e.CRLPublisherKeys) > 0 {
		b.WriteString("; " + publisherKeysNote(e.CRLPublisherKeys))
	}
	b.WriteString("\n")
	for _, k := range e.KeySet().Keys {
		fmt.Fprintf(&b, "  key %s%s\n", clean(k.ID), shcKeyNotes(k))
	}
	for _, sk := range e.KeySet().Skipped {
		fmt.Fprintf(&b, "  skipped entry %d (kid %q): %s\n", sk.Index+1, sk.ID, clean(sk.Reason))
	}
	if e.Source != "" {
		fmt.Fprintf(&b, "  key set from %s, sha256 %s\n", clean(e.Source), e.SHA256[:16])
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func toDCCTrustLine(e trust.DCCIssuer) dccTrustLine {
	l := dccTrustLine{Format: formatDCC, Country: e.Country, Name: e.Name, MaxAge: maxAgeString(e.MaxAge), CRLIssuer: e.CRLIssuer, CRLPublisherKeys: e.CRLPublisherKeys, Signers: []dscListLine{}}
	for _, d := range e.Signers {
		c := d.X509()
		var usage []string
		for _, t := range d.Types() {
			usage = append(usage, t.String())
		}
		l.Signers = append(l.Signers, dscListLine{KID: d.KID, Algorithm: keyAlgorithm(c.PublicKey), KeyUsage: usage,
			Serial: c.SerialNumber.String(), certSummary: summary(c), Source: d.Source})
	}
	return l
}

func writeDCCTrustEntry(w io.Writer, e trust.DCCIssuer, at time.Time) error {
	var b strings.Builder
	b.WriteString(e.Country + "  (EU DCC)")
	if e.Name != "" {
		b.WriteString("  " + clean(e.Name))
	}
	b.WriteString("\n  policy: ")
	if e.MaxAge > 0 {
		b.WriteString("expires " + e.MaxAge.String() + " after issuance (or at its exp)")
	} else {
		b.WriteString("expires at its exp")
	}
	if e.CRLIssuer != "" {
		b.WriteString("; revocations under " + clean(e.CRLIssuer))
	} else {
		b.WriteString("; revocations under " + e.Country)
	}
	if len(e.CRLPublisherKeys) > 0 {
		b.WriteString("; " + publisherKeysNote(e.CRLPublisherKeys))
	}
	b.WriteString("\n")
	if len(e.Signers) == 0 {
		b.WriteString("  no signers: its certificates fail as from an unknown issuer\n")
	}
	for _, d := range e.Signers {
		note := ""
		if c := d.X509(); at.After(c.NotAfter) {
			note = "  [EXPIRED]"
		}
		fmt.Fprintf(&b, "  signer %s%s\n", dscLine(d), note)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeSHCRoots(w io.Writer, roots []trust.SHCRoot, asJSON bool) error {
	for _, r := range roots {
		if asJSON {
			line := struct {
				Format string `json:"format"`
				shcRootLine
			}{formatSHC + "_x5c_root", shcRootLine{Fingerprint: r.Fingerprint(), certSummary: summary(r.X509()), Source: r.Source}}
			if err := writeJSON(w, line); err != nil {
				return err
			}
			continue
		}
		if _, err := fmt.Fprintf(w, "x5c root %s  %s  %s\n", r.Fingerprint()[:16], clean(r.X509().Subject.String()), certWindow(r.X509())); err != nil {
			return err
		}
	}
	return nil
}

// removeOther removes a SMART Health Cards issuer or an EU DCC issuer (or
// one of its signers): what remove does for names that are no DIVOC
// verification method. found is false when name is neither.
func removeOther(s *trust.Store, name, keyID string) (what string, found bool, err error) {
	if _, ok := s.SHCIssuer(name); ok {
		if keyID != "" {
			return "", true, errors.New("a SMART Health Cards issuer's key set is replaced whole: add its current jwks.json with crlverify trust add")
		}
		return name + " (SMART Health Cards)", true, s.RemoveSHCIssuer(name)
	}
	if _, ok := s.DCCIssuer(name); ok {
		if keyID != "" {
			return name + " signer " + keyID, true, s.RemoveDCCSigner(name, keyID)
		}
		return name + " (EU DCC)", true, s.RemoveDCCIssuer(name)
	}
	return "", false, nil
}
