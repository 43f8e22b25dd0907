import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CatalogError, loadCatalog, parseCatalog } from './loadCatalog.ts';

const dir = mkdtempSync(join(tmpdir(), 'tg-catalog-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(CatalogError);
    return (err as CatalogError).problems;
  }
  throw new Error('expected a CatalogError');
}

describe('loadCatalog', () => {
  it('loads and validates the shipped tollgate.config.ts', async () => {
    const catalog = await loadCatalog();
    expect(catalog.plans.map((p) => p.key)).toEqual(['free', 'basic', 'professional', 'enterprise']);
    expect(catalog.plans[1]!.prices.month).toEqual({ model: 'flat', amount: 2900 });
    expect(catalog.meteredAddons.map((a) => a.unitAmountDecimal)).toEqual(['5', '1', '0.1']);
  });

  it('lists every problem of an invalid catalog, each with its path', () => {
    const problems = problemsOf(() =>
      parseCatalog({
        currency: 'USD',
        features: { sso: { type: 'boolean', name: 'SSO' } },
        plans: [
          { key: 'Bad Key', name: 'x', rank: 0 },
          {
            key: 'basic',
            name: 'Basic',
            rank: 1,
            prices: {
              month: { model: 'flat', amount: -5 },
              year: { model: 'tiered', mode: 'graduated', tiers: [{ upTo: 10, unitAmount: 100 }] },
            },
            features: { sso: 3, nope: true },
          },
          { key: 'basic', name: 'Basic again', rank: 2 },
        ],
        creditPacks: [{ key: 'p', name: 'P', credits: 0, amount: 100 }],
        coupons: [{ id: 'X', percentOff: 10, amountOff: 100, duration: 'once' }],
      }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^currency: ISO currency/),
        expect.stringMatching(/^plans\.0\.key: lowercase letters/),
        expect.stringMatching(/^plans\.1\.prices\.month\.amount: /),
        expect.stringMatching(/^plans\.1\.prices\.year\.?.*: the last tier must have upTo: "inf"/),
        expect.stringMatching(/^creditPacks\.0\.credits: /),
        expect.stringMatching(/^coupons\.0.*: give exactly one of percentOff or amountOff/),
      ]),
    );
    expect(problems.length).toBeGreaterThanOrEqual(6);
  });

  it('reports cross-field problems (duplicates, unknown features, tier order) all at once', () => {
    const problems = problemsOf(() =>
      parseCatalog({
        currency: 'usd',
        features: { sso: { type: 'boolean', name: 'SSO' } },
        plans: [
          {
            key: 'basic',
            name: 'Basic',
            rank: 1,
            prices: {
              year: {
                model: 'tiered',
                mode: 'volume',
                tiers: [
                  { upTo: 10, unitAmount: 100 },
                  { upTo: 5, unitAmount: 90 },
                  { upTo: 'inf', unitAmount: 80 },
                ],
              },
            },
            features: { sso: 3, nope: true },
          },
          { key: 'basic', name: 'Basic again', rank: 2 },
        ],
        coupons: [
          { id: 'A', percentOff: 10, duration: 'once', promotionCodes: ['SAVE'] },
          { id: 'B', percentOff: 20, duration: 'once', promotionCodes: ['save'] },
        ],
      }),
    );
    expect(problems).toEqual([
      'plans.1: duplicate key "basic"',
      'coupons.1.promotionCodes.0: duplicate promotion code "save"',
      'plans.0.prices.year.tiers.1.upTo: tiers must be in increasing upTo order, "inf" last',
      'plans.0.features.sso: boolean feature needs true/false',
      'plans.0.features.nope: unknown feature "nope"',
    ]);
  });

  it('names the file when it is missing, fails to load, or exports something invalid', async () => {
    await expect(loadCatalog(join(dir, 'missing.ts'))).rejects.toMatchObject({
      problems: ['file not found'],
    });

    const broken = join(dir, 'broken.mjs');
    writeFileSync(broken, 'export default {;\n');
    await expect(loadCatalog(broken)).rejects.toMatchObject({
      problems: [expect.stringMatching(/^could not be loaded: /)],
    });

    const invalid = join(dir, 'invalid.json');
    writeFileSync(invalid, JSON.stringify({ currency: 'usd', plans: [] }));
    const err = await loadCatalog(invalid).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CatalogError);
    expect((err as CatalogError).message).toContain(invalid);
    expect((err as CatalogError).problems).toEqual([expect.stringMatching(/^plans: /)]);
  });
});
