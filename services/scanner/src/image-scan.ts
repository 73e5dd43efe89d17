import {
  type BlobStore,
  canonicalScanSettings,
  type ImageScanData,
  ImageScanDataSchema,
  type ImageScanRequest,
  type RegistryCredentials,
  type SbomEntry,
  SbomEntrySchema,
} from '@fleetscan/bus';
import { reportImageRef } from '@fleetscan/reports';
import type { Clock, Logger } from '@fleetscan/service';
import { createAnalysisLocks, type LockBucket } from './analysis-lock.ts';
import {
  ACCESS_ORDER,
  type Access,
  analysisHash,
  analysisLockKey,
  hasMatchSettings,
  imageCacheKey,
  isStale,
  sbomKey,
  settingsHash,
} from './cache-keys.ts';
import type { ImageFindings, ScanEngine } from './engine.ts';
import type { ScannerMetrics } from './metrics.ts';
import { createPriority, type Priority } from './priority.ts';
import { filterSecrets } from './secrets.ts';
import { untilAborted } from './until-aborted.ts';

export interface ImageScanDeps {
  blobs: BlobStore;
  locks: LockBucket;
  engine: ScanEngine;
  /** HEAD on the digest in the image's repository with these credentials (or none); throws like resolveDigest. */
  checkAccess(image: string, digest: string, credentials: RegistryCredentials | undefined): Promise<void>;
  metrics: ScannerMetrics;
  logger: Logger;
  clock: Clock;
  replica: string;
  /** Aborted on shutdown: kills running trivy processes and stops waiting for locks. */
  signal: AbortSignal;
}

export interface ScanInput {
  req: ImageScanRequest;
  digest: string;
  /** The DB version results are made with (metadata UpdatedAt). */
  db: string;
  /** Opened from the request, for this request only. */
  credentials?: RegistryCredentials;
  /** The registry already answered a HEAD for this digest as this requester (digest resolution). */
  accessChecked: boolean;
  /**
   * This request's bound (and the service's stop): ends its trivy runs and lock waits. Default:
   * the service's stop only.
   */
  signal?: AbortSignal;
  /**
   * Bulk-lane work: its trivy runs get a lower CPU priority, until an urgent request on this replica
   * waits for them (priority.ts).
   */
  background?: boolean;
}

export interface ScanOutcome {
  /** Object store key of the ImageScanData (the shared cache). */
  key: string;
  /** What is stored there: the result the requesting cluster gets. */
  data: ImageScanData;
  scannedAt: string;
  access: Access;
  /** cached: served as stored; matched: re-matched from the stored SBOM; scanned: pulled and analysed. */
  how: 'cached' | 'matched' | 'scanned';
  /**
   * Object store key of the analysis (SbomEntry) behind the result, in the shared cache: the same
   * digest, analysis settings and access, so whoever may have the result may have its SBOM.
   */
  sbomKey: string;
}

/**
 * A stored analysis used by a re-match is written again when it is older than this, so the
 * object store's TTL (7 days) only drops analyses of digests nobody asks about any more.
 */
const SBOM_REFRESH_MS = 24 * 3600_000;

/**
 * When an image is pulled, when it is only re-matched, and when a stored result is served:
 *
 * 1. a result for (digest, DB, settings) that is not older than notBefore is served as is;
 * 2. otherwise, if the digest's analysis (SBOM + secrets) is stored, its SBOM is matched against
 *    the DB of now with the request's match-time settings (`trivy sbom`): no registry, no image;
 * 3. otherwise the image is pulled and analysed once (one replica per digest and analysis
 *    settings, under a KV lock), the analysis stored, and the result made from it.
 *
 * Entries made with credentials are `private` unless an anonymous HEAD shows the registry serves
 * the digest to anyone (cache-keys.ts): a private one is served only after the registry let this
 * requester read the digest.
 */
export function createImageScans(d: ImageScanDeps) {
  const inflight = new Map<string, { done: Promise<ScanOutcome>; priority: Priority }>();
  // The analyses running on this replica, by lock key: an urgent request with other match settings
  // (another flight) waits for the same analysis through its lock.
  const analysing = new Map<string, Priority>();
  const locks = createAnalysisLocks({ kv: d.locks, clock: d.clock, owner: d.replica, signal: d.signal });

  async function firstExisting(
    keyOf: (a: Access) => string,
  ): Promise<{ key: string; access: Access } | undefined> {
    for (const access of ACCESS_ORDER) {
      const key = keyOf(access);
      if (await d.blobs.has(key)) return { key, access };
    }
    return undefined;
  }

  async function timed<T>(type: 'image' | 'sbom', cluster: string, fn: () => Promise<T>): Promise<T> {
    d.metrics.inFlight.inc({ type });
    d.metrics.trivyRuns.inc({ type, cluster });
    const end = d.metrics.duration.startTimer({ type });
    try {
      return await fn();
    } finally {
      end();
      d.metrics.inFlight.dec({ type });
    }
  }

  async function produce(input: ScanInput): Promise<ScanOutcome> {
    const { req, digest, db } = input;
    const signal = input.signal ?? d.signal;
    const priority = createPriority(input.background ?? false, () => {
      d.metrics.promoted.inc({ cluster: req.cluster });
      d.logger.info({ digest, cluster: req.cluster }, 'bulk trivy run promoted for an urgent request');
    });
    const { analysis, match } = canonicalScanSettings(req.scanners, req.settings);
    const aHash = analysisHash(analysis);
    const resultKey = (a: Access) => imageCacheKey(digest, db, settingsHash(analysis, match), a);
    const sbomKeyOf = (a: Access) => sbomKey(digest, aHash, a);
    const wantsVulns = analysis.scanners.includes('vuln');
    const wantsSecrets = analysis.scanners.includes('secret');
    let checked = input.accessChecked;
    const mayRead = async (access: Access) => {
      if (access === 'public' || checked) return;
      await d.checkAccess(req.image, digest, input.credentials);
      checked = true;
    };

    const store = async (
      access: Access,
      findings: ImageFindings,
      entry: Pick<SbomEntry, 'secrets' | 'image' | 'analysedAt'>,
    ): Promise<ScanOutcome> => {
      const now = d.clock.now();
      const names = { analysedAs: entry.image, image: req.image };
      const data: ImageScanData = {
        ...findings,
        artifact: { ...findings.artifact, digest },
        ...(wantsSecrets && { secrets: filterSecrets(entry.secrets ?? [], match, now, names) }),
        scannedAt: now.toISOString(),
        analysedAt: entry.analysedAt,
        dbUpdatedAt: db,
      };
      const key = resultKey(access);
      await d.blobs.put(ImageScanDataSchema, key, data);
      return { key, scannedAt: data.scannedAt, access, how: 'matched', sbomKey: sbomKeyOf(access), data };
    };

    const rematch = async (
      entry: SbomEntry,
      access: Access,
      trigger: 'miss' | 'stale' | 'scan',
    ): Promise<ScanOutcome> => {
      d.metrics.sbomMatches.inc({ trigger, cluster: req.cluster });
      const now = d.clock.now();
      if (now.getTime() - Date.parse(entry.storedAt) > SBOM_REFRESH_MS) {
        await d.blobs
          .put(SbomEntrySchema, sbomKeyOf(access), { ...entry, storedAt: now.toISOString() })
          .catch((err: unknown) =>
            d.logger.warn({ digest, err: (err as Error).message }, 'could not refresh a stored analysis'),
          );
      }
      const findings = wantsVulns
        ? await timed('sbom', req.cluster, () =>
            priority.run(signal, (o) => d.engine.matchSbom(entry.sbom, { image: req.image, match, ...o })),
          )
        : { scanner: entry.scanner, ...referenceFields(req.image), os: entry.os, vulnerabilities: [] };
      return store(access, findings, entry);
    };

    const readableAnonymously = () =>
      d.checkAccess(req.image, digest, undefined).then(
        () => true,
        () => false,
      );

    const findSbom = async (): Promise<{ entry: SbomEntry; access: Access } | undefined> => {
      const found = await firstExisting(sbomKeyOf);
      if (!found) return undefined;
      await mayRead(found.access);
      return { entry: await d.blobs.get(SbomEntrySchema, found.key), access: found.access };
    };

    const analyse = async (trigger: 'miss' | 'stale'): Promise<ScanOutcome> => {
      const lockKey = analysisLockKey(digest, aHash);
      const done = async () => (await firstExisting(sbomKeyOf)) !== undefined;
      if (!priority.background) analysing.get(lockKey)?.promote();
      const got = await locks.acquire(lockKey, done, signal);
      if (got.state === 'done') {
        const other = await findSbom();
        if (other) return rematch(other.entry, other.access, trigger);
        // Gone again between the look and the read (its TTL): analyse it here, unlocked.
      }
      let entry: SbomEntry;
      let access: Access;
      let findings: ImageFindings;
      try {
        // Another replica may have finished between our look and the lock.
        const other = await findSbom();
        if (other) return await rematch(other.entry, other.access, trigger);
        analysing.set(lockKey, priority);
        const a = await timed('image', req.cluster, () =>
          priority.run(signal, (o) =>
            d.engine.analyseImage(req.image, { ...analysis, ...withCredentials(input.credentials), ...o }),
          ),
        ).finally(() => {
          if (analysing.get(lockKey) === priority) analysing.delete(lockKey);
        });
        // trivy pulled it with this requester's credentials (or none): that proves access.
        checked = true;
        // Pulled with credentials: private, unless the registry serves the digest to anyone
        // (pull secrets are common for public images too, e.g. against rate limits).
        access = input.credentials && !(await readableAnonymously()) ? 'private' : 'public';
        const analysedAt = d.clock.now().toISOString();
        entry = {
          v: 1,
          digest,
          image: req.image,
          ...analysis,
          analysedAt,
          storedAt: analysedAt,
          scanner: a.findings.scanner,
          os: a.findings.os,
          sbom: a.sbom,
          ...(a.secrets && { secrets: a.secrets }),
        };
        await d.blobs.put(SbomEntrySchema, sbomKeyOf(access), entry);
        findings = a.findings;
      } finally {
        if (got.state === 'acquired') await got.lock.release();
      }
      if (wantsVulns && hasMatchSettings(match)) {
        // The analysis matched with no filters; this request's filters are a re-match away.
        const out = await rematch(entry, access, 'scan');
        return { ...out, how: 'scanned' };
      }
      return { ...(await store(access, findings, entry)), how: 'scanned' };
    };

    const fresh = async (trigger: 'miss' | 'stale'): Promise<ScanOutcome> => {
      const stored = await findSbom();
      return stored ? rematch(stored.entry, stored.access, trigger) : analyse(trigger);
    };

    // 1. A result for this digest, DB and settings.
    let trigger: 'miss' | 'stale' = 'miss';
    const hit = await firstExisting(resultKey);
    if (hit) {
      await mayRead(hit.access);
      const data = await d.blobs.get(ImageScanDataSchema, hit.key);
      if (!isStale(data.scannedAt, req.notBefore)) {
        d.metrics.cache.inc({ result: 'hit', cluster: req.cluster });
        return {
          key: hit.key,
          data,
          scannedAt: data.scannedAt,
          access: hit.access,
          how: 'cached',
          sbomKey: sbomKeyOf(hit.access),
        };
      }
      trigger = 'stale';
    }
    d.metrics.cache.inc({ result: trigger, cluster: req.cluster });

    // 2./3. One producer per result on this replica; the others wait for it, then check that they
    // may read what it made. If it failed (its credentials, say), a waiter tries with its own.
    const flightKey = resultKey('public');
    const running = inflight.get(flightKey);
    if (!running) {
      const mine = fresh(trigger).finally(() => inflight.delete(flightKey));
      inflight.set(flightKey, { done: mine, priority });
      return mine;
    }
    if (!priority.background) running.priority.promote();
    let out: ScanOutcome;
    try {
      // Another request's work: waited for only as long as this request's own bound allows.
      out = { ...(await untilAborted(running.done, signal)), how: 'cached' };
    } catch (err) {
      if (signal.aborted) throw err;
      return fresh(trigger);
    }
    await mayRead(out.access);
    return out;
  }

  return { produce };
}

function withCredentials(credentials: RegistryCredentials | undefined): {
  credentials?: RegistryCredentials;
} {
  return credentials ? { credentials } : {};
}

/** registry and artifact as trivy-operator derives them from the reference (toImageReportData). */
function referenceFields(image: string): Pick<ImageFindings, 'registry' | 'artifact'> {
  const { registry, artifact } = reportImageRef(image);
  const { digest: _digest, ...named } = artifact;
  return { registry, artifact: named };
}
