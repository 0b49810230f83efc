// Package gen mints EU Digital COVID Certificates for tests, examples and
// the committed fixtures: deterministic P-256 keys from a seed, self-signed
// document signer certificates (DSC) with chosen validity and extended key
// usage, and HC1 payloads signed ES256 or PS256, with options that break
// them on purpose (the kid in either header or none, another algorithm,
// other COSE tags, a wrong signature).
//
// ES256 signatures and EC certificates are deterministic (RFC 6979), so
// the same inputs give the same bytes; PS256 signatures are randomised.
package gen

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"time"

	"github.com/fxamacker/cbor/v2"

	"github.com/crlverify/crlverify/verify/dcc"
)

// ECKey returns the P-256 key derived from seed: the scalar is SHA-256 of
// the seed (reduced into range), so the same seed gives the same key.
func ECKey(seed string) *ecdsa.PrivateKey {
	n := elliptic.P256().Params().N
	sum := sha256.Sum256([]byte("crlverify dcc test key: " + seed))
	d := new(big.Int).SetBytes(sum[:])
	d.Mod(d, new(big.Int).Sub(n, big.NewInt(1)))
	d.Add(d, big.NewInt(1))
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), d.FillBytes(make([]byte, 32)))
	if err != nil {
		panic(err)
	}
	return key
}

// RSAKey returns a new random RSA key of bits bits.
func RSAKey(bits int) *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		panic(err)
	}
	return key
}

// deterministic signs with RFC 6979 nonces (ECDSA keys ignore randomness
// when given none).
type deterministic struct{ crypto.Signer }

func (d deterministic) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if _, ok := d.Signer.(*ecdsa.PrivateKey); ok {
		return d.Signer.Sign(nil, digest, opts)
	}
	return d.Signer.Sign(rand.Reader, digest, opts)
}

// DSCOptions describes a document signer certificate.
type DSCOptions struct {
	CommonName string
	Country    string // subject C; empty: none
	NotBefore  time.Time
	NotAfter   time.Time
	// Types limits the certificate to these kinds by extended key usage;
	// empty: no extended key usage at all.
	Types []dcc.Type
	// AltOIDs uses the 1.3.6.1.4.1.0.1847.2021.1.x arc instead.
	AltOIDs bool
	// ExtraEKU adds unrelated extended key usages (client authentication).
	ExtraEKU bool
	Serial   int64
}

// DSC returns a self-signed document signer certificate for key.
func DSC(key crypto.Signer, o DSCOptions) *x509.Certificate {
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(max(o.Serial, 1)),
		Subject:      pkix.Name{CommonName: o.CommonName},
		NotBefore:    o.NotBefore,
		NotAfter:     o.NotAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	if o.Country != "" {
		tmpl.Subject.Country = []string{o.Country}
	}
	for _, t := range o.Types {
		tmpl.UnknownExtKeyUsage = append(tmpl.UnknownExtKeyUsage, usageOID(t, o.AltOIDs))
	}
	if o.ExtraEKU {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), deterministic{key})
	if err != nil {
		panic(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	return cert
}

func usageOID(t dcc.Type, alt bool) asn1.ObjectIdentifier {
	m := map[dcc.Type][2]asn1.ObjectIdentifier{
		dcc.TypeTest:        {dcc.OIDTest, dcc.OIDTestAlt},
		dcc.TypeVaccination: {dcc.OIDVaccination, dcc.OIDVaccinationAlt},
		dcc.TypeRecovery:    {dcc.OIDRecovery, dcc.OIDRecoveryAlt},
	}[t]
	if alt {
		return m[1]
	}
	return m[0]
}

// CertPEM returns cert as a PEM block.
func CertPEM(cert *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw})
}

// DSCListEntry is one entry of a DSC list in the common JSON form.
type DSCListEntry struct {
	KID             string `json:"kid"`
	Country         string `json:"country"`
	CertificateType string `json:"certificateType"`
	RawData         string `json:"rawData"`
}

// DSCList returns a DSC list holding certs, all of country.
func DSCList(country string, certs ...*x509.Certificate) []byte {
	var list []DSCListEntry
	for _, c := range certs {
		list = append(list, DSCListEntry{
			KID:             base64.StdEncoding.EncodeToString(dcc.KeyID(c)),
			Country:         country,
			CertificateType: "DSC",
			RawData:         base64.StdEncoding.EncodeToString(c.Raw),
		})
	}
	b, err := json.MarshalIndent(list, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// Claims are the CWT claims of a certificate. Zero times and an empty
// issuer are left out.
type Claims struct {
	Issuer   string
	IssuedAt time.Time
	Expires  time.Time
	// DCC is the certificate data (claim -260, key 1), usually a
	// map[string]any.
	DCC any
	// Extra claims, added as they are.
	Extra map[any]any
}

// encMode is canonical CBOR (RFC 8949 core deterministic encoding).
var encMode = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// Marshal encodes v as canonical CBOR.
func Marshal(v any) []byte {
	b, err := encMode.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// EncodeClaims returns the CWT claims map as CBOR.
func EncodeClaims(c Claims) []byte {
	m := map[any]any{-260: map[any]any{1: c.DCC}}
	if c.Issuer != "" {
		m[1] = c.Issuer
	}
	if !c.IssuedAt.IsZero() {
		m[6] = c.IssuedAt.Unix()
	}
	if !c.Expires.IsZero() {
		m[4] = c.Expires.Unix()
	}
	for k, v := range c.Extra {
		m[k] = v
	}
	return Marshal(m)
}

// Where a header parameter goes.
type Where int

const (
	Protected Where = iota
	Unprotected
	Both
	Nowhere
)

// SignOptions changes how a message is signed; the zero value is the
// usual form: alg and kid in the protected header, tagged 18.
type SignOptions struct {
	KIDIn Where
	// KID replaces the certificate's kid (in the protected header when
	// KIDIn is Both; the unprotected one then holds the right kid).
	KID []byte
	// Alg replaces the algorithm of the key in the header (the signature
	// is still made with the key's own algorithm).
	Alg   int64
	AlgIn Where
	// Form is the tagging: dcc.FormTagged (default), dcc.FormUntagged or
	// dcc.FormCWT.
	Form dcc.Form
	// CorruptSignature flips a bit of the signature.
	CorruptSignature bool
	// Signature, when set, replaces the signature it is given.
	Signature func(sig []byte) []byte
}

// Sign returns a COSE_Sign1 message over payload signed with key, whose
// document signer certificate is cert (for the kid).
func Sign(payload []byte, key crypto.Signer, cert *x509.Certificate, o *SignOptions) []byte {
	if o == nil {
		o = &SignOptions{}
	}
	alg := int64(dcc.ES256)
	if _, ok := key.(*rsa.PrivateKey); ok {
		alg = int64(dcc.PS256)
	}
	headerAlg := alg
	if o.Alg != 0 {
		headerAlg = o.Alg
	}
	kid := dcc.KeyID(cert)
	protected, unprotected := map[any]any{}, map[any]any{}
	switch o.AlgIn {
	case Protected:
		protected[1] = headerAlg
	case Unprotected:
		unprotected[1] = headerAlg
	case Both:
		protected[1], unprotected[1] = headerAlg, headerAlg
	}
	switch o.KIDIn {
	case Protected:
		protected[4] = pick(o.KID, kid)
	case Unprotected:
		unprotected[4] = pick(o.KID, kid)
	case Both:
		protected[4], unprotected[4] = pick(o.KID, kid), kid
	}
	var protBytes []byte
	if len(protected) > 0 {
		protBytes = Marshal(protected)
	}
	protEncoded := Marshal(protBytes)
	if protBytes == nil {
		protEncoded = Marshal([]byte{})
	}
	tbs := Marshal([]any{"Signature1", cbor.RawMessage(protEncoded), []byte{}, payload})
	digest := sha256.Sum256(tbs)
	var sig []byte
	switch k := key.(type) {
	case *ecdsa.PrivateKey:
		der, err := k.Sign(nil, digest[:], crypto.SHA256)
		if err != nil {
			panic(err)
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			panic(err)
		}
		sig = append(rs.R.FillBytes(make([]byte, 32)), rs.S.FillBytes(make([]byte, 32))...)
	case *rsa.PrivateKey:
		var err error
		sig, err = rsa.SignPSS(rand.Reader, k, crypto.SHA256, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
		if err != nil {
			panic(err)
		}
	default:
		panic(fmt.Sprintf("gen: unsupported key %T", key))
	}
	if o.CorruptSignature {
		sig[len(sig)/2] ^= 0x01
	}
	if o.Signature != nil {
		sig = o.Signature(sig)
	}
	msg := Marshal([]any{cbor.RawMessage(protEncoded), unprotected, payload, sig})
	switch o.Form {
	case dcc.FormUntagged:
		return msg
	case dcc.FormCWT:
		return append([]byte{0xd8, 61, 0xd2}, msg...)
	}
	return append([]byte{0xd2}, msg...)
}

func pick(override, def []byte) []byte {
	if override != nil {
		return override
	}
	return def
}

// Compress returns b as a zlib stream (deterministic).
func Compress(b []byte) []byte {
	var buf bytes.Buffer
	zw, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		panic(err)
	}
	zw.Write(b)
	zw.Close()
	return buf.Bytes()
}

// HC1 returns the payload of a COSE message: "HC1:" and the base45 of its
// zlib compression.
func HC1(cose []byte) string {
	return dcc.Prefix + string(dcc.EncodeBase45(Compress(cose)))
}

// Issue returns the HC1 payload of claims signed by key (with certificate
// cert).
func Issue(c Claims, key crypto.Signer, cert *x509.Certificate, o *SignOptions) string {
	return HC1(Sign(EncodeClaims(c), key, cert, o))
}

// Vaccination returns the data of a vaccination certificate (schema 1.3.0)
// for a person, dose dn of sd.
func Vaccination(family, given, dob, uvci string, dn, sd int, date, country string) map[string]any {
	return map[string]any{
		"ver": "1.3.0",
		"nam": name(family, given),
		"dob": dob,
		"v": []any{map[string]any{
			"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
			"dn": dn, "sd": sd, "dt": date, "co": country,
			"is": "Example Health Authority", "ci": uvci,
		}},
	}
}

// Test returns the data of a negative NAA test certificate.
func Test(family, given, dob, uvci, sampleTime, country string) map[string]any {
	return map[string]any{
		"ver": "1.3.0",
		"nam": name(family, given),
		"dob": dob,
		"t": []any{map[string]any{
			"tg": "840539006", "tt": "LP6464-4", "nm": "Example PCR", "sc": sampleTime,
			"tr": "260415000", "tc": "Example Test Centre", "co": country,
			"is": "Example Health Authority", "ci": uvci,
		}},
	}
}

// Recovery returns the data of a recovery certificate.
func Recovery(family, given, dob, uvci, firstPositive, from, until, country string) map[string]any {
	return map[string]any{
		"ver": "1.3.0",
		"nam": name(family, given),
		"dob": dob,
		"r": []any{map[string]any{
			"tg": "840539006", "fr": firstPositive, "df": from, "du": until, "co": country,
			"is": "Example Health Authority", "ci": uvci,
		}},
	}
}

func name(family, given string) map[string]any {
	return map[string]any{"fn": family, "fnt": icao(family), "gn": given, "gnt": icao(given)}
}

// icao is a rough ICAO 9303 transliteration for the examples' ASCII names.
func icao(s string) string {
	var b bytes.Buffer
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r)
		case r == ' ' || r == '-':
			b.WriteByte('<')
		}
	}
	return b.String()
}
