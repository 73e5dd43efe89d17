import type { ServiceProcess } from '@fleetscan/demo';
import { type Sample, scrape, sumOf } from './prom.ts';
import type { Tracker, TrackerCounts } from './tracker.ts';

/** The live progress line: elapsed time, the tracker's counts, the watcher's and scanners' counters. */
export function progressLine(o: {
  elapsedMs: number;
  owners: number;
  counts: TrackerCounts;
  watcher: readonly Sample[];
  scanners: readonly Sample[];
}): string {
  const c = o.counts;
  const published = (type: string) =>
    sumOf(o.watcher, 'fleetscan_watcher_requests_total', { type, outcome: 'published' });
  const runs = (type: string) => sumOf(o.scanners, 'fleetscan_scanner_trivy_runs_total', { type });
  return [
    `${(o.elapsedMs / 1000).toFixed(0).padStart(4)} s`,
    `created ${c.created}/${o.owners}`,
    `owners ${c.ownersSeen}`,
    `requests img ${published('image')} cfg ${published('config')}`,
    `trivy img ${runs('image')} cfg ${runs('config')}`,
    `reports ${c.reports}/${c.expectedReports}`,
    `done ${c.done}/${c.workloads}`,
  ].join(' · ');
}

/** Prints the progress line every 2 s until the returned function is called (once more then). */
export function progressLoop(
  say: (line: string) => void,
  t: Tracker,
  svcs: readonly ServiceProcess[],
  owners: number,
  now: () => number,
): () => void {
  const t0 = now();
  let busy = false;
  const tick = async () => {
    if (busy) return;
    busy = true;
    try {
      const watcher = svcs.find((s) => s.name === 'watcher');
      const scanners = svcs.filter((s) => s.name.startsWith('scanner'));
      const w = watcher ? await scrape(watcher.metricsUrl, 2000) : [];
      const sc = (await Promise.all(scanners.map((s) => scrape(s.metricsUrl, 2000)))).flat();
      say(progressLine({ elapsedMs: now() - t0, owners, counts: t.counts(), watcher: w, scanners: sc }));
    } finally {
      busy = false;
    }
  };
  const timer = setInterval(() => void tick(), 2000);
  return () => {
    clearInterval(timer);
    void tick();
  };
}
