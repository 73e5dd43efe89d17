import { readFileSync } from 'node:fs';
import { execa } from 'execa';

/** What .ci/images built, and the storage and engine configuration it built them with. */
export interface ImagesManifest {
  storageConf: string;
  containersConf: string;
  driver: string;
  bases: { node: string; go: string };
  /** One per image docker-compose.yml builds; `service` is its Dockerfile target. */
  images: { service: string; image: string; id: string }[];
}

export function readImagesManifest(path: string): ImagesManifest {
  return JSON.parse(readFileSync(path, 'utf8')) as ImagesManifest;
}

export interface Result {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface Podman {
  /** `podman <args>`; never throws on a non-zero exit (callers assert on it). */
  run(args: string[], timeoutMs?: number): Promise<Result>;
  /** Like run, but throws with stderr unless the exit status is 0. */
  ok(args: string[], timeoutMs?: number): Promise<string>;
}

/**
 * podman on .ci/images' own storage and engine configuration (runc, cgroupfs, ulimits), never the
 * machine's defaults. Bounded: every call has a timeout.
 */
export function podmanFor(m: ImagesManifest): Podman {
  const env = {
    CONTAINERS_STORAGE_CONF: m.storageConf,
    CONTAINERS_CONF: m.containersConf,
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
  };
  const run = async (args: string[], timeoutMs = 120_000): Promise<Result> => {
    const r = await execa('podman', args, { env, extendEnv: false, reject: false, timeout: timeoutMs });
    return { exitCode: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  return {
    run,
    async ok(args, timeoutMs) {
      const r = await run(args, timeoutMs);
      if (r.exitCode !== 0) {
        throw new Error(`podman ${args.join(' ')} exited ${r.exitCode}: ${r.stderr.slice(-2000)}`);
      }
      return r.stdout;
    },
  };
}

/** A Kubernetes container securityContext, as far as podman can apply it. */
export interface SecurityContext {
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  runAsUser?: number;
  runAsGroup?: number;
}

/** The containers' cgroups go under this parent of their own; .ci/images removes it when empty. */
export const CGROUP_PARENT = '/fleetscan';

/**
 * Pure: the `podman run` flags that give a container what its pod spec asks of the kubelet: the
 * read-only root filesystem, no privilege escalation, dropped capabilities, and an emptyDir for each
 * writable path listed in `tmpfs`. The user is left to the image on purpose (the chart's runAsUser is
 * checked against it instead), and the network is the host's: the stack listens on 127.0.0.1.
 */
export function podmanRunFlags(sc: SecurityContext, opts: { tmpfs: string[] }): string[] {
  // The image comes from the stack's registry, which speaks plain HTTP on 127.0.0.1.
  const flags = ['--tls-verify=false', '--network', 'host', '--cgroup-parent', CGROUP_PARENT];
  if (sc.readOnlyRootFilesystem) flags.push('--read-only', '--read-only-tmpfs=false');
  if (sc.allowPrivilegeEscalation === false) flags.push('--security-opt', 'no-new-privileges');
  for (const c of sc.capabilities?.drop ?? []) flags.push('--cap-drop', c);
  for (const c of sc.capabilities?.add ?? []) flags.push('--cap-add', c);
  for (const t of opts.tmpfs) flags.push('--tmpfs', t);
  return flags;
}

/** The uid line of /proc/<pid>/status: real, effective, saved and filesystem uid. */
export function uidsOf(status: string): number[] {
  const line = /^Uid:\s+(.*)$/m.exec(status)?.[1] ?? '';
  return line.split(/\s+/).filter(Boolean).map(Number);
}
