import { EXPOSED_SECRET_REPORT, SBOM_REPORT, VULNERABILITY_REPORT } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import { fanOutOwners, fanOutReports, inPool } from './fan-out.ts';
import { data, IMAGE, owner, result } from './testing/fixtures.ts';

const settings = { ttlSeconds: 86400, maxReportBytes: 1_000_000 };

describe('fan-out', () => {
  it('writes a result only for owners in its namespace', () => {
    const here = owner('a');
    const there = owner('b', 'team-b');
    expect(fanOutOwners(result, [here, there])).toEqual([here]);
  });

  it('writes a result with an owner filter only for the owners it names (per-workload settings)', () => {
    const api = owner('api-7d9f');
    const web = owner('web-5c8b');
    expect(fanOutOwners({ ...result, ownerFilter: { names: ['api-*'] } }, [api, web])).toEqual([api]);
    expect(fanOutOwners({ ...result, ownerFilter: { exceptNames: ['api-*'] } }, [api, web])).toEqual([web]);
  });

  it('lists the newest owners first, so a new workload’s reports are not written behind its namespace’s older owners', () => {
    const at = (name: string, createdAtMs?: number) => {
      const o = owner(name);
      return (createdAtMs === undefined ? o : { ...o, workload: { createdAtMs } }) as typeof o;
    };
    const [old, none, newest, mid] = [at('old', 1000), at('none'), at('newest', 3000), at('mid', 2000)];
    expect(fanOutOwners(result, [old, none, newest, mid]).map((o) => o.name)).toEqual([
      'newest',
      'mid',
      'old',
      'none',
    ]);
  });

  it('shows the additional vulnerability fields the result asks for, and only those', () => {
    const vuln = {
      vulnerabilityID: 'CVE-1',
      resource: 'curl',
      installedVersion: '1',
      fixedVersion: '2',
      publishedDate: '',
      lastModifiedDate: '',
      severity: 'HIGH' as const,
      title: 't',
      description: 'd',
      links: ['l'],
      target: 't',
    };
    const full = { ...data, vulnerabilities: [vuln] };
    const body = (fields?: ('Description' | 'Links')[]) => {
      const [r] = fanOutReports(
        { ...result, ...(fields && { reportFields: fields }) },
        [owner('a')],
        full,
        settings,
      );
      return (r?.report as unknown as { report: { vulnerabilities: Record<string, unknown>[] } } | undefined)
        ?.report.vulnerabilities[0];
    };
    expect(body()).toMatchObject({ links: [], target: '' });
    expect(body()).not.toHaveProperty('description');
    expect(body(['Description', 'Links'])).toMatchObject({ description: 'd', links: ['l'], target: '' });
  });

  it('makes a report per owner and container running the image, with secrets when scanned for', () => {
    const two = owner('a', 'team-a', [IMAGE, 'r/side:1', IMAGE]);
    const one = owner('b');
    const reports = fanOutReports(result, [two, one], data, settings);
    expect(reports.map((r) => `${r.kind} ${r.report.metadata.name} ${r.owner.name}`)).toEqual([
      `${VULNERABILITY_REPORT.kind} replicaset-a-app a`,
      `${VULNERABILITY_REPORT.kind} replicaset-a-app2 a`,
      `${VULNERABILITY_REPORT.kind} replicaset-b-app b`,
    ]);
    const withSecrets = fanOutReports(result, [one], { ...data, secrets: [] }, settings);
    expect(withSecrets.map((r) => r.kind)).toEqual([VULNERABILITY_REPORT.kind, EXPOSED_SECRET_REPORT.kind]);
  });

  it('adds an SbomReport per owner and container when given the SBOM', () => {
    const sbom = {
      entry: { scanner: data.scanner, analysedAt: '2026-11-26T09:00:00Z' },
      bom: { bomFormat: 'CycloneDX', specVersion: '1.6', components: [{ name: 'apt' }], dependencies: [] },
    };
    const two = owner('a', 'team-a', [IMAGE, IMAGE]);
    const reports = fanOutReports(result, [two], data, settings, sbom);
    expect(reports.map((r) => `${r.kind} ${r.report.metadata.name}`)).toEqual([
      `${VULNERABILITY_REPORT.kind} replicaset-a-app`,
      `${SBOM_REPORT.kind} replicaset-a-app`,
      `${VULNERABILITY_REPORT.kind} replicaset-a-app1`,
      `${SBOM_REPORT.kind} replicaset-a-app1`,
    ]);
  });

  it("names the result's own image reference, not the one the cached scan of the digest was made for", () => {
    // The scan of a digest is shared by every reference to it (another registry, a mirror, a tag).
    const image = 'mirror.example:5000/team/app:2';
    const mirrored = { ...result, image };
    const reports = fanOutReports(
      mirrored,
      [owner('a', 'team-a', [image])],
      { ...data, secrets: [] },
      settings,
    );
    expect(reports).toHaveLength(2);
    for (const r of reports) {
      const body = (r.report as unknown as { report: { registry: unknown; artifact: unknown } }).report;
      expect(body.registry).toEqual({ server: 'mirror.example:5000' });
      expect(body.artifact).toEqual({ repository: 'team/app', tag: '2', digest: 'sha256:1' });
    }
  });
});

describe('inPool', () => {
  it('runs at most `concurrency` at once and all of them', async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await inPool([1, 2, 3, 4, 5], 2, async (n) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setImmediate(r));
      running--;
      done.push(n);
    });
    expect(most).toBe(2);
    expect(done.sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('after a failure starts nothing more, and rejects only once what started has ended', async () => {
    const started: number[] = [];
    let slowEnded = false;
    const run = inPool([1, 2, 3, 4], 2, async (n) => {
      started.push(n);
      if (n === 1) throw new Error('write failed');
      await new Promise((r) => setTimeout(r, 5));
      slowEnded = true;
    });
    await expect(run).rejects.toThrow('write failed');
    expect(slowEnded).toBe(true);
    expect(started).toEqual([1, 2]);
  });
});
