package api_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shadowvault/shadowvault/internal/testserver"
)

// TestStalledUploadIsCut: a client that stops sending mid-body is cut off
// after the idle timeout, and its partial disk does not count.
func TestStalledUploadIsCut(t *testing.T) {
	s := testserver.Start(t, testserver.Options{IdleTimeout: 300 * time.Millisecond})
	id := openSession(t, s, "HV01", "VM1")
	pr, pw := io.Pipe()
	defer pw.Close()
	done := make(chan error, 1)
	go func() {
		_, err := s.Client("").PutDisk(context.Background(), id, "d.raw", pr, 32<<20, "")
		done <- err
	}()
	pw.Write(random(1 << 20))
	// ... and nothing more.
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("a stalled upload succeeded")
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the server kept a stalled upload open")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		st, code := call(t, s, "POST", "/api/v1/sessions/"+id+"/complete", s.AdminToken, nil)
		if st == 409 && code == "DISK_FAILED" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("complete after a stalled upload: %d %s", st, code)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBurstOfBadRequests: the server keeps answering good requests quickly
// while it is flooded with bad ones.
func TestBurstOfBadRequests(t *testing.T) {
	s := testserver.Start(t, testserver.Options{})
	id := openSession(t, s, "HV01", "VM1")
	bad := []func() (*http.Request, error){
		func() (*http.Request, error) { return http.NewRequest("GET", s.URL+"/api/v1/snapshots", nil) },
		func() (*http.Request, error) {
			r, err := http.NewRequest("POST", s.URL+"/api/v1/sessions", strings.NewReader(`{"host":`))
			if err == nil {
				r.Header.Set("Authorization", "Bearer "+s.AdminToken)
			}
			return r, err
		},
		func() (*http.Request, error) {
			r, err := http.NewRequest("PUT", s.URL+"/api/v1/sessions/"+id+"/disks/..", bytes.NewReader(random(100)))
			if err == nil {
				r.Header.Set("Authorization", "Bearer svt_nope_nope")
			}
			return r, err
		},
		func() (*http.Request, error) { return http.NewRequest("DELETE", s.URL+"/nothing/here", nil) },
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var badCount, badFailures int64
	var mu sync.Mutex
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := bad[(w+i)%len(bad)]()
				resp, err := http.DefaultClient.Do(req)
				mu.Lock()
				badCount++
				if err != nil || resp.StatusCode < 400 || resp.StatusCode > 499 {
					badFailures++
				}
				mu.Unlock()
				if err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}(w)
	}
	time.Sleep(200 * time.Millisecond)
	var worst time.Duration
	for i := 0; i < 20; i++ {
		start := time.Now()
		if st, _ := call(t, s, "GET", "/api/v1/stats", s.AdminToken, nil); st != 200 {
			t.Fatalf("stats during the burst: %d", st)
		}
		worst = max(worst, time.Since(start))
	}
	data := random(2 << 20)
	if _, err := s.Client("").PutDisk(context.Background(), id, "good.raw", bytes.NewReader(data), int64(len(data)), ""); err != nil {
		t.Fatalf("upload during the burst: %v", err)
	}
	close(stop)
	wg.Wait()
	t.Logf("%d bad requests answered; slowest good request %v", badCount, worst)
	if badFailures > 0 {
		t.Fatalf("%d of %d bad requests did not get a 4xx", badFailures, badCount)
	}
	if worst > 2*time.Second {
		t.Fatalf("a good request took %v during the burst", worst)
	}
}
