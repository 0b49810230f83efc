package trust

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"

	"github.com/crlverify/crlverify/verify/dcc"
)

// MaxDCCSigners bounds the document signer certificates one store holds,
// over every country.
const MaxDCCSigners = 20_000

// DCCIssuer is an issuing country of EU Digital COVID Certificates: the
// document signer certificates (DSC) trusted to sign its certificates.
type DCCIssuer struct {
	// Country is the ISO 3166-1 alpha-2 code, the entry's name in the
	// store.
	Country string `json:"-"`
	// Name is for display.
	Name string `json:"name,omitempty"`
	IssuerPolicy
	Signers []DSC `json:"signers"`
}

// DSC is one document signer certificate.
type DSC struct {
	// KID is the key identifier certificates name (the first 8 bytes of
	// the SHA-256 of the certificate's DER, see [dcc.KeyID]), in base64.
	KID string `json:"kid"`
	// Certificate is the certificate as PEM.
	Certificate string `json:"certificate"`
	// Source names where it was added from (a file, a DSC list), for
	// display.
	Source string `json:"source,omitempty"`

	cert *x509.Certificate
}

// X509 returns the parsed certificate.
func (d *DSC) X509() *x509.Certificate { return d.cert }

// Types returns the kinds of certificate the DSC may sign (its extended
// key usage, see [dcc.AllowedTypes]).
func (d *DSC) Types() []dcc.Type { return dcc.AllowedTypes(d.cert) }

// AddDCCSigners trusts certificates as document signers of country (two
// upper-case letters), creating its entry if needed. A certificate whose
// subject names another country is refused, as is one already trusted for
// another country; adding one the entry already holds changes nothing. It
// returns the signers that were new.
func (s *Store) AddDCCSigners(country string, certs []*x509.Certificate, source string) ([]DSC, error) {
	if err := checkCountry(country); err != nil {
		return nil, err
	}
	return s.addSigners(country, certs, source, true)
}

// addSigners adds certs to the signers of country, checking each
// certificate's subject names the country when subject is set (a DSC list
// names the country itself, and the subject may differ).
func (s *Store) addSigners(country string, certs []*x509.Certificate, source string, subject bool) ([]DSC, error) {
	src := cleanSource(source)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.dcc[country]
	if e == nil {
		e = &DCCIssuer{Country: country}
	}
	ne := *e
	ne.Signers = slices.Clone(e.Signers)
	var added []DSC
	total := s.dccCount()
	for _, c := range certs {
		if subject {
			if err := checkSignerCountry(country, c); err != nil {
				return nil, err
			}
		}
		if other := s.dccCountryOf(c); other != "" && other != country {
			return nil, fmt.Errorf("%w: the document signer %s is already trusted for %s", ErrMalformed, dcc.KIDString(dcc.KeyID(c)), other)
		}
		if slices.ContainsFunc(ne.Signers, func(d DSC) bool { return bytes.Equal(d.cert.Raw, c.Raw) }) {
			continue
		}
		if total >= MaxDCCSigners {
			return nil, fmt.Errorf("%w: the store holds %d document signers, the most it may", ErrTooLarge, MaxDCCSigners)
		}
		total++
		d := DSC{KID: dcc.KIDString(dcc.KeyID(c)), Certificate: pemCertificate(c.Raw), Source: src, cert: c}
		ne.Signers = append(ne.Signers, d)
		added = append(added, d)
	}
	s.dcc[country] = &ne
	s.rebuildDCC()
	return added, nil
}

// ImportDSCList adds the document signers of a DSC list in the common JSON
// form ([dcc.ParseSignerList]: {"kid", "country", "rawData"}), each under
// its country. With countries given, only the entries of those countries
// are taken. The whole list is checked before anything is added. It
// returns the signers that were new, by country.
func (s *Store) ImportDSCList(b []byte, source string, countries ...string) (map[string][]DSC, error) {
	for _, c := range countries {
		if err := checkCountry(c); err != nil {
			return nil, err
		}
	}
	list, err := dcc.ParseSignerList(b, source)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	byCountry := map[string][]*x509.Certificate{}
	for _, sg := range list {
		if len(countries) > 0 && !slices.Contains(countries, sg.Country) {
			continue
		}
		byCountry[sg.Country] = append(byCountry[sg.Country], sg.Certificate)
	}
	// Check every country before adding any.
	s.mu.RLock()
	for country, certs := range byCountry {
		for _, c := range certs {
			if other := s.dccCountryOf(c); other != "" && other != country {
				s.mu.RUnlock()
				return nil, fmt.Errorf("%w: the document signer %s is listed for %s but trusted for %s", ErrMalformed, dcc.KIDString(dcc.KeyID(c)), country, other)
			}
		}
	}
	s.mu.RUnlock()
	out := map[string][]DSC{}
	for country, certs := range byCountry {
		// The list names the country: the certificate's subject may
		// differ (checkSignerCountry is for files that do not).
		added, err := s.addSigners(country, certs, source, false)
		if err != nil {
			return out, err
		}
		out[country] = added
	}
	return out, nil
}

// SetDCCIssuer sets the display name and policy of an issuing country.
func (s *Store) SetDCCIssuer(country, name string, p IssuerPolicy) error {
	if err := p.check(country); err != nil {
		return err
	}
	p.CRLPublisherKeys = slices.Clone(p.CRLPublisherKeys)
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.dcc[country]
	if e == nil {
		return fmt.Errorf("%w: no EU DCC issuer %q", ErrUnknownIssuer, country)
	}
	ne := *e
	ne.Name, ne.IssuerPolicy = name, p
	s.dcc[country] = &ne
	return nil
}

// RemoveDCCIssuer stops trusting every document signer of country.
func (s *Store) RemoveDCCIssuer(country string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.dcc[country]; !ok {
		return fmt.Errorf("%w: no EU DCC issuer %q", ErrUnknownIssuer, country)
	}
	delete(s.dcc, country)
	s.rebuildDCC()
	return nil
}

// RemoveDCCSigner stops trusting the document signers of country whose kid
// (base64) is kid. The entry stays, with its policy, even when it has no
// signer left.
func (s *Store) RemoveDCCSigner(country, kid string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.dcc[country]
	if e == nil {
		return fmt.Errorf("%w: no EU DCC issuer %q", ErrUnknownIssuer, country)
	}
	ne := *e
	ne.Signers = slices.DeleteFunc(slices.Clone(e.Signers), func(d DSC) bool { return d.KID == kid })
	if len(ne.Signers) == len(e.Signers) {
		return fmt.Errorf("%w: %s has no document signer %s", ErrUnknownKey, country, kid)
	}
	s.dcc[country] = &ne
	s.rebuildDCC()
	return nil
}

// DCCIssuer returns one issuing country.
func (s *Store) DCCIssuer(country string) (DCCIssuer, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.dcc[country]
	if !ok {
		return DCCIssuer{}, false
	}
	c := *e
	c.Signers = slices.Clone(e.Signers)
	return c, true
}

// DCCIssuers returns every issuing country, sorted.
func (s *Store) DCCIssuers() []DCCIssuer {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]DCCIssuer, 0, len(s.dcc))
	for _, e := range s.dcc {
		c := *e
		c.Signers = slices.Clone(e.Signers)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b DCCIssuer) int { return strings.Compare(a.Country, b.Country) })
	return out
}

// DCCSigners returns every document signer of every country as a
// [dcc.Signers], each with its country. It is made again when the store
// changes; the one returned is not changed afterwards.
func (s *Store) DCCSigners() *dcc.Signers {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.dccSigners
}

// rebuildDCC makes the signer set again; s.mu is held for writing.
func (s *Store) rebuildDCC() {
	set := dcc.NewSigners()
	for country, e := range s.dcc {
		for _, d := range e.Signers {
			set.Add(d.cert, country, d.Source)
		}
	}
	s.dccSigners = set
}

// dccCount is the number of document signers; s.mu is held.
func (s *Store) dccCount() int {
	n := 0
	for _, e := range s.dcc {
		n += len(e.Signers)
	}
	return n
}

// dccCountryOf returns the country c is trusted for, or ""; s.mu is held.
func (s *Store) dccCountryOf(c *x509.Certificate) string {
	for country, e := range s.dcc {
		if slices.ContainsFunc(e.Signers, func(d DSC) bool { return bytes.Equal(d.cert.Raw, c.Raw) }) {
			return country
		}
	}
	return ""
}

// checkCountry accepts an ISO 3166-1 alpha-2 code: two upper-case letters.
func checkCountry(c string) error {
	if len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z' {
		return fmt.Errorf("%w: country %q (want two upper-case letters, ISO 3166-1 alpha-2)", ErrMalformed, c)
	}
	return nil
}

// IsCountry reports whether s has the form of a country code the store
// keys EU DCC issuers by: two upper-case letters.
func IsCountry(s string) bool { return checkCountry(s) == nil }

// checkSignerCountry refuses a certificate whose subject names a country
// other than the one it is added for.
func checkSignerCountry(country string, c *x509.Certificate) error {
	for _, sc := range c.Subject.Country {
		if sc != country {
			return fmt.Errorf("%w: the document signer %s (%s) names country %s, not %s", ErrMalformed,
				dcc.KIDString(dcc.KeyID(c)), c.Subject.CommonName, sc, country)
		}
	}
	return nil
}

// parseDSC checks a document signer read from a store file.
func parseDSC(country string, i int, d *DSC) error {
	cert, err := parseCertificate([]byte(d.Certificate))
	if err != nil {
		return fmt.Errorf("trust store: %s signer %d: %w", country, i+1, err)
	}
	if kid := dcc.KIDString(dcc.KeyID(cert)); d.KID != kid {
		return fmt.Errorf("%w: trust store: %s signer %d has kid %s but its certificate's is %s", ErrMalformed, country, i+1, d.KID, kid)
	}
	d.cert = cert
	return nil
}
