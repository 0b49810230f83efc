package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/snapshot"
)

// The files keygen writes in its --out directory.
const (
	signingKeyFile = "signing.jwk"
	publicKeysFile = "publisher.jwks"
)

type keygenOptions struct {
	out  string
	alg  string
	json bool
}

func newKeygenCommand() *cobra.Command {
	o := &keygenOptions{}
	cmd := &cobra.Command{
		Use:   "keygen --out DIR",
		Short: "Create a publisher signing key and the public key set verifiers trust",
		Long: `keygen creates a key for signing revocation list snapshots and writes two
files into DIR (created if needed):

  ` + signingKeyFile + `     the private signing key (JWK, file mode 0600): keep it secret,
                  pass it to "crlverify publish --key"
  ` + publicKeysFile + `  the public key set (JWKS): give it to verifiers, who pass it
                  to "crlverify sync --jwks"

The key id is the key's RFC 7638 thumbprint. EdDSA (Ed25519) is the default;
ES256 (P-256) is accepted for hardware that only has it. keygen never
overwrites: to rotate keys, create the new one in another directory and
publish a JWKS holding both public keys until verifiers have it.`,
		Example: `  crlverify keygen --out keys/
  crlverify keygen --out keys-2027/ --alg ES256`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.out, "out", "", "directory for the key files (required)")
	f.StringVar(&o.alg, "alg", snapshot.AlgEdDSA, "signature algorithm: EdDSA or ES256")
	f.BoolVar(&o.json, "json", false, "print the key id and file paths as JSON")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func (o *keygenOptions) run(cmd *cobra.Command) error {
	if o.alg != snapshot.AlgEdDSA && o.alg != snapshot.AlgES256 {
		return withCode(ExitError, fmt.Errorf("--alg must be %s or %s, not %q", snapshot.AlgEdDSA, snapshot.AlgES256, o.alg))
	}
	priv, pub := filepath.Join(o.out, signingKeyFile), filepath.Join(o.out, publicKeysFile)
	for _, p := range []string{priv, pub} {
		if _, err := os.Lstat(p); err == nil {
			return withCode(ExitError, fmt.Errorf("%s already exists; keygen never overwrites a key", clean(p)))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return withCode(ExitError, err)
		}
	}
	key, err := snapshot.GenerateKey(o.alg)
	if err != nil {
		return withCode(ExitError, err)
	}
	set, err := snapshot.PublicSet(key)
	if err != nil {
		return withCode(ExitError, err)
	}
	privJSON, err := json.MarshalIndent(key, "", "  ")
	if err != nil {
		return withCode(ExitError, err)
	}
	pubJSON, err := json.MarshalIndent(set, "", "  ")
	if err != nil {
		return withCode(ExitError, err)
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return withCode(ExitError, err)
	}
	if err := writeNew(priv, append(privJSON, '\n'), 0o600); err != nil {
		return withCode(ExitError, err)
	}
	if err := writeNew(pub, append(pubJSON, '\n'), 0o644); err != nil {
		os.Remove(priv)
		return withCode(ExitError, err)
	}
	out := cmd.OutOrStdout()
	if o.json {
		return writeJSON(out, map[string]string{
			"key_id": key.KeyID(), "algorithm": o.alg, "signing_key": priv, "public_keys": pub,
		})
	}
	fmt.Fprintf(out, "key id %s (%s)\n  signing key: %s (secret, mode 0600)\n  public keys: %s (give to verifiers)\n", key.KeyID(), o.alg, clean(priv), clean(pub))
	return nil
}

// writeNew writes a file that must not exist yet, durably.
func writeNew(path string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		os.Remove(path)
		return err
	}
	return f.Close()
}
