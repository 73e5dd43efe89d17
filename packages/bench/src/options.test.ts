import { describe, expect, it } from 'vitest';
import { parseBenchArgs } from './options.ts';

describe('parseBenchArgs', () => {
  it('has defaults short enough to repeat', () => {
    expect(parseBenchArgs([])).toMatchObject({
      owners: 400,
      images: 20,
      containers: 2,
      scanners: 1,
      baseline: false,
      secondPass: true,
      throughput: true,
    });
  });

  it('reads the flags of the issue and service environment pairs', () => {
    const o = parseBenchArgs([
      '--owners',
      '1000',
      '--images',
      '20',
      '--scanners',
      '2',
      '--baseline',
      '--no-second-pass',
      '--env',
      'CONFIG_BATCH_SIZE=500',
      '--env',
      'NODE_OPTIONS=--max-semi-space-size=2 --cpu-prof',
    ]);
    expect(o).toMatchObject({ owners: 1000, images: 20, scanners: 2, baseline: true, secondPass: false });
    expect(o !== 'help' && o.serviceEnv).toEqual({
      CONFIG_BATCH_SIZE: '500',
      NODE_OPTIONS: '--max-semi-space-size=2 --cpu-prof',
    });
  });

  it('runs config audits only with every image excluded at the watcher, and a cold start on request', () => {
    const o = parseBenchArgs(['--config-only', '--existing', '--env', 'AUDITOR_CONCURRENCY=2']);
    expect(o).toMatchObject({ configOnly: true, existing: true });
    expect(o !== 'help' && o.serviceEnv).toEqual({
      EXCLUDE_IMAGES: '*',
      SUPPORTED_CONFIG_AUDIT_KINDS: 'Workload',
      AUDITOR_CONCURRENCY: '2',
    });
    expect(parseBenchArgs([])).toMatchObject({ configOnly: false, existing: false, serviceEnv: {} });
  });

  it('names the option that is wrong', () => {
    expect(() => parseBenchArgs(['--owners', '0'])).toThrow(/--owners/);
    expect(() => parseBenchArgs(['--images', '2', '--containers', '3'])).toThrow(/--containers/);
    expect(() => parseBenchArgs(['--env', 'NOVALUE'])).toThrow(/KEY=VALUE/);
  });
});
