import {
  type BlobStore,
  bounded,
  type Lane,
  MAX_INLINE_MANIFEST_BYTES,
  type Manifest,
  ManifestSchema,
} from '@fleetscan/bus';
import { type ManifestSource, type Owner, ownerKey } from '@fleetscan/inventory';
import type { AuditReportKind, ImageScanner } from '@fleetscan/reports';
import type { Logger } from '@fleetscan/service';
import type { CredentialSource } from './credentials.ts';
import type { FailureHolds } from './failure-holds.ts';
import type { WatcherMetrics } from './metrics.ts';
import type { OwnerSettings } from './owner-settings.ts';
import type { ImageNeed } from './plan.ts';
import type { ManifestPart, RequestPublisher } from './requests.ts';
import type { Asks } from './scheduler.ts';

/**
 * The scheduler's asks as request messages: an owner's config audit with its manifest and the
 * reports it is for, an image scan with the owner's settings (those of its namespace and workload)
 * and its sealed pull
 * credentials; each outcome counted.
 */
export function createAsks(deps: {
  publisher: Pick<RequestPublisher, 'image' | 'config'>;
  credentials: CredentialSource;
  /** The manifest to audit: kept by the inventory, or read again for large kinds. */
  manifests: ManifestSource;
  /** Where a manifest too large for a message goes (MAX_INLINE_MANIFEST_BYTES). */
  blobs: Pick<BlobStore, 'put'>;
  /** The audit reports an owner should have (filters.ts). */
  auditReports(owner: Owner): { kind: AuditReportKind }[];
  cluster: string;
  scanners: ImageScanner[];
  settings: Pick<OwnerSettings, 'of' | 'pluginConfigHash' | 'configAudit'>;
  metrics: Pick<WatcherMetrics, 'requests' | 'refreshes'>;
  /** Told of requests that can never be sent (a field past the message limits). */
  logger?: Pick<Logger, 'warn'>;
  /** Holds requests for images whose scans fail until their retry time (failure-holds.ts). */
  holds?: Pick<FailureHolds, 'decide'>;
}): Asks {
  const { publisher, metrics, settings } = deps;
  const countRefresh = (type: 'image' | 'config', purpose: string) => {
    if (purpose) metrics.refreshes.inc({ type, reason: purpose.split(':')[0] ?? purpose });
  };
  const manifestPart = async (owner: Owner): Promise<ManifestPart | undefined> => {
    const manifest: Manifest | undefined = await deps.manifests(owner);
    if (!manifest) return undefined;
    if (Buffer.byteLength(JSON.stringify(manifest)) <= MAX_INLINE_MANIFEST_BYTES) return { manifest };
    // Keyed by what it is, so a repeated ask overwrites the same object.
    const key = `manifest/${deps.cluster}/${owner.uid}/${owner.specHash}`;
    await deps.blobs.put(ManifestSchema, key, manifest);
    return { manifestBlob: key };
  };
  return {
    async config(owner: Owner, purpose: string, lane: Lane) {
      const reports = deps.auditReports(owner).map((r) => r.kind);
      if (reports.length === 0) return;
      const outcome = await publisher.config(
        {
          owner: {
            apiVersion: owner.apiVersion,
            kind: owner.kind,
            namespace: owner.namespace,
            name: owner.name,
            uid: owner.uid,
          },
          specHash: owner.specHash,
          pluginConfigHash: settings.pluginConfigHash,
          reports,
          settings: settings.configAudit,
        },
        () => manifestPart(owner),
        lane,
      );
      metrics.requests.inc({ type: 'config', outcome, lane });
      if (outcome === 'invalid') {
        deps.logger?.warn(
          { owner: bounded(ownerKey(owner)) },
          'config audit request past the message limits; not sent',
        );
      }
      countRefresh('config', purpose);
    },
    async image(owner: Owner, need: ImageNeed, purpose: string, asked: Lane) {
      // The image's last scan failed: not before its retry time, then once per round, in the bulk lane.
      const hold = deps.holds?.decide(owner.namespace, need.image) ?? { kind: 'ask' };
      if (hold.kind === 'hold') {
        metrics.requests.inc({ type: 'image', outcome: 'held', lane: asked });
        return;
      }
      const lane: Lane = hold.kind === 'retry' ? 'bulk' : asked;
      const sealed = await deps.credentials.sealedFor(owner, need.image, deps.cluster);
      const scan = settings.of(owner);
      const outcome = await publisher.image(
        {
          namespace: owner.namespace,
          ...(scan.ownerFilter && { ownerFilter: scan.ownerFilter }),
          image: need.image,
          scanners: deps.scanners,
          settings: scan.settings,
          scanConfigHash: scan.scanConfigHash,
          ...(need.digest ? { digest: need.digest } : {}),
          ...(need.notBefore ? { notBefore: need.notBefore } : {}),
          ...(sealed ? { credentials: sealed } : {}),
        },
        hold.kind === 'retry' ? `${purpose}|failed:${hold.round}` : purpose,
        lane,
      );
      metrics.requests.inc({ type: 'image', outcome, lane });
      if (outcome === 'invalid') {
        deps.logger?.warn(
          { owner: bounded(ownerKey(owner)), image: bounded(need.image, 200) },
          'image scan request past the message limits (image reference, digest); not sent',
        );
      }
      countRefresh('image', purpose);
    },
  };
}
