package store

import (
	"fmt"
	"slices"
)

// AdmitIssuers reports whether a list of publisher covering issuers would
// be accepted for its issuers, with opts's binding (see
// [ApplyOptions.Issuers]): the check of issuers ApplySnapshot makes, for
// a caller that has a publication's index and not yet its snapshots.
func (s *Store) AdmitIssuers(publisher string, issuers []string, opts *ApplyOptions) error {
	v := s.view.Load()
	var want []string
	if opts != nil {
		want = opts.Issuers
	}
	_, err := bindingFor(v, v.pubs[publisher], publisher, issuers, want)
	return err
}

// binding is a publisher's binding as an apply leaves it.
type binding struct {
	issuers           []string
	explicit, learned bool
}

// bindingFor returns the binding publisher (whose stored list is cur, or
// nil) has once a list of it covering claimed is admitted with the
// binding want (nil or empty: none given), or why it is not admitted.
func bindingFor(v *view, cur *listView, publisher string, claimed, want []string) (binding, error) {
	var b binding
	switch {
	case len(want) > 0:
		b = binding{issuers: sortedSet(want), explicit: true}
	case cur != nil:
		b = binding{issuers: cur.rec.List.Binding(), explicit: cur.rec.List.BoundExplicitly}
	default:
		b = binding{issuers: sortedSet(claimed), learned: true}
	}
	for _, is := range claimed {
		if !slices.Contains(b.issuers, is) {
			return b, &IssuerError{Err: ErrIssuerNotBound, Publisher: publisher, Issuer: is, Bound: slices.Clone(b.issuers)}
		}
	}
	for _, is := range b.issuers {
		if other, ok := v.boundTo[is]; ok && other != publisher {
			return b, &IssuerError{Err: ErrIssuerConflict, Publisher: publisher, Issuer: is, Other: other}
		}
	}
	return b, nil
}

// sortedSet returns ss sorted, without duplicates, as a new slice.
func sortedSet(ss []string) []string {
	out := slices.Clone(ss)
	slices.Sort(out)
	return slices.Compact(out)
}

// Bind binds publisher, whose list the store holds, to issuers (see
// [List.Bound]), explicitly, and reports whether that changed its binding.
// The stored list must cover no issuer outside issuers
// ([ErrIssuerNotBound]), and no other publisher may be bound to one of
// them ([ErrIssuerConflict]). A sync with a binding applies it this way
// when there is nothing newer to apply.
func (s *Store) Bind(publisher string, issuers []string) (bool, error) {
	if len(issuers) == 0 {
		return false, fmt.Errorf("store: binding %q to no issuer", publisher)
	}
	changed := false
	err := s.write(func(v *view) (*view, error) {
		cur := v.pubs[publisher]
		if cur == nil {
			return nil, fmt.Errorf("store: no list of %q to bind", publisher)
		}
		b, err := bindingFor(v, cur, publisher, cur.rec.List.Issuers, issuers)
		if err != nil {
			return nil, err
		}
		l := &cur.rec.List
		if l.BoundExplicitly && slices.Equal(l.Bound, b.issuers) {
			return nil, nil
		}
		changed = true
		rec := cur.rec
		rec.List = l.clone()
		rec.List.Bound, rec.List.BoundExplicitly = b.issuers, true
		return s.rewrite(v, publisher, "", 0, func(bd *build) (*listView, error) {
			return bd.copyList(cur, &rec)
		})
	})
	return changed, err
}
