package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// outputHelp documents the output every command shares: it is part of the
// root command's help.
const outputHelp = `Output:
  stdout is data, stderr diagnostics. Text from outside (certificate fields,
  ids, issuer and publisher names, file names, messages quoting them) is
  printed with control characters, Unicode format characters (bidi
  overrides, zero-width marks) and line separators made visible as \x1b,
  \n, \u202e and the like: it can neither drive the terminal nor pass for
  output of its own.

  --json prints one JSON object per line, with the exact values: strings
  escape every control and format character (\u001b, \u009b, \u202e), so
  the bytes written hold none. The names mean the same in every command:
    status        the state found: a verdict (VALID, REVOKED...) for scan,
                  revoked | suspended | not_revoked | unknown | not_checked
                  for a revocation, active | terminated for a key
    reason        the revocation reason code's name (dataError, tampering...)
    detail        one sentence of prose explaining the status
    known         the revocation status can be relied on (a fresh list, or
                  revoked/suspended whatever its freshness)
    freshness     fresh | stale | clock_behind | no_list
    error         what went wrong when the work could not be done
    exit_code     the exit code an error object ends the command with
    publisher, issuer(s), serial, entries, key_id, algorithm, input, source
  Times are RFC 3339 in UTC to the second (2026-06-01T00:00:00Z); durations
  are numbers of seconds in fields ending in _seconds.
  A command given --json that fails prints {"error": "...", "exit_code": N}
  as its last line on stdout, as well as the message on stderr.`

// clean returns s as it may reach a terminal: every character that could
// drive the terminal or disguise the text (C0 and C1 controls, DEL,
// Unicode format characters such as bidi overrides, line and paragraph
// separators) and every byte that is not UTF-8 is written as a visible
// escape: \n, \x1b, \u202e. Letters of every script, and the joiners
// (U+200C, U+200D) some scripts spell with, are kept. Every value from
// outside goes through clean before text output prints it.
func clean(s string) string { return escapeText(s, false) }

// cleanLines is clean for a multi-line message of the program's own (an
// error and its hint): it keeps line feeds and tabs.
func cleanLines(s string) string { return escapeText(s, true) }

// unsafeRune reports whether r, printed raw, could drive a terminal or
// disguise text.
func unsafeRune(r rune) bool {
	switch {
	case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
		return true
	case r == '\u2028' || r == '\u2029':
		return true
	case r == '\u200c' || r == '\u200d': // joiners: part of some scripts' spelling
		return false
	}
	return r >= 0xa0 && unicode.Is(unicode.Cf, r)
}

func escapeText(s string, lines bool) string {
	keep := func(r rune) bool { return lines && (r == '\n' || r == '\t') }
	i := strings.IndexFunc(s, func(r rune) bool { return (unsafeRune(r) && !keep(r)) || r == utf8.RuneError })
	if i < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 16)
	b.WriteString(s[:i])
	for s = s[i:]; s != ""; {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[0])
		case keep(r) || !unsafeRune(r):
			b.WriteString(s[:n])
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x80:
			fmt.Fprintf(&b, `\x%02x`, r)
		case r <= 0xffff:
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			fmt.Fprintf(&b, `\U%08x`, r)
		}
		s = s[n:]
	}
	return b.String()
}

// writeJSON writes v as one line of JSON that holds no character a
// terminal acts on: encoding/json escapes the C0 controls and U+2028/9;
// DEL, the C1 controls and the format characters are escaped here too, as
// \u sequences, so the value decodes exactly as it was.
func writeJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	b = append(escapeJSON(b), '\n')
	_, err = w.Write(b)
	return err
}

// escapeJSON rewrites the characters unsafeRune reports in the output of
// json.Marshal (valid UTF-8, in which they can only stand inside strings)
// as \u escapes.
func escapeJSON(b []byte) []byte {
	i := 0
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if r >= 0x7f && unsafeRune(r) {
			break
		}
		i += n
	}
	if i == len(b) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	out = append(out, b[:i]...)
	for i < len(b) {
		r, n := utf8.DecodeRune(b[i:])
		if r < 0x7f || !unsafeRune(r) {
			out = append(out, b[i:i+n]...)
			i += n
			continue
		}
		if r > 0xffff {
			r1, r2 := utf16.EncodeRune(r)
			out = fmt.Appendf(out, `\u%04x\u%04x`, r1, r2)
		} else {
			out = fmt.Appendf(out, `\u%04x`, r)
		}
		i += n
	}
	return out
}

// utcSecond is t as JSON output writes times: UTC, to the second.
func utcSecond(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	return t.UTC().Truncate(time.Second)
}

// utcSecondPtr is utcSecond for an optional time: nil when t is zero.
func utcSecondPtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	u := utcSecond(t)
	return &u
}
