import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { readLines } from './lines.ts';

async function collect(chunks: (string | Buffer)[]): Promise<{ lines: string[]; data: number }> {
  let data = 0;
  const lines: string[] = [];
  for await (const l of readLines(Readable.from(chunks), () => data++)) lines.push(l);
  return { lines, data };
}

describe('readLines', () => {
  it('joins lines split across chunks, skips blank lines, keeps a final unterminated line', async () => {
    expect(await collect(['{"a":', '1}\n\n{"b"', ':2}\n{"c":3}'])).toEqual({
      lines: ['{"a":1}', '{"b":2}', '{"c":3}'],
      data: 3,
    });
  });

  it('does not break a multi-byte character split between chunks', async () => {
    const bytes = Buffer.from('{"n":"ü"}\n');
    const at = bytes.indexOf(0xc3) + 1;
    expect((await collect([bytes.subarray(0, at), bytes.subarray(at)])).lines).toEqual(['{"n":"ü"}']);
  });

  it('surfaces a stream error', async () => {
    const body = new Readable({ read() {} });
    const lines = readLines(body, () => {});
    body.push('{"a":1}\n');
    setImmediate(() => body.destroy(new Error('socket hang up')));
    await expect(
      (async () => {
        for await (const _ of lines) {
          // drain
        }
      })(),
    ).rejects.toThrow('socket hang up');
  });
});
