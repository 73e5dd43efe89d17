/**
 * Subject scheme. Every subject ends in the cluster name so many clusters can
 * share one NATS and one scanner fleet while each writer only sees its own:
 *
 *   fleetscan.scan.image.<cluster>            image scan requests, urgent lane   (stream FLEETSCAN_SCAN)
 *   fleetscan.scan.bulk.image.<cluster>       image scan requests, bulk lane     (stream FLEETSCAN_SCAN)
 *   fleetscan.scan.config.<cluster>           config audit requests, urgent      (stream FLEETSCAN_SCAN)
 *   fleetscan.scan.bulk.config.<cluster>      config audit requests, bulk        (stream FLEETSCAN_SCAN)
 *   fleetscan.result.image.<cluster>          image scan results, urgent         (stream FLEETSCAN_RESULTS)
 *   fleetscan.result.bulk.image.<cluster>     image scan results, bulk           (stream FLEETSCAN_RESULTS)
 *   fleetscan.result.config.<cluster>         config audit results, urgent      (stream FLEETSCAN_RESULTS)
 *   fleetscan.result.bulk.config.<cluster>    config audit results, bulk        (stream FLEETSCAN_RESULTS)
 *   fleetscan.dead.<consumer>                 terminated messages               (stream FLEETSCAN_DEAD, dead-letters.ts)
 *   fleetscan.inventory.<uid>.<cluster>       an owner's containers and images, or its deletion
 *   fleetscan.inventory._synced.<cluster>     the watcher's inventory is complete for an epoch
 *   fleetscan.findings.<ref key>.<cluster>    an image's findings in a namespace (findingsKey)
 *   fleetscan.checks.<uid>.<cluster>          an owner's failed config audit checks
 *                                             (the last four: stream FLEETSCAN_FLEET, the fleet view's input)
 *   fleetscan.provision.<cluster>             a cluster's watcher or writer asks the scanners for its
 *                                             resources (core request/reply, no stream: provision-*.ts)
 *
 * Requests travel in two lanes, each with its own consumers from the watcher through the scanners
 * (whose results stay in the request's lane) to the writer, so work a person waits for is never
 * queued behind bulk work: `urgent` for what changed in the cluster while the watcher ran (a new
 * or changed workload, a deleted report), `bulk` for what it finds on its own (the backlog of its
 * first list, the resync, refreshes for settings, TTL, a new DB, re-pushed tags). The bulk lane's
 * extra token keeps the urgent filters (`fleetscan.scan.image.*`, `fleetscan.result.*.<cluster>`)
 * from matching it, so they are the same as before lanes existed.
 */
export const PREFIX = 'fleetscan';

export const LANES = ['urgent', 'bulk'] as const;
export type Lane = (typeof LANES)[number];

const inLane = (l: Lane) => (l === 'bulk' ? 'bulk.' : '');

/** Cluster names become subject tokens and consumer names: keep them to DNS-label characters. */
export const CLUSTER_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const subjects = {
  scanImage: (cluster: string, l: Lane = 'urgent') => `${PREFIX}.scan.${inLane(l)}image.${token(cluster)}`,
  scanConfig: (cluster: string, l: Lane = 'urgent') => `${PREFIX}.scan.${inLane(l)}config.${token(cluster)}`,
  resultImage: (cluster: string, l: Lane = 'urgent') =>
    `${PREFIX}.result.${inLane(l)}image.${token(cluster)}`,
  resultConfig: (cluster: string, l: Lane = 'urgent') =>
    `${PREFIX}.result.${inLane(l)}config.${token(cluster)}`,
  /** Every image scan request of a lane, of every cluster (the scanner fleet's filters). */
  allScanImage: (l: Lane = 'urgent') => `${PREFIX}.scan.${inLane(l)}image.*`,
  allScanConfig: (l: Lane = 'urgent') => `${PREFIX}.scan.${inLane(l)}config.*`,
  /** Every scan request of a lane from one cluster (what its watcher asks how many are still queued). */
  scansFrom: (cluster: string, l: Lane = 'urgent') => `${PREFIX}.scan.${inLane(l)}*.${token(cluster)}`,
  /** Every result of a lane for one cluster (that cluster's writer's filters). */
  resultsFor: (cluster: string, l: Lane = 'urgent') => `${PREFIX}.result.${inLane(l)}*.${token(cluster)}`,
  /** Messages a consumer terminated (consumer names are subject tokens: scan-image, writer-<cluster>_bulk). */
  dead: (consumer: string) => `${PREFIX}.dead.${consumer.replace(/[^A-Za-z0-9_-]/g, '_')}`,
  allDead: `${PREFIX}.dead.>`,
  /** One owner of a cluster (its Kubernetes uid is the token: a UUID, never `_synced`). */
  inventoryOwner: (uid: string, cluster: string) => `${PREFIX}.inventory.${uidToken(uid)}.${token(cluster)}`,
  inventorySynced: (cluster: string) => `${PREFIX}.inventory.${INVENTORY_SYNCED_TOKEN}.${token(cluster)}`,
  /** Everything a cluster's watcher may publish to the fleet stream. */
  inventoryOf: (cluster: string) => `${PREFIX}.inventory.*.${token(cluster)}`,
  allInventory: `${PREFIX}.inventory.>`,
  /** An image's findings in one namespace of a cluster; `key` is findingsKey(namespace, image). */
  findings: (key: string, cluster: string) => `${PREFIX}.findings.${hexToken(key)}.${token(cluster)}`,
  allFindings: `${PREFIX}.findings.>`,
  /** An owner's failed config audit checks (OwnerChecks). */
  checks: (uid: string, cluster: string) => `${PREFIX}.checks.${uidToken(uid)}.${token(cluster)}`,
  allChecks: `${PREFIX}.checks.>`,
  /** A cluster's request for its resources (its writer's consumers, its buckets), answered by a scanner. */
  provision: (cluster: string) => `${PREFIX}.provision.${token(cluster)}`,
  allProvision: `${PREFIX}.provision.*`,
} as const;

/** The token of fleetscan.inventory.<token>.<cluster> that marks a complete inventory. */
export const INVENTORY_SYNCED_TOKEN = '_synced';

/** Kubernetes uids are UUIDs; anything else that could not be one subject token is refused. */
export const UID_TOKEN_PATTERN = /^[A-Za-z0-9-]{1,128}$/;

function uidToken(uid: string): string {
  if (!UID_TOKEN_PATTERN.test(uid)) throw new Error(`invalid uid ${JSON.stringify(uid.slice(0, 64))}`);
  return uid;
}

function hexToken(key: string): string {
  if (!/^[0-9a-f]{16,64}$/.test(key))
    throw new Error(`invalid findings key ${JSON.stringify(key.slice(0, 64))}`);
  return key;
}

/** The cluster a subject belongs to: its last token. */
export function clusterOf(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

/** The lane of a request or result subject. */
export function laneOf(subject: string): Lane {
  return subject.split('.')[2] === 'bulk' ? 'bulk' : 'urgent';
}

function token(cluster: string): string {
  if (!CLUSTER_NAME_PATTERN.test(cluster)) {
    throw new Error(`invalid cluster name ${JSON.stringify(cluster)}: use lowercase letters, digits and '-'`);
  }
  return cluster;
}
