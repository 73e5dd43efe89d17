import { permissionsFor, userName } from '@fleetscan/bus';

/** Stands for the cluster's name in the chart's permissions file; the chart replaces it. */
export const CLUSTER_TOKEN = 'clustername0';

/**
 * The chart's deploy/chart/fleetscan/files/nats-permissions.json: the permissions of
 * packages/bus/src/identities.ts by role, with CLUSTER_NAME where a cluster's name goes. The
 * deploy-files test keeps the file equal to this (regenerate: node test/support/chart-permissions.ts > deploy/chart/fleetscan/files/nats-permissions.json;
 * with `compose`, deploy/compose/nats.conf).
 */
export function chartPermissions(): Record<string, unknown> {
  const text = JSON.stringify({
    scanner: permissionsFor({ role: 'scanner' }),
    watcher: permissionsFor({ role: 'watcher', cluster: CLUSTER_TOKEN }),
    writer: permissionsFor({ role: 'writer', cluster: CLUSTER_TOKEN }),
    fleetview: permissionsFor({ role: 'fleetview' }),
  });
  return JSON.parse(text.replaceAll(CLUSTER_TOKEN, 'CLUSTER_NAME'));
}

/** The cluster docker-compose.yml runs (its CLUSTER_NAME); its NATS users are made for it. */
export const COMPOSE_CLUSTER = 'compose';

/**
 * deploy/compose/nats.conf: the users of docker-compose.yml's NATS (scanner, watcher-compose,
 * writer-compose, fleetview) with the permissions of identities.ts; passwords from the environment.
 */
export function composeNatsConf(): string {
  const users = (['scanner', 'watcher', 'writer', 'fleetview'] as const).map((role) => {
    const id = role === 'watcher' || role === 'writer' ? { role, cluster: COMPOSE_CLUSTER } : { role };
    const env = `NATS_${role.toUpperCase()}_PASSWORD`;
    return `      { user: ${JSON.stringify(userName(id))}, password: $${env}, permissions: ${JSON.stringify(permissionsFor(id))} }`;
  });
  return [
    '# NATS for docker-compose.yml: JetStream, and a user per service with its own subject permissions',
    '# (packages/bus/src/identities.ts; test/integration/deploy-files.test.ts keeps this file equal to',
    '# them). Passwords come from the environment (docker-compose.yml), never from this file.',
    'server_name: fleetscan',
    'port: 4222',
    'http_port: 8222',
    'jetstream { store_dir: /data }',
    'accounts {',
    '  FLEETSCAN {',
    '    jetstream: enabled',
    '    users: [',
    ...users,
    '    ]',
    '  }',
    '}',
    '',
  ].join('\n');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(
    process.argv[2] === 'compose' ? composeNatsConf() : `${JSON.stringify(chartPermissions(), null, 2)}\n`,
  );
}
