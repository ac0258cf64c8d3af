import { countTokens } from 'gpt-tokenizer/encoding/o200k_base';
import { RoutingConfigSchema, type RoutingConfig } from '../../src/core/config';
import { buildCatalog, createCatalog } from '../../src/core/routing/catalog';
import { UNKNOWN_MODEL_REASON } from '../../src/core/routing/model-names';
import { plan } from '../../src/core/routing/plan';
import { compileRules } from '../../src/core/routing/rules';
import {
  estimatePromptTokens,
  estimateTokens,
  EXACT_TOKENIZE_MAX_CHARS,
  GENERIC_CHARS_PER_TOKEN,
  GENERIC_IMAGE_TOKENS,
  GENERIC_TOKENS_PER_MESSAGE,
  OPENAI_IMAGE_TOKENS,
  OPENAI_REPLY_PRIMING_TOKENS,
  OPENAI_TOKENS_PER_MESSAGE,
} from '../../src/core/routing/tokens';
import type { Catalog, CatalogModel, HealthView, LatencyEstimate, Plan, RoutedChatRequest } from '../../src/core/routing/types';

type Caps = Partial<CatalogModel['capabilities']>;

function m(key: string, opts: { price: [number, number]; quality: number; ctx: number; ttft: number; tps: number; caps?: Caps; maxOut?: number }): CatalogModel {
  const slash = key.indexOf('/');
  return {
    key,
    provider: key.slice(0, slash),
    model: key.slice(slash + 1),
    aliases: [],
    pricing: { input: opts.price[0], output: opts.price[1] },
    context_window: opts.ctx,
    max_output_tokens: opts.maxOut ?? 8192,
    capabilities: { tools: true, json_schema: true, vision: true, streaming: true, ...opts.caps },
    quality: opts.quality,
    latency_prior: { ttft_ms: opts.ttft, tokens_per_second: opts.tps },
  };
}

const MODELS: CatalogModel[] = [
  m('plain/basic', { price: [0.05, 0.2], quality: 50, ctx: 32_000, ttft: 400, tps: 100, caps: { tools: false, vision: false, json_schema: false } }),
  m('cheap/small', { price: [0.1, 0.4], quality: 40, ctx: 16_000, ttft: 150, tps: 300, caps: { vision: false, json_schema: false } }),
  m('mid/medium', { price: [1, 4], quality: 65, ctx: 128_000, ttft: 400, tps: 120 }),
  m('gem/gemini-x', { price: [0.3, 2.5], quality: 70, ctx: 1_000_000, ttft: 700, tps: 150 }),
  m('big/large', { price: [5, 20], quality: 90, ctx: 1_000_000, ttft: 1500, tps: 50, maxOut: 32_000 }),
];

const catalog = createCatalog(MODELS);

class FakeHealth implements HealthView {
  open = new Set<string>();
  latencies = new Map<string, LatencyEstimate>();
  errors = new Map<string, number>();
  isOpen(key: string): boolean {
    return this.open.has(key);
  }
  latency(key: string): LatencyEstimate | undefined {
    return this.latencies.get(key);
  }
  errorRate(key: string): number {
    return this.errors.get(key) ?? 0;
  }
}

const healthy = new FakeHealth();

function config(input: Record<string, unknown> = {}): RoutingConfig {
  return RoutingConfigSchema.parse(input);
}

const DEFAULT_CONFIG = config();

function req(extra: Partial<RoutedChatRequest> = {}, text = 'Write a short greeting for our newsletter.'): RoutedChatRequest {
  return { model: 'auto', messages: [{ role: 'user', content: text }], ...extra };
}

const TOOLS: RoutedChatRequest['tools'] = [
  { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
];

const IMAGE_MESSAGE: RoutedChatRequest['messages'] = [
  { role: 'user', content: [{ type: 'text', text: 'What is in this picture?' }, { type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] },
];

function keys(p: Plan): string[] {
  return p.candidates.map((c) => c.key);
}

function reasonFor(p: Plan, key: string): string | undefined {
  return p.excluded.find((x) => x.key === key)?.reason;
}

describe('plan: prefer', () => {
  it('prefer cost picks the cheapest capable model', () => {
    const p = plan(req({ model: 'auto:cost' }), catalog, healthy, DEFAULT_CONFIG);
    expect(p.prefer).toBe('cost');
    expect(keys(p)[0]).toBe('plain/basic');
    expect(p.reason).toMatch(/^Cheapest model: plain\/basic/);

    const withTools = plan(req({ model: 'auto:cost', tools: TOOLS }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(withTools)[0]).toBe('cheap/small');
    expect(reasonFor(withTools, 'plain/basic')).toMatch(/tools/);
    expect(withTools.reason).toMatch(/^Cheapest model with tools support: cheap\/small/);
    // The rest follow by expected cost.
    const costs = withTools.candidates.map((c) => c.expectedCostUsd);
    expect([...costs].sort((a, b) => a - b)).toEqual(costs);
  });

  it('prefer cost stays strict when a slightly pricier model is far faster and better', () => {
    const tradeOff = createCatalog([
      m('slow/cheapest', { price: [0.1, 0.4], quality: 30, ctx: 100_000, ttft: 5000, tps: 10 }),
      m('fast/almost', { price: [0.12, 0.48], quality: 90, ctx: 100_000, ttft: 100, tps: 500 }),
      m('big/large', { price: [5, 20], quality: 95, ctx: 100_000, ttft: 1500, tps: 50 }),
    ]);
    const p = plan(req({ model: 'auto:cost' }), tradeOff, healthy, DEFAULT_CONFIG);
    expect(keys(p)).toEqual(['slow/cheapest', 'fast/almost', 'big/large']);
    // The weighted score alone prefers the fast one; the score is still reported as computed.
    const score = (k: string) => p.candidates.find((c) => c.key === k)!.score;
    expect(score('fast/almost')).toBeGreaterThan(score('slow/cheapest'));
  });

  it('prefer quality picks the best model, prefer latency the fastest', () => {
    expect(keys(plan(req({ model: 'auto:quality' }), catalog, healthy, DEFAULT_CONFIG))[0]).toBe('big/large');
    const fast = plan(req({ model: 'auto:latency' }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(fast)[0]).toBe('cheap/small');
    expect(fast.reason).toMatch(/^Fastest model: cheap\/small/);
  });

  it('live latency replaces the prior once measured', () => {
    const health = new FakeHealth();
    health.latencies.set('cheap/small', { ttftMs: 9000, totalMs: 20_000 });
    const p = plan(req({ model: 'auto:latency' }), catalog, health, DEFAULT_CONFIG);
    expect(keys(p)[0]).not.toBe('cheap/small');
    expect(p.candidates.find((c) => c.key === 'cheap/small')?.expectedLatencyMs).toBe(20_000);
  });

  it("scales measured latency to the request's output by the prior's shape: short answers measured say little about long ones", () => {
    const health = new FakeHealth();
    // big/large (prior: 1.5 s to the first token, 50 tokens/s) was measured at 1.5 s on 50-token answers.
    health.latencies.set('big/large', { ttftMs: 500, totalMs: 1500, outputTokens: 50 });
    const short = plan(req({ model: 'auto:latency', max_tokens: 50 }), catalog, health, DEFAULT_CONFIG);
    expect(short.candidates.find((c) => c.key === 'big/large')?.expectedLatencyMs).toBe(1500);
    const long = plan(req({ model: 'auto:latency', max_tokens: 4000 }), catalog, health, DEFAULT_CONFIG);
    // (1.5 s + 4000 / 50 s) / (1.5 s + 50 / 50 s) = 81.5 / 2.5 times the measured 1.5 s.
    expect(long.candidates.find((c) => c.key === 'big/large')?.expectedLatencyMs).toBe(Math.round((1500 * 81_500) / 2_500));
    expect(keys(long)[0]).not.toBe('big/large');
    // Caps judge the same estimate.
    const capped = plan(req({ model: 'big/large', max_tokens: 4000, routing: { max_latency_ms: 2000 } }), catalog, health, DEFAULT_CONFIG);
    expect(capped.candidates).toHaveLength(0);
  });

  it('a high error rate pushes a fast model back for latency', () => {
    const health = new FakeHealth();
    health.errors.set('cheap/small', 0.9);
    expect(keys(plan(req({ model: 'auto:latency' }), catalog, health, DEFAULT_CONFIG))[0]).not.toBe('cheap/small');
  });

  it('balanced ranks by weighted score, every score within 0..1', () => {
    const p = plan(req(), catalog, healthy, DEFAULT_CONFIG);
    expect(p.prefer).toBe('balanced');
    const scores = p.candidates.map((c) => c.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    for (const s of scores) expect(s).toBeGreaterThanOrEqual(0);
    for (const s of scores) expect(s).toBeLessThanOrEqual(1);
    expect(p.reason).toMatch(/^Best balance of cost, speed and quality/);
  });

  it('routing.prefer wins over the auto shorthand, which wins over the config default', () => {
    expect(plan(req({ model: 'auto:cost', routing: { prefer: 'quality' } }), catalog, healthy, DEFAULT_CONFIG).prefer).toBe('quality');
    expect(plan(req({ model: 'auto:latency' }), catalog, healthy, config({ default_prefer: 'cost' })).prefer).toBe('latency');
    expect(plan(req(), catalog, healthy, config({ default_prefer: 'cost' })).prefer).toBe('cost');
  });

  it('expected cost uses max_tokens or the configured expected output', () => {
    const p = plan(req({ model: 'mid/medium', max_tokens: 1000 }), catalog, healthy, DEFAULT_CONFIG);
    const tokens = p.estimatedPromptTokens;
    expect(p.candidates[0]!.expectedCostUsd).toBeCloseTo((tokens * 1 + 1000 * 4) / 1e6, 12);
    const q = plan(req({ model: 'mid/medium' }), catalog, healthy, config({ expected_output_tokens: 100 }));
    expect(q.candidates[0]!.expectedCostUsd).toBeCloseTo((tokens * 1 + 100 * 4) / 1e6, 12);
    expect(q.candidates[0]!.expectedLatencyMs).toBe(Math.round(400 + (100 / 120) * 1000));
  });

  it('the most a call can cost uses max_tokens, else the model\'s output limit (what budgets reserve)', () => {
    const p = plan(req({ model: 'mid/medium', max_tokens: 1000 }), catalog, healthy, DEFAULT_CONFIG);
    const tokens = p.estimatedPromptTokens;
    expect(p.candidates[0]!.maxCostUsd).toBeCloseTo((tokens * 1 + 1000 * 4) / 1e6, 12);
    const q = plan(req({ model: 'mid/medium' }), catalog, healthy, config({ expected_output_tokens: 100 }));
    expect(q.candidates[0]!.maxCostUsd).toBeCloseTo((tokens * 1 + 8192 * 4) / 1e6, 12);
  });
});

describe('plan: filters', () => {
  it('an over-long prompt excludes small-context models', () => {
    const long = 'Quarterly figures for every region and product line follow. '.repeat(2000);
    const p = plan(req({}, long), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(p)).not.toContain('cheap/small');
    expect(keys(p)).not.toContain('plain/basic');
    expect(reasonFor(p, 'cheap/small')).toMatch(/prompt too long: about \d+ tokens, its context window is 16000/);
    expect(keys(p)).toEqual(expect.arrayContaining(['mid/medium', 'gem/gemini-x', 'big/large']));
  });

  it('counts the requested output against the context window and the model limit', () => {
    const p = plan(req({ max_tokens: 20_000 }), catalog, healthy, DEFAULT_CONFIG);
    expect(reasonFor(p, 'cheap/small')).toMatch(/allows 20000 output tokens, this model writes at most 8192/);
    expect(keys(p)).toEqual(['big/large']);
  });

  it('tools requests exclude models without tools', () => {
    const p = plan(req({ tools: TOOLS }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(p)).not.toContain('plain/basic');
    expect(reasonFor(p, 'plain/basic')).toBe('no support for tools (the request defines tools)');
  });

  it('image requests exclude models without vision', () => {
    const p = plan(req({ messages: IMAGE_MESSAGE }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(p).sort()).toEqual(['big/large', 'gem/gemini-x', 'mid/medium']);
    expect(reasonFor(p, 'cheap/small')).toMatch(/images/);
  });

  it('json_schema responses and routing.require exclude models lacking them', () => {
    const schema = plan(
      req({ response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' } } } }),
      catalog,
      healthy,
      DEFAULT_CONFIG,
    );
    expect(reasonFor(schema, 'cheap/small')).toMatch(/JSON schema/);
    const required = plan(req({ routing: { require: ['vision', 'tools'] } }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(required).sort()).toEqual(['big/large', 'gem/gemini-x', 'mid/medium']);
    expect(reasonFor(required, 'plain/basic')).toBe('no support for tools (routing.require asks for it) or vision (routing.require asks for it)');
    const both = plan(req({ tools: TOOLS, routing: { require: ['tools', 'vision'] } }), catalog, healthy, DEFAULT_CONFIG);
    expect(reasonFor(both, 'plain/basic')).toBe('no support for tools (the request defines tools) or vision (routing.require asks for it)');
  });

  it('streaming requests exclude models that cannot stream', () => {
    const noStream = createCatalog([...MODELS, m('batch/only', { price: [0.01, 0.01], quality: 99, ctx: 1e6, ttft: 1, tps: 1000, caps: { streaming: false } })]);
    const p = plan(req({ stream: true }), noStream, healthy, DEFAULT_CONFIG);
    expect(reasonFor(p, 'batch/only')).toMatch(/streaming/);
    expect(keys(plan(req(), noStream, healthy, DEFAULT_CONFIG))).toContain('batch/only');
  });

  it('providers allow and deny', () => {
    const allow = plan(req({ routing: { providers: { allow: ['mid', 'big'] } } }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(allow).sort()).toEqual(['big/large', 'mid/medium']);
    expect(reasonFor(allow, 'cheap/small')).toBe("provider 'cheap' is not in routing.providers.allow");
    const deny = plan(req({ routing: { providers: { deny: ['big'] } } }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(deny)).not.toContain('big/large');
    expect(reasonFor(deny, 'big/large')).toBe("provider 'big' is in routing.providers.deny");
  });

  it('an open circuit excludes the model', () => {
    const health = new FakeHealth();
    health.open.add('plain/basic');
    const p = plan(req({ model: 'auto:cost' }), catalog, health, DEFAULT_CONFIG);
    expect(keys(p)).not.toContain('plain/basic');
    expect(keys(p)[0]).toBe('cheap/small');
    expect(reasonFor(p, 'plain/basic')).toMatch(/circuit is open/);
  });

  it('max_cost_usd and max_latency_ms exclude by expected cost and latency', () => {
    const cost = plan(req({ routing: { max_cost_usd: 0.001 } }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(cost)).not.toContain('big/large');
    expect(keys(cost)).not.toContain('mid/medium');
    expect(reasonFor(cost, 'big/large')).toMatch(/^expected cost \$0\.01\d* is above routing\.max_cost_usd \$0\.001$/);
    for (const c of cost.candidates) expect(c.expectedCostUsd).toBeLessThanOrEqual(0.001);
    const latency = plan(req({ routing: { max_latency_ms: 3000 } }), catalog, healthy, DEFAULT_CONFIG);
    for (const c of latency.candidates) expect(c.expectedLatencyMs).toBeLessThanOrEqual(3000);
    expect(reasonFor(latency, 'big/large')).toMatch(/above routing\.max_latency_ms 3000/);
  });

  it('says so when nothing can take the request', () => {
    const p = plan(req({ tools: TOOLS, routing: { max_cost_usd: 1e-9 } }), catalog, healthy, DEFAULT_CONFIG);
    expect(p.candidates).toEqual([]);
    expect(p.reason).toMatch(/^No model can take this request: /);
  });
});

describe('plan: a key allow-list (onlyModels)', () => {
  const rules = config({ rules: [{ name: 'sales-team', when: { metadata: { team: 'sales' } }, use: ['big/large', 'cheap/small'] }] });
  const only = { onlyModels: ['cheap/small', 'mid/medium'] };

  it('narrows auto, a rule\'s use list and fallback models alike, saying why the others are out', () => {
    expect(keys(plan(req(), catalog, healthy, config(), only)).sort()).toEqual(['cheap/small', 'mid/medium']);
    const ruled = plan(req({ metadata: { team: 'sales' } }), catalog, healthy, rules, only);
    expect(ruled.rule).toBe('sales-team');
    expect(keys(ruled)).toEqual(['cheap/small']);
    expect(ruled.excluded).toContainEqual({ key: 'big/large', reason: 'not allowed for this API key' });
    const fallback = plan(req({ model: 'mid/medium', routing: { fallback_models: ['big/large', 'cheap/small'] } }), catalog, healthy, config(), only);
    expect(keys(fallback)).toEqual(['mid/medium', 'cheap/small']);
  });

  it('keeps the preference the request asked for', () => {
    expect(plan(req({ model: 'auto:quality' }), catalog, healthy, config(), only).prefer).toBe('quality');
  });
});

describe('plan: rules', () => {
  const rules = config({
    rules: [
      { name: 'data-to-gemini', when: { prompt_matches: 'analy[sz]e|data' }, use: ['gem/gemini-x'] },
      { name: 'creative', when: { tag: 'creative' }, prefer: 'quality' },
      { name: 'sales-team', when: { metadata: { team: 'sales' } }, use: ['cheap/small', 'mid/medium'] },
      { name: 'auto-only', when: { model: 'auto', require: ['vision'] }, use: ['big/large'] },
    ],
  });

  it('prompt_matches sends data analysis to Gemini (case-insensitive)', () => {
    const p = plan(req({}, 'Please ANALYSE this spreadsheet'), catalog, healthy, rules);
    expect(p.rule).toBe('data-to-gemini');
    expect(keys(p)).toEqual(['gem/gemini-x']);
    expect(p.reason).toMatch(/^Rule 'data-to-gemini' matched \(the prompt matches \/analy\[sz\]e\|data\/\), so gem\/gemini-x is used/);
    // Only user text counts.
    const system = plan(
      { model: 'auto', messages: [{ role: 'system', content: 'You analyze data.' }, { role: 'user', content: 'Hello' }] },
      catalog,
      healthy,
      rules,
    );
    expect(system.rule).toBeUndefined();
  });

  it('a rule with use still appends routing.fallback_models', () => {
    const p = plan(req({ routing: { fallback_models: ['mid/medium'] } }, 'data please'), catalog, healthy, rules);
    expect(keys(p)).toEqual(['gem/gemini-x', 'mid/medium']);
  });

  it('tag rules change prefer', () => {
    const p = plan(req({ routing: { tags: ['creative'] } }), catalog, healthy, rules);
    expect(p.rule).toBe('creative');
    expect(p.prefer).toBe('quality');
    expect(keys(p)[0]).toBe('big/large');
    expect(p.reason).toMatch(/^Rule 'creative' matched \(tag 'creative'\); highest-quality model: big\/large/);
    // An explicit routing.prefer from the caller still wins over the rule's.
    expect(plan(req({ routing: { tags: ['creative'], prefer: 'cost' } }), catalog, healthy, rules).prefer).toBe('cost');
  });

  it('metadata rules need every entry to match', () => {
    expect(keys(plan(req({ metadata: { team: 'sales', region: 'eu' } }), catalog, healthy, rules))).toEqual(['cheap/small', 'mid/medium']);
    expect(plan(req({ metadata: { team: 'support' } }), catalog, healthy, rules).rule).toBeUndefined();
  });

  it('when.model "auto" matches the auto shorthands only; when.require matches what the request needs', () => {
    expect(plan(req({ model: 'auto:cost', messages: IMAGE_MESSAGE }), catalog, healthy, rules).rule).toBe('auto-only');
    expect(plan(req({ model: 'mid/medium', messages: IMAGE_MESSAGE }), catalog, healthy, rules).rule).toBeUndefined();
    expect(plan(req({ model: 'auto:cost' }), catalog, healthy, rules).rule).toBeUndefined();
  });

  it('are data: loaded from JSON text, anything else rejected with the field named', () => {
    const fromJson = config(JSON.parse('{"rules":[{"name":"json","when":{"prompt_matches":"invoice"},"use":["mid/medium"]}]}'));
    expect(plan(req({}, 'Draft an invoice reminder'), catalog, healthy, fromJson).rule).toBe('json');
    const code = RoutingConfigSchema.safeParse({ rules: [{ when: { custom: () => true }, use: ['mid/medium'] }] });
    expect(code.success).toBe(false);
    expect(code.error?.issues[0]).toMatchObject({ path: ['rules', 0, 'when'], message: expect.stringMatching(/custom/) });
    const fn = RoutingConfigSchema.safeParse({ rules: [{ when: { prompt_matches: /data/ }, use: ['mid/medium'] }] });
    expect(fn.error?.issues[0]?.path).toEqual(['rules', 0, 'when', 'prompt_matches']);
  });

  it('compiles each rule set once and names an invalid regex', () => {
    expect(compileRules(rules.rules)).toBe(compileRules(rules.rules));
    const bad = config({ rules: [{ when: { prompt_matches: 'analy(' }, use: ['gem/gemini-x'] }] });
    expect(() => plan(req(), catalog, healthy, bad)).toThrow(/routing\.rules\[0\]\.when\.prompt_matches: Invalid regular expression/);
  });

  it('names rules without a name by position, and reports unknown models in rules', () => {
    const p = plan(req(), catalog, healthy, config({ rules: [{ when: {}, use: ['nope/x', 'mid/medium'] }] }));
    expect(p.rule).toBe('rules[0]');
    expect(keys(p)).toEqual(['mid/medium']);
    expect(reasonFor(p, 'nope/x')).toBe(`${UNKNOWN_MODEL_REASON} 'nope/x' in rule 'rules[0]'`);
  });
});

describe('plan: requested models', () => {
  it('a specific model comes first, then routing.fallback_models in order', () => {
    const p = plan(req({ model: 'big/large', routing: { fallback_models: ['cheap/small', 'mid/medium'] } }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(p)).toEqual(['big/large', 'cheap/small', 'mid/medium']);
    expect(p.reason).toMatch(/^You asked for big\/large; big\/large is tried first/);
  });

  it('resolves bare ids and aliases', () => {
    const aliased = createCatalog([...MODELS.slice(0, 4), { ...MODELS[4]!, aliases: ['the-big-one'] }]);
    expect(keys(plan(req({ model: 'large' }), aliased, healthy, DEFAULT_CONFIG))).toEqual(['big/large']);
    expect(keys(plan(req({ model: 'the-big-one' }), aliased, healthy, DEFAULT_CONFIG))).toEqual(['big/large']);
  });

  it('falls back when the requested model is unavailable, and says why', () => {
    const health = new FakeHealth();
    health.open.add('big/large');
    const p = plan(req({ model: 'big/large', routing: { fallback_models: ['mid/medium'] } }), catalog, health, DEFAULT_CONFIG);
    expect(keys(p)).toEqual(['mid/medium']);
    expect(p.reason).toMatch(/^You asked for big\/large, but big\/large was skipped \(temporarily unavailable: its circuit is open/);
  });

  it('models: [...] keeps its order whatever prefer says, with scores reported', () => {
    const p = plan(req({ models: ['big/large', 'cheap/small', 'mid/medium'], routing: { prefer: 'cost' } }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(p)).toEqual(['big/large', 'cheap/small', 'mid/medium']);
    for (const c of p.candidates) expect(c.score).toBeGreaterThan(0);
    expect(p.reason).toMatch(/^big\/large is first in your models list/);
  });

  it('models: [...] skips unusable entries and may end with "auto"', () => {
    const p = plan(req({ models: ['plain/basic', 'nope/x', 'mid/medium', 'auto'], tools: TOOLS, routing: { prefer: 'cost' } }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(p)).toEqual(['mid/medium', 'cheap/small', 'gem/gemini-x', 'big/large']);
    expect(reasonFor(p, 'nope/x')).toMatch(/^unknown model 'nope\/x'/);
    expect(p.reason).toMatch(/^mid\/medium is the first usable model in your list; plain\/basic was skipped \(no support for tools/);
  });

  it('a specific model plus models: [...] puts the model first, then the list in order without repeats', () => {
    expect(keys(plan(req({ model: 'gem/gemini-x', models: ['mid/medium'] }), catalog, healthy, DEFAULT_CONFIG))).toEqual(['gem/gemini-x', 'mid/medium']);
    const listed = plan(req({ model: 'mid/medium', models: ['big/large', 'mid/medium', 'cheap/small'] }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(listed)).toEqual(['mid/medium', 'big/large', 'cheap/small']);
    expect(listed.excluded).toEqual([]);
  });

  it('"auto" or a shorthand with models: [...] tries the list in order, with the shorthand setting prefer', () => {
    const p = plan(req({ model: 'auto:quality', models: ['cheap/small', 'big/large'] }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(p)).toEqual(['cheap/small', 'big/large']);
    expect(p.prefer).toBe('quality');
  });

  it('a malformed auto shorthand is refused wherever it appears', () => {
    const inList = plan(req({ model: 'mid/medium', models: ['auto:fastest'] }), catalog, healthy, DEFAULT_CONFIG);
    expect(keys(inList)).toEqual(['mid/medium']);
    expect(reasonFor(inList, 'auto:fastest')).toMatch(/^unknown model 'auto:fastest': use auto, auto:cost/);
    const asModel = plan(req({ model: 'auto:fastest', models: ['mid/medium'] }), catalog, healthy, DEFAULT_CONFIG);
    expect(asModel.candidates).toEqual([]);
    expect(asModel.reason).toMatch(/^Unknown model 'auto:fastest'/);
  });

  it('an unknown model gives an empty plan that explains itself', () => {
    const p = plan(req({ model: 'gpt-17', routing: { fallback_models: ['mid/medium'] } }), catalog, healthy, DEFAULT_CONFIG);
    expect(p.candidates).toEqual([]);
    expect(p.excluded).toEqual([{ key: 'gpt-17', reason: "unknown model 'gpt-17': no configured provider offers it" }]);
    expect(p.reason).toBe("Unknown model 'gpt-17': no configured provider offers it.");
    const bad = plan(req({ model: 'auto:fast' }), catalog, healthy, DEFAULT_CONFIG);
    expect(bad.candidates).toEqual([]);
    expect(bad.excluded[0]!.reason).toMatch(/use auto, auto:cost, auto:latency, auto:quality or auto:balanced/);
  });
});

describe('plan: determinism and explanations', () => {
  const requests: RoutedChatRequest[] = [
    req(),
    req({ model: 'auto:cost', tools: TOOLS }),
    req({ model: 'auto:quality', messages: IMAGE_MESSAGE }),
    req({ routing: { max_cost_usd: 0.002, providers: { deny: ['gem'] } } }),
    req({ model: 'mid/medium', routing: { fallback_models: ['big/large'] } }),
  ];

  it('same inputs give the same plan, whatever the catalog order', () => {
    const reversed = createCatalog([...MODELS].reverse());
    for (const r of requests) {
      const a = plan(r, catalog, healthy, DEFAULT_CONFIG);
      expect(plan(structuredClone(r), catalog, healthy, DEFAULT_CONFIG)).toEqual(a);
      expect(keys(plan(r, reversed, healthy, DEFAULT_CONFIG))).toEqual(keys(a));
    }
  });

  it('breaks exact ties by key', () => {
    const twins = createCatalog([
      m('b/twin', { price: [1, 1], quality: 50, ctx: 10_000, ttft: 100, tps: 100 }),
      m('a/twin', { price: [1, 1], quality: 50, ctx: 10_000, ttft: 100, tps: 100 }),
    ]);
    expect(keys(plan(req({ model: 'twin' }), twins, healthy, DEFAULT_CONFIG))).toEqual(['a/twin', 'b/twin']);
  });

  it('every catalog model is either a candidate or excluded with a reason', () => {
    for (const r of requests.slice(0, 4)) {
      const p = plan(r, catalog, healthy, DEFAULT_CONFIG);
      expect(p.candidates.length + p.excluded.length).toBe(MODELS.length);
      for (const x of p.excluded) expect(x.reason.length).toBeGreaterThan(10);
      expect(p.reason).toMatch(/\.$/);
    }
  });

  it('reads no clock and no random source', () => {
    const now = jest.spyOn(Date, 'now').mockImplementation(() => {
      throw new Error('plan() read Date.now()');
    });
    const perf = jest.spyOn(performance, 'now').mockImplementation(() => {
      throw new Error('plan() read performance.now()');
    });
    const random = jest.spyOn(Math, 'random').mockImplementation(() => {
      throw new Error('plan() read Math.random()');
    });
    try {
      // Fresh request objects: token estimates are computed, not memoised.
      for (const r of requests) expect(plan(structuredClone(r), catalog, healthy, DEFAULT_CONFIG).candidates.length).toBeGreaterThan(0);
    } finally {
      now.mockRestore();
      perf.mockRestore();
      random.mockRestore();
    }
  });

  it('does not modify its inputs', () => {
    const frozenModels = MODELS.map((x) => Object.freeze({ ...x }));
    const frozen: Catalog = createCatalog(frozenModels);
    const r = req({ tools: TOOLS });
    const before = structuredClone(r);
    plan(r, frozen, healthy, DEFAULT_CONFIG);
    expect(r).toEqual(before);
  });
});

describe('plan with the real catalog', () => {
  const real = buildCatalog({
    providers: [
      { name: 'demo', type: 'demo' },
      { name: 'gemini', type: 'gemini' },
      { name: 'openai', type: 'openai' },
    ],
    at: new Date('2026-11-23T12:00:00Z'),
  });

  it('demo models: cost -> mini, quality -> pro among the demo provider', () => {
    const demoOnly = { providers: { allow: ['demo'] } };
    expect(keys(plan(req({ model: 'auto:cost', routing: demoOnly }), real, healthy, DEFAULT_CONFIG))[0]).toBe('demo/mini');
    expect(keys(plan(req({ model: 'auto:quality', routing: demoOnly }), real, healthy, DEFAULT_CONFIG))[0]).toBe('demo/pro');
    expect(reasonFor(plan(req({ messages: IMAGE_MESSAGE, routing: demoOnly }), real, healthy, DEFAULT_CONFIG), 'demo/mini')).toMatch(/images/);
  });

  it('a data-analysis rule naming a bare Gemini id picks it', () => {
    const rules = config({ rules: [{ name: 'analysis', when: { prompt_matches: 'analy[sz]e|data' }, use: ['gemini-2.5-flash'] }] });
    const p = plan(req({}, 'Can you analyze the data in this table?'), real, healthy, rules);
    expect(keys(p)).toEqual(['gemini/gemini-2.5-flash']);
  });
});

describe('token estimates', () => {
  const openaiModel = m('openai/gpt-4.1-mini', { price: [1, 1], quality: 1, ctx: 1e6, ttft: 1, tps: 1 });
  const otherModel = m('anthropic/claude-haiku-4-5', { price: [1, 1], quality: 1, ctx: 1e6, ttft: 1, tps: 1 });

  it('uses o200k for OpenAI-family models and a character estimate for others', () => {
    const text = 'Summarise the attached meeting notes in three bullet points.';
    const r = req({}, text);
    expect(estimatePromptTokens(r, openaiModel)).toBe(countTokens(text) + OPENAI_TOKENS_PER_MESSAGE + OPENAI_REPLY_PRIMING_TOKENS);
    expect(estimatePromptTokens(r, otherModel)).toBe(Math.ceil(text.length / GENERIC_CHARS_PER_TOKEN) + GENERIC_TOKENS_PER_MESSAGE);
    const viaRouter = m('openrouter/openai/gpt-4o-mini', { price: [1, 1], quality: 1, ctx: 1e6, ttft: 1, tps: 1 });
    expect(estimatePromptTokens(r, viaRouter)).toBe(estimatePromptTokens(r, openaiModel));
  });

  it('counts images, tools and JSON schemas', () => {
    const plainText = estimateTokens(req({}, 'What is in this picture?'));
    const withImage = estimateTokens(req({ messages: IMAGE_MESSAGE }));
    expect(withImage.images).toBe(1);
    expect(withImage.openai - plainText.openai).toBe(OPENAI_IMAGE_TOKENS);
    expect(withImage.generic - plainText.generic).toBe(GENERIC_IMAGE_TOKENS);
    expect(estimateTokens(req({ tools: TOOLS })).generic).toBeGreaterThan(estimateTokens(req()).generic + 20);
  });

  it('is computed once per request object', () => {
    const r = req();
    expect(estimateTokens(r)).toBe(estimateTokens(r));
  });

  it('scales a sampled count for very long prompts', () => {
    const unit = 'The customer asked about invoices, refunds and delivery times. ';
    const long = unit.repeat(Math.ceil((EXACT_TOKENIZE_MAX_CHARS * 3) / unit.length));
    const estimate = estimateTokens(req({}, long)).openai;
    const exact = countTokens(long);
    expect(Math.abs(estimate - exact) / exact).toBeLessThan(0.02);
  });
});
