import type { Deps } from '../../../deps.ts';
import type { VerifiedEvent } from '../verifyStripeEvent.ts';

export interface HandlerContext {
  deps: Deps;
  event: VerifiedEvent;
  orgId: string;
  object: Record<string, unknown>;
}

export type Outcome = 'applied' | 'ignored';
export type Handler = (ctx: HandlerContext) => Promise<Outcome>;

export const idOf = (v: unknown): string | null =>
  typeof v === 'string'
    ? v
    : v && typeof v === 'object' && typeof (v as { id?: unknown }).id === 'string'
      ? (v as { id: string }).id
      : null;
