import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createKubeConnection, isKubeError, type KubeConnection, KubeErrorCode } from '@fleetscan/kube';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createReportApi, FIELD_MANAGER } from './apply.ts';

interface Seen {
  method: string;
  url: string;
  contentType: string | undefined;
  body: string;
}

let seen: Seen[];
let connections: number;
let answer: (req: Seen, res: ServerResponse) => void;
let server: ReturnType<typeof createServer>;
let conn: KubeConnection;

const status = (res: ServerResponse, code: number, reason: string) => {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(
    JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', code, reason, message: reason }),
  );
};

beforeEach(async () => {
  seen = [];
  connections = 0;
  answer = (req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.body || '{}');
  };
  server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = {
        method: req.method ?? '',
        url: req.url ?? '',
        contentType: req.headers['content-type'],
        body: Buffer.concat(chunks).toString(),
      };
      seen.push(r);
      answer(r, res);
    });
  });
  server.on('connection', () => connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  conn = createKubeConnection({
    server: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    source: 'test',
  });
});

afterEach(async () => {
  conn.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

describe('report API', () => {
  it('applies reports with server-side apply under fleetscan-writer, over one kept-alive connection', async () => {
    const api = createReportApi(conn);
    const report = {
      kind: 'VulnerabilityReport',
      metadata: { name: 'replicaset-web-app', namespace: 'team-a' },
    };
    for (let i = 0; i < 3; i++) await api.apply('vulnerabilityreports', report);
    expect(seen).toHaveLength(3);
    expect(seen[0]).toEqual({
      method: 'PATCH',
      url: `/apis/aquasecurity.github.io/v1alpha1/namespaces/team-a/vulnerabilityreports/replicaset-web-app?fieldManager=${FIELD_MANAGER}&force=true&fieldValidation=Ignore`,
      contentType: 'application/apply-patch+yaml',
      body: JSON.stringify(report),
    });
    expect(connections).toBe(1);
  });

  it("replaces another tool's report in one JSON Patch: fleetscan's metadata and content, no field managers", async () => {
    const api = createReportApi(conn);
    const report = {
      apiVersion: 'aquasecurity.github.io/v1alpha1',
      kind: 'VulnerabilityReport',
      metadata: {
        name: 'replicaset-web-app',
        namespace: 'team-a',
        labels: { 'app.kubernetes.io/managed-by': 'fleetscan' },
        ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web', uid: 'u1' }],
      },
      report: { vulnerabilities: [] },
    };
    await api.replace('vulnerabilityreports', report);
    expect(seen[0]).toMatchObject({
      method: 'PATCH',
      url: `/apis/aquasecurity.github.io/v1alpha1/namespaces/team-a/vulnerabilityreports/replicaset-web-app?fieldManager=${FIELD_MANAGER}&fieldValidation=Ignore`,
      contentType: 'application/json-patch+json',
    });
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual([
      { op: 'add', path: '/metadata/labels', value: report.metadata.labels },
      { op: 'add', path: '/metadata/annotations', value: {} },
      { op: 'add', path: '/metadata/ownerReferences', value: report.metadata.ownerReferences },
      { op: 'add', path: '/report', value: report.report },
      { op: 'add', path: '/metadata/managedFields', value: [{}] },
    ]);
  });

  it('addresses cluster-scoped reports without a namespace', async () => {
    const api = createReportApi(conn);
    await api.apply('clusterrbacassessmentreports', {
      kind: 'ClusterRbacAssessmentReport',
      metadata: { name: 'clusterrole-wide' },
    });
    await api.delete('clusterconfigauditreports', '', 'persistentvolume-pv1');
    expect(seen.map((s) => `${s.method} ${s.url.split('?')[0]}`)).toEqual([
      'PATCH /apis/aquasecurity.github.io/v1alpha1/clusterrbacassessmentreports/clusterrole-wide',
      'DELETE /apis/aquasecurity.github.io/v1alpha1/clusterconfigauditreports/persistentvolume-pv1',
    ]);
  });

  it('deletes, taking a report already gone as done, and passes other failures on classified', async () => {
    const api = createReportApi(conn);
    answer = (_req, res) => status(res, 404, 'NotFound');
    await api.delete('configauditreports', 'team-a', 'replicaset-web');
    expect(seen[0]).toMatchObject({
      method: 'DELETE',
      url: '/apis/aquasecurity.github.io/v1alpha1/namespaces/team-a/configauditreports/replicaset-web',
    });
    answer = (_req, res) => status(res, 403, 'Forbidden');
    const err = await api.delete('configauditreports', 'team-a', 'x').catch((e: unknown) => e);
    expect(isKubeError(err, KubeErrorCode.Forbidden)).toBe(true);
    answer = (_req, res) => status(res, 409, 'Conflict');
    const conflict = await api
      .apply('configauditreports', { kind: 'ConfigAuditReport', metadata: { name: 'x', namespace: 'n' } })
      .catch((e: unknown) => e);
    expect(isKubeError(conflict, KubeErrorCode.Conflict)).toBe(true);
  });
});
