package dcc

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
)

// Bounds on document signer input.
const (
	// MaxSignerFileSize bounds one certificate file or DSC list (the EU
	// gateway's list of every member state's signers is a few MB).
	MaxSignerFileSize = 32 << 20
	// MaxSigners bounds the certificates in one list or directory.
	MaxSigners = 50_000
	// MaxCertificateSize bounds one DER certificate.
	MaxCertificateSize = 16 << 10
)

// Signer is a trusted document signer certificate (DSC).
type Signer struct {
	Certificate *x509.Certificate
	// KID is [KeyID] of the certificate.
	KID []byte
	// Country is the signer's ISO 3166-1 alpha-2 country: the one a DSC
	// list gives, else the certificate subject's country, else "".
	Country string
	// Source names where it was read from (a file, a list and entry).
	Source string
}

// Signers is a set of trusted document signer certificates indexed by key
// identifier. Several certificates may share a kid (it is a truncated
// hash); each is tried. The zero value is an empty set; a Signers is safe
// for concurrent use.
type Signers struct {
	mu    sync.RWMutex
	byKID map[string][]*Signer
	n     int
}

// NewSigners returns an empty set.
func NewSigners() *Signers { return &Signers{byKID: map[string][]*Signer{}} }

// Len returns the number of certificates in the set.
func (s *Signers) Len() int {
	if s == nil {
		return 0
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.n
}

// Lookup returns the signers whose certificate has key identifier kid.
func (s *Signers) Lookup(kid []byte) []*Signer {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.byKID[string(kid)])
}

// All returns every signer, ordered by kid then source.
func (s *Signers) All() []*Signer {
	if s == nil {
		return nil
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	var all []*Signer
	for _, l := range s.byKID {
		all = append(all, l...)
	}
	sort.Slice(all, func(i, j int) bool {
		if c := bytes.Compare(all[i].KID, all[j].KID); c != 0 {
			return c < 0
		}
		return all[i].Source < all[j].Source
	})
	return all
}

// Add trusts cert as a document signer of country ("" takes the
// certificate subject's country). Adding a certificate already present (same
// DER) again changes nothing and returns the existing signer.
func (s *Signers) Add(cert *x509.Certificate, country, source string) *Signer {
	sg := newSigner(cert, country, source)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.byKID == nil {
		s.byKID = map[string][]*Signer{}
	}
	for _, old := range s.byKID[string(sg.KID)] {
		if bytes.Equal(old.Certificate.Raw, cert.Raw) {
			return old
		}
	}
	s.byKID[string(sg.KID)] = append(s.byKID[string(sg.KID)], sg)
	s.n++
	return sg
}

// AddSigners adds every signer of list.
func (s *Signers) AddSigners(list []*Signer) {
	for _, sg := range list {
		s.Add(sg.Certificate, sg.Country, sg.Source)
	}
}

// LoadSigners reads document signer certificates from files and
// directories (see [ReadSignerFile]; a directory's regular files are read,
// not its subdirectories) into a new set.
func LoadSigners(paths ...string) (*Signers, error) {
	s := NewSigners()
	for _, p := range paths {
		if err := s.AddPath(p); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// AddPath adds the certificates of a file, or of every regular file in a
// directory whose name ends in .pem, .crt, .cer, .der or .json.
func (s *Signers) AddPath(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		list, err := ReadSignerFile(path)
		if err != nil {
			return err
		}
		s.AddSigners(list)
		return nil
	}
	des, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	var all []*Signer
	for _, de := range des {
		switch strings.ToLower(filepath.Ext(de.Name())) {
		case ".pem", ".crt", ".cer", ".der", ".json":
		default:
			continue
		}
		if !de.Type().IsRegular() {
			continue
		}
		list, err := ReadSignerFile(filepath.Join(path, de.Name()))
		if err != nil {
			return err
		}
		if all = append(all, list...); len(all) > MaxSigners {
			return wrap(ErrSignerList, "%s: more than %d certificates", path, MaxSigners)
		}
	}
	s.AddSigners(all)
	return nil
}

// ReadSignerFile reads one file of document signer certificates: PEM (one
// or more CERTIFICATE blocks), a single DER certificate, or a DSC list in
// JSON (see [ParseSignerList]). The form is recognised from the content.
func ReadSignerFile(path string) ([]*Signer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxSignerFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxSignerFileSize {
		return nil, wrap(ErrTooLarge, "%s: more than %d bytes", path, MaxSignerFileSize)
	}
	list, err := ParseSigners(b, filepath.Base(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return list, nil
}

// ParseSigners reads PEM certificates, one DER certificate, or a JSON DSC
// list, whichever b holds; source names it in each [Signer].
func ParseSigners(b []byte, source string) ([]*Signer, error) {
	if len(b) > MaxSignerFileSize {
		return nil, wrap(ErrTooLarge, "more than %d bytes", MaxSignerFileSize)
	}
	trimmed := bytes.TrimLeft(b, " \t\r\n\ufeff")
	trimmed = bytes.TrimPrefix(trimmed, []byte("\ufeff"))
	switch {
	case len(trimmed) > 0 && (trimmed[0] == '[' || trimmed[0] == '{'):
		return ParseSignerList(trimmed, source)
	case bytes.Contains(b, []byte("-----BEGIN")):
		return parsePEMSigners(b, source)
	}
	cert, err := parseCertificate(b)
	if err != nil {
		return nil, err
	}
	return []*Signer{newSigner(cert, "", source)}, nil
}

func parsePEMSigners(b []byte, source string) ([]*Signer, error) {
	var list []*Signer
	for n := 1; ; n++ {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		if len(list) >= MaxSigners {
			return nil, wrap(ErrSignerList, "more than %d certificates", MaxSigners)
		}
		cert, err := parseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d: %w", n, err)
		}
		list = append(list, newSigner(cert, "", source))
	}
	if len(list) == 0 {
		return nil, wrap(ErrSignerList, "no CERTIFICATE block in the PEM data")
	}
	return list, nil
}

func parseCertificate(der []byte) (*x509.Certificate, error) {
	if len(der) > MaxCertificateSize {
		return nil, wrap(ErrSignerList, "certificate of %d bytes, more than %d", len(der), MaxCertificateSize)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, wrap(ErrSignerList, "%v", err)
	}
	return cert, nil
}

func newSigner(cert *x509.Certificate, country, source string) *Signer {
	if country == "" && len(cert.Subject.Country) == 1 {
		country = strings.ToUpper(cert.Subject.Country[0])
	}
	return &Signer{Certificate: cert, KID: KeyID(cert), Country: country, Source: source}
}

// signerEntry is one entry of a DSC list in the common form the EU DCC
// gateway and national backends publish.
type signerEntry struct {
	KID     string `json:"kid"`
	Country string `json:"country"`
	RawData string `json:"rawData"`
}

// ParseSignerList reads a DSC list in the common JSON form: an array of
// entries {"kid": base64, "country": "AT", "rawData": base64 DER}, or an
// object holding that array as "certificates" (other members of an entry,
// such as certificateType, thumbprint or timestamp, are ignored). Every
// entry's kid must be [KeyID] of its certificate, and its country two
// upper-case letters; one bad entry refuses the whole list, as a list that
// lies about one key cannot be trusted about the others. Failures wrap
// [ErrSignerList] or [ErrTooLarge].
func ParseSignerList(b []byte, source string) ([]*Signer, error) {
	if len(b) > MaxSignerFileSize {
		return nil, wrap(ErrTooLarge, "DSC list of more than %d bytes", MaxSignerFileSize)
	}
	b = bytes.TrimPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("\ufeff"))
	var entries []signerEntry
	if len(b) > 0 && b[0] == '{' {
		var wrapper struct {
			Certificates *[]signerEntry `json:"certificates"`
		}
		if err := json.Unmarshal(b, &wrapper); err != nil {
			return nil, wrap(ErrSignerList, "%v", err)
		}
		if wrapper.Certificates == nil {
			return nil, wrap(ErrSignerList, "an object without a \"certificates\" array")
		}
		entries = *wrapper.Certificates
	} else if err := json.Unmarshal(b, &entries); err != nil {
		return nil, wrap(ErrSignerList, "%v", err)
	}
	if len(entries) > MaxSigners {
		return nil, wrap(ErrSignerList, "%d entries, more than %d", len(entries), MaxSigners)
	}
	list := make([]*Signer, 0, len(entries))
	for i, e := range entries {
		where := fmt.Sprintf("entry %d (kid %q)", i, e.KID)
		if !isCountryCode(e.Country) {
			return nil, wrap(ErrSignerList, "%s: country %q is not an ISO 3166-1 alpha-2 code", where, e.Country)
		}
		if len(e.RawData) > MaxCertificateSize*4/3+4 {
			return nil, wrap(ErrSignerList, "%s: certificate of more than %d bytes", where, MaxCertificateSize)
		}
		der, err := base64.StdEncoding.DecodeString(e.RawData)
		if err != nil {
			return nil, wrap(ErrSignerList, "%s: rawData: %v", where, err)
		}
		cert, err := parseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		kid, err := base64.StdEncoding.DecodeString(e.KID)
		if err != nil {
			return nil, wrap(ErrSignerList, "%s: kid: %v", where, err)
		}
		if !bytes.Equal(kid, KeyID(cert)) {
			return nil, wrap(ErrSignerList, "%s: kid is not the certificate's (%s)", where, KIDString(KeyID(cert)))
		}
		list = append(list, &Signer{Certificate: cert, KID: kid, Country: e.Country,
			Source: fmt.Sprintf("%s#%d", source, i)})
	}
	return list, nil
}

// KIDString returns kid in base64, the form DSC lists and apps show.
func KIDString(kid []byte) string { return base64.StdEncoding.EncodeToString(kid) }

func isCountryCode(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}
