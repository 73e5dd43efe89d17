import type { ImageScanData, SbomEntry } from '@fleetscan/bus';
import type { Owner } from '@fleetscan/inventory';
import {
  ANNOTATION_OMITTED_COMPONENTS,
  API_VERSION,
  type Bom,
  BomSchema,
  SBOM_REPORT,
  type SbomComponent,
  type SbomReport,
  sbomReportMetadata,
  sbomSummary,
} from '@fleetscan/reports';
import { z } from 'zod';
import { type BuildSettings, ownerOf, stamp } from './build.ts';

/**
 * SbomReports, built from the CycloneDX SBOM the scanner stored for the image's digest (no trivy
 * run of their own), in trivy-operator's shape (pkg/sbomreport: io.go BuildSbomReportData,
 * builder.go, util.go cycloneDxBomToReport).
 */

/**
 * CycloneDX 1.4 wrote `metadata.tools` as a list of {vendor, name, version}; 1.5 and later (trivy
 * since 0.50) as {components: [...]}, which is what the CRD keeps. An old list is read as the new form.
 */
const ToolsSchema = z.preprocess(
  (t) =>
    Array.isArray(t)
      ? {
          components: t.map((x: { vendor?: unknown; name?: unknown; version?: unknown }) => ({
            type: 'application',
            ...(typeof x.vendor === 'string' && { group: x.vendor }),
            ...(typeof x.name === 'string' && { name: x.name }),
            ...(typeof x.version === 'string' && { version: x.version }),
          })),
        }
      : t,
  BomSchema.shape.metadata.unwrap().shape.tools,
);

/**
 * The SBOM as the report keeps it: zod objects drop every field the CRD does not have (a
 * component's manufacturer, description, externalReferences…, the document's `$schema` and any
 * `vulnerabilities`), as trivy-operator's conversion into its own types does.
 */
const CycloneDxSchema = BomSchema.extend({
  bomFormat: z.literal('CycloneDX'),
  metadata: BomSchema.shape.metadata.unwrap().extend({ tools: ToolsSchema }).optional(),
});

/** The stored CycloneDX JSON as the report's BOM; throws (a ZodError or SyntaxError) when it is not CycloneDX. */
export function bomFromCycloneDx(json: string): Bom {
  const bom = CycloneDxSchema.parse(JSON.parse(json));
  // trivy-operator's conversion always writes the dependency list, empty or not.
  return { ...bom, dependencies: bom.dependencies ?? [] };
}

/**
 * The SbomReport of one owner's container. `data` is the image result named for the reference the
 * container runs (forReference), for registry and artifact; `entry` the analysis its BOM came from.
 * The report's time is the analysis's: the SBOM changes only with a new analysis, so a re-match
 * against a newer DB (a new result, the same SBOM) finds it unchanged and does not write it again.
 * Undefined when the image has no packages: trivy-operator writes no SbomReport then.
 */
export function buildSbomReport(
  owner: Owner,
  container: string,
  data: Pick<ImageScanData, 'registry' | 'artifact'>,
  entry: Pick<SbomEntry, 'scanner' | 'analysedAt'>,
  bom: Bom,
  s: Pick<BuildSettings, 'maxReportBytes'>,
): SbomReport | undefined {
  if ((bom.components?.length ?? 0) === 0) return undefined;
  const { labels: _labels, ...artifact } = data.artifact;
  const report = {
    updateTimestamp: entry.analysedAt,
    scanner: entry.scanner,
    registry: data.registry,
    artifact,
    summary: sbomSummary(bom),
    components: bom,
  };
  const meta = sbomReportMetadata({
    owner: ownerOf(owner),
    container,
    resourceSpecHash: owner.specHash,
  });
  const obj: SbomReport = {
    apiVersion: API_VERSION,
    kind: SBOM_REPORT.kind,
    metadata: { ...stamp(meta, report, entry.analysedAt), namespace: owner.namespace },
    report,
  };
  const size = Buffer.byteLength(JSON.stringify(obj));
  if (size <= s.maxReportBytes) return obj;
  // As findings are for the other reports: the full summary, and what fits of the list.
  const listBytes = Buffer.byteLength(JSON.stringify([bom.components, bom.dependencies]));
  const fitted = fitBom(bom, s.maxReportBytes - (size - listBytes) - 256);
  return {
    ...obj,
    metadata: {
      ...obj.metadata,
      annotations: {
        ...obj.metadata.annotations,
        [ANNOTATION_OMITTED_COMPONENTS]: String(fitted.omitted),
      },
    },
    report: { ...report, components: fitted.bom },
  };
}

/**
 * The BOM's components, in its order, with their dependency entries, while their JSON fits in
 * `budget` bytes; the dependency entries keep only references to components kept (and the image
 * itself, the BOM's metadata.component). How many components were left out comes with it.
 */
export function fitBom(bom: Bom, budget: number): { bom: Bom; omitted: number } {
  const components = bom.components ?? [];
  const depsOf = new Map((bom.dependencies ?? []).map((d) => [d.ref, d]));
  const rootRef = bom.metadata?.component?.['bom-ref'];
  const root = rootRef === undefined ? undefined : depsOf.get(rootRef);
  const bytes = (v: unknown) => Buffer.byteLength(JSON.stringify(v)) + 1;
  let used = 4 + (root ? bytes(root) : 0);
  const kept: SbomComponent[] = [];
  for (const c of components) {
    const dep = c['bom-ref'] === undefined ? undefined : depsOf.get(c['bom-ref']);
    const cost = bytes(c) + (dep ? bytes(dep) : 0);
    if (used + cost > budget) break;
    used += cost;
    kept.push(c);
  }
  const refs = new Set<string | undefined>([rootRef, ...kept.map((c) => c['bom-ref'])]);
  const dependencies = (bom.dependencies ?? [])
    .filter((d) => d.ref !== undefined && refs.has(d.ref))
    .map((d) => (d.dependsOn ? { ...d, dependsOn: d.dependsOn.filter((r) => refs.has(r)) } : d));
  return { bom: { ...bom, components: kept, dependencies }, omitted: components.length - kept.length };
}
