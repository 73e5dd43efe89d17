import type { BlobStore } from '@fleetscan/bus';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { carry, INLINE_LIMIT } from './result-payload.ts';

const Doc = z.object({ pad: z.string() });

function bucket() {
  const puts: { key: string; keepWithinMs: number | undefined }[] = [];
  const store = {
    bucket: 'fleetscan-results-a',
    async put(_s: unknown, key: string, _v: unknown, o?: { keepWithinMs?: number }) {
      puts.push({ key, keepWithinMs: o?.keepWithinMs });
    },
  } as unknown as BlobStore;
  return { store, puts };
}

describe('carry', () => {
  it('sends small data inline and opens no bucket', async () => {
    const b = bucket();
    let opened = 0;
    const out = await carry(Doc, { pad: 'x' }, 'k', async () => {
      opened++;
      return b.store;
    });
    expect(out).toEqual({ data: { pad: 'x' } });
    expect(opened).toBe(0);
  });

  it("puts large data in the cluster's bucket under the key, keeping an identical recent copy", async () => {
    const b = bucket();
    const out = await carry(Doc, { pad: 'x'.repeat(INLINE_LIMIT) }, 'image/sha256:1', async () => b.store);
    expect(out).toEqual({ blob: 'image/sha256:1' });
    expect(b.puts).toEqual([{ key: 'image/sha256:1', keepWithinMs: 24 * 3600_000 }]);
  });
});
