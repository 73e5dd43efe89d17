export { loadStackConfig } from './config.ts';
export { crdDir, installCrds, readCrds } from './crds.ts';
export { isStackError, StackError, StackErrorCode } from './errors.ts';
export * from './images/index.ts';
export { type Nats, startNats } from './nats.ts';
export { freePort } from './ports.ts';
export { type Registry, startRegistry } from './registry.ts';
export { type Stack, type StackInfo, type StackOptions, startStack } from './stack.ts';
export { locateTools, repoRoot, type Tools } from './tools.ts';
