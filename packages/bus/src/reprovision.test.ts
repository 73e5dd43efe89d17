import { describe, expect, it } from 'vitest';
import { createReprovision, streamGone } from './reprovision.ts';

function harness() {
  const answers: ((ok: boolean) => void)[] = [];
  const episodes: string[] = [];
  const logged: unknown[] = [];
  const missing: string[] = [];
  const r = createReprovision({
    provision: () => new Promise<boolean>((resolve) => answers.push(resolve)),
    logger: { warn: (o: unknown) => void logged.push(o) },
    onEpisode: (resource) => episodes.push(resource),
    onMissing: (reason) => missing.push(reason),
  });
  return { r, answers, episodes, logged, missing };
}

describe('asking the scanners again for a resource found gone', () => {
  it('is one retry chain per episode: asks joined, counted and logged once, /readyz says why', async () => {
    const h = harness();
    const first = h.r.ask('failures', 'stream not found');
    const second = h.r.ask('manifests', 'stream not found');
    expect(h.answers).toHaveLength(1);
    expect(h.episodes).toEqual(['failures']);
    expect(h.logged).toEqual([{ resource: 'failures', err: 'stream not found' }]);
    expect(h.missing).toEqual([expect.stringMatching(/^failures missing \(stream not found\): asking/)]);
    // requestProvision's reasons while it waits keep naming what is missing.
    expect(h.r.explain('waiting for a scanner to answer fleetscan.provision.a (none running)')).toBe(
      'failures missing: waiting for a scanner to answer fleetscan.provision.a (none running)',
    );
    h.answers[0]?.(true);
    expect(await first).toBe(true);
    expect(h.r.explain('no scanner answered')).toBe('no scanner answered');
    expect(await second).toBe(true);
    // Found gone again later: a new episode.
    const third = h.r.ask('consumer', 'consumer not found');
    expect(h.answers).toHaveLength(2);
    expect(h.episodes).toEqual(['failures', 'consumer']);
    h.answers[1]?.(false);
    expect(await third).toBe(false);
  });

  it('ends the episode when the request chain throws, so the next ask starts another', async () => {
    let calls = 0;
    const r = createReprovision({
      provision: async () => {
        calls++;
        throw new Error('closed');
      },
      logger: { warn: () => {} },
      onEpisode: () => {},
      onMissing: () => {},
    });
    expect(await r.ask('failures', 'x')).toBe(false);
    expect(await r.ask('failures', 'x')).toBe(false);
    expect(calls).toBe(2);
  });
});

describe('streamGone', () => {
  it('is true only when stream info says not found', async () => {
    const notFound = Object.assign(new Error('stream not found'), { api_error: { code: 404 } });
    expect(await streamGone({ info: () => Promise.reject(notFound) }, 'S')).toBe(true);
    expect(await streamGone({ info: () => Promise.reject(new Error('TIMEOUT')) }, 'S')).toBe(false);
    expect(await streamGone({ info: async () => ({}) as never }, 'S')).toBe(false);
  });
});
