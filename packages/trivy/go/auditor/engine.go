package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aquasecurity/trivy/pkg/iac/detection"
	"github.com/aquasecurity/trivy/pkg/iac/rego"
	"github.com/aquasecurity/trivy/pkg/iac/scan"
	"github.com/aquasecurity/trivy/pkg/iac/scanners/kubernetes/parser"
	"github.com/aquasecurity/trivy/pkg/misconf"
	"github.com/aquasecurity/trivy/pkg/version/app"
)

// Options are the settings `trivy config` would get from its flags.
type Options struct {
	// K8sVersion is trivy's --k8s-version: the cluster version the deprecated-API check reads.
	K8sVersion string
}

// Engine audits Kubernetes manifests with trivy's embedded checks, loaded and compiled once.
type Engine struct {
	scanner *rego.Scanner
	eval    *evaluator
	checks  int
	queries int
}

// Finding is one check's outcome for one manifest: trivy's misconfiguration result with the
// rule's metadata (trivy's JSON drops the aliases; trivy-operator reports the first of them).
type Finding struct {
	ID          string   `json:"id"`
	Aliases     []string `json:"aliases,omitempty"`
	Title       string   `json:"title,omitempty"`
	Description string   `json:"description,omitempty"`
	Message     string   `json:"message,omitempty"`
	Resolution  string   `json:"resolution,omitempty"`
	Severity    string   `json:"severity"`
	// FAIL or PASS, as trivy prints them.
	Status    string `json:"status"`
	Namespace string `json:"namespace,omitempty"`

	// What trivy's ResultsToMisconf keys and sorts on besides the above.
	avdID     string
	resource  string
	startLine int
	endLine   int
	cause     string
}

// NewEngine loads the checks as `trivy config` does with its defaults, offline
// (--skip-check-update and no checks bundle in the cache: trivy's embedded checks).
func NewEngine(ctx context.Context, opts Options, logger *slog.Logger) (*Engine, error) {
	// initMisconfScannerOption in trivy's pkg/commands/artifact/run.go, flags at their defaults.
	rs, err := misconf.InitRegoScanner(misconf.ScannerOption{
		Namespaces:     rego.BuiltinNamespaces(),
		RegoErrorLimit: rego.DefaultAllowedRegoErrors,
		K8sVersion:     opts.K8sVersion,
	})
	if err != nil {
		return nil, fmt.Errorf("load checks: %w", err)
	}
	c, err := readCompiled(rs)
	if err != nil {
		return nil, err
	}
	e := &Engine{scanner: rs, eval: newEvaluator(c, logger)}
	for _, meta := range c.moduleMetadata {
		if meta != nil && !meta.Library {
			e.checks++
		}
	}
	if e.queries, err = e.eval.warm(ctx); err != nil {
		return nil, err
	}
	return e, nil
}

// TrivyVersion is the trivy these checks come with (set at build time as for trivy itself).
func (e *Engine) TrivyVersion() string { return app.Version() }

// InputPath is the name a manifest is audited under. Some checks print the whole input, its
// source location included, in their message (KSV-0120 prints the container with its
// __defsec_metadata): trivy-operator writes each resource as JSON to inputs/file_0.yaml for
// trivy, so the worker does the same, and `trivy config` over a directory holding that one file
// says the same.
const InputPath = "inputs/file_0.yaml"

// ErrNotKubernetes: trivy would not audit this document as a Kubernetes manifest.
var ErrNotKubernetes = fmt.Errorf("not a Kubernetes manifest (apiVersion, kind and metadata are required)")

// Audit evaluates one manifest (JSON) alone, as trivy-operator does per resource: the checks
// that apply are chosen by this manifest's kind only, whatever else is in the batch. Failures
// come first, then passes if asked for, each in trivy's order.
func (e *Engine) Audit(ctx context.Context, manifest []byte, includePassed bool) ([]Finding, error) {
	const name = InputPath
	if !detection.IsType(name, bytes.NewReader(manifest), detection.FileTypeKubernetes) {
		return nil, ErrNotKubernetes
	}
	docs, err := parser.Parse(ctx, bytes.NewReader(manifest), name)
	if err != nil {
		return nil, fmt.Errorf("parse manifest: %w", err)
	}
	inputs := make([]rego.Input, 0, len(docs))
	for _, d := range docs {
		inputs = append(inputs, rego.Input{Path: name, Contents: d.ToRego()})
	}
	results, err := e.eval.scan(ctx, inputs)
	if err != nil {
		return nil, err
	}
	return findings(results, includePassed), nil
}

// findings is what trivy's misconf.ResultsToMisconf and ToMisconfigurations keep of the results
// of one file: failures and passes, each without duplicates and sorted.
func findings(results scan.Results, includePassed bool) []Finding {
	var failed, passed []Finding
	for _, r := range results {
		f := toFinding(r)
		switch r.Status() {
		case scan.StatusFailed:
			failed = append(failed, f)
		case scan.StatusPassed:
			if includePassed {
				passed = append(passed, f)
			}
		}
	}
	return append(sortUnique(failed), sortUnique(passed)...)
}

func toFinding(r scan.Result) Finding {
	flat := r.Flatten()
	rule := r.Rule()
	status := "FAIL"
	if flat.Status == scan.StatusPassed {
		status = "PASS"
	}
	return Finding{
		ID:          rule.ID,
		Aliases:     rule.Aliases,
		Title:       rule.Summary,
		Description: rule.Explanation,
		Message:     flat.Description,
		Resolution:  flat.Resolution,
		Severity:    string(flat.Severity),
		Status:      status,
		Namespace:   r.RegoNamespace(),
		avdID:       rule.AVDID,
		resource:    flat.Resource,
		startLine:   flat.Location.StartLine,
		endLine:     flat.Location.EndLine,
		cause:       fmt.Sprintf("%s|%s|%v", flat.RuleProvider.DisplayName(), flat.RuleService, flat.Occurrences),
	}
}

// sortUnique: trivy's uniqueResults (ID, namespace, message and cause) and MisconfResults.Less
// (the type is the same for every Kubernetes check; then AVD ID, ID, severity, resource,
// message), then lines: trivy leaves the order of such equals to chance.
func sortUnique(fs []Finding) []Finding {
	seen := map[string]bool{}
	out := fs[:0]
	for _, f := range fs {
		key := strings.Join([]string{f.ID, f.Namespace, f.Message, f.resource, fmt.Sprint(f.startLine, f.endLine), f.cause}, "\x00")
		if !seen[key] {
			seen[key] = true
			out = append(out, f)
		}
	}
	slices.SortStableFunc(out, func(a, b Finding) int {
		return cmp.Or(
			cmp.Compare(a.avdID, b.avdID),
			cmp.Compare(a.ID, b.ID),
			cmp.Compare(a.Severity, b.Severity),
			cmp.Compare(a.resource, b.resource),
			cmp.Compare(a.Message, b.Message),
			cmp.Compare(a.startLine, b.startLine),
			cmp.Compare(a.endLine, b.endLine),
		)
	})
	return out
}
