import { classifyKubeError } from '@fleetscan/kube';
import { GROUP, VERSION } from '@fleetscan/reports';
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';

export const FIELD_MANAGER = 'fleetscan-writer';

export interface ReportObject {
  kind: string;
  metadata: { name: string; namespace?: string | undefined };
}

export interface ReportApi {
  /** Server-side apply under fleetscan's field manager (force: fleetscan owns these fields). */
  apply(plural: string, obj: ReportObject): Promise<void>;
  /** Deletes a report; one already gone is not an error. */
  delete(plural: string, namespace: string, name: string): Promise<void>;
}

/** The only module that writes reports to the API server. Errors come out classified (KubeError). */
export function createReportApi(kc: KubeConfig): ReportApi {
  const api = kc.makeApiClient(CustomObjectsApi);
  const ssa = setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply);
  return {
    async apply(plural, obj) {
      try {
        await api.patchNamespacedCustomObject(
          {
            group: GROUP,
            version: VERSION,
            namespace: obj.metadata.namespace ?? '',
            plural,
            name: obj.metadata.name,
            body: obj,
            fieldManager: FIELD_MANAGER,
            force: true,
          },
          ssa,
        );
      } catch (err) {
        throw classifyKubeError(err);
      }
    },
    async delete(plural, namespace, name) {
      try {
        await api.deleteNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, name });
      } catch (err) {
        const e = classifyKubeError(err);
        if (e.code !== 'NOT_FOUND') throw e;
      }
    },
  };
}
