import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatAmount, formatMoney } from './formatMoney.ts';

describe('formatMoney', () => {
  it('formats minor units per currency exponent, with symbols the PDF fonts can draw', () => {
    expect(formatMoney(0, 'usd')).toBe('$0.00');
    expect(formatMoney(5, 'usd')).toBe('$0.05');
    expect(formatMoney(2900, 'usd')).toBe('$29.00');
    expect(formatMoney(123456789, 'USD')).toBe('$1,234,567.89');
    expect(formatMoney(-1550, 'eur')).toBe('-€15.50');
    expect(formatMoney(100000, 'gbp')).toBe('£1,000.00');
    expect(formatMoney(1500, 'jpy')).toBe('¥1,500');
    expect(formatMoney(1234, 'kwd')).toBe('1.234 KWD');
    expect(formatMoney(100000, 'chf')).toBe('1,000.00 CHF');
  });

  it('stays exact where floats would not (beyond 2^53 / 100)', () => {
    expect(formatAmount(9_007_199_254_740_993n, 'usd')).toBe('90,071,992,547,409.93');
    expect(formatAmount(Number.MAX_SAFE_INTEGER, 'usd')).toBe('90,071,992,547,409.91');
  });

  it('round-trips: removing grouping and the decimal point gives back the integer', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 18n), max: 10n ** 18n }),
        fc.constantFrom('usd', 'jpy', 'kwd'),
        (minor, currency) => {
          const text = formatAmount(minor, currency);
          expect(BigInt(text.replace(/[,.]/g, ''))).toBe(minor);
          const decimals = text.split('.')[1]?.length ?? 0;
          expect(decimals).toBe({ usd: 2, jpy: 0, kwd: 3 }[currency]);
        },
      ),
    );
  });
});
