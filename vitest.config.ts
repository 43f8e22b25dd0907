import { defineConfig } from 'vitest/config';

// Server tests run once on PGlite and, when TEST_DATABASE_URL points at a Postgres server
// (CI does this), a second time on Postgres, so every database test proves both dialects.
const postgresUrl = process.env.TEST_DATABASE_URL;

const serverProject = (name: string, env: Record<string, string>) => ({
  test: {
    name,
    include: ['apps/server/src/**/*.test.ts', 'apps/server/test/**/*.test.ts'],
    env,
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'emulator',
          include: ['apps/stripe-emulator/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 30_000,
          hookTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'client',
          include: ['packages/client/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
        },
      },
      serverProject('server-pglite', { TEST_DB: 'pglite' }),
      ...(postgresUrl
        ? [serverProject('server-postgres', { TEST_DB: 'postgres', TEST_DATABASE_URL: postgresUrl })]
        : []),
    ],
  },
});
