package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
)

// The worker speaks JSON lines. It prints one Ready line once its checks are compiled, then
// answers each Request line with one Response line carrying its ID; it exits when stdin closes.
// Requests are served in two lanes, each in order: bulk ones (a backlog nobody waits for) and the
// others. An urgent request is evaluated beside a bulk one, not after it, so responses of the two
// lanes may come in either order.

// MaxLineBytes bounds a request line; the scanner's batches stay far below it.
const MaxLineBytes = 256 << 20

type Ready struct {
	Ready ReadyInfo `json:"ready"`
}

type ReadyInfo struct {
	Trivy   string `json:"trivy"`
	Checks  int    `json:"checks"`
	Queries int    `json:"queries"`
}

type Request struct {
	ID        uint64            `json:"id"`
	Manifests []json.RawMessage `json:"manifests"`
	// IncludePassed also returns the checks that passed (trivy's --include-non-failures).
	IncludePassed bool `json:"includePassed,omitempty"`
	// Bulk: served in the bulk lane, on threads at the worker's -bulk-niceness.
	Bulk bool `json:"bulk,omitempty"`
}

type Response struct {
	ID uint64 `json:"id"`
	// One per manifest, in the request's order; absent when the request itself was unreadable.
	Results []Result `json:"results,omitempty"`
	Error   string   `json:"error,omitempty"`
}

// Result is one manifest's findings, or why it could not be audited.
type Result struct {
	Findings []Finding `json:"findings"`
	Error    string    `json:"error,omitempty"`
}

type auditor interface {
	Audit(ctx context.Context, manifest []byte, includePassed bool) ([]Finding, error)
}

// laneDepth bounds the requests read ahead of a lane's worker. The scanner sends one request per
// lane at a time; a client that sends more only makes the reader wait, never loses a request.
const laneDepth = 64

// serve answers requests from r on w until r ends, then waits for the requests read. concurrency
// manifests of a request are audited at once; a bulk request's are audited on threads at
// bulkNiceness (0: as the worker). A line too long to read ends it with an error: there is no
// telling where the next request starts.
func serve(ctx context.Context, a auditor, r io.Reader, w io.Writer, concurrency, bulkNiceness int) error {
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 0, 1<<20), MaxLineBytes)
	out := &responder{out: bufio.NewWriter(w)}
	out.enc = json.NewEncoder(out.out)
	urgent, bulk := make(chan Request, laneDepth), make(chan Request, laneDepth)
	var lanes sync.WaitGroup
	for _, lane := range []struct {
		requests <-chan Request
		niceness int
	}{{urgent, 0}, {bulk, bulkNiceness}} {
		lanes.Go(func() {
			for req := range lane.requests {
				out.send(Response{ID: req.ID, Results: auditAll(ctx, a, req, concurrency, lane.niceness)})
			}
		})
	}
	for !out.broken.Load() && in.Scan() {
		line := in.Bytes()
		if len(line) == 0 {
			continue
		}
		var req Request
		switch err := json.Unmarshal(line, &req); {
		case err != nil:
			out.send(Response{ID: req.ID, Error: fmt.Sprintf("unreadable request: %v", err)})
		case req.Bulk:
			bulk <- req
		default:
			urgent <- req
		}
	}
	close(urgent)
	close(bulk)
	lanes.Wait()
	if err := in.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("request line longer than %d bytes", MaxLineBytes)
		}
		return err
	}
	return out.failed()
}

// responder writes whole response lines from both lanes; after a write fails it writes no more.
// The reader checks broken, never mu: a lane holds mu for as long as stdout takes to drain, and a
// reader waiting for it would stop reading the requests the scanner is still writing.
type responder struct {
	mu     sync.Mutex
	out    *bufio.Writer
	enc    *json.Encoder
	err    error
	broken atomic.Bool
}

func (r *responder) send(resp Response) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return
	}
	if r.err = r.enc.Encode(resp); r.err == nil {
		r.err = r.out.Flush()
	}
	if r.err != nil {
		r.broken.Store(true)
	}
}

// failed is the write error, once no lane writes any more.
func (r *responder) failed() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func auditAll(ctx context.Context, a auditor, req Request, concurrency, niceness int) []Result {
	results := make([]Result, len(req.Manifests))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(concurrency, len(req.Manifests))) {
		wg.Go(func() {
			if niceness > 0 {
				// The thread is niced for good (an unprivileged process cannot lower it again), so
				// it stays locked to this goroutine and the runtime ends it when the goroutine ends.
				runtime.LockOSThread()
				niceThread(niceness)
			}
			for i := range next {
				findings, err := a.Audit(ctx, req.Manifests[i], req.IncludePassed)
				if err != nil {
					results[i] = Result{Findings: []Finding{}, Error: err.Error()}
					continue
				}
				if findings == nil {
					findings = []Finding{}
				}
				results[i] = Result{Findings: findings}
			}
		})
	}
	for i := range req.Manifests {
		next <- i
	}
	close(next)
	wg.Wait()
	return results
}
