import { describe, expect, it } from 'vitest';
import { createRequestPublisher } from './requests.ts';
import { fakeJetStream } from './testing/fake-jetstream.ts';

const image = {
  namespace: 'ns',
  image: 'r/app:1',
  scanners: ['vuln' as const],
  settings: {},
  scanConfigHash: 'h',
};
const config = {
  owner: { apiVersion: 'apps/v1', kind: 'ReplicaSet', namespace: 'ns', name: 'web', uid: 'u1' },
  specHash: 's1',
  pluginConfigHash: 'p',
  settings: {},
};
const manifest = async () => ({
  manifest: {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'ns' },
    spec: {},
  },
});

describe('request publisher', () => {
  it('asks again in the bulk lane (a resync) only after REQUEST_RETRY_SECONDS, or the duplicate window after a dropped id', async () => {
    let t = 0;
    const { js, sent } = fakeJetStream({ now: () => t });
    const make = () =>
      createRequestPublisher({
        js,
        cluster: 'c1',
        now: () => new Date(t),
        retryAfterMs: 600_000,
        shareWindowMs: 30_000,
      });
    const p = make();
    expect(await p.image(image, '', 'bulk')).toBe('published');
    t = 300_000; // a resync: the scan may still be running; no second chain
    expect(await p.image(image, '', 'bulk')).toBe('pending');
    t = 600_000;
    expect(await p.image(image, '', 'bulk')).toBe('published');
    // A watcher restarted 10 s later asks with the id its predecessor used: JetStream drops it, and
    // nothing says an answer is coming, so the resync after the duplicate window asks again.
    t = 610_000;
    const restarted = make();
    expect(await restarted.image(image, '', 'bulk')).toBe('published');
    t = 620_000;
    const again = make();
    expect(await again.image(image, '', 'bulk')).toBe('duplicate');
    t = 700_000;
    expect(await again.image(image, '', 'bulk')).toBe('pending');
    t = 745_000;
    expect(await again.image(image, '', 'bulk')).toBe('published');
    expect(sent).toHaveLength(4);
  });

  it('publishes one request per image while it is pending, then asks again past the share window', async () => {
    let t = 0;
    const { js, sent } = fakeJetStream({ now: () => t });
    const p = createRequestPublisher({
      js,
      cluster: 'c1',
      now: () => new Date(t),
      retryAfterMs: 600_000,
      shareWindowMs: 30_000,
    });
    expect(await p.image(image)).toBe('published');
    expect(await p.image(image)).toBe('pending');
    t = 40_000; // past the share window: the owner asking may have missed the fan-out, so a new id
    expect(await p.image(image)).toBe('published');
    t = 50_000;
    expect(await p.image(image)).toBe('pending');
    expect(sent.map((s) => s.msgID)).toEqual([
      `${p.imageKey('ns', 'r/app:1', 'h')}#0`,
      `${p.imageKey('ns', 'r/app:1', 'h')}#1`,
    ]);
    expect(sent[0]?.subject).toBe('fleetscan.scan.image.c1');
    expect(sent[0]?.body).toMatchObject({ v: 1, cluster: 'c1', image: 'r/app:1' });
  });

  it('a request past the message limits is never sent nor remembered, so nothing retries it', async () => {
    const { js, sent } = fakeJetStream();
    const p = createRequestPublisher({ js, cluster: 'c1', now: () => new Date(0), retryAfterMs: 600_000 });
    const huge = `r/app:${'x'.repeat(900_000)}`;
    expect(await p.image({ ...image, image: huge })).toBe('invalid');
    expect(await p.image({ ...image, image: huge })).toBe('invalid');
    const longName = { ...config, owner: { ...config.owner, name: 'n'.repeat(254) } };
    expect(await p.config(longName, manifest)).toBe('invalid');
    expect(sent).toEqual([]);
    expect(p.remembered.size).toBe(0);
  });

  it('a retry (deleted report) publishes at once with a new id', async () => {
    const { js, sent } = fakeJetStream();
    const p = createRequestPublisher({
      js,
      cluster: 'c1',
      now: () => new Date(0),
      retryAfterMs: 600_000,
      shareWindowMs: 30_000,
    });
    await p.image(image);
    p.retry(p.imageKey('ns', 'r/app:1', 'h'));
    expect(await p.image(image)).toBe('published');
    expect(sent).toHaveLength(2);
  });

  it('an image request a restarted watcher repeats goes out once more, with the next id', async () => {
    // The predecessor's request may have been answered before the owner asking now existed: dropped
    // as a repeat, the new owner waited for the resync (the faults test saw 293 s).
    const { js, sent } = fakeJetStream();
    const mk = () =>
      createRequestPublisher({
        js,
        cluster: 'c1',
        now: () => new Date(0),
        retryAfterMs: 600_000,
        shareWindowMs: 30_000,
      });
    expect(await mk().image(image)).toBe('published');
    const restarted = mk();
    expect(await restarted.image(image)).toBe('published');
    expect(await restarted.image(image)).toBe('pending');
    const key = restarted.imageKey('ns', 'r/app:1', 'h');
    expect(sent.map((s) => s.msgID)).toEqual([`${key}#0`, `${key}#1`]);
  });

  it('the same config request after a restart gets the same id, which JetStream drops', async () => {
    // A config request is for one owner's spec: the predecessor's answers this owner too.
    const { js, sent } = fakeJetStream();
    const mk = () =>
      createRequestPublisher({ js, cluster: 'c1', now: () => new Date(0), retryAfterMs: 600_000 });
    expect(await mk().config(config, manifest)).toBe('published');
    expect(await mk().config(config, manifest)).toBe('duplicate');
    expect(sent).toHaveLength(1);
  });

  it('a request whose publish failed is not pending: the next need publishes it, with the same id', async () => {
    const { js, sent, failNext } = fakeJetStream();
    const p = createRequestPublisher({
      js,
      cluster: 'c1',
      now: () => new Date(0),
      retryAfterMs: 600_000,
      shareWindowMs: 30_000,
    });
    failNext();
    await expect(p.config(config, manifest)).rejects.toThrow('TIMEOUT');
    expect(await p.config(config, manifest)).toBe('published');
    expect(sent.map((s) => s.msgID)).toEqual([`${p.configKey('u1', 's1', 'p')}#0`]);
  });

  it('forgets answered requests, refreshes and owners that went away, once out of the duplicate window', async () => {
    let t = 0;
    const { js, sent } = fakeJetStream({ now: () => t });
    const p = createRequestPublisher({
      js,
      cluster: 'c1',
      now: () => new Date(t),
      retryAfterMs: 600_000,
      shareWindowMs: 30_000,
    });
    await p.image(image);
    await p.image(image, 'db:sha256:1::2026-01-01');
    await p.image(image, 'recheck:1');
    await p.config(config, manifest);
    expect(p.remembered).toMatchObject({ size: 4, pending: 4 });
    p.retry(p.imageKey('ns', 'r/app:1', 'h'));
    p.ownerGone('u1');
    p.sweep();
    expect(p.remembered.size).toBe(4);
    t = 120_000;
    p.sweep();
    // The refreshes were never answered by a report event, yet they no longer hold anything back.
    expect(p.remembered).toMatchObject({ size: 0, pending: 0 });
    // Asked again, an image starts over at #0: JetStream has forgotten that id by now.
    expect(await p.image(image)).toBe('published');
    expect(sent.at(-1)?.msgID).toBe(`${p.imageKey('ns', 'r/app:1', 'h')}#0`);
  });

  it('reads the manifest only when it publishes, and skips an audit whose object is gone', async () => {
    const { js, sent } = fakeJetStream();
    const p = createRequestPublisher({ js, cluster: 'c1', now: () => new Date(0), retryAfterMs: 600_000 });
    let reads = 0;
    const counted = async () => {
      reads++;
      return manifest();
    };
    expect(await p.config(config, async () => undefined)).toBe('skipped');
    expect(sent).toHaveLength(0);
    // Nothing went out: the next ask publishes at once, with the id the skipped one had.
    expect(await p.config(config, counted)).toBe('published');
    expect(await p.config(config, counted)).toBe('pending');
    expect(reads).toBe(1);
    expect(sent.map((s) => s.msgID)).toEqual([`${p.configKey('u1', 's1', 'p')}#0`]);
  });

  it('keeps a config audit pending for REQUEST_RETRY_SECONDS, however often it is swept', async () => {
    let t = 0;
    const { js, sent } = fakeJetStream({ now: () => t });
    const p = createRequestPublisher({ js, cluster: 'c1', now: () => new Date(t), retryAfterMs: 600_000 });
    await p.config(config, manifest);
    for (t = 0; t < 600_000; t += 60_000) {
      p.sweep();
      expect(await p.config(config, manifest)).toBe('pending');
    }
    t = 600_000;
    expect(await p.config(config, manifest)).toBe('published');
    expect(sent).toHaveLength(2);
  });
});
