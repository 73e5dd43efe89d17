import { createTransport, isKubeError, type KubeConnection, KubeErrorCode } from '@fleetscan/kube';
import { GROUP, VERSION } from '@fleetscan/reports';

export const FIELD_MANAGER = 'fleetscan-writer';

export interface ReportObject {
  kind: string;
  metadata: {
    name: string;
    namespace?: string | undefined;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: unknown[];
  };
}

export interface ReportApi {
  /** Server-side apply under fleetscan's field manager (force: fleetscan owns these fields). */
  apply(plural: string, obj: ReportObject): Promise<void>;
  /**
   * Makes a report another tool wrote fleetscan's as a whole, before the apply: its labels,
   * annotations, owners and content become `obj`'s (what apply alone would leave: fields only the
   * other tool set), and its field managers are cleared, so the apply that follows owns every field
   * and the other tool none.
   */
  replace(plural: string, obj: ReportObject): Promise<void>;
  /** Deletes a report (namespace '' for a cluster-scoped one); one already gone is not an error. */
  delete(plural: string, namespace: string, name: string): Promise<void>;
}

/** A write that takes longer is given up (TRANSIENT) and retried by the caller. */
const WRITE_TIMEOUT_MS = 60_000;

/**
 * fieldValidation=Ignore: with the server's default (Warn) kube-apiserver parses every patch body a
 * second time, strictly, to warn of duplicate keys, which JSON.stringify never writes, and of fields
 * the CRD prunes, which the transport never reads. That second parse was 6.7 % of kube-apiserver's CPU
 * in a 1 000-owner cold start (apply bodies go through its YAML parser). Validation against the
 * CRD's schema still runs: a wrong type is still refused.
 */
const VALIDATION = { fieldValidation: 'Ignore' } as const;

/**
 * The only module that writes reports to the API server, over the connection's keep-alive agent
 * (thousands of reports, a handful of TLS connections). Errors come out classified (KubeError).
 */
export function createReportApi(kc: KubeConnection): ReportApi {
  const kube = createTransport(kc);
  // Cluster-scoped report kinds (ClusterConfigAuditReport, …) are written with namespace ''.
  const path = (namespace: string, plural: string, name: string) =>
    namespace
      ? `/apis/${GROUP}/${VERSION}/namespaces/${enc(namespace)}/${plural}/${enc(name)}`
      : `/apis/${GROUP}/${VERSION}/${plural}/${enc(name)}`;
  return {
    async apply(plural, obj) {
      await kube.request(
        {
          method: 'PATCH',
          path: path(obj.metadata.namespace ?? '', plural, obj.metadata.name),
          query: { fieldManager: FIELD_MANAGER, force: true, ...VALIDATION },
          // JSON is YAML: the apply patch goes as it is built.
          body: obj,
          contentType: 'application/apply-patch+yaml',
        },
        AbortSignal.timeout(WRITE_TIMEOUT_MS),
      );
    },
    async replace(plural, obj) {
      const {
        apiVersion: _v,
        kind: _k,
        metadata,
        ...content
      } = obj as ReportObject & Record<string, unknown>;
      // JSON Patch `add` sets a member whether or not it exists; one request, so never half done.
      const set = (at: string, value: unknown) => ({ op: 'add', path: at, value });
      const ops = [
        set('/metadata/labels', metadata.labels ?? {}),
        set('/metadata/annotations', metadata.annotations ?? {}),
        set('/metadata/ownerReferences', metadata.ownerReferences ?? []),
        ...Object.entries(content).map(([field, value]) => set(`/${field}`, value)),
        // One empty entry clears every field manager (the API's documented way to reset them).
        set('/metadata/managedFields', [{}]),
      ];
      await kube.request(
        {
          method: 'PATCH',
          path: path(obj.metadata.namespace ?? '', plural, obj.metadata.name),
          query: { fieldManager: FIELD_MANAGER, ...VALIDATION },
          body: ops,
          contentType: 'application/json-patch+json',
        },
        AbortSignal.timeout(WRITE_TIMEOUT_MS),
      );
    },
    async delete(plural, namespace, name) {
      try {
        await kube.request(
          { method: 'DELETE', path: path(namespace, plural, name) },
          AbortSignal.timeout(WRITE_TIMEOUT_MS),
        );
      } catch (err) {
        if (!isKubeError(err, KubeErrorCode.NotFound)) throw err;
      }
    },
  };
}

const enc = encodeURIComponent;
