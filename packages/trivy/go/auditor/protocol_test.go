package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// stubAuditor fails manifests that say so, and otherwise returns one finding naming the manifest.
type stubAuditor struct{}

func (stubAuditor) Audit(_ context.Context, manifest []byte, includePassed bool) ([]Finding, error) {
	var m struct {
		Name string `json:"name"`
		Fail bool   `json:"fail"`
	}
	if err := json.Unmarshal(manifest, &m); err != nil {
		return nil, err
	}
	if m.Fail {
		return nil, errors.New("bad " + m.Name)
	}
	status := "FAIL"
	if includePassed {
		status = "PASS"
	}
	return []Finding{{ID: m.Name, Severity: "LOW", Status: status}}, nil
}

func responses(t *testing.T, in string, concurrency int) []Response {
	t.Helper()
	var out bytes.Buffer
	if err := serve(context.Background(), stubAuditor{}, strings.NewReader(in), &out, concurrency, 0); err != nil {
		t.Fatal(err)
	}
	var rs []Response
	for _, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var r Response
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		rs = append(rs, r)
	}
	return rs
}

func TestServeAnswersEachRequestInOrderWithOneResultPerManifest(t *testing.T) {
	var manifests []string
	for _, n := range []string{"a", "b", "c", "d", "e", "f", "g"} {
		manifests = append(manifests, `{"name":"`+n+`"}`)
	}
	in := `{"id":7,"manifests":[` + strings.Join(manifests, ",") + `]}` + "\n" +
		"\n" +
		`{"id":8,"manifests":[{"name":"x","fail":true},{"name":"y"}],"includePassed":true}` + "\n"
	rs := responses(t, in, 3)
	if len(rs) != 2 || rs[0].ID != 7 || rs[1].ID != 8 {
		t.Fatalf("responses %+v", rs)
	}
	for i, r := range rs[0].Results {
		if want := string(rune('a' + i)); len(r.Findings) != 1 || r.Findings[0].ID != want || r.Error != "" {
			t.Errorf("result %d = %+v, want finding %s", i, r, want)
		}
	}
	if r := rs[1].Results[0]; r.Error != "bad x" || r.Findings == nil || len(r.Findings) != 0 {
		t.Errorf("failed manifest: %+v", r)
	}
	if r := rs[1].Results[1]; r.Findings[0].Status != "PASS" {
		t.Errorf("includePassed not passed on: %+v", r)
	}
}

func TestServeAnswersAnUnreadableRequestAndGoesOn(t *testing.T) {
	rs := responses(t, "{nope\n"+`{"id":2,"manifests":[]}`+"\n", 1)
	if len(rs) != 2 || rs[0].Error == "" || rs[0].Results != nil || rs[1].ID != 2 || len(rs[1].Results) != 0 {
		t.Fatalf("responses %+v", rs)
	}
}

func TestServeStopsAtALineTooLongToRead(t *testing.T) {
	long := `{"id":1,"manifests":["` + strings.Repeat("x", MaxLineBytes) + `"]}` + "\n"
	err := serve(context.Background(), stubAuditor{}, strings.NewReader(long), &bytes.Buffer{}, 1, 0)
	if err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("err = %v", err)
	}
}
