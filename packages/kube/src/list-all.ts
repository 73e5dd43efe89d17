import { childAbort } from './abort.ts';
import { KubeError, KubeErrorCode } from './errors.ts';
import type { KubeObject } from './object.ts';
import type { KubeTransport } from './transport.ts';

interface ListPage {
  kind?: string;
  apiVersion?: string;
  metadata?: { resourceVersion?: string; continue?: string };
  items?: KubeObject[] | null;
}

/**
 * A paged, consistent LIST across all namespaces: `limit` + `continue`, no resourceVersion, so the
 * pages form one snapshot read from storage. Each item is handed to `onItem` and then dropped with
 * its page; only what `onItem` keeps stays in memory. Returns the snapshot's resourceVersion.
 * An expired continue token surfaces as KubeError GONE; the caller starts over.
 */
export async function listAll(
  transport: KubeTransport,
  path: string,
  opts: {
    pageSize: number;
    labelSelector?: string;
    fieldSelector?: string;
    /** Per page, so a large resource is not cut off by a whole-list deadline. */
    pageTimeoutMs: number;
    /** Accept header (metadata-only lists); JSON objects by default. */
    accept?: string;
    signal: AbortSignal;
    onItem: (obj: KubeObject) => void;
  },
): Promise<{ resourceVersion: string; items: number; pages: number }> {
  let cont: string | undefined;
  let resourceVersion = '';
  let items = 0;
  let pages = 0;
  do {
    const query = {
      limit: opts.pageSize,
      continue: cont,
      labelSelector: opts.labelSelector,
      fieldSelector: opts.fieldSelector,
    };
    const request = childAbort(opts.signal, opts.pageTimeoutMs);
    let page: ListPage;
    try {
      page = (await transport.getJson(path, query, request.signal, opts.accept)) as ListPage;
    } finally {
      request.dispose();
    }
    if (typeof page !== 'object' || page === null || (page.items != null && !Array.isArray(page.items))) {
      throw new KubeError(KubeErrorCode.Transient, `LIST ${path}: response is not a list`);
    }
    pages++;
    resourceVersion = page.metadata?.resourceVersion || resourceVersion;
    // Items of built-in lists come without kind/apiVersion; projections may want them.
    const kind = page.kind?.replace(/List$/, '');
    for (const item of page.items ?? []) {
      item.kind ??= kind;
      item.apiVersion ??= page.apiVersion;
      opts.onItem(item);
      items++;
    }
    cont = page.metadata?.continue || undefined;
  } while (cont);
  if (!resourceVersion) {
    throw new KubeError(KubeErrorCode.Transient, `LIST ${path}: no resourceVersion in response`);
  }
  return { resourceVersion, items, pages };
}
