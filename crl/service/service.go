package service

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/crl/service/auth"
	"github.com/crlverify/crlverify/verify"
)

// Defaults of Config.
const (
	DefaultMaxBody          = 64 << 10
	DefaultIndexMaxAge      = 5 * time.Minute
	DefaultFileWriteTimeout = 10 * time.Minute
	DefaultPageLimit        = 100
	MaxPageLimit            = 1000
)

// Authenticator is the one authentication check; *auth.Authenticator
// implements it. Errors wrap auth.ErrNoCredentials or
// auth.ErrBadCredentials.
type Authenticator interface {
	Authenticate(r *http.Request) (auth.Principal, error)
}

// Config configures a Service.
type Config struct {
	// Dir is the publication directory served under "/". Empty: no files.
	Dir string
	// Backend answers the /v1/ API. Nil: no API (only files and /healthz).
	Backend Backend
	// Auth checks every /v1/ request; required with a Backend.
	Auth Authenticator
	// Verifier answers POST /v1/verify; nil answers 501. Build it with
	// RevocationsOf(Backend) so the registry itself answers revocation.
	Verifier *verify.Verifier
	// Logger receives the request and change log. Nil: none.
	Logger *slog.Logger
	// LogKey keys the pseudonyms logged in place of personal identifiers
	// (see Pseudonym). Nil: a random key per Service, so pseudonyms
	// correlate only within one run.
	LogKey []byte
	// MaxBody bounds a request body. Zero: DefaultMaxBody.
	MaxBody int64
	// IndexMaxAge bounds how long caches may keep index.jws. Zero:
	// DefaultIndexMaxAge.
	IndexMaxAge time.Duration
	// FileWriteTimeout is how long one publication file may take to send
	// (it replaces the server's write timeout for those). Zero:
	// DefaultFileWriteTimeout.
	FileWriteTimeout time.Duration
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
}

// Service is the authority's HTTP service: the publication files, the
// /v1/ API and /healthz. It is an http.Handler, safe for concurrent use.
type Service struct {
	cfg    Config
	log    *slog.Logger
	files  *fileServer
	routes map[string]*route
	reqSeq atomic.Uint64
	idBase string
}

// New returns the Service of cfg.
func New(cfg Config) (*Service, error) {
	if cfg.Backend != nil && cfg.Auth == nil {
		return nil, errors.New("service: an API (Backend) needs an Authenticator")
	}
	if cfg.MaxBody == 0 {
		cfg.MaxBody = DefaultMaxBody
	}
	if cfg.IndexMaxAge == 0 {
		cfg.IndexMaxAge = DefaultIndexMaxAge
	}
	if cfg.FileWriteTimeout == 0 {
		cfg.FileWriteTimeout = DefaultFileWriteTimeout
	}
	if cfg.MaxBody < 0 || cfg.IndexMaxAge < 0 || cfg.FileWriteTimeout < 0 {
		return nil, errors.New("service: negative limit")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.LogKey == nil {
		cfg.LogKey = make([]byte, 32)
		if _, err := rand.Read(cfg.LogKey); err != nil {
			return nil, err
		}
	}
	s := &Service{cfg: cfg, log: cfg.Logger}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var b [4]byte
	rand.Read(b[:])
	s.idBase = hex.EncodeToString(b[:])
	if cfg.Dir != "" {
		fs, err := newFileServer(cfg.Dir, cfg.IndexMaxAge, cfg.FileWriteTimeout, cfg.Now)
		if err != nil {
			return nil, err
		}
		s.files = fs
	}
	s.routes = map[string]*route{}
	for _, rt := range []*route{
		{http.MethodPost, "/v1/revoke", auth.RoleRevoker, s.write(OpRevoke)},
		{http.MethodPost, "/v1/suspend", auth.RoleRevoker, s.write(OpSuspend)},
		{http.MethodPost, "/v1/lift", auth.RoleRevoker, s.write(OpLift)},
		{http.MethodPost, "/v1/publish", auth.RolePublisher, s.publish},
		{http.MethodGet, "/v1/revocations", auth.RoleAuditor, s.revocations},
		{http.MethodGet, "/v1/audit", auth.RoleAuditor, s.audit},
		{http.MethodGet, "/v1/status", auth.RoleReader, s.status},
		{http.MethodPost, "/v1/verify", auth.RoleReader, s.verify},
	} {
		s.routes[rt.path] = rt
	}
	return s, nil
}

// route is one API endpoint and the role it needs.
type route struct {
	method string
	path   string
	role   auth.Role
	handle func(w *response, r *http.Request, p auth.Principal)
}

// response records what was answered, for the request log.
type response struct {
	http.ResponseWriter
	status int
	bytes  int64
	id     string
	actor  string
	// errDetail is the internal error behind a 5xx, logged not sent.
	errDetail error
}

func (w *response) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *response) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the connection.
func (w *response) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// ServeHTTP implements http.Handler.
func (s *Service) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	start := time.Now()
	w := &response{ResponseWriter: rw, id: s.idBase + "-" + strconv.FormatUint(s.reqSeq.Add(1), 10)}
	h := w.Header()
	h.Set("X-Content-Type-Options", "nosniff")
	if r.TLS != nil {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			w.errDetail = fmt.Errorf("panic: %v", v)
			if w.status == 0 {
				s.fail(w, http.StatusInternalServerError, "internal error")
			}
		}
		s.logRequest(r, w, time.Since(start))
	}()
	switch path := r.URL.Path; {
	case path == "/healthz":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			s.fail(w, http.StatusMethodNotAllowed, "use GET")
			return
		}
		h.Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	case path == "/v1" || strings.HasPrefix(path, "/v1/"):
		s.api(w, r)
	case s.files != nil:
		s.files.serve(w, r)
	default:
		s.fail(w, http.StatusNotFound, "not found")
	}
}

// api authenticates, authorizes and dispatches one /v1/ request.
func (s *Service) api(w *response, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	rt := s.routes[r.URL.Path]
	if s.cfg.Backend == nil || rt == nil {
		s.fail(w, http.StatusNotFound, "no such endpoint")
		return
	}
	if r.Method != rt.method && !(rt.method == http.MethodGet && r.Method == http.MethodHead) {
		w.Header().Set("Allow", rt.method)
		s.fail(w, http.StatusMethodNotAllowed, "use "+rt.method)
		return
	}
	p, err := s.cfg.Auth.Authenticate(r)
	if err != nil {
		challenge := `Bearer realm="crlverify"`
		reason := "no credentials"
		if !errors.Is(err, auth.ErrNoCredentials) {
			challenge += `, error="invalid_token"`
			reason = "invalid credentials"
		}
		s.log.Warn("refused", "request_id", w.id, "path", r.URL.Path, "remote", r.RemoteAddr,
			"status", http.StatusUnauthorized, "reason", reason, "detail", err.Error())
		w.Header().Set("WWW-Authenticate", challenge)
		s.fail(w, http.StatusUnauthorized, "authentication required: send Authorization: Bearer <token>")
		return
	}
	w.actor = p.Name
	if !p.Has(rt.role) {
		s.log.Warn("refused", "request_id", w.id, "path", r.URL.Path, "remote", r.RemoteAddr,
			"status", http.StatusForbidden, "reason", "missing role", "actor", p.Name,
			"role_needed", string(rt.role), "roles", p.Roles)
		s.fail(w, http.StatusForbidden, fmt.Sprintf("this endpoint needs the %s role", rt.role))
		return
	}
	rt.handle(w, r, p)
}

// readBody reads a bounded request body; on failure it answers and
// returns false.
func (s *Service) readBody(w *response, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBody))
	if err == nil {
		return body, true
	}
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		s.fail(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("request body larger than %d bytes", s.cfg.MaxBody))
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.fail(w, http.StatusRequestTimeout, "request body too slow")
	default:
		s.fail(w, http.StatusBadRequest, "could not read the request body")
	}
	return nil, false
}

// write is the handler of a revoke, suspend or lift. Requests go to the
// backend as they come, concurrently: the registry groups them into
// shared durable commits.
func (s *Service) write(op string) func(*response, *http.Request, auth.Principal) {
	return func(w *response, r *http.Request, p auth.Principal) {
		body, ok := s.readBody(w, r)
		if !ok {
			return
		}
		req, err := ParseRequest(op, body, s.cfg.Now())
		if err != nil {
			s.backendError(w, err)
			return
		}
		req.Actor = p.Name
		var out registry.Outcome
		switch op {
		case OpRevoke:
			out, err = s.cfg.Backend.Revoke(r.Context(), req)
		case OpSuspend:
			out, err = s.cfg.Backend.Suspend(r.Context(), req)
		default:
			out, err = s.cfg.Backend.Lift(r.Context(), req)
		}
		attrs := s.requestAttrs(w, op, req)
		if err != nil {
			code, _, _ := statusOf(err)
			s.log.Warn("change refused", append(attrs, "status", code, "refusal", refusalKind(err))...)
			s.backendError(w, err)
			return
		}
		view := OutcomeOf(out)
		view.Action = op
		for _, c := range view.Changed {
			a := append(attrs[:len(attrs):len(attrs)], "issuer", c.Issuer, "certificate", s.Pseudonym(c.CertificateID))
			if c.After != nil {
				a = append(a, "status", c.After.Status, "reason", c.After.Reason.String(), "revoked_at", c.After.RevokedAt)
				if !c.After.SuspendedUntil.IsZero() {
					a = append(a, "suspended_until", c.After.SuspendedUntil)
				}
			} else {
				a = append(a, "status", "not_revoked")
			}
			s.log.Info("change", a...)
		}
		writeJSON(w, http.StatusOK, view)
	}
}

// requestAttrs are the log attributes of a write: who, what, and the
// selector with personal identifiers pseudonymised.
func (s *Service) requestAttrs(w *response, op string, req registry.Request) []any {
	a := []any{"request_id", w.id, "action", op, "actor", req.Actor, "selector", selectorKind(req.Selector)}
	switch {
	case req.BeneficiaryID != "":
		a = append(a, "beneficiary", s.Pseudonym(req.BeneficiaryID))
		if req.AllDoses {
			a = append(a, "all_doses", true)
		} else {
			a = append(a, "doses", req.Doses)
		}
	case req.Batch != "":
		a = append(a, "batch", req.Batch)
	default:
		a = append(a, "certificate", s.Pseudonym(req.CertificateID))
	}
	if req.Note != "" {
		// The note is free text and may hold personal data: only its size.
		a = append(a, "note_bytes", len(req.Note))
	}
	return a
}

// selectorKind names a selector's kind for the log: "certificate_id",
// "beneficiary" or "batch".
func selectorKind(s registry.Selector) string {
	switch {
	case s.BeneficiaryID != "":
		return "beneficiary"
	case s.Batch != "":
		return "batch"
	}
	return "certificate_id"
}

func (s *Service) publish(w *response, r *http.Request, p auth.Principal) {
	if _, ok := s.readBody(w, r); !ok {
		return
	}
	res, err := s.Publish(r.Context(), p.Name)
	if err != nil {
		s.backendError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// Publish publishes a new serial through the Backend on behalf of actor,
// and logs it.
func (s *Service) Publish(ctx context.Context, actor string) (*registry.PublishResult, error) {
	if s.cfg.Backend == nil {
		return nil, ErrNotSupported
	}
	res, err := s.cfg.Backend.Publish(ctx, actor)
	if err != nil {
		s.log.Error("publish failed", "actor", actor, "error", err.Error())
		return nil, err
	}
	s.log.Info("publish", "actor", actor, "serial", res.Serial, "entries", res.ListCount,
		"next_update", res.NextUpdate, "deltas", len(res.Deltas))
	return res, nil
}

func (s *Service) revocations(w *response, r *http.Request, _ auth.Principal) {
	q := r.URL.Query()
	var rq registry.RevocationQuery
	var err error
	if rq.Since, err = queryTime(q.Get("since")); err != nil {
		s.fail(w, http.StatusBadRequest, `"since": `+err.Error())
		return
	}
	if rq.Until, err = queryTime(q.Get("until")); err != nil {
		s.fail(w, http.StatusBadRequest, `"until": `+err.Error())
		return
	}
	if rq.Limit, err = queryLimit(q.Get("limit")); err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	rq.Cursor = q.Get("page")
	if len(rq.Cursor) > 256 {
		s.fail(w, http.StatusBadRequest, "bad page cursor")
		return
	}
	rq.At = s.cfg.Now()
	recs, next, err := s.cfg.Backend.Revocations(r.Context(), rq)
	if err != nil {
		s.backendError(w, err)
		return
	}
	if recs == nil {
		recs = []registry.RevocationRecord{}
	}
	writeJSON(w, http.StatusOK, RevocationPage{Revocations: recs, NextPage: next})
}

func (s *Service) audit(w *response, r *http.Request, _ auth.Principal) {
	q := r.URL.Query()
	limit, err := queryLimit(q.Get("limit"))
	if err != nil {
		s.fail(w, http.StatusBadRequest, err.Error())
		return
	}
	from := uint64(1)
	if v := q.Get("from"); v != "" {
		if from, err = strconv.ParseUint(v, 10, 64); err != nil || from == 0 {
			s.fail(w, http.StatusBadRequest, `"from" is a record number from 1`)
			return
		}
	}
	page, err := s.cfg.Backend.Audit(r.Context(), from, limit)
	if err != nil {
		s.backendError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, page)
}

func (s *Service) status(w *response, r *http.Request, _ auth.Principal) {
	q := r.URL.Query()
	id, err := field("id", q.Get("id"), MaxIDBytes)
	if err != nil {
		s.backendError(w, err)
		return
	}
	issuer := q.Get("issuer")
	if issuer != "" {
		if issuer, err = field("issuer", issuer, MaxIssuerBytes); err != nil {
			s.backendError(w, err)
			return
		}
	}
	at := s.cfg.Now()
	if v := q.Get("at"); v != "" {
		if at, err = queryTime(v); err != nil {
			s.fail(w, http.StatusBadRequest, `"at": `+err.Error())
			return
		}
	}
	st, err := s.cfg.Backend.Status(r.Context(), issuer, id, at)
	if err != nil {
		s.backendError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, StatusOf(st))
}

func (s *Service) verify(w *response, r *http.Request, _ auth.Principal) {
	if s.cfg.Verifier == nil {
		s.fail(w, http.StatusNotImplemented, "verification is not configured: the service has no trust store (serve --trust FILE)")
		return
	}
	at := s.cfg.Now()
	if v := r.URL.Query().Get("at"); v != "" {
		var err error
		if at, err = queryTime(v); err != nil {
			s.fail(w, http.StatusBadRequest, `"at": `+err.Error())
			return
		}
	}
	body, ok := s.readBody(w, r)
	if !ok {
		return
	}
	if len(body) == 0 {
		s.fail(w, http.StatusBadRequest, "send the QR payload bytes as the request body")
		return
	}
	res := s.cfg.Verifier.VerifyPayload(body, at)
	var ue *unansweredError
	if errors.As(res.Revocation.Err, &ue) {
		// The verdict says the registry could not answer; the request log
		// keeps why, when the cause is internal.
		if code, _, _ := statusOf(ue.err); code >= 500 {
			w.errDetail = ue.err
		}
	}
	writeJSON(w, http.StatusOK, res)
}

func queryTime(v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if len(v) > 64 {
		return time.Time{}, errors.New("not a time")
	}
	t, err := registry.ParseTime(v)
	if err != nil {
		return time.Time{}, errors.New("want an RFC 3339 time, a date or Unix seconds")
	}
	return t, nil
}

func queryLimit(v string) (int, error) {
	if v == "" {
		return DefaultPageLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxPageLimit {
		return 0, fmt.Errorf(`"limit" is 1 to %d`, MaxPageLimit)
	}
	return n, nil
}

// statusOf maps a Backend error to its HTTP status, the message a client
// may see, and the rule a refusal names. Unknown errors are internal: 500,
// and nothing of them is sent.
func statusOf(err error) (code int, msg, rule string) {
	var re *registry.RuleError
	switch {
	case errors.As(err, &re):
		return http.StatusUnprocessableEntity, "rule " + re.Rule + ": " + re.Msg, re.Rule
	case errors.Is(err, ErrInvalid):
		return http.StatusBadRequest, err.Error(), ""
	case errors.Is(err, registry.ErrInvalid):
		return http.StatusBadRequest, clientMessage(err), ""
	case errors.Is(err, registry.ErrNotFound):
		return http.StatusNotFound, clientMessage(err), ""
	case errors.Is(err, registry.ErrPublisherRequired), errors.Is(err, registry.ErrPublisherChanged):
		return http.StatusConflict, clientMessage(err), ""
	case errors.Is(err, ErrNotSupported):
		return http.StatusNotImplemented, err.Error(), ""
	case errors.Is(err, registry.ErrPublicationConflict):
		return http.StatusConflict, "the publication directory holds a publication this registry did not make: publishing would go backwards (the server's log says what differs; crlverify publish --carry-forward or a restore goes on)", ""
	case errors.Is(err, registry.ErrLocked), errors.Is(err, registry.ErrPublicationBusy):
		return http.StatusServiceUnavailable, "the registry is busy; try again", ""
	case errors.Is(err, registry.ErrClosed):
		return http.StatusServiceUnavailable, "the service is shutting down; try again", ""
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, "request cancelled", ""
	}
	return http.StatusInternalServerError, "internal error", ""
}

// clientMessage is a registry error's message for the client, without
// the package's prefix. The registry's request errors speak of the
// request (its fields, the certificates it names), never of files.
func clientMessage(err error) string {
	return strings.ReplaceAll(err.Error(), "registry: ", "")
}

// refusalKind names why a write was refused, for the log: never the
// message, which may quote an identifier.
func refusalKind(err error) string {
	var re *registry.RuleError
	switch {
	case errors.As(err, &re):
		return "rule " + re.Rule
	case errors.Is(err, ErrInvalid), errors.Is(err, registry.ErrInvalid):
		return "invalid"
	case errors.Is(err, registry.ErrNotFound):
		return "not found"
	case errors.Is(err, registry.ErrLocked), errors.Is(err, registry.ErrPublicationBusy):
		return "busy"
	case errors.Is(err, registry.ErrPublicationConflict):
		return "publication conflict"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "cancelled"
	}
	return "internal"
}

func (s *Service) backendError(w *response, err error) {
	code, msg, rule := statusOf(err)
	if code >= 500 || errors.Is(err, registry.ErrPublicationConflict) {
		w.errDetail = err
		if code == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", "1")
		}
	}
	s.failRule(w, code, msg, rule)
}

// fail answers {"error": msg}; a 5xx also carries the request id, to find
// the log line that says what happened.
func (s *Service) fail(w *response, code int, msg string) { s.failRule(w, code, msg, "") }

// failRule is fail naming the rule that refused the request, if any.
func (s *Service) failRule(w *response, code int, msg, rule string) {
	body := map[string]string{"error": msg}
	if rule != "" {
		body["rule"] = rule
	}
	if code >= 500 {
		body["request_id"] = w.id
	}
	w.Header().Del("ETag")
	w.Header().Del("Last-Modified")
	writeJSON(w, code, body)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)+1))
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// logRequest writes the request log line: never the query string (it may
// hold identifiers), never a header.
func (s *Service) logRequest(r *http.Request, w *response, d time.Duration) {
	path := r.URL.Path
	if len(path) > 200 {
		path = path[:200] + "…"
	}
	level := slog.LevelInfo
	a := []any{"request_id", w.id, "method", r.Method, "path", path, "status", w.status,
		"bytes", w.bytes, "duration_ms", float64(d.Microseconds()) / 1000, "remote", r.RemoteAddr}
	if w.actor != "" {
		a = append(a, "actor", w.actor)
	}
	if w.errDetail != nil {
		level = slog.LevelError
		a = append(a, "error", w.errDetail.Error())
	}
	s.log.Log(r.Context(), level, "request", a...)
}

// Pseudonym is what the logs show in place of a personal identifier (a
// beneficiary id, a certificate id): the first 16 bytes, in hex, of
// HMAC-SHA256 keyed with Config.LogKey over the identifier's UTF-8 bytes.
// Identifiers such as pre-enrollment codes are short and guessable, so an
// unkeyed hash would be reversed by trying them all; with the key, whoever
// holds it can still find one person's entries (compute the pseudonym and
// search), and whoever reads the logs without it cannot.
func (s *Service) Pseudonym(id string) string { return Pseudonym(s.cfg.LogKey, id) }

// Pseudonym computes a log pseudonym under key (see Service.Pseudonym).
func Pseudonym(key []byte, id string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(id))
	return hex.EncodeToString(m.Sum(nil)[:16])
}
