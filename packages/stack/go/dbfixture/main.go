// Command dbfixture turns a small YAML list of advisories into a trivy
// vulnerability DB (schema version 2), so tests scan against data the
// project builds itself instead of downloading ghcr.io/aquasecurity/trivy-db.
//
//	dbfixture -in fixtures/vulndb.yaml -out <cache-dir>/db
//
// writes <out>/trivy.db and <out>/metadata.json. The JSON shapes below copy
// those of github.com/aquasecurity/trivy-db pkg/types (the version trivy
// v0.74.0 pins), field names and order included; see README.md.
package main

import (
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// schemaVersion is trivy-db's db.SchemaVersion; trivy refuses
// --skip-db-update with any other metadata Version.
const schemaVersion = 2

// Bucket names used by trivy-db pkg/db.
const (
	vulnerabilityBucket = "vulnerability" // vuln ID -> vulnerability details
	dataSourceBucket    = "data-source"   // advisory bucket name -> data source
)

// advisory is the value under [platform][package][vulnID] (types.Advisory).
type advisory struct {
	FixedVersion string `json:",omitempty"`
	// Status is stored as the index into types.Statuses; trivy-db's
	// Advisory.MarshalJSON writes an int here to keep the DB small.
	Status int `json:",omitempty"`
}

// vulnerability is the value under ["vulnerability"][vulnID] (types.Vulnerability).
type vulnerability struct {
	Title       string `json:",omitempty"`
	Description string `json:",omitempty"`
	// Severity is deprecated in trivy-db but still the last fallback
	// trivy uses when no vendor severity applies.
	Severity         string            `json:",omitempty"`
	CweIDs           []string          `json:",omitempty"`
	VendorSeverity   map[string]int    `json:",omitempty"`
	CVSS             map[string]cvssDB `json:",omitempty"`
	References       []string          `json:",omitempty"`
	PublishedDate    *time.Time        `json:",omitempty"`
	LastModifiedDate *time.Time        `json:",omitempty"`
}

type cvssDB struct {
	V2Vector string  `json:",omitempty"`
	V3Vector string  `json:",omitempty"`
	V2Score  float64 `json:",omitempty"`
	V3Score  float64 `json:",omitempty"`
}

type dataSourceDB struct {
	ID   string `json:",omitempty"`
	Name string `json:",omitempty"`
	URL  string `json:",omitempty"`
}

// metadata is trivy-db pkg/metadata.Metadata, written as metadata.json.
type metadata struct {
	Version      int `json:",omitempty"`
	NextUpdate   time.Time
	UpdatedAt    time.Time
	DownloadedAt time.Time
}

func main() {
	in := flag.String("in", "", "fixture YAML file")
	out := flag.String("out", "", "output directory (trivy's <cache-dir>/db)")
	flag.Parse()
	if *in == "" || *out == "" {
		fmt.Fprintln(os.Stderr, "usage: dbfixture -in <fixture.yaml> -out <dir>")
		os.Exit(2)
	}
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "dbfixture:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	f, err := loadFixture(in)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := writeDB(filepath.Join(out, "trivy.db"), f); err != nil {
		return err
	}
	return writeMetadata(filepath.Join(out, "metadata.json"), f)
}

// record is one key/value to store under a path of nested buckets.
type record struct {
	buckets []string
	key     string
	value   any
}

// writeDB builds the DB from scratch. Same fixture, byte-identical file:
// records are written in sorted order, one bucket per transaction, because
// bbolt spills a transaction's dirty sub-buckets in Go map order, which would
// otherwise shuffle page numbers from run to run.
func writeDB(path string, f *Fixture) error {
	// bolt.Open on an existing file would add to it; start empty instead.
	if err := os.Remove(path); err != nil && !os.IsNotExist(err) {
		return err
	}
	// A fixed page size keeps the file identical on hosts with other OS page sizes.
	db, err := bolt.Open(path, 0o644, &bolt.Options{PageSize: 4096})
	if err != nil {
		return err
	}
	recs := records(f)
	for len(recs) > 0 && err == nil {
		n := 1
		for n < len(recs) && slices.Equal(recs[n].buckets, recs[0].buckets) {
			n++
		}
		err = db.Update(func(tx *bolt.Tx) error {
			for _, r := range recs[:n] {
				if err := put(tx, r.buckets, r.key, r.value); err != nil {
					return err
				}
			}
			return nil
		})
		recs = recs[n:]
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	return err
}

// records lists everything trivy reads, sorted by bucket path then key:
//   - ["data-source"][platform] = data source
//   - ["vulnerability"][vulnID] = title, severities, CVSS, ...
//   - [platform][package][vulnID] = advisory (fixed version or status)
func records(f *Fixture) []record {
	var recs []record
	for name, ds := range f.DataSources {
		recs = append(recs, record{[]string{dataSourceBucket}, name, dataSourceDB(ds)})
	}
	for _, v := range f.Vulnerabilities {
		recs = append(recs, record{[]string{vulnerabilityBucket}, v.ID, toDB(v)})
		for _, a := range v.Affects {
			adv := advisory{FixedVersion: a.FixedVersion}
			if a.Status != "" {
				adv.Status = slices.Index(statuses, a.Status)
			}
			recs = append(recs, record{[]string{a.Platform, a.Package}, v.ID, adv})
		}
	}
	slices.SortFunc(recs, func(a, b record) int {
		return cmp.Or(slices.Compare(a.buckets, b.buckets), cmp.Compare(a.key, b.key))
	})
	return recs
}

func toDB(v Vulnerability) vulnerability {
	source := v.SeveritySource
	if source == "" {
		source = "nvd"
	}
	out := vulnerability{
		Title:            v.Title,
		Description:      v.Description,
		Severity:         v.Severity,
		CweIDs:           v.CweIDs,
		References:       v.References,
		PublishedDate:    utc(v.PublishedDate),
		LastModifiedDate: utc(v.LastModified),
	}
	// Like trivy-db, store no vendor severity rather than an UNKNOWN one.
	if sev := slices.Index(severities, v.Severity); sev > 0 {
		out.VendorSeverity = map[string]int{source: sev}
	}
	if c := v.CVSS; c != nil {
		out.CVSS = map[string]cvssDB{"nvd": {V2Vector: c.V2Vector, V3Vector: c.V3Vector, V2Score: c.V2Score, V3Score: c.V3Score}}
	}
	return out
}

// put stores value as JSON under key in the nested buckets, creating them.
func put(tx *bolt.Tx, buckets []string, key string, value any) error {
	b, err := tx.CreateBucketIfNotExists([]byte(buckets[0]))
	for i := 1; err == nil && i < len(buckets); i++ {
		b, err = b.CreateBucketIfNotExists([]byte(buckets[i]))
	}
	if err != nil {
		return fmt.Errorf("bucket %q: %w", buckets, err)
	}
	data, err := json.Marshal(value)
	if err != nil {
		return err
	}
	return b.Put([]byte(key), data)
}

func writeMetadata(path string, f *Fixture) error {
	m := metadata{
		Version:    schemaVersion,
		NextUpdate: f.NextUpdate.UTC(),
		UpdatedAt:  f.UpdatedAt.UTC(),
		// A zero DownloadedAt makes trivy (without --skip-db-update) think
		// the DB is corrupt and re-download it; UpdatedAt keeps it deterministic.
		DownloadedAt: f.UpdatedAt.UTC(),
	}
	data, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(data, '\n'), 0o644)
}

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}
