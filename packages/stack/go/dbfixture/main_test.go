package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

const fixturePath = "../../fixtures/vulndb.yaml"

// TestFixtureDB builds the project fixture and reads it back the way trivy
// does: bucket[platform].bucket[source package].key[vuln ID].
func TestFixtureDB(t *testing.T) {
	dir := t.TempDir()
	if err := run(fixturePath, dir); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(filepath.Join(dir, "trivy.db"), 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()

	get := func(path ...string) string {
		t.Helper()
		var out string
		_ = db.View(func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte(path[0]))
			for _, name := range path[1 : len(path)-1] {
				if b == nil {
					return nil
				}
				b = b.Bucket([]byte(name))
			}
			if b != nil {
				out = string(b.Get([]byte(path[len(path)-1])))
			}
			return nil
		})
		return out
	}

	for _, tc := range []struct {
		path []string
		want string
	}{
		{[]string{"debian 11", "curl", "CVE-2021-22945"}, `{"FixedVersion":"7.74.0-1.3+deb11u2"}`},
		{[]string{"debian 11", "apt", "CVE-2011-3374"}, `{"Status":2}`}, // 2 = affected
		{[]string{"alpine 3.18", "openssl", "CVE-2023-2650"}, `{"FixedVersion":"3.1.1-r0"}`},
		{[]string{"data-source", "debian 11"}, `{"ID":"debian","Name":"Debian Security Tracker","URL":"https://salsa.debian.org/security-tracker-team/security-tracker"}`},
		{[]string{"data-source", "alpine 3.18"}, `{"ID":"alpine","Name":"Alpine Secdb","URL":"https://secdb.alpinelinux.org/"}`},
	} {
		if got := get(tc.path...); got != tc.want {
			t.Errorf("%q = %s, want %s", tc.path, got, tc.want)
		}
	}

	var v vulnerability
	if err := json.Unmarshal([]byte(get("vulnerability", "CVE-2021-22945")), &v); err != nil {
		t.Fatal(err)
	}
	if v.VendorSeverity["nvd"] != 4 || v.Severity != "CRITICAL" || v.CVSS["nvd"].V3Score != 9.1 {
		t.Errorf("CVE-2021-22945 = %+v, want nvd severity 4 (CRITICAL), V3Score 9.1", v)
	}
	if err := json.Unmarshal([]byte(get("vulnerability", "CVE-2011-3374")), &v); err != nil {
		t.Fatal(err)
	}
	if v.VendorSeverity["debian"] != 1 {
		t.Errorf("CVE-2011-3374 VendorSeverity = %v, want debian: 1 (LOW)", v.VendorSeverity)
	}

	meta, err := os.ReadFile(filepath.Join(dir, "metadata.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"Version":2,"NextUpdate":"2126-11-01T00:00:00Z","UpdatedAt":"2026-11-01T00:00:00Z","DownloadedAt":"2026-11-01T00:00:00Z"}` + "\n"
	if string(meta) != want {
		t.Errorf("metadata.json = %s, want %s", meta, want)
	}
}

// TestDeterministic: the project hashes DB files to identify versions.
func TestDeterministic(t *testing.T) {
	var dbs [2][]byte
	for i := range dbs {
		dir := t.TempDir()
		if err := run(fixturePath, dir); err != nil {
			t.Fatal(err)
		}
		var err error
		if dbs[i], err = os.ReadFile(filepath.Join(dir, "trivy.db")); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(dbs[0], dbs[1]) {
		t.Error("two builds of the same fixture differ")
	}
}

func TestValidate(t *testing.T) {
	for name, tc := range map[string]struct{ yaml, wantErr string }{
		"both fixed and status": {`
updatedAt: 2026-01-01T00:00:00Z
dataSources: {debian 11: {id: debian}}
vulnerabilities:
  - {id: CVE-1, severity: LOW, affects: [{platform: debian 11, package: a, fixedVersion: "1", status: affected}]}
`, "exactly one of fixedVersion and status"},
		"unknown platform": {`
updatedAt: 2026-01-01T00:00:00Z
vulnerabilities:
  - {id: CVE-1, severity: LOW, affects: [{platform: debian 11, package: a, fixedVersion: "1"}]}
`, "not in dataSources"},
		"bad severity": {`
updatedAt: 2026-01-01T00:00:00Z
dataSources: {debian 11: {id: debian}}
vulnerabilities:
  - {id: CVE-1, severity: low, affects: [{platform: debian 11, package: a, fixedVersion: "1"}]}
`, "severity"},
		"typo in field": {`
updatedAt: 2026-01-01T00:00:00Z
vulnerabilites: []
`, "not found"},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "f.yaml")
			if err := os.WriteFile(path, []byte(tc.yaml), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := loadFixture(path)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tc.wantErr)
			}
		})
	}
}
