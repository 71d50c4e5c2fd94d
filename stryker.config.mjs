// Mutation testing (npm run mutation): the modules that carry the product's guarantees. The tests it
// runs are chosen in vitest.mutation.config.ts. Incremental: a re-run only tests mutants whose code or
// tests changed since the last run (the file lives in the git-ignored reports/ folder).
//
// One module at a time, with only the tests that matter to it (much faster on a busy machine):
//   FLUX_MUTATION_NAME=layers FLUX_MUTATION_TESTS=test/unit/layers.test.ts npm run mutation -- --mutate 'src/layers/**/*.ts'
// (FLUX_MUTATION_NAME names the report and incremental files, reports/mutation/<name>.*).

const name = process.env.FLUX_MUTATION_NAME ?? 'all';

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
  incrementalFile: `reports/mutation/${name}.incremental.json`,
  concurrency: 2,
  // A mutant that makes a test hang (an endless loop, a promise never settled) counts as killed once
  // it runs this much longer than the test did unmutated. 20 s, not 5: on the shared 2-core machine
  // (load 20-40) tests waiting for CPU passed 5 s and were counted as killed (test/MUTATION.md).
  timeoutMS: 20000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: true,
};
