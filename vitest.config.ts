import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**', 'out/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Tests share one real broker and database; two cores make more workers slower, not faster.
    maxWorkers: 2,
  },
});
