import { fleetscanCpuMs, goals } from './goals.ts';
import { serverTimesParts } from './probe-audit.ts';
import { LATENCY_GOAL_RATIO, latencyRatios, type ProbeFigures } from './probe-plan.ts';
import type { BenchResult } from './result.ts';
import { linkUse, scaleGoal, speedups } from './scale-out-figures.ts';

const s = (ms: number | undefined) => (ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`);
const ms = (v: number | undefined) => (v === undefined ? '-' : `${v.toFixed(v < 10 ? 2 : 0)} ms`);
const x = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : `${v.toFixed(2)}×`);
const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
const n = (v: number) => (Number.isInteger(v) ? String(v) : v.toFixed(2));

const perProcess = (cpu: Record<string, number>) =>
  Object.entries(cpu)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v.toFixed(1)}`)
    .join(', ');

const topRequests = (r: Record<string, number>) =>
  Object.entries(r)
    .slice(0, 8)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');

/** The result as plain-text tables for a terminal or a Markdown code block. */
export function formatResult(r: BenchResult): string {
  const o = r.options;
  const rows: [string, string, string?][] = [];
  const section = (title: string) => rows.push([`— ${title}`, '']);
  const row = (k: string, v: string, goal?: string) => rows.push([k, v, goal]);

  section('run');
  row(
    'machine',
    `${r.machine.nproc} cores, ${mb(r.machine.memoryBytes)}, ${r.machine.cpuModel}, node ${r.machine.node}`,
  );
  row('load average at start', r.machine.loadAvgAtStart.join(' '));
  row('commit', `${r.git.commit}${r.git.dirtyFiles ? ` + ${r.git.dirtyFiles} changed files` : ''}`);
  row(
    'fleet',
    `${r.fleet.workloads} owners (${Object.entries(r.fleet.byKind)
      .map(([k, v]) => `${v} ${k}`)
      .join(', ')}), ${r.fleet.containers} containers, ${r.fleet.namespaces} namespaces`,
  );
  row('images', `${r.images.count} (${r.images.uniqueDigests} unique digests)`);
  row(
    'scanners',
    `${r.concurrency.scanners} × ${r.concurrency.imageConcurrencyPerScanner} image scan(s) at once`,
  );
  row('kube-controller-manager', o.kcmQps > 0 ? `--kube-api-qps=${o.kcmQps}` : 'stack default (20 QPS)');

  if (o.floor) floorRows(r, row, section);
  const cp = r.controlPlane;
  if (cp) {
    section('control plane alone (no fleetscan service running)');
    row('time to every report owner', s(cp.timeToAllOwnersMs));
    row('  creating workloads (API)', s(cp.creationMs));
    if (cp.settle)
      row(
        '  then until no controller write for 10 s',
        `${s(cp.settle.waitedMs)}${cp.settle.settled ? '' : ' (not settled: the cold start began anyway)'}`,
      );
    row(
      'per owner, created → owner exists',
      `p50 ${s(cp.ownerAppearMs.p50)}  p99 ${s(cp.ownerAppearMs.p99)}`,
    );
    row(
      'CPU stack (kube, etcd, NATS, registry)',
      `${cp.stackCpuSec.toFixed(1)} s (${perProcess(cp.stackByProcess)})`,
    );
    row('CPU benchmark process', s(cp.benchCpuSec * 1000));
    row('API requests (all clients, top 8)', topRequests(cp.apiRequests));
  }
  const p = r.firstPass;
  if (p) {
    section(p.existing ? 'cold start (fleetscan started into the existing fleet)' : 'first pass (fleetscan)');
    if (p.existing) row('time to ready (/readyz, every service)', s(p.existing.readyMs));
    row(
      r.complete
        ? `time to all reports${p.existing ? ' (from the services’ start)' : ''}`
        : 'time until the run gave up',
      s(p.timeToAllReportsMs),
      // Issue 13: all ConfigAuditReports of 1 000 existing owners.
      o.configOnly && o.existing && o.owners === 1000 ? '≤ 20 s' : undefined,
    );
    row('time ÷ floor', x(p.ratioToFloor), '≤ 1.25');
    row(
      'time to 99% of owners reported',
      `${s(p.timeTo99PctMs)} (${x(p.timeTo99PctMs / r.floor.floorMs)} floor)`,
    );
    row(
      'all CPU of the pass ÷ cores',
      `${s(p.cpuBoundMs)} (the box was busy ${((p.cpuBoundMs / p.timeToAllReportsMs) * 100).toFixed(0)}% of the time)`,
    );
    if (!p.existing) {
      row('  creating workloads (API)', s(p.creationMs));
      row('  last report owner appeared', s(p.lastOwnerMs));
    }
    row('  last report → pipeline idle', p.drained ? s(p.drainMs) : `not idle after ${s(p.drainMs)}`);
    row(
      p.existing ? 'per owner, start → all reports' : 'per owner, created → all reports',
      `p50 ${s(p.perOwnerMs.p50)}  p99 ${s(p.perOwnerMs.p99)}  max ${s(p.perOwnerMs.max)}`,
    );
    if (!p.existing)
      row(
        'per owner, created → owner exists',
        `p50 ${s(p.ownerAppearMs.p50)}  p99 ${s(p.ownerAppearMs.p99)}`,
      );
    row('reports', `${p.reports} of ${r.fleet.expectedReports}`);
    row('trivy image runs ÷ unique digests', `${x(p.amplification)} (${p.trivyImageRuns} runs)`, '1.00×');
    row('trivy config runs ÷ owners', `${n(p.configRunsPerOwner)} (${p.trivyConfigRuns} runs)`, '≪ 1');
    row(
      'API writes ÷ report',
      `${n(p.writesPerReport)} (${p.writes} writes; ${outcomes(p.writerOutcomes)})${p.otherKindWrites ? `; besides, ${p.otherKindWrites} reports of the cluster's own objects` : ''}`,
      '1.0',
    );
    row('requests published', `image ${p.requestsPublished.image}, config ${p.requestsPublished.config}`);
    row('API requests (all clients, top 8)', topRequests(p.apiRequests));
    if (p.nats) {
      row(
        'NATS traffic (server counters)',
        `in ${p.nats.inMsgs} msgs / ${mb(p.nats.inBytes)}, out ${p.nats.outMsgs} msgs / ${mb(p.nats.outBytes)}`,
      );
    }
    row(
      'publish→ack (watcher)',
      `p50 ${ms(p.publishAck.p50Ms)}  p99 ${ms(p.publishAck.p99Ms)}  (${p.publishAck.count} publishes)`,
    );
    cpuRows(row, p.cpu, p.reports);
    row('CPU per report, all fleetscan services', ms(p.cpuPerReportMs));
    if (o.configOnly) {
      // Issue 13's figure for config audits: everything fleetscan runs, per owner audited.
      row('fleetscan CPU per owner (watcher, writer, scanner, trivy)', ms(fleetscanCpuMs(p)), '≤ 20 ms');
    }
    row(
      'peak RSS watcher / writer',
      `${mb(p.peakRss.watcher)} / ${mb(p.peakRss.writer)}`,
      '≤ 200 MB (watcher)',
    );
    row('peak RSS scanner', mb(p.peakRss.scanners));
  }
  const c = r.cliPass;
  if (c) {
    section('former config audit engine, same fleet (reports deleted, services restarted)');
    row(r.complete ? 'time to all reports' : 'time until the run gave up', s(c.timeToAllReportsMs));
    row('time to 99% of owners reported', s(c.timeTo99PctMs));
    row('all CPU of the pass ÷ cores', s(c.cpuBoundMs));
    row('reports', `${c.reports} of ${r.fleet.expectedReports}`);
    row('requests published', `image ${c.requestsPublished.image}, config ${c.requestsPublished.config}`);
    cpuRows(row, c.cpu, c.reports);
    row('peak RSS scanner', mb(c.peakRss.scanners));
    if (p) {
      row('fleetscan CPU per report, worker / former', `${ms(fleetscanCpuMs(p))} / ${ms(fleetscanCpuMs(c))}`);
      row('time to all reports, former ÷ worker', x(c.timeToAllReportsMs / p.timeToAllReportsMs));
    }
  }
  const q = r.secondPass;
  if (q) {
    section('second pass (watcher + writer restarted, all reported)');
    row('time to ready (/readyz)', s(q.readyMs));
    row('time to every owner evaluated', s(q.evaluatedMs));
    row('trivy runs', `image ${q.trivyImageRuns}, config ${q.trivyConfigRuns}`, '0');
    row('API writes', `${q.writes} (${outcomes(q.writerOutcomes)})`, '0');
    row('requests published', `image ${q.requestsPublished.image}, config ${q.requestsPublished.config}`);
    row(
      'report watch events',
      `added ${q.reportEvents.added}, modified ${q.reportEvents.modified}, deleted ${q.reportEvents.deleted}`,
    );
    row('CPU watcher / writer', `${q.cpu.watcherSec.toFixed(1)} s / ${q.cpu.writerSec.toFixed(1)} s`);
    row('peak RSS watcher / writer', `${mb(q.peakRss.watcher)} / ${mb(q.peakRss.writer)}`);
  }
  const b = r.baseline;
  if (b) {
    section(`baseline (trivy-operator's model, ${b.concurrency} trivy at once on ${r.machine.nproc} cores)`);
    row(
      b.extrapolated ? `measured on ${b.owners} owners` : 'measured on all owners',
      `${s(b.wallMs)} (${b.imageRuns} image + ${b.configRuns} config runs${b.failures ? `, ${b.failures} failed` : ''})`,
    );
    row(b.extrapolated ? `EXTRAPOLATED to ${r.fleet.workloads} owners` : 'baseline time', s(b.estimatedMs));
    row('mean trivy run at that concurrency', `image ${ms(b.meanImageMs)}, config ${ms(b.meanConfigMs)}`);
    row('baseline ÷ fleetscan time', x(b.ratioToFleetscan), '≥ 10×');
    row('amplification base / fleetscan', `${x(b.amplification)} / ${x(r.firstPass?.amplification)}`);
    row('trivy CPU of the sample', `${b.trivyCpuSec.toFixed(1)} s`);
  }
  probeRows(r, row, section);
  const d = r.dbUpdate;
  if (d) {
    section('DB update (a new trivy DB version: every VulnerabilityReport re-matched)');
    row(
      d.complete ? 'time until every report carries it' : 'time until the run gave up',
      `${s(d.refreshMs)} (${d.refreshed} of ${d.reports} reports, from the new version in place)`,
    );
    row('  last report → pipeline idle', d.drained ? 'idle' : 'not idle');
    row(
      'trivy runs',
      `image ${d.work.trivyRuns.image}, sbom re-match ${d.work.trivyRuns.sbom}, config ${d.work.trivyRuns.config}`,
    );
    row(
      'API writes',
      `${d.work.writes} (${n(d.work.writes / Math.max(1, d.refreshed + (d.probeReports ?? 0)))} per refreshed or probe report)` +
        (d.work.otherKindWrites
          ? `; besides, ${d.work.otherKindWrites} of other kinds (the probes' secrets and SBOMs)`
          : ''),
    );
    row(
      'requests published',
      `image ${d.work.published.image}, config ${d.work.published.config}` +
        (d.work.lateOwners
          ? `; ${d.work.lateOwners} image results written for an owner seen after their fan-out`
          : ''),
    );
    row('API requests (all clients, top 8)', topRequests(d.apiRequests));
    cpuRows(row, d.cpu, d.refreshed);
  }
  const a = r.apiCost;
  if (a) {
    section(
      `API server cost per report write (${a.reportsPerWay} each way, ${a.concurrency} at once, ${a.rounds} rounds, copies of ${a.templates} real reports of ${Math.round(a.meanBodyBytes)} bytes)`,
    );
    row(
      'idle CPU (taken out below)',
      `kube-apiserver ${(a.idle.apiserverPerSec * 1000).toFixed(0)} ms/s, etcd ${(a.idle.etcdPerSec * 1000).toFixed(0)} ms/s`,
    );
    for (const c of a.costs) {
      row(
        c.way,
        `kube-apiserver ${ms(c.apiserverMs)}, etcd ${ms(c.etcdMs)} per write; ${c.writesPerSec.toFixed(0)} writes/s${c.failures ? `; ${c.failures} failed` : ''}`,
      );
    }
    const cost = (way: string) => a.costs.find((c) => c.way === way);
    const ac = cost('apply-create');
    const pc = cost('post-create');
    const pm = cost('post-create-migrated');
    if (ac && pc && ac.apiserverMs > 0) {
      row('create by POST ÷ by apply (kube-apiserver CPU)', x(pc.apiserverMs / ac.apiserverMs));
    }
    if (ac && pm && ac.apiserverMs > 0) {
      row('create by POST + ownership patch ÷ by apply', x(pm.apiserverMs / ac.apiserverMs));
    }
    for (const sem of a.semantics) {
      row(
        `created by ${sem.created}, then applied without a field`,
        `${sem.droppedFieldRemoved ? 'field removed' : 'FIELD STAYS'}; managers ${sem.managersAfterCreate.join(', ')} → ${sem.managersAfterApply.join(', ')}`,
      );
    }
  }
  scaleOutRows(r, row, section);
  if (r.throughput.length) {
    section('scanner throughput (fresh images + config audits published directly)');
    for (const t of r.throughput) {
      row(
        `S = ${t.scanners}`,
        `${s(t.wallMs)} for ${t.images} images + ${t.configs} audits: ${t.imagesPerSec.toFixed(2)} images/s, ${t.configsPerSec.toFixed(1)} audits/s (${t.trivyConfigRuns} config runs)`,
      );
    }
    const [one, two] = r.throughput;
    if (one && two) row('S=2 ÷ S=1 speed-up', x(one.wallMs / two.wallMs));
  }
  const met = goals(r);
  if (met.length > 0) {
    section(`goals: ${met.filter((g) => g.met).length} of ${met.length} met`);
    for (const g of met) row(g.goal, `${g.met ? 'met' : 'MISSED'} (${g.got})`);
  }
  if (r.error) row('ERROR', r.error);
  if (!r.complete) row('INCOMPLETE', 'the run did not finish; figures above are partial');

  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => (x[2] ? x[1].length : 0)));
  const lines = rows.map(([k, v, goal]) =>
    k.startsWith('— ') ? `\n${k}` : `${k.padEnd(w0)}  ${goal ? `${v.padEnd(w1)}  goal ${goal}` : v}`,
  );
  for (const pr of r.profiles) {
    lines.push('', `— CPU profile ${pr.service}: ${s(pr.totalMs)} busy`);
    for (const h of pr.packages.slice(0, 8))
      lines.push(`  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.what}`);
    lines.push('  top functions (self time):');
    for (const h of pr.functions.slice(0, 10))
      lines.push(`  ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.what}`);
  }
  return `${lines.join('\n').trimStart()}\n`;
}

function cpuRows(
  row: (k: string, v: string) => void,
  c: BenchResult['firstPass'] extends infer P ? (P extends { cpu: infer C } ? C : never) : never,
  reports: number,
) {
  const per = (sec: number) => `${((sec * 1000) / Math.max(reports, 1)).toFixed(2)} ms/report`;
  row('CPU watcher', `${c.watcherSec.toFixed(1)} s (${per(c.watcherSec)})`);
  row('CPU writer', `${c.writerSec.toFixed(1)} s (${per(c.writerSec)})`);
  row('CPU scanner (without trivy)', `${c.scannerSec.toFixed(1)} s (${per(c.scannerSec)})`);
  row('CPU trivy', `${c.trivySec.toFixed(1)} s (${per(c.trivySec)})`);
  row(
    'CPU stack (kube, etcd, NATS, registry)',
    `${c.stackSec.toFixed(1)} s (${perProcess(c.stackByProcess)})`,
  );
  row('CPU benchmark process', `${c.benchSec.toFixed(1)} s`);
}

function probeRows(
  r: BenchResult,
  row: (k: string, v: string, goal?: string) => void,
  section: (title: string) => void,
): void {
  const pr = r.probes;
  if (!pr) return;
  section('new workloads under load (one Deployment at a time: created → all its reports)');
  const line = (f: ProbeFigures) =>
    `p50 ${s(f.p50Ms)}  p99 ${s(f.p99Ms)}  max ${s(f.maxMs)}  (${f.reported} of ${f.created} reported)`;
  const parts = (f: ProbeFigures) => {
    row(
      '  of which control plane / fleetscan',
      `created → ReplicaSet p50 ${s(f.ownerP50Ms)} p99 ${s(f.ownerP99Ms)}; ReplicaSet → reports p50 ${s(f.fleetscanP50Ms)} p99 ${s(f.fleetscanP99Ms)}`,
    );
    if (f.server) row('  on kube-apiserver’s clock (p50 / max)', serverTimesParts(f.server));
  };
  if (pr.idle) {
    row('idle fleet', line(pr.idle));
    parts(pr.idle);
  }
  if (pr.idleNewImage) {
    // Not a goal: what a probe that must wait for its image's first analysis takes with no load.
    row('idle fleet, images never scanned', line(pr.idleNewImage));
    parts(pr.idleNewImage);
  }
  const load = [
    ['during the cold start', pr.coldStart],
    ['during the DB update', pr.dbUpdate],
  ] as const;
  for (const [what, f] of load) {
    if (!f) continue;
    row(`${what} (one every ${s(f.intervalMs)})`, line(f));
    parts(f);
    if (pr.idle) {
      const q = latencyRatios(f, pr.idle);
      row(
        '  ÷ idle fleet',
        `p50 ${x(q.p50)}  p99 ${x(q.p99)}  ${q.met ? 'met' : 'MISSED'}`,
        `≤ ${LATENCY_GOAL_RATIO}× (p50 and p99)`,
      );
    }
    for (const m of f.operator) {
      row(
        `  trivy-operator MODEL, job ${s(m.jobMs)}`,
        `p50 ${s(m.p50Ms)}  p99 ${s(m.p99Ms)}  max ${s(m.maxMs)}; its backlog of ${m.backlog} done after ${s(m.backlogDoneMs)}`,
      );
    }
  }
}

function scaleOutRows(
  r: BenchResult,
  row: (k: string, v: string, goal?: string) => void,
  section: (title: string) => void,
): void {
  const so = r.scaleOut;
  if (!so) return;
  section(
    `scanner scale-out, pull-bound (SIMULATION: registry behind a shaped loopback link, ${so.link.connMbps} MB/s per connection, ${so.link.totalMbps} MB/s in all, ${so.link.rttMs} ms round trip)`,
  );
  row(
    'images',
    `${so.images.sizesMb.length} of ${so.images.sizesMb.join(', ')} MB random data (${so.images.totalMb} MB), pushed in ${s(so.images.pushMs)}`,
  );
  const up = speedups(so.runs);
  for (const [i, run] of so.runs.entries()) {
    const goal = scaleGoal(run);
    const sp = up[i];
    row(
      `S = ${run.scanners}, IMAGE_CONCURRENCY ${run.imageConcurrency}`,
      `${run.imagesPerSec.toFixed(3)} images/s (${s(run.wallMs)}, ${run.trivyRuns} trivy runs, link ${(linkUse(run, so.link) * 100).toFixed(0)}% used, trivy CPU ${run.trivyCpuSec.toFixed(1)} s); ${x(sp)}${goal !== undefined && sp !== undefined ? (sp >= goal ? ' met' : ' MISSED') : ''}`,
      goal !== undefined ? `≥ ${goal}×` : undefined,
    );
  }
  const b = so.baseline;
  if (b) {
    row(
      `trivy-operator's model: ${b.jobs} jobs, ${b.concurrency} at once`,
      `${((b.jobs / b.wallMs) * 1000).toFixed(3)} jobs/s (${s(b.wallMs)}; a job ${s(b.meanJobMs)} of which the ${b.dbMb} MB DB ${s(b.meanDbMs)}; ${b.failures} failed)`,
    );
  }
  const f = so.fleet;
  if (f) {
    row(
      `a fleet of ${f.owners} owners over these images`,
      `fleetscan ${s(f.fleetscanMs)} (each digest once, best rate above), per-owner model ${s(f.baselineMs)} (EXTRAPOLATED): ${x(f.ratio)}`,
    );
  }
}

function outcomes(o: Record<string, number>): string {
  const e = Object.entries(o).filter(([, v]) => v > 0);
  return e.length ? e.map(([k, v]) => `${k} ${v}`).join(', ') : 'none';
}

function floorRows(
  r: BenchResult,
  row: (k: string, v: string) => void,
  section: (title: string) => void,
): void {
  section('floor (trivy alone, same run)');
  const imgTotal = r.floor.imageMs.reduce((a, b) => a + b, 0);
  row(
    'image scans back to back',
    `${s(imgTotal)} (${r.floor.imageMs.length} × ${ms(imgTotal / Math.max(1, r.floor.imageMs.length))})`,
  );
  row(
    `config audit of ${r.floor.manifests} owners`,
    `${s(r.floor.configMs)}${r.floor.configRuns > 1 ? ` (${r.floor.configRuns} runs of ≤ 1000)` : ''}`,
  );
  row('floor = sum ÷ concurrency', s(r.floor.floorMs));
  row('trivy CPU in the floor', `${r.floor.trivyCpuSec.toFixed(1)} s`);
}
