import { createWriteStream } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  encode,
  ensureStreams,
  type ImageScanRequest,
  ImageScanRequestSchema,
  STREAM_SCAN,
  subjects,
} from '@fleetscan/bus';
import {
  createTrivyEngine,
  type RunningScanner,
  loadConfig as scannerConfig,
  startScanner,
} from '@fleetscan/scanner';
import { createLogger } from '@fleetscan/service';
import { natsConnectOptions, testImages } from '@fleetscan/stack';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pushUniqueImage } from '../support/images.ts';
import { alive } from '../support/processes.ts';
import { metricValue, scannerEnv } from '../support/services.ts';
import { waitFor } from '../support/wait.ts';

// The scanner in this process against the real stack (NATS, registry); only trivy is replaced, at
// the process boundary, by a script that hangs the way the probe saw it: stuck, with a child that
// ignores SIGTERM and keeps trivy's stdout open. The request's bound (REQUEST_TIMEOUT_SECONDS)
// must end the scan, kill the child with it, and free the slot.

const stack = () => inject('stack');
const run = Math.random().toString(36).slice(2, 7);
const cluster = `hung-${run}`;
let dir = '';
let nc: NatsConnection;
let scanner: RunningScanner | undefined;
let log: ReturnType<typeof createWriteStream> | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-hung-'));
  const fake = join(dir, 'trivy');
  await writeFile(
    fake,
    [
      '#!/bin/sh',
      // Only image scans hang: this scanner also takes whatever config audits other files left on the
      // shared consumer, and their runs (and `trivy version`) must not be mistaken for the hung scan.
      `case "$1" in image) ;; version) echo '{"Version":"0.0.0-hung"}'; exit 0 ;; *) exit 1 ;; esac`,
      `(trap '' TERM; exec sleep 600) &`,
      `echo $! >> '${join(dir, 'children')}'`,
      'echo "{" # the start of a report, never finished',
      'sleep 600',
      '',
    ].join('\n'),
  );
  await chmod(fake, 0o755);
  nc = await connect(natsConnectOptions(stack()));
  await ensureStreams(await jetstreamManager(nc));
  const config = scannerConfig(
    scannerEnv(stack(), {
      TRIVY_BIN: fake,
      // A trivy process per run: the fake is what runs (a trivy worker runs trivy's commands in itself).
      TRIVY_RUNS: 'process',
      // trivy's own timeout far away: the request's bound is what ends it.
      SCAN_TIMEOUT_SECONDS: '120',
      REQUEST_TIMEOUT_SECONDS: '3',
      REPLICA_NAME: `${cluster}-scanner`,
    }),
  );
  log = createWriteStream(join(dir, 'scanner.log'), { flags: 'a' });
  const logger = createLogger({ service: 'scanner', level: 'debug', destination: log });
  scanner = await startScanner({ config, logger, engine: createTrivyEngine(config.trivy, logger) });
});

afterAll(async () => {
  await scanner?.stop();
  // The request keeps failing here: later files' scanners must not inherit it.
  await (await jetstreamManager(nc)).streams.purge(STREAM_SCAN, { filter: subjects.scanImage(cluster) });
  await nc?.close();
  const l = log;
  if (l) await new Promise<void>((resolve) => l.end(resolve));
  await rm(dir, { recursive: true, force: true });
});

const metric = (name: string, labels: Record<string, string> = {}) =>
  metricValue(scanner?.registry ?? { getSingleMetricAsString: async () => '' }, name, labels);

describe('a hung trivy', () => {
  it('is killed with its children at the request bound, and the slot is free again', async () => {
    const image = await pushUniqueImage(stack(), testImages.alpine, 'library/hung', 'one', run);
    const req: ImageScanRequest = {
      v: 1,
      cluster,
      namespace: 'hung',
      image,
      scanners: ['vuln'],
      settings: {},
      scanConfigHash: 'test',
      requestedAt: new Date().toISOString(),
    };
    await jetstream(nc).publish(subjects.scanImage(cluster), encode(ImageScanRequestSchema, req));

    const children = await waitFor('trivy to be started', async () => {
      const pids = (await readFile(join(dir, 'children'), 'utf8').catch(() => ''))
        .split('\n')
        .filter(Boolean)
        .map(Number);
      return pids.length > 0 ? pids : undefined;
    });
    // Before: trivy killed at its timeout, the run waited for the child's pipe for 10 minutes.
    await waitFor('the scan to end as a timeout', async () =>
      (await metric('fleetscan_scanner_failures_total', { type: 'image', reason: 'TIMEOUT' })) >= 1
        ? true
        : undefined,
    );
    // Each run recorded is ended by its request's bound (a run may have started after the first
    // timeout: the request is retried), its child with it.
    for (const pid of children) {
      await waitFor(`trivy's child ${pid} to be gone`, async () => (alive(pid) ? undefined : true));
    }
    await waitFor('no trivy running', async () =>
      (await metric('fleetscan_scanner_scans_in_flight', { type: 'image' })) === 0 ? true : undefined,
    );
    // /readyz names each check; no slot is stuck.
    const readyz = await fetch(`http://127.0.0.1:${scanner?.metricsPort}/readyz`);
    const body = await readyz.text();
    expect(readyz.status, body).toBe(200);
    expect(body).toMatch(/^ok +scan-image: \d+ of 1 slots busy$/m);
    expect(body).toMatch(/^ok +scan-config: /m);
    // The audit worker is real here: the replica is ready once it has compiled its checks.
    expect(body).toMatch(/^ok +config-audit-worker: checks of trivy \d+\.\d+\.\d+ compiled$/m);
    expect(await metric('fleetscan_consumer_stuck_handlers')).toBe(0);
    // The request is retried (a timeout is transient), not held: its next delivery comes after a backoff.
    await sleep(500);
    const text = await readFile(join(dir, 'scanner.log'), 'utf8');
    expect(text).toContain('handler ran past its bound; aborting it');
    expect(text).toContain('image scan failed; will retry');
  });
});
