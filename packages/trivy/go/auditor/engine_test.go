package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/aquasecurity/trivy/pkg/iac/rego"
	"github.com/aquasecurity/trivy/pkg/iac/scanners/kubernetes/parser"
	iacTypes "github.com/aquasecurity/trivy/pkg/iac/types"
	"sigs.k8s.io/yaml"
)

// The manifests the TypeScript parity test also audits with the trivy CLI: every kind the
// scanner may send (packages/trivy/testdata/parity).
const parityDir = "../../testdata/parity"

var engine *Engine

// testTmpDir is the tests' TMPDIR, removed after them: trivy's temp dir goes there, not to /tmp.
var testTmpDir string

func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	var err error
	if testTmpDir, err = os.MkdirTemp("", "auditor-test-"); err != nil {
		panic(err)
	}
	os.Setenv("TMPDIR", testTmpDir)
	engine, err = NewEngine(context.Background(), Options{}, slog.Default())
	if err != nil {
		panic(err)
	}
	code := m.Run()
	os.RemoveAll(testTmpDir)
	os.Exit(code)
}

type manifest struct {
	name string
	json []byte
}

func parityManifests(t *testing.T) []manifest {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(parityDir, "*.yaml"))
	if err != nil || len(files) < 19 {
		t.Fatalf("parity manifests: %d files, %v", len(files), err)
	}
	sort.Strings(files)
	out := make([]manifest, 0, len(files))
	for _, f := range files {
		y, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		j, err := yaml.YAMLToJSON(y)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, manifest{name: filepath.Base(f), json: j})
	}
	return out
}

// trivyFindings audits with trivy's own rego.Scanner.ScanInput: one query per rule and input,
// none of this worker's evaluation.
func trivyFindings(t *testing.T, m manifest) []Finding {
	t.Helper()
	docs, err := parser.Parse(context.Background(), bytes.NewReader(m.json), InputPath)
	if err != nil {
		t.Fatal(err)
	}
	var inputs []rego.Input
	for _, d := range docs {
		inputs = append(inputs, rego.Input{Path: InputPath, Contents: d.ToRego()})
	}
	results, err := engine.scanner.ScanInput(context.Background(), iacTypes.SourceKubernetes, inputs...)
	if err != nil {
		t.Fatal(err)
	}
	return findings(results, true)
}

func TestAuditEqualsTrivysScanInputForEveryKind(t *testing.T) {
	for _, m := range parityManifests(t) {
		t.Run(m.name, func(t *testing.T) {
			got, err := engine.Audit(context.Background(), m.json, true)
			if err != nil {
				t.Fatal(err)
			}
			want := trivyFindings(t, m)
			if len(want) == 0 {
				t.Fatal("trivy found nothing at all: not a useful comparison")
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("findings differ from trivy's\n got: %s\nwant: %s", summary(got), summary(want))
			}
		})
	}
}

func TestRuleByRuleEqualsTogether(t *testing.T) {
	ctx := context.Background()
	for _, m := range parityManifests(t) {
		docs, err := parser.Parse(ctx, bytes.NewReader(m.json), InputPath)
		if err != nil {
			t.Fatal(err)
		}
		raw := []rego.Input{{Path: InputPath, Contents: docs[0].ToRego()}}
		together, err := engine.eval.scan(ctx, raw)
		if err != nil {
			t.Fatal(err)
		}
		parsed, err := parseRawInput(raw[0].Contents)
		if err != nil {
			t.Fatal(err)
		}
		var rules []rule
		for path, module := range engine.eval.c.policies {
			meta := engine.eval.c.moduleMetadata[path]
			in := []input{{path: InputPath, contents: raw[0].Contents, parsed: parsed}}
			if meta == nil || !isPolicyApplicable(iacTypes.SourceKubernetes, meta, in) {
				continue
			}
			for _, r := range module.Rules {
				if name := r.Head.Name.String(); isEnforcedRule(name) {
					rules = append(rules, rule{namespace: moduleNamespace(module), name: name, meta: meta})
				}
			}
		}
		oneByOne, err := engine.eval.scanRuleByRule(ctx, rules, []input{{path: InputPath, contents: raw[0].Contents, parsed: parsed}})
		if err != nil {
			t.Fatal(err)
		}
		if a, b := findings(together, true), findings(oneByOne, true); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: together %s\none by one %s", m.name, summary(a), summary(b))
		}
	}
}

func TestAuditChecksOnlyTheManifestsOwnKind(t *testing.T) {
	// trivy's batch evaluation picks checks by every input's kind: a LimitRange in the batch
	// makes KSV039 apply to (and fail on) everything else. One manifest at a time, it cannot.
	for _, m := range parityManifests(t) {
		if m.name == "limitrange.yaml" || m.name == "resourcequota.yaml" {
			continue
		}
		got, err := engine.Audit(context.Background(), m.json, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range got {
			if f.ID == "KSV-0039" || f.ID == "KSV-0040" {
				t.Errorf("%s fails %s, a LimitRange/ResourceQuota check", m.name, f.ID)
			}
		}
	}
}

func TestAuditRejectsWhatIsNotAKubernetesManifest(t *testing.T) {
	for _, doc := range []string{`{"kind":"Pod"}`, `[1,2]`, `not json`} {
		if _, err := engine.Audit(context.Background(), []byte(doc), false); err == nil {
			t.Errorf("%s: audited", doc)
		}
	}
}

func TestFindingsCarryTheRuleMetadata(t *testing.T) {
	var rs manifest
	for _, m := range parityManifests(t) {
		if m.name == "replicaset.yaml" {
			rs = m
		}
	}
	got, err := engine.Audit(context.Background(), rs.json, false)
	if err != nil {
		t.Fatal(err)
	}
	var ksv003 *Finding
	for i := range got {
		if got[i].Status != "FAIL" {
			t.Errorf("%s: passed check returned without includePassed", got[i].ID)
		}
		if got[i].ID == "KSV-0003" {
			ksv003 = &got[i]
		}
	}
	if ksv003 == nil {
		t.Fatalf("no KSV-0003 in %s", summary(got))
	}
	want := Finding{
		ID:          "KSV-0003",
		Aliases:     []string{"AVD-KSV-0003", "KSV003", "drop-default-capabilities"},
		Title:       "Default capabilities: some containers do not drop all",
		Description: ksv003.Description,
		Message:     "Container 'nginx' of ReplicaSet 'naive-7c9f5d8b6d' should add 'ALL' to 'securityContext.capabilities.drop'",
		Resolution:  "Add 'ALL' to containers[].securityContext.capabilities.drop.",
		Severity:    "LOW",
		Status:      "FAIL",
		Namespace:   "builtin.kubernetes.KSV003",
	}
	out, _ := json.Marshal(ksv003)
	wantOut, _ := json.Marshal(want)
	if !bytes.Equal(out, wantOut) || ksv003.Description == "" {
		t.Errorf("got %s\nwant %s", out, wantOut)
	}
}

func summary(fs []Finding) string {
	parts := make([]string, 0, len(fs))
	for _, f := range fs {
		parts = append(parts, f.Status+":"+f.ID+":"+f.Message)
	}
	return strings.Join(parts, "\n      ")
}
