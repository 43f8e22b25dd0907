import { type createTransport, TollgateError, type TransportOptions } from './http.ts';

type Call = ReturnType<typeof createTransport>;

export interface InvoiceListOptions {
  limit?: number;
  /** Cursor: the last invoice id of the previous page. */
  startingAfter?: string;
  /** Refresh from Stripe first instead of reading a projection up to a minute old. */
  refresh?: boolean;
  org?: string;
}

export interface PaymentListOptions {
  limit?: number;
  /** Offset pagination (numbered pages, with `total_count`). */
  offset?: number;
  /** Cursor pagination: the last payment id of the previous page (not with `offset`). */
  startingAfter?: string;
  refresh?: boolean;
  org?: string;
}

export interface RefundOptions {
  /** Minor units; default: everything not refunded yet. */
  amount?: number;
  reason?: 'duplicate' | 'fraudulent' | 'requested_by_customer';
  /** Your name for this refund (a ticket id, ...): retrying with the same key never refunds twice. */
  idempotencyKey: string;
  org?: string;
}

/** Invoices, their PDFs, payment history and (platform operators) refunds. */
export function invoiceCalls(call: Call, opts: TransportOptions, defaultOrg: string | undefined) {
  const orgOf = (org?: string) => {
    const id = org ?? defaultOrg;
    if (!id)
      throw new TollgateError(
        400,
        'validation_failed',
        'org: pass an org id or create the client with { org }',
        null,
      );
    return id;
  };
  const flag = (b?: boolean) => (b === undefined ? undefined : b ? ('true' as const) : ('false' as const));
  return {
    /** The org's invoices, newest first: number, status, amounts, dates, hosted and PDF links. */
    getInvoices: (o: InvoiceListOptions = {}) =>
      call('get', '/v1/orgs/{org}/invoices', {
        path: { org: orgOf(o.org) },
        query: { limit: o.limit, starting_after: o.startingAfter, refresh: flag(o.refresh) },
      }),
    /** The invoice as a PDF (bytes); e.g. `new Blob([pdf], { type: 'application/pdf' })` in a browser. */
    getInvoicePdf: async (invoiceId: string, org?: string): Promise<ArrayBuffer> => {
      const path = `/v1/orgs/${encodeURIComponent(orgOf(org))}/invoices/${encodeURIComponent(invoiceId)}/pdf`;
      const headers: Record<string, string> = { accept: 'application/pdf', ...opts.headers };
      const token = typeof opts.token === 'function' ? await opts.token() : opts.token;
      if (token) headers.authorization = `Bearer ${token}`;
      const res = await (opts.fetch ?? fetch)(opts.baseUrl.replace(/\/$/, '') + path, { headers });
      if (res.ok) return res.arrayBuffer();
      const text = await res.text();
      let e: { code?: string; message?: string; request_id?: string; details?: Record<string, unknown> } = {};
      try {
        e = (JSON.parse(text) as { error?: typeof e }).error ?? {};
      } catch {}
      throw new TollgateError(
        res.status,
        e.code ?? 'http_error',
        e.message ?? res.statusText,
        e.request_id ?? null,
        e.details,
      );
    },
    /** Payment transactions, newest first; page by `offset` or by `startingAfter`. */
    getPayments: (o: PaymentListOptions = {}) =>
      call('get', '/v1/orgs/{org}/payments', {
        path: { org: orgOf(o.org) },
        query: {
          limit: o.limit,
          offset: o.offset,
          starting_after: o.startingAfter,
          refresh: flag(o.refresh),
        },
      }),
    /** Platform operators only: refund a payment fully (no amount) or partly. */
    refundPayment: (paymentId: string, o: RefundOptions) =>
      call('post', '/v1/orgs/{org}/payments/{payment}/refunds', {
        path: { org: orgOf(o.org), payment: paymentId },
        body: {
          idempotency_key: o.idempotencyKey,
          ...(o.amount !== undefined ? { amount: o.amount } : {}),
          ...(o.reason ? { reason: o.reason } : {}),
        },
      }),
  };
}
