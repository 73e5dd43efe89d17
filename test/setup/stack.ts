import { type StackInfo, startStack } from '@fleetscan/stack';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    stack: StackInfo;
  }
}

/** Starts the real local stack once for the integration project. */
export default async function setup(project: TestProject) {
  const stack = await startStack({ onProgress: (m) => console.log(`[stack] ${m}`) });
  project.provide('stack', stack.info());
  return async () => {
    await stack.stop();
  };
}
