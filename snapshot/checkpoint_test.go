package snapshot_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/crlverify/crlverify/snapshot"
)

// The worked example of the package documentation ("Checkpoint").
const (
	exampleCheckpointPayload = `{"v":1,"publisher":"Example Health Authority","serial":2,"this_update":"2026-11-22T09:05:00Z",` +
		`"list_digest":"sha256:78b627733a29efc0e19e097b0b812f43d1bffbf46bb3d1c02fc0e715e460413b","list_count":2,` +
		`"audit_seq":3,"audit_head":"sha256:0012534820a31fdd36af4c0d5393a4eb14670b457c4e73b43a911dc383ebeac7"}`
	exampleCheckpointFile = "crlverify-checkpoint-v1\n" +
		"eyJhbGciOiJFZERTQSIsImtpZCI6IkRwVXN3WG5JSHVVbnc2Tm1DSmxXT0kxUG1FT0MzSDNPUGNYSWZ5alE4VmsiLCJ0eXAiOiJjcmx2ZXJpZnktY2hlY2twb2ludCtqd3MifQ." +
		"eyJ2IjoxLCJwdWJsaXNoZXIiOiJFeGFtcGxlIEhlYWx0aCBBdXRob3JpdHkiLCJzZXJpYWwiOjIsInRoaXNfdXBkYXRlIjoiMjAyNi0xMS0yMlQwOTowNTowMFoiLCJsaXN0X2RpZ2VzdCI6InNoYTI1Njo3OGI2Mjc3MzNhMjllZmMwZTE5ZTA5N2IwYjgxMmY0M2QxYmZmYmY0NmJiM2QxYzAyZmMwZTcxNWU0NjA0MTNiIiwibGlzdF9jb3VudCI6MiwiYXVkaXRfc2VxIjozLCJhdWRpdF9oZWFkIjoic2hhMjU2OjAwMTI1MzQ4MjBhMzFmZGQzNmFmNGMwZDUzOTNhNGViMTQ2NzBiNDU3YzRlNzNiNDNhOTExZGMzODNlYmVhYzcifQ." +
		"5lIkNHkTonNgFoy9ipmT67eIZl66Kj_CPAvnsvvUfF9uvUjCw1vnJz6_dD7_Q-0cZrQEGcdFJ6VizG6lZyV_DQ\n"
)

func exampleCheckpoint(t testing.TB) (*snapshot.Checkpoint, jwk.Key) {
	t.Helper()
	kb, err := os.ReadFile("testdata/golden-eddsa.jwk")
	must(t, err)
	key, err := jwk.ParseKey(kb)
	must(t, err)
	ld, err := snapshot.ParseDigest("sha256:78b627733a29efc0e19e097b0b812f43d1bffbf46bb3d1c02fc0e715e460413b")
	must(t, err)
	ah, err := snapshot.ParseDigest("sha256:0012534820a31fdd36af4c0d5393a4eb14670b457c4e73b43a911dc383ebeac7")
	must(t, err)
	return &snapshot.Checkpoint{Publisher: "Example Health Authority", Serial: 2,
		ThisUpdate: time.Date(2026, 11, 22, 9, 5, 0, 0, time.UTC), ListDigest: ld, ListCount: 2,
		AuditSeq: 3, AuditHead: ah}, key
}

func TestCheckpointWorkedExample(t *testing.T) {
	c, key := exampleCheckpoint(t)
	p, err := snapshot.CheckpointPayload(c)
	must(t, err)
	if string(p) != exampleCheckpointPayload {
		t.Errorf("payload\n%s\nthe documentation says\n%s", p, exampleCheckpointPayload)
	}
	var b bytes.Buffer
	must(t, snapshot.WriteCheckpoint(&b, c, key))
	if b.String() != exampleCheckpointFile {
		t.Errorf("file\n%s\nthe documentation says\n%s", b.String(), exampleCheckpointFile)
	}
	if name := snapshot.CheckpointName(2); name != "checkpoint-00000000000000000002.jws" {
		t.Errorf("name %s", name)
	}
	got, err := snapshot.ReadCheckpoint(strings.NewReader(exampleCheckpointFile), loadKeys(t).trusted)
	must(t, err)
	c.KeyID, c.Algorithm = "DpUswXnIHuUnw6NmCJlWOI1PmEOC3H3OPcXIfyjQ8Vk", "EdDSA"
	if *got != *c {
		t.Errorf("read %+v, want %+v", got, c)
	}
}

func TestCheckpointName(t *testing.T) {
	for name, want := range map[string]uint64{
		"checkpoint-00000000000000000002.jws": 2,
		"checkpoint-2.jws":                    0,
		"checkpoint-00000000000000000000.jws": 0,
		"checkpoint-0000000000000000000x.jws": 0,
		"full-00000000000000000002.crl":       0,
		"checkpoint-99999999999999999999.jws": 0,
	} {
		s, ok := snapshot.ParseCheckpointName(name)
		if s != want || ok != (want != 0) {
			t.Errorf("ParseCheckpointName(%q) = %d, %v", name, s, ok)
		}
	}
}

// TestCheckpointRefused: the version rule and every bound fail closed.
func TestCheckpointRefused(t *testing.T) {
	keys := loadKeys(t)
	_, key := exampleCheckpoint(t)
	var base map[string]any
	must(t, json.Unmarshal([]byte(exampleCheckpointPayload), &base))
	resignCP := func(payload map[string]any) []byte {
		b, err := json.Marshal(payload)
		must(t, err)
		return signCheckpoint(t, b, key, "crlverify-checkpoint+jws")
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name string
		file []byte
		want error
	}{
		{"unknown critical field", resignCP(with("crit", []string{"witness"})), snapshot.ErrUnsupportedVersion},
		{"known critical field", resignCP(with("crit", []string{"audit_head"})), nil},
		{"unknown field ignored", resignCP(with("witness", "x")), nil},
		{"version 2", resignCP(with("v", 2)), snapshot.ErrUnsupportedVersion},
		{"no audit head", resignCP(with("audit_head", nil)), snapshot.ErrMalformed},
		{"audit seq 0", resignCP(with("audit_seq", 0)), snapshot.ErrMalformed},
		{"bad digest", resignCP(with("list_digest", "sha256:AB")), snapshot.ErrMalformed},
		{"index typ", signCheckpoint(t, []byte(exampleCheckpointPayload), key, "crlverify-index+jws"), snapshot.ErrMalformed},
		{"magic v2", []byte(strings.Replace(exampleCheckpointFile, "-v1", "-v2", 1)), snapshot.ErrUnsupportedVersion},
		{"trailing data", []byte(exampleCheckpointFile + "x\n"), snapshot.ErrMalformed},
		{"cut", []byte(exampleCheckpointFile[:len(exampleCheckpointFile)-10]), nil},
		{"too large", bytes.Repeat([]byte("a"), snapshot.MaxCheckpointBytes+1), snapshot.ErrTooLarge},
	}
	for _, c := range cases {
		_, err := snapshot.ReadCheckpoint(bytes.NewReader(c.file), keys.trusted)
		switch {
		case c.name == "cut":
			if err == nil {
				t.Errorf("%s: accepted", c.name)
			}
		case c.want == nil && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: got %v, want %v", c.name, err, c.want)
		}
	}
	// Another key is not trusted.
	other, err := snapshot.GenerateKey(snapshot.AlgEdDSA)
	must(t, err)
	if _, err := snapshot.ReadCheckpoint(bytes.NewReader(signCheckpoint(t, []byte(exampleCheckpointPayload), other, "crlverify-checkpoint+jws")), keys.trusted); !errors.Is(err, snapshot.ErrUnknownKey) {
		t.Errorf("untrusted key: %v", err)
	}
}

func signCheckpoint(t testing.TB, payload []byte, key jwk.Key, typ string) []byte {
	t.Helper()
	line := resign(t, []byte("crlverify-checkpoint-v1\nx.y.z\n"), json.RawMessage(payload), key, jwa.EdDSA, typ)
	return line
}

// TestIndexListDigest: the optional list_digest of an index is written
// and read back, and an index without it still reads.
func TestIndexListDigest(t *testing.T) {
	keys := loadKeys(t)
	_, key := exampleCheckpoint(t)
	d, _ := snapshot.ParseDigest("sha256:78b627733a29efc0e19e097b0b812f43d1bffbf46bb3d1c02fc0e715e460413b")
	now := time.Date(2026, 11, 22, 9, 5, 0, 0, time.UTC)
	ix := &snapshot.Index{Publisher: "p", Issuers: []string{"i"}, Serial: 2, ThisUpdate: now, NextUpdate: now.Add(time.Hour),
		Full: snapshot.IndexFile{Name: snapshot.FullName(2), Kind: snapshot.KindFull, Serial: 2, Length: 100}}
	for _, ld := range []snapshot.Digest{{}, d} {
		ix.ListDigest = ld
		var b bytes.Buffer
		must(t, snapshot.WriteIndex(&b, ix, key))
		if got := payloadOf(t, b.Bytes())["list_digest"] != nil; got == ld.IsZero() {
			t.Errorf("list_digest %v written: %v", ld, got)
		}
		back, err := snapshot.ReadIndex(&b, keys.trusted, nil)
		must(t, err)
		if back.ListDigest != ld {
			t.Errorf("list digest read %v, want %v", back.ListDigest, ld)
		}
	}
}

// FuzzReadCheckpoint feeds arbitrary files to ReadCheckpoint, verified
// and unverified: every refusal is one of the package's typed errors, and
// a checkpoint that reads writes back to the same payload.
func FuzzReadCheckpoint(f *testing.F) {
	f.Add([]byte(exampleCheckpointFile))
	f.Add(readTestdata(f, "golden/"+snapshot.IndexName))
	keys := loadKeys(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, k := range []snapshot.Keys{keys.trusted, snapshot.UnverifiedKeys()} {
			c, err := snapshot.ReadCheckpoint(bytes.NewReader(data), k)
			if err != nil {
				if !knownErr(err) {
					t.Fatalf("untyped error: %v", err)
				}
				continue
			}
			if _, err := snapshot.CheckpointPayload(c); err != nil {
				t.Fatalf("read a checkpoint it cannot write: %v", err)
			}
		}
	})
}
