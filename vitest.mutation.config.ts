// The tests Stryker runs (npm run mutation): those that exercise src/pool, src/layers, src/migrate,
// retention, playlist parsing and the local backend in-process. Tests that spawn the built binary are
// left out (they run dist/, which Stryker does not mutate), and so are the S3/OSS/Redis backend files
// (their servers cost more than they tell about these modules).

import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: [
      'test/unit/**/*.test.ts',
      'test/backends/local.test.ts',
      'test/cli/commands.test.ts',
      'test/cli/cleanup.test.ts',
      'test/cli/migrate.test.ts',
    ],
    // Left out: the built binary under SIGKILL (nothing of it runs in-process) and the 10,000-object
    // S3 cleanup (45 s of s3rver for what the local cleanup tests already exercise in retention.ts).
    testNamePattern: /^(?!.*(SIGKILL|10,000 segments))/,
    pool: 'forks',
    testTimeout: 60_000,
    hookTimeout: 60_000,
  },
});
