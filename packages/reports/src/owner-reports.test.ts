import { describe, expect, it } from 'vitest';
import { ownerReportNames, ownerReports } from './owner-reports.ts';

describe('ownerReports', () => {
  it('is one config audit report, and a vulnerability and an exposed-secret report per container', () => {
    expect(
      ownerReports({ kind: 'ReplicaSet', name: 'web-5d9c' }, [{ name: 'app' }, { name: 'init' }]),
    ).toEqual([
      { kind: 'ConfigAuditReport', name: 'replicaset-web-5d9c' },
      { kind: 'VulnerabilityReport', name: 'replicaset-web-5d9c-app' },
      { kind: 'ExposedSecretReport', name: 'replicaset-web-5d9c-app' },
      { kind: 'VulnerabilityReport', name: 'replicaset-web-5d9c-init' },
      { kind: 'ExposedSecretReport', name: 'replicaset-web-5d9c-init' },
    ]);
  });

  it('keeps each container with its report name, so callers read its other fields', () => {
    const c = { name: 'app', image: 'nginx:1.27' };
    expect(ownerReportNames({ kind: 'Pod', name: 'solo' }, [c]).containers).toEqual([
      { container: c, name: 'pod-solo-app' },
    ]);
  });
});
