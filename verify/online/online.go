// Package online is a verifier's online fallback: when its store has no
// conclusive revocation answer for a certificate (no list covers the
// issuer, or the list is past its next update), and a network is there, it
// may ask the issuing authority's status endpoint, GET /v1/status of
// "crlverify serve" (package crl/service specifies it), DIVOC's online
// verification.
//
// [Client.Fallback] wraps a CRL store as the [verify.Revocations] a
// [verify.Verifier] (or "crlverify check") asks: the store first; only when
// its answer is not conclusive, the endpoint. An answer the store gives
// conclusively (a fresh list, or a revocation from any list) is never
// replaced. An online answer is marked as such in the verdict
// (revocation.source "online", freshness "fresh", known true when the
// authority answers revoked, suspended or not_revoked); when the endpoint
// cannot answer (no network, a timeout, a refusal, an answer that does not
// parse or does not match the question, an issuer the authority does not
// cover) the store's answer stands, still not conclusive, and its detail
// says why the online attempt failed.
//
// # The request
//
//	GET <base>/v1/status?issuer=<issuer>&id=<certificate id>&at=<RFC 3339>
//	Authorization: Bearer <token>        (a token with the reader role)
//	Accept: application/json
//
// HTTPS is required, except to a loopback address (a local test or a
// sidecar). Redirects are not followed. Each request is bounded by the
// caller's context and by [Options.Timeout] (10 s by default); the answer
// is read up to [MaxResponseBytes]. After a request fails for a reason
// other than the certificate asked about (the endpoint unreachable, a
// timeout, a 5xx, the token refused), a Fallback asks no more: each later
// check says the endpoint failed, so a verifier offline pays for one
// timeout, not one per certificate.
//
// # The answer
//
// A JSON object (members not named here are ignored):
//
//	issuer           string  the issuer asked about
//	certificate_id   string  the id asked about
//	status           string  revoked | suspended | not_revoked | unknown
//	revoked_at       string  RFC 3339; required for revoked and suspended
//	reason           string  a reason name (crl.Reason); required with revoked_at
//	suspended_until  string  RFC 3339; required for suspended, after "at"
//	at               string  RFC 3339: the time the status is for
//
// An answer whose issuer or certificate_id differs from the question, with
// an unknown status or reason, or with the times a status needs missing,
// is refused. "unknown" means the authority's list does not cover the
// issuer: the online attempt then gives no answer.
package online

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/shc"
	"github.com/crlverify/crlverify/verify/store"
)

// Bounds of the client.
const (
	// DefaultTimeout bounds one request, connection and answer included.
	DefaultTimeout = 10 * time.Second
	// MaxResponseBytes bounds an answer; the service's are a few hundred
	// bytes.
	MaxResponseBytes = 64 << 10
	// MaxTokenBytes bounds a token.
	MaxTokenBytes = 8 << 10
	// maxIDBytes bounds the ids asked about (the service's own bound).
	maxIDBytes = 1024
)

// Errors a caller can branch on.
var (
	// ErrURL: the endpoint URL is not https (or http to a loopback
	// address), or is not a URL.
	ErrURL = errors.New("online: the status endpoint must be an https URL (http only to a loopback address)")
	// ErrAnswer: the endpoint's answer is malformed, too large, or does
	// not answer the question asked.
	ErrAnswer = errors.New("online: bad answer from the status endpoint")
)

// Options configure a Client. A nil *Options means the defaults.
type Options struct {
	// Token is sent as "Authorization: Bearer <token>": an API token with
	// the reader role, or an access token from the authority's identity
	// provider. Empty: no Authorization header.
	Token string
	// RootCAs, if set, are the only certificate authorities trusted for
	// the endpoint (an authority's private PKI); nil: the system's.
	RootCAs *x509.CertPool
	// Timeout bounds each request; zero means DefaultTimeout.
	Timeout time.Duration
	// Transport, if set, replaces the client's own (tests, proxies); it is
	// used as given, RootCAs aside.
	Transport http.RoundTripper
}

// Client asks one authority's status endpoint. It is safe for concurrent
// use.
type Client struct {
	status  *url.URL
	token   string
	timeout time.Duration
	hc      *http.Client
}

// New returns a Client for the service at base, its base URL
// ("https://crl.moh.example:8443"; a URL ending in /v1/status is used as
// it is).
func New(base string, opts *Options) (*Client, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	u, err := url.Parse(base)
	if err != nil || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%w: %q", ErrURL, base)
	}
	switch u.Scheme {
	case "https":
	case "http":
		if !loopback(u.Hostname()) {
			return nil, fmt.Errorf("%w: %s is not a loopback address", ErrURL, u.Host)
		}
	default:
		return nil, fmt.Errorf("%w: %q", ErrURL, base)
	}
	if !strings.HasSuffix(u.Path, "/v1/status") {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/status"
	}
	if len(o.Token) > MaxTokenBytes || strings.ContainsAny(o.Token, "\r\n") {
		return nil, errors.New("online: the token is not a bearer token")
	}
	if o.Timeout < 0 {
		return nil, errors.New("online: negative timeout")
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	tr := o.Transport
	if tr == nil {
		tr = &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: o.RootCAs},
			TLSHandshakeTimeout: o.Timeout,
			ForceAttemptHTTP2:   true,
			MaxIdleConnsPerHost: 4,
		}
	}
	hc := &http.Client{
		Transport: tr,
		// A redirect could lead off HTTPS, or elsewhere with the token.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &Client{status: u, token: o.Token, timeout: o.Timeout, hc: hc}, nil
}

// loopback reports whether host names a loopback address.
func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// URL returns the status endpoint's URL.
func (c *Client) URL() string { return c.status.String() }

// Answer is the authority's answer about one certificate.
type Answer struct {
	Issuer        string
	CertificateID string
	// Status is "revoked", "suspended", "not_revoked" or "unknown".
	Status string
	// The revocation, for revoked and suspended.
	RevokedAt      time.Time
	Reason         crl.Reason
	SuspendedUntil time.Time
	// At is the time the status is for.
	At time.Time
}

// transportError is a failure of the endpoint rather than of its answer:
// after one, a Fallback asks no more.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }

// Status asks the endpoint for the status of certificate id of issuer at
// time at, within ctx and the client's timeout.
func (c *Client) Status(ctx context.Context, issuer, id string, at time.Time) (Answer, error) {
	if id == "" || len(id) > maxIDBytes || len(issuer) > maxIDBytes {
		return Answer{}, errors.New("online: the certificate id or issuer is empty or too long to ask about")
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	u := *c.status
	q := url.Values{}
	if issuer != "" {
		q.Set("issuer", issuer)
	}
	q.Set("id", id)
	if !at.IsZero() {
		q.Set("at", at.UTC().Format(time.RFC3339))
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Accept", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		switch {
		case parent.Err() != nil:
			err = fmt.Errorf("not answered: %w", parent.Err())
		case ctx.Err() != nil:
			err = fmt.Errorf("no answer within %v: %w", c.timeout, ctx.Err())
		}
		return Answer{}, &transportError{err}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		return Answer{}, &transportError{fmt.Errorf("reading the answer: %w", err)}
	}
	if len(body) > MaxResponseBytes {
		return Answer{}, fmt.Errorf("%w: larger than %d bytes", ErrAnswer, MaxResponseBytes)
	}
	switch code := resp.StatusCode; {
	case code == http.StatusOK:
	case code == http.StatusUnauthorized:
		return Answer{}, &transportError{errors.New("the status endpoint wants a valid token (HTTP 401): give one with the reader role")}
	case code == http.StatusForbidden:
		return Answer{}, &transportError{errors.New("the status endpoint refused the token (HTTP 403): it needs the reader role")}
	case code >= 500:
		return Answer{}, &transportError{fmt.Errorf("the status endpoint failed (HTTP %d)", code)}
	default:
		return Answer{}, fmt.Errorf("the status endpoint answered HTTP %d%s", code, errorOf(body))
	}
	return ParseAnswer(body, issuer, id)
}

// errorOf quotes the {"error": ...} of a refusal, briefly.
func errorOf(body []byte) string {
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &e) != nil || e.Error == "" {
		return ""
	}
	if len(e.Error) > 200 {
		e.Error = e.Error[:200] + "…"
	}
	return ": " + strings.ToValidUTF8(e.Error, "?")
}

// answerJSON is the wire form of an answer.
type answerJSON struct {
	Issuer         *string    `json:"issuer"`
	CertificateID  *string    `json:"certificate_id"`
	Status         *string    `json:"status"`
	RevokedAt      *time.Time `json:"revoked_at"`
	Reason         *string    `json:"reason"`
	SuspendedUntil *time.Time `json:"suspended_until"`
	At             *time.Time `json:"at"`
}

// ParseAnswer parses the endpoint's answer to the question (issuer, id)
// and checks that it answers it. issuer may be empty when the question
// named none; the answer's issuer is then taken. Errors wrap ErrAnswer.
func ParseAnswer(body []byte, issuer, id string) (Answer, error) {
	bad := func(format string, args ...any) (Answer, error) {
		return Answer{}, fmt.Errorf("%w: %s", ErrAnswer, fmt.Sprintf(format, args...))
	}
	if len(body) > MaxResponseBytes {
		return bad("larger than %d bytes", MaxResponseBytes)
	}
	var j answerJSON
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&j); err != nil {
		return bad("not the JSON object of a status")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bad("more than one JSON value")
	}
	switch {
	case j.Issuer == nil || j.CertificateID == nil || j.Status == nil || j.At == nil:
		return bad("issuer, certificate_id, status or at missing")
	case *j.CertificateID != id:
		return bad("it is about another certificate")
	case issuer != "" && *j.Issuer != issuer:
		return bad("it is about another issuer")
	case *j.Issuer == "" || len(*j.Issuer) > maxIDBytes || !utf8.ValidString(*j.Issuer):
		return bad("the issuer is empty, too long or not UTF-8")
	}
	a := Answer{Issuer: *j.Issuer, CertificateID: id, Status: *j.Status, At: j.At.UTC()}
	switch a.Status {
	case "revoked", "suspended":
		if j.RevokedAt == nil || j.Reason == nil {
			return bad("a %s certificate without revoked_at or reason", a.Status)
		}
		r, err := crl.ParseReason(*j.Reason)
		if err != nil || !r.Valid() {
			return bad("unknown reason")
		}
		a.RevokedAt, a.Reason = j.RevokedAt.UTC(), r
		if a.Status == "suspended" {
			if j.SuspendedUntil == nil || !j.SuspendedUntil.After(a.At) {
				return bad("a suspension without an end after the time asked")
			}
			a.SuspendedUntil = j.SuspendedUntil.UTC()
		}
		if a.RevokedAt.Unix() <= 0 || !validTime(a.RevokedAt) || !validTime(a.SuspendedUntil) {
			return bad("a time out of range")
		}
	case "not_revoked", "unknown":
	default:
		return bad("unknown status")
	}
	return a, nil
}

// validTime reports whether t (zero allowed) fits a list entry.
func validTime(t time.Time) bool {
	return t.IsZero() || t.Unix() > 0 && t.Unix() < 1<<40
}

// Fallback returns the Revocations that answer from primary (a CRL store;
// nil: none) and, when its answer is not conclusive, from the endpoint,
// asking within ctx. If primary holds SMART Health Cards issuers' lists
// (verify.SHCLists), so does the result.
func (c *Client) Fallback(ctx context.Context, primary verify.Revocations) verify.Revocations {
	f := &fallback{ctx: ctx, primary: primary, c: c}
	if lists, ok := primary.(verify.SHCLists); ok {
		return &fallbackSHC{fallback: f, lists: lists}
	}
	return f
}

type fallback struct {
	ctx     context.Context
	primary verify.Revocations
	c       *Client

	mu     sync.Mutex
	failed error // the endpoint's failure: asked no more
}

type fallbackSHC struct {
	*fallback
	lists verify.SHCLists
}

func (f *fallbackSHC) SHCList(issuer, kid string) (*shc.CRL, store.SHCList, bool, error) {
	return f.lists.SHCList(issuer, kid)
}

// Check implements verify.Revocations.
func (f *fallback) Check(issuer, id string, at time.Time) (store.Result, error) {
	r := store.Result{Issuer: issuer, Key: crl.KeyOf(issuer, id), At: at}
	if f.primary != nil {
		var err error
		if r, err = f.primary.Check(issuer, id, at); err != nil {
			return r, err
		}
	}
	if r.Conclusive() {
		return r, nil
	}
	f.mu.Lock()
	failed := f.failed
	f.mu.Unlock()
	if failed != nil {
		r.OnlineError = "not asked: " + failed.Error()
		return r, nil
	}
	a, err := f.c.Status(f.ctx, issuer, id, at)
	if err != nil {
		var te *transportError
		if errors.As(err, &te) {
			f.mu.Lock()
			if f.failed == nil {
				f.failed = err
			}
			f.mu.Unlock()
		}
		r.OnlineError = err.Error()
		return r, nil
	}
	if a.Status == "unknown" {
		r.OnlineError = fmt.Sprintf("the authority's list does not cover issuer %s", a.Issuer)
		return r, nil
	}
	on := store.Result{Issuer: issuer, Key: r.Key, At: at, Freshness: store.Fresh, Source: store.SourceOnline,
		ThisUpdate: a.At, NextUpdate: a.At, NewestSeen: a.At, Status: store.NotRevoked}
	switch a.Status {
	case "revoked", "suspended":
		e := crl.Entry{Key: r.Key, RevokedAt: a.RevokedAt.Unix(), Reason: a.Reason}
		on.Status = store.Revoked
		if a.Status == "suspended" {
			on.Status = store.Suspended
			e.SuspendedUntil = a.SuspendedUntil.Unix()
		}
		on.Entry = &e
	}
	return on, nil
}
