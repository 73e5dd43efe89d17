import type { ApiCostResult } from './api-cost.ts';
import type { RequestCounts } from './apiserver-requests.ts';
import type { WorkCounters } from './load-figures.ts';
import type { NatsTraffic } from './nats-stats.ts';
import type { OperatorModelRow } from './operator-model.ts';
import type { BenchOptions } from './options.ts';
import type { ProbeFigures } from './probe-plan.ts';
import type { HotSpot } from './profile.ts';
import type { ScaleOutResult } from './scale-out.ts';
import type { ThroughputResult } from './throughput.ts';
import type { BaselineResult, FloorResult } from './trivy-phases.ts';

export interface CpuFigures {
  watcherSec: number;
  writerSec: number;
  /** Scanner processes' own CPU, trivy excluded. */
  scannerSec: number;
  /** trivy processes run by the scanners (their waited-for children). */
  trivySec: number;
  /** The stack (apiserver, etcd, controller-manager, NATS, registries). */
  stackSec: number;
  /** The same, per stack process name. */
  stackByProcess: Record<string, number>;
  /** This process: creating workloads and watching every report. */
  benchSec: number;
}

export interface PassFigures {
  reports: number;
  /** Reports of probes written in the pass, besides the fleet's (writes per report counts both). */
  probeReports?: number;
  /** Writes of the fleet's report kinds. */
  writes: number;
  /** Writes of other kinds' reports: the cluster's own audited objects (ClusterRoles, Roles…). */
  otherKindWrites?: number;
  writesPerReport: number;
  writerOutcomes: Record<string, number>;
  trivyImageRuns: number;
  trivyConfigRuns: number;
  requestsPublished: { image: number; config: number };
  cpu: CpuFigures;
  peakRss: { watcher: number; writer: number; scanners: number };
}

export interface BenchResult {
  startedAt: string;
  complete: boolean;
  error?: string;
  machine: { nproc: number; memoryBytes: number; cpuModel: string; loadAvgAtStart: number[]; node: string };
  git: { commit: string; dirtyFiles: number };
  options: BenchOptions;
  images: { count: number; uniqueDigests: number };
  fleet: {
    workloads: number;
    byKind: Record<string, number>;
    containers: number;
    expectedReports: number;
    namespaces: number;
  };
  /** Service settings that shape the run. */
  concurrency: { scanners: number; imageConcurrencyPerScanner: number; total: number };
  floor: FloorResult & { floorMs: number };
  firstPass?: PassFigures & {
    /**
     * With --existing: the fleet was there before fleetscan started, and times count from the
     * start of its processes (`readyMs` later every service answered /readyz).
     */
    existing?: { readyMs: number };
    /** First workload create request (--existing: the services' start) → last report seen by the benchmark's watch. */
    timeToAllReportsMs: number;
    /** First create → last create answered. */
    creationMs: number;
    /** The pipeline had no work left within 5 minutes of the last report. */
    drained: boolean;
    /** Last report → no work left in any consumer. */
    drainMs: number;
    /** nats-server's message and byte counters over the pass (all clients, both directions). */
    nats?: NatsTraffic;
    /** kube-apiserver requests during the pass by "VERB resource", everyone's (apiserver_request_total). */
    apiRequests: RequestCounts;
    /** First create → last report owner (ReplicaSet, …) seen: the controller-manager's share. */
    lastOwnerMs: number;
    perOwnerMs: { p50: number; p99: number; max: number };
    ownerAppearMs: { p50: number; p99: number };
    ratioToFloor: number;
    /** First create → 99% of workloads have all their reports. */
    timeTo99PctMs: number;
    amplification: number;
    configRunsPerOwner: number;
    cpuPerReportMs: number;
    /** CPU of every process in the pass (services, trivy, stack, benchmark) ÷ cores. */
    cpuBoundMs: number;
    publishAck: { p50Ms?: number; p99Ms?: number; count: number };
  };
  /**
   * `--cli-audits`: the same fleet's ConfigAuditReports deleted and made again by the former config
   * audit engine (one `trivy config` per batch), services restarted; timed from their start.
   */
  cliPass?: NonNullable<BenchResult['firstPass']>;
  /** `--control-plane-only`: the same fleet with no fleetscan service running. */
  controlPlane?: {
    /** First create → every report owner seen by the benchmark's watch. */
    timeToAllOwnersMs: number;
    creationMs: number;
    ownerAppearMs: { p50: number; p99: number };
    stackCpuSec: number;
    stackByProcess: Record<string, number>;
    apiRequests: RequestCounts;
    benchCpuSec: number;
    /** --existing: the wait after every owner was seen until no controller wrote for a while. */
    settle?: { waitedMs: number; settled: boolean };
  };
  secondPass?: PassFigures & {
    readyMs: number;
    /** Start → the watcher has evaluated every owner once. */
    evaluatedMs: number;
    settledMs: number;
    reportEvents: { added: number; modified: number; deleted: number };
  };
  baseline?: BaselineResult & {
    extrapolated: boolean;
    estimatedMs: number;
    amplification: number;
    ratioToFleetscan?: number;
  };
  /** New workloads under load (--probes): on the idle fleet, during the cold start, during the DB update. */
  probes?: {
    idle?: ProbeFigures;
    /** On the idle fleet, each with an image never scanned before (its first analysis included). */
    idleNewImage?: ProbeFigures;
    coldStart?: ProbeFigures & { intervalMs: number; operator: OperatorModelRow[] };
    dbUpdate?: ProbeFigures & { intervalMs: number; operator: OperatorModelRow[] };
  };
  /** --db-update: every VulnerabilityReport re-matched against a new DB version. */
  dbUpdate?: {
    version: string;
    /** VulnerabilityReports on an old version when it began, and of those refreshed. */
    reports: number;
    refreshed: number;
    /** Reports of the probes created during it (new, not refreshed: written too). */
    probeReports: number;
    complete: boolean;
    /** New version in place → the last report moved to it. */
    refreshMs: number;
    drained: boolean;
    work: WorkCounters;
    cpu: CpuFigures;
    apiRequests: RequestCounts;
  };
  apiCost?: ApiCostResult;
  scaleOut?: ScaleOutResult;
  throughput: ThroughputResult[];
  profiles: { service: string; file: string; totalMs: number; functions: HotSpot[]; packages: HotSpot[] }[];
}
