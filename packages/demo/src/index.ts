export { type AnyReportLike, naiveDeployment, runScenario, savedReport, saveReports } from './scenario.ts';
export {
  SERVICE_NODE_FLAGS,
  type ServiceProcess,
  startServiceProcesses,
  waitServicesReady,
} from './services.ts';
export { formatReports } from './show.ts';
