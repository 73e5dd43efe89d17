import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectBus, STREAM_SCAN } from '@fleetscan/bus';
import {
  createTrivyEngine,
  type RunningScanner,
  loadConfig as scannerConfig,
  startScanner,
} from '@fleetscan/scanner';
import { createLogger } from '@fleetscan/service';
import { loadStackConfig, locateTools, type Nats, readUsers, startNats } from '@fleetscan/stack';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { waitFor } from '../support/wait.ts';

// NATS requiring TLS on client connections, with a CA this run made (openssl): services connect
// with NATS_TLS_CA_FILE and their credentials; without the CA, or without TLS, they cannot.

let dir = '';
let nats: Nats;
let scanner: RunningScanner | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-nats-tls-'));
  nats = await startNats({
    bin: locateTools(loadStackConfig().cacheDir).natsServer,
    dir,
    dieWithParent: true,
    tls: true,
  });
});

afterAll(async () => {
  await scanner?.stop();
  await nats?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const seed = (user: string) => readUsers(nats.dir).find((u) => u.user === user)?.seedFile ?? '';

describe('NATS with TLS on client connections', () => {
  it('serves tls:// URLs with a certificate of the generated CA', () => {
    expect(nats.url).toMatch(/^tls:\/\/127\.0\.0\.1:/);
    expect(nats.tls?.caFile).toMatch(/ca\.pem$/);
  });

  it('accepts a service that trusts the CA and authenticates, and runs the scanner on it', async () => {
    const config = scannerConfig({
      NATS_URL: nats.url,
      NATS_NKEY_FILE: seed('scanner'),
      NATS_TLS_CA_FILE: nats.tls?.caFile ?? '',
      TRIVY_BIN: inject('stack').trivy.bin,
      TRIVY_CACHE_DIR: inject('stack').trivy.cacheDir,
      // Ready means able to audit: without its audit worker the scanner says so and stays not ready.
      AUDITOR_BIN: inject('stack').trivy.auditor,
      METRICS_PORT: '0',
    });
    expect(config.nats.tls).toEqual({ caFile: nats.tls?.caFile });
    const logger = createLogger({ service: 'scanner', level: 'warn' });
    scanner = await startScanner({ config, logger, engine: createTrivyEngine(config.trivy, logger) });
    const port = scanner.metricsPort;
    await waitFor('the scanner ready over TLS', async () =>
      (await fetch(`http://127.0.0.1:${port}/readyz`)).ok ? true : undefined,
    );
    // It created the topology over that connection.
    const nc = await connect(nats.connectOptions());
    expect((await (await jetstreamManager(nc)).streams.info(STREAM_SCAN)).config.name).toBe(STREAM_SCAN);
    await nc.close();
  });

  it('refuses a client that does not trust the CA, and one without TLS', async () => {
    const untrusted = await connectBus({
      servers: nats.url,
      name: 'untrusted',
      auth: { kind: 'nkey', file: seed('admin') },
      tls: {},
    }).then(
      async (nc) => {
        await nc.close();
        return 'connected';
      },
      (e: unknown) => String(e),
    );
    expect(untrusted).toMatch(/certificate|self[- ]signed|verify/i);
    const plain = await connect({
      servers: nats.url.replace('tls://', 'nats://'),
      reconnect: false,
      tls: null,
    }).then(
      async (nc) => {
        await nc.close();
        return 'connected';
      },
      (e: unknown) => String(e),
    );
    expect(plain).not.toBe('connected');
  });
});
