import type { Logger } from '@fleetscan/service';
import {
  createTrivyRunner,
  parseConfigReport,
  parseImageReport,
  readDbInfo,
  toChecksByFile,
  toImageReportData,
} from '@fleetscan/trivy';
import type { ScanEngine } from './engine.ts';

const SCANNER = { name: 'Trivy', vendor: 'Aqua Security' } as const;

/** The real engine: @fleetscan/trivy runs the process, its parsers shape the output. */
export function createTrivyEngine(
  cfg: { bin: string; cacheDir: string; timeoutMs: number },
  logger: Logger,
): ScanEngine {
  const runner = createTrivyRunner({ ...cfg, logger });
  let version: Promise<string> | undefined;
  const scannerVersion = () => {
    version ??= runner.version().then((v) => v.version);
    // A failed `trivy --version` must not stick: ask again next time.
    version.catch(() => {
      version = undefined;
    });
    return version;
  };
  return {
    async scanImage(image, opts) {
      const run = await runner.scanImage(image, {
        scanners: [...opts.scanners],
        signal: opts.signal,
        ...(opts.credentials ? { registryAuth: opts.credentials } : {}),
      });
      const data = toImageReportData(parseImageReport(run.json), { imageRef: image });
      return {
        scanner: { ...SCANNER, version: await scannerVersion() },
        registry: data.registry,
        artifact: data.artifact,
        os: data.os,
        vulnerabilities: data.vulnerabilities,
      };
    },
    async auditConfigs(dir, opts) {
      const run = await runner.auditConfigs(dir, { signal: opts.signal });
      return toChecksByFile(parseConfigReport(run.json));
    },
    async scanner() {
      return { ...SCANNER, version: await scannerVersion() };
    },
    async dbUpdatedAt() {
      return (await readDbInfo(cfg.cacheDir)).updatedAt;
    },
  };
}
