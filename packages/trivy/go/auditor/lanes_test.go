package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"sync"
	"syscall"
	"testing"
	"time"
)

// laneAuditor blocks a manifest named "hold" until release is closed, and records the niceness
// of the thread each manifest was audited on.
type laneAuditor struct {
	release chan struct{}
	mu      sync.Mutex
	nice    map[string]int
}

func (l *laneAuditor) Audit(_ context.Context, manifest []byte, _ bool) ([]Finding, error) {
	var m struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, err
	}
	if m.Name == "hold" {
		<-l.release
	}
	l.mu.Lock()
	l.nice[m.Name] = threadNice()
	l.mu.Unlock()
	return []Finding{{ID: m.Name, Severity: "LOW", Status: "FAIL"}}, nil
}

// threadNice is the calling thread's nice value (the raw syscall answers 20 - nice).
func threadNice() int {
	p, err := syscall.Getpriority(syscall.PRIO_PROCESS, syscall.Gettid())
	if err != nil {
		return -100
	}
	return 20 - p
}

func startServe(t *testing.T, a auditor, bulkNiceness int) (send func(string), next func() Response, done <-chan error) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	errc := make(chan error, 1)
	go func() {
		errc <- serve(context.Background(), a, inR, outW, 1, bulkNiceness)
		outW.Close()
	}()
	lines := bufio.NewScanner(outR)
	t.Cleanup(func() { inW.Close(); outR.Close() })
	send = func(line string) {
		if _, err := io.WriteString(inW, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	next = func() Response {
		if !lines.Scan() {
			t.Fatalf("no response: %v", lines.Err())
		}
		var r Response
		if err := json.Unmarshal(lines.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	go func() { <-errc; inW.Close() }()
	return send, next, errc
}

func TestAnUrgentRequestIsAnsweredWhileABulkOneIsStillBeingAudited(t *testing.T) {
	a := &laneAuditor{release: make(chan struct{}), nice: map[string]int{}}
	send, next, _ := startServe(t, a, 0)
	send(`{"id":1,"manifests":[{"name":"hold"}],"bulk":true}`)
	send(`{"id":2,"manifests":[{"name":"bulk-after"}],"bulk":true}`)
	send(`{"id":3,"manifests":[{"name":"urgent"}]}`)
	if r := next(); r.ID != 3 || r.Results[0].Findings[0].ID != "urgent" {
		t.Fatalf("first response %+v, want the urgent request 3 while 1 is held", r)
	}
	close(a.release)
	// A lane keeps its own order.
	if r1, r2 := next(), next(); r1.ID != 1 || r2.ID != 2 {
		t.Fatalf("bulk responses %d, %d; want 1, 2", r1.ID, r2.ID)
	}
}

func TestBulkRequestsAreAuditedOnNicedThreadsAndUrgentOnesAreNot(t *testing.T) {
	base := threadNice()
	if base < 0 || base+5 > 19 {
		t.Skipf("this test runs at nice %d", base)
	}
	a := &laneAuditor{release: make(chan struct{}), nice: map[string]int{}}
	close(a.release)
	send, next, _ := startServe(t, a, base+5)
	for i := range 4 {
		send(`{"id":` + string(rune('1'+i)) + `,"manifests":[{"name":"bulk` + string(rune('a'+i)) + `"}],"bulk":true}`)
		send(`{"id":` + string(rune('5'+i)) + `,"manifests":[{"name":"urgent` + string(rune('a'+i)) + `"}]}`)
	}
	for range 8 {
		next()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for i := range 4 {
		if n := a.nice["bulk"+string(rune('a'+i))]; n != base+5 {
			t.Errorf("bulk manifest %d audited at nice %d, want %d", i, n, base+5)
		}
		if n := a.nice["urgent"+string(rune('a'+i))]; n != base {
			t.Errorf("urgent manifest %d audited at nice %d, want %d", i, n, base)
		}
	}
}

// stalledWriter is a stdout nobody reads for a while: a write says it started and then waits.
type stalledWriter struct {
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (s *stalledWriter) Write(p []byte) (int, error) {
	s.once.Do(func() { close(s.started) })
	<-s.release
	return len(p), nil
}

// The reader must go on taking requests while a lane waits to write its response: a lane's write
// once held the lock the reader checks before each line, and the two stopped each other for good
// when stdout was slow to drain (CI saw it hang for ten minutes).
func TestRequestsAreReadWhileAResponseWaitsToBeWritten(t *testing.T) {
	a := &laneAuditor{release: make(chan struct{}), nice: map[string]int{}}
	close(a.release)
	w := &stalledWriter{started: make(chan struct{}), release: make(chan struct{})}
	inR, inW := io.Pipe()
	errc := make(chan error, 1)
	go func() { errc <- serve(context.Background(), a, inR, w, 1, 0) }()
	write := func(line string) {
		if _, err := io.WriteString(inW, line+"\n"); err != nil {
			t.Error(err)
		}
	}
	write(`{"id":1,"manifests":[{"name":"one"}]}`)
	<-w.started
	taken := make(chan struct{})
	go func() {
		for i := 2; i <= 4; i++ {
			write(`{"id":` + string(rune('0'+i)) + `,"manifests":[{"name":"more"}],"bulk":true}`)
		}
		close(taken)
	}()
	select {
	case <-taken:
	case <-time.After(20 * time.Second):
		close(w.release)
		t.Fatal("the reader stopped taking requests while a response waited to be written")
	}
	close(w.release)
	inW.Close()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
}
