#!/usr/bin/env node
import { formatEnvHelp, runMain } from '@fleetscan/service';
import { startWriter } from './app.ts';
import { configVariables, loadConfig } from './config.ts';

const INTRO = `fleetscan-writer: consumes one cluster's scan results from NATS JetStream and writes
trivy-operator-compatible VulnerabilityReports and ConfigAuditReports owned by the workloads.

Configuration is read from the environment:
`;

runMain({
  service: 'writer',
  help: () => INTRO + formatEnvHelp(configVariables()),
  loadConfig: () => loadConfig(),
  start: (config, logger) => startWriter({ config, logger }),
});
