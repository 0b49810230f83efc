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
// calls the [Backend], the narrow interface to the registry in the
// registry's own types ([RegistryBackend] over crl/registry); view.go holds
// the JSON views of its answers. [Listen] and [Server.Serve] run it over
// TLS with timeouts and a bounded shutdown.
//
// Requests reach the registry concurrently: nothing in the service
// serialises them (no lock around the registry; HTTP/2 allows
// [MaxConcurrentStreams] requests per connection, HTTP/1.1 any number of
// connections). The registry queues concurrent revocations, suspensions and
// lifts and applies them together in one durable commit, so throughput grows
// with the number of requests in flight. The registry file is held only
// while an operation runs, so the command line ("crlverify revoke",
// "crlverify publish") works on it while the service runs.
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
//	     out-of-range value, no issuer when the registry cannot tell which
//	401  no or invalid credentials        403  credential without the role
//	404  no such endpoint, or the selector names nothing the registry holds
//	     (an unknown beneficiary or batch; lifting an id it never heard of)
//	405  wrong method (Allow says which)
//	409  the publisher name conflicts with earlier publications, or the
//	     publication directory holds a publication this registry did not
//	     make, so publishing would go backwards (the log line of the request
//	     says what differs; the answer names no file)
//	413  body too large                   408  body too slow
//	422  refused by a rule: {"error": "rule NAME: ...", "rule": "NAME"}
//	500  internal error                   501  not configured (POST /v1/verify
//	                                           without a trust store)
//	503  registry busy (another process kept it past the lock attempts, or
//	     another publication is being written into the directory) or
//	     shutting down; retry (Retry-After)
//
// The rules a 422 names: the registry's dose-not-issued (a dose asked for
// was not issued to the beneficiary), doses-consecutive, doses-include-latest
// (DIVOC's rule: revoking an earlier dose while a later one stands),
// revoked-not-suspendable (suspending a permanent revocation; lift it
// first), issuer-ambiguous (an id known under several issuers and no issuer
// given); and the service's issuer-covered (the request names an issuer the
// published list does not cover: the API does not widen what the list is
// authoritative for, "crlverify publish --issuer" does).
//
// # Writes: POST /v1/revoke, /v1/suspend, /v1/lift
//
// The body is one JSON object, no unknown member, nothing after it:
//
//	certificate_id  string   one certificate (by its id, e.g. DIVOC's
//	                         evidence[0].certificateId; revoke and suspend
//	                         take ids the registry never imported), or
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
// identifiers are 1 to 1024 bytes (beneficiary_id and batch 256, issuer
// 256) of UTF-8 without control characters or leading or trailing white
// space. /v1/lift takes no reason and no until. Dose lists follow DIVOC's
// rule: issued, consecutive and including the beneficiary's latest dose
// (doses 1-3 issued: [3], [2,3], [1,2,3] accepted; [1], [1,3], [2] refused
// with 422 naming the rule). A refused request changes nothing. Revoking a
// revoked certificate again keeps its original revoked-at, and its reason
// unless one is given; a suspension does not replace a permanent
// revocation (422 revoked-not-suspendable). The registry records the
// caller's identity as the actor of the change, with the reason and the
// note. The answer says what changed:
//
//	{"action": "revoke", "matched": 2, "unchanged": 0, "changed": [
//	  {"issuer": "https://cowin.gov.in/", "certificate_id": "7000003421003",
//	   "before": null,
//	   "after": {"status": "revoked", "revoked_at": "2026-06-01T09:00:00Z",
//	             "reason": "dataError"}},
//	  ...], "audit_seq": 42}
//
// "before" and "after" are null where the certificate was neither revoked
// nor suspended (after a lift, "after" is null); a suspension's state has
// status "suspended" and "suspended_until"; a correction's
// "superseded_by". "changed" lists at most 1,000 certificates ("truncated":
// true beyond; the audit record lists all); "matched" counts them all.
// "audit_seq" is the audit record of the change (absent when nothing
// changed).
//
// # POST /v1/publish
//
// Publishes the next serial into the publication directory now (body
// empty or ignored) and answers registry.PublishResult: serial,
// publisher, issuers, this_update, next_update, entries, list_digest,
// expired, full, deltas, skipped, index, checkpoint, pruned, audit_seq,
// audit_head (files by name, never by path). Revocations
// made while it runs wait for it and go into the next serial. A
// publication never goes backwards: when the directory's newest
// publication is not one this registry made (an old copy of the registry
// put back, a second registry writing there), the answer is 409 and
// nothing is written; "crlverify publish --carry-forward" or a restore
// goes on.
// [Service.RunPublisher] publishes on a schedule.
//
// # GET /v1/revocations?since=T&until=T&page=P&limit=N
//
// The registry's chronological list: the revocations and suspensions in
// force, oldest revoked-at first (then by list key), as
// "crlverify revocations --json" prints them (registry.RevocationRecord):
//
//	{"revocations": [{"certificate_id": ..., "issuer": ...,
//	   "revoked_at": ..., "reason": "dataError", "suspended_until": ...,
//	   "superseded_by": ..., "last_change": 17}, ...],
//	 "next_page": "..."}
//
// since (inclusive) and until (exclusive) bound revoked_at; limit is 1 to
// 1000 (default 100). next_page is an opaque cursor for the next call's
// page, empty after the last page. Lifted revocations and suspensions that
// have ended are not listed; the audit trail (GET /v1/audit, last_change
// names the record) keeps who changed what and when.
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
//	 "imported": true, "revoked_at": ..., "reason": "dataError", "at": ...}
//
// status is revoked, suspended (with suspended_until), not_revoked, or
// unknown when the registry's list does not cover the issuer. not_revoked
// is the list's own answer: also for an id the registry never imported
// (imported false) and holds no revocation of; a lifted revocation shows
// its dates with "lifted": true, an ended suspension its dates. A
// certificate revoked by id without being imported is revoked, imported
// false. issuer defaults to the registry's only issuer, or the one issuer
// the registry knows the id under (issuer-ambiguous when several). The
// answer is at most a few kilobytes; a verifier's online fallback
// (package verify/online) reads it.
//
// # POST /v1/verify[?at=T]
//
// The body is the bytes of a scanned QR or Aztec code: a SMART Health
// Card ("shc:/…" or its JWS), an EU DCC ("HC1:…"), or a DIVOC ZIP, its
// UTF-8 expanded form, or the credential JSON. The answer is the verdict
// [github.com/crlverify/crlverify/verify.Result] exactly as "crlverify scan
// --json" prints it, with revocation answered by the registry itself
// ([RevocationsOf]; revocation.source "online"). 200 whatever the
// verdict; 400 for an empty body; 501 when the service has no trust store.
// When the registry cannot answer (busy, shutting down, an internal
// error), revocation is unknown and its detail says so in the words of
// the error answers above, never the registry's own; the request's log
// line holds the cause of an internal one.
//
// # GET /healthz
//
// {"status": "ok"}, without authentication.
//
// # Publication files
//
// GET and HEAD of "/" (a pointer to the index), "/index.jws", the
// snapshot files "/full-<serial>.crl" and "/delta-<base>-<serial>.crl"
// and the signed checkpoints "/checkpoint-<serial>.jws" (an auditor's
// proof that the audit trail was not rewritten), without authentication. Nothing else is served: no listing, no other
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
