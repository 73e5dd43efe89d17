import { randomBytes } from 'node:crypto';
import { connect, createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { startShapedLink } from './shaped-link.ts';

let echo: Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
});

describe('the shaped link proxy', () => {
  it('carries a stream both ways intact and in order, and counts its bytes', async () => {
    // An echo server on loopback: what goes through the link comes back through it.
    echo = createServer((s) => s.pipe(s));
    await new Promise<void>((resolve) => echo?.listen(0, '127.0.0.1', resolve));
    const port = (echo.address() as { port: number }).port;
    const link = await startShapedLink(`127.0.0.1:${port}`, {
      connBytesPerSec: 64 * 1024 * 1024,
      totalBytesPerSec: 128 * 1024 * 1024,
      oneWayMs: 1,
    });
    try {
      const payload = randomBytes(3 * 1024 * 1024);
      const [host, p] = link.host.split(':');
      const got = await new Promise<Buffer>((resolve, reject) => {
        const chunks: Buffer[] = [];
        let n = 0;
        const s = connect(Number(p), host, () => {
          for (let i = 0; i < payload.length; i += 100_000) s.write(payload.subarray(i, i + 100_000));
        });
        s.on('data', (c: Buffer) => {
          chunks.push(c);
          n += c.length;
          if (n >= payload.length) {
            s.end();
            resolve(Buffer.concat(chunks));
          }
        });
        s.on('error', reject);
      });
      expect(got.equals(payload)).toBe(true);
      expect(link.bytes).toBe(2 * payload.length);
    } finally {
      await link.close();
    }
  });

  // A registry answering a HEAD and closing the connection: the answer was still in the link.
  it('delivers what a side sent before it closed', async () => {
    echo = createServer((s) => s.end('answer then close'));
    await new Promise<void>((resolve) => echo?.listen(0, '127.0.0.1', resolve));
    const port = (echo.address() as { port: number }).port;
    const link = await startShapedLink(`127.0.0.1:${port}`, {
      connBytesPerSec: 1024 * 1024,
      totalBytesPerSec: 1024 * 1024,
      oneWayMs: 20,
    });
    try {
      const [host, p] = link.host.split(':');
      const got = await new Promise<string>((resolve, reject) => {
        let text = '';
        const s = connect(Number(p), host);
        s.on('data', (c: Buffer) => {
          text += c.toString();
        });
        s.on('end', () => resolve(text));
        s.on('error', reject);
      });
      expect(got).toBe('answer then close');
    } finally {
      await link.close();
    }
  });
});
