import { bounded, type ConfigAuditSettings, type ScanSettings } from '@fleetscan/bus';
import { type Owner, ownerKey, ownerManifest } from '@fleetscan/inventory';
import type { ImageScanner } from '@fleetscan/reports';
import type { Logger } from '@fleetscan/service';
import type { CredentialSource } from './credentials.ts';
import type { WatcherMetrics } from './metrics.ts';
import type { ImageNeed } from './plan.ts';
import type { RequestPublisher } from './requests.ts';
import type { Asks } from './scheduler.ts';
import type { SettingsHashes } from './settings.ts';

/**
 * The scheduler's asks as request messages: an owner's config audit with its manifest, an image
 * scan with this watcher's settings and the owner's sealed pull credentials; each outcome counted.
 */
export function createAsks(deps: {
  publisher: Pick<RequestPublisher, 'image' | 'config'>;
  credentials: CredentialSource;
  cluster: string;
  scanners: ImageScanner[];
  settings: ScanSettings;
  /** How config audits are reported (check ID format, severities): sent with each audit. */
  configAudit: ConfigAuditSettings;
  hashes: SettingsHashes;
  metrics: Pick<WatcherMetrics, 'requests' | 'refreshes'>;
  /** Told of requests that can never be sent (a field past the message limits). */
  logger?: Pick<Logger, 'warn'>;
}): Asks {
  const { publisher, metrics, hashes } = deps;
  const countRefresh = (type: 'image' | 'config', purpose: string) => {
    if (purpose) metrics.refreshes.inc({ type, reason: purpose.split(':')[0] ?? purpose });
  };
  return {
    async config(owner: Owner, purpose: string) {
      const outcome = await publisher.config({
        owner: {
          apiVersion: owner.apiVersion,
          kind: owner.kind,
          namespace: owner.namespace,
          name: owner.name,
          uid: owner.uid,
        },
        specHash: owner.specHash,
        pluginConfigHash: hashes.pluginConfigHash,
        manifest: ownerManifest(owner),
        settings: deps.configAudit,
      });
      metrics.requests.inc({ type: 'config', outcome });
      if (outcome === 'invalid') {
        deps.logger?.warn(
          { owner: bounded(ownerKey(owner)) },
          'config audit request past the message limits; not sent',
        );
      }
      countRefresh('config', purpose);
    },
    async image(owner: Owner, need: ImageNeed, purpose: string) {
      const sealed = await deps.credentials.sealedFor(owner, need.image, deps.cluster);
      const outcome = await publisher.image(
        {
          namespace: owner.namespace,
          image: need.image,
          scanners: deps.scanners,
          settings: deps.settings,
          scanConfigHash: hashes.scanConfigHash,
          ...(need.digest ? { digest: need.digest } : {}),
          ...(need.notBefore ? { notBefore: need.notBefore } : {}),
          ...(sealed ? { credentials: sealed } : {}),
        },
        purpose,
      );
      metrics.requests.inc({ type: 'image', outcome });
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
