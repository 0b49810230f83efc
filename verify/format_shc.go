package verify

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/crlverify/crlverify/verify/shc"
	"github.com/crlverify/crlverify/verify/store"
	"github.com/crlverify/crlverify/verify/trust"
)

// SHCLists is implemented by a CRL store that also holds SMART Health
// Cards issuers' own revocation lists ([*store.Store] does): the list of
// an issuer's key, parsed, with its description.
type SHCLists interface {
	SHCList(issuer, kid string) (*shc.CRL, store.SHCList, bool, error)
}

// NewSHCFormat returns the [Format] of SMART Health Cards (package shc):
// a numeric QR code ("shc:/" and digits), the compact JWS as text, or a
// .smart-health-card file, one [Document] per card it holds. A chunk of a
// card split over several QR codes alone is MALFORMED: join the chunks
// with [Verifier.VerifyChunks].
//
// The signature is checked with the key of the card's kid in the key set
// the trust store holds for the card's iss, and no other issuer's
// ([trust.Store.SHCDirectory]); the id looked up in the signed snapshots
// is the card's rid, under its iss (or the issuer's crl_issuer); a key
// with a crlVersion also needs the issuer's own list for that key in the
// CRL store ([SHCLists]), whose ctr must be that crlVersion, and which
// then decides as the specification says (a "rid.timestamp" entry revokes
// only cards issued before the timestamp). A stored list of another ctr
// leaves the status unknown, but a revocation in it counts, as one in a
// signed snapshot past its next update does. The dates are nbf and exp, and
// the issuer's maximum age counted from nbf.
func NewSHCFormat() Format { return shcFormat{} }

type shcFormat struct{}

func (shcFormat) Name() string { return FormatSHC }

func (shcFormat) Detect(b []byte) bool { return shc.Sniff(b) != shc.FormUnknown }

func (shcFormat) Read(b []byte, typed bool) ([]Document, error) {
	if typed {
		b = shc.TrimNewline(b)
	}
	switch form := shc.Sniff(b); form {
	case shc.FormFile:
		cards, err := shc.ReadFile(b)
		if err != nil {
			return nil, err
		}
		docs := make([]Document, len(cards))
		for i, fc := range cards {
			if fc.Err != nil {
				docs[i] = malformedDoc{fmt.Errorf("card %d of %d: %w", i+1, len(cards), fc.Err)}
				continue
			}
			docs[i] = &shcDoc{card: fc.Card, form: form}
		}
		return docs, nil
	case shc.FormChunk:
		c, err := shc.DecodeChunk(b)
		if err != nil {
			return nil, err
		}
		missing := make([]int, 0, c.Total-1)
		for i := 1; i <= c.Total; i++ {
			if i != c.Index {
				missing = append(missing, i)
			}
		}
		return nil, chunksMissing(c.Total, missing)
	}
	c, form, err := shc.ParsePayload(b)
	if err != nil {
		return nil, err
	}
	return []Document{&shcDoc{card: c, form: form}}, nil
}

// chunksMissing is the error of a card split over total QR codes of which
// those numbered missing were not given.
func chunksMissing(total int, missing []int) error {
	nums := make([]string, len(missing))
	for i, m := range missing {
		nums[i] = fmt.Sprint(m)
	}
	what := "chunk " + nums[0] + " is"
	if len(nums) > 1 {
		what = "chunks " + strings.Join(nums[:len(nums)-1], ", ") + " and " + nums[len(nums)-1] + " are"
	}
	return fmt.Errorf("a SMART Health Card split over %d QR codes: %s missing (scan every code of the card together): %w", total, what, shc.ErrIncomplete)
}

// malformedDoc is a certificate of a bundle that could not be read.
type malformedDoc struct{ err error }

func (malformedDoc) Describe() Description { return Description{} }
func (d malformedDoc) Verify(*trust.Store, time.Time) (*Checks, error) {
	return nil, Reject(StatusMalformed, d.err)
}

type shcDoc struct {
	card *shc.Card
	form shc.Form
}

func (d *shcDoc) Describe() Description {
	c := d.card
	dp := c.Display()
	return Description{
		PayloadForm: d.form.String(),
		Certificate: &Certificate{
			ID:              c.RevocationID,
			Issuer:          c.Issuer,
			KeyID:           c.Header.KID,
			ProofType:       c.Header.Alg,
			Name:            dp.Name,
			DateOfBirth:     dp.DateOfBirth,
			Dose:            dp.Dose,
			TotalDoses:      dp.Doses,
			Vaccine:         dp.Vaccine,
			Manufacturer:    dp.Manufacturer,
			Disease:         dp.Disease,
			Batch:           dp.Lot,
			VaccinationDate: dp.Date,
			Performer:       dp.Performer,
			IssuedAt:        c.NotBefore,
			ExpiresAt:       c.Expires,
		},
	}
}

func (d *shcDoc) Verify(ts *trust.Store, at time.Time) (*Checks, error) {
	c := d.card
	key, err := shc.VerifySignature(c, ts.SHCDirectory(), at)
	entry, _ := ts.SHCIssuer(c.Issuer)
	chk := &Checks{IssuerName: entry.Name}
	switch {
	case errors.Is(err, shc.ErrUnknownIssuer):
		return chk, Reject(StatusUnknownIssuer, err)
	case errors.Is(err, shc.ErrMalformed):
		return chk, Reject(StatusMalformed, err)
	case err != nil:
		return chk, err
	}
	// The directory that verified the card is the trust store's: the
	// entry is the card's iss.
	chk.CRLIssuer, chk.CRLPublisherKeys = entry.RevocationIssuer(), entry.CRLPublisherKeys
	if c.RevocationID != "" {
		chk.IDs = []string{c.RevocationID}
	} else {
		chk.NoID = "the card has no rid (vc.rid): it cannot be revoked by itself"
	}
	if key.CRLVersion > 0 {
		chk.IssuerList = func(crls Revocations, _ time.Time) Revocation { return shcIssuerList(crls, c, key) }
	}
	maxAge := time.Duration(entry.MaxAge)
	chk.Validity = func(at time.Time, skew time.Duration) (Status, string) {
		if err := c.CheckValidity(at, skew); err != nil {
			if errors.Is(err, shc.ErrNotYetValid) {
				return StatusNotYetValid, fmt.Sprintf("issued %s, after the time of the check (%s)", stamp(c.NotBefore), stamp(at))
			}
			return StatusExpired, "expired " + stamp(c.Expires)
		}
		if maxAge > 0 && !at.Before(c.NotBefore.Add(maxAge)) {
			return StatusExpired, fmt.Sprintf("issued %s; the issuer's policy limits cards to %s", stamp(c.NotBefore), entry.MaxAge)
		}
		return "", ""
	}
	return chk, nil
}

// shcIssuerList answers from the issuer's own list for the card's key,
// which has a crlVersion: the issuer publishes a list for it, so without
// that list, or with one that is not current, the status is unknown,
// unless that list revokes the card.
func shcIssuerList(crls Revocations, c *shc.Card, key *shc.Key) Revocation {
	rev := Revocation{Status: "unknown", Freshness: "no_list", Source: SourceSHCList, CRLIssuer: c.Issuer, ListKID: key.ID}
	lists, ok := crls.(SHCLists)
	if crls == nil || !ok {
		rev.Explanation = fmt.Sprintf("the issuer publishes a revocation list for key %s, and there is no store to hold it", key.ID)
		return rev
	}
	l, info, found, err := lists.SHCList(c.Issuer, key.ID)
	switch {
	case err != nil:
		rev.Explanation, rev.Err = "revocation store: "+err.Error(), err
		return rev
	case !found:
		rev.Explanation = fmt.Sprintf("the issuer publishes a revocation list for key %s (crlVersion %d) and none is in the store: import %s/.well-known/crl/%s.json with crlverify sync --from",
			key.ID, key.CRLVersion, c.Issuer, key.ID)
		return rev
	}
	rev.ListCounter = info.Counter
	if err := l.CheckKey(key); err != nil {
		rev.Freshness = "stale"
		var ve *shc.CRLVersionError
		if errors.As(err, &ve) && l.RevokesCard(c) {
			// The list is of the card's key, older or newer than the key
			// set the trust store holds: a revocation it holds counts
			// whatever its age, as in a signed snapshot past its next
			// update.
			rev.Status, rev.Known, rev.MatchedID = "revoked", true, c.RevocationID
			rev.Explanation = fmt.Sprintf("the stored revocation list of key %s has ctr %d, the key's crlVersion is %d, and revokes the card",
				key.ID, ve.ListCounter, ve.KeyVersion)
			return rev
		}
		if errors.As(err, &ve) {
			rev.Explanation = fmt.Sprintf("the stored revocation list of key %s has ctr %d, the key's crlVersion is %d: import the issuer's current list",
				key.ID, ve.ListCounter, ve.KeyVersion)
		} else {
			rev.Explanation = "the stored revocation list: " + err.Error()
		}
		return rev
	}
	rev.Freshness = "fresh"
	rev.Known = true
	if l.RevokesCard(c) {
		rev.Status = "revoked"
		rev.MatchedID = c.RevocationID
		return rev
	}
	rev.Status = "not_revoked"
	return rev
}

// combine joins the answer of the signed snapshots with the issuer's own
// list: a revocation by either decides; otherwise each list that covers
// the issuer must be conclusive for the answer to be, and a store that
// could not read the snapshots leaves it unknown (it may hold a
// revocation).
func combine(snap, own Revocation) Revocation {
	switch {
	case snap.Status == "revoked" || snap.Status == "suspended":
		return snap
	case own.Status == "revoked":
		return own
	case snap.Err != nil:
		snap.ListKID, snap.ListCounter = own.ListKID, own.ListCounter
		return snap
	case snap.Freshness == "no_list":
		return own
	}
	out := snap
	out.Source = snap.Source + "+" + SourceSHCList
	out.ListKID, out.ListCounter = own.ListKID, own.ListCounter
	if !own.Known {
		out.Known, out.Err = false, own.Err
		out.Status = "unknown"
		out.Explanation = strings.Join(slices.DeleteFunc([]string{snap.Explanation, own.Explanation}, func(s string) bool { return s == "" }), "; ")
	}
	return out
}

// stamp writes a time for a reason.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339) }
