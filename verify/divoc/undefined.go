package divoc

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// Naming an undefined term costs one expansion of the document per key
// tried. maxProbes bounds the expansions, and maxProbeWork the keys
// expanded in all of them (a document of many keys gets fewer probes), so
// a crafted credential cannot make a refusal slow. A DIVOC credential has
// about 60 keys: every key of it can be tried. Past the bounds the term is
// reported unnamed; the verdict does not change.
const (
	maxProbes    = 128
	maxProbeWork = 16 << 10
)

// isUndefinedTerm reports whether err is json-gold's refusal, in safe
// mode, of a key that expands to no absolute IRI and no keyword: a term
// none of the document's contexts defines. JSON-LD would otherwise drop it
// silently, and with it whatever it says, from the signed data.
func isUndefinedTerm(err error) bool {
	var e *ld.JsonLdError
	return errors.As(err, &e) && e.Code == ld.InvalidProperty
}

// undefinedTermError names the first key of doc, in the order expansion
// visits keys (sorted, depth first), that no context defines. It is
// called only once safe-mode expansion has refused doc, so its cost (one
// expansion per key tried, at most maxProbes) is spent on refusals alone.
func undefinedTermError(doc map[string]any, l loader) error {
	if ptr, key, ok := findUndefinedTerm(doc, l); ok {
		where := "at the top level"
		if ptr != "" {
			where = "in " + ptr
		}
		return fmt.Errorf("%w: %w: %q (%s)", ErrMalformed, ErrUndefinedTerm, key, where)
	}
	return fmt.Errorf("%w: %w (not identified)", ErrMalformed, ErrUndefinedTerm)
}

// findUndefinedTerm finds a key no context defines by probing: the key's
// value is replaced by a marker string found nowhere in the document, and
// the document expanded (not in safe mode). Whatever a defined key
// expands to (a literal, an @id, a @type) still holds the marker; a key
// expansion drops leaves no trace of it. A key whose probe fails to
// expand is passed over.
//
// Keys whose value is missing from their object's expanded node are
// probed first: one expansion finds them, so the usual refusal costs a
// few expansions, not one per key. Then, in case a value appears there
// for another reason, every key in order, within the bounds.
func findUndefinedTerm(doc map[string]any, l loader) (ptr, key string, ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	raw, err := json.Marshal(doc)
	if err != nil {
		return "", "", false
	}
	marker := "crlverify-undefined-term-probe"
	for i := 0; strings.Contains(string(raw), marker); i++ {
		marker = "crlverify-undefined-term-probe-" + strconv.Itoa(i)
	}
	// The probes write into top's maps, and restore them.
	top := deepCopyJSON(doc)
	opts := ldOptions(l)
	opts.SafeMode = false
	// Process the top-level context once, without safe mode (json-gold
	// takes safe mode from the context's own options).
	var ac *ld.Context
	if list := contextList(doc["@context"]); list != nil {
		if ac, err = ld.NewContext(nil, opts).Parse(list); err != nil {
			return "", "", false
		}
	}
	proc := ld.NewJsonLdProcessor()
	expand := func(o *ld.JsonLdOptions) ([]any, error) {
		in := maps.Clone(top)
		if ac != nil {
			in["@context"] = ld.CopyContext(ac)
		}
		return proc.Expand(in, o)
	}
	limit := min(maxProbes, maxProbeWork/max(1, countKeys(top)))
	probes := 0
	type candidate struct {
		obj  map[string]any
		ptr  string
		key  string
		seen bool
	}
	// probe reports whether expansion drops obj's key k.
	probe := func(c candidate) (dropped, stop bool) {
		if probes++; probes > limit {
			return false, true
		}
		orig := c.obj[c.key]
		c.obj[c.key] = marker
		defer func() { c.obj[c.key] = orig }()
		out, err := expand(opts)
		if err != nil {
			return false, false
		}
		return !holds(out, marker), false
	}

	// Every key, in the order expansion visits them.
	var all []candidate
	var walk func(obj map[string]any, at string)
	walk = func(obj map[string]any, at string) {
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if k == "@context" {
				continue
			}
			all = append(all, candidate{obj: obj, ptr: at, key: k})
			child := at + "/" + escapePointer(k)
			switch v := obj[k].(type) {
			case map[string]any:
				walk(v, child)
			case []any:
				for i, e := range v {
					if m, isMap := e.(map[string]any); isMap {
						walk(m, child+"/"+strconv.Itoa(i))
					}
				}
			}
		}
	}
	walk(top, "")

	// First the keys whose scalar value is not in their object's node.
	nodes := map[string]map[string]any{}
	hopts := opts.Copy()
	hopts.ExpandedElementHandler = func(p string, expanded any) {
		if m, isMap := expanded.(map[string]any); isMap {
			nodes[p] = m
		}
	}
	if _, err := expand(hopts); err == nil {
		for i := range all {
			c := &all[i]
			node, kept := nodes[c.ptr]
			if !kept || !isScalar(c.obj[c.key]) || holdsValue(node, c.obj[c.key]) {
				continue
			}
			c.seen = true
			dropped, stop := probe(*c)
			if stop {
				return "", "", false
			}
			if dropped {
				return c.ptr, c.key, true
			}
		}
	}
	for _, c := range all {
		if c.seen {
			continue
		}
		dropped, stop := probe(c)
		if stop {
			return "", "", false
		}
		if dropped {
			return c.ptr, c.key, true
		}
	}
	return "", "", false
}

func isScalar(v any) bool {
	switch v.(type) {
	case string, float64, bool:
		return true
	}
	return false
}

// holdsValue reports whether an expanded node holds the JSON scalar v: as
// a value, or (a string) within an IRI.
func holdsValue(node any, v any) bool {
	switch n := node.(type) {
	case string:
		s, isString := v.(string)
		return isString && strings.Contains(n, s)
	case float64, bool:
		return n == v
	case []any:
		return slices.ContainsFunc(n, func(e any) bool { return holdsValue(e, v) })
	case map[string]any:
		for _, e := range n {
			if holdsValue(e, v) {
				return true
			}
		}
	}
	return false
}

// countKeys counts the keys of v's objects, "@context" values left out.
func countKeys(v any) int {
	n := 0
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			n++
			if k != "@context" {
				n += countKeys(e)
			}
		}
	case []any:
		for _, e := range v {
			n += countKeys(e)
		}
	}
	return n
}

// contextList returns a @context value that is a URL or a list of URLs as
// a list, or nil.
func contextList(v any) []any {
	switch v := v.(type) {
	case string:
		return []any{v}
	case []any:
		for _, e := range v {
			if _, ok := e.(string); !ok {
				return nil
			}
		}
		return v
	}
	return nil
}

// holds reports whether any string in an expanded document contains s.
func holds(v any, s string) bool {
	switch v := v.(type) {
	case string:
		return strings.Contains(v, s)
	case []any:
		return slices.ContainsFunc(v, func(e any) bool { return holds(e, s) })
	case map[string]any:
		for k, e := range v {
			if strings.Contains(k, s) || holds(e, s) {
				return true
			}
		}
	}
	return false
}

// deepCopyJSON copies the maps and slices of a decoded JSON value.
func deepCopyJSON[T any](v T) T {
	return copyValue(any(v)).(T)
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[k] = copyValue(e)
		}
		return m
	case []any:
		s := make([]any, len(v))
		for i, e := range v {
			s[i] = copyValue(e)
		}
		return s
	}
	return v
}
