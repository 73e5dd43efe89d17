package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
)

// The worker speaks JSON lines. It prints one Ready line once its checks are compiled, then
// answers each Request line with one Response line, in order; it exits when stdin closes.

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

// serve answers requests from r on w until r ends. concurrency manifests of a request are
// audited at once. A line too long to read ends it with an error: there is no telling where
// the next request starts.
func serve(ctx context.Context, a auditor, r io.Reader, w io.Writer, concurrency int) error {
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 0, 1<<20), MaxLineBytes)
	out := bufio.NewWriter(w)
	enc := json.NewEncoder(out)
	for in.Scan() {
		line := in.Bytes()
		if len(line) == 0 {
			continue
		}
		var req Request
		var resp Response
		if err := json.Unmarshal(line, &req); err != nil {
			resp = Response{ID: req.ID, Error: fmt.Sprintf("unreadable request: %v", err)}
		} else {
			resp = Response{ID: req.ID, Results: auditAll(ctx, a, req, concurrency)}
		}
		if err := enc.Encode(resp); err != nil {
			return err
		}
		if err := out.Flush(); err != nil {
			return err
		}
	}
	if err := in.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("request line longer than %d bytes", MaxLineBytes)
		}
		return err
	}
	return nil
}

func auditAll(ctx context.Context, a auditor, req Request, concurrency int) []Result {
	results := make([]Result, len(req.Manifests))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, min(concurrency, len(req.Manifests))) {
		wg.Go(func() {
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
