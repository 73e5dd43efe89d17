#!/usr/bin/env node
import { formatEnvHelp, runMain } from '@fleetscan/service';
import { startScanner } from './app.ts';
import { configVariables, loadConfig } from './config.ts';
import { createTrivyEngine } from './trivy-engine.ts';

const INTRO = `fleetscan-scanner: consumes image scan and config audit requests of every cluster from NATS
JetStream, runs trivy, caches image results by digest and publishes results. Each image digest is
pulled and analysed once; its SBOM is stored, and a new DB, new match settings or a TTL refresh
re-match that SBOM (trivy sbom) without pulling again. Config audits go to a long-lived audit
worker that has trivy's checks compiled once.

Configuration is read from the environment:
`;

runMain({
  service: 'scanner',
  help: () => INTRO + formatEnvHelp(configVariables()),
  loadConfig: () => loadConfig(),
  start: (config, logger) =>
    startScanner({ config, logger, engine: createTrivyEngine(config.trivy, logger) }),
});
