import { describe, expect, it } from 'vitest';
import { auditTimeMs, describeServerTimes, probeServerTimes, summarizeServerTimes } from './probe-audit.ts';

const NS = 'bench-probes';
const T0 = '2026-12-04T10:00:00';

/** An audit event as kube-apiserver logs it; times are ms after T0 (sub-ms kept, as the log does). */
function event(o: {
  verb: string;
  resource: string;
  name: string;
  at: number;
  done: number;
  code?: number;
  namespace?: string;
  stage?: string;
}): string {
  const t = (ms: number) => `${T0}.${String(Math.round(ms * 1000)).padStart(6, '0')}Z`;
  return JSON.stringify({
    kind: 'Event',
    apiVersion: 'audit.k8s.io/v1',
    level: 'Metadata',
    stage: o.stage ?? 'ResponseComplete',
    verb: o.verb,
    objectRef: { resource: o.resource, namespace: o.namespace ?? NS, name: o.name },
    responseStatus: { metadata: {}, code: o.code ?? (o.verb === 'create' ? 201 : 200) },
    requestReceivedTimestamp: t(o.at),
    stageTimestamp: t(o.done),
  });
}

/** A report's write (apply) in the probes' namespace unless `extra` says otherwise. */
const reportWrite = (
  resource: string,
  name: string,
  at: number,
  done: number,
  extra: { code?: number; namespace?: string; verb?: string } = {},
) => event({ verb: 'patch', resource, name, at, done, ...extra });

const RES = ['configauditreports', 'vulnerabilityreports'];

describe('a probe taken apart on the API server’s clock', () => {
  it('reads microsecond times', () => {
    expect(auditTimeMs('2026-12-04T10:00:00.123456Z') - Date.parse('2026-12-04T10:00:00Z')).toBeCloseTo(
      123.456,
      3,
    );
    expect(auditTimeMs('2026-12-04T10:00:01Z') - Date.parse('2026-12-04T10:00:00Z')).toBe(1000);
    expect(auditTimeMs('not a time')).toBeNaN();
  });

  it('splits control plane, fleetscan and the last write; the first successful write of each report counts', () => {
    const lines = [
      event({ verb: 'create', resource: 'deployments', name: 'cold-000', at: 0, done: 3 }),
      event({ verb: 'create', resource: 'replicasets', name: 'cold-000-5d8f7c9b6', at: 20, done: 25 }),
      event({ verb: 'create', resource: 'pods', name: 'cold-000-5d8f7c9b6-abcde', at: 30, done: 33 }),
      reportWrite('configauditreports', 'replicaset-cold-000-5d8f7c9b6', 90, 110),
      // a refused first attempt, then the write that stored it; a later update does not count
      reportWrite('vulnerabilityreports', 'replicaset-cold-000-5d8f7c9b6-app', 100, 101, {
        verb: 'create',
        code: 409,
      }),
      reportWrite('vulnerabilityreports', 'replicaset-cold-000-5d8f7c9b6-app', 140, 190),
      reportWrite('vulnerabilityreports', 'replicaset-cold-000-5d8f7c9b6-app', 900, 950),
      '{"cut short',
    ];
    const [p] = probeServerTimes(lines, { namespace: NS, probes: ['cold-000'], reportResources: RES });
    expect(p?.ownerMs).toBeCloseTo(25, 6);
    expect(p?.fleetscanMs).toBeCloseTo(115, 6);
    expect(p?.writeMs).toBeCloseTo(50, 6);
    expect(p?.totalMs).toBeCloseTo(190, 6);
    expect(p?.last).toBe('vulnerabilityreports/replicaset-cold-000-5d8f7c9b6-app');
  });

  it('leaves out a probe without all its reports, and does not take cold-000-1’s ReplicaSet for cold-000’s', () => {
    const lines = [
      event({ verb: 'create', resource: 'deployments', name: 'cold-000', at: 0, done: 3 }),
      event({ verb: 'create', resource: 'replicasets', name: 'cold-000-1-abc', at: 20, done: 25 }),
      event({ verb: 'create', resource: 'deployments', name: 'cold-001', at: 0, done: 3 }),
      event({ verb: 'create', resource: 'replicasets', name: 'cold-001-abc', at: 20, done: 25 }),
      reportWrite('configauditreports', 'replicaset-cold-001-abc', 90, 110),
      reportWrite('configauditreports', 'replicaset-cold-000-x', 9, 10, { namespace: 'elsewhere' }),
    ];
    expect(
      probeServerTimes(lines, { namespace: NS, probes: ['cold-000', 'cold-001'], reportResources: RES }),
    ).toEqual([]);
    const one = probeServerTimes(lines, {
      namespace: NS,
      probes: ['cold-000', 'cold-001'],
      reportResources: ['configauditreports'],
    });
    expect(one.map((p) => p.probe)).toEqual(['cold-001']);
  });

  it('summarizes p50 and max of each part', () => {
    const s = summarizeServerTimes([
      { probe: 'a', ownerMs: 10, fleetscanMs: 100, writeMs: 20, totalMs: 130, last: 'x' },
      { probe: 'b', ownerMs: 30, fleetscanMs: 300, writeMs: 60, totalMs: 390, last: 'y' },
    ]);
    expect(s.probes).toBe(2);
    expect(s.fleetscanMs.max).toBe(300);
    expect(s.writeMs.max).toBe(60);
    expect(s.totalMs.p50).toBe(130);
    expect(describeServerTimes(s)).toContain('that write in kube-apiserver');
  });
});
