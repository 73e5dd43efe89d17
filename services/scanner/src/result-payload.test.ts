import type { BlobStore } from '@fleetscan/bus';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { carry, HEADER_ROOM, INLINE_LIMIT, inlineLimit, type Payload } from './result-payload.ts';

const Doc = z.object({ pad: z.string() });
type Doc = z.infer<typeof Doc>;

function bucket() {
  const puts: { key: string; keepWithinMs: number | undefined }[] = [];
  let opened = 0;
  const store = {
    bucket: 'fleetscan-results-a',
    async put(_s: unknown, key: string, _v: unknown, o?: { keepWithinMs?: number }) {
      puts.push({ key, keepWithinMs: o?.keepWithinMs });
    },
  } as unknown as BlobStore;
  const open = async () => {
    opened++;
    return store;
  };
  return { open, puts, opened: () => opened };
}

/** The result message: some fields of its own around the payload, as the scanner's are. */
const message = (p: Payload<Doc>) =>
  new TextEncoder().encode(JSON.stringify({ v: 1, cluster: 'a', status: 'ok', ...p }));
const decoded = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;

describe('carry', () => {
  it('sends small data inline and opens no bucket', async () => {
    const b = bucket();
    const out = await carry({
      schema: Doc,
      data: { pad: 'x' },
      key: 'k',
      bucket: b.open,
      message,
      maxPayload: 1 << 20,
    });
    expect(decoded(out)).toMatchObject({ data: { pad: 'x' } });
    expect(b.opened()).toBe(0);
  });

  it("puts large data in the cluster's bucket under the key, keeping an identical recent copy", async () => {
    const b = bucket();
    const data = { pad: 'x'.repeat(INLINE_LIMIT) };
    const out = await carry({
      schema: Doc,
      data,
      key: 'image/sha256:1',
      bucket: b.open,
      message,
      maxPayload: 1 << 20,
    });
    expect(decoded(out)).toEqual({ v: 1, cluster: 'a', status: 'ok', blob: 'image/sha256:1' });
    expect(b.puts).toEqual([{ key: 'image/sha256:1', keepWithinMs: 24 * 3600_000 }]);
  });

  it('measures the whole message: data that fits alone but not with the fields around it goes to the bucket', async () => {
    const b = bucket();
    // The data's own JSON is exactly at the limit; the message around it is larger.
    const data = { pad: 'x'.repeat(INLINE_LIMIT - JSON.stringify({ pad: '' }).length) };
    expect(JSON.stringify(data).length).toBe(INLINE_LIMIT);
    const out = await carry({ schema: Doc, data, key: 'k', bucket: b.open, message, maxPayload: 1 << 20 });
    expect(decoded(out)).toMatchObject({ blob: 'k' });
    expect(b.puts).toHaveLength(1);
  });

  it("follows a server's max_payload smaller than the inline limit, leaving room for headers", async () => {
    const maxPayload = 64 * 1024;
    expect(inlineLimit(maxPayload)).toBe(maxPayload - HEADER_ROOM);
    const b = bucket();
    const data = { pad: 'x'.repeat(maxPayload - HEADER_ROOM) };
    const out = await carry({ schema: Doc, data, key: 'k', bucket: b.open, message, maxPayload });
    expect(decoded(out)).toMatchObject({ blob: 'k' });
    const small = { pad: 'x'.repeat(1000) };
    const inline = await carry({ schema: Doc, data: small, key: 'k', bucket: b.open, message, maxPayload });
    expect(decoded(inline)).toMatchObject({ data: small });
    expect(b.puts).toHaveLength(1);
  });
});
