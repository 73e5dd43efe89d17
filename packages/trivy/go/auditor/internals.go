package main

import (
	"fmt"
	"reflect"
	"unsafe"

	"github.com/open-policy-agent/opa/v1/ast"
	"github.com/open-policy-agent/opa/v1/storage"

	"github.com/aquasecurity/trivy/pkg/iac/rego"
	"github.com/aquasecurity/trivy/pkg/set"
)

// compiled is what trivy's rego.Scanner holds once it has loaded and compiled the checks: the
// same modules, compiler, data store and runtime values that its ScanInput evaluates against.
//
// trivy keeps them private and evaluates every (rule, manifest) pair through a fresh rego.New:
// the query is parsed and compiled again each time, which measured as half of trivy's CPU per
// manifest (see docs/BENCHMARKS.md, "Config audits"). Reading them lets this worker prepare each
// rule's query once and evaluate exactly what trivy evaluates. The field names and types are
// trivy v0.74.0's (pinned in .ci/versions.env); readCompiled fails at start, naming the field,
// if a trivy upgrade changes them, and the parity tests compare the results with trivy's own.
type compiled struct {
	policies       map[string]*ast.Module
	moduleMetadata map[string]*rego.StaticMetadata
	ruleNamespaces set.Set[string]
	compiler       *ast.Compiler
	store          storage.Store
	runtimeValues  *ast.Term
	retriever      *rego.MetadataRetriever
}

func readCompiled(s *rego.Scanner) (*compiled, error) {
	v := reflect.ValueOf(s).Elem()
	var err error
	c := &compiled{}
	c.policies, err = privateField[map[string]*ast.Module](v, "policies")
	if err == nil {
		c.moduleMetadata, err = privateField[map[string]*rego.StaticMetadata](v, "moduleMetadata")
	}
	if err == nil {
		c.ruleNamespaces, err = privateField[set.Set[string]](v, "ruleNamespaces")
	}
	if err == nil {
		c.compiler, err = privateField[*ast.Compiler](v, "compiler")
	}
	if err == nil {
		c.store, err = privateField[storage.Store](v, "store")
	}
	if err == nil {
		c.runtimeValues, err = privateField[*ast.Term](v, "runtimeValues")
	}
	if err == nil {
		c.retriever, err = privateField[*rego.MetadataRetriever](v, "retriever")
	}
	if err != nil {
		return nil, err
	}
	if c.compiler == nil || c.store == nil || c.ruleNamespaces == nil {
		return nil, fmt.Errorf("trivy's rego scanner has no compiled checks (LoadPolicies not run?)")
	}
	return c, nil
}

// privateField reads a field of trivy's rego.Scanner by name, after checking its type.
func privateField[T any](v reflect.Value, name string) (T, error) {
	var zero T
	f := v.FieldByName(name)
	if !f.IsValid() {
		return zero, fmt.Errorf("trivy's rego.Scanner has no field %q: this worker needs updating for this trivy version", name)
	}
	if want := reflect.TypeFor[T](); f.Type() != want {
		return zero, fmt.Errorf("trivy's rego.Scanner field %q is %s, not %s: this worker needs updating for this trivy version", name, f.Type(), want)
	}
	return *(*T)(unsafe.Pointer(f.UnsafeAddr())), nil
}
