import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { freePort } from './ports.ts';
import { type ManagedProcess, startProcess, waitReady } from './process.ts';

/** One scrape target: a /metrics endpoint on loopback and the labels its job gives it. */
export interface PrometheusTarget {
  /** The `job` label, as a ServiceMonitor's jobLabel would set it. */
  job: string;
  /** host:port, on 127.0.0.1. */
  address: string;
  /** Target labels, as service discovery would attach them (namespace, pod, …). */
  labels?: Record<string, string>;
  /** Keep a scraped metric's own labels over the target's (the chart's writer ServiceMonitor does). */
  honorLabels?: boolean;
}

/** A sample of an instant vector, or a series of a range query. */
export interface PromSeries {
  metric: Record<string, string>;
  value?: [number, string];
  values?: [number, string][];
}

export interface Prometheus {
  readonly url: string;
  readonly process: ManagedProcess;
  /** Instant query (POST /api/v1/query); a failed query throws with Prometheus' error. */
  query(expr: string, time?: number): Promise<PromSeries[]>;
  /** Range query (POST /api/v1/query_range), times in seconds. */
  queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<PromSeries[]>;
  /** Values of a label on the series matching `match` (what Grafana's label_values(match, label) lists). */
  labelValues(label: string, match: string): Promise<string[]>;
  stop(): Promise<void>;
}

/**
 * A real Prometheus (Debian's, pinned in .ci/versions.env) scraping the given targets on loopback
 * every `scrapeIntervalSeconds`, its HTTP API on a free 127.0.0.1 port and its data in `dir`.
 */
export async function startPrometheus(opts: {
  bin: string;
  dir: string;
  dieWithParent: boolean;
  targets: readonly PrometheusTarget[];
  scrapeIntervalSeconds?: number;
}): Promise<Prometheus> {
  const port = await freePort();
  const interval = `${opts.scrapeIntervalSeconds ?? 1}s`;
  const dataDir = join(opts.dir, 'prometheus-data');
  await mkdir(dataDir, { recursive: true });
  const conf = join(opts.dir, 'prometheus.yml');
  // JSON is YAML: no YAML writer needed, and quoting is JSON's.
  await writeFile(
    conf,
    JSON.stringify(
      {
        global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
        scrape_configs: opts.targets.map((t, i) => ({
          job_name: `${t.job}-${i}`,
          honor_labels: t.honorLabels ?? false,
          static_configs: [{ targets: [t.address], labels: { job: t.job, ...t.labels } }],
        })),
      },
      null,
      2,
    ),
  );
  const proc = startProcess({
    name: 'prometheus',
    command: opts.bin,
    args: [
      `--config.file=${conf}`,
      `--storage.tsdb.path=${dataDir}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1d',
    ],
    logFile: join(opts.dir, 'prometheus.log'),
    dieWithParent: opts.dieWithParent,
  });
  const url = `http://127.0.0.1:${port}`;
  await waitReady(proc, async () => (await fetch(`${url}/-/ready`)).ok, 60_000);

  const api = async (path: string, params: Record<string, string>): Promise<PromSeries[]> => {
    const res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(params),
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: { resultType: string; result: PromSeries[] | [number, string] };
    };
    if (body.status !== 'success') throw new Error(`prometheus ${path} ${params.query}: ${body.error}`);
    const result = body.data?.result;
    // A scalar or string result is one unlabelled sample.
    if (body.data?.resultType === 'scalar' || body.data?.resultType === 'string') {
      return [{ metric: {}, value: result as [number, string] }];
    }
    return (result as PromSeries[] | undefined) ?? [];
  };

  const labelValues = async (label: string, match: string): Promise<string[]> => {
    const q = new URLSearchParams({ 'match[]': match });
    const res = await fetch(`${url}/api/v1/label/${encodeURIComponent(label)}/values?${q}`, {
      signal: AbortSignal.timeout(60_000),
    });
    const body = (await res.json()) as { status: string; error?: string; data?: string[] };
    if (body.status !== 'success')
      throw new Error(`prometheus label values ${label} of ${match}: ${body.error}`);
    return body.data ?? [];
  };

  return {
    url,
    process: proc,
    labelValues,
    query: (expr, time) =>
      api('/api/v1/query', { query: expr, ...(time !== undefined && { time: String(time) }) }),
    queryRange: (expr, start, end, step) =>
      api('/api/v1/query_range', { query: expr, start: String(start), end: String(end), step: String(step) }),
    stop: () => proc.stop(),
  };
}
