import { describe, expect, it } from 'vitest';
import { readyzBody } from './http.ts';
import { createReadiness } from './readiness.ts';

describe('/readyz', () => {
  it('names every check, fine or not, so a stuck slot shows where it is', () => {
    const r = createReadiness();
    expect(readyzBody(r.ready())).toBe('not ready\nFAIL starting\n');
    r.set('nats', true, 'connected');
    r.set('scan-image', true, '0 of 1 slots busy');
    expect(r.ready().ok).toBe(true);
    expect(readyzBody(r.ready())).toBe('ok\nok   nats: connected\nok   scan-image: 0 of 1 slots busy\n');
    r.set('scan-image', false, '1 of 1 slots stuck past the 960 s bound (oldest held 1000 s)');
    expect(r.ready()).toMatchObject({
      ok: false,
      reasons: ['scan-image: 1 of 1 slots stuck past the 960 s bound (oldest held 1000 s)'],
    });
    expect(readyzBody(r.ready())).toBe(
      'not ready\nok   nats: connected\nFAIL scan-image: 1 of 1 slots stuck past the 960 s bound (oldest held 1000 s)\n',
    );
  });
});
