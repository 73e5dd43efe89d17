import type { Logger } from '@fleetscan/service';
import {
  createConfigAuditor,
  createTrivyRunner,
  parseImageReport,
  parseSbomReport,
  readDbInfo,
  retargetSbomReport,
  sbomWithoutFindings,
  toImageReportData,
} from '@fleetscan/trivy';
import type { ImageFindings, ScanEngine } from './engine.ts';
import { sweepScratchDirs, withScratchDir } from './scratch.ts';

const SCANNER = { name: 'Trivy', vendor: 'Aqua Security' } as const;

export interface TrivyEngineConfig {
  bin: string;
  cacheDir: string;
  timeoutMs: number;
  /** nice(1) of runs for work nobody waits for (`background`), and of the audit worker's bulk threads; 0: none. */
  bulkNiceness?: number;
  /** Runs image, convert and sbom in long-lived trivy workers (`<bin> trivy`); absent: a trivy process each. */
  workers?: { bin: string; maxIdle: number };
  /** The config audit worker (`fleetscan-auditor`); see ScannerConfig.auditor. */
  auditor: { bin: string; concurrency: number; gcPercent: number; requestManifests: number };
}

/**
 * The real engine: @fleetscan/trivy runs the process, its parsers shape the output. Settings
 * that trivy reads from files (ignore file, ignore policy) and the SBOM are written to a
 * private temporary directory for the run and removed after it. Config audits go to one
 * long-lived audit worker (trivy's checks linked as a library, compiled once), started with the
 * engine and restarted with backoff when it dies. Image analyses and re-matches run in trivy
 * workers when configured (trivy's own commands in a long-lived process, see @fleetscan/trivy).
 */
export function createTrivyEngine(cfg: TrivyEngineConfig, logger: Logger): ScanEngine {
  const runner = createTrivyRunner({
    bin: cfg.bin,
    cacheDir: cfg.cacheDir,
    timeoutMs: cfg.timeoutMs,
    // A worker ready for the first urgent run, as the audit worker is for the first urgent audit.
    ...(cfg.workers && { workers: { ...cfg.workers, warm: true } }),
    logger,
  });
  const auditor = createConfigAuditor({
    bin: cfg.auditor.bin,
    timeoutMs: cfg.timeoutMs,
    concurrency: cfg.auditor.concurrency,
    gcPercent: cfg.auditor.gcPercent,
    maxRequestManifests: cfg.auditor.requestManifests,
    ...(cfg.bulkNiceness && { bulkNiceness: cfg.bulkNiceness }),
    logger,
  });
  const niceness = (background: boolean | undefined) =>
    background && cfg.bulkNiceness ? { niceness: cfg.bulkNiceness } : {};
  // Compile the checks now, while the consumers connect, rather than in the first batch's time.
  auditor.version().then(
    (version) => logger.info({ trivy: version }, 'config audit worker ready'),
    (err: unknown) =>
      logger.warn({ err: String(err) }, 'config audit worker did not start; retried at the first batch'),
  );
  // Leftovers of a killed predecessor: far older than any run can be (timeout + kill grace).
  void sweepScratchDirs(2 * cfg.timeoutMs + 60_000).then(
    (removed) => {
      if (removed.length > 0) logger.info({ removed }, 'removed stale trivy scratch directories');
    },
    () => {},
  );
  let version: Promise<string> | undefined;
  const scannerVersion = () => {
    version ??= runner.version().then((v) => v.version);
    // A failed `trivy --version` must not stick: ask again next time.
    version.catch(() => {
      version = undefined;
    });
    return version;
  };
  const findings = async (data: ReturnType<typeof toImageReportData>): Promise<ImageFindings> => ({
    scanner: { ...SCANNER, version: await scannerVersion() },
    registry: data.registry,
    artifact: data.artifact,
    os: data.os,
    vulnerabilities: data.vulnerabilities,
  });
  return {
    async analyseImage(image, opts) {
      const run = await runner.scanImage(image, {
        scanners: [...opts.scanners],
        ...(opts.imageConfigScanners && { imageConfigScanners: opts.imageConfigScanners }),
        ...(opts.skipFiles && { skipFiles: opts.skipFiles }),
        ...(opts.skipDirs && { skipDirs: opts.skipDirs }),
        signal: opts.signal,
        ...niceness(opts.background),
        ...(opts.credentials ? { registryAuth: opts.credentials } : {}),
      });
      const data = toImageReportData(parseImageReport(run.json), { imageRef: image });
      // `trivy convert` reads the report from a file; the CycloneDX it prints is the SBOM kept.
      const sbom = await withScratchDir(async (files) => {
        const report = await files.write('image.json', run.json);
        return sbomWithoutFindings(
          (await runner.convertToCycloneDx(report, { signal: opts.signal, ...niceness(opts.background) }))
            .json,
        );
      });
      return {
        findings: await findings(data),
        ...(opts.scanners.includes('secret') && { secrets: data.secrets }),
        sbom,
      };
    },
    async matchSbom(sbom, opts) {
      return withScratchDir(async (files) => {
        const { match } = opts;
        const run = await runner.scanSbom(await files.write('sbom.cdx.json', sbom), {
          ...(match.severities && { severities: match.severities }),
          ...(match.ignoreUnfixed && { ignoreUnfixed: true }),
          ...(match.ignoreFile && { ignoreFile: await files.write('.trivyignore', match.ignoreFile) }),
          // trivy reads the YAML format by the file's extension.
          ...(match.ignoreFileYaml && {
            ignoreFile: await files.write('.trivyignore.yaml', match.ignoreFileYaml),
          }),
          ...(match.ignorePolicy && { ignorePolicy: await files.write('policy.rego', match.ignorePolicy) }),
          signal: opts.signal,
          ...niceness(opts.background),
        });
        const report = retargetSbomReport(parseSbomReport(run.json), opts.image);
        return findings(toImageReportData(report, { imageRef: opts.image }));
      });
    },
    auditManifests(manifests, opts) {
      return auditor.audit(manifests, { signal: opts.signal, urgent: opts.urgent ?? false });
    },
    async scanner() {
      return { ...SCANNER, version: await scannerVersion() };
    },
    auditorReady() {
      return auditor.version();
    },
    auditorRunning() {
      return auditor.running();
    },
    async dbUpdatedAt() {
      return (await readDbInfo(cfg.cacheDir)).updatedAt;
    },
    async close() {
      await Promise.all([auditor.close(), runner.close()]);
    },
  };
}
