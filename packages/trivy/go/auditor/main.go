// Command fleetscan-auditor audits Kubernetes manifests with trivy's misconfiguration checks,
// linked as a library: the checks are loaded and compiled once when it starts, then each
// manifest costs only its evaluation. The scanner feeds it JSON lines on stdin (protocol.go).
//
// It is built from the Go module proxy at the trivy version pinned in .ci/versions.env, with
// trivy's own version stamp (-X github.com/aquasecurity/trivy/pkg/version/app.ver=...), since the
// checks' minimum_trivy_version is compared with it.
//
// `fleetscan-auditor trivy` is its other mode: trivy's own image, sbom and convert commands, run
// in one long-lived process (cli.go).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "trivy" {
		if err := mainCLI(os.Args[2:]); err != nil {
			fmt.Fprintf(os.Stderr, "fleetscan-auditor trivy: %v\n", err)
			os.Exit(1)
		}
		return
	}
	k8sVersion := flag.String("k8s-version", "", "cluster version for the deprecated-API check (trivy's --k8s-version)")
	concurrency := flag.Int("concurrency", 1, "manifests of a request audited at once")
	gcPercent := flag.Int("gc-percent", 100, "Go's GOGC: more trades memory for less garbage-collection CPU")
	bulkNiceness := flag.Int("bulk-niceness", 0, "nice(1) of the threads that audit bulk requests (0: as the worker)")
	cpuProfile := flag.String("cpuprofile", "", "write a Go CPU profile of the requests to this file (for go tool pprof)")
	flag.Parse()
	debug.SetGCPercent(*gcPercent)

	// trivy logs through slog's default logger: to stderr (the scanner keeps its tail for
	// errors), warnings and up only.
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	slog.SetDefault(logger)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := run(ctx, Options{K8sVersion: *k8sVersion}, *concurrency, *bulkNiceness, *cpuProfile, logger); err != nil {
		fmt.Fprintf(os.Stderr, "fleetscan-auditor: %v\n", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, opts Options, concurrency, bulkNiceness int, cpuProfile string, logger *slog.Logger) error {
	engine, err := NewEngine(ctx, opts, logger)
	if err != nil {
		return err
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ready := Ready{Ready: ReadyInfo{Trivy: engine.TrivyVersion(), Checks: engine.checks, Queries: engine.queries}}
	if err := json.NewEncoder(os.Stdout).Encode(ready); err != nil {
		return err
	}
	return serve(ctx, engine, os.Stdin, os.Stdout, concurrency, bulkNiceness)
}
