/**
 * Subject scheme. Every subject ends in the cluster name so many clusters can
 * share one NATS and one scanner fleet while each writer only sees its own:
 *
 *   fleetscan.scan.image.<cluster>     image scan requests    (stream FLEETSCAN_SCAN)
 *   fleetscan.scan.config.<cluster>    config audit requests  (stream FLEETSCAN_SCAN)
 *   fleetscan.result.image.<cluster>   image scan results     (stream FLEETSCAN_RESULTS)
 *   fleetscan.result.config.<cluster>  config audit results   (stream FLEETSCAN_RESULTS)
 *   fleetscan.dead.<consumer>          terminated messages    (stream FLEETSCAN_DEAD, dead-letters.ts)
 */
export const PREFIX = 'fleetscan';

/** Cluster names become subject tokens and consumer names: keep them to DNS-label characters. */
export const CLUSTER_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

export const subjects = {
  scanImage: (cluster: string) => `${PREFIX}.scan.image.${token(cluster)}`,
  scanConfig: (cluster: string) => `${PREFIX}.scan.config.${token(cluster)}`,
  resultImage: (cluster: string) => `${PREFIX}.result.image.${token(cluster)}`,
  resultConfig: (cluster: string) => `${PREFIX}.result.config.${token(cluster)}`,
  /** Every image scan request, of every cluster (the scanner fleet's filter). */
  allScanImage: `${PREFIX}.scan.image.*`,
  allScanConfig: `${PREFIX}.scan.config.*`,
  /** Every result for one cluster (that cluster's writer's filter). */
  resultsFor: (cluster: string) => `${PREFIX}.result.*.${token(cluster)}`,
  /** Messages a consumer terminated (consumer names are subject tokens: scan-image, writer-<cluster>). */
  dead: (consumer: string) => `${PREFIX}.dead.${consumer.replace(/[^A-Za-z0-9_-]/g, '_')}`,
  allDead: `${PREFIX}.dead.>`,
} as const;

/** The cluster a subject belongs to: its last token. */
export function clusterOf(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

function token(cluster: string): string {
  if (!CLUSTER_NAME_PATTERN.test(cluster)) {
    throw new Error(`invalid cluster name ${JSON.stringify(cluster)}: use lowercase letters, digits and '-'`);
  }
  return cluster;
}
