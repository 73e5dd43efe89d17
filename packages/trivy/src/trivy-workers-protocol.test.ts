import { describe, expect, it } from 'vitest';
import { decodeWorkerLine, encodeWorkerRequest } from './trivy-workers-protocol.ts';

describe('the trivy worker protocol', () => {
  it('sends a request as one JSON line: its id, args and env', () => {
    const line = encodeWorkerRequest({
      id: 7,
      args: ['image', '--output', '/tmp/x/report.json', 'nginx:1.20'],
      env: { TRIVY_PASSWORD: 'p\nq', HOME: '/home/scanner' },
    });
    expect(line).toBe(
      '{"id":7,"args":["image","--output","/tmp/x/report.json","nginx:1.20"],' +
        '"env":{"TRIVY_PASSWORD":"p\\nq","HOME":"/home/scanner"}}\n',
    );
    // One line however the values look: a newline in the env is escaped.
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line)).toEqual({
      id: 7,
      args: ['image', '--output', '/tmp/x/report.json', 'nginx:1.20'],
      env: { TRIVY_PASSWORD: 'p\nq', HOME: '/home/scanner' },
    });
  });

  it('sends nothing but id, args and env', () => {
    const req = { id: 1, args: ['sbom'], env: {}, extra: 'x' };
    expect(encodeWorkerRequest(req)).toBe('{"id":1,"args":["sbom"],"env":{}}\n');
  });

  it('reads the ready line', () => {
    expect(decodeWorkerLine('{"ready":{"trivy":"0.74.0"}}')).toEqual({ kind: 'ready', trivy: '0.74.0' });
  });

  it('reads a response, with and without an error', () => {
    expect(decodeWorkerLine('{"id":3}')).toEqual({ kind: 'response', id: 3, error: undefined });
    expect(decodeWorkerLine('{"id":0}')).toEqual({ kind: 'response', id: 0, error: undefined });
    expect(decodeWorkerLine('{"id":4,"error":"unable to find the specified image"}')).toEqual({
      kind: 'response',
      id: 4,
      error: 'unable to find the specified image',
    });
  });

  it('refuses a line that is not JSON, naming its start', () => {
    const line = `panic: runtime error: index out of range ${'x'.repeat(500)}`;
    let thrown: unknown;
    try {
      decodeWorkerLine(line);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(Error);
    const message = (thrown as Error).message;
    expect(message).toMatch(/not JSON/);
    expect(message).toContain('panic: runtime error: index out of range');
    // The start of the line, not all of it.
    expect(message).not.toContain(line);
    expect(() => decodeWorkerLine('')).toThrow(/not JSON/);
  });

  it('refuses a JSON line that is not a ready line or a response, naming its start', () => {
    for (const bad of [
      '{"ready":{}}',
      '{"ready":{"trivy":""}}',
      '{"id":-1}',
      '{"id":1.5}',
      '{"id":"1"}',
      '{"id":1,"error":42}',
      '{}',
      '[]',
      'null',
      '42',
      '"text"',
    ]) {
      expect(() => decodeWorkerLine(bad), bad).toThrow(Error);
      expect(() => decodeWorkerLine(bad), bad).toThrow(/not its protocol/);
      expect(() => decodeWorkerLine(bad), bad).toThrow(bad);
    }
    const long = `{"results":"${'y'.repeat(1000)}"}`;
    expect(() => decodeWorkerLine(long)).toThrow(long.slice(0, 200));
    expect(() => decodeWorkerLine(long)).not.toThrow(long.slice(0, 300));
  });
});
