import type { Metric } from 'prom-client';
import { escapeHelp, escapeLabelValue } from './text-format.ts';

/**
 * One of trivy-operator's metric families, computed at scrape from the reports the writer watches
 * (as trivy-operator's collector computes them from its informer cache). A family says its name,
 * help and label names exactly as trivy-operator's pkg/metrics/collector.go, and yields its series;
 * the shared part here adds the report labels (`k8s_label_*`), bounds the opt-in families, writes
 * the text format in chunks and never lets a report fail a scrape.
 *
 * Adding a family: a file per report kind (vulnerability.ts, exposed-secret.ts, config-audit.ts,
 * rbac-assessment.ts, infra-assessment.ts) exports a function returning its families, most of them
 * the two shapes of family-shapes.ts (the checks kinds through checks.ts, as data);
 * reportFamilies (metrics.ts) lists it. An info family names its option (InfoOption), which the
 * writer's config turns on, and what the inventory must keep of each report for it
 * (reportDetailFor, metrics.ts).
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
   * Every series: its label values in `labelNames` order, given as parts (e.g. the report's and the
   * finding's) that together hold one value per label, the value, and the report's labels (for the
   * `k8s_label_*` values). A family yields distinct label sets. A part that is the same array for
   * many series (a finding's values, a severity) is written out once per scrape and reused.
   */
  series(): Iterable<Series>;
}

export type Series = readonly [
  parts: readonly (readonly string[])[],
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
  /**
   * The family in the text format, a few hundred series per chunk; `defaultLabels` (the registry's)
   * follow each series' own labels, as prom-client writes them, unless the family has that label.
   */
  chunks(defaultLabels?: Readonly<Record<string, string>>): Generator<string>;
}

/** Series per chunk: small enough that a scrape never holds a family's whole text. */
const CHUNK_SERIES = 500;

/**
 * The family as a metric a prom-client Registry accepts (name, help, type, get()), plus `chunks()`.
 * /metrics writes the chunks (renderMetrics): each part of a series' labels and each set of report
 * labels is written out once and reused (a finding's labels are shared by every report of its
 * image), no label object is made, and a scrape never holds more than a chunk of text. get() gives
 * the same series as prom-client's objects, for registry.metrics() and getSingleMetricAsString().
 */
export function familyMetric(family: ReportFamily, opts: FamilyMetricOptions): Metric & FamilyMetric {
  const names = [...family.labelNames, ...opts.labelNames];
  const fixed = family.labelNames.length;
  const limit = family.info ? opts.maxInfoSeries : Number.POSITIVE_INFINITY;

  /** Every series served, counting what is left out; reports the collection once, at its end. */
  function* collect(): Generator<Series> {
    let served = 0;
    let dropped = 0;
    let error: unknown;
    try {
      for (const series of family.series()) {
        if (served >= limit) {
          dropped++;
          continue;
        }
        served++;
        yield series;
      }
    } catch (err) {
      // A scrape must never fail, whatever a report holds: serve what was collected.
      error = err;
    }
    opts.onCollected(family.name, served, dropped, error);
  }

  const finite = (v: number) => (Number.isFinite(v) ? v : 0);
  const reportLabelValues = (labels: Readonly<Record<string, string>> | undefined) =>
    opts.labelKeys.map((k) => labels?.[k] ?? '');

  /** `name="value"` for the labels from `first` on, comma-separated (and led by one after the first). */
  const render = (values: readonly string[], first: number) => {
    let t = '';
    for (let i = 0; i < values.length; i++) {
      t += `${first + i === 0 ? '' : ','}${names[first + i]}="${escapeLabelValue(values[i] ?? '')}"`;
    }
    return t;
  };

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
      values: [...collect()].map(([parts, value, labels]) => {
        const all = [...parts.flat(), ...reportLabelValues(labels)];
        return { labels: Object.fromEntries(names.map((n, i) => [n, all[i] ?? ''])), value: finite(value) };
      }),
    }),
    reset: () => {},
    *chunks(defaultLabels: Readonly<Record<string, string>> = {}) {
      // Text of a part by position (a part always starts at the same label), and of report labels;
      // weak, so what this scrape made goes with it and what findings share stays while they do.
      const partText: WeakMap<readonly string[], string>[] = [];
      const labelsText = new WeakMap<object, string>();
      const noLabels = render(reportLabelValues(undefined), fixed);
      let tail = '';
      for (const [k, v] of Object.entries(defaultLabels)) {
        if (!names.includes(k)) tail += `,${k}="${escapeLabelValue(v)}"`;
      }
      let text = `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} gauge\n`;
      let n = 0;
      for (const [parts, value, labels] of collect()) {
        let line = '';
        let at = 0;
        for (let p = 0; p < parts.length; p++) {
          const part = parts[p] as readonly string[];
          let cache = partText[p];
          if (!cache) {
            cache = new WeakMap();
            partText[p] = cache;
          }
          let t = cache.get(part);
          if (t === undefined) {
            t = render(part, at);
            cache.set(part, t);
          }
          line += t;
          at += part.length;
        }
        let dyn = noLabels;
        if (labels && opts.labelKeys.length > 0) {
          const hit = labelsText.get(labels);
          if (hit === undefined) {
            dyn = render(reportLabelValues(labels), fixed);
            labelsText.set(labels, dyn);
          } else dyn = hit;
        }
        text += `${family.name}{${line}${dyn}${tail}} ${finite(value)}\n`;
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
