// The tests Stryker runs (npm run mutation): those that exercise src/pool, src/layers, src/migrate,
// retention, playlist parsing and the local backend in-process, on local pools. Left out: tests that
// spawn the built binary (they run dist/, which Stryker does not mutate) and tests that need a server
// (s3rver, the OSS server, redis-server): each mutant re-runs the tests that cover it, and a server
// per run makes a full run take hours on a shared 2-core machine.

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // FLUX_MUTATION_TESTS (comma-separated) narrows a run of one module to the tests that matter to it.
    include: process.env.FLUX_MUTATION_TESTS?.split(',') ?? [
      'test/unit/**/*.test.ts',
      'test/backends/local.test.ts',
      'test/cli/commands.test.ts',
      'test/cli/cleanup.test.ts',
      'test/cli/migrate.test.ts',
    ],
    // The blocks of these files that need s3rver, and the binary under SIGKILL.
    testNamePattern: /^(?!(migrate local → S3|cleanup on S3)|.*SIGKILL)/,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
