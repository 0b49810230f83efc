package snapshot

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// The magic lines. An incompatible format gets a new first line.
const (
	magicSnapshot   = "crlverify-snapshot-v1\n"
	magicIndex      = "crlverify-index-v1\n"
	magicCheckpoint = "crlverify-checkpoint-v1\n"
)

// WriteSnapshot writes a snapshot file to w: the magic line, the header
// signed by key, and exactly h.BodyLength bytes copied from body, which
// must have h.BodyDigest. The caller fills h from its list and from the
// [BodyInfo] of the [BodyWriter] that made the body; WriteSnapshot sets
// h.Version (when 0), h.KeyID and h.Algorithm from key, and truncates the
// times to whole seconds in UTC, so h afterwards is what was signed. A body
// that differs from h is an error wrapping [ErrDigestMismatch]; the bytes
// already written to w are then not a valid snapshot.
func WriteSnapshot(w io.Writer, h *Header, key jwk.Key, body io.Reader) error {
	if h == nil {
		return errors.New("snapshot: nil header")
	}
	if h.Version == 0 {
		h.Version = Version
	}
	h.ThisUpdate = h.ThisUpdate.UTC().Truncate(time.Second)
	h.NextUpdate = h.NextUpdate.UTC().Truncate(time.Second)
	if err := h.validate(noLimits); err != nil {
		return fmt.Errorf("snapshot: refusing to write an invalid header: %w", err)
	}
	payload, err := json.Marshal(h.wire())
	if err != nil {
		return fmt.Errorf("snapshot: %w", err)
	}
	compact, kid, alg, err := sign(payload, typSnapshot, key)
	if err != nil {
		return err
	}
	h.KeyID, h.Algorithm = kid, alg
	bw := bufio.NewWriter(w)
	bw.WriteString(magicSnapshot)
	bw.Write(compact)
	bw.WriteByte('\n')
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("snapshot: writing header: %w", err)
	}
	if body == nil {
		return errors.New("snapshot: nil body")
	}
	d := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, d), io.LimitReader(body, h.BodyLength))
	if err != nil {
		return fmt.Errorf("snapshot: writing body: %w", err)
	}
	if n != h.BodyLength {
		return fmt.Errorf("%w: body has %d bytes, the header says %d", ErrDigestMismatch, n, h.BodyLength)
	}
	var got Digest
	d.Sum(got[:0])
	if got != h.BodyDigest {
		return fmt.Errorf("%w: body digest is %v, the header says %v", ErrDigestMismatch, got, h.BodyDigest)
	}
	return nil
}

// ReadHeader reads a snapshot's magic line and signed header line from r,
// verifies the signature with keys and validates every field against lim
// (nil means [DefaultLimits]). It does not read the body: pass r on to
// [NewBodyReader].
//
// Errors wrap [ErrUnsupportedVersion] (another format version, or a
// critical field not understood), [ErrBadSignature], [ErrUnknownKey],
// [ErrTooLarge] or [ErrMalformed]; errors from r are returned wrapped.
func ReadHeader(r *bufio.Reader, keys Keys, lim *Limits) (*Header, error) {
	l := lim.withDefaults()
	if err := readMagic(r, magicSnapshot); err != nil {
		return nil, err
	}
	line, err := readLine(r, l.MaxHeaderBytes)
	if err != nil {
		return nil, err
	}
	payload, kid, alg, err := verify(line, typSnapshot, keys)
	if err != nil {
		return nil, err
	}
	h, err := parseHeaderPayload(payload, l)
	if err != nil {
		return nil, err
	}
	h.KeyID, h.Algorithm = kid, alg
	return h, nil
}

// readMagic reads the magic line. Another version of the same file type
// is ErrUnsupportedVersion; anything else is ErrMalformed.
func readMagic(r io.Reader, magic string) error {
	family := magic[:strings.LastIndexByte(magic, '-')+1] // "crlverify-snapshot-"
	buf := make([]byte, len(magic))
	n, err := io.ReadFull(r, buf)
	b := buf[:n]
	if string(b) == magic {
		return nil
	}
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return fmt.Errorf("snapshot: reading: %w", err)
	}
	if n < len(magic) && strings.HasPrefix(magic, string(b)) {
		return malformed("file ends inside its first line")
	}
	if bytes.HasPrefix(b, []byte(family)) {
		return fmt.Errorf("%w: file starts %q, this reader knows %q", ErrUnsupportedVersion, b, magic)
	}
	return malformed("not a %sfile: it starts %q", family, clip(string(b)))
}

// readLine reads one line of at most max bytes (not counting the "\n")
// and returns it without the "\n".
func readLine(r *bufio.Reader, max int) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) > max+1 {
			return nil, fmt.Errorf("%w: signed header is longer than %d bytes", ErrTooLarge, max)
		}
		line = append(line, frag...)
		switch err {
		case nil:
			return line[:len(line)-1], nil
		case bufio.ErrBufferFull:
			continue
		case io.EOF:
			return nil, malformed("file ends inside the signed header")
		default:
			return nil, fmt.Errorf("snapshot: reading: %w", err)
		}
	}
}
