import { describe, expect, it } from 'vitest';
import { summarizeProfile } from './profile.ts';

describe('summarizeProfile', () => {
  it('ranks self time by function and by package, leaving idle out of the functions', () => {
    const frame = (functionName: string, url: string) => ({ functionName, url, lineNumber: 9 });
    const s = summarizeProfile({
      startTime: 0,
      endTime: 100_000, // 100 ms over 100 hits: 1 ms each
      nodes: [
        { id: 1, callFrame: frame('(idle)', ''), hitCount: 40 },
        { id: 2, callFrame: frame('parse', 'file:///r/node_modules/yaml/dist/parse.js'), hitCount: 30 },
        { id: 3, callFrame: frame('project', 'file:///r/packages/kube/src/workloads.ts'), hitCount: 20 },
        { id: 4, callFrame: frame('(garbage collector)', ''), hitCount: 10 },
      ],
    });
    expect(s.functions[0]).toMatchObject({ what: 'parse (node_modules/yaml/dist/parse.js:10)', selfMs: 30 });
    expect(s.functions[0]?.share).toBeCloseTo(0.5);
    expect(s.packages.map((p) => p.what)).toEqual(['(idle)', 'yaml', 'packages/kube', '(garbage collector)']);
    expect(s.totalMs).toBe(60);
  });
});
