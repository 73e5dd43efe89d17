import { describe, expect, it } from 'vitest';
import { clusterOf, LANES, laneOf, subjects } from './subjects.ts';
import {
  scanConsumer,
  scanConsumerConfigs,
  streamConfigs,
  writerConsumer,
  writerConsumerConfig,
} from './topology.ts';

/** NATS subject matching: `*` one token, `>` the rest. */
const matches = (filter: string, subject: string) => {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (f[i] !== '*' && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
};

describe('subjects and lanes', () => {
  it('puts each kind of request in each lane on a subject of its own, the cluster last', () => {
    expect(subjects.scanImage('c1')).toBe('fleetscan.scan.image.c1');
    expect(subjects.scanImage('c1', 'bulk')).toBe('fleetscan.scan.bulk.image.c1');
    expect(subjects.scanConfig('c1', 'urgent')).toBe('fleetscan.scan.config.c1');
    expect(subjects.scanConfig('c1', 'bulk')).toBe('fleetscan.scan.bulk.config.c1');
    expect(subjects.resultImage('c1', 'bulk')).toBe('fleetscan.result.bulk.image.c1');
    expect(clusterOf(subjects.scanConfig('bulk', 'bulk'))).toBe('bulk');
    for (const lane of LANES) {
      expect(laneOf(subjects.scanImage('bulk', lane))).toBe(lane);
      expect(laneOf(subjects.resultConfig('c1', lane))).toBe(lane);
    }
  });

  it('keeps each lane’s results for its cluster’s writer consumer of that lane, the urgent filter as it was', () => {
    expect(writerConsumerConfig('c1').filter_subject).toBe('fleetscan.result.*.c1');
    for (const lane of LANES) {
      const c = writerConsumerConfig('c1', {}, lane);
      expect(c.durable_name).toBe(writerConsumer('c1', lane));
      for (const other of LANES) {
        for (const subject of [subjects.resultImage('c1', other), subjects.resultConfig('c1', other)]) {
          expect(matches(c.filter_subject ?? '', subject)).toBe(other === lane);
        }
        expect(matches(c.filter_subject ?? '', subjects.resultImage('c2', other))).toBe(false);
      }
    }
    expect(writerConsumer('c1', 'bulk')).toBe('writer-c1_bulk');
  });

  // Cluster names may end in "-bulk": writer-prod-bulk was both prod's bulk consumer and prod-bulk's
  // urgent one, so two clusters' writers would have taken each other's results.
  it('never gives two clusters’ writers the same consumer, whatever the cluster names', () => {
    const names = ['prod', 'prod-bulk', 'bulk', 'bulk-prod', 'prod-bulk-bulk'].flatMap((c) =>
      LANES.map((lane) => writerConsumer(c, lane)),
    );
    expect(new Set(names).size).toBe(names.length);
  });

  it('gives every lane its consumer, which reads that lane only, within the scan stream', () => {
    const scan = streamConfigs()[0]?.subjects ?? [];
    const consumers = scanConsumerConfigs();
    expect(consumers.map((c) => c.durable_name)).toEqual([
      'scan-image',
      'scan-config',
      'scan-image-bulk',
      'scan-config-bulk',
    ]);
    for (const kind of ['image', 'config'] as const) {
      for (const lane of LANES) {
        const subject = kind === 'image' ? subjects.scanImage('c1', lane) : subjects.scanConfig('c1', lane);
        expect(scan.some((f) => matches(f, subject))).toBe(true);
        const readers = consumers.filter((c) => matches(c.filter_subject ?? '', subject));
        expect(readers.map((c) => c.durable_name)).toEqual([scanConsumer(kind, lane)]);
      }
    }
  });
});
