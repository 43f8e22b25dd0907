import type { FastifyInstance } from 'fastify';
import type { Deps } from '../../deps.ts';
import type { App } from '../../http/types.ts';
import { createEventInbox } from './eventInbox.ts';
import { verifyStripeEvent } from './verifyStripeEvent.ts';
import type { WebhookMetrics } from './webhookMetrics.ts';

/**
 * `POST /v1/webhooks/stripe`: verify the raw body, store the event durably, then answer 2xx.
 * No Stripe calls here and no processing: workers apply stored events. A bad signature is a 400
 * with nothing stored beyond a counter and a log line. Concurrent deliveries share a commit
 * (eventInbox.ts); each is still answered only once its own event is durable.
 */
export function registerStripeWebhookRoutes(app: App, deps: Deps, metrics: WebhookMetrics) {
  const inbox = createEventInbox(deps);
  app.register(async (scope: FastifyInstance) => {
    // The signature covers the exact bytes: keep the body raw in this scope only.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
    scope.post(
      '/v1/webhooks/stripe',
      {
        schema: { tags: ['webhooks'], summary: 'Stripe webhook endpoint (signature-verified)' },
        config: { rateLimit: false },
      },
      async (request, reply) => {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.from('');
        const sig = request.headers['stripe-signature'];
        const verdict = verifyStripeEvent(
          deps.stripe,
          deps.env.STRIPE_WEBHOOK_SECRETS ?? [],
          raw,
          typeof sig === 'string' ? sig : undefined,
        );
        if (!verdict.ok) {
          metrics.rejected.inc();
          request.log.warn({ reason: verdict.reason }, 'stripe webhook rejected');
          return reply.code(400).send({
            error: {
              code: 'bad_request',
              message: `webhook rejected: ${verdict.reason}`,
              request_id: request.id,
              details: {},
            },
          });
        }
        const fresh = await inbox.store({ event: verdict.event, raw: raw.toString('utf8') });
        metrics.received.inc({ outcome: fresh ? 'stored' : 'duplicate' });
        return reply.code(200).send({ received: true, duplicate: !fresh });
      },
    );
  });
}
