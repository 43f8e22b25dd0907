import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fastifyCookie from '@fastify/cookie';
import fastifyCors from '@fastify/cors';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Deps } from './deps.ts';
import { installErrorHandler } from './http/errorHandler.ts';
import { createMetrics, installRequestMetrics, type Metrics } from './http/observability.ts';
import { registerOpenApi } from './http/openapi.ts';
import { rateLimitKey } from './http/rateLimitKey.ts';
import { installSecurityHeaders } from './http/securityHeaders.ts';
import type { App } from './http/types.ts';
import { randomToken } from './ids.ts';
import { registerApiKeyRoutes } from './modules/api-keys/routes.ts';
import { registerAuditRoutes } from './modules/audit/routes.ts';
import { registerCatalogRoutes } from './modules/catalog/routes.ts';
import { registerCheckoutRoutes } from './modules/checkout/routes.ts';
import { registerCreditAlertRoutes } from './modules/credit-alerts/routes.ts';
import { registerCreditRoutes } from './modules/credits/routes.ts';
import { registerDevSignInRoutes } from './modules/demo/devSignInRoutes.ts';
import { registerEmailAdminRoutes } from './modules/emails/adminRoutes.ts';
import { invalidateAfterOrgMutations } from './modules/entitlements/entitlementCache.ts';
import { registerEntitlementRoutes } from './modules/entitlements/routes.ts';
import { registerInvoiceRoutes } from './modules/invoices/routes.ts';
import { registerLiveRoutes } from './modules/live/routes.ts';
import { registerMemberRoutes } from './modules/members/routes.ts';
import { registerMeteredUsageRoutes } from './modules/metered-usage/routes.ts';
import { registerOrgRoutes } from './modules/orgs/routes.ts';
import { registerOutgoingWebhookRoutes } from './modules/outgoing-webhooks/routes.ts';
import { registerPaymentMethodRoutes } from './modules/payment-methods/routes.ts';
import { registerPaymentHistoryRoutes } from './modules/payments/historyRoutes.ts';
import { registerPaymentIntentRoutes } from './modules/payments/paymentIntentRoutes.ts';
import { registerPortalRoutes } from './modules/portal/routes.ts';
import { registerSessionRoutes } from './modules/sessions/routes.ts';
import { registerSubscriptionRoutes } from './modules/subscriptions/routes.ts';
import { registerSystemRoutes } from './modules/system/routes.ts';
import { registerStripeEventAdminRoutes } from './modules/webhooks/adminRoutes.ts';
import { registerStripeWebhookRoutes } from './modules/webhooks/routes.ts';

export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/dist/', import.meta.url));

export interface BuildAppOptions {
  metrics?: Metrics;
  /** Built dashboard to serve at `/`; skipped when the folder does not exist. */
  dashboardDir?: string;
}

const REQUEST_ID = /^[A-Za-z0-9_.:-]{8,100}$/;

/** Builds the HTTP app without listening, so tests and main.ts share exactly the same wiring. */
export async function buildApp(deps: Deps, opts: BuildAppOptions = {}): Promise<App> {
  const metrics = opts.metrics ?? createMetrics();
  const fastify = Fastify({
    loggerInstance: deps.logger,
    bodyLimit: deps.env.BODY_LIMIT_BYTES,
    trustProxy: true,
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    requestIdHeader: false,
    // Keep a caller's request id when it looks sane, so logs correlate across services.
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : `req_${randomToken(16)}`;
    },
    routerOptions: { ignoreTrailingSlash: true },
  });
  fastify.setValidatorCompiler(validatorCompiler);
  fastify.setSerializerCompiler(serializerCompiler);
  const app = fastify.withTypeProvider<ZodTypeProvider>() as unknown as App;

  // Forms are accepted wherever JSON is (Stripe-style clients, the dev sign-in page).
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) =>
    done(null, Object.fromEntries(new URLSearchParams(body as string))),
  );
  app.addHook('onSend', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });

  installErrorHandler(app);
  installRequestMetrics(app, metrics);
  await app.register(fastifyCookie);
  installSecurityHeaders(app);
  invalidateAfterOrgMutations(app, deps);
  await app.register(fastifyCors, {
    origin: deps.env.CORS_ORIGINS.length ? deps.env.CORS_ORIGINS : false,
    credentials: true,
    allowedHeaders: ['authorization', 'content-type', 'x-csrf-token', 'x-request-id', 'idempotency-key'],
  });
  await app.register(fastifyRateLimit, {
    global: true,
    keyGenerator: (request) => rateLimitKey(deps, request),
    max: (_request, key) =>
      key.startsWith('k:') ? deps.env.RATE_LIMIT_PER_KEY_PER_MINUTE : deps.env.RATE_LIMIT_PER_IP_PER_MINUTE,
    timeWindow: 60_000,
    allowList: (request) =>
      request.url === '/healthz' || request.url === '/readyz' || request.url === '/metrics',
  });
  await registerOpenApi(app);

  await app.register(async (scope) => {
    const s = scope as unknown as App;
    registerSystemRoutes(s, deps, metrics);
    registerCatalogRoutes(s, deps);
    registerOrgRoutes(s, deps);
    registerMemberRoutes(s, deps);
    registerApiKeyRoutes(s, deps);
    registerSessionRoutes(s, deps);
    registerAuditRoutes(s, deps);
    registerPaymentMethodRoutes(s, deps);
    registerSubscriptionRoutes(s, deps);
    registerStripeWebhookRoutes(s, deps, metrics.webhook);
    registerStripeEventAdminRoutes(s, deps);
    registerEmailAdminRoutes(s, deps);
    registerCheckoutRoutes(s, deps);
    registerPaymentIntentRoutes(s, deps);
    registerPortalRoutes(s, deps);
    registerCreditAlertRoutes(s, deps);
    registerMeteredUsageRoutes(s, deps);
    registerInvoiceRoutes(s, deps);
    registerPaymentHistoryRoutes(s, deps);
    registerOutgoingWebhookRoutes(s, deps);
    registerLiveRoutes(s, deps);
    registerCreditRoutes(s, deps);
    if (deps.env.demo) registerDevSignInRoutes(s, deps);
    registerEntitlementRoutes(s, deps);
  });

  const dashboardDir = opts.dashboardDir ?? DEFAULT_DASHBOARD_DIR;
  if (existsSync(`${dashboardDir}/index.html`)) await serveDashboard(app, dashboardDir);
  return app;
}

async function serveDashboard(app: FastifyInstance, dir: string) {
  await app.register(fastifyStatic, { root: dir, prefix: '/', wildcard: false, index: 'index.html' });
  // Client-side routes (/subscription, /admin/...) get the SPA shell; API paths keep their JSON 404.
  app.get('/*', { schema: { hide: true } }, (request, reply) => {
    const path = request.url.split('?')[0]!;
    if (/^\/(v1|auth|dev|docs|_)\b/.test(path) || path.includes('.')) return reply.callNotFound();
    return reply.sendFile('index.html');
  });
}
