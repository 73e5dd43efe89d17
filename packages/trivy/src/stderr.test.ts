import { describe, expect, it } from 'vitest';
import { cleanStderr } from './stderr.ts';

describe('cleanStderr', () => {
  it('strips ANSI escapes and trailing whitespace', () => {
    expect(cleanStderr('\u001b[31mFATAL\u001b[0m boom\n\n')).toBe('FATAL boom');
  });
  it('redacts secrets wherever they appear', () => {
    expect(cleanStderr('GET http://u:s3cret@r/v2/ s3cret', ['s3cret', ''])).toBe(
      'GET http://u:[redacted]@r/v2/ [redacted]',
    );
  });
  it('keeps only the tail, saying how much was cut', () => {
    expect(cleanStderr(`${'a'.repeat(10)}END`, [], 5)).toBe('[...8 chars cut]aaEND');
  });
});
