package trust

import (
	"slices"
)

// RevocationIssuer returns the issuer the entry is bound to, under which
// its cards' revocations are looked up: its CRLIssuer when set, else its
// issuer URL (the cards' iss).
func (e *SHCIssuer) RevocationIssuer() string {
	if e.CRLIssuer != "" {
		return e.CRLIssuer
	}
	return e.Issuer
}

// RevocationIssuer returns the issuer the entry is bound to, under which
// its certificates' revocations are looked up: its CRLIssuer when set,
// else its country.
func (e *DCCIssuer) RevocationIssuer() string {
	if e.CRLIssuer != "" {
		return e.CRLIssuer
	}
	return e.Country
}

// PublisherKeys says which publisher keys may answer for an issuer's
// certificates: the keys whose signed lists a verdict listens to (see
// Policy.CRLPublisherKeys). The zero PublisherKeys allows every key.
type PublisherKeys struct {
	// Restricted is set when an entry names crl_publisher_keys: only a
	// list signed by one of Keys then answers. Unset, any list the CRL
	// store binds to the issuer answers.
	Restricted bool
	// Keys are the thumbprints allowed (RFC 7638 SHA-256, base64url);
	// empty while Restricted, no list answers.
	Keys []string
	// Entries name the entries whose crl_publisher_keys made Keys (a
	// verification method, an issuer URL, a country), sorted; empty for
	// the policy of one entry (see [EntryPublisherKeys]).
	Entries []string
}

// Allows reports whether a list signed by the key of RFC 7638 thumbprint
// thumbprint may answer. An empty thumbprint (a list stored before its
// signing key was recorded) is allowed only when p is not restricted.
func (p *PublisherKeys) Allows(thumbprint string) bool {
	return !p.Restricted || thumbprint != "" && slices.Contains(p.Keys, thumbprint)
}

// EntryPublisherKeys is the policy of one entry whose crl_publisher_keys
// are keys: restricted to them when it names any.
func EntryPublisherKeys(keys []string) PublisherKeys {
	return PublisherKeys{Restricted: len(keys) > 0, Keys: slices.Clone(keys)}
}

// CRLPublisherKeys returns which publisher keys may answer for issuer, an
// issuer name of the signed lists, over every entry bound to it: DIVOC
// entries whose crl_issuer it is ([Entry.RevocationIssuer]), SMART Health
// Cards issuers and EU DCC countries whose revocation issuer it is
// ([SHCIssuer.RevocationIssuer], [DCCIssuer.RevocationIssuer]). It is for
// a lookup by certificate id, which cannot tell which entry issued the
// certificate; a verdict on a certificate follows its own entry.
//
// Entries that disagree are read safely: a key is allowed only if every
// entry bound to the issuer allows it. An entry naming no keys allows
// every key, so it does not lift another entry's restriction; entries
// naming different keys allow only the keys all of them name (none, if
// they share none). An answer that stands then stands for a certificate
// of any of the entries.
func (s *Store) CRLPublisherKeys(issuer string) PublisherKeys {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var p PublisherKeys
	narrow := func(name string, keys []string) {
		if len(keys) == 0 {
			return
		}
		if !p.Restricted {
			p.Restricted, p.Keys = true, slices.Clone(keys)
		} else {
			p.Keys = slices.DeleteFunc(p.Keys, func(k string) bool { return !slices.Contains(keys, k) })
		}
		p.Entries = append(p.Entries, name)
	}
	for vm, e := range s.entries {
		if is, ok := e.RevocationIssuer(); ok && is == issuer {
			narrow(vm, e.CRLPublisherKeys)
		}
	}
	for iss, e := range s.shc {
		if e.RevocationIssuer() == issuer {
			narrow(iss, e.CRLPublisherKeys)
		}
	}
	for country, e := range s.dcc {
		if e.RevocationIssuer() == issuer {
			narrow(country, e.CRLPublisherKeys)
		}
	}
	slices.Sort(p.Keys)
	p.Keys = slices.Compact(p.Keys)
	slices.Sort(p.Entries)
	return p
}
