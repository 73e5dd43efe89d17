import { rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { waitServicesReady } from '@fleetscan/demo';
import { startRegistry } from '@fleetscan/stack';
import { createTrivyRunner } from '@fleetscan/trivy';
import { type BigImage, bigImageSizesMb, pushBigImage, pushRandomBlob } from './big-images.ts';
import { type BenchContext, now } from './context.ts';
import { linkShape, MB } from './link-pacing.ts';
import type { ScaleOutOptions } from './options.ts';
import { cpuSnapshot } from './pass-io.ts';
import { childCpu, ownCpu } from './proc.ts';
import { type BaselineJobs, fleetTimes, type ScaleOutRun, toMb } from './scale-out-figures.ts';
import { startShapedLink } from './shaped-link.ts';
import { mapLimit } from './stats.ts';
import { measureThroughput } from './throughput.ts';

/** trivy-operator's default scan-job limit. */
const OPERATOR_JOBS = 10;
/** Room kept free on the disk besides the images: the rest of the stack, logs, the other engineers. */
const DISK_MARGIN_BYTES = 5 * 1024 * MB;
const RUN_TIMEOUT_MS = 20 * 60_000;
const SCAN_TIMEOUT_SEC = 1800;

export interface ScaleOutResult {
  link: { connMbps: number; totalMbps: number; rttMs: number };
  images: { sizesMb: number[]; totalMb: number; pushMs: number };
  runs: ScaleOutRun[];
  baseline?: BaselineJobs;
  /** A fleet of --owners owners over these images, at the measured rates. */
  fleet?: { owners: number } & ReturnType<typeof fleetTimes>;
}

/**
 * Scanner scale-out where pulling dominates (a SIMULATION of a remote registry): big images of
 * random data on a registry of their own behind a shaped loopback link (shaped-link.ts); for each
 * replica count × IMAGE_CONCURRENCY, fresh scanners scan every image once (a skip dir unique to the
 * run gives every digest a new analysis key, so nothing comes from the cache); then trivy-operator's
 * per-owner model: jobs 10 at once, each downloading a DB through the same link first. The registry
 * and its data are removed at the end, whatever happened.
 */
export async function runScaleOut(
  ctx: BenchContext,
  o: ScaleOutOptions | undefined,
): Promise<ScaleOutResult> {
  if (!o) throw new Error('scale-out without its options');
  const { io, stack } = ctx;
  const sizesMb = bigImageSizesMb(o.images, o.minMb, o.maxMb);
  const totalMb = sizesMb.reduce((a, b) => a + b, 0);
  const dir = join(stack.dir, 'big-registry');
  const fs = await statfs(stack.dir);
  const free = fs.bavail * fs.bsize;
  const need = (totalMb + o.dbMb) * MB + DISK_MARGIN_BYTES;
  if (free < need) {
    throw new Error(
      `scale-out needs ${Math.round(need / MB)} MB free next to ${stack.dir} (images, DB, a margin), ${Math.round(free / MB)} MB are`,
    );
  }
  const registry = await startRegistry({ dir, dieWithParent: true });
  let link: Awaited<ReturnType<typeof startShapedLink>> | undefined;
  try {
    io.say(
      `scale-out: pushing ${o.images} images of ${sizesMb.join(', ')} MB of random data (${totalMb} MB)`,
    );
    const t0 = now();
    const images: BigImage[] = [];
    for (const [i, mb] of sizesMb.entries()) images.push(await pushBigImage(registry, i, mb, ctx.run));
    const db = o.dbMb > 0 ? await pushRandomBlob(registry, 'bench/trivy-db', o.dbMb * MB) : undefined;
    const pushMs = now() - t0;
    link = await startShapedLink(registry.host, linkShape(o));
    io.say(
      `scale-out: registry behind a shaped link at ${link.host}: ${o.connMbps} MB/s per connection, ${o.totalMbps} MB/s in all, ${o.rttMs} ms round trip (SIMULATION)`,
    );
    // Asked for largest first: a big image started last would finish alone, whatever the replicas.
    const refs = [...images].reverse().map((im) => `${link?.host}/${im.repository}:${im.tag}`);
    const runs: ScaleOutRun[] = [];
    for (const scanners of o.replicas) {
      for (const c of o.concurrency) {
        runs.push(await scaleRun(ctx, { scanners, concurrency: c, refs, link }));
      }
    }
    const baseline = o.baselineJobs > 0 ? await baselineJobs(ctx, { refs, db, link, o }) : undefined;
    const best = Math.max(...runs.map((r) => r.imagesPerSec));
    return {
      link: { connMbps: o.connMbps, totalMbps: o.totalMbps, rttMs: o.rttMs },
      images: { sizesMb, totalMb, pushMs },
      runs,
      ...(baseline && { baseline }),
      ...(baseline &&
        best > 0 && {
          fleet: {
            owners: ctx.opts.owners,
            ...fleetTimes({
              owners: ctx.opts.owners,
              images: images.length,
              bestImagesPerSec: best,
              baseline,
            }),
          },
        }),
    };
  } finally {
    await link?.close();
    await registry.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** S fresh scanners, IMAGE_CONCURRENCY c each, scanning every image once. */
async function scaleRun(
  ctx: BenchContext,
  r: { scanners: number; concurrency: number; refs: readonly string[]; link: { bytes: number } },
): Promise<ScaleOutRun> {
  ctx.io.say(
    `scale-out: ${r.scanners} scanner(s) × IMAGE_CONCURRENCY ${r.concurrency}, ${r.refs.length} images`,
  );
  const generation = 100 + r.scanners * 10 + r.concurrency;
  const scs = await ctx.startServices({
    scanners: r.scanners,
    only: 'scanner',
    generation,
    env: { IMAGE_CONCURRENCY: String(r.concurrency), SCAN_TIMEOUT_SECONDS: String(SCAN_TIMEOUT_SEC) },
  });
  try {
    await waitServicesReady(scs);
    const names = new Set(scs.map((s) => `${s.name}#${generation}`));
    const mine = ctx.started.filter((s) => names.has(s.name));
    const cpu0 = cpuSnapshot(ctx.monitor, mine, []);
    const bytes0 = r.link.bytes;
    const t = await measureThroughput({
      stack: ctx.stack,
      cluster: `so-${r.scanners}-${r.concurrency}`,
      scannerMetricsUrls: scs.map((s) => s.metricsUrl),
      images: r.refs,
      manifests: [],
      timeoutMs: RUN_TIMEOUT_MS,
      settings: { skipDirs: [`/fleetscan-bench-${ctx.run}-${r.scanners}x${r.concurrency}`] },
    });
    const cpu1 = cpuSnapshot(ctx.monitor, mine, []);
    const sum = (f: (c: NonNullable<ReturnType<typeof cpu1.get>>) => number) =>
      mine.reduce((a, s) => {
        const x = cpu1.get(s.name);
        const y = cpu0.get(s.name);
        return a + (x && y ? f(x) - f(y) : 0);
      }, 0);
    const run: ScaleOutRun = {
      scanners: r.scanners,
      imageConcurrency: r.concurrency,
      images: t.images,
      wallMs: t.wallMs,
      imagesPerSec: t.imagesPerSec,
      pulledMb: toMb(r.link.bytes - bytes0),
      trivyRuns: t.trivyImageRuns,
      scannerCpuSec: sum(ownCpu),
      trivyCpuSec: sum(childCpu),
    };
    ctx.io.say(`  ${run.imagesPerSec.toFixed(3)} images/s (${(run.wallMs / 1000).toFixed(1)} s)`);
    return run;
  } finally {
    for (const s of scs) await s.process.stop();
  }
}

/**
 * trivy-operator's per-owner model over the same link: each job downloads the DB (its init
 * container) and then pulls and scans one image (no sharing between owners), 10 jobs at once.
 */
async function baselineJobs(
  ctx: BenchContext,
  b: {
    refs: readonly string[];
    db: { digest: string } | undefined;
    link: { host: string; bytes: number };
    o: ScaleOutOptions;
  },
): Promise<BaselineJobs> {
  const { io, stack } = ctx;
  io.say(
    `scale-out baseline: ${b.o.baselineJobs} jobs, ${OPERATOR_JOBS} at once, each a ${b.o.dbMb} MB DB download and one image`,
  );
  const runner = createTrivyRunner({
    bin: stack.trivy.bin,
    cacheDir: stack.trivy.cacheDir,
    timeoutMs: SCAN_TIMEOUT_SEC * 1000,
    logger: { debug() {}, warn() {} },
  });
  const bytes0 = b.link.bytes;
  const t0 = now();
  let failures = 0;
  const jobMs: number[] = [];
  const dbMs: number[] = [];
  await mapLimit(
    Array.from({ length: b.o.baselineJobs }, (_, k) => k),
    OPERATOR_JOBS,
    async (k) => {
      const start = now();
      try {
        if (b.db) {
          const res = await fetch(`http://${b.link.host}/v2/bench/trivy-db/blobs/${b.db.digest}`);
          for await (const _ of res.body ?? []) {
            // The init container's download: read to the end, kept nowhere.
          }
          dbMs.push(now() - start);
        }
        await runner.scanImage(b.refs[k % b.refs.length] as string, { scanners: ['vuln'] });
      } catch {
        failures++;
      }
      jobMs.push(now() - start);
    },
  );
  const mean = (xs: number[]) => (xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : 0);
  const out: BaselineJobs = {
    jobs: b.o.baselineJobs,
    concurrency: OPERATOR_JOBS,
    dbMb: b.o.dbMb,
    wallMs: now() - t0,
    failures,
    meanJobMs: mean(jobMs),
    meanDbMs: mean(dbMs),
    pulledMb: toMb(b.link.bytes - bytes0),
  };
  io.say(
    `  ${((out.jobs / out.wallMs) * 1000).toFixed(3)} jobs/s, mean job ${(out.meanJobMs / 1000).toFixed(1)} s`,
  );
  return out;
}
