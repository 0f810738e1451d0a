import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // vitest 4: pool options are top-level (poolOptions was removed)
    pool: 'forks',
    maxWorkers: 2,
    // .ci/run asks for a JSON report to print one closing 'N passed, N failed' line
    reporters: process.env.PGSHIFT_TEST_REPORT ? ['default', 'json'] : ['default'],
    ...(process.env.PGSHIFT_TEST_REPORT ? { outputFile: { json: process.env.PGSHIFT_TEST_REPORT } } : {}),
  },
});
