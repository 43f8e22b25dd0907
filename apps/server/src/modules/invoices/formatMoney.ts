/**
 * Money as people read it, from integer minor units and an ISO currency. Integer arithmetic only:
 * `12345` USD is split into 123 and 45 by division and remainder, never by dividing into a float
 * (0.1 + 0.2 problems, and amounts beyond 2^53 / 100 would silently lose cents).
 */

/** Stripe's zero-decimal currencies: the amount is already in whole units. */
const ZERO_DECIMAL = new Set([
  'bif',
  'clp',
  'djf',
  'gnf',
  'jpy',
  'kmf',
  'krw',
  'mga',
  'pyg',
  'rwf',
  'ugx',
  'vnd',
  'vuv',
  'xaf',
  'xof',
  'xpf',
]);
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/**
 * Symbols written before the amount. Only ones the PDF's standard fonts (WinAnsi) can draw;
 * every other currency is written with its ISO code after the amount ("1,000.00 CHF").
 */
const SYMBOL: Record<string, string> = {
  usd: '$',
  eur: '€',
  gbp: '£',
  jpy: '¥',
  cad: 'CA$',
  aud: 'A$',
  nzd: 'NZ$',
};

export function currencyExponent(currency: string): number {
  const c = currency.toLowerCase();
  if (ZERO_DECIMAL.has(c)) return 0;
  if (THREE_DECIMAL.has(c)) return 3;
  return 2;
}

function groupThousands(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** The number alone: `123456` usd → "1,234.56"; `-500` jpy → "-500". */
export function formatAmount(minor: number | bigint, currency: string): string {
  const value = BigInt(minor);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const exp = currencyExponent(currency);
  const unit = 10n ** BigInt(exp);
  const whole = groupThousands((abs / unit).toString());
  const fraction = exp ? `.${(abs % unit).toString().padStart(exp, '0')}` : '';
  return `${negative ? '-' : ''}${whole}${fraction}`;
}

/** With the currency: "$1,234.56", "-€5.00", "1,000.00 CHF". */
export function formatMoney(minor: number | bigint, currency: string): string {
  const amount = formatAmount(minor, currency);
  const symbol = SYMBOL[currency.toLowerCase()];
  if (!symbol) return `${amount} ${currency.toUpperCase()}`;
  return amount.startsWith('-') ? `-${symbol}${amount.slice(1)}` : `${symbol}${amount}`;
}
