package main

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/crlverify/crlverify/verify"
	"github.com/crlverify/crlverify/verify/divoc"
	"github.com/crlverify/crlverify/verify/trust"
)

func newTrustContextCommand(parent *trustOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "context",
		Short: "Map the JSON-LD context URLs of DIVOC deployments to their documents",
		Long: `A DIVOC credential names JSON-LD contexts by URL, and its signature covers
what they define. Nothing is fetched: the contexts of India, Sri Lanka, the
Philippines, Jamaica and Indonesia (vaccination and test certificates) are
built in ("trust context list" shows them). A credential naming any other URL
is MALFORMED until the trust store maps that URL, either to a built-in URL
whose document it publishes (--same-as), or to a document file embedded in the
store (--file). The URL itself is not signed, only what its document defines:
map a URL only to a document known to be the deployment's. A built-in URL
cannot be remapped.`,
		Example: `  crlverify trust context add https://vc.health.example/credentials/vaccination/v2 \
      --same-as https://cowin.gov.in/credentials/vaccination/v2
  crlverify trust context add https://vc.health.example/credentials/test/v1 --file test-context.json
  crlverify trust context list
  crlverify trust context remove https://vc.health.example/credentials/test/v1`,
	}
	cmd.AddCommand(newTrustContextAddCommand(parent), newTrustContextListCommand(parent), newTrustContextRemoveCommand(parent))
	return cmd
}

type trustContextAddOptions struct {
	*trustOptions
	sameAs string
	file   string
}

func newTrustContextAddCommand(parent *trustOptions) *cobra.Command {
	o := &trustContextAddOptions{trustOptions: parent}
	cmd := &cobra.Command{
		Use:   "add URL (--same-as BUILT_IN_URL | --file DOC.json)",
		Short: "Map a context URL to a built-in document or to a document file",
		Long: `add maps the context URL credentials name to a document, replacing any
earlier mapping of URL:
  --same-as BUILT_IN_URL   the document of a built-in context URL, for a
                           deployment that publishes it under its own URL
  --file DOC.json          a JSON-LD context document ("-" for standard
                           input), embedded in the trust store byte for byte
                           with its SHA-256 (at most ` + strconv.Itoa(trust.MaxContextSize>>10) + ` KiB)`,
		Example: `  crlverify trust context add https://vc.health.example/credentials/vaccination/v2 \
      --same-as https://cowin.gov.in/credentials/vaccination/v2
  crlverify trust context add https://vc.health.example/credentials/test/v1 --file test-context.json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(cmd, args[0]) },
	}
	cmd.Flags().StringVar(&o.sameAs, "same-as", "", "a built-in context URL whose document URL stands for")
	cmd.Flags().StringVar(&o.file, "file", "", `a JSON-LD context document file ("-" for standard input)`)
	return cmd
}

func (o *trustContextAddOptions) run(cmd *cobra.Command, url string) error {
	if (o.sameAs == "") == (o.file == "") {
		return errors.New("give either --same-as BUILT_IN_URL or --file DOC.json")
	}
	if divoc.IsBundled(url) {
		return fmt.Errorf("%s is built in: its document cannot be remapped", clean(url))
	}
	var doc []byte
	if o.file != "" {
		var err error
		if o.file == "-" {
			doc, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), trust.MaxContextSize+1))
			if err == nil && len(doc) > trust.MaxContextSize {
				err = fmt.Errorf("standard input: more than %d bytes", trust.MaxContextSize)
			}
		} else {
			doc, err = readBounded(o.file, trust.MaxContextSize)
		}
		if err != nil {
			return err
		}
		// Refuse now what would make every credential naming url
		// malformed later.
		c := divoc.DefaultContexts()
		if err := c.Add(url, doc); err != nil {
			return fmt.Errorf("%s: %w", o.file, err)
		}
		if err := c.Check(url); err != nil {
			return fmt.Errorf("%s: not a usable JSON-LD context: %w", o.file, err)
		}
	} else if !divoc.IsBundled(o.sameAs) {
		return fmt.Errorf("--same-as %s: not a built-in context URL (crlverify trust context list shows them)", clean(o.sameAs))
	}
	s, path, err := o.load(true)
	if err != nil {
		return err
	}
	var added bool
	var what string
	if o.file != "" {
		var c trust.Context
		source := filepath.Base(o.file)
		if o.file == "-" {
			source = "standard input"
		}
		c, added, err = s.EmbedContext(url, doc, source)
		what = fmt.Sprintf("document %s (%d bytes, sha256 %s)", clean(c.Source), len(doc), c.SHA256)
	} else {
		added, err = s.MapContext(url, o.sameAs)
		what = "same as " + clean(o.sameAs)
	}
	if err != nil {
		return err
	}
	if err := s.Save(path); err != nil {
		return err
	}
	verb := "replaced"
	if added {
		verb = "added"
	}
	_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s %s: %s\n", verb, clean(url), what)
	return err
}

type trustContextListOptions struct {
	*trustOptions
	json bool
}

// contextLine is the JSON form of one context URL in trust context list.
type contextLine struct {
	URL string `json:"url"`
	// Kind is "built_in", "same_as" (a trust store mapping to a built-in
	// URL) or "document" (a document embedded in the trust store).
	Kind   string `json:"kind"`
	File   string `json:"file,omitempty"`
	SameAs string `json:"same_as,omitempty"`
	Bytes  int    `json:"bytes,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
	Source string `json:"source,omitempty"`
}

func newTrustContextListCommand(parent *trustOptions) *cobra.Command {
	o := &trustContextListOptions{trustOptions: parent}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the context URLs credentials may name: built in, then the trust store's",
		Long: `list shows every context URL a credential may name: the built-in ones with
the document each is served, then the trust store's mappings. A mapping that
cannot be used (its --same-as URL is no longer built in) is reported on
standard error; credentials naming its URL are MALFORMED.`,
		Example: `  crlverify trust context list
  crlverify trust context list --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	cmd.Flags().BoolVar(&o.json, "json", false, "print one JSON object per context URL")
	return cmd
}

func (o *trustContextListOptions) run(cmd *cobra.Command) error {
	s, _, err := o.load(true)
	if err != nil {
		return err
	}
	var lines []contextLine
	bundled := divoc.Bundled()
	for _, u := range slices.Sorted(maps.Keys(bundled)) {
		lines = append(lines, contextLine{URL: u, Kind: "built_in", File: bundled[u]})
	}
	for _, c := range s.Contexts() {
		l := contextLine{URL: c.URL, Kind: "same_as", SameAs: c.SameAs}
		if c.SameAs == "" {
			l = contextLine{URL: c.URL, Kind: "document", Bytes: len(c.Document), SHA256: c.SHA256, Source: c.Source}
		}
		lines = append(lines, l)
	}
	w := cmd.OutOrStdout()
	for _, l := range lines {
		if o.json {
			if err := writeJSON(w, l); err != nil {
				return err
			}
			continue
		}
		var what string
		switch l.Kind {
		case "built_in":
			what = "built in: " + l.File
		case "same_as":
			what = "same as " + clean(l.SameAs)
		default:
			what = fmt.Sprintf("document %s (%d bytes, sha256 %s)", clean(l.Source), l.Bytes, l.SHA256)
		}
		if _, err := fmt.Fprintf(w, "%s  %s\n", clean(l.URL), what); err != nil {
			return err
		}
	}
	if _, err := verify.ContextsFor(s); err != nil {
		for _, e := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(cmd.ErrOrStderr(), "crlverify: warning: %s\n", clean(e))
		}
	}
	return nil
}

func newTrustContextRemoveCommand(parent *trustOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "remove URL",
		Short: "Remove the trust store's mapping of a context URL",
		Long: `remove deletes the trust store's mapping of URL: credentials naming it are
MALFORMED again. Built-in URLs cannot be removed.`,
		Example: `  crlverify trust context remove https://vc.health.example/credentials/test/v1`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			url := args[0]
			if divoc.IsBundled(url) {
				return fmt.Errorf("%s is built in: it cannot be removed", clean(url))
			}
			s, path, err := parent.load(false)
			if err != nil {
				return err
			}
			if err := s.RemoveContext(url); err != nil {
				return fmt.Errorf("the trust store maps no context %s", clean(url))
			}
			if err := s.Save(path); err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "removed %s\n", clean(url))
			return err
		},
	}
}
