package qr

import (
	"cmp"
	"errors"
	"math"
	"slices"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// The finder-grid attempt locates the symbol the way the detector does,
// from its three finder patterns, but mends the detector's two blind spots
// on large and busy symbols:
//
//   - The detector estimates the symbol's size (its number of modules a
//     side) from the distance between finder patterns divided by a module
//     size measured in whole pixels. For a version-40 symbol (177 modules)
//     drawn at 3.05 pixels a module, finder patterns measure 21 or 22
//     pixels, so the module size reads 3.0 or 3.14 and the size 181 or 173:
//     the grid is sampled wrong and nothing decodes. Here the size is
//     counted on the timing patterns instead (the alternating row and
//     column of modules between the finder patterns), which gives it
//     exactly at any pitch, fractional or not.
//   - The detector stops looking once three finder-like patterns agree, and
//     a pattern in the data that happens to read 1:1:3:1:1 can stand in for
//     a real corner. Here every row is searched, and every trio of
//     candidates shaped like the corners of a square is tried, the best
//     shaped first.
//
// For each trio and size the module grid is sampled through the same
// perspective transform as the detector's (corrected by the bottom-right
// alignment pattern when one is found) and handed to the same decoder, whose
// error correction rejects a wrong grid.

// Bounds on the work of one finder-grid attempt.
const (
	maxFinderCandidates = 24 // finder-like patterns kept, the most confirmed first
	maxFinderTrios      = 8  // trios tried, the best shaped first
)

// decodeGrid is the finder-grid attempt on r.
func decodeGrid(r raster) ([]byte, error) {
	src, err := gozxing.NewPlanarYUVLuminanceSource(r.pix, r.w, r.h, 0, 0, r.w, r.h, false)
	if err != nil {
		return nil, err
	}
	bits, err := gozxing.NewHybridBinarizer(src).GetBlackMatrix()
	if err != nil {
		return nil, err
	}
	trios := finderTrios(findCandidates(bits))
	if len(trios) == 0 {
		return nil, errors.New("no trio of finder patterns")
	}
	dec := decoder.NewDecoder()
	for _, t := range trios {
		for _, dim := range symbolSizes(bits, t) {
			grid, err := sampleSymbol(bits, t, dim)
			if err != nil {
				continue
			}
			res, err := dec.Decode(grid, nil)
			if err != nil {
				continue
			}
			return payloadFrom(res.GetRawBytes(), res.GetECLevel())
		}
	}
	return nil, errors.New("no trio of finder patterns gave a readable symbol")
}

// findCandidates scans every row of bits for the 1:1:3:1:1 runs of a
// finder pattern and confirms each with the detector's own cross checks
// (vertical, horizontal, diagonal). It returns the candidates confirmed
// most often, at most maxFinderCandidates, in a stable order.
func findCandidates(bits *gozxing.BitMatrix) []*detector.FinderPattern {
	f := detector.NewFinderPatternFinder(bits, nil)
	w, h := bits.GetWidth(), bits.GetHeight()
	counts := make([]int, 5)
	for i := 0; i < h; i += 2 {
		clear(counts)
		state := 0
		for j := 0; j < w; j++ {
			if bits.Get(j, i) {
				if state&1 == 1 { // was counting light
					state++
				}
				counts[state]++
				continue
			}
			if state&1 == 1 { // light continues
				counts[state]++
				continue
			}
			if state < 4 { // dark ended
				state++
				counts[state]++
				continue
			}
			if detector.FinderPatternFinder_foundPatternCross(counts) && f.HandlePossibleCenter(counts, i, j) {
				state = 0
				clear(counts)
				continue
			}
			detector.FinderPatternFinder_ShiftCounts2(counts)
			state = 3
		}
		if detector.FinderPatternFinder_foundPatternCross(counts) {
			f.HandlePossibleCenter(counts, i, w)
		}
	}
	c := slices.Clone(f.GetPossibleCenters())
	slices.SortStableFunc(c, func(a, b *detector.FinderPattern) int {
		return cmp.Or(
			cmp.Compare(b.GetCount(), a.GetCount()),
			cmp.Compare(a.GetY(), b.GetY()),
			cmp.Compare(a.GetX(), b.GetX()))
	})
	return c[:min(len(c), maxFinderCandidates)]
}

// trio is three finder patterns taken as a symbol's corners.
type trio struct {
	tl, tr, bl *detector.FinderPattern
	distortion float64 // how far from the corners of a square, 0 for exact
}

// finderTrios returns the trios of candidates shaped like three corners of
// a square (sides within 15 % of each other, a right angle within 10 %,
// similar module sizes, 9 to 185 modules apart), the best shaped first, at
// most maxFinderTrios.
func finderTrios(c []*detector.FinderPattern) []trio {
	var out []trio
	for i := 0; i < len(c); i++ {
		for j := i + 1; j < len(c); j++ {
			for k := j + 1; k < len(c); k++ {
				sizes := []float64{c[i].GetEstimatedModuleSize(), c[j].GetEstimatedModuleSize(), c[k].GetEstimatedModuleSize()}
				lo, hi := slices.Min(sizes), slices.Max(sizes)
				if hi > 1.4*lo {
					continue
				}
				bl, tl, tr := gozxing.ResultPoint_OrderBestPatterns(c[i], c[j], c[k])
				t := trio{tl: tl.(*detector.FinderPattern), tr: tr.(*detector.FinderPattern), bl: bl.(*detector.FinderPattern)}
				a, b := dist(t.tl, t.tr), dist(t.tl, t.bl)
				d := dist(t.tr, t.bl)
				if a == 0 || b == 0 || math.Abs(a-b) > 0.15*min(a, b) {
					continue
				}
				diag := math.Hypot(a, b)
				if math.Abs(d-diag) > 0.1*diag {
					continue
				}
				modules := (a + b) / 2 / ((lo + hi) / 2)
				if modules < 9 || modules > 185 {
					continue
				}
				t.distortion = math.Abs(a-b)/max(a, b) + math.Abs(d-diag)/diag
				out = append(out, t)
			}
		}
	}
	slices.SortStableFunc(out, func(x, y trio) int { return cmp.Compare(x.distortion, y.distortion) })
	return out[:min(len(out), maxFinderTrios)]
}

func dist(p, q gozxing.ResultPoint) float64 {
	return math.Hypot(p.GetX()-q.GetX(), p.GetY()-q.GetY())
}

// symbolSizes returns the sizes (modules a side) to try for t: those
// counted on the two timing patterns, then the detector's kind of estimate
// from the module size and its neighbours, each a valid size once.
func symbolSizes(bits *gozxing.BitMatrix, t trio) []int {
	var dims []int
	add := func(d int) {
		if d >= 21 && d <= 177 && d%4 == 1 && !slices.Contains(dims, d) {
			dims = append(dims, d)
		}
	}
	ms := (t.tl.GetEstimatedModuleSize() + t.tr.GetEstimatedModuleSize() + t.bl.GetEstimatedModuleSize()) / 3
	if d, ok := timingCount(bits, t.tl, t.tr, t.bl, ms); ok {
		add(d)
	}
	if d, ok := timingCount(bits, t.tl, t.bl, t.tr, ms); ok {
		add(d)
	}
	est := int(math.Round((dist(t.tl, t.tr)+dist(t.tl, t.bl))/2/ms)) + 7
	est -= (est%4 + 3) % 4 // the nearest size 4k+1 at or below
	add(est)
	add(est + 4)
	add(est - 4)
	return dims
}

// timingCount counts the modules of a symbol along its timing pattern: the
// line three modules from the centre of finder pattern from towards side
// (row or column 6), running to the same point of finder pattern to. It
// crosses a dark run (the finder's outer ring), the light separator, the
// alternating modules of the timing pattern, the other separator and the
// other finder's ring: size − 12 runs in all. A run shorter than a third of
// a module is noise and joins its neighbours. ok is false when the line
// leaves the image or the runs are too uneven to be a timing pattern.
func timingCount(bits *gozxing.BitMatrix, from, to, side *detector.FinderPattern, ms float64) (size int, ok bool) {
	sx, sy := side.GetX()-from.GetX(), side.GetY()-from.GetY()
	sl := math.Hypot(sx, sy)
	if sl == 0 || ms <= 0 {
		return 0, false
	}
	ox, oy := 3*ms*sx/sl, 3*ms*sy/sl
	x0, y0 := from.GetX()+ox, from.GetY()+oy
	x1, y1 := to.GetX()+ox, to.GetY()+oy
	const step = 0.25 // pixels between samples
	n := int(math.Hypot(x1-x0, y1-y0) / step)
	if n < 16 || n > 1<<16 {
		return 0, false
	}
	type run struct {
		dark bool
		n    int
	}
	runs := make([]run, 0, 200)
	for i := 0; i <= n; i++ {
		f := float64(i) / float64(n)
		x, y := int(x0+f*(x1-x0)), int(y0+f*(y1-y0))
		if x < 0 || y < 0 || x >= bits.GetWidth() || y >= bits.GetHeight() {
			return 0, false
		}
		v := bits.Get(x, y)
		if len(runs) > 0 && runs[len(runs)-1].dark == v {
			runs[len(runs)-1].n++
			continue
		}
		runs = append(runs, run{v, 1})
	}
	// Fold runs too short to be a module into the run before them, then
	// join neighbours of one colour.
	minRun := int(ms / 3 / step)
	merged := runs[:0]
	for _, r := range runs {
		switch {
		case len(merged) > 0 && (r.n < minRun || merged[len(merged)-1].dark == r.dark):
			merged[len(merged)-1].n += r.n
		default:
			merged = append(merged, r)
		}
	}
	if len(merged) < 9 || !merged[0].dark || !merged[len(merged)-1].dark {
		return 0, false
	}
	// Every module of the timing pattern about as long as the pitch the
	// count implies.
	size = len(merged) + 12
	pitch := float64(n) / float64(size-7)
	for _, r := range merged[1 : len(merged)-1] {
		if float64(r.n) > 1.8*pitch || float64(r.n) < 0.4*pitch {
			return 0, false
		}
	}
	return size, true
}

// sampleSymbol samples the dim×dim module grid of the symbol at t.
func sampleSymbol(bits *gozxing.BitMatrix, t trio, dim int) (*gozxing.BitMatrix, error) {
	ms := (dist(t.tl, t.tr) + dist(t.tl, t.bl)) / 2 / float64(dim-7)
	var align *detector.AlignmentPattern
	if dim > 21 {
		// The bottom-right alignment pattern sits 3 modules in from where a
		// fourth finder pattern would be.
		brx := t.tr.GetX() - t.tl.GetX() + t.bl.GetX()
		bry := t.tr.GetY() - t.tl.GetY() + t.bl.GetY()
		c := 1 - 3/float64(dim-7)
		ex := int(t.tl.GetX() + c*(brx-t.tl.GetX()))
		ey := int(t.tl.GetY() + c*(bry-t.tl.GetY()))
		for f := 4.0; f <= 16; f *= 2 {
			reach := int(f * ms)
			left, right := max(0, ex-reach), min(bits.GetWidth()-1, ex+reach)
			top, bottom := max(0, ey-reach), min(bits.GetHeight()-1, ey+reach)
			if float64(right-left) < 3*ms || float64(bottom-top) < 3*ms {
				break
			}
			if p, err := detector.NewAlignmentPatternFinder(bits, left, top, right-left, bottom-top, ms, nil).Find(); err == nil {
				align = p
				break
			}
		}
	}
	transform := detector.Detector_createTransform(t.tl, t.tr, t.bl, align, dim)
	return detector.Detector_sampleGrid(bits, transform, dim)
}
