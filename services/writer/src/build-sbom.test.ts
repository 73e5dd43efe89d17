import { readFileSync } from 'node:fs';
import type { ImageScanData } from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import {
  ANNOTATION_CONTENT_HASH,
  ANNOTATION_IMAGE_DIGEST,
  ANNOTATION_OMITTED_COMPONENTS,
  ANNOTATION_REPORT_TTL,
  type Bom,
  SbomReportSchema,
} from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import { bomFromCycloneDx, buildSbomReport, fitBom } from './build-sbom.ts';

/** `trivy convert --format cyclonedx` of the stack's nginx:1.20, as the scanner stores it (captured). */
const CYCLONEDX = readFileSync(
  new URL('../../../packages/trivy/testdata/sbom-nginx.cdx.json', import.meta.url),
  'utf8',
);

const owner = {
  kind: 'ReplicaSet',
  apiVersion: 'apps/v1',
  namespace: 'default',
  name: 'naive-6d4cf56db6',
  uid: 'uid-1',
  labels: { app: 'nginx' },
  specHash: 'abc123',
  containers: [{ name: 'nginx', image: 'r/nginx:1.20', kind: 'container' }],
} as unknown as Owner;

const image: Pick<ImageScanData, 'registry' | 'artifact'> = {
  registry: { server: 'r' },
  artifact: { repository: 'nginx', tag: '1.20', digest: 'sha256:1', labels: { maintainer: 'x' } },
};
const entry = {
  scanner: { name: 'Trivy', vendor: 'Aqua Security', version: '0.74.0' },
  analysedAt: '2026-11-26T09:00:00Z',
};
const roomy = { maxReportBytes: 1_000_000 };

describe('bomFromCycloneDx', () => {
  it("keeps trivy's CycloneDX as the CRD holds it, nothing more", () => {
    const raw = JSON.parse(CYCLONEDX) as { components: unknown[]; dependencies: unknown[] };
    const bom = bomFromCycloneDx(CYCLONEDX);
    expect(bom).toMatchObject({ bomFormat: 'CycloneDX', specVersion: '1.7', version: 1 });
    expect(bom.serialNumber).toMatch(/^urn:uuid:/);
    expect(bom.components).toHaveLength(raw.components.length);
    expect(bom.dependencies).toHaveLength(raw.dependencies.length);
    // Fields the CRD has no place for are gone: the document's $schema and stale findings, a tool's manufacturer.
    expect(Object.keys(bom).sort()).toEqual(
      [
        'bomFormat',
        'components',
        'dependencies',
        'metadata',
        'serialNumber',
        'specVersion',
        'version',
      ].sort(),
    );
    expect(bom.metadata?.tools?.components).toEqual([
      { type: 'application', group: 'aquasecurity', name: 'trivy', version: '0.74.0' },
    ]);
    expect(bom.metadata?.component).toMatchObject({
      type: 'container',
      name: '127.0.0.1:40477/library/nginx:1.20',
    });
    expect(bom.components?.find((c) => c.name === 'apt')).toMatchObject({
      'bom-ref': 'pkg:deb/debian/apt@2.2.4?arch=amd64&distro=debian-11.3',
      type: 'library',
      version: '2.2.4',
      purl: 'pkg:deb/debian/apt@2.2.4?arch=amd64&distro=debian-11.3',
      supplier: { name: 'APT Development Team <deity@lists.debian.org>' },
      properties: expect.arrayContaining([{ name: 'aquasecurity:trivy:PkgType', value: 'debian' }]),
    });
  });

  it("reads CycloneDX 1.4's list of tools as the CRD's tools.components", () => {
    const old = JSON.stringify({
      bomFormat: 'CycloneDX',
      specVersion: '1.4',
      metadata: { tools: [{ vendor: 'aquasecurity', name: 'trivy', version: '0.38.0' }] },
    });
    expect(bomFromCycloneDx(old)).toEqual({
      bomFormat: 'CycloneDX',
      specVersion: '1.4',
      metadata: {
        tools: {
          components: [{ type: 'application', group: 'aquasecurity', name: 'trivy', version: '0.38.0' }],
        },
      },
      dependencies: [],
    });
  });

  it('refuses what is not a CycloneDX SBOM', () => {
    expect(() => bomFromCycloneDx('{"spdxVersion":"SPDX-2.3"}')).toThrow();
    expect(() => bomFromCycloneDx('not json')).toThrow();
  });
});

describe('buildSbomReport', () => {
  const bom = bomFromCycloneDx(CYCLONEDX);

  it("builds trivy-operator's SbomReport for the owner's container, owned by it", () => {
    const r = buildSbomReport(owner, 'nginx', image, entry, bom, roomy);
    if (!r) throw new Error('no report');
    // Parsing strips what the schema (and so the CRD, crd.test.ts) lacks: nothing is.
    expect(SbomReportSchema.parse(r)).toEqual(r);
    expect(r.kind).toBe('SbomReport');
    expect(r.metadata.name).toBe('replicaset-naive-6d4cf56db6-nginx');
    expect(r.metadata.namespace).toBe('default');
    expect(r.metadata.ownerReferences).toEqual([
      {
        apiVersion: 'apps/v1',
        kind: 'ReplicaSet',
        name: 'naive-6d4cf56db6',
        uid: 'uid-1',
        controller: true,
        blockOwnerDeletion: false,
      },
    ]);
    expect(r.metadata.labels).toMatchObject({
      'trivy-operator.container.name': 'nginx',
      'resource-spec-hash': 'abc123',
      'trivy-operator.resource.kind': 'ReplicaSet',
      'trivy-operator.resource.name': 'naive-6d4cf56db6',
      'trivy-operator.resource.namespace': 'default',
      'app.kubernetes.io/managed-by': 'fleetscan',
    });
    // trivy-operator puts no TTL on SbomReports.
    expect(r.metadata.annotations?.[ANNOTATION_REPORT_TTL]).toBeUndefined();
    expect(r.metadata.annotations?.[ANNOTATION_IMAGE_DIGEST]).toBe('sha256:1');
    expect(r.report.summary).toEqual({
      componentsCount: (bom.components?.length ?? 0) + 1,
      dependenciesCount: bom.dependencies?.length,
    });
    expect(r.report.updateTimestamp).toBe(entry.analysedAt);
    expect(r.report.scanner).toEqual(entry.scanner);
    expect(r.report.registry).toEqual({ server: 'r' });
    // The SBOM CRDs' artifact has no image labels.
    expect(r.report.artifact).toEqual({ repository: 'nginx', tag: '1.20', digest: 'sha256:1' });
    expect(r.report.components).toEqual(bom);
  });

  it('writes none for an image without packages, as trivy-operator', () => {
    const empty: Bom = { bomFormat: 'CycloneDX', specVersion: '1.6', components: [], dependencies: [] };
    expect(buildSbomReport(owner, 'nginx', image, entry, empty, roomy)).toBeUndefined();
  });

  it('has the same content hash for the same SBOM, another for another analysis', () => {
    const hash = (b: Bom, at = entry) =>
      buildSbomReport(owner, 'nginx', image, at, b, roomy)?.metadata.annotations?.[ANNOTATION_CONTENT_HASH];
    expect(hash(bom)).toBeDefined();
    expect(hash(bomFromCycloneDx(CYCLONEDX), { ...entry, analysedAt: '2026-11-27T00:00:00Z' })).toBe(
      hash(bom),
    );
    expect(hash({ ...bom, serialNumber: 'urn:uuid:another' })).not.toBe(hash(bom));
  });

  it('keeps a report past MAX_REPORT_BYTES under it: full summary, the first components, their dependencies', () => {
    const full = buildSbomReport(owner, 'nginx', image, entry, bom, roomy);
    if (!full) throw new Error('no report');
    const fullBytes = Buffer.byteLength(JSON.stringify(full));
    const max = Math.floor(fullBytes * 0.6);
    const r = buildSbomReport(owner, 'nginx', image, entry, bom, { maxReportBytes: max });
    if (!r) throw new Error('no report');
    expect(Buffer.byteLength(JSON.stringify(r))).toBeLessThanOrEqual(max);
    expect(SbomReportSchema.parse(r)).toEqual(r);
    expect(r.report.summary).toEqual(full.report.summary);
    const kept = r.report.components.components ?? [];
    const all = bom.components ?? [];
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(all.length);
    expect(kept).toEqual(all.slice(0, kept.length));
    expect(r.metadata.annotations?.[ANNOTATION_OMITTED_COMPONENTS]).toBe(String(all.length - kept.length));
    // Every dependency entry and reference left names the image or a component kept.
    const refs = new Set([bom.metadata?.component?.['bom-ref'], ...kept.map((c) => c['bom-ref'])]);
    for (const d of r.report.components.dependencies ?? []) {
      expect(refs.has(d.ref)).toBe(true);
      for (const on of d.dependsOn ?? []) expect(refs.has(on)).toBe(true);
    }
  });
});

describe('fitBom', () => {
  const bom: Bom = {
    bomFormat: 'CycloneDX',
    specVersion: '1.6',
    metadata: { component: { 'bom-ref': 'root', name: 'img' } },
    components: [
      { 'bom-ref': 'a', name: 'a' },
      { 'bom-ref': 'b', name: 'b' },
    ],
    dependencies: [
      { ref: 'root', dependsOn: ['a', 'b'] },
      { ref: 'a', dependsOn: ['b'] },
      { ref: 'b', dependsOn: [] },
    ],
  };

  it('keeps everything within budget', () => {
    expect(fitBom(bom, 10_000)).toEqual({ bom, omitted: 0 });
  });

  it('drops the components past the budget and every reference to them', () => {
    const one = fitBom(bom, 110);
    expect(one.omitted).toBe(1);
    expect(one.bom.components).toEqual([{ 'bom-ref': 'a', name: 'a' }]);
    expect(one.bom.dependencies).toEqual([
      { ref: 'root', dependsOn: ['a'] },
      { ref: 'a', dependsOn: [] },
    ]);
    expect(fitBom(bom, 0)).toMatchObject({ omitted: 2, bom: { components: [] } });
  });
});
