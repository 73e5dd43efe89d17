import {
  type ConfigAuditRequest,
  ConfigAuditRequestSchema,
  encode,
  type ImageScanRequest,
  ImageScanRequestSchema,
  subjects,
} from '@fleetscan/bus';
import { natsConnectOptions, type StackInfo } from '@fleetscan/stack';
import { jetstream } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { scrape, sumOf } from './prom.ts';

export interface ThroughputResult {
  scanners: number;
  images: number;
  configs: number;
  /** Publish of the first request → the last result, as the scanners' counters show it. */
  wallMs: number;
  imagesPerSec: number;
  configsPerSec: number;
  trivyImageRuns: number;
  trivyConfigRuns: number;
}

/**
 * Scanner throughput on its own: `images` (fresh digests, so every one is a trivy run) and
 * `manifests` config audits published straight to the scan subjects of a cluster no writer
 * consumes, then the time until the scanners have handled them all.
 */
export async function measureThroughput(opts: {
  /** The stack's NATS: requests are published as its admin user (no watcher of `cluster` runs). */
  stack: Pick<StackInfo, 'natsUrl' | 'nats'>;
  cluster: string;
  scannerMetricsUrls: readonly string[];
  images: readonly string[];
  manifests: readonly Record<string, unknown>[];
  timeoutMs: number;
  /** Scan settings of the image requests (a new skip dir makes every digest a new analysis). */
  settings?: ImageScanRequest['settings'];
}): Promise<ThroughputResult> {
  const nc = await connect(natsConnectOptions(opts.stack));
  try {
    const js = jetstream(nc);
    const handled = async () => {
      const all = await Promise.all(opts.scannerMetricsUrls.map((u) => scrape(u)));
      const s = all.flat();
      const done = (type: string) =>
        ['scanned', 'cached', 'error', 'invalid'].reduce(
          (a, outcome) => a + sumOf(s, 'fleetscan_scanner_requests_total', { type, outcome }),
          0,
        );
      return {
        images: done('image'),
        configs: done('config'),
        imageRuns: sumOf(s, 'fleetscan_scanner_trivy_runs_total', { type: 'image' }),
        configRuns: sumOf(s, 'fleetscan_scanner_trivy_runs_total', { type: 'config' }),
      };
    };
    const before = await handled();
    const t0 = performance.now();
    const now = new Date().toISOString();
    const work: Promise<unknown>[] = [];
    for (const image of opts.images) {
      const req: ImageScanRequest = {
        v: 1,
        cluster: opts.cluster,
        image,
        namespace: 'throughput',
        scanners: ['vuln'],
        settings: opts.settings ?? {},
        scanConfigHash: 'throughput',
        requestedAt: now,
      };
      work.push(js.publish(subjects.scanImage(opts.cluster), encode(ImageScanRequestSchema, req)));
    }
    for (const [i, manifest] of opts.manifests.entries()) {
      const meta = manifest.metadata as { name: string; namespace: string };
      const req: ConfigAuditRequest = {
        v: 1,
        cluster: opts.cluster,
        owner: {
          apiVersion: String(manifest.apiVersion),
          kind: String(manifest.kind),
          namespace: meta.namespace,
          name: meta.name,
          uid: `${opts.cluster}-${i}`,
        },
        specHash: 'throughput',
        pluginConfigHash: 'throughput',
        settings: {},
        manifest: manifest as ConfigAuditRequest['manifest'],
        requestedAt: now,
      };
      work.push(js.publish(subjects.scanConfig(opts.cluster), encode(ConfigAuditRequestSchema, req)));
    }
    await Promise.all(work);
    const deadline = Date.now() + opts.timeoutMs;
    for (;;) {
      const h = await handled();
      if (
        h.images - before.images >= opts.images.length &&
        h.configs - before.configs >= opts.manifests.length
      ) {
        const wallMs = performance.now() - t0;
        return {
          scanners: opts.scannerMetricsUrls.length,
          images: opts.images.length,
          configs: opts.manifests.length,
          wallMs,
          imagesPerSec: opts.images.length / (wallMs / 1000),
          configsPerSec: opts.manifests.length / (wallMs / 1000),
          trivyImageRuns: h.imageRuns - before.imageRuns,
          trivyConfigRuns: h.configRuns - before.configRuns,
        };
      }
      if (Date.now() > deadline) throw new Error('scanner throughput phase timed out');
      await new Promise((r) => setTimeout(r, 250));
    }
  } finally {
    await nc.close();
  }
}
