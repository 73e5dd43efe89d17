import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { type ManagedProcess, type StackInfo, startProcess } from '@fleetscan/stack';

/**
 * Restarts the stack's kube-controller-manager with the same command line plus a higher client
 * QPS. At client-go's default (20 QPS, burst 30) it creates about 5.5 Deployments' ReplicaSets
 * and Pods per second, which would make the benchmark measure the controller-manager, not
 * fleetscan. The stack stops its own (already stopped) process as usual; the caller stops this one.
 */
export async function restartControllerManager(stack: StackInfo, qps: number): Promise<ManagedProcess> {
  const old = stack.processes.find((p) => p.name === 'kube-controller-manager');
  if (!old) throw new Error('the stack has no kube-controller-manager process');
  const argv = readFileSync(`/proc/${old.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const [bin, ...args] = argv;
  if (!bin?.includes('kube-controller-manager')) {
    throw new Error(`unexpected kube-controller-manager command line: ${argv.join(' ')}`);
  }
  process.kill(-old.pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(old.pid); i++) await sleep(100);
  if (alive(old.pid)) process.kill(-old.pid, 'SIGKILL');
  const kept = args.filter((a) => !a.startsWith('--kube-api-qps') && !a.startsWith('--kube-api-burst'));
  const proc = startProcess({
    name: 'kube-controller-manager',
    command: bin,
    args: [...kept, `--kube-api-qps=${qps}`, `--kube-api-burst=${qps * 2}`],
    logFile: old.logFile,
    dieWithParent: true,
  });
  const port = kept.find((a) => a.startsWith('--secure-port='))?.split('=')[1];
  const deadline = Date.now() + 60_000;
  while (!(await healthy(Number(port)))) {
    if (Date.now() > deadline) throw new Error(`kube-controller-manager not healthy; log ${old.logFile}`);
    await sleep(200);
  }
  return proc;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, timeout: 2000 },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
    req.end();
  });
}
