import type { Metric } from 'prom-client';

/**
 * One of trivy-operator's metric families, computed at scrape from the reports the writer watches
 * (as trivy-operator's collector computes them from its informer cache). A family says its name,
 * help and label names exactly as trivy-operator's pkg/metrics/collector.go, and emits its series;
 * the shared part here adds the report labels (`k8s_label_*`), bounds the opt-in families and never
 * lets a report fail a scrape.
 *
 * Adding a family: a file per report kind (vulnerability.ts, exposed-secret.ts, config-audit.ts)
 * exports a function returning its families; registerReportMetrics (metrics.ts) lists it.
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
   * Emits every series: label values in `labelNames` order, the value, and the report's labels
   * (for the `k8s_label_*` values). A family emits distinct label sets.
   */
  collect(emit: Emit): void;
}

export type Emit = (
  values: readonly string[],
  value: number,
  reportLabels: Readonly<Record<string, string>> | undefined,
) => void;

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

interface Sample {
  labels: Record<string, string>;
  value: number;
}

/**
 * The family as a prom-client metric. Not a prom-client Gauge: a Gauge hashes every label set it is
 * given, and a scrape of the info families sets hundreds of thousands of them only to read them
 * back at once; this builds the scrape's values directly. Registries accept any object with
 * name, help, type and get().
 */
export function familyMetric(family: ReportFamily, opts: FamilyMetricOptions): Metric {
  const names = [...family.labelNames, ...opts.labelNames];
  const fixed = family.labelNames.length;
  const limit = family.info ? opts.maxInfoSeries : Number.POSITIVE_INFINITY;
  const collectValues = (): Sample[] => {
    const values: Sample[] = [];
    let dropped = 0;
    let error: unknown;
    const emit: Emit = (vals, value, reportLabels) => {
      if (values.length >= limit) {
        dropped++;
        return;
      }
      const labels: Record<string, string> = {};
      for (let i = 0; i < fixed; i++) labels[names[i] as string] = vals[i] ?? '';
      for (let i = 0; i < opts.labelKeys.length; i++) {
        labels[names[fixed + i] as string] = reportLabels?.[opts.labelKeys[i] as string] ?? '';
      }
      values.push({ labels, value: Number.isFinite(value) ? value : 0 });
    };
    try {
      family.collect(emit);
    } catch (err) {
      // A scrape must never fail, whatever a report holds: serve what was collected.
      error = err;
    }
    opts.onCollected(family.name, values.length, dropped, error);
    return values;
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
      values: collectValues(),
    }),
    reset: () => {},
  };
  return metric as unknown as Metric;
}
