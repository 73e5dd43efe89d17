import { MAX_FLEET_CHECKS, OwnerChecksSchema } from '@fleetscan/bus';
import type { Check } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import { buildChecks } from './fleet-checks.ts';

const owner = {
  apiVersion: 'apps/v1',
  kind: 'ReplicaSet',
  namespace: 'shop',
  name: 'web-5d8f',
  uid: '0b6f3a52-1c1e-4d6e-9a43-6f0d2b1e7c11',
};
const check = (checkID: string, severity: Check['severity'], success = false): Check => ({
  checkID,
  severity,
  success,
  title: `${checkID} title`,
});
const now = new Date('2026-02-01T00:00:00Z');

describe('the fleet checks of an owner', () => {
  it('lists its failed checks once each, most severe first, as the fleet stream’s schema wants', () => {
    const m = buildChecks(
      { cluster: 'east', owner },
      {
        checks: [
          check('KSV014', 'LOW'),
          check('KSV001', 'MEDIUM', true),
          check('KSV017', 'HIGH'),
          check('KSV014', 'LOW'),
        ],
        scannedAt: '2026-01-31T23:00:00Z',
      },
      now,
    );
    expect(m).toMatchObject({
      cluster: 'east',
      uid: owner.uid,
      kind: 'ReplicaSet',
      namespace: 'shop',
      name: 'web-5d8f',
      failed: [
        { id: 'KSV017', severity: 'HIGH', title: 'KSV017 title' },
        { id: 'KSV014', severity: 'LOW', title: 'KSV014 title' },
      ],
      omitted: 0,
      scannedAt: '2026-01-31T23:00:00.000Z',
    });
    expect(OwnerChecksSchema.safeParse(m).success).toBe(true);
  });

  it('keeps the most severe within its bound and counts the rest', () => {
    const checks = Array.from({ length: MAX_FLEET_CHECKS + 5 }, (_, i) =>
      check(`X${String(i).padStart(4, '0')}`, i < 3 ? 'CRITICAL' : 'LOW'),
    );
    const m = buildChecks({ cluster: 'east', owner }, { checks, scannedAt: now.toISOString() }, now);
    expect(m?.failed).toHaveLength(MAX_FLEET_CHECKS);
    expect(m?.omitted).toBe(5);
    expect(m?.failed.slice(0, 3).map((c) => c.severity)).toEqual(['CRITICAL', 'CRITICAL', 'CRITICAL']);
  });

  it('publishes nothing for an owner whose uid cannot be a subject token', () => {
    const data = { checks: [check('KSV014', 'LOW')], scannedAt: now.toISOString() };
    expect(buildChecks({ cluster: 'east', owner: { ...owner, uid: 'a.b' } }, data, now)).toBeUndefined();
  });
});
