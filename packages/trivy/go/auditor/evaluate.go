package main

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	oparego "github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/util"

	"github.com/aquasecurity/trivy/pkg/iac/providers"
	"github.com/aquasecurity/trivy/pkg/iac/rego"
	"github.com/aquasecurity/trivy/pkg/iac/scan"
	iacTypes "github.com/aquasecurity/trivy/pkg/iac/types"
	"github.com/aquasecurity/trivy/pkg/set"
)

// evaluator is trivy v0.74.0's rego.Scanner.ScanInput (pkg/iac/rego/scanner.go and result.go)
// for Kubernetes inputs, over trivy's own compiled checks, with one change: each rule's query
// is prepared once (rego.PrepareForEval) instead of parsed and compiled for every input. The
// order of its steps, what it skips and how it turns rego answers into scan.Results follow
// trivy's code line for line; engine_test.go checks the outcome against trivy's ScanInput.
type evaluator struct {
	c      *compiled
	log    *slog.Logger
	source iacTypes.Source
	// Each module's namespace, computed once (module paths print slowly).
	namespaces map[*ast.Module]string

	mu       sync.Mutex
	prep     map[string]*oparego.PreparedEvalQuery
	combined map[string]*oparego.PreparedEvalQuery
}

func newEvaluator(c *compiled, logger *slog.Logger) *evaluator {
	namespaces := make(map[*ast.Module]string, len(c.policies))
	for _, m := range c.policies {
		namespaces[m] = moduleNamespace(m)
	}
	return &evaluator{
		c:          c,
		log:        logger,
		source:     iacTypes.SourceKubernetes,
		namespaces: namespaces,
		prep:       map[string]*oparego.PreparedEvalQuery{},
		combined:   map[string]*oparego.PreparedEvalQuery{},
	}
}

// input is trivy's rego.Input with its parsed value, which ScanInput keeps in a private field.
type input struct {
	path     string
	fs       fs.FS
	contents any
	parsed   ast.Value
}

// warm prepares the query of every enforced rule that can apply to Kubernetes inputs, so the
// first batch does not pay for them. Returns how many queries are prepared.
func (e *evaluator) warm(ctx context.Context) (int, error) {
	for path, module := range e.c.policies {
		meta := e.c.moduleMetadata[path]
		if meta == nil || !selectsSource(meta, e.source) {
			continue
		}
		namespace := e.namespace(module)
		for _, rule := range module.Rules {
			if name := rule.Head.Name.String(); isEnforcedRule(name) {
				if _, err := e.query(ctx, namespace, name); err != nil {
					return 0, err
				}
			}
		}
	}
	return len(e.prep), nil
}

// selectsSource: the module's selectors allow this source type (trivy's isPolicyApplicable
// before it looks at the inputs).
func selectsSource(meta *rego.StaticMetadata, source iacTypes.Source) bool {
	for _, s := range meta.InputOptions.Selectors {
		if s.Type != string(source) {
			return false
		}
	}
	return true
}

func (e *evaluator) query(ctx context.Context, namespace, rule string) (*oparego.PreparedEvalQuery, error) {
	qualified := fmt.Sprintf("data.%s.%s", namespace, rule)
	e.mu.Lock()
	defer e.mu.Unlock()
	if q, ok := e.prep[qualified]; ok {
		return q, nil
	}
	q, err := e.prepare(ctx, qualified)
	if err != nil {
		return nil, err
	}
	e.prep[qualified] = q
	return q, nil
}

// prepare compiles a query with what trivy's runQuery passes to rego.New (tracing off).
func (e *evaluator) prepare(ctx context.Context, query string) (*oparego.PreparedEvalQuery, error) {
	q, err := oparego.New(
		oparego.Query(query),
		oparego.Compiler(e.c.compiler),
		oparego.Store(e.c.store),
		oparego.Runtime(e.c.runtimeValues),
		oparego.Trace(false),
	).PrepareForEval(ctx)
	if err != nil {
		return nil, fmt.Errorf("prepare %s: %w", query, err)
	}
	return &q, nil
}

func (e *evaluator) namespace(module *ast.Module) string {
	if ns, ok := e.namespaces[module]; ok {
		return ns
	}
	return moduleNamespace(module)
}

// rule is one enforced rule of an applicable check.
type rule struct {
	namespace string
	name      string
	meta      *rego.StaticMetadata
}

// scan is ScanInput(ctx, types.SourceKubernetes, inputs...): the same checks chosen, the same
// results. Where trivy evaluates one query per rule and input, scan evaluates all the rules
// that apply in one query per input (evalTogether), so what the checks share (the library's
// `containers`, `pods`, ...) is computed once per input instead of once per rule. A query that
// fails is evaluated again rule by rule (applyRule), so one broken rule costs what it costs in
// trivy: its own results, logged.
func (e *evaluator) scan(ctx context.Context, raw []rego.Input) (scan.Results, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	inputs := make([]input, 0, len(raw))
	contents := make([]any, 0, len(raw))
	for _, in := range raw {
		parsed, err := parseRawInput(in.Contents)
		if err != nil {
			e.log.Error("Failed to parse input", "file_path", in.Path, "err", err)
			continue
		}
		inputs = append(inputs, input{path: in.Path, fs: in.FS, contents: in.Contents, parsed: parsed})
		contents = append(contents, in.Contents)
	}

	var rules []rule
	for path, module := range e.c.policies {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		namespace := e.namespace(module)
		topLevel, _, _ := strings.Cut(namespace, ".")
		if !e.c.ruleNamespaces.Contains(topLevel) {
			continue
		}
		meta, err := e.metadataForModule(ctx, path, module, contents)
		if err != nil {
			e.log.Error("Error occurred while retrieving metadata from check", "file_path", module.Package.Location.File, "err", err)
			continue
		}
		if !isPolicyApplicable(e.source, meta, inputs) {
			continue
		}
		used := set.New[string]()
		for _, r := range module.Rules {
			name := r.Head.Name.String()
			if used.Contains(name) {
				continue
			}
			used.Append(name)
			if isEnforcedRule(name) {
				rules = append(rules, rule{namespace: namespace, name: name, meta: meta})
			}
		}
	}

	// trivy walks its checks in map order; a fixed order makes one combined query per rule set.
	slices.SortFunc(rules, func(a, b rule) int {
		return cmp.Or(cmp.Compare(a.namespace, b.namespace), cmp.Compare(a.name, b.name))
	})
	var results scan.Results
	perRule := make([]scan.Results, len(rules))
	for _, in := range inputs {
		if err := e.evalTogether(ctx, rules, in, perRule); err != nil {
			e.log.Debug("evaluating the rules together failed; evaluating them one by one", "err", err)
			return e.scanRuleByRule(ctx, rules, inputs)
		}
	}
	for i, r := range rules {
		perRule[i].SetRule(r.meta.ToRule())
		results = append(results, perRule[i]...)
	}
	return results, nil
}

// scanRuleByRule is trivy's own loop: one query per rule over every input.
func (e *evaluator) scanRuleByRule(ctx context.Context, rules []rule, inputs []input) (scan.Results, error) {
	var results scan.Results
	for _, r := range rules {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		ruleResults, err := e.applyRule(ctx, r.namespace, r.name, inputs)
		if err != nil {
			e.log.Error("Error occurred while applying rule from check", "rule", r.name, "namespace", r.namespace, "err", err)
			continue
		}
		ruleResults.SetRule(r.meta.ToRule())
		results = append(results, ruleResults...)
	}
	return results, nil
}

// evalTogether evaluates every rule for one input in one query, appending to perRule[i] what
// applyRule would have found for rules[i] and this input. Each rule's value is collected as
// `[x | x := data.<namespace>.<rule>]`: empty when the rule is undefined (trivy's empty result
// set), else the one value trivy's query would have returned.
func (e *evaluator) evalTogether(ctx context.Context, rules []rule, in input, perRule []scan.Results) error {
	if len(rules) == 0 {
		return nil
	}
	q, err := e.together(ctx, rules)
	if err != nil {
		return err
	}
	rs, err := q.Eval(ctx, oparego.EvalParsedInput(in.parsed))
	if err != nil {
		return err
	}
	if len(rs) != 1 {
		return fmt.Errorf("combined query gave %d results, want 1", len(rs))
	}
	for i, r := range rules {
		values, ok := rs[0].Bindings[bindingName(i)].([]any)
		if !ok {
			return fmt.Errorf("combined query: no value for %s.%s", r.namespace, r.name)
		}
		var ruleResults scan.Results
		if len(values) == 1 {
			ruleResults = convertResults(oparego.ResultSet{{Expressions: []*oparego.ExpressionValue{{Value: values[0]}}}}, in, r.namespace, r.name)
		}
		if len(ruleResults) == 0 {
			perRule[i].AddPassedRego(r.namespace, r.name, nil, regoResult{FS: in.fs, Filepath: in.path, Managed: true})
			continue
		}
		perRule[i] = append(perRule[i], ruleResults...)
	}
	return nil
}

func bindingName(i int) string { return "r" + strconv.Itoa(i) }

// maxTogether bounds the prepared combined queries kept: one per set of applicable rules, which
// the input's kind decides, so a few dozen at most in practice.
const maxTogether = 256

func (e *evaluator) together(ctx context.Context, rules []rule) (*oparego.PreparedEvalQuery, error) {
	var b strings.Builder
	for i, r := range rules {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s := [x | x := data.%s.%s]", bindingName(i), r.namespace, r.name)
	}
	query := b.String()
	e.mu.Lock()
	defer e.mu.Unlock()
	if q, ok := e.combined[query]; ok {
		return q, nil
	}
	q, err := e.prepare(ctx, query)
	if err != nil {
		return nil, err
	}
	if len(e.combined) < maxTogether {
		e.combined[query] = q
	}
	return q, nil
}

func (e *evaluator) metadataForModule(ctx context.Context, path string, module *ast.Module, contents []any) (*rego.StaticMetadata, error) {
	if meta, ok := e.c.moduleMetadata[path]; ok {
		return meta, nil
	}
	return e.c.retriever.RetrieveMetadata(ctx, module, contents...)
}

func (e *evaluator) applyRule(ctx context.Context, namespace, rule string, inputs []input) (scan.Results, error) {
	q, err := e.query(ctx, namespace, rule)
	if err != nil {
		return nil, err
	}
	var results scan.Results
	for _, in := range inputs {
		set, err := q.Eval(ctx, oparego.EvalParsedInput(in.parsed))
		if err != nil {
			return nil, err
		}
		ruleResults := convertResults(set, in, namespace, rule)
		if len(ruleResults) == 0 { // it passed: nothing found wrong
			results.AddPassedRego(namespace, rule, nil, regoResult{FS: in.fs, Filepath: in.path, Managed: true})
			continue
		}
		results = append(results, ruleResults...)
	}
	return results, nil
}

func isEnforcedRule(name string) bool {
	return name == "deny" || strings.HasPrefix(name, "deny_")
}

func moduleNamespace(module *ast.Module) string {
	return strings.TrimPrefix(module.Package.Path.String(), "data.")
}

func parseRawInput(v any) (ast.Value, error) {
	if err := util.RoundTrip(&v); err != nil {
		return nil, err
	}
	return ast.InterfaceToValue(v)
}

var (
	checkTypesWithSubtype = set.New(iacTypes.SourceCloud, iacTypes.SourceDefsec, iacTypes.SourceKubernetes)
	supportedProviders    = func() set.Set[string] {
		s := set.New[string]()
		for _, p := range providers.AllProviders() {
			s.Append(string(p))
		}
		s.Append("kind") // kubernetes
		return s
	}()
	sourcesWithExplicitSelectors = []iacTypes.Source{iacTypes.SourceTerraformRaw}
)

func isPolicyApplicable(source iacTypes.Source, meta *rego.StaticMetadata, inputs []input) bool {
	if len(meta.InputOptions.Selectors) == 0 {
		for _, s := range sourcesWithExplicitSelectors {
			if s == source {
				return false
			}
		}
		return true // a check without selectors applies to everything
	}
	if !selectsSource(meta, source) {
		return false
	}
	if !checkTypesWithSubtype.Contains(source) {
		return true
	}
	for _, in := range inputs {
		ii, ok := in.contents.(map[string]any)
		if !ok {
			continue
		}
		for provider := range ii {
			if !supportedProviders.Contains(provider) {
				continue
			}
			for _, s := range meta.InputOptions.Selectors {
				if checkSubtype(ii, provider, s.Subtypes) {
					return true
				}
			}
		}
	}
	return false
}

func checkSubtype(ii map[string]any, provider string, subTypes []rego.SubType) bool {
	if len(subTypes) == 0 {
		return true
	}
	for _, st := range subTypes {
		switch services := ii[provider].(type) {
		case map[string]any:
			if st.Provider != provider {
				continue
			}
			if _, exists := services[st.Service]; exists {
				return true
			}
		case string: // kubernetes
			if strings.EqualFold(services, st.Group) ||
				strings.EqualFold(services, st.Version) ||
				strings.EqualFold(services, st.Kind) {
				return true
			}
		}
	}
	return false
}

// convertResults is trivy's: every value of a denying rule is one failed result.
func convertResults(resultSet oparego.ResultSet, in input, namespace, rule string) scan.Results {
	var results scan.Results
	offset := 0
	if xx, ok := in.contents.(map[string]any); ok {
		if md, ok := xx["__defsec_metadata"].(map[string]any); ok {
			offset, _ = md["offset"].(int)
		}
	}
	for _, result := range resultSet {
		for _, expression := range result.Expressions {
			values, ok := expression.Value.([]any)
			if !ok {
				values = []any{expression.Value}
			}
			for _, value := range values {
				r := parseResult(value)
				r.FS = in.fs
				if r.Filepath == "" && in.path != "" {
					r.Filepath = in.path
				}
				if r.Message == "" {
					r.Message = fmt.Sprintf("Rego check rule: %s.%s", namespace, rule)
				}
				r.StartLine += offset
				r.EndLine += offset
				results.AddRego(r.Message, namespace, rule, nil, r)
			}
		}
	}
	return results
}

// regoResult is trivy's: where a denying value points, as scan.Result metadata.
type regoResult struct {
	Filepath     string
	Resource     string
	StartLine    int
	EndLine      int
	SourcePrefix string
	Message      string
	Explicit     bool
	Managed      bool
	FSKey        string
	FS           fs.FS
	Parent       *regoResult
}

func (r regoResult) GetMetadata() iacTypes.Metadata {
	var m iacTypes.Metadata
	if !r.Managed {
		m = iacTypes.NewUnmanagedMetadata()
	} else {
		rng := iacTypes.NewRangeWithFSKey(r.Filepath, r.StartLine, r.EndLine, r.SourcePrefix, r.FSKey, r.FS)
		if r.Explicit {
			m = iacTypes.NewExplicitMetadata(rng, r.Resource)
		} else {
			m = iacTypes.NewMetadata(rng, r.Resource)
		}
	}
	if r.Parent != nil {
		return m.WithParent(r.Parent.GetMetadata())
	}
	return m
}

func (r regoResult) GetRawValue() any { return nil }

func parseResult(raw any) regoResult {
	var result regoResult
	result.Managed = true
	switch val := raw.(type) {
	case []any:
		var msg string
		for _, item := range val {
			switch raw := item.(type) {
			case map[string]any:
				result = parseCause(raw)
			case string:
				msg = raw
			}
		}
		result.Message = msg
	case string:
		result.Message = val
	case map[string]any:
		result = parseCause(val)
	default:
		result.Message = "Rego check resulted in DENY"
	}
	return result
}

func parseCause(cause map[string]any) regoResult {
	var result regoResult
	result.Managed = true
	if v, ok := cause["msg"]; ok {
		result.Message = fmt.Sprintf("%s", v)
	}
	if v, ok := cause["filepath"]; ok {
		result.Filepath = fmt.Sprintf("%s", v)
	}
	if v, ok := cause["fskey"]; ok {
		result.FSKey = fmt.Sprintf("%s", v)
	}
	if v, ok := cause["resource"]; ok {
		result.Resource = fmt.Sprintf("%s", v)
	}
	if v, ok := cause["startline"]; ok {
		result.StartLine = parseLineNumber(v)
	}
	if v, ok := cause["endline"]; ok {
		result.EndLine = parseLineNumber(v)
	}
	if v, ok := cause["sourceprefix"]; ok {
		result.SourcePrefix = fmt.Sprintf("%s", v)
	}
	if v, ok := cause["explicit"]; ok {
		if b, ok := v.(bool); ok {
			result.Explicit = b
		}
	}
	if v, ok := cause["managed"]; ok {
		if b, ok := v.(bool); ok {
			result.Managed = b
		}
	}
	if v, ok := cause["parent"]; ok {
		if m, ok := v.(map[string]any); ok {
			parent := parseCause(m)
			result.Parent = &parent
		}
	}
	return result
}

func parseLineNumber(raw any) int {
	n, _ := strconv.Atoi(fmt.Sprintf("%s", raw))
	return n
}
