package snapshot_test

import (
	"cmp"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/crlverify/crlverify/crl"
)

// benchNow is the fixed "now" of generated lists.
var benchNow = time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)

// realisticReason draws a reason the way health certificate platforms
// revoke: mostly data errors and superseded (re-issued) certificates.
func realisticReason(rng *rand.Rand) crl.Reason {
	switch p := rng.IntN(100); {
	case p < 45:
		return crl.ReasonDataError
	case p < 80:
		return crl.ReasonSuperseded
	case p < 88:
		return crl.ReasonFaultyBatch
	case p < 93:
		return crl.ReasonUnspecified
	case p < 96:
		return crl.ReasonTampering
	case p < 98:
		return crl.ReasonKeyCompromise
	default:
		return crl.ReasonPrivilegeWithdrawn
	}
}

// benchIssuer issues the certificates of generated lists.
const benchIssuer = "did:example:health-ministry"

// realisticEntry is a revocation of certificate id at a time in the two
// years before benchNow; about 1% are suspensions of up to 90 days.
func realisticEntry(rng *rand.Rand, id int) crl.Entry {
	e := crl.Entry{
		Key:       crl.KeyOf(benchIssuer, "CERT-"+strconv.Itoa(id)),
		RevokedAt: benchNow.Unix() - rng.Int64N(2*365*86400),
		Reason:    realisticReason(rng),
	}
	if rng.IntN(100) == 0 {
		e.Reason = crl.ReasonCertificateHold
		e.SuspendedUntil = e.RevokedAt + 3600 + rng.Int64N(90*86400)
	}
	return e
}

func sortEntries(es []crl.Entry) []crl.Entry {
	slices.SortFunc(es, func(a, b crl.Entry) int { return cmp.Compare(a.Key, b.Key) })
	return slices.CompactFunc(es, func(a, b crl.Entry) bool { return a.Key == b.Key })
}

var (
	listsMu sync.Mutex
	lists   = map[int][]crl.Entry{}
)

// realisticList returns n realistic entries sorted by key, made once per n.
func realisticList(n int) []crl.Entry {
	listsMu.Lock()
	defer listsMu.Unlock()
	if es, ok := lists[n]; ok {
		return es
	}
	rng := rand.New(rand.NewPCG(uint64(n), 2026))
	es := make([]crl.Entry, n)
	for i := range es {
		es[i] = realisticEntry(rng, i)
	}
	es = sortEntries(es)
	lists[n] = es
	return es
}
