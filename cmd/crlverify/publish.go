package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl/registry"
	"github.com/crlverify/crlverify/snapshot"
)

type publishOptions struct {
	registry   string
	key        string
	out        string
	nextUpdate time.Duration
	keep       int
	publisher  string
	issuers    []string
	at         string
	actor      string
	carry      bool
	jwks       string
	json       bool
}

func newPublishCommand() *cobra.Command {
	o := &publishOptions{}
	cmd := &cobra.Command{
		Use:   "publish --registry FILE --key JWK --out DIR [flags]",
		Short: "Publish the registry as signed CRL snapshots into a directory",
		Long: `publish writes the next serial of the revocation list into DIR, a
publication directory that any static web host, CDN or USB stick can carry
(and "crlverify serve" serves):

  full-<serial>.crl          the whole list, signed
  delta-<base>-<serial>.crl  the changes from each of the --keep previous
                             serials (left out when larger than the full)
  index.jws                  the signed index naming the files above

Files are written under temporary names and renamed, the index last: a
crash at any point leaves the previous index naming complete files. Files
of serials older than --keep are deleted.

Sign with the private key from "crlverify keygen" (signing.jwk). The
publisher name is remembered from the first publication; it defaults to the
registry's only issuer. --issuer adds issuers the list covers even with no
revocation yet: verifiers treat a certificate of an issuer no list covers
as of unknown revocation status.

Suspensions whose end has passed by the publication time (--at, default
now) are left out, and the deltas carry their removal.

Publish again before the next update (--next-update, default 24h): past it
verifiers stop trusting the list. Each publication is a record of the audit
trail, and writes checkpoint-<serial>.jws: the signed audit head after that
record ("crlverify audit verify --publication" checks the trail against
them). Checkpoints are never deleted.

publish never goes backwards. It first compares the registry with the newest
publication in DIR; if DIR holds a serial this registry did not publish, or
another list or audit trail for one it did (an old copy of the registry put
back, a second registry writing into DIR), it refuses (exit 1), says what
differs and how many revocations publishing would drop, and writes nothing.
Ways on: restore the registry from its newest backup ("crlverify restore"),
or --carry-forward: the entries of DIR's newest list that the registry would
not list stay revoked (they are carried into the registry by list key, since
their certificate ids are unknown, with an audit record naming the serial
and list digest carried), then the registry publishes. --jwks gives the
publisher's public keys DIR was signed with, after a key rotation.

` + exitCodeHelp,
		Example: `  crlverify publish --registry moh.db --key keys/signing.jwk --out pub/
  crlverify publish --registry moh.db --key keys/signing.jwk --out pub/ \
      --publisher "Ministry of Health" --issuer https://cowin.gov.in/ --next-update 6h --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.registry, "registry", "", "registry file (required)")
	f.StringVar(&o.key, "key", "", "private signing key, a JWK file from keygen (required)")
	f.StringVar(&o.out, "out", "", "publication directory, created if missing (required)")
	f.DurationVar(&o.nextUpdate, "next-update", registry.DefaultNextUpdate, "when the next list is due, after this one")
	f.IntVar(&o.keep, "keep", registry.DefaultKeepSerials, "serials to keep deltas from and files of")
	f.StringVar(&o.publisher, "publisher", "", "publisher name (default: as before, or the registry's only issuer)")
	f.StringSliceVar(&o.issuers, "issuer", nil, "also cover this issuer (repeatable; remembered)")
	f.StringVar(&o.at, "at", "", "publication time (default now)")
	addActorFlag(f, &o.actor)
	f.BoolVar(&o.carry, "carry-forward", false, "if DIR holds a publication this registry did not make, keep its revocations (carry them into the registry) and publish")
	f.StringVar(&o.jwks, "jwks", "", "public keys DIR's publications were signed with (default: the signing key's)")
	f.BoolVar(&o.json, "json", false, "print the result as one JSON object")
	for _, name := range []string{"registry", "key", "out"} {
		_ = cmd.MarkFlagRequired(name)
	}
	return cmd
}

func (o *publishOptions) run(cmd *cobra.Command) error {
	key, err := readSigningKey(o.key, cmd.ErrOrStderr())
	if err != nil {
		return withCode(ExitError, err)
	}
	popts := &registry.PublishOptions{Publisher: o.publisher, NextUpdate: o.nextUpdate, KeepSerials: o.keep, Actor: actorOr(o.actor)}
	// Zero values mean defaults in the library; on the command line they
	// are mistakes.
	if o.nextUpdate < time.Second {
		return withCode(ExitError, fmt.Errorf("--next-update %v: want a duration of at least 1s, e.g. 6h", o.nextUpdate))
	}
	if cmd.Flags().Changed("at") {
		if popts.Now, err = parseTimeFlag("at", o.at); err != nil {
			return withCode(ExitError, err)
		}
	}
	if o.keep < 1 {
		return withCode(ExitError, fmt.Errorf("--keep must be at least 1"))
	}
	if o.jwks != "" {
		if popts.Keys, err = readKeys(o.jwks); err != nil {
			return withCode(ExitError, err)
		}
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return withCode(ExitError, err)
	}
	reg, err := openRegistryFile(o.registry, o.actor)
	if err != nil {
		return registryError(err)
	}
	defer reg.Close()
	if len(o.issuers) > 0 {
		if err := reg.AddIssuers(o.issuers...); err != nil {
			return registryError(err)
		}
	}
	res, err := reg.Publish(o.out, key, popts)
	var carried *registry.CarryResult
	if errors.Is(err, registry.ErrPublicationConflict) && o.carry {
		keys := popts.Keys
		if keys == nil {
			set, serr := snapshot.PublicSet(key)
			if serr != nil {
				return withCode(ExitError, serr)
			}
			keys = snapshot.KeysFromSet(set)
		}
		cr, cerr := reg.CarryForward(o.out, keys, &registry.CarryOptions{Actor: actorOr(o.actor)})
		if cerr != nil {
			return registryError(cerr)
		}
		carried = &cr
		res, err = reg.Publish(o.out, key, popts)
	}
	if errors.Is(err, registry.ErrPublicationConflict) {
		return withCode(ExitInvalid, err)
	}
	if err != nil {
		return registryError(err)
	}
	out := cmd.OutOrStdout()
	if o.json {
		return writeJSON(out, struct {
			*registry.PublishResult
			CarriedForward *registry.CarryResult `json:"carried_forward,omitempty"`
		}{res, carried})
	}
	if carried != nil {
		fmt.Fprintf(out, "carried %d of the %d entries of serial %d (%s) forward into the registry: audit record %d\n",
			carried.Carried, carried.Listed, carried.Serial, carried.ListDigest, carried.AuditSeq)
	}
	fmt.Fprintf(out, "published serial %d of \"%s\": %d entries, next update %s\n",
		res.Serial, clean(res.Publisher), res.ListCount, res.NextUpdate.Format(time.RFC3339))
	if res.Expired > 0 {
		fmt.Fprintf(out, "  (%d ended suspension%s left out)\n", res.Expired, plural(int(res.Expired)))
	}
	fmt.Fprintf(out, "  %-52s %10d bytes\n", res.Full.Name, res.Full.Length)
	for _, d := range res.Deltas {
		fmt.Fprintf(out, "  %-52s %10d bytes  +%d -%d\n", d.Name, d.Length, d.Upserts, d.Removals)
	}
	for _, s := range res.Skipped {
		fmt.Fprintf(out, "  (no delta from serial %d: larger than the full list)\n", s)
	}
	fmt.Fprintf(out, "  %-52s %10d bytes\n", res.Checkpoint.Name, res.Checkpoint.Length)
	fmt.Fprintf(out, "  %-52s %10d bytes\n", res.Index.Name, res.Index.Length)
	for _, p := range res.Pruned {
		fmt.Fprintf(out, "  deleted %s\n", clean(p))
	}
	return nil
}

// maxKeyFileBytes bounds a JWK file.
const maxKeyFileBytes = 64 << 10

// readSigningKey reads a private JWK. It warns on stderr when the file is
// readable by others.
func readSigningKey(path string, stderr io.Writer) (jwk.Key, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxKeyFileBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes, not a JWK", path, maxKeyFileBytes)
	}
	const want = "publish needs the private signing key from keygen (signing.jwk)"
	key, err := jwk.ParseKey(b)
	if err != nil {
		if _, serr := jwk.Parse(b); serr == nil {
			return nil, fmt.Errorf("%s is a key set (JWKS), not a private key: %s", path, want)
		}
		return nil, fmt.Errorf("%s: not a JWK: %v", path, err)
	}
	if priv, err := jwk.IsPrivateKey(key); err != nil || !priv {
		return nil, fmt.Errorf("%s is not a private key: %s", path, want)
	}
	if fi, err := f.Stat(); err == nil && fi.Mode().Perm()&0o077 != 0 {
		fmt.Fprintf(stderr, "crlverify: warning: signing key %s is readable by others (mode %v); chmod 600 it\n", path, fi.Mode().Perm())
	}
	return key, nil
}
