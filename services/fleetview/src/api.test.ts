import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DatabaseSync } from 'node:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from './api.ts';
import { createModel } from './model.ts';
import { findingsMsg, ownerMsg } from './testing.ts';

const TOKEN = 'a-token-of-enough-length';
let server: Server;
let base: string;

beforeAll(async () => {
  const model = createModel(new DatabaseSync(':memory:'));
  model.applyInventory(ownerMsg('east', 'u1', { name: 'web' }));
  model.applyInventory(ownerMsg('west', 'u2', { name: '=cmd' }));
  model.applyFindings(findingsMsg('east', 'reg/app:1', [['CVE-2024-1', 'CRITICAL', '3.0.2']]));
  model.applyFindings(findingsMsg('west', 'reg/app:1', [['CVE-2024-1', 'CRITICAL', '3.0.2']]));
  server = createServer(createApi({ db: model.db, token: TOKEN, caughtUp: () => true }));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const get = (path: string, token: string | null = TOKEN, method = 'GET') =>
  fetch(base + path, { method, headers: token ? { authorization: `Bearer ${token}` } : {} });

describe('the fleet view API', () => {
  it('answers where a vulnerability runs, as JSON and as CSV', async () => {
    const res = await get('/v1/vulnerabilities/CVE-2024-1/workloads');
    expect(res.status).toBe(200);
    const body = (await res.json()) as { total: number; items: { cluster: string }[] };
    expect(body.total).toBe(2);
    expect(body.items.map((i) => i.cluster)).toEqual(['east', 'west']);
    const csv = await (await get('/v1/vulnerabilities/cve-2024-1/workloads?format=csv&limit=5000')).text();
    const lines = csv.trimEnd().split('\r\n');
    expect(lines[0]).toBe(
      'cluster,namespace,kind,name,container,image,digest,severity,pkg,installed,fixed,title,firstSeen,scannedAt',
    );
    expect(lines).toHaveLength(3);
    // A name a spreadsheet would run as a formula is quoted.
    expect(lines[2]).toContain(",'=cmd,");
  });

  it('needs the bearer token on /v1, not on the page', async () => {
    expect((await get('/v1/clusters', null)).status).toBe(401);
    expect((await get('/v1/clusters', 'wrong-token-of-enough-length')).status).toBe(401);
    expect((await get('/v1/clusters')).status).toBe(200);
    const page = await get('/', null);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('/v1/vulnerabilities/');
  });

  it.each([
    ['/v1/vulnerabilities/CVE-1/workloads?limit=0', 400],
    ['/v1/vulnerabilities/CVE-1/workloads?limit=501', 400],
    ['/v1/vulnerabilities/CVE-1/workloads?limit=10001&format=csv', 400],
    ['/v1/vulnerabilities/CVE-1/workloads?limit=-1', 400],
    ['/v1/vulnerabilities/CVE-1/workloads?limit=1e9', 400],
    ['/v1/vulnerabilities/CVE-1/workloads?offset=99999999999', 400],
    ['/v1/vulnerabilities/CVE-1/workloads?severity=BAD', 400],
    ['/v1/vulnerabilities/CVE-1/workloads?cluster=A.B', 400],
    ['/v1/vulnerabilities/CVE-1/workloads?namespace=%27%20OR%201%3D1--', 400],
    ['/v1/vulnerabilities/CVE-1/workloads?fixable=maybe', 400],
    ['/v1/vulnerabilities/CVE-1/workloads?cluster=a&cluster=b', 400],
    ['/v1/vulnerabilities/CVE-1/workloads?bogus=1', 400],
    ['/v1/vulnerabilities/%27%3B%20DROP%20TABLE%20owners%3B--/workloads', 400],
    ['/v1/vulnerabilities/%E0%A4%A/workloads', 400],
    [`/v1/vulnerabilities/${'A'.repeat(200)}/workloads`, 400],
    ['/v1/images/sha256:zz/workloads', 400],
    ['/v1/images/latest/workloads', 400],
    ['/v1/new', 400],
    ['/v1/new?since=yesterday', 400],
    ['/v1/new?sinceDb=v2', 400],
    ['/v1/new?since=2026-01-01T00:00:00Z&sinceDb=2026-01-01T00:00:00Z', 400],
    ['/v1/fix-first?limit=abc', 400],
    ['/v1/clusters?x=1', 400],
    ['/v1/nothing', 404],
    ['/etc/passwd', 404],
    [`/v1/clusters?${'a'.repeat(5000)}`, 414],
  ])('refuses %s with %i', async (path, status) => {
    const res = await get(path);
    expect(res.status).toBe(status);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.message).toBeTruthy();
  });

  it('is read-only', async () => {
    expect((await get('/v1/clusters', TOKEN, 'POST')).status).toBe(405);
    expect((await get('/v1/clusters', TOKEN, 'DELETE')).status).toBe(405);
  });

  it('still has its tables after hostile input', async () => {
    const res = await get('/v1/clusters');
    const body = (await res.json()) as { items: { cluster: string; owners: number }[] };
    expect(body.items.map((c) => [c.cluster, c.owners])).toEqual([
      ['east', 1],
      ['west', 1],
    ]);
  });

  it('answers fix-first, digest and new', async () => {
    const ff = (await (await get('/v1/fix-first')).json()) as {
      items: { workloads: number; score: number }[];
    };
    expect(ff.items[0]).toMatchObject({ workloads: 2, score: 2 });
    const d = (await (await get(`/v1/images/sha256:${'a'.repeat(64)}/workloads`)).json()) as {
      total: number;
    };
    expect(d.total).toBe(2);
    const n = (await (await get('/v1/new?since=2026-01-01T00:00:00Z&severity=critical')).json()) as {
      total: number;
    };
    expect(n.total).toBe(2);
    // Found with the DB of 2026-01-01 (testing.ts): nothing newer than it, both newer than the one before.
    const since = async (db: string) =>
      (await (await get(`/v1/new?sinceDb=${db}`)).json()) as { total: number; items: { firstDb: string }[] };
    expect((await since('2026-01-01T00:00:00Z')).total).toBe(0);
    const older = await since('2025-12-31T00:00:00Z');
    expect([older.total, older.items[0]?.firstDb]).toEqual([2, '2026-01-01T00:00:00.000Z']);
  });
});
