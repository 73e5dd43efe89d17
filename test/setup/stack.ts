import { type StackInfo, startStack } from '@fleetscan/stack';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

/** Starts the real local stack once for the integration project. */
export default async function setup(project: TestProject) {
  // The OIDC issuer is served from this process, which lives as long as the stack.
  const stack = await startStack({ oidcIssuer: true, onProgress: (m) => console.log(`[stack] ${m}`) });
  project.provide('stack', stack.info());
  return async () => {
    await stack.stop();
  };
}
