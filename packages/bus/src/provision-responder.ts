import type { Logger } from '@fleetscan/service';
import { encode } from './codec.ts';
import { PROVISION_QUEUE, type ProvisionReply, ProvisionReplySchema } from './provision-protocol.ts';
import { bounded } from './retry-policy.ts';
import { CLUSTER_NAME_PATTERN, clusterOf, subjects } from './subjects.ts';

/** What the responder needs of a NATS connection (a fake at the wire in tests). */
export interface ProvisionMsg {
  readonly subject: string;
  respond(data: Uint8Array): boolean;
}
export interface ProvisionSubscription extends AsyncIterable<ProvisionMsg> {
  unsubscribe(): void;
}
export interface ProvisionConnection {
  subscribe(subject: string, opts: { queue: string }): ProvisionSubscription;
}

export type ProvisionOutcome = 'ok' | 'error' | 'invalid';

/**
 * A scanner replica's side of provisioning: answers `fleetscan.provision.*` in the scanners' queue
 * group (one replica answers each request). The cluster comes from the subject alone — the server
 * lets a watcher or writer publish only its own cluster's — and is validated like every cluster
 * name; the body is ignored. Requests for one cluster that arrive while its resources are being
 * ensured share that run (a fleet's watchers and writers restarting together ask at once). Each
 * is answered `{ok: true}` or `{ok: false, error}` with a bounded reason.
 */
export function serveProvisioning(d: {
  nc: ProvisionConnection;
  /** ensureClusterResources with the topology's options. */
  ensure(cluster: string): Promise<void>;
  logger: Pick<Logger, 'info' | 'warn'>;
  onAnswer?(outcome: ProvisionOutcome): void;
}): { stop(): Promise<void> } {
  const sub = d.nc.subscribe(subjects.allProvision, { queue: PROVISION_QUEUE });
  const running = new Map<string, Promise<ProvisionReply>>();
  const answering = new Set<Promise<void>>();
  const ensure = (cluster: string): Promise<ProvisionReply> => {
    let p = running.get(cluster);
    if (!p) {
      p = d.ensure(cluster).then(
        (): ProvisionReply => {
          d.logger.info({ cluster }, 'provisioned the cluster’s resources');
          return { ok: true };
        },
        (err: unknown): ProvisionReply => {
          const error = bounded(String((err as Error)?.message ?? err), 200);
          d.logger.warn({ cluster, err: error }, 'cannot provision the cluster’s resources');
          return { ok: false, error };
        },
      );
      const done = p.finally(() => running.delete(cluster));
      running.set(cluster, done);
      p = done;
    }
    return p;
  };
  const reply = (m: ProvisionMsg, r: ProvisionReply, outcome: ProvisionOutcome) => {
    m.respond(encode(ProvisionReplySchema, r));
    d.onAnswer?.(outcome);
  };
  const loop = (async () => {
    for await (const m of sub) {
      const cluster = clusterOf(m.subject);
      if (!CLUSTER_NAME_PATTERN.test(cluster)) {
        reply(
          m,
          { ok: false, error: `invalid cluster name ${JSON.stringify(bounded(cluster, 63))}` },
          'invalid',
        );
        continue;
      }
      const a = ensure(cluster).then((r) => reply(m, r, r.ok ? 'ok' : 'error'));
      answering.add(a);
      void a.finally(() => answering.delete(a));
    }
  })();
  return {
    async stop() {
      sub.unsubscribe();
      await loop;
      await Promise.allSettled([...answering]);
    },
  };
}
