import { type Owner, ownerManifest } from '@fleetscan/inventory';
import type { ImageScanner } from '@fleetscan/reports';
import type { CredentialSource } from './credentials.ts';
import type { WatcherMetrics } from './metrics.ts';
import type { OwnerSettings } from './owner-settings.ts';
import type { ImageNeed } from './plan.ts';
import type { RequestPublisher } from './requests.ts';
import type { Asks } from './scheduler.ts';

/**
 * The scheduler's asks as request messages: an owner's config audit with its manifest, an image
 * scan with the owner's settings (those of its namespace and workload) and its sealed pull
 * credentials; each outcome counted.
 */
export function createAsks(deps: {
  publisher: Pick<RequestPublisher, 'image' | 'config'>;
  credentials: CredentialSource;
  cluster: string;
  scanners: ImageScanner[];
  settings: Pick<OwnerSettings, 'of' | 'pluginConfigHash'>;
  metrics: Pick<WatcherMetrics, 'requests' | 'refreshes'>;
}): Asks {
  const { publisher, metrics, settings } = deps;
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
        pluginConfigHash: settings.pluginConfigHash,
        manifest: ownerManifest(owner),
      });
      metrics.requests.inc({ type: 'config', outcome });
      countRefresh('config', purpose);
    },
    async image(owner: Owner, need: ImageNeed, purpose: string) {
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
        purpose,
      );
      metrics.requests.inc({ type: 'image', outcome });
      countRefresh('image', purpose);
    },
  };
}
