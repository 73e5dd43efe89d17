import { describe, expect, it } from 'vitest';
import { type Identity, inboxPrefix, permissionsFor, userName } from './identities.ts';

/** NATS subject matching: `*` is one token, `>` the rest (one or more tokens). */
function matches(pattern: string, subject: string): boolean {
  const p = pattern.split('.');
  const s = subject.split('.');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (p[i] !== '*' && p[i] !== s[i]) return false;
  }
  return p.length === s.length;
}

const may = (id: Identity, verb: 'publish' | 'subscribe', subject: string) => {
  const rules = permissionsFor(id)[verb];
  return rules.allow.some((a) => matches(a, subject)) && !(rules.deny ?? []).some((d) => matches(d, subject));
};

const watcherA: Identity = { role: 'watcher', cluster: 'a' };
const writerA: Identity = { role: 'writer', cluster: 'a' };

/** What belongs to cluster b, or to the fleet: nothing of cluster a may publish to any of it. */
const notA = [
  'fleetscan.scan.image.b',
  'fleetscan.scan.config.b',
  'fleetscan.result.image.b',
  'fleetscan.result.config.b',
  'fleetscan.result.image.a',
  '$JS.API.CONSUMER.INFO.FLEETSCAN_RESULTS.writer-b',
  '$JS.API.CONSUMER.MSG.NEXT.FLEETSCAN_RESULTS.writer-b',
  '$JS.API.CONSUMER.CREATE.FLEETSCAN_RESULTS.writer-b.fleetscan.result.*.b',
  '$JS.API.CONSUMER.CREATE.FLEETSCAN_RESULTS.writer-a.fleetscan.result.*.b',
  '$JS.API.CONSUMER.CREATE.FLEETSCAN_RESULTS.writer-a.fleetscan.result.>',
  '$JS.API.CONSUMER.CREATE.FLEETSCAN_RESULTS.writer-a',
  '$JS.API.CONSUMER.DURABLE.CREATE.FLEETSCAN_RESULTS.writer-a',
  '$JS.API.CONSUMER.CREATE.FLEETSCAN_RESULTS.x.fleetscan.result.*.a',
  '$JS.ACK.FLEETSCAN_RESULTS.writer-b.1.1.1.1.0',
  '$JS.API.STREAM.MSG.GET.FLEETSCAN_RESULTS',
  '$JS.API.STREAM.MSG.GET.OBJ_fleetscan-results-b',
  '$JS.API.STREAM.MSG.GET.OBJ_fleetscan-blobs',
  '$JS.API.DIRECT.GET.OBJ_fleetscan-blobs.$O.fleetscan-blobs.M.eA==',
  '$JS.API.CONSUMER.CREATE.OBJ_fleetscan-blobs.x.$O.fleetscan-blobs.C.n',
  '$O.fleetscan-blobs.C.n',
  '$O.fleetscan-results-a.C.n',
  '$KV.fleetscan-state.trivy-db',
  '$KV.fleetscan-scan-locks.k',
  '$JS.API.STREAM.CREATE.FLEETSCAN_SCAN',
  '$JS.API.STREAM.UPDATE.FLEETSCAN_RESULTS',
  '$JS.API.STREAM.DELETE.FLEETSCAN_RESULTS',
  '$JS.API.STREAM.PURGE.FLEETSCAN_RESULTS',
  '$JS.API.CONSUMER.DELETE.FLEETSCAN_RESULTS.writer-b',
  '$JS.API.DIRECT.GET.KV_fleetscan-state',
  '$JS.API.DIRECT.GET.OBJ_fleetscan-results-b',
  '$JS.API.DIRECT.GET.OBJ_fleetscan-blobs',
  '$JS.API.CONSUMER.CREATE.OBJ_fleetscan-results-a.x.$O.fleetscan-results-a.C.n',
  'fleetscan.dead.writer-b',
  'fleetscan.dead.scan-image',
  'fleetscan.dead.>',
  '$JS.API.STREAM.CREATE.FLEETSCAN_DEAD',
  '$JS.API.STREAM.UPDATE.FLEETSCAN_DEAD',
  '$JS.API.STREAM.PURGE.FLEETSCAN_DEAD',
  '$O.fleetscan-manifests-b.C.n',
  '$O.fleetscan-manifests-b.M.eA==',
  '$JS.API.STREAM.CREATE.OBJ_fleetscan-manifests-b',
  '$JS.API.STREAM.PURGE.OBJ_fleetscan-manifests-b',
  '$JS.API.STREAM.DELETE.OBJ_fleetscan-manifests-a',
  'fleetscan.inventory.0b5c2f4e-1111-2222-3333-444455556666.b',
  'fleetscan.inventory._synced.b',
  'fleetscan.inventory.>',
  'fleetscan.findings.0123456789abcdef0123456789abcdef.a',
  '$JS.API.STREAM.PURGE.FLEETSCAN_FLEET',
  '$JS.API.STREAM.UPDATE.FLEETSCAN_FLEET',
  '$JS.API.CONSUMER.CREATE.FLEETSCAN_FLEET.x',
  '$JS.API.DIRECT.GET.FLEETSCAN_FLEET',
  '$KV.fleetscan-scan-failures-b.ns.0123',
  '$JS.API.STREAM.CREATE.KV_fleetscan-scan-failures-b',
  '$JS.API.STREAM.INFO.KV_fleetscan-scan-failures-b',
  '$JS.API.DIRECT.GET.KV_fleetscan-scan-failures-b.$KV.fleetscan-scan-failures-b.ns.0123',
  '$JS.API.CONSUMER.CREATE.KV_fleetscan-scan-failures-b.w1.$KV.fleetscan-scan-failures-b.>',
  '$JS.API.STREAM.DELETE.KV_fleetscan-scan-failures-a',
  '$JS.API.STREAM.PURGE.KV_fleetscan-scan-failures-a',
];

describe('permissions of the fleet identities', () => {
  it('keep every subject of another cluster, and the fleet-wide stores, from a cluster’s services', () => {
    for (const id of [watcherA, writerA]) {
      for (const s of notA) expect(may(id, 'publish', s), `${userName(id)} publish ${s}`).toBe(false);
      for (const s of [
        'fleetscan.result.>',
        'fleetscan.result.image.b',
        '_INBOX.>',
        '_INBOX.writer-b.x',
        '>',
      ]) {
        expect(may(id, 'subscribe', s), `${userName(id)} subscribe ${s}`).toBe(false);
      }
    }
  });

  it('let a watcher publish its own cluster’s requests and read the fleet DB version, nothing else', () => {
    expect(may(watcherA, 'publish', 'fleetscan.scan.image.a')).toBe(true);
    expect(may(watcherA, 'publish', 'fleetscan.scan.config.a')).toBe(true);
    // The DB version: a direct get of that one key's last message (the key is in the subject).
    expect(
      may(watcherA, 'publish', '$JS.API.DIRECT.GET.KV_fleetscan-state.$KV.fleetscan-state.trivy-db'),
    ).toBe(true);
    expect(may(watcherA, 'publish', '$JS.API.STREAM.INFO.KV_fleetscan-state')).toBe(true);
    for (const s of [
      '$JS.API.DIRECT.GET.KV_fleetscan-state.$KV.fleetscan-state.other',
      '$JS.API.DIRECT.GET.KV_fleetscan-state.$KV.fleetscan-state.>',
      '$JS.API.STREAM.MSG.GET.KV_fleetscan-state',
    ]) {
      expect(may(watcherA, 'publish', s), s).toBe(false);
    }
    // No consumer on the state bucket: a create's body could ask for push delivery to any subject.
    for (const s of [
      '$JS.API.CONSUMER.CREATE.KV_fleetscan-state.w1.$KV.fleetscan-state.trivy-db',
      '$JS.API.CONSUMER.CREATE.KV_fleetscan-state.w1.$KV.fleetscan-state.>',
      '$JS.API.CONSUMER.CREATE.KV_fleetscan-state.w1',
      '$JS.API.CONSUMER.CREATE.KV_fleetscan-state',
      '$JS.API.CONSUMER.DURABLE.CREATE.KV_fleetscan-state.w1',
      '$JS.API.CONSUMER.INFO.KV_fleetscan-state.w1',
      '$JS.API.CONSUMER.DELETE.KV_fleetscan-state.w1',
      '$JS.FC.KV_fleetscan-state.x.1',
    ]) {
      expect(may(watcherA, 'publish', s), s).toBe(false);
    }
    expect(may(watcherA, 'publish', '$JS.API.CONSUMER.MSG.NEXT.FLEETSCAN_RESULTS.writer-a')).toBe(false);
    expect(may(watcherA, 'subscribe', `${inboxPrefix(watcherA)}.abc.1`)).toBe(true);
  });

  it('let a watcher create no consumer on any stream (a create’s body could ask for push delivery)', () => {
    for (const stream of [
      'KV_fleetscan-state',
      'KV_fleetscan-scan-failures-a',
      'OBJ_fleetscan-manifests-a',
      'FLEETSCAN_FLEET',
      'FLEETSCAN_SCAN',
      'FLEETSCAN_RESULTS',
    ]) {
      for (const verb of ['CREATE', 'DURABLE.CREATE']) {
        for (const rest of [
          '',
          '.x',
          '.x.>',
          '.x.$KV.fleetscan-state.trivy-db',
          '.x.$KV.fleetscan-scan-failures-a.k',
        ]) {
          const s = `$JS.API.CONSUMER.${verb}.${stream}${rest}`;
          expect(may(watcherA, 'publish', s), s).toBe(false);
          expect(may({ role: 'fleetview' }, 'publish', s), s).toBe(false);
        }
      }
    }
  });

  it('let a watcher write its own manifests bucket (not create or change it), and only the watcher of its cluster', () => {
    for (const s of [
      '$JS.API.STREAM.INFO.OBJ_fleetscan-manifests-a',
      '$JS.API.STREAM.MSG.GET.OBJ_fleetscan-manifests-a',
      '$JS.API.STREAM.PURGE.OBJ_fleetscan-manifests-a',
      '$O.fleetscan-manifests-a.C.n',
      '$O.fleetscan-manifests-a.M.eA==',
    ]) {
      expect(may(watcherA, 'publish', s), s).toBe(true);
      expect(may(writerA, 'publish', s), s).toBe(false);
    }
    // The scanners read every cluster's manifests.
    const scanner: Identity = { role: 'scanner' };
    expect(may(scanner, 'publish', '$JS.API.STREAM.INFO.OBJ_fleetscan-manifests-a')).toBe(true);
    expect(may(scanner, 'publish', '$JS.API.DIRECT.GET.OBJ_fleetscan-manifests-a')).toBe(true);
    expect(may(scanner, 'publish', '$JS.API.STREAM.CREATE.OBJ_fleetscan-manifests-a')).toBe(true);
  });

  it('let no watcher or writer create, change or delete any stream or consumer: they ask the scanners, for their own cluster only', () => {
    const streams = [
      'OBJ_fleetscan-manifests-a',
      'KV_fleetscan-scan-failures-a',
      'OBJ_fleetscan-results-a',
      'FLEETSCAN_RESULTS',
      'FLEETSCAN_SCAN',
      'x',
    ];
    for (const id of [watcherA, writerA]) {
      for (const stream of streams) {
        for (const verb of ['CREATE', 'UPDATE', 'DELETE']) {
          const s = `$JS.API.STREAM.${verb}.${stream}`;
          expect(may(id, 'publish', s), `${userName(id)} ${s}`).toBe(false);
        }
        for (const rest of [
          '',
          '.x',
          '.writer-a',
          '.writer-a.fleetscan.result.*.a',
          '.writer-a_bulk.fleetscan.result.bulk.*.a',
          '.x.$KV.fleetscan-scan-failures-a.>',
        ]) {
          for (const verb of ['CREATE', 'DURABLE.CREATE', 'DELETE']) {
            const s = `$JS.API.CONSUMER.${verb}.${stream}${rest}`;
            expect(may(id, 'publish', s), `${userName(id)} ${s}`).toBe(false);
          }
        }
      }
      expect(may(id, 'publish', 'fleetscan.provision.a'), userName(id)).toBe(true);
      expect(may(id, 'publish', 'fleetscan.provision.b'), userName(id)).toBe(false);
      expect(may(id, 'subscribe', 'fleetscan.provision.a'), userName(id)).toBe(false);
      expect(permissionsFor(id).allow_responses, userName(id)).toBeUndefined();
    }
    // The scanners answer every cluster's provisioning request, to the asker's reply subject only.
    const scanner: Identity = { role: 'scanner' };
    expect(may(scanner, 'subscribe', 'fleetscan.provision.a')).toBe(true);
    expect(may(scanner, 'publish', '_INBOX.writer-a.x')).toBe(false);
    expect(permissionsFor(scanner).allow_responses).toEqual({ max: 1, expires: '1m' });
    for (const s of [
      '$JS.API.CONSUMER.CREATE.FLEETSCAN_RESULTS.writer-a.fleetscan.result.*.a',
      '$JS.API.CONSUMER.CREATE.FLEETSCAN_RESULTS.writer-a_bulk.fleetscan.result.bulk.*.a',
      '$JS.API.CONSUMER.INFO.FLEETSCAN_RESULTS.writer-a',
      '$JS.API.STREAM.CREATE.KV_fleetscan-scan-failures-a',
    ]) {
      expect(may(scanner, 'publish', s), s).toBe(true);
    }
    for (const id of [{ role: 'fleetview' } as Identity]) {
      expect(may(id, 'publish', 'fleetscan.provision.a')).toBe(false);
    }
  });

  it('let a writer read (direct gets) and write its cluster’s failures bucket, its watcher read it with direct gets, nobody else write it, nobody watch it', () => {
    const bucket = 'fleetscan-scan-failures-a';
    const watch = [
      `$JS.API.CONSUMER.CREATE.KV_${bucket}.KV_WATCHER_x.$KV.${bucket}.>`,
      `$JS.API.CONSUMER.CREATE.KV_${bucket}`,
      `$JS.API.CONSUMER.CREATE.KV_${bucket}.x`,
      `$JS.API.CONSUMER.INFO.KV_${bucket}.KV_WATCHER_x`,
      `$JS.API.CONSUMER.DELETE.KV_${bucket}.KV_WATCHER_x`,
      `$JS.FC.KV_${bucket}.x.1`,
    ];
    const read = [`$JS.API.STREAM.INFO.KV_${bucket}`, `$JS.API.DIRECT.GET.KV_${bucket}`];
    const readKey = [
      `$JS.API.STREAM.MSG.GET.KV_${bucket}`,
      `$JS.API.DIRECT.GET.KV_${bucket}.$KV.${bucket}.ns.0123`,
    ];
    const write = [`$KV.${bucket}.ns.0123`];
    for (const s of [...read, ...readKey, ...write]) expect(may(writerA, 'publish', s), s).toBe(true);
    for (const s of read) expect(may(watcherA, 'publish', s), s).toBe(true);
    // Both read the bucket with batched direct gets by sequence: no watch, no consumer.
    for (const s of watch) {
      expect(may(watcherA, 'publish', s), s).toBe(false);
      expect(may(writerA, 'publish', s), s).toBe(false);
    }
    for (const s of write) {
      expect(may(watcherA, 'publish', s), s).toBe(false);
      expect(may({ role: 'fleetview' }, 'publish', s), s).toBe(false);
    }
    expect(may({ role: 'scanner' }, 'publish', `$KV.${bucket}.ns.0123`)).toBe(false);
  });

  it('let a writer bind and ack only its own consumer (never create it), and read its own bucket', () => {
    expect(
      may(writerA, 'publish', '$JS.API.CONSUMER.CREATE.FLEETSCAN_RESULTS.writer-a.fleetscan.result.*.a'),
    ).toBe(false);
    expect(may(writerA, 'publish', '$JS.API.CONSUMER.MSG.NEXT.FLEETSCAN_RESULTS.writer-a')).toBe(true);
    expect(may(writerA, 'publish', '$JS.ACK.FLEETSCAN_RESULTS.writer-a.1.10.10.1700000000.0')).toBe(true);
    expect(may(writerA, 'publish', '$JS.API.STREAM.MSG.GET.OBJ_fleetscan-results-a')).toBe(true);
    expect(may(writerA, 'publish', 'fleetscan.scan.image.a')).toBe(false);
  });

  it('let a writer read its bucket’s chunks with direct gets (no consumer) and keep its own dead letters', () => {
    expect(may(writerA, 'publish', '$JS.API.DIRECT.GET.OBJ_fleetscan-results-a')).toBe(true);
    expect(may(writerA, 'publish', '$JS.API.CONSUMER.CREATE.OBJ_fleetscan-results-a.x.>')).toBe(false);
    expect(may(writerA, 'publish', '$JS.API.STREAM.INFO.FLEETSCAN_RESULTS')).toBe(true);
    expect(may(writerA, 'publish', '$JS.API.CONSUMER.INFO.FLEETSCAN_RESULTS.writer-a')).toBe(true);
    expect(may(writerA, 'publish', 'fleetscan.dead.writer-a')).toBe(true);
    expect(may(watcherA, 'publish', 'fleetscan.dead.writer-a')).toBe(false);
  });

  it('let the scanners consume every cluster’s requests and publish every cluster’s results, but delete no stream', () => {
    const scanner: Identity = { role: 'scanner' };
    for (const c of ['a', 'b']) {
      expect(may(scanner, 'publish', `fleetscan.result.image.${c}`)).toBe(true);
      expect(may(scanner, 'publish', `$O.fleetscan-results-${c}.C.n`)).toBe(true);
      expect(may(scanner, 'publish', `$JS.API.STREAM.CREATE.OBJ_fleetscan-results-${c}`)).toBe(true);
    }
    expect(may(scanner, 'publish', '$JS.API.CONSUMER.MSG.NEXT.FLEETSCAN_SCAN.scan-image')).toBe(true);
    expect(may(scanner, 'publish', '$JS.API.CONSUMER.MSG.NEXT.FLEETSCAN_RESULTS.writer-a')).toBe(false);
    expect(may(scanner, 'publish', 'fleetscan.scan.image.a')).toBe(false);
    expect(may(scanner, 'publish', '$JS.API.STREAM.DELETE.FLEETSCAN_SCAN')).toBe(false);
  });

  it('let the scanners own the dead-letter stream and keep their consumers’ dead letters, not a writer’s', () => {
    const scanner: Identity = { role: 'scanner' };
    for (const verb of ['CREATE', 'UPDATE', 'INFO']) {
      expect(may(scanner, 'publish', `$JS.API.STREAM.${verb}.FLEETSCAN_DEAD`)).toBe(true);
    }
    expect(may(scanner, 'publish', 'fleetscan.dead.scan-image')).toBe(true);
    expect(may(scanner, 'publish', 'fleetscan.dead.scan-config')).toBe(true);
    expect(may(scanner, 'publish', 'fleetscan.dead.writer-a')).toBe(false);
    expect(may(scanner, 'publish', '$JS.API.STREAM.DELETE.FLEETSCAN_DEAD')).toBe(false);
    expect(may(scanner, 'publish', '$JS.API.DIRECT.GET.OBJ_fleetscan-blobs')).toBe(true);
  });

  it('let a watcher publish its own cluster’s inventory on the fleet stream, a writer nothing there', () => {
    const uid = '0b5c2f4e-1111-2222-3333-444455556666';
    expect(may(watcherA, 'publish', `fleetscan.inventory.${uid}.a`)).toBe(true);
    expect(may(watcherA, 'publish', 'fleetscan.inventory._synced.a')).toBe(true);
    expect(may(watcherA, 'publish', '$JS.API.STREAM.INFO.FLEETSCAN_FLEET')).toBe(true);
    expect(may(writerA, 'publish', `fleetscan.inventory.${uid}.a`)).toBe(false);
    expect(may({ role: 'scanner' }, 'publish', `fleetscan.inventory.${uid}.a`)).toBe(false);
    expect(may({ role: 'scanner' }, 'publish', 'fleetscan.findings.0123456789abcdef0123456789abcdef.a')).toBe(
      true,
    );
  });

  it('let the fleet view read the fleet stream with direct gets, create no consumer and publish nothing else', () => {
    const fv: Identity = { role: 'fleetview' };
    expect(userName(fv)).toBe('fleetview');
    for (const s of ['$JS.API.STREAM.INFO.FLEETSCAN_FLEET', '$JS.API.DIRECT.GET.FLEETSCAN_FLEET']) {
      expect(may(fv, 'publish', s), s).toBe(true);
    }
    for (const s of [
      ...notA.filter((s) => s !== '$JS.API.DIRECT.GET.FLEETSCAN_FLEET'),
      // No consumer of any kind: a create's body could ask for push delivery to any subject.
      '$JS.API.CONSUMER.CREATE.FLEETSCAN_FLEET.oc1',
      '$JS.API.CONSUMER.CREATE.FLEETSCAN_FLEET.oc1.fleetscan.findings.>',
      '$JS.API.CONSUMER.DURABLE.CREATE.FLEETSCAN_FLEET.oc1',
      '$JS.API.CONSUMER.MSG.NEXT.FLEETSCAN_FLEET.oc1',
      '$JS.API.CONSUMER.DELETE.FLEETSCAN_FLEET.oc1',
      '$JS.FC.FLEETSCAN_FLEET.x.1',
      '$JS.API.DIRECT.GET.FLEETSCAN_FLEET.fleetscan.findings.x.a',
      '$JS.API.STREAM.MSG.GET.FLEETSCAN_FLEET',
      'fleetscan.scan.image.a',
      'fleetscan.inventory._synced.a',
      'fleetscan.findings.0123456789abcdef0123456789abcdef.a',
      '$JS.API.CONSUMER.CREATE.FLEETSCAN_RESULTS.x',
      '$JS.API.CONSUMER.MSG.NEXT.FLEETSCAN_RESULTS.writer-a',
      '$JS.API.STREAM.DELETE.FLEETSCAN_FLEET',
      '$JS.API.STREAM.MSG.DELETE.FLEETSCAN_FLEET',
      '$KV.fleetscan-state.trivy-db',
    ]) {
      expect(may(fv, 'publish', s), s).toBe(false);
    }
    expect(may(fv, 'subscribe', '_INBOX.fleetview.x')).toBe(true);
    expect(may(fv, 'subscribe', 'fleetscan.inventory.>')).toBe(false);
  });

  it('name users and inboxes per cluster, and refuse a cluster name that is not a subject token', () => {
    expect(userName(watcherA)).toBe('watcher-a');
    expect(inboxPrefix(writerA)).toBe('_INBOX.writer-a');
    expect(() => userName({ role: 'writer', cluster: 'a.b' })).toThrow(/invalid cluster name/);
    expect(() => userName({ role: 'writer' })).toThrow(/needs a cluster/);
  });
});
