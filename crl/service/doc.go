// Package service is the issuing authority's HTTP revocation service:
// the publication files verifiers sync from, and a versioned JSON API the
// authority's own systems (a vaccination platform, operators, auditors,
// thin verifier clients) call to revoke, suspend and lift certificates, to
// publish, to list revocations, to ask a certificate's status online, and
// to verify a scanned payload. "crlverify serve" runs it; this comment is
// the API's specification.
//
// The parts: a [Service] (an http.Handler) routes each request; every /v1/
// request goes through one authentication and role check (package
// [github.com/crlverify/crlverify/crl/service/auth]) before its handler
// calls the [Backend], the narrow interface to the registry
// ([RegistryBackend] over crl/registry). [Listen] and [Server.Serve] run it
// over TLS with timeouts and a bounded shutdown.
//
// # Transport
//
// HTTPS (TLS 1.2 or later). Plain HTTP is refused on any address that is not
// loopback ([ErrPlainHTTP]). Answers carry no Server or version header,
// always "X-Content-Type-Options: nosniff", over TLS
// "Strict-Transport-Security: max-age=31536000", and on /v1/ "Cache-Control:
// no-store". A request's headers must arrive within 10 s and the whole
// request within 30 s (a body trickled slower is cut), headers are at most
// 16 KiB, a body at most 64 KiB ([DefaultMaxBody]; 413 beyond); the defaults
// are [ServerOptions] and [Config] fields.
//
// # Authentication and roles
//
// Each /v1/ request carries "Authorization: Bearer <token>": an API token
// ("crlv_" + 43 base64url characters) or an OpenID Connect access token
// (a JWT). Without credentials the answer is 401 with "WWW-Authenticate:
// Bearer realm=\"crlverify\""; with an unknown, revoked, expired or
// otherwise invalid token 401 with error="invalid_token" added; with a
// valid credential lacking the endpoint's role, 403. Every refusal is
// logged. The roles:
//
//	revoker    POST /v1/revoke, /v1/suspend, /v1/lift
//	publisher  POST /v1/publish
//	auditor    GET /v1/revocations, /v1/audit
//	reader     GET /v1/status, POST /v1/verify
//
// The caller's identity ("token:NAME" or "oidc:USER") is recorded with
// every change it makes.
//
// # Answers and errors
//
// Answers are one JSON object with snake_case members, "Content-Type:
// application/json", followed by a newline. Times are RFC 3339 in UTC.
// A reason is written as its name (crl.Reason: "dataError", "tampering",
// "faultyBatch", ...). An error is
//
//	{"error": "what is wrong, in words fit for the caller"}
//
// with, for 5xx, "request_id" naming the log line that says more; nothing
// internal is ever sent. Status codes:
//
//	200  done (a write that changed nothing is 200 too: every write is idempotent)
//	400  malformed request: bad JSON, unknown field, missing or extra selector,
//	     out-of-range value, no issuer when the registry covers several
//	401  no or invalid credentials        403  credential without the role
//	404  no such endpoint, or the selector names nothing the registry holds
//	405  wrong method (Allow says which)
//	409  conflicts with the certificate's state (suspending a permanent revocation)
//	413  body too large                   408  body too slow
//	422  refused by a revoke rule: {"error": "rule NAME: ..."}, e.g.
//	     issuer-covered (the list does not cover that issuer), doses
//	500  internal error                   501  not supported (see below)
//	503  registry busy or shutting down; retry (Retry-After)
//
// # Writes: POST /v1/revoke, /v1/suspend, /v1/lift
//
// The body is one JSON object, no unknown member, nothing after it:
//
//	certificate_id  string   one certificate (by its id, e.g. DIVOC's
//	                         evidence[0].certificateId), or
//	beneficiary_id  string   a beneficiary (pre-enrollment code), with
//	  doses         [int]    the doses to revoke (1-99, at most 32), or
//	  all_doses     bool     true for all of them, or
//	batch           string   every certificate of a vaccine batch
//	issuer          string   optional: the certificates' issuer; default the
//	                         registry's only issuer; must be one the list covers
//	reason          string or int   optional: a reason name or code, any named
//	                         reason but removeFromCRL; default unspecified,
//	                         faultyBatch for a batch, certificateHold for a suspension
//	note            string   optional, at most 1024 bytes: kept with the change
//	until           string   /v1/suspend only, required: when the suspension
//	                         ends (RFC 3339, a date, or Unix seconds), in the future
//
// Exactly one of certificate_id, beneficiary_id and batch is given;
// identifiers are 1 to 1024 bytes of UTF-8 without control characters or
// leading or trailing white space (issuer at most 256). /v1/lift takes no
// reason and no until. Dose lists follow DIVOC's rule: sequential and
// including the beneficiary's latest dose (doses 1-3 issued: [3], [2,3],
// [1,2,3] accepted; [1], [1,3], [2] refused with 422). Revoking a revoked
// certificate again keeps its original revoked-at; a suspension does not
// replace a permanent revocation (409). The answer says what changed:
//
//	{"action": "revoke", "matched": 2, "unchanged": 0, "changed": [
//	  {"issuer": "https://cowin.gov.in/", "certificate_id": "7000003421003",
//	   "before": null,
//	   "after": {"revoked_at": "2026-06-01T09:00:00Z", "reason": "dataError"}},
//	  ...]}
//
// "before" and "after" are null where the certificate was not revoked;
// a suspension's state has "suspended_until". [RegistryBackend] over
// today's registry, which holds revocations and not the issued
// certificates, answers 501 to beneficiary and batch selectors.
//
// # POST /v1/publish
//
// Publishes the next serial into the publication directory now (body
// empty or ignored) and answers registry.PublishResult: serial,
// publisher, issuers, this_update, next_update, list_count, list_digest,
// full, deltas, index. [Service.RunPublisher] publishes on a schedule.
//
// # GET /v1/revocations?since=T&until=T&page=P&limit=N
//
// The chronological list of changes to the revocation list, oldest first:
//
//	{"revocations": [{"action": "revoke", "issuer": ..., "certificate_id": ...,
//	   "revoked_at": ..., "reason": ..., "suspended_until": ...,
//	   "recorded_at": ..., "actor": "token:vaccination-platform"}, ...],
//	 "next_page": "1234"}
//
// action is revoke (entered the list), update (new revoked-at, reason or
// suspension end) or lift (left it). since (inclusive) and until
// (exclusive) bound recorded_at; limit is 1 to 1000 (default 100).
// next_page is an opaque cursor for the next call's page, empty after the
// last page; a page may be short, even empty, with a next_page.
//
// # GET /v1/audit?from=N&limit=N
//
// The registry's audit trail from record number from (default 1):
// {"records": [registry.AuditRecord...], "next": N}, next 0 after the last.
//
// # GET /v1/status?issuer=I&id=ID[&at=T]
//
// The online status of one certificate, DIVOC's online verification: the
// registry's current state, not the last published list.
//
//	{"issuer": ..., "certificate_id": ..., "status": "revoked",
//	 "revoked_at": ..., "reason": "dataError", "at": ...}
//
// status is revoked, suspended (with suspended_until), not_revoked (a
// suspension that ended shows its dates), or unknown when the registry's
// list does not cover the issuer. issuer defaults to the registry's only
// issuer.
//
// # POST /v1/verify[?at=T]
//
// The body is the bytes of a scanned QR or Aztec code: a SMART Health
// Card ("shc:/…" or its JWS), an EU DCC ("HC1:…"), or a DIVOC ZIP, its
// UTF-8 expanded form, or the credential JSON. The answer is the verdict
// [github.com/crlverify/crlverify/verify.Result] exactly as "crlverify scan
// --json" prints it, with revocation answered by the registry itself
// ([RevocationsOf]). 200 whatever the verdict; 400 for an empty body; 501
// when the service has no trust store.
//
// # GET /healthz
//
// {"status": "ok"}, without authentication.
//
// # Publication files
//
// GET and HEAD of "/" (a pointer to the index), "/index.jws" and the
// snapshot files "/full-<serial>.crl" and "/delta-<base>-<serial>.crl",
// without authentication. Nothing else is served: no listing, no other
// name, and only regular files inside the directory: a symbolic link, even
// one named like a snapshot, is 404. Each file has an ETag (size and
// modification time; files are replaced by rename) and Last-Modified;
// conditional requests (If-None-Match, If-Modified-Since) and Range work.
// index.jws is sent with "Cache-Control: public, max-age=N,
// must-revalidate", N the seconds left until its signed next-update,
// capped at [Config.IndexMaxAge] (5 minutes by default, so an early
// publication reaches caches quickly), and "no-cache" once the next-update
// is past; snapshot files never change and are sent with "public,
// max-age=31536000, immutable".
//
// # Logs
//
// JSON lines (log/slog): "request" for every request (method, path without
// the query, status, bytes, duration_ms, remote, actor, request_id),
// "refused" for each 401 and 403 (reason, actor, role needed), "change" for
// every certificate a write changed (actor, action, issuer, certificate,
// reason, times), "change refused", and "publish". Tokens and notes are
// never logged; certificate and beneficiary ids only as [Pseudonym]s.
package service
