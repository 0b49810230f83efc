package verify

import (
	"fmt"
	"time"

	"github.com/crlverify/crlverify/verify/shc"
)

// IsChunk reports whether s holds one QR code of a SMART Health Card split
// over several ("shc:/i/n/..."), which [Verifier.VerifyChunks] joins with
// the others.
func (s Scanned) IsChunk() bool {
	if s.Err != nil {
		return false
	}
	p := s.Payload
	if !s.FromImage {
		p = shc.TrimNewline(p)
	}
	return shc.Sniff(p) == shc.FormChunk
}

// VerifyChunks joins the QR codes of SMART Health Cards split over several
// (the deprecated chunked form "shc:/i/n/...", see [Scanned.IsChunk]) and
// verifies each card at time at. The chunks are given in input order and
// may belong to several cards: each goes to the first card of as many
// chunks that still lacks its number, else starts a new card (so the
// codes of one card are best scanned together). It returns one Result per
// card, in the order of their first chunks, with [Result.ChunkInputs]
// naming the inputs in chunk order; a card that lacks chunks is MALFORMED,
// naming them, and a chunk that cannot be decoded is MALFORMED on its own.
// At most [shc.MaxChunks] chunks make a card.
func (v *Verifier) VerifyChunks(chunks []Scanned, at time.Time) []Result {
	type card struct {
		j         shc.Joiner
		inputs    map[int]string // chunk number → input
		jws       map[int]string // chunk number → its characters
		first     string
		fromImage bool
	}
	var cards []*card
	var order []any // *card or Result, in input order
	for _, s := range chunks {
		p := s.Payload
		if !s.FromImage {
			p = shc.TrimNewline(p)
		}
		c, err := shc.DecodeChunk(p)
		if err != nil {
			r := malformedResult(at, "%v", err)
			r.Format, r.Input, r.FromImage = FormatSHC, s.Input, s.FromImage
			order = append(order, r)
			continue
		}
		var dst *card
		for _, cd := range cards {
			if cd.j.Total() != c.Total {
				continue
			}
			if prev, has := cd.jws[c.Index]; !has || prev == c.JWS {
				// A chunk given twice (the same code scanned again) is
				// harmless.
				dst = cd
				break
			}
		}
		if dst == nil {
			dst = &card{inputs: map[int]string{}, jws: map[int]string{}, first: s.Input, fromImage: s.FromImage}
			cards = append(cards, dst)
			order = append(order, dst)
		}
		if _, err := dst.j.AddChunk(c); err != nil {
			r := malformedResult(at, "%v", err)
			r.Format, r.Input, r.FromImage = FormatSHC, s.Input, s.FromImage
			order = append(order, r)
			continue
		}
		if _, has := dst.inputs[c.Index]; !has {
			dst.inputs[c.Index], dst.jws[c.Index] = s.Input, c.JWS
		}
	}
	out := make([]Result, 0, len(order))
	for _, o := range order {
		switch o := o.(type) {
		case Result:
			out = append(out, o)
		case *card:
			names := make([]string, 0, len(o.inputs))
			for i := 1; i <= o.j.Total(); i++ {
				if n, ok := o.inputs[i]; ok {
					names = append(names, n)
				}
			}
			var r Result
			if missing := o.j.Missing(); len(missing) > 0 {
				r = malformedResult(at, "%v", chunksMissing(o.j.Total(), missing))
				r.Format = FormatSHC
			} else if jws, err := o.j.JWS(); err != nil {
				r = malformedResult(at, "%v", err)
				r.Format = FormatSHC
			} else {
				r = v.verifyPayloads([]byte(jws), false, at)[0]
				r.PayloadForm = shc.FormChunk.String()
			}
			r.Input, r.ChunkInputs, r.FromImage = o.first, names, o.fromImage
			out = append(out, r)
		default:
			panic(fmt.Sprintf("verify: chunk order holds %T", o))
		}
	}
	return out
}
