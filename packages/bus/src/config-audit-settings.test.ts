import { computeSpecHash } from '@fleetscan/reports';
import { describe, expect, it } from 'vitest';
import {
  type ConfigAuditSettings,
  ConfigAuditSettingsSchema,
  canonicalConfigAuditSettings,
  pluginConfigHash,
} from './config-audit-settings.ts';

/** One value other than the default per setting; a new setting does not compile here without one. */
const SAMPLES: Required<ConfigAuditSettings> = {
  checkIds: 'trivy-operator',
  severities: ['HIGH'],
};

const hashOf = (s: ConfigAuditSettings) => pluginConfigHash(canonicalConfigAuditSettings(s));

describe('config audit settings', () => {
  it.each(Object.keys(ConfigAuditSettingsSchema.shape))('hashes %s', (key) => {
    const value = SAMPLES[key as keyof ConfigAuditSettings];
    expect(value, `SAMPLES lacks ${key}`).toBeDefined();
    expect(hashOf({ [key]: value })).not.toBe(hashOf({}));
  });

  it('spells the defaults out and does not depend on order, duplicates or empty lists', () => {
    expect(canonicalConfigAuditSettings({})).toEqual({ checkIds: 'short' });
    expect(hashOf({ checkIds: 'short', severities: [] })).toBe(hashOf({}));
    expect(hashOf({ severities: ['LOW', 'HIGH', 'LOW'] })).toBe(hashOf({ severities: ['HIGH', 'LOW'] }));
  });

  it('differs from the hash of reports written with IDs from Rego package names, so they are refreshed', () => {
    const before = computeSpecHash({ audit: 'trivy-config', checks: 'embedded' });
    expect(hashOf({})).not.toBe(before);
  });

  it('is stable: a change refreshes every ConfigAuditReport of every cluster', () => {
    expect(hashOf({})).toBe(hashOf({ checkIds: 'short' }));
    expect(hashOf({})).toMatchInlineSnapshot(`"6c5d764b9b"`);
  });
});
