import type { Metric } from 'prom-client';
import { escapeHelp, escapeLabelValue } from './exposition.ts';

/**
 * One of trivy-operator's metric families, computed at scrape from the reports the writer watches
 * (as trivy-operator's collector computes them from its informer cache). A family says its name,
 * help and label names exactly as trivy-operator's pkg/metrics/collector.go, and yields its series;
 * the shared part here adds the report labels (`k8s_label_*`), bounds the opt-in families, writes
 * the text format in chunks and never lets a report fail a scrape.
 *
 * Adding a family: a file per report kind (vulnerability.ts, exposed-secret.ts, config-audit.ts)
 * exports a function returning its families; reportFamilies (metrics.ts) lists it.
 */
export interface ReportFamily {
  /** trivy-operator's metric name. */
  readonly name: string;
  /** trivy-operator's help text. */
  readonly help: string;
  /** trivy-operator's label names, in its order; the report labels (`k8s_label_*`) follow. */
  readonly labelNames: readonly string[];
  /**
   * Set for trivy-operator's opt-in info families: the option that turns it on. Info families
   * grow with the findings, not the reports, so they are also bounded (METRICS_INFO_MAX_SERIES).
   */
  readonly info?: InfoOption;
  /**
   * Every series: label values in `labelNames` order, the value, and the report's labels (for the
   * `k8s_label_*` values). A family yields distinct label sets.
   */
  series(): Iterable<Series>;
}

export type Series = readonly [
  values: readonly string[],
  value: number,
  reportLabels: Readonly<Record<string, string>> | undefined,
];

/** trivy-operator's options for its info families (etc.Config), as the writer names them. */
export type InfoOption =
  | 'vulnerabilityId'
  | 'exposedSecretInfo'
  | 'configAuditInfo'
  | 'imageInfo'
  | 'rbacAssessmentInfo'
  | 'infraAssessmentInfo'
  | 'clusterComplianceInfo';

export interface FamilyMetricOptions {
  /** Report label keys, in the order their metric labels follow the family's own. */
  readonly labelKeys: readonly string[];
  /** Their metric label names (`<prefix><sanitised key>`), same order. */
  readonly labelNames: readonly string[];
  /** Most series an info family serves per scrape; the rest are left out and counted. */
  readonly maxInfoSeries: number;
  /** What one collection served and left out, and whether a report broke it. */
  onCollected(family: string, served: number, dropped: number, error: unknown): void;
}

/** A family as the registry holds it; `chunks` is what /metrics streams (exposition.ts). */
export interface FamilyMetric {
  readonly name: string;
  /** The family in the text format, a few hundred series per chunk. */
  chunks(): Generator<string>;
}

/** Series per chunk: small enough that a scrape never holds a family's whole text. */
const CHUNK_SERIES = 500;

/**
 * The family as a metric a prom-client Registry accepts (name, help, type, get()), plus `chunks()`.
 * /metrics writes the chunks (renderMetrics): no label objects, no whole-family string, so a
 * scrape of a hundred thousand series costs the text of a few hundred at a time. get() gives the
 * same series as prom-client's objects, for registry.metrics() and getSingleMetricAsString().
 */
export function familyMetric(family: ReportFamily, opts: FamilyMetricOptions): Metric & FamilyMetric {
  const names = [...family.labelNames, ...opts.labelNames];
  const fixed = family.labelNames.length;
  const limit = family.info ? opts.maxInfoSeries : Number.POSITIVE_INFINITY;

  /** Calls `take` for each series served, counts what is left out, reports the collection once. */
  function* collect(): Generator<[string[], number]> {
    let served = 0;
    let dropped = 0;
    let error: unknown;
    try {
      for (const [vals, value, reportLabels] of family.series()) {
        if (served >= limit) {
          dropped++;
          continue;
        }
        const all: string[] = new Array(names.length);
        for (let i = 0; i < fixed; i++) all[i] = vals[i] ?? '';
        for (let i = 0; i < opts.labelKeys.length; i++) {
          all[fixed + i] = reportLabels?.[opts.labelKeys[i] as string] ?? '';
        }
        served++;
        yield [all, Number.isFinite(value) ? value : 0];
      }
    } catch (err) {
      // A scrape must never fail, whatever a report holds: serve what was collected.
      error = err;
    }
    opts.onCollected(family.name, served, dropped, error);
  }

  // `name="` per label, escaped once.
  const prefixes = names.map((n, i) => `${i === 0 ? '' : ','}${n}="`);
  const header = `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} gauge\n`;

  const metric = {
    name: family.name,
    help: family.help,
    type: 'gauge',
    aggregator: 'sum',
    get: async () => ({
      name: family.name,
      help: family.help,
      type: 'gauge',
      aggregator: 'sum',
      values: [...collect()].map(([vals, value]) => ({
        labels: Object.fromEntries(names.map((n, i) => [n, vals[i] ?? ''])),
        value,
      })),
    }),
    reset: () => {},
    *chunks() {
      let text = header;
      let n = 0;
      for (const [vals, value] of collect()) {
        let line = `${family.name}{`;
        for (let i = 0; i < vals.length; i++) line += `${prefixes[i]}${escapeLabelValue(vals[i] ?? '')}"`;
        text += `${line}} ${value}\n`;
        if (++n === CHUNK_SERIES) {
          yield text;
          text = '';
          n = 0;
        }
      }
      yield text;
    },
  };
  return metric as unknown as Metric & FamilyMetric;
}

export function isFamilyMetric(m: unknown): m is FamilyMetric {
  return typeof (m as Partial<FamilyMetric>).chunks === 'function';
}
