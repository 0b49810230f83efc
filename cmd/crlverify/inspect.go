package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/crl"
	"github.com/crlverify/crlverify/snapshot"
)

type inspectOptions struct {
	jwks string
	json bool
}

func newInspectCommand() *cobra.Command {
	o := &inspectOptions{}
	cmd := &cobra.Command{
		Use:   "inspect FILE [--jwks JWKS] [--json]",
		Short: "Show a snapshot or index file: header, counts, signature check",
		Long: `inspect reads a snapshot (full or delta) or a publication index and prints
its signed header. For a snapshot it also reads the whole body, counts the
entries by reason, and checks the body's length and digest.

With --jwks the signature is checked against those public keys, and a file
that fails any check exits 1. Without it the signature is NOT checked: the
header is shown for information only and marked unverified.

` + exitCodeHelp,
		Example: `  crlverify inspect pub/index.jws --jwks keys/publisher.jwks
  crlverify inspect --json pub/full-00000000000000000007.crl`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	cmd.Flags().StringVar(&o.jwks, "jwks", "", "publisher's public keys (JWKS) to check the signature with")
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON object")
	return cmd
}

// inspection is what inspect reports, and its JSON form.
type inspection struct {
	File       string            `json:"file"`
	Type       string            `json:"type"` // "snapshot" or "index"
	Signature  string            `json:"signature"`
	KeyID      string            `json:"key_id"`
	Algorithm  string            `json:"algorithm"`
	Kind       snapshot.Kind     `json:"kind,omitempty"`
	Publisher  string            `json:"publisher"`
	Issuers    []string          `json:"issuers"`
	Serial     uint64            `json:"serial"`
	ThisUpdate time.Time         `json:"this_update"`
	NextUpdate time.Time         `json:"next_update"`
	BaseSerial uint64            `json:"base_serial,omitempty"`
	BaseDigest *snapshot.Digest  `json:"base_digest,omitempty"`
	ListDigest *snapshot.Digest  `json:"list_digest,omitempty"`
	Entries    uint64            `json:"entries,omitempty"`
	Upserts    uint64            `json:"upserts"`
	Removals   uint64            `json:"removals"`
	Suspension uint64            `json:"suspensions"`
	Reasons    map[string]uint64 `json:"reasons,omitempty"`
	BodyLength int64             `json:"body_length,omitempty"`
	BodyDigest *snapshot.Digest  `json:"body_digest,omitempty"`
	Body       string            `json:"body,omitempty"`
	Full       *indexFileLine    `json:"full,omitempty"`
	Deltas     []indexFileLine   `json:"deltas,omitempty"`

	byReason [crl.MaxReason + 1]uint64
}

// indexFileLine is the JSON form of a file an index lists, with the names
// the index itself gives them.
type indexFileLine struct {
	Name       string          `json:"name"`
	Kind       snapshot.Kind   `json:"kind"`
	Serial     uint64          `json:"serial"`
	BaseSerial uint64          `json:"base_serial,omitempty"`
	Length     int64           `json:"length"`
	Digest     snapshot.Digest `json:"digest"`
}

func toIndexFileLine(f snapshot.IndexFile) indexFileLine {
	return indexFileLine{Name: f.Name, Kind: f.Kind, Serial: f.Serial, BaseSerial: f.BaseSerial, Length: f.Length, Digest: f.Digest}
}

func (o *inspectOptions) run(cmd *cobra.Command, path string) error {
	var keys snapshot.Keys
	if o.jwks != "" {
		k, err := readKeys(o.jwks)
		if err != nil {
			return withCode(ExitError, err)
		}
		keys = k
	}
	f, err := os.Open(path)
	if err != nil {
		return withCode(ExitError, err)
	}
	defer f.Close()
	br := bufio.NewReaderSize(f, 64<<10)
	first, _ := br.Peek(len("crlverify-index-"))
	var in *inspection
	if bytes.Equal(first, []byte("crlverify-index-")) {
		in, err = inspectIndex(br, keys)
	} else {
		in, err = inspectSnapshot(br, keys)
	}
	if err != nil {
		return withCode(refusedCode(err), fmt.Errorf("%s: %w", path, err))
	}
	in.File = path
	in.ThisUpdate, in.NextUpdate = utcSecond(in.ThisUpdate), utcSecond(in.NextUpdate)
	if o.json {
		return writeJSON(cmd.OutOrStdout(), in)
	}
	_, err = io.WriteString(cmd.OutOrStdout(), in.text())
	return err
}

// refusedCode is 1 for a file the format or its signature refuses, 2 for
// anything else (I/O).
func refusedCode(err error) int {
	for _, s := range []error{snapshot.ErrBadSignature, snapshot.ErrUnknownKey, snapshot.ErrDigestMismatch,
		snapshot.ErrUnsupportedVersion, snapshot.ErrTooLarge, snapshot.ErrMalformed} {
		if errors.Is(err, s) {
			return ExitInvalid
		}
	}
	return ExitError
}

func signatureState(keys snapshot.Keys) string {
	if keys == nil {
		return "unverified"
	}
	return "verified"
}

func inspectSnapshot(r *bufio.Reader, keys snapshot.Keys) (*inspection, error) {
	var h *snapshot.Header
	var err error
	if keys == nil {
		h, err = snapshot.ReadHeaderUnverified(r, nil)
	} else {
		h, err = snapshot.ReadHeader(r, keys, nil)
	}
	if err != nil {
		return nil, err
	}
	in := &inspection{
		Type: "snapshot", Signature: signatureState(keys), KeyID: h.KeyID, Algorithm: h.Algorithm,
		Kind: h.Kind, Publisher: h.Publisher, Issuers: h.Issuers, Serial: h.Serial,
		ThisUpdate: h.ThisUpdate, NextUpdate: h.NextUpdate, ListDigest: &h.ListDigest, Entries: h.ListCount,
		BodyLength: h.BodyLength, BodyDigest: &h.BodyDigest,
	}
	if h.Kind == snapshot.KindDelta {
		in.BaseSerial, in.BaseDigest = h.BaseSerial, &h.BaseDigest
	}
	body := snapshot.NewBodyReader(r, h, nil)
	for {
		e, removed, err := body.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if removed {
			in.Removals++
			continue
		}
		in.Upserts++
		in.byReason[e.Reason]++
		if e.IsSuspension() {
			in.Suspension++
		}
	}
	in.Body = "length and digest verified"
	in.Reasons = make(map[string]uint64)
	for r, n := range in.byReason {
		if n > 0 {
			in.Reasons[crl.Reason(r).String()] = n
		}
	}
	return in, nil
}

func inspectIndex(r io.Reader, keys snapshot.Keys) (*inspection, error) {
	var ix *snapshot.Index
	var err error
	if keys == nil {
		ix, err = snapshot.ReadIndexUnverified(r, nil)
	} else {
		ix, err = snapshot.ReadIndex(r, keys, nil)
	}
	if err != nil {
		return nil, err
	}
	full := toIndexFileLine(ix.Full)
	in := &inspection{
		Type: "index", Signature: signatureState(keys), KeyID: ix.KeyID, Algorithm: ix.Algorithm,
		Publisher: ix.Publisher, Issuers: ix.Issuers, Serial: ix.Serial,
		ThisUpdate: ix.ThisUpdate, NextUpdate: ix.NextUpdate, Full: &full,
	}
	for _, d := range ix.Deltas {
		in.Deltas = append(in.Deltas, toIndexFileLine(d))
	}
	return in, nil
}

// text is the text form; every line is cleaned, since the file's signed
// fields (publisher, issuers, key id, file names) come from outside, and
// may come from a file whose signature is not checked.
func (in *inspection) text() string {
	var b strings.Builder
	line := func(label, format string, args ...any) {
		fmt.Fprintf(&b, "%-13s %s\n", label+":", clean(fmt.Sprintf(format, args...)))
	}
	what := "publication index"
	if in.Type == "snapshot" {
		what = string(in.Kind) + " snapshot"
	}
	line("file", "%s (%s, format v%d)", in.File, what, snapshot.Version)
	if in.Signature == "verified" {
		line("signature", "verified, key %s (%s)", in.KeyID, in.Algorithm)
	} else {
		line("signature", "NOT CHECKED (no --jwks): key %s (%s); nothing below is verified", in.KeyID, in.Algorithm)
	}
	line("publisher", "%s", in.Publisher)
	line("issuers", "%s", strings.Join(in.Issuers, ", "))
	line("serial", "%d", in.Serial)
	line("this update", "%s", in.ThisUpdate.UTC().Format(time.RFC3339))
	line("next update", "%s", in.NextUpdate.UTC().Format(time.RFC3339))
	if in.Type == "index" {
		line("newest full", "%s (%d bytes, %s)", in.Full.Name, in.Full.Length, in.Full.Digest)
		for _, d := range in.Deltas {
			line("delta", "%s from serial %d (%d bytes)", d.Name, d.BaseSerial, d.Length)
		}
		return b.String()
	}
	if in.Kind == snapshot.KindDelta {
		line("base", "serial %d, list %s", in.BaseSerial, in.BaseDigest)
	}
	line("list", "%d entries, %s", in.Entries, in.ListDigest)
	line("this file", "%d upserts (%d suspensions), %d removals", in.Upserts, in.Suspension, in.Removals)
	var rs []string
	for r := crl.Reason(0); r <= crl.MaxReason; r++ {
		if n := in.byReason[r]; n > 0 {
			rs = append(rs, fmt.Sprintf("%s %d", r, n))
		}
	}
	if len(rs) > 0 {
		line("reasons", "%s", strings.Join(rs, ", "))
	}
	line("body", "%d bytes, %s, %s", in.BodyLength, in.BodyDigest, in.Body)
	return b.String()
}
