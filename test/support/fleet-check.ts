import type { KubeTransport } from '@fleetscan/kube';
import { type Convergence, checkFleet, describeCheck, readFleet, waitForFleet } from '@fleetscan/soak';

/**
 * After a fault: waits (bounded) until every report owner in `namespaces` has exactly one current
 * report per kind and container and no report is an orphan, twice in a row; logs how long it took
 * (recorded, never asserted: the machine is shared). The caller asserts `converged` and `problems`.
 * `secrets` (default on, as SCANNERS is): an ExposedSecretReport per container is expected too.
 */
export async function fleetConverges(
  transport: KubeTransport,
  namespaces: readonly string[],
  label: string,
  opts: { timeoutMs?: number; secrets?: boolean } = {},
): Promise<Convergence> {
  const started = Date.now();
  const c = await waitForFleet({
    check: async () => {
      const state = await readFleet(transport, namespaces, AbortSignal.timeout(30_000));
      return checkFleet(state.owners, state.reports, { secrets: opts.secrets ?? true });
    },
    timeoutMs: opts.timeoutMs ?? 240_000,
    intervalMs: 1000,
  });
  const took = ((Date.now() - started) / 1000).toFixed(1);
  console.log(
    `[fleet] ${label}: ${c.converged ? `converged in ${(c.ms / 1000).toFixed(1)} s` : `NOT converged after ${took} s`} (${describeCheck(c.check)})`,
  );
  return c;
}
