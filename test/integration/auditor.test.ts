import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Check } from '@fleetscan/reports';
import {
  type ConfigFinding,
  createConfigAuditor,
  parseConfigReport,
  type TrivyConfigReport,
  toChecksByFile,
  toConfigChecks,
  toConfigFinding,
} from '@fleetscan/trivy';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';

// The audit worker against the trivy CLI it replaces, both real, on a manifest of every kind the
// scanner may get (packages/trivy/testdata/parity): the 7 workload kinds, Deployment, and
// Service, ConfigMap, Ingress, NetworkPolicy, ResourceQuota, LimitRange, PersistentVolumeClaim,
// Role, ClusterRole, RoleBinding, ClusterRoleBinding, PersistentVolume, CustomResourceDefinition, and
// control-plane Pods in kube-system, whose infra (KCV) checks make InfraAssessmentReports.
//
// Each manifest reaches trivy as trivy-operator hands a resource to trivy: as JSON in
// inputs/file_0.yaml. It matters: a few checks print the whole input, its source location
// included, in their message (KSV-0120 does).

const PARITY = new URL('../../packages/trivy/testdata/parity/', import.meta.url);
const OFFLINE_CONFIG = ['--skip-check-update', '--skip-version-check', '--disable-telemetry'];

let dir: string;
let files: string[];
let manifests: unknown[];
/** The CLI's report of each manifest audited alone (as trivy-operator audits one resource). */
const alone = new Map<string, TrivyConfigReport>();
const INPUT = 'inputs/file_0.yaml';
/** The worker's findings for every manifest, all sent in one request. */
let worker: ConfigFinding[][];

async function trivyConfig(target: string, includePassed: boolean): Promise<TrivyConfigReport> {
  const { trivy } = inject('stack');
  const res = await execa(
    trivy.bin,
    [
      'config',
      '--cache-dir',
      trivy.cacheDir,
      ...OFFLINE_CONFIG,
      '--misconfig-scanners',
      'kubernetes',
      '--format',
      'json',
      ...(includePassed ? ['--include-non-failures'] : []),
      target,
    ],
    { extendEnv: false, env: {}, cwd: dir },
  );
  return parseConfigReport(res.stdout);
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-auditor-parity-'));
  files = (await readdir(PARITY)).filter((f) => f.endsWith('.yaml')).sort();
  manifests = await Promise.all(files.map(async (f) => parse(await readFile(new URL(f, PARITY), 'utf8'))));
  // One CLI run per manifest, two at a time (two cores): ~2 s each for trivy to load its checks.
  const queue = [...files];
  await Promise.all(
    [0, 1].map(async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        const one = join(dir, f.replace('.yaml', ''));
        await mkdir(join(one, 'inputs'), { recursive: true });
        await writeFile(join(one, INPUT), JSON.stringify(manifests[files.indexOf(f)]));
        alone.set(f, await trivyConfig(one, true));
      }
    }),
  );
  const { trivy } = inject('stack');
  const auditor = createConfigAuditor({
    bin: trivy.auditor,
    timeoutMs: 120_000,
    logger: { debug: () => {}, warn: () => {} },
  });
  try {
    worker = (await auditor.audit(manifests, { includePassed: true })).map((o) => {
      if ('error' in o) throw o.error;
      return o.findings;
    });
  } finally {
    await auditor.close();
  }
}, 600_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What trivy's JSON keeps of a finding; the CLI prints an empty message as "No issues found". */
const comparable = (f: ConfigFinding) => ({
  id: f.id,
  title: f.title,
  description: f.description,
  message: f.message?.trim() || 'No issues found',
  resolution: f.resolution,
  severity: f.severity,
  status: f.status,
});

describe('the audit worker against trivy config', () => {
  it('answers an urgent request while a bulk one is audited on niced threads, with the same findings in either lane', async () => {
    const { trivy } = inject('stack');
    const auditor = createConfigAuditor({
      bin: trivy.auditor,
      timeoutMs: 120_000,
      bulkNiceness: 10,
      maxRequestManifests: 10_000,
      logger: { debug: () => {}, warn: () => {} },
    });
    try {
      await auditor.version();
      const order: string[] = [];
      // One request of every parity manifest ten times over (~1 s of the worker's time), then one urgent.
      const noted =
        <T>(name: string) =>
        (r: T) => {
          order.push(name);
          return r;
        };
      const bulk = auditor
        .audit(Array.from({ length: 10 }, () => manifests).flat(), { includePassed: true })
        .then(noted('bulk'));
      const urgent = auditor
        .audit([manifests[0]], { includePassed: true, urgent: true })
        .then(noted('urgent'));
      const [b, u] = await Promise.all([bulk, urgent]);
      expect(order).toEqual(['urgent', 'bulk']);
      const findings = (o: (typeof b)[number]) => ('error' in o ? o.error.message : o.findings);
      expect(u.map(findings)).toEqual([worker[0]]);
      expect(b.map(findings)).toEqual(Array.from({ length: 10 }, () => worker).flat());
    } finally {
      await auditor.close();
    }
  });

  it('covers every kind the scanner may send', () => {
    const kinds = new Set(manifests.map((m) => (m as { kind: string }).kind));
    expect([...kinds].sort()).toEqual(
      [
        'Pod',
        'ReplicaSet',
        'ReplicationController',
        'StatefulSet',
        'DaemonSet',
        'Job',
        'CronJob',
        'Deployment',
        'Service',
        'ConfigMap',
        'Ingress',
        'NetworkPolicy',
        'ResourceQuota',
        'LimitRange',
        'PersistentVolumeClaim',
        'Role',
        'ClusterRole',
        'RoleBinding',
        'ClusterRoleBinding',
        'PersistentVolume',
        'CustomResourceDefinition',
      ].sort(),
    );
  });

  it('finds what trivy config finds for each manifest, passes included, in the same order', () => {
    for (const [i, f] of files.entries()) {
      const result = alone.get(f)?.Results?.[0];
      expect(result?.Target, f).toBe(INPUT);
      const cli = result?.Misconfigurations ?? [];
      const mine = worker[i] ?? [];
      expect(mine.map(comparable), f).toEqual(cli.map((m) => comparable(toConfigFinding(m))));
      expect(cli.length, `${f}: trivy evaluated no check at all`).toBeGreaterThan(0);
    }
    const failures = worker.flat().filter((x) => x.status === 'FAIL').length;
    expect(failures).toBeGreaterThan(100);
  });

  it('finds the infra (KCV) checks of control-plane Pods as trivy config does, and the RBAC checks of Roles and ClusterRoles', () => {
    const failed = (f: string, prefix: string) =>
      toConfigChecks(worker[files.indexOf(f)] ?? [])
        .filter((c) => !c.success && c.checkID.startsWith(prefix))
        .map((c) => c.checkID);
    const failedByCli = (f: string, prefix: string) =>
      (toChecksByFile(alone.get(f) as TrivyConfigReport).get(INPUT) ?? [])
        .filter((c) => !c.success && c.checkID.startsWith(prefix))
        .map((c) => c.checkID);
    for (const f of ['pod-kube-apiserver.yaml', 'pod-etcd.yaml']) {
      expect(failed(f, 'KCV').length, f).toBeGreaterThan(0);
      expect(failed(f, 'KCV'), f).toEqual(failedByCli(f, 'KCV'));
    }
    // A workload outside the control plane gets no failed infra check.
    expect(failed('deployment.yaml', 'KCV')).toEqual([]);
    for (const f of ['role.yaml', 'clusterrole.yaml']) {
      expect(failed(f, 'KSV').length, f).toBeGreaterThan(0);
      expect(failed(f, 'KSV'), f).toEqual(failedByCli(f, 'KSV'));
    }
  });

  it("gives the same report checks as trivy's JSON, the worker's findings carrying the aliases trivy's JSON lacks", () => {
    // trivy's JSON says "No issues found" for a pass; trivy-operator (and the worker) no message.
    const withoutPassMessages = (c: Check) => (c.success ? { ...c, messages: undefined } : c);
    for (const [i, f] of files.entries()) {
      const fromCli = toChecksByFile(alone.get(f) as TrivyConfigReport).get(INPUT) ?? [];
      expect(toConfigChecks(worker[i] ?? []).map(withoutPassMessages), f).toEqual(
        fromCli.map(withoutPassMessages),
      );
      for (const finding of worker[i] ?? []) {
        expect(finding.aliases?.[0], `${f} ${finding.id}`).toBe(`AVD-${finding.id}`);
      }
    }
  });

  it('audits each manifest alone: a batched trivy config applies LimitRange and ResourceQuota checks to everything', async () => {
    const batch = join(dir, 'batch');
    await mkdir(batch);
    for (const f of files) await cp(new URL(f, PARITY), join(batch, f));
    const byFile = toChecksByFile(await trivyConfig(batch, false));
    const ids = (checks: Check[] | undefined) =>
      (checks ?? []).filter((c) => !c.success).map((c) => c.checkID);
    // What one trivy run over the batch directory (the scanner's former engine) reports.
    expect(ids(byFile.get('replicaset.yaml'))).toEqual(expect.arrayContaining(['KSV039', 'KSV040']));
    expect(ids(byFile.get('service.yaml'))).toEqual(expect.arrayContaining(['KSV039', 'KSV040']));
    // The worker, with every kind in one request, reports what each manifest alone gives.
    const at = (f: string) => worker[files.indexOf(f)] ?? [];
    expect(ids(toConfigChecks(at('replicaset.yaml')))).not.toContain('KSV039');
    expect(ids(toConfigChecks(at('service.yaml')))).toEqual(['KSV108']);
    expect(ids(toConfigChecks(at('limitrange.yaml')))).toEqual(['KSV039']);
  });
});
