/**
 * @fleetscan/soak: `npm run soak` (churn at a fixed rate on the real stack, sampling memory and
 * pending work, then a verdict), and the fleet check it ends with, which the fault tests share:
 * every report owner has exactly one current report per kind and container, and nothing else.
 */
export {
  type Churn,
  type ChurnOp,
  type ChurnOptions,
  createChurn,
  dueAt,
  dueCount,
  type SoakWorkload,
  seededRandom,
} from './churn.ts';
export { applyChurn, ensureNamespaces, SOAK_LABEL, soakManifest } from './churn-apply.ts';
export { type Convergence, waitForFleet } from './converge.ts';
export {
  type CheckOptions,
  checkFleet,
  describeCheck,
  type FleetCheck,
  isConverged,
  type OwnerView,
  type Problem,
  type ProblemKind,
  type ReportView,
} from './fleet-check.ts';
export { type FleetState, readFleet, reportView } from './fleet-read.ts';
export { HELP, parseSoakArgs, type SoakOptions } from './options.ts';
export { runSoak, type SoakIo, type SoakResult } from './run.ts';
export { deadLetters, pendingWork, takeSample } from './sampler.ts';
export { formatSoak, thin } from './table.ts';
export {
  type Criterion,
  DEFAULT_VERDICT,
  quarters,
  type SoakEnd,
  type SoakSample,
  type SoakVerdict,
  soakVerdict,
  type VerdictOptions,
} from './verdict.ts';
