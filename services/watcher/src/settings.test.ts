import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';
import { createOwnerSettings } from './owner-settings.ts';

const env = (extra: Record<string, string> = {}) => ({ CLUSTER_NAME: 'c1', ...extra });
const hashesOf = (extra: Record<string, string> = {}) => {
  const c = loadConfig(env(extra));
  const s = createOwnerSettings({
    scanners: c.scanners,
    settings: c.settings,
    ignorePolicies: c.ignorePolicies,
    configAudit: c.configAudit,
  });
  return {
    pluginConfigHash: s.pluginConfigHash,
    scanConfigHash: s.of({ namespace: 'ns', name: 'w' }).scanConfigHash,
  };
};

describe('config audit settings of the watcher', () => {
  it('names checks the short way unless CONFIG_CHECK_IDS=trivy-operator, and filters by SEVERITIES', () => {
    expect(loadConfig(env()).configAudit).toEqual({ checkIds: 'short' });
    expect(
      loadConfig(env({ CONFIG_CHECK_IDS: 'trivy-operator', SEVERITIES: 'HIGH,CRITICAL' })).configAudit,
    ).toEqual({
      checkIds: 'trivy-operator',
      severities: ['HIGH', 'CRITICAL'],
    });
    expect(() => loadConfig(env({ CONFIG_CHECK_IDS: 'AVD' }))).toThrow(/CONFIG_CHECK_IDS/);
  });

  it('refreshes ConfigAuditReports when the ID format or the severities change, and only then', () => {
    const base = hashesOf();
    expect(hashesOf({ CONFIG_CHECK_IDS: 'trivy-operator' }).pluginConfigHash).not.toBe(base.pluginConfigHash);
    expect(hashesOf({ CONFIG_CHECK_IDS: 'trivy-operator' }).scanConfigHash).toBe(base.scanConfigHash);
    expect(hashesOf({ SEVERITIES: 'HIGH' }).pluginConfigHash).not.toBe(base.pluginConfigHash);
    expect(hashesOf({ CONFIG_CHECK_IDS: 'short' }).pluginConfigHash).toBe(base.pluginConfigHash);
    expect(hashesOf({ IGNORE_UNFIXED: 'true' }).pluginConfigHash).toBe(base.pluginConfigHash);
  });
});
