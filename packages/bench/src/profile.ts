/** V8 .cpuprofile (as written by node --cpu-prof): what the summary reads of it. */
export interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number };
    hitCount?: number;
  }[];
  startTime: number;
  endTime: number;
  samples?: number[];
}

export interface HotSpot {
  /** `function (file:line)` or a package name. */
  what: string;
  /** Self time in ms, estimated as hits × mean sampling interval. */
  selfMs: number;
  share: number;
}

/**
 * Self time by function and by package (node_modules/<pkg>, packages/<name>, services/<name>,
 * node:internals, GC, idle), from a CPU profile: where a service's CPU goes.
 */
export function summarizeProfile(
  p: CpuProfile,
  top = 12,
): { functions: HotSpot[]; packages: HotSpot[]; totalMs: number } {
  const hits = p.nodes.reduce((a, n) => a + (n.hitCount ?? 0), 0);
  const intervalMs = hits > 0 ? (p.endTime - p.startTime) / 1000 / hits : 0;
  const byFn = new Map<string, number>();
  const byPkg = new Map<string, number>();
  let busy = 0;
  for (const n of p.nodes) {
    const h = n.hitCount ?? 0;
    if (!h) continue;
    const { functionName, url, lineNumber } = n.callFrame;
    const pkg = packageOf(functionName, url);
    byPkg.set(pkg, (byPkg.get(pkg) ?? 0) + h);
    if (pkg === '(idle)') continue;
    busy += h;
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/(node_modules|packages|services)\//, '$1/');
    const key = `${functionName || '(anonymous)'} (${file || 'native'}:${lineNumber + 1})`;
    byFn.set(key, (byFn.get(key) ?? 0) + h);
  }
  const rank = (m: Map<string, number>, denom: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([what, h]) => ({ what, selfMs: h * intervalMs, share: denom ? h / denom : 0 }));
  return { functions: rank(byFn, busy), packages: rank(byPkg, hits), totalMs: busy * intervalMs };
}

function packageOf(fn: string, url: string): string {
  if (fn === '(idle)' || fn === '(program)' || fn === '(garbage collector)') return fn;
  if (!url) return '(native)';
  if (url.startsWith('node:')) return 'node:internals';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1] as string;
  const own = /\/((?:packages|services)\/[^/]+)\//.exec(url);
  if (own) return own[1] as string;
  return url.replace(/^file:\/\//, '');
}
