import { describe, expect, it } from 'vitest';
import { formatGoDuration, formatGoDurationNanos, parseGoDuration } from './duration.ts';
import {
  compareGoStrings,
  computeHash,
  computePluginConfigHash,
  computeSpecHash,
  fnv32a,
  type GoValue,
  goObjectRef,
  goString,
  goStringMap,
  goStringSlice,
  SAFE_ENCODE_ALPHABET,
  safeEncodeString,
  spewSharpV,
} from './hash.ts';
import {
  ANNOTATION_REPORT_TTL,
  configAuditReportMetadata,
  configAuditReportName,
  containerReportName,
  exposedSecretReportMetadata,
  infraAssessmentReportMetadata,
  infraAssessmentReportName,
  isDNS1123Label,
  isQualifiedName,
  isValidLabelValue,
  rbacAssessmentReportMetadata,
  rbacAssessmentReportName,
  resourceIdentity,
  vulnerabilityReportMetadata,
  vulnerabilityReportName,
} from './naming.ts';
import { NamespacedObjectMetaSchema, ObjectMetaSchema } from './schemas.ts';

describe('kube.ComputeHash', () => {
  it('renders Go values like go-spew %#v', () => {
    expect(spewSharpV(goString('nginx'))).toBe('(string)nginx');
    expect(spewSharpV(goStringSlice(['a', 'b']))).toBe('([]string)[a b]');
    expect(spewSharpV(goStringSlice([]))).toBe('([]string)[]');
    expect(spewSharpV(goStringSlice(null))).toBe('([]string)<nil>');
    expect(spewSharpV(goStringMap({ b: '2', a: '1', B: '0' }))).toBe('(map[string]string)map[B:0 a:1 b:2]');
    expect(spewSharpV(goObjectRef({ kind: 'Pod', name: 'p', namespace: 'ns' }))).toBe(
      '(kube.ObjectRef){Kind:(kube.Kind)Pod Name:(string)p Namespace:(string)ns}',
    );
    const t: GoValue = { kind: 'bool', type: 'bool', value: true };
    expect(spewSharpV({ kind: 'ptr', type: '*bool', elem: t })).toBe('(*bool)true');
    expect(spewSharpV({ kind: 'ptr', type: '*bool', elem: null })).toBe('(*bool)<nil>');
    expect(
      spewSharpV({
        kind: 'slice',
        type: '[]*bool',
        items: [
          { kind: 'ptr', type: '*bool', elem: t },
          { kind: 'ptr', type: '*bool', elem: null },
        ],
      }),
    ).toBe('([]*bool)[<*>true <nil>]');
  });

  it('orders strings as Go does: by their UTF-8 bytes, so above U+FFFF after U+E000–U+FFFF', () => {
    const sorted = ['b', 'a', 'ab', '', 'é', 'Z', '\uffff', '😀', '\ue000', 'a😀', 'a\uffff'].sort(
      compareGoStrings,
    );
    expect(sorted).toEqual(['', 'Z', 'a', 'ab', 'a\uffff', 'a😀', 'b', 'é', '\ue000', '\uffff', '😀']);
    expect(compareGoStrings('same', 'same')).toBe(0);
  });

  it('uses FNV-1a 32 and SafeEncodeString', () => {
    // Standard FNV-1a test vectors.
    expect(fnv32a('')).toBe(0x811c9dc5);
    expect(fnv32a('a')).toBe(0xe40c292c);
    expect(fnv32a('foobar')).toBe(0xbf9cf968);
    // Over UTF-8 bytes: a string and its encoding hash alike.
    expect(fnv32a('é😀')).toBe(fnv32a(new TextEncoder().encode('é😀')));
    // Digits map to 4 5 6 7 8 9 b c d f (rune % 27 into the alphabet).
    expect(safeEncodeString('0123456789')).toBe('456789bcdf');
    expect(SAFE_ENCODE_ALPHABET).toHaveLength(27);
  });

  // Expected values from trivy-operator's own tests:
  //  - pkg/configauditreport/builder_test.go: ClusterRole "system:controller:node-controller" ->
  //    report "clusterrole-6f69bb5b79" and label trivy-operator.resource.name-hash "6f69bb5b79";
  //    Role "pod-Reader" -> report "role-65c67c5c64".
  //  - pkg/vulnerabilityreport/builder_test.go: scan job for ReplicaSet prod-ns/nginx-6799fc88d8 is
  //    "scan-vulnerabilityreport-64d65c457", i.e. ComputeHash(kube.ObjectRef{...}).
  it('matches trivy-operator test vectors', () => {
    expect(computeHash('system:controller:node-controller')).toBe('6f69bb5b79');
    expect(computeHash('pod-Reader')).toBe('65c67c5c64');
    expect(
      computeHash(goObjectRef({ kind: 'ReplicaSet', name: 'nginx-6799fc88d8', namespace: 'prod-ns' })),
    ).toBe('64d65c457');
  });

  it('hashes plugin config the same way regardless of input order', () => {
    const h = computePluginConfigHash(['package b', 'package a']);
    expect(h).toBe(computePluginConfigHash(['package a', 'package b']));
    expect(h).toBe(computeHash(goStringSlice(['package a', 'package b'])));
    expect(h).not.toBe(computePluginConfigHash(['package a']));
  });
});

describe('computeSpecHash (resource-spec-hash, documented deviation)', () => {
  const spec = {
    containers: [{ name: 'nginx', image: 'nginx:1.16' }],
    securityContext: { runAsNonRoot: true },
  };

  it('is stable across key order and undefined fields, and changes with content', () => {
    const reordered = {
      securityContext: { runAsNonRoot: true },
      containers: [{ image: 'nginx:1.16', name: 'nginx' }],
    };
    expect(computeSpecHash(spec)).toBe(computeSpecHash(reordered));
    expect(computeSpecHash(spec)).toBe(computeSpecHash({ ...spec, nodeName: undefined }));
    expect(computeSpecHash(spec)).not.toBe(
      computeSpecHash({ ...spec, containers: [{ name: 'nginx', image: 'nginx:1.17' }] }),
    );
  });

  it('has the shape of a trivy-operator hash (a valid label value from the safe alphabet)', () => {
    // Mirrors pkg/kube/resources_test.go "Should return unique hashes" (100 distinct images).
    const hashes = new Set<string>();
    for (let tag = 0; tag < 100; tag++) {
      const h = computeSpecHash({ containers: [{ name: 'nginx', image: `nginx:${tag}` }] });
      expect(h).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
      expect(isValidLabelValue(h)).toBe(true);
      hashes.add(h);
    }
    expect(hashes.size).toBe(100);
  });
});

describe('Kubernetes validation', () => {
  it('label values', () => {
    expect(isValidLabelValue('')).toBe(true);
    expect(isValidLabelValue('pod-Reader')).toBe(true);
    expect(isValidLabelValue('a.b_c-d')).toBe(true);
    expect(isValidLabelValue('x'.repeat(63))).toBe(true);
    expect(isValidLabelValue('x'.repeat(64))).toBe(false);
    expect(isValidLabelValue('system:controller:node-controller')).toBe(false);
    expect(isValidLabelValue('-a')).toBe(false);
  });

  it('DNS-1123 labels', () => {
    expect(isDNS1123Label('replicaset-nginx')).toBe(true);
    expect(isDNS1123Label('role-pod-Reader')).toBe(false);
    expect(isDNS1123Label('configmap-kube-root-ca.crt')).toBe(false);
    expect(isDNS1123Label('x'.repeat(64))).toBe(false);
  });

  it('qualified names (label keys)', () => {
    expect(isQualifiedName('trivy-operator.resource.name-hash')).toBe(true);
    expect(isQualifiedName('app.kubernetes.io/managed-by')).toBe(true);
    expect(isQualifiedName('a/b/c')).toBe(false);
    expect(isQualifiedName('Bad_Prefix/x')).toBe(false);
  });
});

describe('report names', () => {
  // pkg/vulnerabilityreport/builder_test.go: ReplicaSet "some-owner", container "my-container".
  it('per-container reports: <kind>-<name>-<container>', () => {
    expect(vulnerabilityReportName('ReplicaSet', 'some-owner', 'my-container')).toBe(
      'replicaset-some-owner-my-container',
    );
    expect(containerReportName('StatefulSet', 'falco-falcosidekick-ui-redis', 'redis')).toBe(
      'statefulset-falco-falcosidekick-ui-redis-redis',
    );
  });

  it('per-container reports over 63 chars hash name + "-" + container', () => {
    const name = 'a'.repeat(40);
    // "replicaset-" (11) + 40 + "-" + 11 = 63: still fits.
    expect(containerReportName('ReplicaSet', name, 'c'.repeat(11))).toBe(
      `replicaset-${name}-${'c'.repeat(11)}`,
    );
    // One more char: hashed.
    const hashed = containerReportName('ReplicaSet', name, 'c'.repeat(12));
    expect(hashed).toBe(`replicaset-${computeHash(`${name}-${'c'.repeat(12)}`)}`);
    expect(hashed.length).toBeLessThanOrEqual(63);
  });

  // pkg/configauditreport/builder_test.go
  it('config audit reports: <kind>-<name>, hashed when not a DNS-1123 label', () => {
    expect(configAuditReportName('ReplicaSet', 'some-owner')).toBe('replicaset-some-owner');
    expect(configAuditReportName('ReplicaSet', 'nginx-6d4cf56db6')).toBe('replicaset-nginx-6d4cf56db6');
    expect(configAuditReportName('ClusterRole', 'system:controller:node-controller')).toBe(
      'clusterrole-6f69bb5b79',
    );
    expect(configAuditReportName('Role', 'pod-Reader')).toBe('role-65c67c5c64');
    expect(configAuditReportName('ConfigMap', 'kube-root-ca.crt')).toBe(
      `configmap-${computeHash('kube-root-ca.crt')}`,
    );
    const long = 'n'.repeat(60);
    expect(configAuditReportName('Deployment', long)).toBe(`deployment-${computeHash(long)}`);
  });

  // pkg/rbacassessment/builder.go: the config audit's rule.
  it('RBAC assessment reports: as config audits', () => {
    expect(rbacAssessmentReportName('Role', 'deployer')).toBe('role-deployer');
    expect(rbacAssessmentReportName('ClusterRole', 'system:controller:node-controller')).toBe(
      'clusterrole-6f69bb5b79',
    );
  });

  // pkg/infraassessment/builder.go: IsValidLabelValue, not IsDNS1123Label.
  it('infra assessment reports: <kind>-<name>, hashed only when not a valid label value', () => {
    expect(infraAssessmentReportName('Pod', 'kube-apiserver-node1')).toBe('pod-kube-apiserver-node1');
    // A node's FQDN in a static Pod's name: a label value, so kept (a config audit would hash it).
    const fqdn = 'etcd-cp-1.example.internal';
    expect(infraAssessmentReportName('Pod', fqdn)).toBe(`pod-${fqdn}`);
    expect(configAuditReportName('Pod', fqdn)).toBe(`pod-${computeHash(fqdn)}`);
    const long = 'kube-scheduler-'.padEnd(60, 'x');
    expect(infraAssessmentReportName('Pod', long)).toBe(`pod-${computeHash(long)}`);
  });
});

describe('labels and metadata', () => {
  // pkg/kube/object_test.go TestObjectToObjectMeta
  it('resource identity: name label, or name-hash label plus name annotation', () => {
    expect(resourceIdentity({ kind: 'Pod', name: 'my-pod', namespace: 'production' })).toEqual({
      labels: {
        'trivy-operator.resource.kind': 'Pod',
        'trivy-operator.resource.name': 'my-pod',
        'trivy-operator.resource.namespace': 'production',
      },
      annotations: {},
    });
    expect(resourceIdentity({ kind: 'ClusterRole', name: 'system:controller:node-controller' })).toEqual({
      labels: {
        'trivy-operator.resource.kind': 'ClusterRole',
        'trivy-operator.resource.name-hash': '6f69bb5b79',
        'trivy-operator.resource.namespace': '',
      },
      annotations: { 'trivy-operator.resource.name': 'system:controller:node-controller' },
    });
    const long = `deploy-${'x'.repeat(60)}`;
    expect(resourceIdentity({ kind: 'Deployment', name: long, namespace: 'ns' }).labels).toEqual({
      'trivy-operator.resource.kind': 'Deployment',
      'trivy-operator.resource.name-hash': computeHash(long),
      'trivy-operator.resource.namespace': 'ns',
    });
  });

  // pkg/vulnerabilityreport/builder_test.go TestReportBuilder (managed-by is fleetscan's, TTL added).
  it('vulnerability report metadata', () => {
    const meta = vulnerabilityReportMetadata({
      owner: {
        kind: 'ReplicaSet',
        name: 'some-owner',
        namespace: 'qa',
        apiVersion: 'apps/v1',
        uid: 'uid-1',
        labels: { tier: 'tier-1', owner: 'team-a' },
      },
      container: 'my-container',
      resourceSpecHash: 'xyz',
      resourceLabelsToInclude: ['tier'],
      ttlSeconds: 24 * 3600,
    });
    expect(meta).toEqual({
      name: 'replicaset-some-owner-my-container',
      namespace: 'qa',
      labels: {
        'trivy-operator.resource.kind': 'ReplicaSet',
        'trivy-operator.resource.name': 'some-owner',
        'trivy-operator.resource.namespace': 'qa',
        'trivy-operator.container.name': 'my-container',
        'resource-spec-hash': 'xyz',
        tier: 'tier-1',
        'app.kubernetes.io/managed-by': 'fleetscan',
      },
      annotations: { 'trivy-operator.aquasecurity.github.io/report-ttl': '24h0m0s' },
      ownerReferences: [
        {
          apiVersion: 'apps/v1',
          kind: 'ReplicaSet',
          name: 'some-owner',
          uid: 'uid-1',
          controller: true,
          blockOwnerDeletion: false,
        },
      ],
    });
    expect(NamespacedObjectMetaSchema.parse(meta)).toEqual(meta);
  });

  it('exposed secret report metadata has no TTL unless asked, and no empty spec hash', () => {
    const meta = exposedSecretReportMetadata({
      owner: { kind: 'Pod', name: 'app', namespace: 'default' },
      container: 'app',
      resourceSpecHash: '',
    });
    expect(meta).toEqual({
      name: 'pod-app-app',
      namespace: 'default',
      labels: {
        'trivy-operator.container.name': 'app',
        'trivy-operator.resource.kind': 'Pod',
        'trivy-operator.resource.name': 'app',
        'trivy-operator.resource.namespace': 'default',
        'app.kubernetes.io/managed-by': 'fleetscan',
      },
    });
  });

  // pkg/configauditreport/builder_test.go TestReportBuilder
  it('config audit report metadata, namespaced and cluster-scoped', () => {
    const namespaced = configAuditReportMetadata({
      owner: {
        kind: 'Role',
        name: 'pod-Reader',
        namespace: 'test',
        labels: { tier: 'tier-1', owner: 'team-a' },
      },
      resourceSpecHash: 'xyz',
      pluginConfigHash: 'nop',
      resourceLabelsToInclude: ['tier'],
      ttlSeconds: 90,
    });
    expect(namespaced).toEqual({
      name: 'role-65c67c5c64',
      namespace: 'test',
      labels: {
        'plugin-config-hash': 'nop',
        'trivy-operator.resource.kind': 'Role',
        'trivy-operator.resource.namespace': 'test',
        'trivy-operator.resource.name': 'pod-Reader',
        tier: 'tier-1',
        'resource-spec-hash': 'xyz',
        'app.kubernetes.io/managed-by': 'fleetscan',
      },
      annotations: { [ANNOTATION_REPORT_TTL]: '1m30s' },
    });

    const cluster = configAuditReportMetadata({
      owner: { kind: 'ClusterRole', name: 'system:controller:node-controller', labels: { tier: 'tier-1' } },
      resourceSpecHash: 'xyz',
      pluginConfigHash: 'nop',
      resourceLabelsToInclude: ['tier'],
      ttlSeconds: 90, // trivy-operator puts no TTL on cluster-scoped reports
    });
    expect(cluster).toEqual({
      name: 'clusterrole-6f69bb5b79',
      labels: {
        'trivy-operator.resource.kind': 'ClusterRole',
        'trivy-operator.resource.name-hash': '6f69bb5b79',
        'trivy-operator.resource.namespace': '',
        'resource-spec-hash': 'xyz',
        'plugin-config-hash': 'nop',
        tier: 'tier-1',
        'app.kubernetes.io/managed-by': 'fleetscan',
      },
      annotations: { 'trivy-operator.resource.name': 'system:controller:node-controller' },
    });
    expect(ObjectMetaSchema.parse(cluster)).toEqual(cluster);
  });

  it('RBAC and infra assessment metadata: the config audit labels, TTL only when namespaced', () => {
    const role = rbacAssessmentReportMetadata({
      owner: {
        kind: 'Role',
        name: 'deployer',
        namespace: 'shop',
        apiVersion: 'rbac.authorization.k8s.io/v1',
        uid: 'u1',
      },
      resourceSpecHash: 'xyz',
      pluginConfigHash: 'nop',
      ttlSeconds: 86400,
    });
    expect(role).toEqual({
      name: 'role-deployer',
      namespace: 'shop',
      labels: {
        'resource-spec-hash': 'xyz',
        'plugin-config-hash': 'nop',
        'trivy-operator.resource.kind': 'Role',
        'trivy-operator.resource.namespace': 'shop',
        'trivy-operator.resource.name': 'deployer',
        'app.kubernetes.io/managed-by': 'fleetscan',
      },
      annotations: { [ANNOTATION_REPORT_TTL]: '24h0m0s' },
      ownerReferences: [
        {
          apiVersion: 'rbac.authorization.k8s.io/v1',
          kind: 'Role',
          name: 'deployer',
          uid: 'u1',
          controller: true,
          blockOwnerDeletion: false,
        },
      ],
    });
    const clusterRole = rbacAssessmentReportMetadata({
      owner: { kind: 'ClusterRole', name: 'wide', namespace: '' },
      ttlSeconds: 86400,
    });
    expect(clusterRole.namespace).toBeUndefined();
    expect(clusterRole.annotations).toBeUndefined();
    expect(clusterRole.labels['trivy-operator.resource.namespace']).toBe('');

    const infra = infraAssessmentReportMetadata({
      owner: { kind: 'Pod', name: 'etcd-cp-1.example.internal', namespace: 'kube-system' },
      ttlSeconds: 60,
    });
    expect(infra.name).toBe('pod-etcd-cp-1.example.internal');
    expect(infra.annotations).toEqual({ [ANNOTATION_REPORT_TTL]: '1m0s' });
  });

  it('keeps managed-by even if additional labels try to override it, and rejects invalid labels', () => {
    const meta = vulnerabilityReportMetadata({
      owner: { kind: 'Pod', name: 'p', namespace: 'n' },
      container: 'c',
      additionalLabels: { 'app.kubernetes.io/managed-by': 'someone-else', team: 'a' },
    });
    expect(meta.labels['app.kubernetes.io/managed-by']).toBe('fleetscan');
    expect(meta.labels.team).toBe('a');
    expect(() =>
      vulnerabilityReportMetadata({
        owner: { kind: 'Pod', name: 'p', namespace: 'n' },
        container: 'c',
        additionalLabels: { team: 'x'.repeat(64) },
      }),
    ).toThrow(/invalid value for label team/);
  });
});

describe('Go durations (report-ttl annotation)', () => {
  it('formats like time.Duration.String()', () => {
    expect(formatGoDuration(24 * 3600)).toBe('24h0m0s');
    expect(formatGoDuration(0)).toBe('0s');
    expect(formatGoDuration(90)).toBe('1m30s');
    expect(formatGoDuration(1.5)).toBe('1.5s');
    expect(formatGoDuration(3661.5)).toBe('1h1m1.5s');
    expect(formatGoDuration(0.0015)).toBe('1.5ms');
    expect(formatGoDuration(0.000001)).toBe('1µs');
    expect(formatGoDurationNanos(1n)).toBe('1ns');
    expect(formatGoDuration(-60)).toBe('-1m0s');
  });

  it('parses like time.ParseDuration', () => {
    expect(parseGoDuration('24h0m0s')).toBe(86400);
    expect(parseGoDuration('1h30m')).toBe(5400);
    expect(parseGoDuration('1.5s')).toBe(1.5);
    expect(parseGoDuration('500ms')).toBe(0.5);
    expect(parseGoDuration('0')).toBe(0);
    expect(parseGoDuration('-2m')).toBe(-120);
    expect(() => parseGoDuration('24')).toThrow();
    expect(() => parseGoDuration('')).toThrow();
    expect(parseGoDuration(formatGoDuration(12345.25))).toBe(12345.25);
  });
});
