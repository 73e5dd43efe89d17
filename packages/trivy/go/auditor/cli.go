package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strings"

	"github.com/aquasecurity/trivy/pkg/commands"
	"github.com/aquasecurity/trivy/pkg/version/app"
	xos "github.com/aquasecurity/trivy/pkg/x/os"

	_ "modernc.org/sqlite" // as trivy's own main: the RPM and Java DBs are SQLite
)

// The `trivy` mode runs trivy's own commands (image, sbom, convert) in this process, one request
// at a time, so a run costs its work and not trivy's start-up (~70 ms of CPU per process, much more
// under load). trivy keeps its flags and logger in process-wide state, which is why one process
// serves one request at a time; the scanner keeps a process per run slot.
//
// It speaks JSON lines: a Ready line once started, then one CLIResponse per CLIRequest. A request
// names the command line and the whole environment the trivy CLI would have been given; its
// report goes to the file named by --output in args (this process's stdout is the protocol).

// MaxCLIRequestBytes bounds a request line: arguments and an environment, never a report.
const MaxCLIRequestBytes = 16 << 20

type CLIRequest struct {
	ID   uint64   `json:"id"`
	Args []string `json:"args"`
	// Env is the run's whole environment, as the CLI's would be (registry credentials included).
	Env map[string]string `json:"env"`
}

type CLIReady struct {
	Ready struct {
		Trivy string `json:"trivy"`
	} `json:"ready"`
}

type CLIResponse struct {
	ID uint64 `json:"id"`
	// Error is what the trivy CLI would have printed after "Fatal error"; empty on success.
	Error string `json:"error,omitempty"`
}

// serveCLI answers requests from r on w until r ends. Anything trivy writes to stdout must not
// reach w: the caller gives this a w that is not fd 1 (see protocolOut).
func serveCLI(ctx context.Context, run func(ctx context.Context, args []string) error, r io.Reader, w io.Writer) error {
	base := os.Environ()
	if err := makeTempDirs(); err != nil {
		return err
	}
	enc := json.NewEncoder(w)
	var ready CLIReady
	ready.Ready.Trivy = app.Version()
	if err := enc.Encode(ready); err != nil {
		return err
	}
	in := bufio.NewScanner(r)
	in.Buffer(make([]byte, 0, 64<<10), MaxCLIRequestBytes)
	for in.Scan() {
		line := in.Bytes()
		if len(line) == 0 {
			continue
		}
		var req CLIRequest
		resp := CLIResponse{}
		if err := json.Unmarshal(line, &req); err != nil {
			resp.Error = fmt.Sprintf("unreadable request: %v", err)
		} else {
			resp.ID = req.ID
			if err := runWithEnv(ctx, run, req, base); err != nil {
				resp.Error = err.Error()
			}
		}
		if err := enc.Encode(resp); err != nil {
			return err
		}
		// Give the run's garbage back to the OS while nobody waits: an idle worker stays small.
		debug.FreeOSMemory()
	}
	if err := in.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return fmt.Errorf("request line longer than %d bytes", MaxCLIRequestBytes)
		}
		return err
	}
	return nil
}

// runWithEnv runs one request with exactly its environment (trivy reads TRIVY_* variables, the
// registry credentials among them), then puts this process's own back.
func runWithEnv(ctx context.Context, run func(ctx context.Context, args []string) error, req CLIRequest, base []string) error {
	if len(req.Args) == 0 {
		return errors.New("request without a command")
	}
	setEnv(req.Env)
	defer restoreEnv(base)
	if err := makeTempDirs(); err != nil {
		return err
	}
	return run(ctx, req.Args)
}

// makeTempDirs makes TMPDIR and trivy's temp dir under it, when either is gone. trivy makes its
// temp dir once per process, the first time it needs one, and remembers a failure to make it for
// good; a worker makes it when it starts (under its own TMPDIR), and again before each run, since
// it outlives what may remove it while it idles (a /tmp cleaner, the scanner's sweep of idle
// workers' directories) and every later run would fail on it.
func makeTempDirs() error {
	for _, dir := range []func() string{os.TempDir, xos.TempDir} {
		if err := os.MkdirAll(dir(), 0o700); err != nil {
			return fmt.Errorf("temp dir: %w", err)
		}
	}
	return nil
}

func setEnv(env map[string]string) {
	os.Clearenv()
	for k, v := range env {
		os.Setenv(k, v)
	}
}

func restoreEnv(base []string) {
	os.Clearenv()
	for _, kv := range base {
		if k, v, ok := strings.Cut(kv, "="); ok {
			os.Setenv(k, v)
		}
	}
}

// runTrivy runs one trivy command line as trivy's main does, on a fresh command tree.
func runTrivy(ctx context.Context, args []string) error {
	cmd := commands.NewApp()
	cmd.SetArgs(args)
	cmd.SetOut(os.Stderr)
	cmd.SetErr(os.Stderr)
	return cmd.ExecuteContext(ctx)
}

// mainCLI is `fleetscan-auditor trivy [-tmpdir DIR]`: serves until stdin closes, then removes
// trivy's temp dir, and DIR with it. The scanner gives each worker a DIR of its own and runs it
// with TMPDIR=DIR, so what a killed worker leaves is in one place its pool removes; DIR is removed
// here too for when the scanner itself was killed (the worker then ends at its stdin's EOF).
func mainCLI(args []string) error {
	flags := flag.NewFlagSet("fleetscan-auditor trivy", flag.ContinueOnError)
	tmpDir := flags.String("tmpdir", "", "this worker's own temporary directory, removed when it exits")
	if err := flags.Parse(args); err != nil {
		return err
	}
	out, err := protocolOut()
	if err != nil {
		return fmt.Errorf("protocol output: %w", err)
	}
	if *tmpDir != "" {
		defer os.RemoveAll(*tmpDir)
	}
	defer commands.Cleanup()
	return serveCLI(context.Background(), runTrivy, os.Stdin, out)
}
