import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ephemeralRange, freePort } from './ports.ts';

describe('freePort', () => {
  it('gives distinct ports that can be bound, below the kernel ephemeral range when it leaves room', async () => {
    const range = await ephemeralRange();
    const ports: number[] = [];
    for (let i = 0; i < 20; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(20);
    if (range && range[0] >= 11_000) {
      // A port the kernel may give an outgoing connection could be taken before our server binds it.
      for (const p of ports) expect(p).toBeLessThan(range[0]);
    }
    const srv = createServer();
    await new Promise<void>((resolve) => srv.listen(ports[0], '127.0.0.1', resolve));
    await new Promise<void>((resolve) => srv.close(() => resolve()));
  });
});
