import { canonicalScanSettings, scanConfigHash } from '@fleetscan/bus';
import { describe, expect, it } from 'vitest';
import { ignorePoliciesFrom } from './ignore-policies.ts';
import { createOwnerSettings } from './owner-settings.ts';

const base = { severities: ['HIGH' as const], reportFields: ['CVSS' as const] };

describe('createOwnerSettings', () => {
  it('without policies scans every owner alike, with the cluster-wide hash', () => {
    const s = createOwnerSettings({
      scanners: ['vuln', 'secret'],
      settings: base,
      ignorePolicies: ignorePoliciesFrom({}),
    });
    const scan = s.of({ namespace: 'a', name: 'x' });
    expect(scan).toEqual(s.of({ namespace: 'b', name: 'y' }));
    expect(scan.scanConfigHash).toBe(scanConfigHash(canonicalScanSettings(['vuln', 'secret'], base)));
    expect(scan.variant).toBe(scan.scanConfigHash);
    expect(scan).not.toHaveProperty('ownerFilter');
    expect(s.secrets).toBe(true);
  });

  it("sends each namespace its own policy, so the request's settings (and hash) differ by namespace", () => {
    const s = createOwnerSettings({
      scanners: ['vuln'],
      settings: { ...base, ignorePolicy: 'package trivy # global' },
      ignorePolicies: ignorePoliciesFrom({ 'trivy.ignorePolicy.shop': 'package trivy # shop' }),
    });
    const shop = s.of({ namespace: 'shop', name: 'web' });
    const other = s.of({ namespace: 'default', name: 'web' });
    expect(shop.settings).toEqual({ ...base, ignorePolicy: 'package trivy # shop' });
    expect(other.settings).toEqual({ ...base, ignorePolicy: 'package trivy # global' });
    expect(shop.scanConfigHash).not.toBe(other.scanConfigHash);
    expect(shop).not.toHaveProperty('ownerFilter');
  });

  it('splits a namespace with a workload key: filters and variants tell the requests apart, even for equal policies', () => {
    const s = createOwnerSettings({
      scanners: ['vuln'],
      settings: {},
      ignorePolicies: ignorePoliciesFrom({
        'trivy.ignorePolicy.shop': 'same',
        'trivy.ignorePolicy.shop.api-.': 'same',
      }),
    });
    const api = s.of({ namespace: 'shop', name: 'api-7d9f' });
    const web = s.of({ namespace: 'shop', name: 'web-5c8b' });
    expect(api.ownerFilter).toEqual({ names: ['api-*'] });
    expect(web.ownerFilter).toEqual({ exceptNames: ['api-*'] });
    expect(api.scanConfigHash).toBe(web.scanConfigHash);
    expect(api.variant).not.toBe(web.variant);
    expect(s.of({ namespace: 'shop', name: 'api-1' })).toBe(api);
  });
});
