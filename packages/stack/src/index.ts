export { StackError, StackErrorCode, isStackError } from './errors.ts';
export { type Stack, type StackInfo, type StackOptions, startStack } from './stack.ts';
export { installCrds, readCrds, crdDir } from './crds.ts';
export { freePort } from './ports.ts';
export { repoRoot } from './tools.ts';
export { startNats, type Nats } from './nats.ts';
export { loadStackConfig } from './config.ts';
export { locateTools, type Tools } from './tools.ts';
