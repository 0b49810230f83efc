package main

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/snapshot"
)

type serveOptions struct {
	dir        string
	addr       string
	registry   string
	key        string
	tokenFile  string
	nextUpdate time.Duration
	keep       int
	maxBody    int64
}

func newServeCommand() *cobra.Command {
	o := &serveOptions{}
	cmd := &cobra.Command{
		Use:   "serve --dir DIR [--addr 127.0.0.1:8080] [--token-file FILE --registry FILE --key JWK]",
		Short: "Serve a publication directory over HTTP, optionally with a revoke API",
		Long: `serve serves the publication directory that "crlverify publish" writes:
GET and HEAD of /index.jws and of each snapshot file, with ETag, Last-Modified
and Range support, so verifiers revalidate cheaply and resume cut downloads.
Only plain files at the top of DIR are served; no listings, no dot files.
index.jws is sent with "Cache-Control: no-cache", snapshots with a short
max-age. Any static web server or CDN can do the same job.

With --token-file (and --registry, --key) it also offers an API for the
authority's own systems, each call needing "Authorization: Bearer <token>":

  POST /revoke     JSON lines, one revocation per line, fields as for
                   "crlverify revoke --from-file": all applied or none
  POST /unrevoke   {"issuer": "...", "id": "..."}
  POST /publish    publish the next serial into DIR now

Answers are JSON. The registry stays open (and locked) while serve runs.
Keep the API on a private address: the default binds to loopback.

` + exitCodeHelp,
		Example: `  crlverify serve --dir pub/
  crlverify serve --dir pub/ --addr 127.0.0.1:8080 --token-file api.token --registry moh.db --key keys/signing.jwk
  curl -H "Authorization: Bearer $(cat api.token)" --data-binary '{"id":"7000003421003","reason":"dataError"}' http://127.0.0.1:8080/revoke`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.dir, "dir", "", "publication directory to serve (required)")
	f.StringVar(&o.addr, "addr", "127.0.0.1:8080", "address to listen on")
	f.StringVar(&o.tokenFile, "token-file", "", "file holding the API bearer token; enables the API")
	f.StringVar(&o.registry, "registry", "", "registry file, for the API")
	f.StringVar(&o.key, "key", "", "private signing key (JWK), for POST /publish")
	f.DurationVar(&o.nextUpdate, "next-update", registry.DefaultNextUpdate, "next update of lists published through the API")
	f.IntVar(&o.keep, "keep", registry.DefaultKeepSerials, "serials kept by publications through the API")
	f.Int64Var(&o.maxBody, "max-body", 64<<20, "largest API request body in bytes")
	_ = cmd.MarkFlagRequired("dir")
	return cmd
}

func (o *serveOptions) run(cmd *cobra.Command) error {
	if fi, err := os.Stat(o.dir); err != nil {
		return withCode(ExitError, err)
	} else if !fi.IsDir() {
		return withCode(ExitError, fmt.Errorf("%s is not a directory", o.dir))
	}
	var api *revokeAPI
	if o.tokenFile != "" {
		if o.registry == "" || o.key == "" {
			return withCode(ExitError, errors.New("the API (--token-file) needs --registry and --key"))
		}
		token, err := readToken(o.tokenFile)
		if err != nil {
			return withCode(ExitError, err)
		}
		key, err := readSigningKey(o.key, cmd.ErrOrStderr())
		if err != nil {
			return withCode(ExitError, err)
		}
		reg, err := registry.Open(o.registry, &registry.Options{Actor: "api"})
		if err != nil {
			return withCode(ExitError, err)
		}
		defer reg.Close()
		api = &revokeAPI{reg: reg, key: key, token: token, dir: o.dir, maxBody: o.maxBody,
			opts: registry.PublishOptions{NextUpdate: o.nextUpdate, KeepSerials: o.keep}}
	} else if o.registry != "" || o.key != "" {
		return withCode(ExitError, errors.New("--registry and --key are for the API: give --token-file too"))
	}
	ln, err := net.Listen("tcp", o.addr)
	if err != nil {
		return withCode(ExitError, err)
	}
	srv := &http.Server{
		Handler:           newServeHandler(o.dir, api),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	what := "static files"
	if api != nil {
		what += " and the revoke API"
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: serving %s (%s) on http://%s/\n", o.dir, what, ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return withCode(ExitError, err)
	}
	return nil
}

// minTokenBytes is the shortest API token accepted.
const minTokenBytes = 16

func readToken(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return nil, err
	}
	b = []byte(strings.TrimSpace(string(b)))
	if len(b) < minTokenBytes {
		return nil, fmt.Errorf("%s: the API token must be at least %d characters", path, minTokenBytes)
	}
	return b, nil
}

// newServeHandler serves the files of dir and, when api is not nil, the
// revoke API.
func newServeHandler(dir string, api *revokeAPI) http.Handler {
	mux := http.NewServeMux()
	if api != nil {
		mux.Handle("/revoke", api.auth(api.revoke))
		mux.Handle("/unrevoke", api.auth(api.unrevoke))
		mux.Handle("/publish", api.auth(api.publish))
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { serveFile(w, r, dir) })
	return mux
}

// serveFile serves one plain file at the top of dir.
func serveFile(w http.ResponseWriter, r *http.Request, dir string) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, "/")
	if name == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(w, "crlverify publication directory: start at /%s\n", snapshot.IndexName)
		return
	}
	if strings.ContainsAny(name, "/\\") || strings.HasPrefix(name, ".") {
		http.NotFound(w, r)
		return
	}
	f, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	// Files are replaced by rename, never rewritten in place: size and
	// modification time identify a version.
	h.Set("ETag", fmt.Sprintf(`"%x-%x"`, fi.Size(), fi.ModTime().UnixNano()))
	h.Set("Content-Type", "application/octet-stream")
	h.Set("X-Content-Type-Options", "nosniff")
	if name == snapshot.IndexName {
		h.Set("Cache-Control", "no-cache")
	} else {
		h.Set("Cache-Control", "public, max-age=300")
	}
	http.ServeContent(w, r, name, fi.ModTime(), f)
}

// revokeAPI is the optional authority API of serve.
type revokeAPI struct {
	reg     *registry.Registry
	key     jwk.Key
	token   []byte
	dir     string
	maxBody int64
	opts    registry.PublishOptions
	mu      sync.Mutex // one publication at a time
}

func (a *revokeAPI) auth(next func(http.ResponseWriter, *http.Request)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), a.token) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="crlverify"`)
			writeJSON(w, http.StatusUnauthorized, apiError{Error: "missing or wrong bearer token"})
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeJSON(w, http.StatusMethodNotAllowed, apiError{Error: "use POST"})
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, a.maxBody)
		next(w, r)
	})
}

type apiError struct {
	Error string        `json:"error"`
	Rows  []apiRowError `json:"rows,omitempty"`
}

type apiRowError struct {
	Line  int    `json:"line"`
	Error string `json:"error"`
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(v)
}

func (a *revokeAPI) revoke(w http.ResponseWriter, r *http.Request) {
	// Read the whole (bounded) body first: a slow client must not hold the
	// registry's write lock.
	body, err := io.ReadAll(r.Body)
	var res registry.ImportResult
	if err == nil {
		res, err = a.reg.ImportRevocations(r.Context(), bytes.NewReader(body), &registry.ImportOptions{Format: registry.FormatJSONLines, Source: "api", Actor: "api"})
	}
	var bad *registry.ImportError
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &bad):
		e := apiError{Error: bad.Error()}
		for _, row := range bad.Rows {
			e.Rows = append(e.Rows, apiRowError{Line: row.Line, Error: row.Err.Error()})
		}
		writeJSON(w, http.StatusBadRequest, e)
	case errors.As(err, &tooBig):
		writeJSON(w, http.StatusRequestEntityTooLarge, apiError{Error: err.Error()})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, apiError{Error: err.Error()})
	case res.Rows == 0:
		writeJSON(w, http.StatusBadRequest, apiError{Error: "no revocation in the request body"})
	default:
		writeJSON(w, http.StatusOK, res)
	}
}

func (a *revokeAPI) unrevoke(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Issuer string `json:"issuer"`
		ID     string `json:"id"`
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.ID == "" {
		writeJSON(w, http.StatusBadRequest, apiError{Error: `want {"issuer": "...", "id": "..."}`})
		return
	}
	_, err := a.reg.Lift(r.Context(), registry.Request{Selector: registry.Selector{Issuer: req.Issuer, CertificateID: req.ID}, Actor: "api"})
	switch {
	case errors.Is(err, registry.ErrNotFound):
		writeJSON(w, http.StatusNotFound, apiError{Error: err.Error()})
	case errors.Is(err, registry.ErrInvalid):
		writeJSON(w, http.StatusBadRequest, apiError{Error: err.Error()})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, apiError{Error: err.Error()})
	default:
		writeJSON(w, http.StatusOK, map[string]string{"lifted": req.ID, "issuer": req.Issuer})
	}
}

func (a *revokeAPI) publish(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	opts := a.opts
	res, err := a.reg.Publish(a.dir, a.key, &opts)
	if err != nil {
		writeJSON(w, http.StatusInternalServerError, apiError{Error: err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, res)
}
