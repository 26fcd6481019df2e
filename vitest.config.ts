import { defineConfig } from 'vitest/config';

// Every test runs on PGlite; when CORDON_TEST_DATABASE_URL names a PostgreSQL server (CI does),
// the same tests run again on it. Browser tests (*.browser.test.ts) run once, on PGlite.
const pgUrl = process.env.CORDON_TEST_DATABASE_URL;
const common = { testTimeout: 60_000, hookTimeout: 120_000 };

export default defineConfig({
  test: {
    projects: [
      { test: { ...common, name: 'pglite', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], env: { CORDON_TEST_ENGINE: 'pglite' } } },
      ...(pgUrl
        ? [{ test: { ...common, name: 'pg', include: ['src/**/*.test.ts', 'test/**/*.test.ts'], exclude: ['**/*.browser.test.ts', '**/node_modules/**'], env: { CORDON_TEST_ENGINE: 'pg' } } }]
        : []),
    ],
  },
});
