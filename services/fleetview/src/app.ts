import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { connectBus, inboxPrefix, STREAM_FLEET, waitForStreams } from '@fleetscan/bus';
import {
  backoff,
  type Clock,
  createReadiness,
  type Logger,
  startOpsServer,
  systemClock,
  systemTimers,
  type Timers,
} from '@fleetscan/service';
import { jetstream } from '@nats-io/jetstream';
import { Registry } from 'prom-client';
import { createApi } from './api.ts';
import type { FleetviewConfig } from './config.ts';
import { runIngest } from './ingest.ts';
import { createFleetviewMetrics } from './metrics.ts';
import { createModel } from './model.ts';

/** A saved model older than this may have missed deletions whose tombstones expired (INVENTORY_TOMBSTONE_TTL). */
const STALE_MODEL_MS = 20 * 3600_000;

export interface FleetviewDeps {
  config: FleetviewConfig;
  logger: Logger;
  clock?: Clock;
  timers?: Timers;
  registry?: Registry;
}

export interface RunningFleetview {
  readonly apiPort: number;
  readonly metricsPort: number;
  readonly registry: Registry;
  /** Resolves once the model has read the fleet stream up to where it ended at start. */
  readonly caughtUp: Promise<void>;
  stop(): Promise<void>;
}

/**
 * Wires the fleet view: its NATS identity (read-only), the model (model.ts) fed from the fleet
 * stream (ingest.ts, supervised: a failure starts it again where the model stopped), the API and
 * page (api.ts), and /metrics, /healthz, /readyz.
 */
export async function startFleetview(deps: FleetviewDeps): Promise<RunningFleetview> {
  const { config, logger } = deps;
  const clock = deps.clock ?? systemClock;
  const timers = deps.timers ?? systemTimers;
  const registry = deps.registry ?? new Registry();
  const metrics = createFleetviewMetrics(registry);
  const readiness = createReadiness();
  readiness.set('nats', false, 'connecting');
  readiness.set('topology', false, `waiting for stream ${STREAM_FLEET}`);
  readiness.set('model', false, 'reading the fleet stream');

  const db = new DatabaseSync(config.dbPath);
  const model = createModel(db);
  if (
    config.dbPath !== ':memory:' &&
    model.lastSeq() > 0 &&
    clock.now().getTime() - model.savedAt() > STALE_MODEL_MS
  ) {
    logger.info({ dbPath: config.dbPath }, 'the saved model is older than deletions are kept: rebuilding it');
    model.reset();
  }
  let caughtUp = false;
  let resolveCaughtUp = () => {};
  const caughtUpPromise = new Promise<void>((r) => {
    resolveCaughtUp = r;
  });

  const ops = await startOpsServer({ ...config.metrics, registry, health: readiness });
  const api = createServer(
    createApi({
      db,
      token: config.token,
      caughtUp: () => caughtUp,
      onRequest: (route, status, seconds) => {
        metrics.requests.inc({ route, status: String(status) });
        metrics.latency.observe({ route }, seconds);
      },
    }),
  );
  // Slow or hostile clients do not hold sockets: headers and the whole request are bounded.
  api.headersTimeout = 10_000;
  api.requestTimeout = 30_000;
  api.maxHeadersCount = 100;
  await new Promise<void>((resolve, reject) => {
    api.once('error', reject);
    api.listen(config.api.port, config.api.host, () => resolve());
  });

  const nc = await connectBus({
    servers: config.nats.servers,
    name: 'fleetscan-fleetview',
    ...(config.nats.auth && { auth: config.nats.auth }),
    ...(config.nats.tls && { tls: config.nats.tls }),
    inboxPrefix: inboxPrefix({ role: 'fleetview' }),
    onStatus: (ok, detail) => readiness.set('nats', ok, detail),
  });
  const js = jetstream(nc);
  const abort = new AbortController();

  const ingesting = (async () => {
    const ready = await waitForStreams(js, [STREAM_FLEET], {
      signal: abort.signal,
      onWaiting: (reason) => readiness.set('topology', false, reason),
    });
    if (!ready) return;
    readiness.set('topology', true);
    const jsm = await js.jetstreamManager(false);
    for (let attempt = 0; !abort.signal.aborted; attempt++) {
      try {
        await runIngest({
          jsm,
          model,
          logger,
          timers,
          clock,
          signal: abort.signal,
          onMessage: (kind) => metrics.messages.inc({ kind }),
          onCaughtUp: () => {
            attempt = 0;
            if (caughtUp) return;
            caughtUp = true;
            readiness.set('model', true);
            resolveCaughtUp();
          },
        });
        if (abort.signal.aborted) return;
        throw new Error('reading the fleet stream ended');
      } catch (err) {
        if (abort.signal.aborted) return;
        metrics.ingestFailures.inc();
        logger.warn({ err: (err as Error).message }, 'reading the fleet stream failed; starting again');
        await new Promise<void>((r) => timers.after(backoff(attempt, 500, 30_000), r));
      }
    }
  })();

  const stopRows = timers.every(5000, () => {
    for (const [table, n] of Object.entries(model.counts())) metrics.rows.set({ table }, n);
  });
  const apiPort = (api.address() as AddressInfo).port;
  logger.info({ apiPort, metricsPort: ops.port, dbPath: config.dbPath }, 'fleet view started');
  return {
    apiPort,
    metricsPort: ops.port,
    registry,
    caughtUp: caughtUpPromise,
    async stop() {
      stopRows();
      abort.abort();
      await ingesting.catch(() => {});
      await nc.drain().catch(() => {});
      api.closeAllConnections();
      await new Promise<void>((r) => api.close(() => r()));
      await ops.close();
      db.close();
      logger.info('fleet view stopped');
    },
  };
}
