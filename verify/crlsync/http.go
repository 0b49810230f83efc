package crlsync

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crlverify/crlverify/snapshot"
)

// HTTPDoer sends HTTP requests; *http.Client is one.
type HTTPDoer interface {
	Do(*http.Request) (*http.Response, error)
}

func defaultClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
	}}
}

// temporary marks an error worth another attempt.
type temporary struct{ error }

func (t temporary) Unwrap() error { return t.error }

func isTemporary(err error) bool {
	var t temporary
	return errors.As(err, &t)
}

// retry runs fn until it succeeds, fails for good, or has been tried
// Attempts times, pausing with exponential backoff and jitter between.
func (s *Syncer) retry(ctx context.Context, fn func() error) error {
	for attempt := 0; ; attempt++ {
		err := fn()
		if err == nil || !isTemporary(err) || attempt+1 >= s.opts.Attempts || ctx.Err() != nil {
			return err
		}
		d := s.opts.Backoff << attempt
		if d <= 0 || d > s.opts.MaxBackoff {
			d = s.opts.MaxBackoff
		}
		d = d/2 + rand.N(d/2+1)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %v)", ctx.Err(), err)
		case <-t.C:
		}
	}
}

type httpSource struct {
	base *url.URL
	s    *Syncer
}

func (h *httpSource) String() string { return h.base.String() }

func (h *httpSource) url(name string) string {
	return h.base.ResolveReference(&url.URL{Path: url.PathEscape(name)}).String()
}

// response is an HTTP response whose body is abandoned when no byte
// arrives for the stall timeout.
type response struct {
	*http.Response
	body   *stallReader
	cancel context.CancelFunc
}

func (r *response) close() {
	r.body.timer.Stop()
	r.Body.Close()
	r.cancel()
}

func (h *httpSource) get(parent context.Context, name string, header http.Header) (*response, error) {
	ctx, cancel := context.WithCancel(parent)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.url(name), nil)
	if err != nil {
		cancel()
		return nil, err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	stall := h.s.opts.StallTimeout
	sr := &stallReader{d: stall}
	sr.timer = time.AfterFunc(stall, func() { sr.stalled.Store(true); cancel() })
	resp, err := h.s.opts.HTTPClient.Do(req)
	if err != nil {
		sr.timer.Stop()
		cancel()
		// The caller's context, not the one just cancelled: a refused
		// connection or a failed name lookup is worth another attempt.
		if parent.Err() != nil {
			return nil, fmt.Errorf("%w: GET %s: %w", ErrSource, name, context.Cause(parent))
		}
		if sr.stalled.Load() {
			return nil, temporary{fmt.Errorf("%w: GET %s: no response for %v", ErrSource, name, stall)}
		}
		return nil, temporary{fmt.Errorf("%w: GET %s: %v", ErrSource, name, err)}
	}
	sr.r = resp.Body
	return &response{Response: resp, body: sr, cancel: cancel}, nil
}

// statusError describes a response that is not what was asked for; server
// errors and rate limits are worth another attempt.
func statusError(name string, resp *http.Response) error {
	err := fmt.Errorf("%w: GET %s: %s", ErrSource, name, resp.Status)
	if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
		return temporary{err}
	}
	return err
}

type stallReader struct {
	r       io.Reader
	d       time.Duration
	timer   *time.Timer
	stalled atomic.Bool
}

func (s *stallReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if n > 0 {
		s.timer.Reset(s.d)
	}
	if err != nil && err != io.EOF {
		if s.stalled.Load() {
			err = fmt.Errorf("%w: no data for %v", ErrSource, s.d)
		} else {
			err = fmt.Errorf("%w: %w", ErrSource, err)
		}
		err = temporary{err}
	}
	return n, err
}

func (h *httpSource) index(ctx context.Context, etag string) (out []byte, newETag string, notModified bool, err error) {
	err = h.s.retry(ctx, func() error {
		hdr := http.Header{}
		if etag != "" {
			hdr.Set("If-None-Match", etag)
		}
		resp, err := h.get(ctx, snapshot.IndexName, hdr)
		if err != nil {
			return err
		}
		defer resp.close()
		switch resp.StatusCode {
		case http.StatusNotModified:
			if etag == "" {
				return fmt.Errorf("%w: GET %s: 304 Not Modified to a request that named no version", ErrSource, snapshot.IndexName)
			}
			notModified = true
			return nil
		case http.StatusOK:
		default:
			return statusError(snapshot.IndexName, resp.Response)
		}
		if resp.ContentLength > snapshot.MaxIndexBytes {
			return fmt.Errorf("index: %w: %d bytes announced, at most %d", snapshot.ErrTooLarge, resp.ContentLength, snapshot.MaxIndexBytes)
		}
		b, err := io.ReadAll(io.LimitReader(resp.body, snapshot.MaxIndexBytes+1))
		if err != nil {
			return err
		}
		if len(b) > snapshot.MaxIndexBytes {
			return fmt.Errorf("index: %w: more than %d bytes", snapshot.ErrTooLarge, snapshot.MaxIndexBytes)
		}
		out, newETag = b, resp.Header.Get("ETag")
		return nil
	})
	return out, newETag, notModified, err
}

func (h *httpSource) fetch(ctx context.Context, f snapshot.IndexFile, sum *Summary) (string, func(), error) {
	part := h.s.partPath(f)
	for try := 0; ; try++ {
		resumed, err := h.download(ctx, f, part, sum)
		if err != nil {
			return "", nil, err
		}
		file, err := os.Open(part)
		if err != nil {
			return "", nil, err
		}
		_, err = checkFile(file, f)
		file.Close()
		if err == nil {
			return part, func() { os.Remove(part) }, nil
		}
		os.Remove(part)
		// A resumed download may have joined two different files; start
		// once more from the beginning.
		if !resumed || try > 0 {
			return "", nil, err
		}
	}
}

// download brings part to f.Length bytes, resuming what is there with
// Range requests. It reports whether it resumed an earlier partial file.
func (h *httpSource) download(ctx context.Context, f snapshot.IndexFile, part string, sum *Summary) (resumed bool, err error) {
	err = h.s.retry(ctx, func() error {
		have := int64(0)
		if fi, err := os.Stat(part); err == nil {
			have = fi.Size()
		}
		if have > f.Length {
			os.Remove(part)
			have = 0
		}
		if have == f.Length {
			return nil
		}
		hdr := http.Header{}
		if have > 0 {
			hdr.Set("Range", fmt.Sprintf("bytes=%d-", have))
		}
		resp, err := h.get(ctx, f.Name, hdr)
		if err != nil {
			return err
		}
		defer resp.close()
		flags := os.O_WRONLY | os.O_CREATE
		switch {
		case resp.StatusCode == http.StatusPartialContent && have > 0 && rangeStart(resp.Header.Get("Content-Range")) == have:
			flags |= os.O_APPEND
			resumed = true
		case resp.StatusCode == http.StatusOK:
			flags |= os.O_TRUNC
			have = 0
		case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable || resp.StatusCode == http.StatusPartialContent:
			os.Remove(part)
			return temporary{fmt.Errorf("%w: GET %s: range %d- refused", ErrSource, f.Name, have)}
		default:
			return statusError(f.Name, resp.Response)
		}
		remaining := f.Length - have
		if resp.ContentLength > remaining {
			os.Remove(part)
			return fmt.Errorf("%w: %s: %d bytes announced, the index gives %d", snapshot.ErrTooLarge, f.Name, resp.ContentLength+have, f.Length)
		}
		w, err := os.OpenFile(part, flags, 0o600)
		if err != nil {
			return fmt.Errorf("partial download: %w", err)
		}
		pw := &progressWriter{w: w, s: h.s, name: f.Name, done: have, total: f.Length}
		n, cerr := io.Copy(pw, io.LimitReader(resp.body, remaining+1))
		sum.BytesFetched += n
		if err := w.Close(); err != nil && pw.err == nil {
			pw.err = err
		}
		if pw.err != nil {
			// The disk, not the network: a partial file that cannot grow
			// is of no use to a later sync, and takes room it may need.
			os.Remove(part)
			return fmt.Errorf("partial download: %w", pw.err)
		}
		switch {
		case n > remaining:
			os.Remove(part)
			return fmt.Errorf("%w: %s: more than the %d bytes the index gives", snapshot.ErrTooLarge, f.Name, f.Length)
		case cerr != nil:
			return cerr
		case n < remaining:
			return temporary{fmt.Errorf("%w: %s: %w after %d of %d bytes", ErrSource, f.Name, io.ErrUnexpectedEOF, have+n, f.Length)}
		}
		return nil
	})
	return resumed, err
}

// rangeStart returns the first byte of a "bytes a-b/n" Content-Range, or -1.
func rangeStart(cr string) int64 {
	rest, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return -1
	}
	a, _, ok := strings.Cut(rest, "-")
	if !ok {
		return -1
	}
	n, err := strconv.ParseInt(a, 10, 64)
	if err != nil {
		return -1
	}
	return n
}

type progressWriter struct {
	w           io.Writer
	s           *Syncer
	name        string
	done, total int64
	last        int64
	err         error // the first write error
}

func (p *progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	if err != nil && p.err == nil {
		p.err = err
	}
	p.done += int64(n)
	if p.done-p.last >= 256<<10 || p.done == p.total {
		p.last = p.done
		p.s.progress(Progress{Phase: PhaseDownload, File: p.name, Done: p.done, Total: p.total})
	}
	return n, err
}
