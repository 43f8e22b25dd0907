import { buildApp } from '../apps/server/src/app.ts';
import { createClock } from '../apps/server/src/clock.ts';
import { createDatabase } from '../apps/server/src/db/client.ts';
import { loadEnv } from '../apps/server/src/env.ts';
import { createLogger } from '../apps/server/src/http/logger.ts';
import { createApiKeyCache } from '../apps/server/src/modules/api-keys/authenticateApiKey.ts';
import { createStripeClient } from '../apps/server/src/stripe/createStripeClient.ts';

/** The OpenAPI document exactly as the server publishes it, without a database or a port. */
export async function openapiDocument(): Promise<Record<string, unknown>> {
  const env = loadEnv({ NODE_ENV: 'test', TOLLGATE_DEMO: 'false', LOG_LEVEL: 'silent' });
  const database = await createDatabase({ pgliteDataDir: 'memory://' });
  const app = await buildApp(
    {
      env,
      database,
      clock: createClock(),
      logger: createLogger('silent'),
      jwt: null,
      apiKeyCache: createApiKeyCache(),
      stripe: createStripeClient({ secretKey: 'sk_test_unused_00000000' }),
    },
    { dashboardDir: '/nonexistent' },
  );
  await app.ready();
  const doc = app.swagger() as unknown as Record<string, unknown>;
  await app.close();
  await database.close();
  return doc;
}
