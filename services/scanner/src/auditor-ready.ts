import { bounded } from '@fleetscan/bus';
import type { Readiness } from '@fleetscan/service';
import type { ScanEngine } from './engine.ts';

/**
 * Not ready until the audit worker has compiled its checks: before that a config audit, a new
 * workload's among them, waits for its start (seconds on a busy node). One that could not start
 * is asked again at the next check, which starts it again (the auditor's backoff applies). One that
 * died later makes the scanner not ready at the next check, which starts it again too: otherwise
 * it stayed down, and the scanner ready, until the next audit came.
 */
export function watchAuditorReady(
  engine: Pick<ScanEngine, 'auditorReady' | 'auditorRunning'>,
  readiness: Pick<Readiness, 'set'>,
): { recheck(): void } {
  const name = 'config-audit-worker';
  let ok = false;
  let asking = false;
  const ask = () => {
    if (ok && !asking && !engine.auditorRunning()) {
      ok = false;
      readiness.set(name, false, 'the worker exited; starting it again');
    }
    if (ok || asking) return;
    asking = true;
    engine
      .auditorReady()
      .then(
        (trivy) => {
          ok = true;
          readiness.set(name, true, `checks of trivy ${trivy} compiled`);
        },
        (err: unknown) => readiness.set(name, false, `did not start: ${bounded(String(err))}`),
      )
      .finally(() => {
        asking = false;
      });
  };
  readiness.set(name, false, 'compiling checks');
  ask();
  return { recheck: ask };
}
