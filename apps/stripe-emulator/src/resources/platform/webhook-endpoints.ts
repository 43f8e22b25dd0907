/**
 * /v1/webhook_endpoints CRUD. The signing secret is returned only by create.
 * Delivery itself is webhooks/dispatcher.ts.
 */
import type Stripe from 'stripe';
import { randomAlphanumeric } from '../../core/ids.ts';
import { paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { isKnownApiVersion } from '../../http/versions.ts';
import { WebhookEndpoints } from '../../webhooks/dispatcher.ts';
import { mergeMetadata } from '../shared.ts';

const eventPattern = p.string();

function checkUrl(url: string): void {
  if (!/^https?:\/\/[^\s]+$/.test(url)) throw invalidRequest(`Invalid URL: ${url}`, 'url', 'url_invalid');
}

function checkEvents(events: string[], param: string): void {
  for (const [i, e] of events.entries()) {
    // Stripe accepts '*' or exact event names (no `customer.*` families on endpoints).
    if (!/^(\*|[a-z_]+(\.[a-z_]+)+)$/.test(e)) {
      throw invalidRequest(`Invalid ${param}[${i}]: ${e}`, `${param}[${i}]`);
    }
  }
}

export const webhookEndpointsModule: EmulatorModule = {
  name: 'webhook_endpoints',
  register(app) {
    app.post(
      '/v1/webhook_endpoints',
      {
        url: p.required(p.string()),
        enabled_events: p.required(p.array(eventPattern)),
        api_version: p.string(),
        connect: p.bool(),
        description: p.emptyable(p.string()),
        metadata: p.metadata(),
      },
      (req) => {
        const { url, enabled_events, api_version, description, metadata } = req.params;
        checkUrl(url);
        checkEvents(enabled_events, 'enabled_events');
        if (api_version && !isKnownApiVersion(api_version)) {
          throw invalidRequest(`Invalid Stripe API version: ${api_version}`, 'api_version');
        }
        const table = req.ctx.store.of(WebhookEndpoints);
        const secret = `whsec_${randomAlphanumeric(32)}`;
        const endpoint = table.insert(
          {
            id: table.newId(),
            object: 'webhook_endpoint',
            api_version: api_version ?? null,
            application: null,
            created: req.ctx.clock.now(),
            description: description ?? null,
            enabled_events,
            livemode: false,
            metadata: mergeMetadata({}, metadata),
            status: 'enabled',
            url,
          },
          { secret },
        );
        return { ...endpoint, secret };
      },
    );

    app.get('/v1/webhook_endpoints/:id', {}, (req) =>
      req.ctx.store.of(WebhookEndpoints).require(req.path.id!),
    );

    app.post(
      '/v1/webhook_endpoints/:id',
      {
        url: p.string(),
        enabled_events: p.array(eventPattern),
        description: p.emptyable(p.string()),
        disabled: p.bool(),
        metadata: p.metadata(),
      },
      (req) => {
        const table = req.ctx.store.of(WebhookEndpoints);
        const old = table.require(req.path.id!);
        const { url, enabled_events, description, disabled, metadata } = req.params;
        if (url !== undefined) checkUrl(url);
        if (enabled_events !== undefined) checkEvents(enabled_events, 'enabled_events');
        const patch: Partial<Stripe.WebhookEndpoint> = { metadata: mergeMetadata(old.metadata, metadata) };
        if (url !== undefined) patch.url = url;
        if (enabled_events !== undefined) patch.enabled_events = enabled_events;
        if (description !== undefined) patch.description = description;
        if (disabled !== undefined) patch.status = disabled ? 'disabled' : 'enabled';
        return table.update(old.id, patch);
      },
    );

    app.del('/v1/webhook_endpoints/:id', {}, (req) => {
      const table = req.ctx.store.of(WebhookEndpoints);
      const old = table.require(req.path.id!);
      table.delete(old.id);
      return { id: old.id, object: 'webhook_endpoint', deleted: true };
    });

    app.list('/v1/webhook_endpoints', {}, (req) => {
      const table = req.ctx.store.of(WebhookEndpoints);
      return paginate(req, table.sorted(), table);
    });
  },
};
