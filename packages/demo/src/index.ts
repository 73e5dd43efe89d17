export { type AnyReportLike, naiveDeployment, runScenario, saveReports } from './scenario.ts';
export { type ServiceProcess, startServiceProcesses, waitServicesReady } from './services.ts';
export { formatReports } from './show.ts';
