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
  /**
   * After the first pass (or cold start), the same fleet's config audits again with the former
   * engine (one `trivy config` per batch, cli-auditor.ts), side by side with the audit worker's
   * (cli-pass.ts).
   */
  cliAudits: boolean;
  /**
   * Cold start on an existing fleet: the fleet is created (and timed as the control plane) before
   * any fleetscan service starts; the first pass is then fleetscan's install into it.
   */
  existing: boolean;
  /**
   * New workloads under load: this many Deployments created one at a time while a load phase runs
   * (the cold start of --existing, the refresh of --db-update), and as many on the idle fleet.
   */
  probes: number;
  /** Seconds between two probes under load; 0: the phase's expected length ÷ probes. */
  probeIntervalSec: number;
  /** After the first pass, a new trivy DB version: every VulnerabilityReport is refreshed. */
  dbUpdate: boolean;
  /** Scanner scale-out on pull-bound images over a shaped link, instead of the fleet run. */
  scaleOut: ScaleOutOptions | undefined;
  /** API server cost per report: this many reports written each way (0: not measured). */
  apiCost: number;
  /**
   * More than 1: the same fleet on one cluster, then split over this many clusters sharing one NATS
   * and one scanner fleet (clusters.ts), instead of the single-cluster benchmark.
   */
  clusters: number;
  /** nats-server nodes of the stack (3: streams with 3 replicas). */
  natsNodes: number;
}

/** `--scale-out`: big images of random data pulled through a shaped loopback link (a simulation). */
export interface ScaleOutOptions {
  /** Images to push. */
  images: number;
  /** Sizes spread evenly from min to max, MB. */
  minMb: number;
  maxMb: number;
  /** Scanner replica counts to time, each with every IMAGE_CONCURRENCY of `concurrency`. */
  replicas: readonly number[];
  concurrency: readonly number[];
  /** The link: bandwidth of each connection, of all together (MB/s), and the added round trip (ms). */
  connMbps: number;
  totalMbps: number;
  rttMs: number;
  /** trivy-operator's model: jobs run (each a DB download and one image's scan), 10 at once. */
  baselineJobs: number;
  /** The DB each of those jobs downloads, MB. */
  dbMb: number;
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
  --cli-audits          then, in the same run, delete the fleet's ConfigAuditReports and make them again
                        with the former engine (one trivy config per batch), timed the same way
                        (services restarted into the fleet: a cold start, whatever the first pass was)
  --hold                keep the stack and its fleet up after the run until Ctrl-C (prints how to reach it)

Cold start, load and latency (issue 13):
  --existing            create the fleet first (timed as the control plane), wait until no controller
                        writes for 10 s (at most 15 min), then start fleetscan into it: time to all
                        reports, CPU per report by process, API requests, RSS
  --db-update           after the first pass, a new trivy DB version: every VulnerabilityReport refreshes
  --probes K            K new Deployments created one at a time under load (the cold start of
                        --existing, or --db-update's refresh) and K on the idle fleet: p50/p99 time
                        until their reports exist, against the idle fleet's, and trivy-operator's
                        10-job limit modelled on the same arrivals; then up to 5 on the idle fleet
                        with images never scanned (a first analysis each), for comparison
  --probe-interval SEC  seconds between probes under load (default: the phase's expected length ÷ K)
  --api-cost N          after the run, N new reports written each way (server-side apply, apply with
                        fieldValidation=Ignore, create by POST), then updated with apply:
                        kube-apiserver and etcd CPU per write

Scanner scale-out on pull-bound images (replaces the fleet run):
  --scale-out           images of random data behind a shaped loopback link (a SIMULATION of a
                        remote registry), scanned by S replicas; and trivy-operator's per-job model
  --big-images U        images (default 6)
  --big-mb MIN-MAX      image sizes spread over MIN..MAX MB (default 50-500)
  --scale-replicas L    replica counts, comma-separated (default 1,2,4)
  --scale-concurrency L IMAGE_CONCURRENCY values, comma-separated (default 1)
  --link-mbps C         each connection's bandwidth, MB/s (default 20)
  --link-total-mbps T   the whole link's bandwidth, MB/s (default 200)
  --link-rtt-ms R       round trip added to every connection (default 40)
  --baseline-jobs J     trivy-operator model: jobs run, 10 at once (default 10)
  --db-mb M             DB each of those jobs downloads first, MB (default 60)
  --print FILE          print the tables of a result saved with --json, and exit
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
      'cli-audits': { type: 'boolean', default: false },
      existing: { type: 'boolean', default: false },
      probes: { type: 'string', default: '0' },
      'probe-interval': { type: 'string', default: '0' },
      'db-update': { type: 'boolean', default: false },
      'api-cost': { type: 'string', default: '0' },
      'scale-out': { type: 'boolean', default: false },
      'big-images': { type: 'string', default: '6' },
      'big-mb': { type: 'string', default: '50-500' },
      'scale-replicas': { type: 'string', default: '1,2,4' },
      'scale-concurrency': { type: 'string', default: '1' },
      'link-mbps': { type: 'string', default: '20' },
      'link-total-mbps': { type: 'string', default: '200' },
      'link-rtt-ms': { type: 'string', default: '40' },
      'baseline-jobs': { type: 'string', default: '10' },
      'db-mb': { type: 'string', default: '60' },
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
    cliAudits: values['cli-audits'],
    existing: values.existing,
    probes: int('probes', values.probes, 0),
    probeIntervalSec: int('probe-interval', values['probe-interval'], 0),
    dbUpdate: values['db-update'],
    apiCost: int('api-cost', values['api-cost'], 0),
    scaleOut: values['scale-out'] ? scaleOutOptions(values, int) : undefined,
    clusters: int('clusters', values.clusters, 1),
    natsNodes: int('nats-nodes', values['nats-nodes'], 1),
  };
  // The fleet's owners only: the cluster's own ClusterRoles and bindings would be audited too.
  if (opts.configOnly) {
    opts.serviceEnv = { EXCLUDE_IMAGES: '*', SUPPORTED_CONFIG_AUDIT_KINDS: 'Workload', ...opts.serviceEnv };
  }
  if (opts.controlPlaneOnly || opts.scaleOut) {
    Object.assign(opts, {
      floor: false,
      baseline: false,
      secondPass: false,
      throughput: false,
      existing: false,
      dbUpdate: false,
      probes: 0,
      apiCost: 0,
      cliAudits: false,
    });
  }
  if (opts.probes > 0 && !opts.existing && !opts.dbUpdate) {
    throw new Error('--probes needs a load to run under: --existing (the cold start) or --db-update');
  }
  if (opts.containers > opts.images) {
    throw new Error(`--containers (${opts.containers}) cannot exceed --images (${opts.images})`);
  }
  return opts;
}

function scaleOutOptions(
  values: Record<string, string | boolean | string[] | undefined>,
  int: (name: string, v: string, min: number) => number,
): ScaleOutOptions {
  const str = (name: string) => String(values[name]);
  const list = (name: string) =>
    str(name)
      .split(',')
      .map((v) => int(name, v.trim(), 1));
  const range = /^(\d+)-(\d+)$/.exec(str('big-mb'));
  if (!range) throw new Error(`--big-mb expects MIN-MAX in MB, got ${str('big-mb')}`);
  const minMb = int('big-mb', range[1] as string, 1);
  const maxMb = int('big-mb', range[2] as string, minMb);
  return {
    images: int('big-images', str('big-images'), 1),
    minMb,
    maxMb,
    replicas: list('scale-replicas'),
    concurrency: list('scale-concurrency'),
    connMbps: int('link-mbps', str('link-mbps'), 1),
    totalMbps: int('link-total-mbps', str('link-total-mbps'), 1),
    rttMs: int('link-rtt-ms', str('link-rtt-ms'), 0),
    baselineJobs: int('baseline-jobs', str('baseline-jobs'), 1),
    dbMb: int('db-mb', str('db-mb'), 0),
  };
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
