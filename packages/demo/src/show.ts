import type { AnyReportLike } from './scenario.ts';

const rank = (s: string) => ['CRITICAL', 'HIGH', 'MEDIUM', 'LOW', 'UNKNOWN'].indexOf(s);

/** Whitespace collapsed, cut at `max` characters: a terminal line per finding. */
const oneLine = (s: string, max: number) => {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

/** A readable table of reports for a terminal: one line per report, then its top findings. */
export function formatReports(reports: AnyReportLike[]): string {
  const lines: string[] = [];
  const row = (cols: string[], widths: number[]) =>
    cols
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  const widths = [20, 44, 30, 8, 6, 6, 6];
  lines.push(row(['KIND', 'NAME', 'OWNER', 'CRITICAL', 'HIGH', 'MEDIUM', 'LOW'], widths));
  for (const r of reports) {
    const s = r.report.summary;
    const owner = r.metadata.ownerReferences?.[0];
    lines.push(
      row(
        [
          r.kind,
          r.metadata.name,
          owner ? `${owner.kind}/${owner.name}` : '-',
          String(s.criticalCount ?? 0),
          String(s.highCount ?? 0),
          String(s.mediumCount ?? 0),
          String(s.lowCount ?? 0),
        ],
        widths,
      ),
    );
  }
  for (const r of reports) {
    lines.push('', `${r.kind} ${r.metadata.namespace}/${r.metadata.name}:`);
    if (r.kind === 'VulnerabilityReport') {
      const vulns = (r.report.vulnerabilities ?? []) as {
        vulnerabilityID: string;
        severity: string;
        resource: string;
        installedVersion: string;
        fixedVersion: string;
      }[];
      const sorted = [...vulns].sort((a, b) => rank(a.severity) - rank(b.severity));
      for (const v of sorted.slice(0, 8)) {
        lines.push(
          `  ${v.severity.padEnd(9)}${v.vulnerabilityID.padEnd(18)}${v.resource.padEnd(12)}${v.installedVersion} → ${v.fixedVersion || '(no fix)'}`,
        );
      }
      if (vulns.length > 8) lines.push(`  … ${vulns.length - 8} more`);
    } else {
      // Every failing check, each with its message: the few a manifest fails are the point of the
      // audit (a LOW one is no less the user's), and one check can fail for several objects.
      const failed = (
        (r.report.checks ?? []) as {
          checkID: string;
          severity: string;
          title: string;
          success: boolean;
          messages?: string[];
        }[]
      ).filter((c) => !c.success);
      failed.sort((a, b) => rank(a.severity) - rank(b.severity) || a.checkID.localeCompare(b.checkID));
      for (const c of failed) {
        const what = c.messages?.[0] ?? c.title;
        lines.push(`  ${c.severity.padEnd(9)}${c.checkID.padEnd(8)}${oneLine(what, 110)}`);
      }
    }
  }
  return `${lines.join('\n')}\n`;
}
