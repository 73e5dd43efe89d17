import type { ScanFailureRecord } from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import { createTransport, isKubeError, type KubeConnection, KubeErrorCode } from '@fleetscan/kube';
import { SCAN_FAILED_REASON, scanFailedEventName } from '@fleetscan/reports';
/** The Event's source and reporting controller, as `kubectl describe` shows it. */
export const EVENT_COMPONENT = 'fleetscan-writer';

/** An image reference in an Event message: enough to recognise it, never a 500-character line. */
const MAX_EVENT_IMAGE = 200;
const MAX_EVENT_MESSAGE = 1024;

/** A core/v1 Event, as the writer creates it. */
export interface KubeEvent {
  apiVersion: 'v1';
  kind: 'Event';
  metadata: { name: string; namespace: string };
  involvedObject: { apiVersion: string; kind: string; name: string; namespace: string; uid: string };
  reason: string;
  message: string;
  type: 'Warning';
  count: number;
  firstTimestamp: string;
  lastTimestamp: string;
  source: { component: string };
  reportingComponent: string;
  reportingInstance: string;
}

/**
 * A Warning Event on the report owner saying its image could not be scanned: the error code, the
 * image, how many rounds failed in a row and when the next one is. Pure: a function of the record
 * and the owner; `count` is the record's rounds, so a repeat needs no read of the Event.
 */
export function buildScanFailedEvent(owner: Owner, record: ScanFailureRecord, cluster: string): KubeEvent {
  const image =
    record.image.length <= MAX_EVENT_IMAGE ? record.image : `${record.image.slice(0, MAX_EVENT_IMAGE)}…`;
  const rounds = record.failures === 1 ? '1 attempt' : `${record.failures} attempts`;
  const message =
    `Scan of image ${image} failed: ${record.code}: ${record.message}`.slice(0, MAX_EVENT_MESSAGE - 120) +
    ` (${rounds}, ${record.permanent ? 'permanent' : 'transient'}; next retry at ${record.retryAt}). ` +
    'No VulnerabilityReport is written for a failed scan.';
  return {
    apiVersion: 'v1',
    kind: 'Event',
    metadata: { name: scanFailedEventName(owner, record.image), namespace: owner.namespace },
    involvedObject: {
      apiVersion: owner.apiVersion,
      kind: owner.kind,
      name: owner.name,
      namespace: owner.namespace,
      uid: owner.uid,
    },
    reason: SCAN_FAILED_REASON,
    message,
    type: 'Warning',
    count: record.failures,
    firstTimestamp: record.firstFailedAt,
    lastTimestamp: record.lastFailedAt,
    source: { component: EVENT_COMPONENT },
    reportingComponent: EVENT_COMPONENT,
    reportingInstance: `${EVENT_COMPONENT}-${cluster}`,
  };
}

export interface EventApi {
  /** Creates the Event, or updates the one of that name (count, lastTimestamp, message). */
  upsert(event: KubeEvent): Promise<void>;
}

const EVENT_TIMEOUT_MS = 30_000;

/** The only module that writes Events (create, then a merge patch when it exists). */
export function createEventApi(kc: KubeConnection): EventApi {
  const kube = createTransport(kc);
  return {
    async upsert(event) {
      const base = `/api/v1/namespaces/${encodeURIComponent(event.metadata.namespace)}/events`;
      try {
        await kube.request(
          { method: 'POST', path: base, body: event, contentType: 'application/json' },
          AbortSignal.timeout(EVENT_TIMEOUT_MS),
        );
        return;
      } catch (err) {
        if (!isKubeError(err, KubeErrorCode.AlreadyExists)) throw err;
      }
      const { count, lastTimestamp, message } = event;
      await kube.request(
        {
          method: 'PATCH',
          path: `${base}/${encodeURIComponent(event.metadata.name)}`,
          body: { count, lastTimestamp, message },
          contentType: 'application/merge-patch+json',
        },
        AbortSignal.timeout(EVENT_TIMEOUT_MS),
      );
    },
  };
}
