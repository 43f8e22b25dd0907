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
        // Like Stripe, only the last 30 days are listed — measured on the event's own clock,
        // so events stamped with a test clock's frozen time stay visible.
        const since = new Map<string | null, number>();
        const windowStart = (e: EventRow) => {
          const clock = table.meta(e.id)?.clock ?? null;
          let start = since.get(clock);
          if (start === undefined) {
            start = req.ctx.clock.now(clock) - THIRTY_DAYS;
            since.set(clock, start);
          }
          return start;
        };
        const rows = table.sorted(
          (e: EventRow) =>
            e.created >= windowStart(e) &&
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
