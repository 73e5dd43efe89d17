import { describe, expect, it } from 'vitest';
import { parseSoakArgs } from './options.ts';

describe('parseSoakArgs', () => {
  it('reads --minutes and --rate with defaults for the rest', () => {
    expect(parseSoakArgs(['--minutes', '60', '--rate', '0.5'], 1234)).toEqual({
      minutes: 60,
      rate: 0.5,
      sampleSeconds: 30,
      workloads: 100,
      images: 12,
      namespaces: 4,
      scanners: 1,
      drainSeconds: 900,
      seed: 1234,
      json: undefined,
    });
  });

  it('names the option of a bad value', () => {
    expect(() => parseSoakArgs(['--rate', '0'])).toThrow('--rate must be more than 0, got 0');
    expect(() => parseSoakArgs(['--workloads', '2.5'])).toThrow('--workloads must be an integer >= 1');
    expect(() => parseSoakArgs(['--images', '1'])).toThrow('--images must be an integer >= 2');
    expect(() => parseSoakArgs(['--minutes', 'x'])).toThrow('--minutes must be a number');
  });

  it('answers --help', () => {
    expect(parseSoakArgs(['-h'])).toBe('help');
  });
});
