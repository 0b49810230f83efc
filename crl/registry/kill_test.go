package registry

import (
	"bufio"
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestPublishSurvivesKill kills a process that revokes and publishes in a
// loop at random moments, with SIGKILL, and checks after each kill that the
// directory's index verifies and names complete files, and that the
// registry opens and publishes on.
func TestPublishSurvivesKill(t *testing.T) {
	if spec := os.Getenv("CRLVERIFY_PUBLISH_LOOP"); spec != "" {
		publishLoop(t, spec)
		return
	}
	if testing.Short() {
		t.Skip("spawns processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	key, keys := testKey(t)
	tmp := t.TempDir()
	dir, regPath := filepath.Join(tmp, "pub"), filepath.Join(tmp, "registry.db")
	os.Mkdir(dir, 0o755)
	r, err := Open(regPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Import(bytes.NewReader(benchCSV(20_000)), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Publish(dir, key, &PublishOptions{Publisher: "Example Health Authority"}); err != nil {
		t.Fatal(err)
	}
	r.Close()

	rng := rand.New(rand.NewPCG(1, 2))
	for round := range 6 {
		cmd := exec.Command(exe, "-test.run=^TestPublishSurvivesKill$")
		cmd.Env = append(os.Environ(), "CRLVERIFY_PUBLISH_LOOP="+regPath+"|"+dir+"|"+fmt.Sprint(round))
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = cmd.Stdout
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Let the process publish once, then kill it somewhere in a later
		// publication.
		started := make(chan bool, 1)
		var out strings.Builder
		done := make(chan struct{})
		go func() {
			defer close(done)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				out.WriteString(sc.Text() + "\n")
				if strings.HasPrefix(sc.Text(), "published") {
					select {
					case started <- true:
					default:
					}
				}
			}
			select {
			case started <- false:
			default:
			}
		}()
		if !<-started {
			<-done
			t.Fatalf("round %d: the publishing process stopped:\n%s", round, out.String())
		}
		time.Sleep(time.Duration(rng.IntN(300)) * time.Millisecond)
		cmd.Process.Kill()
		<-done
		if err := cmd.Wait(); err == nil || strings.Contains(out.String(), "FAIL") {
			t.Fatalf("round %d: the publishing process did not run until killed: %v\n%s", round, err, out.String())
		}
		ix := readIndex(t, dir, keys)
		checkFiles(t, dir, ix)
		h, ups, _ := readSnapshot(t, filepath.Join(dir, ix.Full.Name), keys)
		if uint64(len(ups)) != h.ListCount {
			t.Fatalf("round %d: full has %d entries, header says %d", round, len(ups), h.ListCount)
		}
		for _, d := range ix.Deltas {
			readSnapshot(t, filepath.Join(dir, d.Name), keys)
		}
		t.Logf("round %d: killed after %d publications; index at serial %d", round, strings.Count(out.String(), "published"), ix.Serial)
	}
	r, err = Open(regPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	res, err := r.Publish(dir, key, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, ups, _ := readSnapshot(t, filepath.Join(dir, res.Full.Name), keys)
	if want := entries(t, r); len(ups) != len(want) {
		t.Fatalf("after the kills: full has %d entries, registry %d", len(ups), len(want))
	}
}

// publishLoop is the process the test kills: it revokes, lifts and
// publishes until killed (or 20 seconds pass).
func publishLoop(t *testing.T, spec string) {
	var regPath, dir string
	var round int
	parts := strings.SplitN(spec, "|", 3)
	regPath, dir = parts[0], parts[1]
	fmt.Sscan(parts[2], &round)
	key, _ := testKey(t)
	r, err := Open(regPath, &Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; time.Now().Before(deadline); i++ {
		id := fmt.Sprintf("loop-%d-%d", round, i)
		if _, err := r.Revoke(Revocation{Issuer: "did:in:cowin", ID: id}); err != nil {
			t.Fatal(err)
		}
		if i%3 == 2 {
			r.Unrevoke("did:in:cowin", fmt.Sprintf("loop-%d-%d", round, i-1))
		}
		res, err := r.Publish(dir, key, &PublishOptions{KeepSerials: 3})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("published", res.Serial)
	}
}
