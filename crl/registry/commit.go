package registry

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"
)

// Group commit. Revoke, Suspend and Lift queue their request; one
// goroutine per Registry takes every request queued (up to maxGroup) and
// applies them in one bbolt transaction, so many callers share one
// durable commit (two fsyncs). A request refused by a rule or as invalid
// writes nothing and fails alone; if the shared transaction fails for
// another reason (a full disk), each request of the group is retried in a
// transaction of its own, so one cannot fail the others. Requests that
// select more than bulkThreshold certificates run after the group, as bulk
// operations.

const maxGroup = 1024

type pendingOp struct {
	action Action
	req    Request
	state  atomic.Int32 // opQueued, opTaken, opAbandoned
	done   chan opResult
}

const (
	opQueued = iota
	opTaken
	opAbandoned
)

type opResult struct {
	out Outcome
	err error
}

type committer struct {
	r       *Registry
	mu      sync.Mutex
	queue   []*pendingOp
	running bool
	stopped bool
	wg      sync.WaitGroup
}

// submit queues op and waits for its result. If ctx ends before op is
// taken into a transaction, op is dropped and ctx's error returned; once
// taken, submit waits for the commit.
func (c *committer) submit(ctx context.Context, op *pendingOp) (Outcome, error) {
	op.done = make(chan opResult, 1)
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return Outcome{}, ErrClosed
	}
	c.queue = append(c.queue, op)
	if !c.running {
		c.running = true
		c.wg.Add(1)
		go c.run()
	}
	c.mu.Unlock()
	select {
	case res := <-op.done:
		return res.out, res.err
	case <-ctx.Done():
		if op.state.CompareAndSwap(opQueued, opAbandoned) {
			return Outcome{}, ctx.Err()
		}
		res := <-op.done
		return res.out, res.err
	}
}

// take removes up to maxGroup live requests from the queue; with wait
// false it returns nil for an empty queue without ending the goroutine.
func (c *committer) take(end bool) []*pendingOp {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*pendingOp
	n := 0
	for n < len(c.queue) && len(out) < maxGroup {
		op := c.queue[n]
		n++
		if op.state.CompareAndSwap(opQueued, opTaken) {
			out = append(out, op)
		}
	}
	c.queue = c.queue[n:]
	if len(c.queue) == 0 {
		c.queue = nil
	}
	if len(out) == 0 && end {
		c.running = false
	}
	return out
}

func (c *committer) stop() {
	c.mu.Lock()
	c.stopped = true
	q := c.queue
	c.queue = nil
	c.mu.Unlock()
	for _, op := range q {
		if op.state.CompareAndSwap(opQueued, opTaken) {
			op.done <- opResult{err: ErrClosed}
		}
	}
	c.wg.Wait()
}

func (c *committer) run() {
	defer c.wg.Done()
	r := c.r
	for {
		// Requests are taken only once the file is ours: until then a
		// caller whose context ends can still withdraw.
		r.bmu.RLock()
		r.wmu.Lock()
		db, err := r.acquire()
		group := c.take(true)
		if len(group) == 0 {
			if err == nil {
				r.release()
			}
			r.wmu.Unlock()
			r.bmu.RUnlock()
			return
		}
		var bulk []*pendingOp
		if err != nil {
			for _, op := range group {
				op.done <- opResult{err: err}
			}
		} else {
			// Keep the file while requests keep coming, unless a writer
			// of this process or another process waits for it.
			for {
				bulk = append(bulk, c.commit(db, group)...)
				if r.writersWaiting.Load() > 0 || r.gateWaiting() {
					break
				}
				if group = c.take(false); len(group) == 0 {
					break
				}
			}
			r.release()
		}
		r.wmu.Unlock()
		r.bmu.RUnlock()
		for _, op := range bulk {
			out, err := r.bulkRequest(op.action, &op.req)
			op.done <- opResult{out: out, err: err}
		}
	}
}

// requestError reports whether err refuses one request (and wrote
// nothing), as opposed to a failure of the transaction.
func requestError(err error) bool {
	return errors.Is(err, ErrInvalid) || errors.Is(err, ErrRule) || errors.Is(err, ErrNotFound) ||
		errors.Is(err, ErrTooManyIssuers)
}

// commit applies a group in one transaction and answers each request;
// it returns the requests that need the bulk path.
func (c *committer) commit(db *bolt.DB, group []*pendingOp) []*pendingOp {
	r := c.r
	results := make([]opResult, len(group))
	isBulk := make([]bool, len(group))
	err := db.Update(func(tx *bolt.Tx) error {
		return runTxc(r, tx, func(t *txc) error {
			for i, op := range group {
				out, err := t.applyOp(op.action, &op.req, bulkThreshold)
				switch {
				case errors.Is(err, errBulk):
					isBulk[i] = true
				case err != nil && !requestError(err):
					return err
				default:
					results[i] = opResult{out: out, err: err}
				}
			}
			return nil
		})
	})
	if err != nil {
		// Retry each request alone.
		for i, op := range group {
			isBulk[i] = false
			err := db.Update(func(tx *bolt.Tx) error {
				return runTxc(r, tx, func(t *txc) error {
					out, err := t.applyOp(op.action, &op.req, bulkThreshold)
					results[i] = opResult{out: out, err: err}
					if errors.Is(err, errBulk) {
						isBulk[i] = true
						return nil
					}
					if err != nil && requestError(err) {
						return nil
					}
					return err
				})
			})
			if err != nil {
				results[i] = opResult{err: err}
			}
		}
	}
	var bulk []*pendingOp
	for i, op := range group {
		if isBulk[i] {
			bulk = append(bulk, op)
			continue
		}
		op.done <- results[i]
	}
	return bulk
}
