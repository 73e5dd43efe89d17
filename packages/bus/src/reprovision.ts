import type { Logger } from '@fleetscan/service';
import type { StreamAPI } from '@nats-io/jetstream';
import { bounded } from './retry-policy.ts';
import { isNotFound } from './topology.ts';

/** A cluster resource a watcher or writer uses and the scanners make (cluster-resources.ts). */
export type ClusterResource = 'consumer' | 'failures' | 'manifests';

export interface Reprovision {
  /**
   * `resource` was found missing (`why`: the error that told): asks the scanners to provision the
   * cluster again. Resolves true once they answered ok, false on shutdown. While an episode is in
   * flight, another ask joins it: one retry chain, one count, one log line per episode.
   */
  ask(resource: ClusterResource, why: string): Promise<boolean>;
  /**
   * A reason the provisioning request waits (requestProvision's onWaiting), as /readyz says it:
   * during an episode it names the missing resource first, so the reason stays why.
   */
  explain(reason: string): string;
}

/**
 * A watcher's or writer's answer to one of its cluster's resources deleted after it opened it (an
 * operator deleted a bucket or the writer's consumer): it may create none itself, so it asks the
 * scanners again (`provision`: requestProvision, backoff with jitter until answered, each request
 * bounded). Every resource is made by the same request, so one episode covers them all.
 */
export function createReprovision(d: {
  provision(): Promise<boolean>;
  logger: Pick<Logger, 'warn'>;
  /** Counted once per episode, by the resource that started it. */
  onEpisode(resource: ClusterResource): void;
  /** /readyz while it is missing (requestProvision's own reasons follow while it waits). */
  onMissing(reason: string): void;
}): Reprovision {
  let episode: Promise<boolean> | undefined;
  let missing = '';
  return {
    explain: (reason) => (episode ? `${missing}: ${reason}` : reason),
    ask(resource, why) {
      if (episode) return episode;
      missing = `${resource} missing`;
      d.onEpisode(resource);
      const reason = `${resource} missing (${bounded(why, 200)}): asking the scanners to provision it again`;
      d.logger.warn(
        { resource, err: bounded(why) },
        `${resource} missing: asking the scanners to provision it again`,
      );
      d.onMissing(reason);
      episode = d
        .provision()
        .catch(() => false)
        .finally(() => {
          episode = undefined;
        });
      return episode;
    },
  };
}

/** Whether `stream` is gone (stream info: not found); any other error says nothing, so false. */
export async function streamGone(streams: Pick<StreamAPI, 'info'>, stream: string): Promise<boolean> {
  try {
    await streams.info(stream);
    return false;
  } catch (err) {
    return isNotFound(err);
  }
}
