package main

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/online"
)

// onlineHelp explains the online fallback of scan and check.
const onlineHelp = `With --online URL, when the store has no conclusive answer for a
certificate (no list for its issuer, or a list past its next update), the
authority's status endpoint is asked (GET URL/v1/status of "crlverify
serve", with the reader-role token of --online-token-file): its answer is
marked "online" ("source": "online" in --json), and counts as known. A fresh
list is never second-guessed online. Each request is bounded by
--online-timeout; if the endpoint cannot answer (no network, a timeout, the
token refused), the status stays unknown, with the reason, and no further
certificate of the run asks. The URL must be https (http only to a loopback
address); --online-ca trusts a private certificate authority.`

// onlineFlags are the flags of the online fallback.
type onlineFlags struct {
	url       string
	tokenFile string
	ca        string
	timeout   time.Duration
}

func (o *onlineFlags) add(f *pflag.FlagSet) {
	f.StringVar(&o.url, "online", "", "when no fresh list answers, ask this authority's status endpoint (https base URL of crlverify serve)")
	f.StringVar(&o.tokenFile, "online-token-file", "", "file holding the token (reader role) for --online")
	f.StringVar(&o.ca, "online-ca", "", "PEM file of the certificate authorities trusted for --online (default: the system's)")
	f.DurationVar(&o.timeout, "online-timeout", online.DefaultTimeout, "longest wait for one --online answer")
}

// check refuses inconsistent flags (usage errors).
func (o *onlineFlags) check() error {
	switch {
	case o.url == "" && (o.tokenFile != "" || o.ca != ""):
		return errors.New("--online-token-file and --online-ca go with --online URL")
	case o.timeout <= 0:
		return errors.New("--online-timeout must be positive")
	}
	return nil
}

// wrap returns crls with the online fallback, or crls itself without
// --online.
func (o *onlineFlags) wrap(ctx context.Context, crls verify.Revocations) (verify.Revocations, error) {
	if err := o.check(); err != nil || o.url == "" {
		return crls, err
	}
	opts := &online.Options{Timeout: o.timeout}
	if o.tokenFile != "" {
		tok, err := readSmallFile(o.tokenFile, online.MaxTokenBytes)
		if err != nil {
			return nil, fmt.Errorf("--online-token-file: %w", err)
		}
		opts.Token = strings.TrimSpace(string(tok))
		if opts.Token == "" {
			return nil, fmt.Errorf("--online-token-file %s is empty", o.tokenFile)
		}
	}
	if o.ca != "" {
		pem, err := readSmallFile(o.ca, 1<<20)
		if err != nil {
			return nil, fmt.Errorf("--online-ca: %w", err)
		}
		opts.RootCAs = x509.NewCertPool()
		if !opts.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--online-ca %s holds no PEM certificate", o.ca)
		}
	}
	c, err := online.New(o.url, opts)
	if err != nil {
		return nil, fmt.Errorf("--online: %w", err)
	}
	if ctx == nil {
		ctx = context.Background()
	}
	return c.Fallback(ctx, crls), nil
}

// readSmallFile reads a file of at most max bytes.
func readSmallFile(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}
