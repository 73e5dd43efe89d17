import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  type AnyReport,
  currentReplicaSet,
  deployment,
  getReport,
  type Kube,
  kubeFor,
  listReports,
  waitReport,
} from '../support/kube.ts';
import { type Services, startServices } from '../support/services.ts';

// SbomReports on the real stack: two fleets side by side, each watching its own namespace, one with
// SBOM generation on (the default) and one with it off. One Deployment each, on the stack's nginx.

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const nsOn = `sbom-on-${run}`;
const nsOff = `sbom-off-${run}`;
const nginx = () => `${stack().registry.host}/library/nginx:1.20`;
let k: Kube;
let on: Services | undefined;
let off: Services | undefined;

interface Component {
  'bom-ref'?: string;
  type?: string;
  name?: string;
  version?: string;
  purl?: string;
  properties?: { name?: string; value?: string }[];
}
interface SbomBody {
  updateTimestamp: string;
  scanner: { name: string; vendor: string; version: string };
  registry: { server: string };
  artifact: { repository: string; tag?: string; digest?: string };
  summary: { componentsCount: number; dependenciesCount: number };
  components: {
    bomFormat: string;
    specVersion: string;
    metadata?: { tools?: { components?: Component[] }; component?: Component };
    components?: Component[];
    dependencies?: { ref?: string; dependsOn?: string[] }[];
  };
}

beforeAll(async () => {
  k = kubeFor(stack().kubeconfigPath);
  for (const name of [nsOn, nsOff]) await k.core.createNamespace({ body: { metadata: { name } } });
  // One after the other: each provisions its cluster's NATS users in the stack's one identities file.
  on = await startServices(stack(), `sbon-${run}`, { watcher: { NAMESPACES_INCLUDE: nsOn } });
  off = await startServices(stack(), `sboff-${run}`, {
    watcher: { NAMESPACES_INCLUDE: nsOff },
    writer: { SBOM_GENERATION_ENABLED: 'false' },
  });
});

afterAll(async () => {
  await Promise.all([on?.stop(), off?.stop()]);
  for (const name of [nsOn, nsOff]) await k.core.deleteNamespace({ name }).catch(() => {});
});

describe('SbomReports', () => {
  let rsName = '';
  let rsUid = '';
  let sbom: AnyReport;
  let vuln: AnyReport;

  beforeAll(async () => {
    await k.apps.createNamespacedDeployment({ namespace: nsOn, body: deployment('web', nginx()) });
    const rs = await currentReplicaSet(k, nsOn, 'web');
    rsName = rs.metadata?.name ?? '';
    rsUid = rs.metadata?.uid ?? '';
    [sbom, vuln] = await Promise.all([
      waitReport(k, 'SbomReport', nsOn, `replicaset-${rsName}-nginx`),
      waitReport(k, 'VulnerabilityReport', nsOn, `replicaset-${rsName}-nginx`),
    ]);
  });

  it("a workload's container gets its SbomReport, owned by the workload, named and labelled as trivy-operator's", () => {
    expect(sbom.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: 'ReplicaSet',
        name: rsName,
        uid: rsUid,
        controller: true,
        blockOwnerDeletion: false,
      }),
    ]);
    expect(sbom.metadata.labels).toMatchObject({
      'trivy-operator.container.name': 'nginx',
      'trivy-operator.resource.kind': 'ReplicaSet',
      'trivy-operator.resource.name': rsName,
      'trivy-operator.resource.namespace': nsOn,
      'resource-spec-hash': vuln.metadata.labels['resource-spec-hash'],
      'app.kubernetes.io/managed-by': 'fleetscan',
    });
    expect(sbom.metadata.annotations?.['trivy-operator.aquasecurity.github.io/report-ttl']).toBeUndefined();
  });

  it("holds the image's CycloneDX BOM as the API server stored it, nothing pruned, summary matching", () => {
    const r = sbom.report as unknown as SbomBody;
    const pushed = stack().images.find((i) => i.name === 'library/nginx:1.20');
    expect(r.artifact).toEqual({ repository: 'library/nginx', tag: '1.20', digest: pushed?.digest });
    expect(r.registry).toEqual({ server: stack().registry.host });
    expect(r.scanner).toMatchObject({ name: 'Trivy', vendor: 'Aqua Security' });
    expect(r.components).toMatchObject({ bomFormat: 'CycloneDX', specVersion: expect.any(String) });
    const components = r.components.components ?? [];
    const dependencies = r.components.dependencies ?? [];
    expect(r.summary).toEqual({
      componentsCount: components.length + 1,
      dependenciesCount: dependencies.length,
    });
    expect(r.components.metadata?.tools?.components).toEqual([
      expect.objectContaining({ name: 'trivy', version: r.scanner.version }),
    ]);
    expect(r.components.metadata?.component).toMatchObject({
      type: 'container',
      'bom-ref': expect.any(String),
    });
    // The same packages the VulnerabilityReport found vulnerable, at the same versions, with the
    // fields a structural schema would have pruned had the CRD not held them.
    const vulns = (
      vuln.report as unknown as { vulnerabilities: { resource: string; installedVersion: string }[] }
    ).vulnerabilities;
    expect(vulns.length).toBeGreaterThan(0);
    for (const v of vulns) {
      const c = components.find((x) => x.name === v.resource && x.version === v.installedVersion);
      expect(c, `${v.resource} ${v.installedVersion}`).toBeDefined();
      expect(c?.purl).toMatch(/^pkg:deb\/debian\//);
      expect(c?.['bom-ref']).toBeTruthy();
      expect(
        c?.properties?.some((p) => p.name === 'aquasecurity:trivy:PkgType' && p.value === 'debian'),
      ).toBe(true);
    }
    // Every dependency names a component of the BOM (or the image itself).
    const refs = new Set([
      r.components.metadata?.component?.['bom-ref'],
      ...components.map((c) => c['bom-ref']),
    ]);
    for (const d of dependencies) expect(refs.has(d.ref)).toBe(true);
  });

  it('with SBOM_GENERATION_ENABLED=false the workload gets its VulnerabilityReport and no SbomReport', async () => {
    await k.apps.createNamespacedDeployment({ namespace: nsOff, body: deployment('web', nginx()) });
    const rs = await currentReplicaSet(k, nsOff, 'web');
    const name = `replicaset-${rs.metadata?.name ?? ''}-nginx`;
    await waitReport(k, 'VulnerabilityReport', nsOff, name);
    // Stopping waits for every result being handled: whatever the fan-out would write is written.
    await off?.stop();
    off = undefined;
    expect(await getReport(k, 'SbomReport', nsOff, name)).toBeUndefined();
    expect(await listReports(k, 'SbomReport', nsOff)).toEqual([]);
    expect(await listReports(k, 'SbomReport', nsOn)).toHaveLength(1);
  });
});
