/**
 * GET /v1/events and /v1/events/:id. Events are created by emitEvent (core/events.ts).
 */
import { type EventRow, Events } from '../../core/events.ts';
import { inRange, paginate } from '../../core/list.ts';
import type { EmulatorModule } from '../../core/module.ts';
import { invalidRequest } from '../../http/errors.ts';
import { p } from '../../http/params.ts';
import { typeMatches } from '../../webhooks/dispatcher.ts';

const THIRTY_DAYS = 30 * 24 * 3600;

export const eventsModule: EmulatorModule = {
  name: 'events',
  register(app) {
    app.get('/v1/events/:id', {}, (req) => req.ctx.store.of(Events).require(req.path.id!));

    app.list(
      '/v1/events',
      {
        type: p.string(),
        types: p.array(p.string(), { max: 20 }),
        created: p.range(),
        delivery_success: p.bool(),
      },
      (req) => {
        const { type, types, created, delivery_success } = req.params;
        if (type && types?.length) {
          throw invalidRequest('You may only specify one of these parameters: type, types.', 'types');
        }
        const table = req.ctx.store.of(Events);
        // Like Stripe, only the last 30 days (on the global clock) are listed.
        const since = req.ctx.clock.now() - THIRTY_DAYS;
        const rows = table.sorted(
          (e: EventRow) =>
            e.created >= since &&
            (!type || typeMatches(type, e.type)) &&
            (!types?.length || types.some((t) => typeMatches(t, e.type))) &&
            inRange(e.created, created) &&
            (delivery_success === undefined || (e.pending_webhooks === 0) === delivery_success),
        );
        return paginate(req, rows, table);
      },
    );
  },
};
