import type { Lane, ScanSettings } from '@fleetscan/bus';
import { type Owner, ownerManifest } from '@fleetscan/inventory';
import type { ImageScanner } from '@fleetscan/reports';
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
  hashes: SettingsHashes;
  metrics: Pick<WatcherMetrics, 'requests' | 'refreshes'>;
}): Asks {
  const { publisher, metrics, hashes } = deps;
  const countRefresh = (type: 'image' | 'config', purpose: string) => {
    if (purpose) metrics.refreshes.inc({ type, reason: purpose.split(':')[0] ?? purpose });
  };
  return {
    async config(owner: Owner, purpose: string, lane: Lane) {
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
          pluginConfigHash: hashes.pluginConfigHash,
          manifest: ownerManifest(owner),
        },
        lane,
      );
      metrics.requests.inc({ type: 'config', outcome, lane });
      countRefresh('config', purpose);
    },
    async image(owner: Owner, need: ImageNeed, purpose: string, lane: Lane) {
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
        lane,
      );
      metrics.requests.inc({ type: 'image', outcome, lane });
      countRefresh('image', purpose);
    },
  };
}
