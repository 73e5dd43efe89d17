package main

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// Fixture is the readable YAML input (see packages/stack/fixtures/vulndb.yaml).
type Fixture struct {
	// UpdatedAt becomes metadata.json's UpdatedAt (and DownloadedAt). It is
	// taken from the fixture, never from the clock, so the same fixture always
	// yields the same DB version.
	UpdatedAt time.Time `yaml:"updatedAt"`
	// NextUpdate defaults to UpdatedAt + 100 years: trivy only re-downloads a
	// DB whose NextUpdate has passed, so the fixture DB never looks stale.
	NextUpdate time.Time `yaml:"nextUpdate"`
	// DataSources maps an advisory bucket name ("debian 11", "alpine 3.18")
	// to the data source trivy attaches to findings from that bucket.
	DataSources     map[string]DataSource `yaml:"dataSources"`
	Vulnerabilities []Vulnerability       `yaml:"vulnerabilities"`
}

type DataSource struct {
	ID   string `yaml:"id"`
	Name string `yaml:"name"`
	URL  string `yaml:"url"`
}

type Vulnerability struct {
	ID          string `yaml:"id"`
	Title       string `yaml:"title"`
	Description string `yaml:"description"`
	// Severity is what trivy should print. It is stored as the vendor
	// severity of SeveritySource ("nvd" unless set, as in the real DB for
	// Debian and Alpine, which carry no severities of their own).
	Severity       string     `yaml:"severity"`
	SeveritySource string     `yaml:"severitySource"`
	CVSS           *CVSS      `yaml:"cvss"` // NVD's scores; stored as CVSS["nvd"]
	CweIDs         []string   `yaml:"cweIDs"`
	References     []string   `yaml:"references"`
	PublishedDate  *time.Time `yaml:"publishedDate"`
	LastModified   *time.Time `yaml:"lastModifiedDate"`
	Affects        []Affected `yaml:"affects"`
}

type CVSS struct {
	V2Vector string  `yaml:"v2Vector"`
	V2Score  float64 `yaml:"v2Score"`
	V3Vector string  `yaml:"v3Vector"`
	V3Score  float64 `yaml:"v3Score"`
}

// Affected is one advisory: a package in one data source bucket.
type Affected struct {
	Platform string `yaml:"platform"` // bucket name, a key of dataSources
	// Package is the name trivy looks advisories up by: the *source* package
	// for Debian (libcurl4 -> curl), the origin for Alpine (libssl3 -> openssl).
	Package string `yaml:"package"`
	// Exactly one of FixedVersion and Status: an advisory without a fixed
	// version is unfixed, and Status says how (normally "affected").
	FixedVersion string `yaml:"fixedVersion"`
	Status       string `yaml:"status"`
}

// severities and statuses are the index-ordered names of trivy-db's
// types.Severity and types.Status; the DB stores the index.
var (
	severities = []string{"UNKNOWN", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
	statuses   = []string{"unknown", "not_affected", "affected", "fixed",
		"under_investigation", "will_not_fix", "fix_deferred", "end_of_life"}
)

func loadFixture(path string) (*Fixture, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a typo in a field name must fail, not vanish
	var f Fixture
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := f.validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if f.NextUpdate.IsZero() {
		f.NextUpdate = f.UpdatedAt.AddDate(100, 0, 0)
	}
	return &f, nil
}

func (f *Fixture) validate() error {
	if f.UpdatedAt.IsZero() {
		return fmt.Errorf("updatedAt is required")
	}
	for name, ds := range f.DataSources {
		if ds.ID == "" {
			return fmt.Errorf("dataSources[%q]: id is required", name)
		}
	}
	seenVuln := map[string]bool{}
	seenAdv := map[[3]string]bool{}
	for _, v := range f.Vulnerabilities {
		if v.ID == "" || seenVuln[v.ID] {
			return fmt.Errorf("vulnerability %q: id missing or duplicated", v.ID)
		}
		seenVuln[v.ID] = true
		if !slices.Contains(severities, v.Severity) {
			return fmt.Errorf("%s: severity %q is not one of %v", v.ID, v.Severity, severities)
		}
		if len(v.Affects) == 0 {
			return fmt.Errorf("%s: affects is empty", v.ID)
		}
		for _, a := range v.Affects {
			if _, ok := f.DataSources[a.Platform]; !ok {
				return fmt.Errorf("%s: platform %q is not in dataSources", v.ID, a.Platform)
			}
			if a.Package == "" {
				return fmt.Errorf("%s: package is required", v.ID)
			}
			if (a.FixedVersion == "") == (a.Status == "") {
				return fmt.Errorf("%s/%s: set exactly one of fixedVersion and status", v.ID, a.Package)
			}
			if a.Status != "" && !slices.Contains(statuses, a.Status) {
				return fmt.Errorf("%s/%s: status %q is not one of %v", v.ID, a.Package, a.Status, statuses)
			}
			key := [3]string{a.Platform, a.Package, v.ID}
			if seenAdv[key] {
				return fmt.Errorf("%s: duplicate advisory for %s in %q", v.ID, a.Package, a.Platform)
			}
			seenAdv[key] = true
		}
	}
	return nil
}
