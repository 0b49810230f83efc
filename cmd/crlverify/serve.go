package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/crl/service"
	"github.com/crlverify/crlverify/crl/service/auth"
	"github.com/crlverify/crlverify/verify"
)

type serveOptions struct {
	dir, addr                    string
	registry, key                string
	tokens                       string
	tlsCert, tlsKey              string
	oidcIssuer, oidcAudience     string
	oidcJWKS, oidcRolesClaim     string
	trust                        string
	publishEvery, nextUpdate     time.Duration
	keep                         int
	maxBody                      int64
	indexMaxAge                  time.Duration
	logFile, logKey              string
	readHeaderTimeout            time.Duration
	readTimeout, writeTimeout    time.Duration
	idleTimeout, shutdownTimeout time.Duration
}

// minPublishEvery is the shortest --publish-every: each run is a new
// serial, and verifiers keep up with a handful of serials.
const minPublishEvery = time.Minute

func newServeCommand() *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve --dir DIR [--addr HOST:PORT] [--tls-cert PEM --tls-key PEM] [--registry FILE --key JWK (--tokens FILE | --oidc-issuer URL --oidc-audience A) ...]",
		Short: "Serve the publication, and the authority's revocation API, over HTTPS",
		Long: `serve serves the publication directory that "crlverify publish" writes, and
with --registry the authority's revocation API (crl/service documents it in
full). Any static web server or CDN can serve the directory alone.

Publication files (no authentication): GET or HEAD of /index.jws, of the
snapshot files it names and of the signed checkpoints (checkpoint-<serial>.jws,
for audit verify --publication), nothing else: no listing, no other file,
never a symbolic link. ETag, Last-Modified and Range work, so verifiers revalidate
and resume. index.jws may be cached until its signed next-update, at most
--index-max-age; snapshots never change and are cached for a year.

The API, for the authority's own systems (HTTPS, JSON, snake_case fields;
errors are {"error": "..."}):

  POST /v1/revoke        {"certificate_id": ...} | {"beneficiary_id": ...,
                         "doses": [2,3]} | {"beneficiary_id": ..., "all_doses":
                         true} | {"batch": ...}; optional "issuer", "reason",
                         "note"                                        revoker
  POST /v1/suspend       the same, plus "until"                        revoker
  POST /v1/lift          a selector                                    revoker
  POST /v1/publish       publish the next serial now                   publisher
  GET  /v1/revocations   ?since=&until=&page=&limit=  in force, oldest
                         revoked-at first (as "crlverify revocations") auditor
  GET  /v1/audit         ?from=&limit=  the audit trail                auditor
  GET  /v1/status        ?issuer=&id=  online status of a certificate  reader
  POST /v1/verify        the QR payload bytes in, the verdict of
                         "crlverify scan --json" out (needs --trust)   reader
  GET  /healthz          no authentication

Every /v1/ call needs "Authorization: Bearer <token>": an API token made
with "crlverify token add" (--tokens), or an access token (JWT) from the
authority's OpenID Connect provider, such as Keycloak (--oidc-issuer,
--oidc-audience; keys from --oidc-jwks, a file or URL, or discovered from
the issuer; roles from --oidc-roles-claim, e.g. realm_access.roles). No
credentials: 401; a credential without the endpoint's role: 403.

Each call is recorded in the registry's audit trail under the caller's
identity (token:NAME, oidc:USER). Revocations by beneficiary and doses
follow DIVOC's rule; a request a rule refuses is 422 naming the rule
(dose-not-issued, doses-consecutive, doses-include-latest,
revoked-not-suspendable, issuer-ambiguous, issuer-covered) and changes
nothing. Concurrent requests share durable commits: the answer comes once
the change is on disk.

serve holds the registry file only while an operation runs, so "crlverify
revoke", "registry import", "publish" and the other commands work on the
same file while serve runs: each waits for serve's current operation (a
commit takes milliseconds, a publication or a large batch longer), and
serve for theirs.

Off loopback, serve refuses to start without --tls-cert and --tls-key.
SIGHUP reloads the certificate and reopens --log-file; SIGINT or SIGTERM
stop it, letting requests in flight finish for up to --shutdown-timeout.

Logs are JSON lines on standard error or in --log-file (mode 0600): every
request, every refusal, every change with who made it. Tokens are never
logged; certificate and beneficiary ids appear only as pseudonyms, the
first 16 bytes (hex) of HMAC-SHA256 under the --log-key secret.

With --publish-every D a new serial is published every D, each signed
with a next-update of 2×D, so that a missed run leaves verifiers' lists
fresh; otherwise lists published through the API carry --next-update.

` + exitCodeHelp,
		Example: `  crlverify serve --dir pub/
  crlverify token add --tokens tokens.json --role revoker --name vaccination-platform
  crlverify serve --dir pub/ --registry moh.db --key keys/signing.jwk --tokens tokens.json \
      --tls-cert tls/cert.pem --tls-key tls/key.pem --addr 0.0.0.0:8443 --publish-every 1h \
      --oidc-issuer https://idp.moh.example/realms/divoc --oidc-audience crlverify-api \
      --oidc-roles-claim realm_access.roles --log-file /var/log/crlverify.log --log-key log.key
  curl -H "Authorization: Bearer $TOKEN" --data '{"certificate_id":"7000003421003","reason":"dataError"}' \
      https://crl.moh.example:8443/v1/revoke`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "publication directory to serve (required)")
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on; off loopback, TLS is required")
	f.StringVar(&o.tlsCert, "tls-cert", "", "TLS certificate chain (PEM)")
	f.StringVar(&o.tlsKey, "tls-key", "", "TLS private key (PEM)")
	f.StringVar(&o.registry, "registry", "", "registry file: enables the API")
	f.StringVar(&o.key, "key", "", "private signing key (JWK), for publications")
	f.StringVar(&o.tokens, "tokens", "", `API token file ("crlverify token add")`)
	f.StringVar(&o.oidcIssuer, "oidc-issuer", "", "OpenID Connect issuer URL whose access tokens are accepted")
	f.StringVar(&o.oidcAudience, "oidc-audience", "", `audience ("aud") the access tokens must carry`)
	f.StringVar(&o.oidcJWKS, "oidc-jwks", "", "the issuer's keys: a JWKS file or https URL (default: discovered from the issuer)")
	f.StringVar(&o.oidcRolesClaim, "oidc-roles-claim", auth.DefaultRolesClaim, "claim holding the roles; a dotted path such as realm_access.roles")
	f.StringVar(&o.trust, "trust", "", "trust store of issuer keys: enables POST /v1/verify")
	f.DurationVar(&o.publishEvery, "publish-every", 0, "publish a new serial this often (at least 1m)")
	f.DurationVar(&o.nextUpdate, "next-update", registry.DefaultNextUpdate, "next update of lists published through the API (default with --publish-every: twice its period)")
	f.IntVar(&o.keep, "keep", registry.DefaultKeepSerials, "serials kept by each publication")
	f.Int64Var(&o.maxBody, "max-body", service.DefaultMaxBody, "largest request body in bytes")
	f.DurationVar(&o.indexMaxAge, "index-max-age", service.DefaultIndexMaxAge, "longest a cache may keep index.jws")
	f.StringVar(&o.logFile, "log-file", "", "append the JSON log here (mode 0600) instead of standard error")
	f.StringVar(&o.logKey, "log-key", "", "file holding the secret (hex) for log pseudonyms; created if missing (default: a new secret each run)")
	f.DurationVar(&o.readHeaderTimeout, "read-header-timeout", service.DefaultReadHeaderTimeout, "longest time to read a request's headers")
	f.DurationVar(&o.readTimeout, "read-timeout", service.DefaultReadTimeout, "longest time to read a whole request, body included")
	f.DurationVar(&o.writeTimeout, "write-timeout", service.DefaultWriteTimeout, "longest time to send an API answer")
	f.DurationVar(&o.idleTimeout, "idle-timeout", service.DefaultIdleTimeout, "how long an idle connection is kept")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", service.DefaultShutdownTimeout, "how long requests in flight may finish on shutdown")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}

// check refuses inconsistent or out-of-range flags (usage errors).
func (o *serveOptions) check(cmd *cobra.Command) error {
	set := cmd.Flags().Changed
	switch {
	case o.maxBody <= 0:
		return fmt.Errorf("--max-body must be a positive number of bytes, not %d", o.maxBody)
	case o.keep < 1:
		return errors.New("--keep must be at least 1")
	case o.nextUpdate <= 0 || o.indexMaxAge <= 0:
		return errors.New("--next-update and --index-max-age must be positive")
	case o.readHeaderTimeout <= 0 || o.readTimeout <= 0 || o.writeTimeout <= 0 || o.idleTimeout <= 0 || o.shutdownTimeout <= 0:
		return errors.New("every timeout must be positive")
	case (o.tlsCert == "") != (o.tlsKey == ""):
		return errors.New("give --tls-cert and --tls-key together")
	case o.registry == "" && (o.key != "" || o.tokens != "" || o.oidcIssuer != "" || o.trust != "" || set("publish-every")):
		return errors.New("--key, --tokens, --oidc-*, --trust and --publish-every are for the API: give --registry too")
	case o.registry != "" && o.key == "":
		return errors.New("the API (--registry) needs --key, the signing key of publications")
	case o.registry != "" && o.tokens == "" && o.oidcIssuer == "":
		return errors.New("the API needs a way to authenticate callers: --tokens FILE and/or --oidc-issuer URL")
	case (o.oidcIssuer == "") != (o.oidcAudience == ""):
		return errors.New("give --oidc-issuer and --oidc-audience together")
	case o.oidcIssuer == "" && (o.oidcJWKS != "" || set("oidc-roles-claim")):
		return errors.New("--oidc-jwks and --oidc-roles-claim go with --oidc-issuer")
	case set("publish-every") && o.publishEvery < minPublishEvery:
		return fmt.Errorf("--publish-every must be at least %s", minPublishEvery)
	case set("publish-every") && set("next-update") && o.nextUpdate <= o.publishEvery:
		return errors.New("--next-update must be longer than --publish-every, or verifiers' lists go stale between runs")
	}
	return nil
}

func (o *serveOptions) run(cmd *cobra.Command) error {
	if err := o.check(cmd); err != nil {
		return withCode(ExitError, err)
	}
	if fi, err := os.Stat(o.dir); err != nil {
		return withCode(ExitError, err)
	} else if !fi.IsDir() {
		return withCode(ExitError, fmt.Errorf("%s is not a directory", o.dir))
	}
	logOut := &reopener{path: o.logFile, std: cmd.ErrOrStderr()}
	if err := logOut.open(); err != nil {
		return withCode(ExitError, err)
	}
	defer logOut.Close()
	logger := slog.New(slog.NewJSONHandler(logOut, nil))
	cfg := service.Config{Dir: o.dir, Logger: logger, MaxBody: o.maxBody, IndexMaxAge: o.indexMaxAge}
	if o.logKey != "" {
		key, err := readLogKey(o.logKey)
		if err != nil {
			return withCode(ExitError, err)
		}
		cfg.LogKey = key
	}

	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var tokens *auth.Tokens
	if o.registry != "" {
		key, err := readSigningKey(o.key, cmd.ErrOrStderr())
		if err != nil {
			return withCode(ExitError, err)
		}
		authn := &auth.Authenticator{}
		if o.tokens != "" {
			if tokens, err = auth.OpenTokens(o.tokens); err != nil {
				return withCode(ExitError, fmt.Errorf("%w (make it with crlverify token add)", err))
			}
			authn.Tokens = tokens
		}
		if o.oidcIssuer != "" {
			if authn.OIDC, err = auth.NewOIDC(ctx, auth.OIDCConfig{Issuer: o.oidcIssuer, Audience: o.oidcAudience,
				JWKS: o.oidcJWKS, RolesClaim: o.oidcRolesClaim}); err != nil {
				return withCode(ExitError, err)
			}
		}
		popts := registry.PublishOptions{NextUpdate: o.nextUpdate, KeepSerials: o.keep}
		if o.publishEvery > 0 && !cmd.Flags().Changed("next-update") {
			popts.NextUpdate = service.NextUpdateFor(o.publishEvery)
		}
		reg, err := registry.Open(o.registry, &registry.Options{Actor: "serve"})
		if err != nil {
			return withCode(ExitError, err)
		}
		defer reg.Close()
		backend := service.NewRegistryBackend(reg, &service.Publication{Dir: o.dir, Key: key, Options: popts})
		cfg.Backend, cfg.Auth = backend, authn
		if o.trust != "" {
			ts, err := loadTrust(o.trust)
			if err != nil {
				return withCode(ExitError, err)
			}
			cfg.Verifier = verify.New(ts, service.RevocationsOf(backend), nil)
		}
	}
	svc, err := service.New(cfg)
	if err != nil {
		return withCode(ExitError, err)
	}
	srv, err := service.Listen(svc, service.ServerOptions{Addr: o.addr, CertFile: o.tlsCert, KeyFile: o.tlsKey,
		ReadHeaderTimeout: o.readHeaderTimeout, ReadTimeout: o.readTimeout, WriteTimeout: o.writeTimeout,
		IdleTimeout: o.idleTimeout, ShutdownTimeout: o.shutdownTimeout, Logger: logger})
	if err != nil {
		if errors.Is(err, service.ErrPlainHTTP) {
			err = fmt.Errorf("%s is not a loopback address: give --tls-cert and --tls-key to serve it over HTTPS", o.addr)
		}
		return withCode(ExitError, err)
	}

	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-hup:
				a := []any{}
				if err := srv.ReloadTLS(); err != nil {
					a = append(a, "tls_error", err.Error())
				}
				if err := logOut.reopen(); err != nil {
					a = append(a, "log_error", err.Error())
				}
				if tokens != nil {
					if err := tokens.Reload(); err != nil {
						a = append(a, "tokens_error", err.Error())
					}
				}
				logger.Info("reloaded on SIGHUP", a...)
			}
		}
	}()
	if o.publishEvery > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			svc.RunPublisher(ctx, o.publishEvery)
		}()
	}
	what := "the publication"
	if cfg.Backend != nil {
		what += " and the revocation API"
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: serving %s (%s) on %s/\n", o.dir, what, srv.URL())
	logger.Info("serving", "dir", o.dir, "url", srv.URL(), "api", cfg.Backend != nil)
	err = srv.Serve(ctx)
	stop()
	wg.Wait()
	logger.Info("stopped")
	if err != nil {
		return withCode(ExitError, err)
	}
	return nil
}

// readLogKey reads the hex secret of log pseudonyms, creating the file
// with a new 32-byte secret if it does not exist.
func readLogKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		key := make([]byte, 32)
		if _, err := rand.Read(key); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, err
		}
		if _, err := fmt.Fprintln(f, hex.EncodeToString(key)); err != nil {
			f.Close()
			return nil, err
		}
		return key, f.Close()
	}
	if err != nil {
		return nil, err
	}
	key, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil || len(key) < 32 {
		return nil, fmt.Errorf("%s: want at least 32 bytes in hex (delete it to have a new one made)", path)
	}
	return key, nil
}

// reopener is the log's destination: standard error, or a file opened for
// appending with mode 0600 and reopened on SIGHUP (after rotation).
type reopener struct {
	path string
	std  io.Writer
	mu   sync.Mutex
	f    *os.File
}

func (r *reopener) open() error {
	if r.path == "" {
		return nil
	}
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	if fi, err := f.Stat(); err != nil || fi.Mode().Perm()&0o077 != 0 {
		f.Close()
		return fmt.Errorf("%s: the log may be read by other users: chmod 600 it", r.path)
	}
	r.mu.Lock()
	old := r.f
	r.f = f
	r.mu.Unlock()
	if old != nil {
		old.Close()
	}
	return nil
}

func (r *reopener) reopen() error { return r.open() }

func (r *reopener) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return r.std.Write(p)
	}
	return r.f.Write(p)
}

func (r *reopener) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return nil
	}
	return r.f.Close()
}
