import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

describe('writer config', () => {
  it('requires CLUSTER_NAME and parses REPORT_TTL as a duration', () => {
    expect(() => loadConfig({})).toThrow(/CLUSTER_NAME/);
    expect(loadConfig({ CLUSTER_NAME: 'a', REPORT_TTL: '90m' }).reportTtlSeconds).toBe(5400);
    expect(() => loadConfig({ CLUSTER_NAME: 'a', REPORT_TTL: 'soon' })).toThrow(/REPORT_TTL/);
  });

  it('reads the API server proxy variables once, as client-go does', () => {
    const env = { CLUSTER_NAME: 'a', HTTPS_PROXY: '', https_proxy: 'http://proxy:3128', NO_PROXY: '.svc' };
    expect(loadConfig(env).kubeProxy).toEqual({
      httpsProxy: 'http://proxy:3128',
      httpProxy: undefined,
      noProxy: '.svc',
      cgi: false,
    });
  });

  it("serves trivy-operator's summary metrics and none of its opt-in info metrics by default", () => {
    const c = loadConfig({ CLUSTER_NAME: 'a' });
    expect(c.reportMetrics).toEqual({
      enabled: true,
      info: {
        vulnerabilityId: false,
        exposedSecretInfo: false,
        configAuditInfo: false,
        imageInfo: false,
        rbacAssessmentInfo: false,
        infraAssessmentInfo: false,
      },
      labelKeys: [],
      labelNames: [],
      maxInfoSeries: 100_000,
    });
    expect(c.reportLabels).toEqual({ resourceLabels: [], additionalLabels: {} });
  });

  it('reads report labels as trivy-operator does, and their metric label names', () => {
    const c = loadConfig({
      CLUSTER_NAME: 'a',
      REPORT_RESOURCE_LABELS: 'team, app.kubernetes.io/name,team',
      REPORT_ADDITIONAL_LABELS: 'env=prod, owner=platform',
      METRICS_VULN_ID_ENABLED: 'true',
      METRICS_IMAGE_INFO_ENABLED: '1',
      METRICS_INFRA_ASSESSMENT_INFO_ENABLED: 'true',
    });
    expect(c.reportLabels).toEqual({
      resourceLabels: ['team', 'app.kubernetes.io/name'],
      additionalLabels: { env: 'prod', owner: 'platform' },
    });
    expect(c.reportMetrics.labelNames).toEqual(['k8s_label_team', 'k8s_label_app_kubernetes_io_name']);
    expect(c.reportMetrics.info).toMatchObject({
      vulnerabilityId: true,
      imageInfo: true,
      configAuditInfo: false,
      rbacAssessmentInfo: false,
      infraAssessmentInfo: true,
    });
    expect(
      loadConfig({ CLUSTER_NAME: 'a', REPORT_RESOURCE_LABELS: 'team', METRICS_RESOURCE_LABELS_PREFIX: 'x_' })
        .reportMetrics.labelNames,
    ).toEqual(['x_team']);
  });

  it('refuses report labels that could not be written or would break every scrape, naming the variable', () => {
    expect(() => loadConfig({ CLUSTER_NAME: 'a', REPORT_ADDITIONAL_LABELS: 'env' })).toThrow(
      /REPORT_ADDITIONAL_LABELS: env is not key=value/,
    );
    expect(() => loadConfig({ CLUSTER_NAME: 'a', REPORT_ADDITIONAL_LABELS: 'env=a b' })).toThrow(
      /REPORT_ADDITIONAL_LABELS: env=a b is not a valid label/,
    );
    expect(() => loadConfig({ CLUSTER_NAME: 'a', REPORT_RESOURCE_LABELS: 'a b' })).toThrow(
      /REPORT_RESOURCE_LABELS: a b is not a label key/,
    );
    expect(() =>
      loadConfig({
        CLUSTER_NAME: 'a',
        REPORT_RESOURCE_LABELS: 'severity',
        METRICS_RESOURCE_LABELS_PREFIX: '',
      }),
    ).toThrow(/REPORT_RESOURCE_LABELS: severity gives severity, a label the trivy_\* metrics already have/);
    // Nor the cluster label every series of the writer carries.
    expect(() =>
      loadConfig({
        CLUSTER_NAME: 'a',
        REPORT_RESOURCE_LABELS: 'cluster',
        METRICS_RESOURCE_LABELS_PREFIX: '',
      }),
    ).toThrow(/cluster gives cluster, a label the trivy_\* metrics already have/);
    expect(() => loadConfig({ CLUSTER_NAME: 'a', REPORT_RESOURCE_LABELS: 'a.b,a_b' })).toThrow(
      /a.b and a_b both give k8s_label_a_b/,
    );
  });
});
