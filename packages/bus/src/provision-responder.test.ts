import { createLogger } from '@fleetscan/service';
import { describe, expect, it } from 'vitest';
import { type ProvisionMsg, serveProvisioning } from './provision-responder.ts';

/** A subscription at the wire: messages pushed by the test, answers kept per message. */
function fakeConnection() {
  const queue: ProvisionMsg[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  const subscribed: { subject: string; queue: string }[] = [];
  const answers = new Map<string, unknown[]>();
  const nc = {
    subscribe(subject: string, opts: { queue: string }) {
      subscribed.push({ subject, queue: opts.queue });
      return {
        unsubscribe() {
          closed = true;
          wake?.();
        },
        async *[Symbol.asyncIterator]() {
          for (;;) {
            const m = queue.shift();
            if (m) {
              yield m;
              continue;
            }
            if (closed) return;
            await new Promise<void>((r) => {
              wake = r;
            });
          }
        },
      };
    },
  };
  let n = 0;
  return {
    nc,
    subscribed,
    answers,
    /** Delivers a request on `subject`; returns the id its answers are kept under. */
    ask(subject: string): string {
      const id = `r${n++}`;
      answers.set(id, []);
      queue.push({
        subject,
        respond: (data) => {
          answers.get(id)?.push(JSON.parse(new TextDecoder().decode(data)));
          return true;
        },
      });
      wake?.();
      return id;
    },
  };
}

const settle = async () => {
  for (let i = 0; i < 10; i++) await new Promise((r) => setImmediate(r));
};
const logger = createLogger({ service: 'test', level: 'silent' });

describe('the scanners answering provisioning requests', () => {
  it('subscribes every cluster’s subject in the scanners’ queue group, and provisions the subject’s cluster', async () => {
    const f = fakeConnection();
    const ensured: string[] = [];
    const outcomes: string[] = [];
    const s = serveProvisioning({
      nc: f.nc,
      ensure: async (c) => {
        ensured.push(c);
      },
      logger,
      onAnswer: (o) => outcomes.push(o),
    });
    expect(f.subscribed).toEqual([{ subject: 'fleetscan.provision.*', queue: 'scanners' }]);
    const a = f.ask('fleetscan.provision.prod-1');
    await settle();
    expect(ensured).toEqual(['prod-1']);
    expect(f.answers.get(a)).toEqual([{ ok: true }]);
    expect(outcomes).toEqual(['ok']);
    await s.stop();
  });

  it('answers an invalid cluster name with an error, ensuring nothing', async () => {
    const f = fakeConnection();
    const ensured: string[] = [];
    const outcomes: string[] = [];
    const s = serveProvisioning({
      nc: f.nc,
      ensure: async (c) => {
        ensured.push(c);
      },
      logger,
      onAnswer: (o) => outcomes.push(o),
    });
    const a = f.ask('fleetscan.provision.Prod_1');
    await settle();
    expect(ensured).toEqual([]);
    expect(f.answers.get(a)).toEqual([{ ok: false, error: 'invalid cluster name "Prod_1"' }]);
    expect(outcomes).toEqual(['invalid']);
    await s.stop();
  });

  it('shares one run among the requests for a cluster that come while it runs, and runs again after', async () => {
    const f = fakeConnection();
    const ensured: string[] = [];
    let finish: () => void = () => {};
    const s = serveProvisioning({
      nc: f.nc,
      ensure: (c) => {
        ensured.push(c);
        return new Promise<void>((r) => {
          finish = r;
        });
      },
      logger,
    });
    const ids = [
      f.ask('fleetscan.provision.a'),
      f.ask('fleetscan.provision.a'),
      f.ask('fleetscan.provision.a'),
    ];
    await settle();
    expect(ensured).toEqual(['a']);
    expect(ids.map((id) => f.answers.get(id))).toEqual([[], [], []]);
    finish();
    await settle();
    expect(ids.map((id) => f.answers.get(id))).toEqual([[{ ok: true }], [{ ok: true }], [{ ok: true }]]);
    // Ensured once more for a later request (a resource found missing since).
    const later = f.ask('fleetscan.provision.a');
    await settle();
    expect(ensured).toEqual(['a', 'a']);
    finish();
    await settle();
    expect(f.answers.get(later)).toEqual([{ ok: true }]);
    await s.stop();
  });

  it('answers a failure with its reason, bounded, and the next request tries again', async () => {
    const f = fakeConnection();
    let fail = true;
    const outcomes: string[] = [];
    const s = serveProvisioning({
      nc: f.nc,
      ensure: async () => {
        if (fail) throw new Error(`insufficient resources ${'x'.repeat(1000)}`);
      },
      logger,
      onAnswer: (o) => outcomes.push(o),
    });
    const a = f.ask('fleetscan.provision.a');
    await settle();
    const [answer] = f.answers.get(a) as [{ ok: boolean; error: string }];
    expect(answer.ok).toBe(false);
    expect(answer.error).toMatch(/^insufficient resources x+… \(\d+ more\)$/);
    expect(answer.error.length).toBeLessThanOrEqual(300);
    fail = false;
    const b = f.ask('fleetscan.provision.a');
    await settle();
    expect(f.answers.get(b)).toEqual([{ ok: true }]);
    expect(outcomes).toEqual(['error', 'ok']);
    await s.stop();
  });

  it('stops: unsubscribes and waits for the answers under way', async () => {
    const f = fakeConnection();
    let finish: () => void = () => {};
    const s = serveProvisioning({
      nc: f.nc,
      ensure: () =>
        new Promise<void>((r) => {
          finish = r;
        }),
      logger,
    });
    const a = f.ask('fleetscan.provision.a');
    await settle();
    let stopped = false;
    const stopping = s.stop().then(() => {
      stopped = true;
    });
    await settle();
    expect(stopped).toBe(false);
    finish();
    await stopping;
    expect(f.answers.get(a)).toEqual([{ ok: true }]);
  });
});
