import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // In-process code under test runs from source; forked SubAgents run the built dist/.
    // The package's self-reference too (`qicoord/*` before `qicoord`: an alias also matches `key/…`).
    alias: {
      '@qi/base': fileURLToPath(new URL('./packages/qi-base/src/index.ts', import.meta.url)),
      'qicoord/plugin': fileURLToPath(new URL('./src/plugin/index.ts', import.meta.url)),
      'qicoord/testing': fileURLToPath(new URL('./src/testing/index.ts', import.meta.url)),
      qicoord: fileURLToPath(new URL('./src/index.ts', import.meta.url)),
    },
  },
  test: {
    include: ['test/**/*.test.ts', 'packages/*/test/**/*.test.ts'],
    reporters: ['default', './test/reporters/summary-line.ts'],
    // Closes coordinators a test file left open (their agents and workspaces go with them).
    setupFiles: ['./test/setup/close-coordinators.ts'],
    // Child-process tests fork real SubAgents; two cores are shared between files.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // `npm test` runs with --coverage. Only in-process code is measured: agents run dist/ in
    // their own processes. The coordination layer must keep 90% of its lines and branches.
    coverage: {
      provider: 'v8',
      include: ['src/**/*.ts'],
      reporter: ['text-summary', 'json-summary'],
      thresholds: {
        'src/distribution/**': { lines: 90, branches: 90 },
        'src/execution/**': { lines: 90, branches: 90 },
        'src/sync/**': { lines: 90, branches: 90 },
        'src/channels/**': { lines: 90, branches: 90 },
        'src/resources/**': { lines: 90, branches: 90 },
      },
    },
  },
});
