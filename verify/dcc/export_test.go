package dcc

import "crypto/x509"

// AddUnderKID adds cert to s under kid, whatever its own kid: two
// certificates sharing a truncated hash cannot be made on purpose.
func AddUnderKID(s *Signers, kid []byte, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sg := newSigner(cert, "", "collision")
	s.byKID[string(kid)] = append(s.byKID[string(kid)], sg)
	s.n++
}
