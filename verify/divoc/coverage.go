package divoc

import (
	"slices"
	"strconv"
	"strings"

	"github.com/piprate/json-gold/ld"
)

// signedGraph is what a proof signs, kept to check that reported fields are
// part of it: the RDF statements canonicalisation hashed, and the expanded
// node objects of the JSON objects the fields are in.
//
// The check is made on the statements, not on the expanded document,
// because JSON-LD drops more on the way to RDF: every statement about a node
// whose id is a relative IRI, and statements whose object is not a valid
// IRI. A credential with such a subject id has a name no signature covers.
type signedGraph struct {
	nodes map[string]map[string]any // JSON pointer -> expanded node object
	quads []*ld.Quad
}

// covered reports whether value, under key in the JSON object at ptr, is
// signed: a statement about that object's node (its IRI, or a blank node
// when it has none), with a predicate key expands to, has it as object. An
// id field is signed when its IRI is in a statement.
func (g *signedGraph) covered(ptr, key string, value any) bool {
	node := g.nodes[ptr]
	if node == nil {
		return false
	}
	if key == "id" || key == "@id" {
		id, ok := value.(string)
		if !ok || node["@id"] != id {
			return false
		}
		return slices.ContainsFunc(g.quads, func(q *ld.Quad) bool { return isIRI(q.Subject, id) || isIRI(q.Object, id) })
	}
	subject, _ := node["@id"].(string)
	for p, vs := range node {
		if strings.HasPrefix(p, "@") || !expandedHas(vs, value) {
			continue
		}
		if g.has(subject, p, value) {
			return true
		}
	}
	return false
}

// has reports whether a statement subject-p-value is in the graph; an empty
// subject stands for any blank node.
func (g *signedGraph) has(subject, p string, value any) bool {
	for _, q := range g.quads {
		if !isIRI(q.Predicate, p) || !objectIs(q.Object, value) {
			continue
		}
		if subject == "" {
			if _, blank := q.Subject.(ld.BlankNode); blank {
				return true
			}
		} else if isIRI(q.Subject, subject) {
			return true
		}
	}
	return false
}

// revocationIDs lists the certificate id, then every other signed literal
// of the evidence node, sorted.
func (g *signedGraph) revocationIDs(c *Credential) []string {
	var ids []string
	if c.Evidence.CertificateID != "" {
		ids = append(ids, c.Evidence.CertificateID)
	}
	node := g.nodes[c.evidence]
	if c.evidence == "" || node == nil {
		return ids
	}
	subject, _ := node["@id"].(string)
	var more []string
	for p, vs := range node {
		if strings.HasPrefix(p, "@") {
			continue
		}
		list, _ := vs.([]any)
		for _, v := range list {
			m, _ := v.(map[string]any)
			var s string
			switch x := m["@value"].(type) {
			case string:
				s = x
			case float64:
				s = strconv.FormatFloat(x, 'f', -1, 64)
			default:
				continue
			}
			if s != "" && !slices.Contains(ids, s) && !slices.Contains(more, s) && g.has(subject, p, m["@value"]) {
				more = append(more, s)
			}
		}
	}
	slices.Sort(more)
	return append(ids, more...)
}

// expandedHas reports whether an expanded property's values include value,
// as a value object or a node reference.
func expandedHas(vs any, value any) bool {
	list, _ := vs.([]any)
	for _, v := range list {
		m, ok := v.(map[string]any)
		if !ok {
			continue
		}
		if m["@value"] == value {
			return true
		}
		if id, ok := m["@id"]; ok && id == value {
			return true
		}
	}
	return false
}

func isIRI(n ld.Node, iri string) bool {
	i, ok := n.(ld.IRI)
	return ok && i.Value == iri
}

// objectIs reports whether an RDF object is the JSON value: a string as a
// literal or an IRI, a number or a boolean as the literal JSON-LD makes of
// it.
func objectIs(n ld.Node, value any) bool {
	switch v := value.(type) {
	case string:
		switch o := n.(type) {
		case ld.Literal:
			return o.Value == v
		case ld.IRI:
			return o.Value == v
		}
	case float64:
		o, ok := n.(ld.Literal)
		if !ok || (o.Datatype != ld.XSDInteger && o.Datatype != ld.XSDDouble) {
			return false
		}
		f, err := strconv.ParseFloat(o.Value, 64)
		return err == nil && f == v
	case bool:
		o, ok := n.(ld.Literal)
		return ok && o.Datatype == ld.XSDBoolean && o.Value == strconv.FormatBool(v)
	}
	return false
}
