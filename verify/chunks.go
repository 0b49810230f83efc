package verify

import (
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

// maxJoinTries bounds the joinings [Verifier.VerifyChunks] tries, over all
// the chunks of one call, looking for the ones whose signature verifies.
// A try costs a header parse and a signature check (no payload is
// inflated); two or three cards scanned together take a handful.
const maxJoinTries = 256

// VerifyChunks joins the QR codes of SMART Health Cards split over several
// (the deprecated chunked form "shc:/i/n/...", see [Scanned.IsChunk]) and
// verifies each card at time at. The chunks are given in input order and
// may belong to several cards, in any order. A card starts at the first
// chunk (in input order) no card has taken; it takes, for each other
// number, one of the chunks of as many that no card has taken: the first
// choice, in input order, whose joined signature verifies with a key the
// trust store holds for the kid it names (at most [maxJoinTries] choices
// are tried in a call), else the first chunk of each number. So the codes
// of cards scanned together, interleaved or not, make their cards; codes
// of untrusted issuers go together in input order. A chunk given twice
// (the same code scanned again) is taken with its card.
//
// It returns one Result per card, in the order of their first chunks, with
// [Result.ChunkInputs] naming the inputs in chunk order; a card that lacks
// chunks is MALFORMED, naming them, and a chunk that cannot be decoded is
// MALFORMED on its own. At most [shc.MaxChunks] chunks make a card.
func (v *Verifier) VerifyChunks(chunks []Scanned, at time.Time) []Result {
	type piece struct {
		s    Scanned
		c    shc.Chunk
		used bool
	}
	slots := make([]any, len(chunks)) // *piece, or the Result of a chunk that cannot be decoded
	var pieces []*piece
	for i, s := range chunks {
		p := s.Payload
		if !s.FromImage {
			p = shc.TrimNewline(p)
		}
		c, err := shc.DecodeChunk(p)
		if err != nil {
			r := malformedResult(at, "%v", err)
			r.Format, r.Input, r.FromImage = FormatSHC, s.Input, s.FromImage
			slots[i] = r
			continue
		}
		pc := &piece{s: s, c: c}
		slots[i] = pc
		pieces = append(pieces, pc)
	}
	dir := v.trust.SHCDirectory()
	tries := maxJoinTries

	// card puts together the card that starts with seed.
	card := func(seed *piece) []*piece {
		n := seed.c.Total
		cands := make([][]*piece, n)
		for _, p := range pieces {
			if p.used || p.c.Total != n {
				continue
			}
			i := p.c.Index - 1
			if p.c.Index == seed.c.Index && p != seed {
				continue
			}
			dup := false
			for _, q := range cands[i] {
				dup = dup || q.c.JWS == p.c.JWS
			}
			if !dup {
				cands[i] = append(cands[i], p)
			}
		}
		// The first chunk of each number, the choice when no joining
		// verifies (or chunks are missing).
		first := make([]*piece, n)
		complete := true
		for i, cs := range cands {
			if len(cs) > 0 {
				first[i] = cs[0]
			} else {
				complete = false
			}
		}
		if !complete {
			return first
		}
		pick := make([]*piece, n)
		var try func(i int) bool
		try = func(i int) bool {
			if i == n {
				if tries <= 0 {
					return false
				}
				tries--
				jws := ""
				for _, p := range pick {
					jws += p.c.JWS
				}
				return dir.SignedBy(jws)
			}
			for _, p := range cands[i] {
				if tries <= 0 {
					return false
				}
				pick[i] = p
				if try(i + 1) {
					return true
				}
			}
			return false
		}
		if try(0) {
			return pick
		}
		return first
	}

	var out []Result
	for _, slot := range slots {
		seed, ok := slot.(*piece)
		if !ok {
			out = append(out, slot.(Result))
			continue
		}
		if seed.used {
			continue
		}
		chosen := card(seed)
		var j shc.Joiner
		var names []string
		var joinErr error
		for _, p := range chosen {
			if p == nil {
				continue
			}
			p.used = true
			names = append(names, p.s.Input)
			if _, err := j.AddChunk(p.c); err != nil && joinErr == nil {
				joinErr = err
			}
			// The same code scanned again goes with it.
			for _, q := range pieces {
				if !q.used && q.c.Total == p.c.Total && q.c.Index == p.c.Index && q.c.JWS == p.c.JWS {
					q.used = true
				}
			}
		}
		var r Result
		switch jws, err := j.JWS(); {
		case joinErr != nil:
			r = malformedResult(at, "%v", joinErr)
			r.Format = FormatSHC
		case len(j.Missing()) > 0:
			r = malformedResult(at, "%v", chunksMissing(j.Total(), j.Missing()))
			r.Format = FormatSHC
		case err != nil:
			r = malformedResult(at, "%v", err)
			r.Format = FormatSHC
		default:
			r = v.verifyPayloads([]byte(jws), false, at)[0]
			r.PayloadForm = shc.FormChunk.String()
		}
		r.Input, r.ChunkInputs, r.FromImage = seed.s.Input, names, seed.s.FromImage
		out = append(out, r)
	}
	return out
}
