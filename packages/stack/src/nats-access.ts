import { readFileSync } from 'node:fs';
import { type Identity, inboxPrefix, userName } from '@fleetscan/bus';
import { type ConnectionOptions, nkeyAuthenticator } from '@nats-io/transport-node';
import { provisionIdentities } from './nats.ts';
import { readUsers } from './nats-auth.ts';
import { clusterIdentities, type StackInfo } from './stack.ts';

type NatsOf = Pick<StackInfo, 'natsUrl' | 'nats'>;

function seedFile(info: NatsOf, user: string): string {
  // Read from disk, not info's snapshot: users are added while the stack runs (provisionCluster).
  const u = readUsers(info.nats.dir).find((x) => x.user === user);
  if (!u) throw new Error(`the stack's NATS has no user ${user} (provisionCluster adds a cluster's)`);
  return u.seedFile;
}

/** The NATS variables of a service running as `identity` against the stack. */
export function natsEnv(info: NatsOf, identity: Identity): Record<string, string> {
  return {
    NATS_URL: info.natsUrl,
    NATS_NKEY_FILE: seedFile(info, userName(identity)),
    ...(info.nats.tls && { NATS_TLS_CA_FILE: info.nats.tls.caFile }),
  };
}

/** Options for nats.js `connect` as a user of the stack (`admin` by default: everything). */
export function natsConnectOptions(info: NatsOf, identity: Identity = { role: 'admin' }): ConnectionOptions {
  const seed = new TextEncoder().encode(readFileSync(seedFile(info, userName(identity)), 'utf8').trim());
  return {
    servers: info.nats.urls,
    authenticator: nkeyAuthenticator(seed),
    inboxPrefix: inboxPrefix(identity),
    ...(info.nats.tls && { tls: { caFile: info.nats.tls.caFile } }),
  };
}

/**
 * Gives a cluster its watcher and writer users on the running stack's NATS (a no-op when it has
 * them): tests name their own clusters. Not safe to call concurrently for one stack.
 */
export async function provisionCluster(info: NatsOf, cluster: string): Promise<void> {
  await provisionIdentities(
    {
      dir: info.nats.dir,
      nodes: info.nats.nodes,
      ...(info.nats.tls && { caFile: info.nats.tls.caFile }),
    },
    clusterIdentities([cluster]),
  );
}
