import { parseArgs } from 'node:util';

export interface BenchOptions {
  /** Report owners to create (N). */
  owners: number;
  /** Distinct images (U), each a different package set, so a different scan. */
  images: number;
  /** Containers of the multi-container workloads (every fifth workload); 1 makes every workload single. */
  containers: number;
  /** Scanner replicas (S) of the main run. */
  scanners: number;
  /** Also run trivy-operator's model (one scan per owner × container, one trivy per config audit). */
  baseline: boolean;
  /** Owners the baseline runs for before extrapolating to N (0: all N). */
  baselineSample: number;
  /** Concurrent trivy processes in the baseline (trivy-operator's default scan job limit). */
  baselineConcurrency: number;
  /** Owners per namespace. */
  perNamespace: number;
  /** Measure the floor (trivy alone); off for runs that only study memory or completion. */
  floor: boolean;
  /** Restart watcher and writer once everything is reported, and measure that pass. */
  secondPass: boolean;
  /** Scanner throughput with 1 and 2 replicas on fresh images. */
  throughput: boolean;
  /** The controller-manager's --kube-api-qps for the run (0: the stack's default). */
  kcmQps: number;
  /** Extra environment for every service process (KEY=VALUE), e.g. NODE_OPTIONS. */
  serviceEnv: Record<string, string>;
  /** Write V8 CPU profiles of the services and print their hottest functions. */
  cpuProf: boolean;
  /** Where the JSON result goes. */
  json: string | undefined;
  /** Keep the stack (and its fleet) up after the run until Ctrl-C, to study services against it. */
  hold: boolean;
  /**
   * No fleetscan service: create the fleet and time the control plane alone until every report
   * owner exists — the part of "time to all reports" fleetscan cannot go below on this box.
   */
  controlPlaneOnly: boolean;
  /** Give up waiting for reports after this long. */
  timeoutSec: number;
  /**
   * ConfigAuditReports only (trivy-operator's config audits, the job it does in-process): the
   * watcher excludes every image (EXCLUDE_IMAGES=*), the floor has no image scans.
   */
  configOnly: boolean;
  /** Create the fleet and wait for every report owner first, then start fleetscan: a cold start. */
  existing: boolean;
  /**
   * After the first pass, the same fleet's config audits again with the former engine (one `trivy
   * config` per batch, cli-auditor.ts), side by side with the audit worker's (cli-pass.ts).
   */
  cliAudits: boolean;
  /**
   * More than 1: the same fleet on one cluster, then split over this many clusters sharing one NATS
   * and one scanner fleet (clusters.ts), instead of the single-cluster benchmark.
   */
  clusters: number;
  /** nats-server nodes of the stack (3: streams with 3 replicas). */
  natsNodes: number;
}

export const HELP = `Usage: npm run bench -- [options]

Starts the real local stack, pushes U distinct images, starts watcher, writer and S scanners
as processes, creates N workloads over those images and waits until every report is written;
then restarts watcher and writer for a second pass, measures scanner throughput with 1 and 2
replicas, and prints a table (JSON with --json). Progress goes to stderr.

Options:
  --owners N            report owners to create (default 400)
  --images U            distinct images (default 20)
  --containers C        containers of every fifth workload (default 2)
  --scanners S          scanner replicas (default 1)
  --baseline            also run trivy-operator's model on the same workloads
  --baseline-sample K   owners the baseline runs before extrapolating to N (default 40; 0 = all)
  --baseline-concurrency P   trivy processes at once in the baseline (default 10)
  --per-namespace M     owners per namespace (default 50)
  --no-floor            skip the floor measurement (ratios to the floor are then not printed)
  --no-second-pass      skip the restart pass
  --no-throughput       skip the scanner throughput phase
  --kcm-qps Q           kube-controller-manager's --kube-api-qps (default 300; 0 keeps client-go's 20)
  --env KEY=VALUE       extra environment for every service (repeatable), e.g. NODE_OPTIONS=...
  --cpu-prof            write CPU profiles of the services (hottest functions printed) and of
                        kube-apiserver and nats-server during the first pass (go tool pprof files)
  --json FILE           write the result as JSON
  --timeout SEC         give up waiting for reports after SEC (default 900)
  --control-plane-only  no fleetscan: time the control plane alone until every report owner exists
                        (skips floor, baseline, second pass and throughput)
  --config-only         ConfigAuditReports only: the watcher asks for no image scan (EXCLUDE_IMAGES=*)
                        and audits the fleet's workloads only (SUPPORTED_CONFIG_AUDIT_KINDS=Workload)
  --existing            create the fleet and wait for every report owner first, then start fleetscan;
                        times from the services' start
  --cli-audits          then, in the same run, delete the fleet's ConfigAuditReports and make them again
                        with the former engine (one trivy config per batch), timed the same way
  --hold                keep the stack and its fleet up after the run until Ctrl-C (prints how to reach it)
  --clusters K          compare: the same fleet on 1 cluster, then split over K clusters (own watcher,
                        writer and NATS identities each) sharing one NATS and the S scanners; prints
                        time to all reports, image runs ÷ unique digests, NATS messages per report
  --nats-nodes M        nats-server nodes (default 1; 3 gives streams 3 replicas)
  -h, --help            show this help
`;

/** Parses and validates the command line; throws with the option's name on a bad value. */
export function parseBenchArgs(argv: readonly string[]): BenchOptions | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      owners: { type: 'string', default: '400' },
      images: { type: 'string', default: '20' },
      containers: { type: 'string', default: '2' },
      scanners: { type: 'string', default: '1' },
      baseline: { type: 'boolean', default: false },
      'baseline-sample': { type: 'string', default: '40' },
      'baseline-concurrency': { type: 'string', default: '10' },
      'per-namespace': { type: 'string', default: '50' },
      'no-floor': { type: 'boolean', default: false },
      'second-pass': { type: 'boolean', default: true },
      'no-second-pass': { type: 'boolean', default: false },
      throughput: { type: 'boolean', default: true },
      'no-throughput': { type: 'boolean', default: false },
      'kcm-qps': { type: 'string', default: '300' },
      env: { type: 'string', multiple: true, default: [] },
      'cpu-prof': { type: 'boolean', default: false },
      json: { type: 'string' },
      timeout: { type: 'string', default: '900' },
      hold: { type: 'boolean', default: false },
      'control-plane-only': { type: 'boolean', default: false },
      'config-only': { type: 'boolean', default: false },
      existing: { type: 'boolean', default: false },
      'cli-audits': { type: 'boolean', default: false },
      clusters: { type: 'string', default: '1' },
      'nats-nodes': { type: 'string', default: '1' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) return 'help';
  const int = (name: string, v: string, min: number) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
    return n;
  };
  const opts: BenchOptions = {
    owners: int('owners', values.owners, 1),
    images: int('images', values.images, 1),
    containers: int('containers', values.containers, 1),
    scanners: int('scanners', values.scanners, 1),
    baseline: values.baseline,
    baselineSample: int('baseline-sample', values['baseline-sample'], 0),
    baselineConcurrency: int('baseline-concurrency', values['baseline-concurrency'], 1),
    perNamespace: int('per-namespace', values['per-namespace'], 1),
    floor: !values['no-floor'],
    secondPass: values['second-pass'] && !values['no-second-pass'],
    throughput: values.throughput && !values['no-throughput'],
    kcmQps: int('kcm-qps', values['kcm-qps'], 0),
    serviceEnv: parseEnvPairs(values.env),
    cpuProf: values['cpu-prof'],
    json: values.json,
    timeoutSec: int('timeout', values.timeout, 1),
    hold: values.hold,
    controlPlaneOnly: values['control-plane-only'],
    configOnly: values['config-only'],
    existing: values.existing,
    cliAudits: values['cli-audits'],
    clusters: int('clusters', values.clusters, 1),
    natsNodes: int('nats-nodes', values['nats-nodes'], 1),
  };
  // The fleet's owners only: the cluster's own ClusterRoles and bindings would be audited too.
  if (opts.configOnly) {
    opts.serviceEnv = { EXCLUDE_IMAGES: '*', SUPPORTED_CONFIG_AUDIT_KINDS: 'Workload', ...opts.serviceEnv };
  }
  if (opts.controlPlaneOnly) {
    Object.assign(opts, { floor: false, baseline: false, secondPass: false, throughput: false });
  }
  if (opts.containers > opts.images) {
    throw new Error(`--containers (${opts.containers}) cannot exceed --images (${opts.images})`);
  }
  return opts;
}

function parseEnvPairs(pairs: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of pairs) {
    const eq = p.indexOf('=');
    if (eq <= 0) throw new Error(`--env expects KEY=VALUE, got ${JSON.stringify(p)}`);
    out[p.slice(0, eq)] = p.slice(eq + 1);
  }
  return out;
}
