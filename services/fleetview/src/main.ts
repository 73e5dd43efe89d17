#!/usr/bin/env node
import { formatEnvHelp, runMain } from '@fleetscan/service';
import { startFleetview } from './app.ts';
import { configVariables, loadConfig } from './config.ts';

const INTRO = `fleetscan-fleetview: keeps a read model of every cluster's workloads and findings from the
fleet stream on NATS JetStream, and answers "where does CVE-X run?" and more on a read-only HTTP API
and page.

Configuration is read from the environment:
`;

runMain({
  service: 'fleetview',
  help: () => INTRO + formatEnvHelp(configVariables()),
  loadConfig: () => loadConfig(),
  start: (config, logger) => startFleetview({ config, logger }),
});
