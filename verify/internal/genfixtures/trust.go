package main

import (
	"github.com/crlverify/crlverify/verify/trust"
)

// trustStore builds testdata/trust.json: DIVOC's development keys under
// the fixtures' verification methods, each bound to the issuer its
// credentials name. did:unknown is left out on purpose.
func trustStore(k *devKeys) ([]byte, error) {
	s := trust.New()
	type entry struct {
		vm, name string
		key      []byte
		status   trust.Status
		policy   trust.Policy
	}
	entries := []entry{
		{vmIndia, "Test issuer: CoWIN (DIVOC development RSA key)", k.rsaPub, trust.StatusActive, trust.Policy{CRLIssuer: issuerCoWIN}},
		{vmEd25519, "Test issuer: DIVOC (development Ed25519 key)", k.edPub, trust.StatusActive, trust.Policy{CRLIssuer: issuerDIVOC}},
		{vmExpiring, "Test issuer: certificates expire (development Ed25519 key)", k.edPub, trust.StatusActive,
			trust.Policy{EnforceEffectiveWindow: true, MaxAge: trust.Duration(expiringAge), CRLIssuer: issuerExpiring}},
		{vmTerminated, "Test issuer: terminated key (development Ed25519 key)", k.edPub, trust.StatusTerminated, trust.Policy{CRLIssuer: issuerTerminated}},
		{vmNoCRL, "Test issuer: no revocation list (development Ed25519 key)", k.edPub, trust.StatusActive, trust.Policy{CRLIssuer: issuerNoCRL}},
		{vmLenient, "Test issuer: accepts certificates whose holder is not signed (development Ed25519 key)", k.edPub, trust.StatusActive,
			trust.Policy{AcceptUnsignedHolder: true, CRLIssuer: issuerDIVOC}},
	}
	for _, e := range entries {
		if _, _, err := s.Add(e.vm, e.key, &trust.KeyOptions{Status: e.status}); err != nil {
			return nil, err
		}
		if err := s.SetName(e.vm, e.name); err != nil {
			return nil, err
		}
		if err := s.SetPolicy(e.vm, e.policy); err != nil {
			return nil, err
		}
	}
	return s.Marshal()
}
