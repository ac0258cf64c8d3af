import { calcPrice } from '@pydantic/genai-prices';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ModelOverrideSchema, type ModelOverride } from '../../src/core/config';
import { buildCatalog, catalogFamily, FamilyFileSchema, genaiPricesSource, overrideFile } from '../../src/core/routing/catalog';
import { costUsd } from '../../src/core/routing/cost';
import { CatalogModelSchema, type CatalogModel } from '../../src/core/routing/types';

const AT = new Date('2026-11-23T12:00:00Z');

const ALL_PROVIDERS = [
  { name: 'openai', type: 'openai' as const },
  { name: 'anthropic', type: 'anthropic' as const },
  { name: 'gemini', type: 'gemini' as const },
  { name: 'deepseek', type: 'openai-compatible' as const, preset: 'deepseek' },
  { name: 'mistral', type: 'openai-compatible' as const, preset: 'mistral' },
  { name: 'groq', type: 'openai-compatible' as const, preset: 'groq' },
  { name: 'together', type: 'openai-compatible' as const, preset: 'together' },
  { name: 'openrouter', type: 'openai-compatible' as const, preset: 'openrouter' },
  { name: 'ollama', type: 'openai-compatible' as const, preset: 'ollama' },
  { name: 'demo', type: 'demo' as const },
];

function model(catalog: ReturnType<typeof buildCatalog>, key: string): CatalogModel {
  const found = catalog.get(key);
  if (!found) throw new Error(`${key} is not in the catalog`);
  return found;
}

function overrides(list: unknown[]): ModelOverride[] {
  return list.map((o) => ModelOverrideSchema.parse(o));
}

describe('buildCatalog: prices from genai-prices', () => {
  const catalog = buildCatalog({ providers: ALL_PROVIDERS, at: AT });

  it.each([
    ['openai', 'openai', 'gpt-4.1-mini'],
    ['anthropic', 'anthropic', 'claude-haiku-4-5'],
    ['anthropic', 'anthropic', 'claude-sonnet-4-5'],
    ['gemini', 'google', 'gemini-2.5-flash'],
    ['mistral', 'mistral', 'mistral-small-2603'],
    ['groq', 'groq', 'llama-3.3-70b-versatile'],
    ['openrouter', 'openrouter', 'openai/gpt-4o-mini'],
  ])('%s/%s costs what genai-prices calcPrice says', (provider, providerId, id) => {
    const m = model(catalog, `${provider}/${id}`);
    const usage = { input_tokens: 12_345, output_tokens: 678 };
    const expected = calcPrice(usage, id, { providerId, timestamp: AT });
    expect(expected).not.toBeNull();
    const ours = (usage.input_tokens * m.pricing.input + usage.output_tokens * m.pricing.output) / 1e6;
    expect(ours).toBeCloseTo(expected!.total_price, 12);
    expect(m.price_source).toBe(genaiPricesSource());
  });

  it('cached input is priced at genai-prices cache-read rate', () => {
    const m = model(catalog, 'openai/gpt-4.1-mini');
    const usage = { input_tokens: 10_000, cache_read_tokens: 4_000, output_tokens: 0 };
    const expected = calcPrice(usage, 'gpt-4.1-mini', { providerId: 'openai', timestamp: AT })!;
    const ours = (6_000 * m.pricing.input + 4_000 * m.pricing.cached_input!) / 1e6;
    expect(ours).toBeCloseTo(expected.total_price, 12);
  });

  it('prompt-cache writes are priced at genai-prices cache-write rate (Anthropic bills them above the input price)', () => {
    const m = model(catalog, 'anthropic/claude-sonnet-4-5');
    expect(m.pricing.cache_write_input).toBeGreaterThan(m.pricing.input);
    const usage = { input_tokens: 10_000, cache_read_tokens: 3_000, cache_write_tokens: 5_000, output_tokens: 700 };
    const expected = calcPrice(usage, 'claude-sonnet-4-5', { providerId: 'anthropic', timestamp: AT })!;
    const ours = costUsd(m.pricing, { prompt_tokens: 10_000, completion_tokens: 700, total_tokens: 10_700, prompt_tokens_details: { cached_tokens: 3_000, cache_write_tokens: 5_000 } });
    expect(ours).toBeCloseTo(expected.total_price, 9);
  });

  it.each([
    ['gemini', 'google', 'gemini-2.5-pro', 300_000],
    ['gemini', 'google', 'gemini-2.5-pro', 150_000],
    ['gemini', 'google', 'gemini-2.5-pro', 200_001],
  ])('long-context prices: %s (%s) %s with a prompt of %s tokens costs what genai-prices calcPrice says', (provider, providerId, id, promptTokens) => {
    const m = model(catalog, `${provider}/${id}`);
    expect(m.pricing.tiers?.length).toBeGreaterThan(0);
    const usage = { input_tokens: promptTokens, cache_read_tokens: 20_000, output_tokens: 1_000 };
    const expected = calcPrice(usage, id, { providerId, timestamp: AT })!;
    const ours = costUsd(m.pricing, { prompt_tokens: promptTokens, completion_tokens: 1_000, total_tokens: promptTokens + 1_000, prompt_tokens_details: { cached_tokens: 20_000 } });
    expect(ours).toBeCloseTo(expected.total_price, 9);
  });

  it('time-of-day prices (DeepSeek peak hours) keep the highest price of the day, even when built off-peak', () => {
    const offPeak = new Date('2026-11-24T20:00:00Z'); // another day: not served from the per-day cache
    const atNight = calcPrice({ input_tokens: 1_000_000, output_tokens: 0 }, 'deepseek-chat', { providerId: 'deepseek', timestamp: offPeak })!;
    const m = model(buildCatalog({ providers: [{ name: 'deepseek', type: 'openai-compatible' }], at: offPeak }), 'deepseek/deepseek-chat');
    expect(m.pricing.input).toBeGreaterThan(atNight.input_price);
    const usage = { input_tokens: 1_000_000, output_tokens: 1_000_000 };
    const samples = [1, 5, 9, 13, 17, 21].map((h) => calcPrice(usage, 'deepseek-chat', { providerId: 'deepseek', timestamp: new Date(Date.UTC(2026, 10, 23, h)) })!);
    const highestInput = Math.max(...samples.map((s) => s.input_price));
    const lowestInput = Math.min(...samples.map((s) => s.input_price));
    expect(lowestInput).toBeLessThan(highestInput); // the data really does vary over the day
    expect(m.pricing.input).toBeCloseTo(highestInput, 9);
    expect(m.pricing.output).toBeCloseTo(Math.max(...samples.map((s) => s.output_price)), 9);
  });

  it('uses the bundled data only: building a catalog makes no network call', () => {
    const fetchSpy = jest.spyOn(globalThis, 'fetch').mockImplementation(() => {
      throw new Error('the catalog must not fetch prices');
    });
    try {
      // A day no other test built, so nothing comes from the per-day cache.
      const fresh = buildCatalog({ providers: ALL_PROVIDERS, at: new Date('2026-12-05T08:00:00Z') });
      expect(fresh.get('openai/gpt-4.1-mini')?.price_source).toBe(genaiPricesSource());
      expect(fetchSpy).not.toHaveBeenCalled();
    } finally {
      fetchSpy.mockRestore();
    }
  });

  it('reports the installed genai-prices version as the price source', () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../node_modules/@pydantic/genai-prices/package.json'), 'utf8'));
    expect(genaiPricesSource()).toBe(`genai-prices@${pkg.version}`);
  });

  it('takes context windows from genai-prices and fills gaps from the override file', () => {
    const usage = { input_tokens: 1, output_tokens: 1 };
    const mini = calcPrice(usage, 'gpt-4.1-mini', { providerId: 'openai', timestamp: AT })!;
    expect(model(catalog, 'openai/gpt-4.1-mini').context_window).toBe(mini.model.context_window);
    const pro = calcPrice(usage, 'gemini-2.5-pro', { providerId: 'google', timestamp: AT })!;
    expect(pro.model.context_window).toBeUndefined();
    expect(model(catalog, 'gemini/gemini-2.5-pro').context_window).toBe(1_048_576);
  });

  it('every model is valid, unique and has a curated quality', () => {
    const keys = new Set<string>();
    for (const m of catalog.models) {
      expect(() => CatalogModelSchema.parse(m)).not.toThrow();
      expect(keys.has(m.key)).toBe(false);
      keys.add(m.key);
    }
    for (const p of ALL_PROVIDERS) expect(catalog.models.some((m) => m.provider === p.name)).toBe(true);
  });
});

describe('buildCatalog: demo and local models', () => {
  const catalog = buildCatalog({ providers: [{ name: 'demo', type: 'demo' }, { name: 'ollama', type: 'openai-compatible', preset: 'ollama' }], at: AT });

  it('has demo/mini, demo/standard and demo/pro ordered by price, speed and quality', () => {
    const [mini, standard, pro] = ['demo/mini', 'demo/standard', 'demo/pro'].map((k) => model(catalog, k));
    expect([mini!.quality, standard!.quality, pro!.quality]).toEqual([40, 65, 85]);
    expect(mini!.pricing.input).toBeLessThan(standard!.pricing.input);
    expect(standard!.pricing.input).toBeLessThan(pro!.pricing.input);
    expect(mini!.latency_prior.ttft_ms).toBeLessThan(standard!.latency_prior.ttft_ms);
    expect(standard!.latency_prior.ttft_ms).toBeLessThan(pro!.latency_prior.ttft_ms);
    for (const m of [mini!, standard!, pro!]) {
      expect(m.capabilities).toMatchObject({ tools: true, json_schema: true, streaming: true });
      expect(m.price_source).toBe('override');
    }
  });

  it('ollama models are free', () => {
    const llama = model(catalog, 'ollama/llama3.2');
    expect(llama.pricing).toEqual({ input: 0, output: 0 });
  });
});

describe('buildCatalog: providers', () => {
  it('includes only the configured providers', () => {
    const catalog = buildCatalog({ providers: [{ name: 'openai', type: 'openai' }], at: AT });
    expect(catalog.models.length).toBeGreaterThan(3);
    expect(catalog.models.every((m) => m.provider === 'openai' && m.key.startsWith('openai/'))).toBe(true);
    expect(catalog.resolve('claude-haiku-4-5')).toEqual([]);
  });

  it('re-keys a family under the provider name and keeps the family key as an alias', () => {
    const catalog = buildCatalog({ providers: [{ name: 'my-openai', type: 'openai' }], at: AT });
    const m = model(catalog, 'my-openai/gpt-4.1-mini');
    expect(m).toMatchObject({ provider: 'my-openai', model: 'gpt-4.1-mini' });
    expect(catalog.get('openai/gpt-4.1-mini')).toBeUndefined();
    expect(catalog.resolve('openai/gpt-4.1-mini')).toEqual([m]);
    expect(catalog.resolve('gpt-4.1-mini')).toEqual([m]);
  });

  it('maps openai-compatible providers by preset, or by name without one', () => {
    expect(catalogFamily({ name: 'ds', type: 'openai-compatible', preset: 'deepseek' })).toBe('deepseek');
    expect(catalogFamily({ name: 'groq', type: 'openai-compatible' })).toBe('groq');
    expect(catalogFamily({ name: 'g', type: 'gemini' })).toBe('gemini');
    const catalog = buildCatalog({ providers: [{ name: 'ds', type: 'openai-compatible', preset: 'deepseek' }, { name: 'vllm', type: 'openai-compatible' }], at: AT });
    expect(catalog.get('ds/deepseek-chat')).toBeDefined();
    expect(catalog.models.some((m) => m.provider === 'vllm')).toBe(false);
  });

  it('serves the same model from two providers of one family', () => {
    const catalog = buildCatalog({ providers: [{ name: 'openai', type: 'openai' }, { name: 'openai-eu', type: 'openai' }], at: AT });
    expect(catalog.resolve('gpt-4o-mini').map((m) => m.key)).toEqual(['openai/gpt-4o-mini', 'openai-eu/gpt-4o-mini']);
    expect(catalog.resolve('openai/gpt-4o-mini').map((m) => m.key)).toEqual(['openai/gpt-4o-mini']);
  });

  it('keeps the parsed base data for the process', () => {
    const a = buildCatalog({ providers: [{ name: 'openai', type: 'openai' }], at: AT });
    const b = buildCatalog({ providers: [{ name: 'openai', type: 'openai' }], at: AT });
    expect(b.get('openai/gpt-4o')).toBe(a.get('openai/gpt-4o'));
  });
});

describe('catalog.resolve', () => {
  const catalog = buildCatalog({ providers: ALL_PROVIDERS, at: AT });

  it('resolves keys, bare ids, aliases and case variants', () => {
    expect(catalog.resolve('anthropic/claude-sonnet-4-5').map((m) => m.key)).toEqual(['anthropic/claude-sonnet-4-5']);
    expect(catalog.resolve('claude-sonnet-4-5-20250929').map((m) => m.key)).toEqual(['anthropic/claude-sonnet-4-5']);
    expect(catalog.resolve('mistral-large-latest').map((m) => m.key)).toEqual(['mistral/mistral-large-2512']);
    expect(catalog.resolve('GPT-4o-Mini').map((m) => m.key)).toEqual(['openai/gpt-4o-mini']);
    // OpenRouter's model ids carry their vendor: "openai/gpt-4o-mini" is the OpenAI key first.
    expect(catalog.resolve('openai/gpt-4o-mini').map((m) => m.key)).toEqual(['openai/gpt-4o-mini']);
    expect(catalog.resolve('openrouter/openai/gpt-4o-mini').map((m) => m.key)).toEqual(['openrouter/openai/gpt-4o-mini']);
    expect(catalog.resolve('no-such-model')).toEqual([]);
  });
});

describe('buildCatalog: config overrides', () => {
  const providers = [
    { name: 'openai', type: 'openai' as const },
    { name: 'ollama', type: 'openai-compatible' as const, preset: 'ollama' },
  ];

  it('overrides any field of a known model by key', () => {
    const catalog = buildCatalog({
      providers,
      at: AT,
      overrides: overrides([
        { key: 'openai/gpt-4o-mini', quality: 99, context_window: 64_000, aliases: ['cheap-one'] },
        { key: 'openai/gpt-4.1', pricing: { input: 1, output: 2 } },
      ]),
    });
    const mini = model(catalog, 'openai/gpt-4o-mini');
    expect(mini).toMatchObject({ quality: 99, context_window: 64_000 });
    expect(mini.aliases).toEqual(expect.arrayContaining(['gpt-4o-mini-2024-07-18', 'cheap-one']));
    expect(catalog.resolve('cheap-one')).toEqual([mini]);
    expect(mini.price_source).toBe(genaiPricesSource());
    expect(model(catalog, 'openai/gpt-4.1')).toMatchObject({ pricing: { input: 1, output: 2 }, price_source: 'config' });
  });

  it('does not change the shared base data', () => {
    buildCatalog({ providers, at: AT, overrides: overrides([{ key: 'openai/gpt-4o', quality: 1 }]) });
    expect(model(buildCatalog({ providers, at: AT }), 'openai/gpt-4o').quality).not.toBe(1);
  });

  it('adds models: free on local servers, priced elsewhere', () => {
    const catalog = buildCatalog({
      providers,
      at: AT,
      overrides: overrides([
        { key: 'ollama/qwen3:8b', context_window: 32_768, capabilities: { tools: true, json_schema: true, vision: false, streaming: true } },
        { key: 'openai/ft:gpt-4o-mini:acme', pricing: { input: 0.3, output: 1.2 }, quality: 60 },
      ]),
    });
    expect(model(catalog, 'ollama/qwen3:8b')).toMatchObject({ provider: 'ollama', model: 'qwen3:8b', pricing: { input: 0, output: 0 }, context_window: 32_768 });
    expect(model(catalog, 'openai/ft:gpt-4o-mini:acme')).toMatchObject({ provider: 'openai', model: 'ft:gpt-4o-mini:acme', quality: 60, price_source: 'config' });
    expect(catalog.resolve('ft:gpt-4o-mini:acme')).toHaveLength(1);
  });

  it('asks for pricing when a paid provider gets a new model without it', () => {
    expect(() => buildCatalog({ providers, at: AT, overrides: overrides([{ key: 'openai/my-finetune' }]) })).toThrow(
      /models\[0\] 'openai\/my-finetune'\.pricing: .*needs pricing/,
    );
  });

  it('ignores overrides of providers that are not configured, and rejects keys without a provider', () => {
    const catalog = buildCatalog({ providers, at: AT, overrides: overrides([{ key: 'anthropic/claude-x', pricing: { input: 1, output: 1 } }]) });
    expect(catalog.get('anthropic/claude-x')).toBeUndefined();
    expect(() => buildCatalog({ providers, at: AT, overrides: overrides([{ key: 'gpt-4o-mini' }]) })).toThrow(/models\[0\]\.key: 'gpt-4o-mini' must look like provider\/model/);
  });

  it('validates a bad field with its path', () => {
    expect(() => buildCatalog({ providers, at: AT, overrides: [{ key: 'openai/gpt-4o', quality: 500 } as ModelOverride] })).toThrow(/models\[0\] 'openai\/gpt-4o'\.quality/);
  });
});

describe('model-overrides.json', () => {
  it('is valid and prices every genai-covered family from genai-prices only', () => {
    const file = overrideFile();
    expect(Object.keys(file.families)).toEqual(
      expect.arrayContaining(['openai', 'anthropic', 'gemini', 'deepseek', 'mistral', 'groq', 'together', 'openrouter', 'ollama', 'demo']),
    );
  });

  it('rejects hand-typed prices in a genai-prices family and missing prices elsewhere', () => {
    const model = { model: 'x', quality: 50, capabilities: ['tools'], latency_prior: { ttft_ms: 1, tokens_per_second: 1 }, max_output_tokens: 1, context_window: 1 };
    const typed = FamilyFileSchema.safeParse({ families: { openai: { genai_prices_provider: 'openai', models: [{ ...model, pricing: { input: 1, output: 1 } }] } } });
    expect(typed.success).toBe(false);
    expect(typed.error?.issues[0]?.message).toMatch(/come from genai-prices/);
    const unpriced = FamilyFileSchema.safeParse({ families: { demo: { models: [model] } } });
    expect(unpriced.success).toBe(false);
    expect(unpriced.error?.issues[0]?.message).toMatch(/pricing is required/);
  });
});
