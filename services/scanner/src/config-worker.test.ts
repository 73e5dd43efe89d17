import { describe, expect, it } from 'vitest';
import { laneBatchWaitMs } from './config-worker.ts';

describe('config audit batches', () => {
  it('a lone urgent request starts at once; a bulk one waits CONFIG_BATCH_WAIT_MS for company', () => {
    expect(laneBatchWaitMs('urgent', 250)).toBe(0);
    expect(laneBatchWaitMs('bulk', 250)).toBe(250);
  });
});
