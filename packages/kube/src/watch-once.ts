import { childAbort } from './abort.ts';
import { classifyKubeError, KubeError, KubeErrorCode } from './errors.ts';
import { readLines } from './lines.ts';
import type { KubeObject } from './object.ts';
import type { KubeTransport } from './transport.ts';

/** How one watch request ended, when it did not throw. */
export type WatchEnd =
  /** The server closed the stream (its timeout): resume from the last resourceVersion. */
  | { kind: 'closed'; lines: number }
  /** 410 Gone as an ERROR event: the resourceVersion is compacted away; re-list. */
  | { kind: 'gone'; message: string }
  /** Nothing arrived for staleAfterMs, not even a bookmark: the stream is not trusted. */
  | { kind: 'silent' };

interface WatchEvent {
  type?: string;
  object?: KubeObject & { code?: number; message?: string };
}

/**
 * One WATCH request from `resourceVersion` with bookmarks and a server-side timeout. Calls back per
 * event; aborts itself when silent. Throws a KubeError for HTTP errors (410 included, as GONE),
 * ERROR events other than 410, malformed lines and broken streams.
 */
export async function watchOnce(
  transport: KubeTransport,
  path: string,
  opts: {
    resourceVersion: string;
    timeoutSeconds: number;
    staleAfterMs: number;
    labelSelector?: string;
    fieldSelector?: string;
    /** Accept header (metadata-only watches); JSON objects by default. */
    accept?: string;
    signal: AbortSignal;
    onConnected: () => void;
    /** First event other than ERROR: proof the watch is alive, not just connected. */
    onAlive: () => void;
    onChange: (type: 'ADDED' | 'MODIFIED' | 'DELETED', obj: KubeObject) => void;
    onBookmark: (resourceVersion: string) => void;
  },
): Promise<WatchEnd> {
  const own = childAbort(opts.signal);
  let silent = false;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      silent = true;
      own.abort(new KubeError(KubeErrorCode.Transient, `watch silent for ${opts.staleAfterMs} ms`));
    }, opts.staleAfterMs);
  };
  let lines = 0;
  try {
    // The silence clock runs from the request: a server that accepts and never answers is silent too.
    arm();
    const res = await transport.openStream(
      path,
      {
        watch: true,
        resourceVersion: opts.resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: opts.timeoutSeconds,
        labelSelector: opts.labelSelector,
        fieldSelector: opts.fieldSelector,
      },
      own.signal,
      opts.accept,
    );
    opts.onConnected();
    try {
      let alive = false;
      for await (const line of readLines(res, arm)) {
        lines++;
        let event: WatchEvent;
        try {
          event = JSON.parse(line) as WatchEvent;
        } catch (err) {
          throw new KubeError(KubeErrorCode.Transient, `malformed watch line: ${line.slice(0, 200)}`, {
            cause: err,
          });
        }
        const obj = event.object;
        if (!alive && event.type !== 'ERROR') {
          alive = true;
          opts.onAlive();
        }
        switch (event.type) {
          case 'ADDED':
          case 'MODIFIED':
          case 'DELETED':
            if (obj) opts.onChange(event.type, obj);
            break;
          case 'BOOKMARK': {
            const rv = obj?.metadata?.resourceVersion;
            if (rv) opts.onBookmark(rv);
            break;
          }
          case 'ERROR':
            if (obj?.code === 410)
              return { kind: 'gone', message: obj.message ?? 'resource version expired' };
            throw classifyKubeError(obj ?? { code: 500, message: 'ERROR event without a Status' });
          default:
            throw new KubeError(KubeErrorCode.Transient, `unknown watch event type ${String(event.type)}`);
        }
      }
    } finally {
      res.destroy();
    }
    return { kind: 'closed', lines };
  } catch (err) {
    if (silent && !opts.signal.aborted) return { kind: 'silent' };
    throw classifyKubeError(err);
  } finally {
    clearTimeout(timer);
    own.dispose();
  }
}
