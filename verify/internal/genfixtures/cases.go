package main

import (
	"time"

	"github.com/crlverify/crlverify/crl"
)

// The fixed instants every fixture is made for. The DIVOC vectors date from
// 2021; the fixtures are minted for 2026 so that one check time holds every
// case at once.
var (
	// checkTime is the time of the check every expected verdict holds at.
	checkTime = date("2026-06-01T00:00:00Z")
	// thisUpdate and nextUpdate bound the test revocation list: issued a
	// day before the check, due for replacement 30 days after it. A check
	// after nextUpdate (plus the store's grace) finds the list stale.
	thisUpdate = date("2026-05-31T00:00:00Z")
	nextUpdate = date("2026-07-01T00:00:00Z")
	// zipTime is the modification time written into every payload ZIP.
	zipTime = date("2026-01-01T00:00:00Z")
)

// The test revocation list's publisher and serial.
const (
	publisherName = "Test Health Authority"
	crlSerial     = 1
)

// Issuers (the credentials' "issuer") and the verification methods naming
// the keys in the trust store.
const (
	issuerCoWIN      = "https://cowin.gov.in/"
	issuerDIVOC      = "https://divoc.dev/"
	issuerExpiring   = "https://expiring.example/"
	issuerTerminated = "https://terminated.example/"
	issuerNoCRL      = "https://nocrl.example/"
	issuerUnknown    = "https://unknown.example/"

	vmIndia      = "did:india"          // DIVOC's development RSA key, active
	vmEd25519    = "did:divoc:ed25519"  // DIVOC's development Ed25519 key, active
	vmExpiring   = "did:expiring"       // development Ed25519 key; policy enforces expiry
	vmTerminated = "did:terminated"     // development Ed25519 key, marked terminated
	vmNoCRL      = "did:nocrl"          // development Ed25519 key; no list covers its issuer
	vmLenient    = "did:lenient"        // development Ed25519 key; policy accepts an unsigned holder
	vmUnknown    = "did:unknown"        // not in the trust store
	expiringAge  = 365 * 24 * time.Hour // max_age of did:expiring
)

// crlIssuers are the issuers the test list is authoritative for: every
// trusted issuer except issuerNoCRL.
var crlIssuers = []string{issuerCoWIN, issuerDIVOC, issuerExpiring, issuerTerminated}

// keyKind says which development key signs a credential.
type keyKind int

const (
	rsaKey     keyKind = iota // RsaSignature2018, randomised signature
	ed25519Key                // Ed25519Signature2018, deterministic
)

// person is the credential subject. dob is written only when set (the
// vaccination v1 context does not define it).
type person struct {
	name, gender, age, refID, aadhaar string
	dob                               string
}

// holderID is how a case writes credentialSubject.id.
type holderID int

const (
	holderDID      holderID = iota // did:in.gov.uidai.aadhaar:<aadhaar>, as CoWIN writes it
	holderRelative                 // the bare <aadhaar>: a relative IRI, as Sri Lanka writes it
	holderEmpty                    // "", as Jamaica writes it
)

// termEdit adds key: value to the object at path (top-level keys, the
// first element of an array) of a signed credential.
type termEdit struct {
	path       []string
	key, value string
}

// certCase is one minted credential.
type certCase struct {
	name   string // file stem under divoc/certs and divoc/qr
	what   string // one line for the README and expected.json
	vm     string
	key    keyKind
	issuer string
	certID string
	who    person
	// vaccinated is evidence[0].date; issued is issuanceDate and
	// proof.created.
	vaccinated, issued time.Time
	// effectiveUntil is evidence[0].effectiveUntil; empty means the
	// vaccination day, as CoWIN writes it (effectiveStart is always the
	// vaccination day).
	effectiveUntil string
	// context replaces the template's vaccination context URL.
	context string
	// holder is how credentialSubject.id is written.
	holder holderID
	// tamperedFrom names the case whose signed file this one alters (a
	// character of credentialSubject.name, or with addTerm a key added)
	// instead of minting.
	tamperedFrom string
	tamperTo     string
	addTerm      *termEdit
	// unsigned are the Result.UnsignedFields a verifier reports.
	unsigned []string

	want verdict
	// photo adds a cluttered camera photo of the QR code besides the
	// clean PNG.
	photo bool
}

// verdict is what a verifier holding testdata/trust.json and the list in
// testdata/crl says at checkTime.
type verdict struct {
	Status string `json:"status"`
	// RevocationKnown: the verdict rests on a known revocation status (a
	// fresh list covering the issuer answered, or the certificate is
	// revoked or suspended).
	RevocationKnown bool `json:"revocation_known"`
	// Revocation is the list's answer: revoked, suspended, not_revoked,
	// unknown (no list covers the issuer), or not_checked (the verdict was
	// reached before the list was asked).
	Revocation string `json:"revocation"`
	// ExitCode is `crlverify scan`'s exit code for this input alone.
	ExitCode int `json:"exit_code"`
}

// revocation is one row of the test list, the demo CSV or the demo JSON lines.
type revocation struct {
	id, issuer     string
	reason         crl.Reason
	revokedAt      time.Time
	suspendedUntil time.Time // zero: permanent
}

func (r revocation) entry() crl.Entry {
	e := crl.Entry{Key: crl.KeyOf(r.issuer, r.id), RevokedAt: r.revokedAt.Unix(), Reason: r.reason}
	if !r.suspendedUntil.IsZero() {
		e.SuspendedUntil = r.suspendedUntil.Unix()
	}
	return e
}

var (
	valid          = verdict{Status: "VALID", RevocationKnown: true, Revocation: "not_revoked", ExitCode: 0}
	validUnknown   = verdict{Status: "VALID", RevocationKnown: false, Revocation: "unknown", ExitCode: 3}
	revoked        = verdict{Status: "REVOKED", RevocationKnown: true, Revocation: "revoked", ExitCode: 1}
	suspended      = verdict{Status: "SUSPENDED", RevocationKnown: true, Revocation: "suspended", ExitCode: 1}
	expired        = verdict{Status: "EXPIRED", RevocationKnown: true, Revocation: "not_revoked", ExitCode: 1}
	notYetValid    = verdict{Status: "NOT_YET_VALID", RevocationKnown: true, Revocation: "not_revoked", ExitCode: 1}
	badSignature   = verdict{Status: "BAD_SIGNATURE", RevocationKnown: false, Revocation: "not_checked", ExitCode: 1}
	unknownIssuer  = verdict{Status: "UNKNOWN_ISSUER", RevocationKnown: false, Revocation: "not_checked", ExitCode: 1}
	malformedInput = verdict{Status: "MALFORMED", RevocationKnown: false, Revocation: "not_checked", ExitCode: 1}
	unsignedHolder = verdict{Status: "UNSIGNED_HOLDER", RevocationKnown: false, Revocation: "not_checked", ExitCode: 1}
)

// contextIndonesia is the vaccination context URL Indonesia's credentials
// name; its document is the DIVOC v2 context.
const contextIndonesia = "https://www.pedulilindungi.id/credentials/vaccination/v2"

// cases are the minted credentials, in the order they are written.
var cases = []certCase{
	{
		name: "valid", what: "genuine CoWIN-style credential, not revoked (RsaSignature2018, did:india)",
		vm: vmIndia, key: rsaKey, issuer: issuerCoWIN, certID: "8000000000011",
		who:        person{"Asha Verma", "Female", "34", "40210", "4821907365", ""},
		vaccinated: date("2026-02-14T09:12:40.000Z"), issued: date("2026-02-14T10:30:05.000Z"),
		want: valid, photo: true,
	},
	{
		name: "valid-ed25519", what: "genuine credential signed with DIVOC's Ed25519 development key (did:divoc:ed25519)",
		vm: vmEd25519, key: ed25519Key, issuer: issuerDIVOC, certID: "8000000000028",
		who:        person{"Kavya Nair", "Female", "29", "40211", "7390142265", ""},
		vaccinated: date("2026-03-03T11:05:00.000Z"), issued: date("2026-03-03T11:20:42.000Z"),
		want: valid,
	},
	{
		name: "revoked", what: "certificate id revoked for a data error",
		vm: vmIndia, key: rsaKey, issuer: issuerCoWIN, certID: "8000000000035",
		who:        person{"Imran Qureshi", "Male", "41", "40212", "5501836274", ""},
		vaccinated: date("2026-03-20T08:40:00.000Z"), issued: date("2026-03-20T09:02:17.000Z"),
		want: revoked, photo: true,
	},
	{
		name: "suspended", what: "certificate id suspended until after the check time",
		vm: vmIndia, key: rsaKey, issuer: issuerCoWIN, certID: "8000000000042",
		who:        person{"Meera Pillai", "Female", "52", "40213", "6612093847", ""},
		vaccinated: date("2026-01-12T10:00:00.000Z"), issued: date("2026-01-12T10:15:33.000Z"),
		want: suspended,
	},
	{
		name: "suspension-lifted", what: "suspension that ended before the check time: valid again",
		vm: vmIndia, key: rsaKey, issuer: issuerCoWIN, certID: "8000000000059",
		who:        person{"Arjun Reddy", "Male", "38", "40214", "3094871126", ""},
		vaccinated: date("2025-12-01T07:30:00.000Z"), issued: date("2025-12-01T07:48:51.000Z"),
		want: valid,
	},
	{
		name: "expired", what: "issuer policy enforces the effective window and max_age 365d; both ended before the check time",
		vm: vmExpiring, key: ed25519Key, issuer: issuerExpiring, certID: "8000000000066",
		who:        person{"Sunil Gupta", "Male", "63", "40215", "2287405519", ""},
		vaccinated: date("2025-03-01T09:00:00.000Z"), issued: date("2025-03-01T10:00:00.000Z"),
		effectiveUntil: "2026-03-01",
		want:           expired,
	},
	{
		name: "not-yet-valid", what: "issued and signed after the check time",
		vm: vmIndia, key: rsaKey, issuer: issuerCoWIN, certID: "8000000000073",
		who:        person{"Fatima Sheikh", "Female", "23", "40216", "9130567742", ""},
		vaccinated: date("2026-06-15T07:45:00.000Z"), issued: date("2026-06-15T08:00:09.000Z"),
		want: notYetValid,
	},
	{
		name: "updated-old", what: "original certificate with a misspelt name; superseded by updated-new",
		vm: vmIndia, key: rsaKey, issuer: issuerCoWIN, certID: "8000000000080",
		who:        person{"Rahul Sharmaa", "Male", "45", "40217", "8842019365", ""},
		vaccinated: date("2026-01-20T10:30:00.000Z"), issued: date("2026-01-20T11:00:24.000Z"),
		want: revoked,
	},
	{
		name: "updated-new", what: "the correction of updated-old, with a new certificate id",
		vm: vmIndia, key: rsaKey, issuer: issuerCoWIN, certID: "8000000000097",
		who:        person{"Rahul Sharma", "Male", "45", "40217", "8842019365", ""},
		vaccinated: date("2026-01-20T10:30:00.000Z"), issued: date("2026-02-05T09:30:00.000Z"),
		want: valid,
	},
	{
		name: "unknown-issuer", what: "signed under a verification method the trust store does not have (did:unknown)",
		vm: vmUnknown, key: ed25519Key, issuer: issuerUnknown, certID: "8000000000103",
		who:        person{"Lakshmi Iyer", "Female", "31", "40218", "1175309482", ""},
		vaccinated: date("2026-04-10T12:00:00.000Z"), issued: date("2026-04-10T12:14:00.000Z"),
		want: unknownIssuer,
	},
	{
		name: "terminated-key", what: "signed with the only key of did:terminated, which is marked terminated",
		vm: vmTerminated, key: ed25519Key, issuer: issuerTerminated, certID: "8000000000110",
		who:        person{"Vikram Singh", "Male", "57", "40219", "6604718253", ""},
		vaccinated: date("2026-02-20T09:10:00.000Z"), issued: date("2026-02-20T09:25:45.000Z"),
		want: badSignature,
	},
	{
		name: "tampered", what: "the valid credential with one character of credentialSubject.name changed after signing",
		tamperedFrom: "valid", tamperTo: "Asha Varma",
		vm: vmIndia, key: rsaKey, issuer: issuerCoWIN, certID: "8000000000011",
		want: badSignature, photo: true,
	},
	{
		name: "no-crl", what: "genuine credential of a trusted issuer (did:nocrl) that no revocation list covers",
		vm: vmNoCRL, key: ed25519Key, issuer: issuerNoCRL, certID: "8000000000127",
		who:        person{"Neha Joshi", "Female", "27", "40220", "4409821736", ""},
		vaccinated: date("2026-04-20T15:00:00.000Z"), issued: date("2026-04-20T15:12:30.000Z"),
		want: validUnknown,
	},
	{
		name: "context-indonesia", what: "genuine credential naming Indonesia's context URL (" + contextIndonesia + ", the DIVOC v2 document), with a date of birth",
		vm: vmEd25519, key: ed25519Key, issuer: issuerDIVOC, certID: "8000000000134", context: contextIndonesia,
		who:        person{name: "Dewi Lestari", gender: "Female", age: "36", refID: "40221", aadhaar: "3174081505880004", dob: "1990-02-11"},
		vaccinated: date("2026-03-15T08:00:00.000Z"), issued: date("2026-03-15T08:21:07.000Z"),
		want: valid,
	},
	{
		name: "unsigned-holder", what: "genuine signature, but credentialSubject.id is a relative IRI (as Sri Lanka issues them): JSON-LD drops the holder, so the name is not signed",
		vm: vmIndia, key: rsaKey, issuer: issuerCoWIN, certID: "8000000000141", holder: holderRelative,
		who:        person{name: "Nimal Perera", gender: "Male", age: "47", refID: "40222", aadhaar: "962433308V"},
		vaccinated: date("2026-02-02T09:30:00.000Z"), issued: date("2026-02-02T09:44:12.000Z"),
		want: unsignedHolder, unsigned: []string{"name", "gender", "age"},
	},
	{
		name: "unsigned-holder-empty-id", what: "genuine signature, but credentialSubject.id is empty (as Jamaica issues them): the holder is not signed",
		vm: vmEd25519, key: ed25519Key, issuer: issuerDIVOC, certID: "8000000000158", holder: holderEmpty,
		who:        person{name: "Andre Campbell", gender: "Male", age: "52", refID: "40223", aadhaar: "0"},
		vaccinated: date("2026-01-25T13:00:00.000Z"), issued: date("2026-01-25T13:10:40.000Z"),
		want: unsignedHolder, unsigned: []string{"name", "gender", "age"},
	},
	{
		name: "unsigned-holder-accepted", what: "holder not signed (relative credentialSubject.id), from an issuer whose policy accepts that (did:lenient): valid, the holder's fields marked unsigned",
		vm: vmLenient, key: ed25519Key, issuer: issuerDIVOC, certID: "8000000000165", holder: holderRelative,
		who:        person{name: "Kumari Silva", gender: "Female", age: "31", refID: "40224", aadhaar: "199512345678"},
		vaccinated: date("2026-03-28T10:15:00.000Z"), issued: date("2026-03-28T10:30:55.000Z"),
		want: valid, unsigned: []string{"name", "gender", "age"},
	},
	{
		name: "undefined-term", what: "valid-ed25519 with a date of birth added after signing: its context (vaccination v1) does not define dob, so JSON-LD would drop it and the signature still check out",
		tamperedFrom: "valid-ed25519", addTerm: &termEdit{path: []string{"credentialSubject"}, key: "dob", value: "1990-01-01"},
		vm: vmEd25519, key: ed25519Key, issuer: issuerDIVOC, certID: "8000000000028",
		who:  person{name: "Kavya Nair"},
		want: malformedInput,
	},
}

// listed are the fixture certificates' rows of the revocation list.
// revoked and updated-old go to the demo CSV, the suspensions to the demo
// JSON lines.
var listed = []revocation{
	{id: "8000000000035", issuer: issuerCoWIN, reason: crl.ReasonDataError, revokedAt: date("2026-04-02T08:00:00Z")},
	{id: "8000000000080", issuer: issuerCoWIN, reason: crl.ReasonSuperseded, revokedAt: date("2026-02-05T09:30:00Z")},
	{id: "8000000000042", issuer: issuerCoWIN, reason: crl.ReasonCertificateHold, revokedAt: date("2026-05-10T12:00:00Z"), suspendedUntil: date("2026-09-01T00:00:00Z")},
	{id: "8000000000059", issuer: issuerCoWIN, reason: crl.ReasonCertificateHold, revokedAt: date("2026-03-01T00:00:00Z"), suspendedUntil: date("2026-04-01T00:00:00Z")},
}

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t.UTC()
}
