package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/crlverify/crlverify/crl/service"
)

// The schedule publishes new serials without any change (each renews the
// list's next-update), and stops with its context.
func TestRunPublisher(t *testing.T) {
	a := newAuthority(t)
	svc, err := service.New(service.Config{Dir: a.pubDir, Backend: a.backend, Auth: noAuth{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		svc.RunPublisher(ctx, 20*time.Millisecond)
		close(done)
	}()
	for i := 0; ; i++ {
		ps, err := a.reg.PublishedSerials()
		if err != nil {
			t.Fatal(err)
		}
		if len(ps) >= 3 {
			if ps[2].Serial != 3 || ps[2].NextUpdate.Before(ps[0].NextUpdate) {
				t.Errorf("serials %+v", ps)
			}
			break
		}
		if i == 1000 {
			t.Fatalf("%d serials after waiting", len(ps))
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if service.NextUpdateFor(time.Hour) != 2*time.Hour {
		t.Error("next-update for an hourly schedule")
	}
}
