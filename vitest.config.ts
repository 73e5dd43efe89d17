import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['packages/*/src/**/*.test.ts', 'services/*/src/**/*.test.ts'],
        },
      },
      {
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          // One real stack for the whole run; tests isolate themselves by namespace and stream names.
          globalSetup: ['test/setup/stack.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          // Two cores: integration files run one at a time against the one stack.
          fileParallelism: false,
        },
      },
    ],
  },
});
