package service

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// Defaults of ServerOptions.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 2 * time.Minute
	DefaultShutdownTimeout   = 10 * time.Second
	DefaultMaxHeaderBytes    = 16 << 10
)

// MaxConcurrentStreams is how many requests one HTTP/2 connection may have
// in flight: enough for a platform's whole burst on one connection (the
// registry commits them together); beyond it a client opens another
// connection. Each request in flight holds at most its body
// ([DefaultMaxBody]).
const MaxConcurrentStreams = 1000

// ErrPlainHTTP: the address is not loopback and no TLS certificate was
// given.
var ErrPlainHTTP = errors.New("service: plain HTTP is only for loopback addresses: give a TLS certificate and key")

// ServerOptions configure Listen. Zero durations mean the defaults.
type ServerOptions struct {
	// Addr is host:port to listen on.
	Addr string
	// CertFile and KeyFile hold the TLS certificate chain and private key
	// (PEM). Both empty: plain HTTP, allowed only on a loopback address.
	CertFile, KeyFile string
	// ReadHeaderTimeout bounds reading a request's headers; ReadTimeout
	// the whole request, body included (a body trickled slower is cut);
	// WriteTimeout sending an API answer; IdleTimeout a kept-alive
	// connection between requests; ShutdownTimeout how long Serve waits
	// for requests in flight once its context ends.
	ReadHeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout, ShutdownTimeout time.Duration
	// Logger receives the server's own errors (TLS handshakes, ...).
	Logger *slog.Logger
}

// Server is a listening HTTP or HTTPS server whose certificate can be
// reloaded while it runs.
type Server struct {
	srv      *http.Server
	ln       net.Listener
	opts     ServerOptions
	cert     atomic.Pointer[tls.Certificate]
	shutdown time.Duration
}

// Listen checks opts, loads the certificate and listens. It refuses
// (ErrPlainHTTP) to serve plain HTTP on an address that is not loopback.
func Listen(h http.Handler, opts ServerOptions) (*Server, error) {
	if (opts.CertFile == "") != (opts.KeyFile == "") {
		return nil, errors.New("service: give both the TLS certificate and its key")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&opts.ReadHeaderTimeout, DefaultReadHeaderTimeout)
	def(&opts.ReadTimeout, DefaultReadTimeout)
	def(&opts.WriteTimeout, DefaultWriteTimeout)
	def(&opts.IdleTimeout, DefaultIdleTimeout)
	def(&opts.ShutdownTimeout, DefaultShutdownTimeout)
	for _, d := range []time.Duration{opts.ReadHeaderTimeout, opts.ReadTimeout, opts.WriteTimeout, opts.IdleTimeout, opts.ShutdownTimeout} {
		if d < 0 {
			return nil, errors.New("service: negative timeout")
		}
	}
	tlsOn := opts.CertFile != ""
	if !tlsOn && !loopbackAddr(opts.Addr) {
		return nil, fmt.Errorf("%w (address %s)", ErrPlainHTTP, opts.Addr)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{opts: opts, shutdown: opts.ShutdownTimeout}
	s.srv = &http.Server{
		Handler:           h,
		ReadHeaderTimeout: opts.ReadHeaderTimeout,
		ReadTimeout:       opts.ReadTimeout,
		WriteTimeout:      opts.WriteTimeout,
		IdleTimeout:       opts.IdleTimeout,
		MaxHeaderBytes:    DefaultMaxHeaderBytes,
		HTTP2:             &http.HTTP2Config{MaxConcurrentStreams: MaxConcurrentStreams},
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if tlsOn {
		if err := s.ReloadTLS(); err != nil {
			return nil, err
		}
		s.srv.TLSConfig = &tls.Config{
			MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
				return s.cert.Load(), nil
			},
		}
	}
	ln, err := net.Listen("tcp", opts.Addr)
	if err != nil {
		return nil, err
	}
	if a, ok := ln.Addr().(*net.TCPAddr); !tlsOn && (!ok || !a.IP.IsLoopback()) {
		ln.Close()
		return nil, fmt.Errorf("%w (listening on %s)", ErrPlainHTTP, ln.Addr())
	}
	s.ln = ln
	return s, nil
}

// loopbackAddr reports whether host:port names a loopback host.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// ReloadTLS re-reads the certificate and key files; new handshakes use
// them. On error the certificate in use stays.
func (s *Server) ReloadTLS() error {
	if s.opts.CertFile == "" {
		return nil
	}
	c, err := tls.LoadX509KeyPair(s.opts.CertFile, s.opts.KeyFile)
	if err != nil {
		return fmt.Errorf("service: TLS certificate: %w", err)
	}
	s.cert.Store(&c)
	return nil
}

// Addr is the address listened on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// URL is the base URL of the server ("https://127.0.0.1:8443").
func (s *Server) URL() string {
	scheme := "http"
	if s.srv.TLSConfig != nil {
		scheme = "https"
	}
	return scheme + "://" + s.ln.Addr().String()
}

// Serve serves until ctx ends, then stops accepting, waits up to the
// shutdown timeout for requests in flight, and closes what remains.
func (s *Server) Serve(ctx context.Context) error {
	done := make(chan error, 1)
	go func() {
		if s.srv.TLSConfig != nil {
			done <- s.srv.ServeTLS(s.ln, "", "")
		} else {
			done <- s.srv.Serve(s.ln)
		}
	}()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), s.shutdown)
	defer cancel()
	err := s.srv.Shutdown(sctx)
	if err != nil {
		s.srv.Close()
	}
	if serr := <-done; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("service: requests still running after %s were cut", s.shutdown)
	}
	return err
}
