#!/usr/bin/env node
import { formatEnvHelp, runMain } from '@fleetscan/service';
import { startWatcher } from './app.ts';
import { configVariables, loadConfig } from './config.ts';

const INTRO = `fleetscan-watcher: watches one cluster's workloads and fleetscan's reports, and publishes
the image scans and config audits that are missing to NATS JetStream.

Configuration is read from the environment (lists are comma-separated):
`;

runMain({
  service: 'watcher',
  help: () => INTRO + formatEnvHelp(configVariables()),
  loadConfig: () => loadConfig(),
  start: (config, logger) => startWatcher({ config, logger }),
});
