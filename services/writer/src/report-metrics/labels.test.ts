import { describe, expect, it } from 'vitest';
import { formatGoFloat, resourceLabelNames, sanitizeLabelName, severityLabel } from './labels.ts';

describe('sanitizeLabelName (trivy-operator util.go)', () => {
  it('turns invalid characters into _ and camelCase into snake_case', () => {
    expect(sanitizeLabelName('app.kubernetes.io/name')).toBe('app_kubernetes_io_name');
    expect(sanitizeLabelName('team')).toBe('team');
    expect(sanitizeLabelName('costCenter')).toBe('cost_center');
    expect(sanitizeLabelName('ABC')).toBe('abc');
    expect(sanitizeLabelName('app_Name')).toBe('app_name');
    expect(sanitizeLabelName('v2Tier')).toBe('v2_tier');
  });
});

describe('resourceLabelNames', () => {
  const reserved = new Set(['namespace', 'severity']);

  it('prefixes each key, in order', () => {
    expect(resourceLabelNames('k8s_label_', ['team', 'app.kubernetes.io/name'], reserved)).toEqual({
      names: ['k8s_label_team', 'k8s_label_app_kubernetes_io_name'],
      problems: [],
    });
  });

  it('says which keys give names a scrape would fail on', () => {
    expect(resourceLabelNames('', ['namespace'], reserved).problems).toEqual([
      'namespace gives namespace, a label the trivy_* metrics already have',
    ]);
    expect(resourceLabelNames('k8s_label_', ['a.b', 'a_b'], reserved).problems).toEqual([
      'a.b and a_b both give k8s_label_a_b',
    ]);
    expect(resourceLabelNames('', ['1team'], reserved).problems).toEqual([
      '1team gives 1team, not a Prometheus label name',
    ]);
    expect(resourceLabelNames('_', ['_x'], reserved).problems).toEqual([
      '_x gives __x; names starting with __ are reserved',
    ]);
  });
});

describe('severityLabel (trivy-operator types.go NewSeverityLabel)', () => {
  it('title-cases severities', () => {
    expect(['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'].map(severityLabel)).toEqual([
      'Critical',
      'High',
      'Medium',
      'Low',
      'Unknown',
    ]);
    expect(severityLabel('high')).toBe('High');
    expect(severityLabel('NONE')).toBe('None');
    expect(severityLabel('very high')).toBe('Very High');
    expect(severityLabel('')).toBe('');
  });
});

describe('formatGoFloat (strconv.FormatFloat(f, f, -1, 64))', () => {
  it('writes the shortest decimal, never an exponent', () => {
    expect(formatGoFloat(9.1)).toBe('9.1');
    expect(formatGoFloat(7)).toBe('7');
    expect(formatGoFloat(0)).toBe('0');
    expect(formatGoFloat(1e-7)).toBe('0.0000001');
    expect(formatGoFloat(-2.5e-7)).toBe('-0.00000025');
    expect(formatGoFloat(1.5e21)).toBe('1500000000000000000000');
  });
});
