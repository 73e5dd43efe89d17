import { findingsKey } from '@fleetscan/bus';
import { describe, expect, it } from 'vitest';
import { decodeFleetMessage } from './decode.ts';
import { findingsMsg, ownerMsg } from './testing.ts';

const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));

describe('fleet stream messages', () => {
  it('are accepted on their own subject only', () => {
    expect(decodeFleetMessage('fleetscan.inventory.u1.a', enc(ownerMsg('a', 'u1'))).kind).toBe('inventory');
    expect(decodeFleetMessage('fleetscan.inventory.u1.b', enc(ownerMsg('a', 'u1')))).toMatchObject({
      kind: 'invalid',
      reason: 'names another cluster than its subject',
    });
    expect(decodeFleetMessage('fleetscan.inventory.u2.a', enc(ownerMsg('a', 'u1'))).kind).toBe('invalid');
    const f = findingsMsg('a', 'reg/app:1', []);
    const key = findingsKey('shop', 'reg/app:1');
    expect(decodeFleetMessage(`fleetscan.findings.${key}.a`, enc(f)).kind).toBe('findings');
    expect(decodeFleetMessage(`fleetscan.findings.${findingsKey('shop', 'reg/x:1')}.a`, enc(f)).kind).toBe(
      'invalid',
    );
    expect(decodeFleetMessage(`fleetscan.findings.${key}.a`, new TextEncoder().encode('{')).kind).toBe(
      'invalid',
    );
    const checks = {
      v: 1,
      cluster: 'a',
      uid: 'u1',
      kind: 'ReplicaSet',
      namespace: 'shop',
      name: 'web',
      failed: [{ id: 'KSV014', severity: 'LOW', title: 'a title' }],
      omitted: 0,
      scannedAt: '2026-01-02T00:00:00Z',
      publishedAt: '2026-01-02T00:00:00Z',
    };
    expect(decodeFleetMessage('fleetscan.checks.u1.a', enc(checks)).kind).toBe('checks');
    expect(decodeFleetMessage('fleetscan.checks.u2.a', enc(checks))).toMatchObject({
      kind: 'invalid',
      reason: 'names another owner than its subject',
    });
    expect(decodeFleetMessage('fleetscan.checks.u1.b', enc(checks)).kind).toBe('invalid');
  });
});
