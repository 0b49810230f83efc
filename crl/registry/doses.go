package registry

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/crlverify/crlverify/crl"
)

// ErrDoses: a dose selection breaks DIVOC's revocation rule.
var ErrDoses = errors.New("registry: invalid dose selection")

// CheckDoses applies DIVOC's rule for revoking a beneficiary's
// certificates by dose: the doses (in any order) must be distinct,
// numbered from 1, consecutive, and include latest, the beneficiary's
// latest dose. Revoking dose 1 while dose 2 stands is refused, because the
// dose-2 certificate restates dose 1.
func CheckDoses(doses []int, latest int) error {
	if len(doses) == 0 {
		return fmt.Errorf("%w: no dose given", ErrDoses)
	}
	ds := slices.Clone(doses)
	slices.Sort(ds)
	if ds[0] < 1 {
		return fmt.Errorf("%w: dose %d (doses count from 1)", ErrDoses, ds[0])
	}
	for i := 1; i < len(ds); i++ {
		if ds[i] != ds[i-1]+1 {
			return fmt.Errorf("%w: doses %v are not consecutive", ErrDoses, ds)
		}
	}
	if ds[len(ds)-1] != latest {
		return fmt.Errorf("%w: doses %v leave the latest dose %d standing", ErrDoses, ds, latest)
	}
	return nil
}

// DoseRevocation is DIVOC's revoke request for one beneficiary: revoke the
// certificates of some doses, or of all. The registry does not know which
// certificate records which dose; the caller, who holds the certificate
// records, says so in Certificates.
type DoseRevocation struct {
	Issuer string
	// Certificates maps each dose the beneficiary received to the id of
	// the certificate issued for it.
	Certificates map[int]string
	// Doses to revoke; ignored when All is set.
	Doses []int
	All   bool
	// Reason, RevokedAt and SuspendedUntil apply to each certificate, as in
	// [Revocation].
	Reason         crl.Reason
	RevokedAt      time.Time
	SuspendedUntil time.Time
}

// RevokeDoses checks the request against [CheckDoses] (the latest dose is
// the highest in Certificates) and revokes the selected certificates in one
// transaction, all or none.
func (r *Registry) RevokeDoses(req DoseRevocation) (ImportResult, error) {
	if len(req.Certificates) == 0 {
		return ImportResult{}, fmt.Errorf("%w: no certificates given", ErrDoses)
	}
	all := slices.Sorted(maps.Keys(req.Certificates))
	doses := req.Doses
	if req.All {
		doses = all
	}
	if err := CheckDoses(doses, all[len(all)-1]); err != nil {
		return ImportResult{}, err
	}
	revs := make([]Revocation, 0, len(doses))
	for _, d := range doses {
		id, ok := req.Certificates[d]
		if !ok {
			return ImportResult{}, fmt.Errorf("%w: no certificate for dose %d", ErrDoses, d)
		}
		revs = append(revs, Revocation{Issuer: req.Issuer, ID: id, Reason: req.Reason,
			RevokedAt: req.RevokedAt, SuspendedUntil: req.SuspendedUntil})
	}
	return r.RevokeBatch(revs)
}
