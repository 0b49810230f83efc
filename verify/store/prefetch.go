package store

import "github.com/crlverify/crlverify/crl"

// prefetch decodes a snapshot body in its own goroutine, a chunk of items
// ahead of the store's writes, so that decoding and digesting overlap with
// indexing and bbolt's work on a second core.
type prefetch struct {
	ch    chan *chunk
	free  chan *chunk
	quit  chan struct{}
	done  chan struct{}
	cur   *chunk
	i     int
	ended bool
}

type chunk struct {
	items   []crl.Entry
	removed []bool
	err     error // set on the last chunk (io.EOF at the end)
}

const chunkItems = 8192

func newPrefetch(body itemReader) *prefetch {
	p := &prefetch{ch: make(chan *chunk, 2), free: make(chan *chunk, 4), quit: make(chan struct{}), done: make(chan struct{})}
	go p.run(body)
	return p
}

func (p *prefetch) run(body itemReader) {
	defer close(p.done)
	for {
		var c *chunk
		select {
		case c = <-p.free:
			c.items, c.removed = c.items[:0], c.removed[:0]
		default:
			c = &chunk{items: make([]crl.Entry, 0, chunkItems), removed: make([]bool, 0, chunkItems)}
		}
		for len(c.items) < chunkItems {
			e, removed, err := body.Next()
			if err != nil {
				c.err = err
				break
			}
			c.items = append(c.items, e)
			c.removed = append(c.removed, removed)
		}
		select {
		case p.ch <- c:
		case <-p.quit:
			return
		}
		if c.err != nil {
			return
		}
	}
}

// Next returns the items in order, then the body's final error (io.EOF
// when the digest checked out).
func (p *prefetch) Next() (crl.Entry, bool, error) {
	for {
		if p.cur != nil && p.i < len(p.cur.items) {
			i := p.i
			p.i++
			return p.cur.items[i], p.cur.removed[i], nil
		}
		if p.cur != nil {
			if p.cur.err != nil {
				return crl.Entry{}, false, p.cur.err
			}
			select {
			case p.free <- p.cur:
			default:
			}
		}
		p.cur, p.i = <-p.ch, 0
	}
}

// stop ends the goroutine and waits for it, so the body's reader is no
// longer used when the apply returns.
func (p *prefetch) stop() {
	if !p.ended {
		p.ended = true
		close(p.quit)
		<-p.done
	}
}
