import type { JetStreamClient } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { createRequestPublisher } from './requests.ts';

/** A fake at the wire: records what would go to JetStream and dedupes ids like its duplicate window. */
function fakeJs() {
  const sent: { subject: string; msgID: string; body: unknown }[] = [];
  const seen = new Set<string>();
  const js = {
    publish: async (subject: string, data: Uint8Array, opts: { msgID: string }) => {
      const duplicate = seen.has(opts.msgID);
      seen.add(opts.msgID);
      if (!duplicate)
        sent.push({ subject, msgID: opts.msgID, body: JSON.parse(new TextDecoder().decode(data)) });
      return { duplicate, seq: sent.length, stream: 'S' };
    },
  } as unknown as JetStreamClient;
  return { js, sent };
}

const image = {
  namespace: 'ns',
  image: 'r/app:1',
  scanners: ['vuln' as const],
  settings: {},
  scanConfigHash: 'h',
};

describe('request publisher', () => {
  it('publishes one request per image while it is pending, then asks again past the share window', async () => {
    let t = 0;
    const { js, sent } = fakeJs();
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

  it('a retry (deleted report) publishes at once with a new id', async () => {
    const { js, sent } = fakeJs();
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

  it('the same request after a restart gets the same id, which JetStream drops', async () => {
    const { js } = fakeJs();
    const mk = () =>
      createRequestPublisher({
        js,
        cluster: 'c1',
        now: () => new Date(0),
        retryAfterMs: 600_000,
        shareWindowMs: 30_000,
      });
    expect(await mk().image(image)).toBe('published');
    expect(await mk().image(image)).toBe('duplicate');
  });
});
