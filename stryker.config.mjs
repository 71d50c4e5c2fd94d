// Mutation testing (npm run mutation): the modules that carry the product's guarantees. The tests it
// runs are chosen in vitest.mutation.config.ts. Incremental: a re-run only tests mutants whose code or
// tests changed since the last run (the file lives in the git-ignored reports/ folder).

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  vitest: { configFile: 'vitest.mutation.config.ts' },
  mutate: [
    'src/pool/**/*.ts',
    'src/layers/**/*.ts',
    'src/migrate/**/*.ts',
    'src/segments/retention.ts',
    'src/segments/playlist.ts',
    'src/backends/local/index.ts',
  ],
  coverageAnalysis: 'perTest',
  incremental: true,
  incrementalFile: 'reports/mutation/stryker-incremental.json',
  concurrency: 2,
  timeoutMS: 30_000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
