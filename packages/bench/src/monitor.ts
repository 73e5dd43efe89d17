import { type ProcCpu, readCpuWithLiveChildren, readMemory } from './proc.ts';

/**
 * Follows processes through /proc: samples VmHWM (peak resident set) and CPU once a second, so a
 * process that has been stopped keeps its last figures. A process's children's CPU counts its
 * running children too.
 */
export function createMonitor(intervalMs = 1000) {
  const tracked = new Map<string, { pid: number; cpu?: ProcCpu; hwm: number }>();
  const sampleOne = (t: { pid: number; cpu?: ProcCpu; hwm: number }) => {
    const mem = readMemory(t.pid);
    if (mem) t.hwm = Math.max(t.hwm, mem.hwm);
    // Children's CPU includes running ones: the scanners' audit worker lives as long as they do.
    const cpu = readCpuWithLiveChildren(t.pid);
    if (cpu) t.cpu = cpu;
  };
  const timer = setInterval(() => {
    for (const t of tracked.values()) sampleOne(t);
  }, intervalMs);
  timer.unref();
  return {
    track(name: string, pid: number): void {
      const t = { pid, hwm: 0 };
      tracked.set(name, t);
      sampleOne(t);
    },
    /** CPU times now (or the last ones read, once the process is gone). */
    cpu(name: string): ProcCpu | undefined {
      const t = tracked.get(name);
      if (!t) return undefined;
      sampleOne(t);
      return t.cpu;
    },
    /** Highest VmHWM seen, bytes. */
    peakRss(name: string): number {
      const t = tracked.get(name);
      if (!t) return 0;
      sampleOne(t);
      return t.hwm;
    },
    pid: (name: string) => tracked.get(name)?.pid,
    stop: () => clearInterval(timer),
  };
}
export type Monitor = ReturnType<typeof createMonitor>;
