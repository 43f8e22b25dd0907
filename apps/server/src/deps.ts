import type { Logger } from 'pino';
import type Stripe from 'stripe';
import type { Clock } from './clock.ts';
import type { Database } from './db/client.ts';
import type { Env } from './env.ts';
import type { JwtVerifier } from './http/auth/jwt.ts';
import type { ApiKeyCache } from './modules/api-keys/authenticateApiKey.ts';
import type { LiveHub } from './modules/live/liveHub.ts';

/** Everything a use-case may depend on, passed explicitly (no globals, no service classes). */
export interface Deps {
  env: Env;
  database: Database;
  clock: Clock;
  logger: Logger;
  jwt: JwtVerifier | null;
  apiKeyCache: ApiKeyCache;
  /** The one Stripe client (the emulator in demo mode and tests). */
  stripe: Stripe;
  /** This process's live-updates hub (SSE); absent where nothing streams (tools, some tests). */
  live?: LiveHub;
}
