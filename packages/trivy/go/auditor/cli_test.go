package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	xos "github.com/aquasecurity/trivy/pkg/x/os"
)

// serveCLI with a fake trivy: each run sees exactly its request's environment, the worker's own
// comes back after it, and every request line gets one response line.
func TestServeCLI(t *testing.T) {
	t.Setenv("WORKER_OWN", "kept")
	type seen struct {
		args                []string
		user, own, password string
	}
	var runs []seen
	run := func(_ context.Context, args []string) error {
		runs = append(runs, seen{args, os.Getenv("TRIVY_USERNAME"), os.Getenv("WORKER_OWN"), os.Getenv("TRIVY_PASSWORD")})
		if args[0] == "fail" {
			return errors.New("unable to find the specified image")
		}
		return nil
	}
	in := strings.Join([]string{
		`{"id":1,"args":["image","--output","/x","ref"],"env":{"TRIVY_USERNAME":"u","TRIVY_PASSWORD":"p"}}`,
		`{"id":2,"args":["sbom"],"env":{}}`,
		`not json`,
		`{"id":4,"args":["fail"],"env":{}}`,
		`{"id":5,"args":[],"env":{}}`,
	}, "\n") + "\n"
	var out bytes.Buffer
	if err := serveCLI(context.Background(), run, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 6 {
		t.Fatalf("want a ready line and 5 responses, got %q", lines)
	}
	var ready CLIReady
	if err := json.Unmarshal([]byte(lines[0]), &ready); err != nil || ready.Ready.Trivy == "" {
		t.Fatalf("ready line %q: %v", lines[0], err)
	}
	var got []CLIResponse
	for _, l := range lines[1:] {
		var r CLIResponse
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		got = append(got, r)
	}
	if got[0] != (CLIResponse{ID: 1}) || got[1] != (CLIResponse{ID: 2}) {
		t.Errorf("successful runs answered %+v", got[:2])
	}
	if got[2].ID != 0 || !strings.HasPrefix(got[2].Error, "unreadable request") {
		t.Errorf("unreadable request answered %+v", got[2])
	}
	if got[3] != (CLIResponse{ID: 4, Error: "unable to find the specified image"}) {
		t.Errorf("failed run answered %+v", got[3])
	}
	if got[4].ID != 5 || got[4].Error == "" {
		t.Errorf("request without a command answered %+v", got[4])
	}
	if len(runs) != 3 {
		t.Fatalf("want 3 runs, got %+v", runs)
	}
	if r := runs[0]; r.user != "u" || r.password != "p" || r.own != "" || strings.Join(r.args, " ") != "image --output /x ref" {
		t.Errorf("first run saw %+v", r)
	}
	// The next run was given no credentials: it must not see the last one's.
	if r := runs[1]; r.user != "" || r.password != "" || r.own != "" {
		t.Errorf("second run saw %+v", r)
	}
	if os.Getenv("WORKER_OWN") != "kept" || os.Getenv("TRIVY_USERNAME") != "" {
		t.Errorf("the worker's own environment was not put back")
	}
}

// A worker's temp dir removed while it idled is made again for the next run.
func TestRunWithEnvMakesTrivysTempDirAgainWhenItIsGone(t *testing.T) {
	var dirs []string
	run := func(context.Context, []string) error {
		// As an image run does first.
		layers, err := xos.MkdirTemp("", "image-layers-")
		if err != nil {
			t.Errorf("trivy's temp dir for layers: %v", err)
			return nil
		}
		os.RemoveAll(layers)
		dirs = append(dirs, xos.TempDir())
		return nil
	}
	req := CLIRequest{ID: 1, Args: []string{"image"}, Env: map[string]string{}}
	if err := runWithEnv(context.Background(), run, req, os.Environ()); err != nil || len(dirs) != 1 {
		t.Fatalf("first run: %v", err)
	}
	// Removed only when it is the one trivy made for this process in the tests' own TMPDIR.
	if d := dirs[0]; !strings.HasPrefix(filepath.Base(d), "trivy-") || filepath.Dir(d) != testTmpDir {
		t.Fatalf("trivy's temp dir %s is not in %s", d, testTmpDir)
	}
	if err := os.RemoveAll(dirs[0]); err != nil {
		t.Fatal(err)
	}
	if err := runWithEnv(context.Background(), run, req, os.Environ()); err != nil {
		t.Fatal(err)
	}
	if len(dirs) != 2 || dirs[0] != dirs[1] {
		t.Fatalf("temp dirs %q", dirs)
	}
}
