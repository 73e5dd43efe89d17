import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '@fleetscan/stack';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { findObject, locateHelm, renderChart } from '../support/deploy-helm.ts';

// The chart's PrometheusRule, rendered by the pinned helm and checked by a real promtool (Debian's
// prometheus package, .ci/versions.env): `promtool check rules`, and `promtool test rules` with
// test/fixtures/prometheusrule/alerts.test.yaml, where every alert fires on a made-up series and
// stays quiet on others.

const promtool = () => inject('stack').prometheus.promtool;
const FIXTURE = join(repoRoot, 'test', 'fixtures', 'prometheusrule', 'alerts.test.yaml');
/**
 * promtool test rules evaluates every unit test's hours of series: ~65 s alone on the loaded box and
 * past the default 120 s beside a 10 000-owner benchmark, so its runs get a bound of their own.
 */
const PROMTOOL_TEST_MS = 400_000;

interface Rule {
  alert: string;
  expr: string;
}
interface UnitTest {
  name: string;
  alert_rule_test: { alertname: string; exp_alerts: unknown[] }[];
}

let dir = '';
let groups: { name: string; rules: Rule[] }[] = [];

/** Writes the rule groups and the unit tests side by side, as the unit tests' rule_files expect. */
async function writeRules(g: typeof groups): Promise<void> {
  await writeFile(join(dir, 'rules.yaml'), stringify({ groups: g }));
  await copyFile(FIXTURE, join(dir, 'alerts.test.yaml'));
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleetscan-promtool-'));
  const { objects } = await renderChart(locateHelm(), {
    release: 'fs',
    namespace: 'fleetscan',
    values: { clusterName: 'c1', monitoring: { enabled: true } },
  });
  groups = (findObject(objects, 'PrometheusRule', 'fs-fleetscan').spec as { groups: typeof groups }).groups;
  await writeRules(groups);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("the chart's PrometheusRule under promtool", () => {
  it('passes promtool check rules', async () => {
    const res = await execa(promtool(), ['check', 'rules', 'rules.yaml'], { cwd: dir, reject: false });
    expect(res.exitCode, `${res.stdout}\n${res.stderr}`).toBe(0);
    const alerts = groups.flatMap((g) => g.rules).length;
    expect(res.stdout).toContain(`SUCCESS: ${alerts} rules found`);
  });

  it('has a made-up series for every alert on which it fires, and others on which it stays quiet', async () => {
    const tests = (parse(await readFile(FIXTURE, 'utf8')) as { tests: UnitTest[] }).tests;
    for (const { alert } of groups.flatMap((g) => g.rules)) {
      const fires = tests.filter((t) => t.name.startsWith(`${alert} fires`));
      const quiet = tests.filter((t) => t.name === `${alert} stays quiet`);
      expect(fires.length, `${alert}: a test where it fires`).toBeGreaterThan(0);
      expect(quiet.length, `${alert}: a test where it stays quiet`).toBe(1);
      for (const t of fires) {
        const checks = t.alert_rule_test.filter((c) => c.alertname === alert);
        expect(
          checks.some((c) => c.exp_alerts.length > 0),
          `${t.name} expects it firing`,
        ).toBe(true);
      }
      for (const c of quiet[0]?.alert_rule_test ?? []) {
        expect(c.alertname, quiet[0]?.name).toBe(alert);
        expect(c.exp_alerts, quiet[0]?.name).toEqual([]);
      }
    }
  });

  it(
    'passes promtool test rules: each alert fires on its series and stays quiet on the others',
    async () => {
      const res = await execa(promtool(), ['test', 'rules', 'alerts.test.yaml'], { cwd: dir, reject: false });
      expect(res.exitCode, `${res.stdout}\n${res.stderr}`).toBe(0);
      expect(res.stdout).toContain('SUCCESS');
    },
    PROMTOOL_TEST_MS,
  );

  it(
    'fails promtool test rules when an alert no longer fires as tested (the tests bind the rules)',
    async () => {
      const broken = structuredClone(groups);
      for (const r of broken.flatMap((g) => g.rules)) {
        if (r.alert === 'FleetscanScanFailuresRising') r.expr = r.expr.replace(/> [\d.]+\s*$/, '> 1000\n');
      }
      try {
        await writeRules(broken);
        const res = await execa(promtool(), ['test', 'rules', 'alerts.test.yaml'], {
          cwd: dir,
          reject: false,
        });
        expect(res.exitCode).not.toBe(0);
        expect(`${res.stdout}${res.stderr}`).toContain('FleetscanScanFailuresRising fires');
      } finally {
        await writeRules(groups);
      }
    },
    PROMTOOL_TEST_MS,
  );
});
