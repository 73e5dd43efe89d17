import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { type OpsServer, startOpsServer } from './http.ts';

const health = { healthy: () => true, ready: () => ({ ok: true, reasons: [] }) };
let server: OpsServer | undefined;

afterEach(async () => {
  await server?.close();
  server = undefined;
});

describe('startOpsServer /metrics', () => {
  it("serves the registry's text by default", async () => {
    const registry = new Registry();
    server = await startOpsServer({ port: 0, registry, health });
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(registry.contentType);
  });

  it('streams what render yields, chunk by chunk, waiting for the client to drain', async () => {
    const registry = new Registry();
    const chunk = `${'x'.repeat(9_999)}\n`;
    let produced = 0;
    server = await startOpsServer({
      port: 0,
      registry,
      health,
      render: async function* () {
        for (let i = 0; i < 3_000; i++) {
          produced++;
          yield chunk;
        }
      },
    });
    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe(registry.contentType);
    const reader = res.body?.getReader();
    // Before the client reads, the server has not produced the whole 30 MB: it waits for drain.
    await new Promise((r) => setTimeout(r, 200));
    expect(produced).toBeLessThan(3_000);
    let bytes = 0;
    for (;;) {
      const { done, value } = (await reader?.read()) ?? { done: true, value: undefined };
      if (done) break;
      bytes += value.byteLength;
    }
    expect(bytes).toBe(3_000 * 10_000);
  });

  it('leaves no listener behind on the response at each wait for drain', async () => {
    // Each wait raced 'drain' against 'close'; the loser's listeners stayed on the response until
    // it ended, one more per wait (the writer logged MaxListenersExceededWarning at every scrape).
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const registry = new Registry();
      const chunk = `${'x'.repeat(9_999)}\n`;
      server = await startOpsServer({
        port: 0,
        registry,
        health,
        render: async function* () {
          for (let i = 0; i < 1_000; i++) yield chunk;
        },
      });
      const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
      const reader = res.body?.getReader();
      let bytes = 0;
      for (;;) {
        // A slow client: the server waits for drain again and again.
        await new Promise((r) => setImmediate(r));
        const { done, value } = (await reader?.read()) ?? { done: true, value: undefined };
        if (done) break;
        bytes += value.byteLength;
      }
      expect(bytes).toBe(1_000 * 10_000);
      await new Promise((r) => setImmediate(r));
      expect(warnings).not.toContain('MaxListenersExceededWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it('answers 500 when render fails before writing, and cuts the response when it fails after', async () => {
    const registry = new Registry();
    let failAfterFirst = false;
    server = await startOpsServer({
      port: 0,
      registry,
      health,
      render: async function* () {
        if (failAfterFirst) {
          yield 'trivy_image_vulnerabilities{name="a"} 1\n';
        }
        throw new Error('inventory gone');
      },
    });
    const first = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    expect(first.status).toBe(500);
    expect(await first.text()).toContain('inventory gone');
    failAfterFirst = true;
    // Never a complete-looking 200: the connection is cut (before or after the headers arrive).
    const second = fetch(`http://127.0.0.1:${server.port}/metrics`).then((r) => r.text());
    await expect(second).rejects.toThrow();
  });
});
