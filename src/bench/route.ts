/**
 * `npm run bench:route` (after `npm run build`): how long routing decisions take.
 *
 * 1. plan() median / p99 for synthetic catalogs of 10, 100 and 1000 models, with realistic requests
 *    (plain chat, a tools request, a request a rule fires on, a specific model with fallbacks).
 *    Target: under 20 µs median at 100 models. Token estimates are memoised per request object, as in
 *    the engine (one tokenization per request); the "new request object" row pays for tokenizing.
 * 2. A full routed call (validation, plan, limits, health, story) against an in-process fake provider,
 *    as a ratio to calling that adapter directly.
 *
 * Numbers are printed, never asserted: the machines are shared.
 */
import { availableParallelism, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { CallContext, ProviderAdapter } from '../core/adapter';
import { RoutingConfigSchema } from '../core/config';
import { createCatalog } from '../core/routing/catalog';
import { plan } from '../core/routing/plan';
import { createSwitchyard } from '../core/routing/switchyard';
import type { Catalog, CatalogModel, HealthView, LatencyEstimate, RoutedChatRequest } from '../core/routing/types';
import type { ChatChunk, ChatRequest, ChatResponse } from '../core/schema';

const PLAN_TARGET_US = 20;

// ---------------------------------------------------------------------------------------------
// Synthetic catalogs and health

function seeded(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CONTEXTS = [16_384, 32_768, 128_000, 200_000, 1_000_000];

function syntheticModel(i: number, rnd: () => number): CatalogModel {
  const provider = `p${i % 10}`;
  // Every fourth model is OpenAI-like, so both token estimates are exercised.
  const model = i % 4 === 0 ? `gpt-sim-${i}` : `model-${i}`;
  const input = 0.05 * Math.pow(400, rnd()); // 0.05 .. 20 USD per 1M tokens, log-uniform
  return {
    key: `${provider}/${model}`,
    provider,
    model,
    aliases: [`alias-${i}`],
    pricing: { input, output: input * 4 },
    context_window: CONTEXTS[Math.floor(rnd() * CONTEXTS.length)] ?? 128_000,
    max_output_tokens: 16_384,
    capabilities: { tools: rnd() < 0.8, json_schema: rnd() < 0.6, vision: rnd() < 0.5, streaming: true },
    quality: Math.round(30 + rnd() * 65),
    latency_prior: { ttft_ms: 150 + rnd() * 2000, tokens_per_second: 30 + rnd() * 400 },
  };
}

function syntheticCatalog(size: number): Catalog {
  const rnd = seeded(size);
  return createCatalog(Array.from({ length: size }, (_, i) => syntheticModel(i, rnd)));
}

/** Health as a plan sees it: a few open circuits, live latency for half the models. */
function syntheticHealth(catalog: Catalog): HealthView {
  const rnd = seeded(7);
  const open = new Set<string>();
  const latency = new Map<string, LatencyEstimate>();
  const errors = new Map<string, number>();
  for (const m of catalog.models) {
    if (rnd() < 0.05) open.add(m.key);
    if (rnd() < 0.5) latency.set(m.key, { ttftMs: 200 + rnd() * 1500, totalMs: 1000 + rnd() * 8000 });
    errors.set(m.key, rnd() < 0.1 ? rnd() * 0.3 : 0);
  }
  return { isOpen: (k) => open.has(k), latency: (k) => latency.get(k), errorRate: (k) => errors.get(k) ?? 0 };
}

// ---------------------------------------------------------------------------------------------
// Requests and config

const SYSTEM = 'You are the assistant of a small online shop. Answer politely and briefly, in the language of the customer.';

function requestsFor(catalog: Catalog): Array<{ name: string; request: RoutedChatRequest }> {
  const keys = catalog.models.map((m) => m.key);
  return [
    {
      name: 'chat, auto (balanced)',
      request: {
        model: 'auto',
        messages: [
          { role: 'system', content: SYSTEM },
          { role: 'user', content: 'Hi! I ordered a blue jacket last Tuesday and it has not arrived yet. Can you tell me when it will be delivered?' },
        ],
      },
    },
    {
      name: 'tools, auto:cost',
      request: {
        model: 'auto:cost',
        messages: [{ role: 'user', content: 'What is the weather in Lisbon tomorrow, and should I bring an umbrella?' }],
        tools: [
          { type: 'function', function: { name: 'get_forecast', description: 'Forecast for a city and date', parameters: { type: 'object', properties: { city: { type: 'string' }, date: { type: 'string' } }, required: ['city'] } } },
          { type: 'function', function: { name: 'get_alerts', description: 'Weather alerts', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
        ],
      },
    },
    {
      name: 'rule fires (prompt_matches)',
      request: { model: 'auto', messages: [{ role: 'user', content: 'Please analyze the attached sales data and list the three regions that grew fastest.' }] },
    },
    {
      name: 'model + fallback_models',
      request: {
        model: keys[1] ?? 'auto',
        messages: [{ role: 'user', content: 'Translate "see you tomorrow" into French.' }],
        routing: { fallback_models: [keys[2] ?? 'auto', keys[3] ?? 'auto'] },
      },
    },
  ];
}

function routingConfig(catalog: Catalog) {
  const keys = catalog.models.map((m) => m.key);
  return RoutingConfigSchema.parse({
    rules: [
      { name: 'data-analysis', when: { prompt_matches: 'analy[sz]e|data|spreadsheet' }, use: keys.slice(0, 3) },
      { name: 'creative', when: { tag: 'creative' }, prefer: 'quality' },
      { name: 'sales-team', when: { metadata: { team: 'sales' } }, use: keys.slice(3, 5) },
    ],
  });
}

// ---------------------------------------------------------------------------------------------
// Timing

interface Stats {
  median: number;
  p99: number;
}

function stats(samples: number[]): Stats {
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
  return { median: at(0.5), p99: at(0.99) };
}

/** Times each call separately (µs) after a warm-up. */
function timeSync(fn: () => void, samples: number, warmup = Math.min(2000, samples)): Stats {
  for (let i = 0; i < warmup; i++) fn();
  const out = new Array<number>(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    fn();
    out[i] = (performance.now() - t0) * 1000;
  }
  return stats(out);
}

async function timeAsync(fn: () => Promise<void>, samples: number, warmup = Math.min(1000, samples)): Promise<Stats> {
  for (let i = 0; i < warmup; i++) await fn();
  const out = new Array<number>(samples);
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await fn();
    out[i] = (performance.now() - t0) * 1000;
  }
  return stats(out);
}

function table(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
}

const us = (v: number) => v.toFixed(2);

// ---------------------------------------------------------------------------------------------
// 1. plan()

function benchPlan(): void {
  console.log('plan() time per call, µs (synthetic catalogs; health with open circuits and live latency)\n');
  const rows: string[][] = [];
  let worst100 = Number.NaN;
  for (const size of [10, 100, 1000]) {
    const catalog = syntheticCatalog(size);
    const health = syntheticHealth(catalog);
    const config = routingConfig(catalog);
    const samples = size >= 1000 ? 2_000 : 20_000;
    const medians: number[] = [];
    for (const { name, request } of requestsFor(catalog)) {
      const p = plan(request, catalog, health, config);
      const s = timeSync(() => void plan(request, catalog, health, config), samples);
      medians.push(s.median);
      rows.push([String(size), name, us(s.median), us(s.p99), String(p.candidates.length), p.rule ?? '-']);
    }
    const chat = requestsFor(catalog)[0]!.request;
    // A new request object each time: token estimates are not memoised, the tokenizer runs.
    const cold = timeSync(() => void plan({ ...chat, messages: [...chat.messages] }, catalog, health, config), Math.min(samples, 5_000));
    rows.push([String(size), 'chat, new request object (tokenizes)', us(cold.median), us(cold.p99), '', '']);
    if (size === 100) worst100 = Math.max(...medians);
  }
  table(['models', 'request', 'median', 'p99', 'candidates', 'rule'], rows);
  const verdict = worst100 < PLAN_TARGET_US ? 'met' : 'NOT met';
  console.log(`\ntarget: plan() median < ${PLAN_TARGET_US} µs at 100 models — ${verdict} (slowest request kind: ${us(worst100)} µs median)\n`);
}

// ---------------------------------------------------------------------------------------------
// 2. Routed call overhead vs a direct adapter call, against an in-process fake provider

const FAKE_RESPONSE: ChatResponse = {
  id: 'chatcmpl-bench',
  object: 'chat.completion',
  created: 1_700_000_000,
  model: 'echo',
  choices: [{ index: 0, message: { role: 'assistant', content: 'Bonjour ! À demain.', refusal: null }, finish_reason: 'stop', logprobs: null }],
  usage: { prompt_tokens: 20, completion_tokens: 6, total_tokens: 26 },
};

function chunk(delta: ChatChunk['choices'][number]['delta'], finish: ChatChunk['choices'][number]['finish_reason'] = null): ChatChunk {
  return { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'echo', choices: [{ index: 0, delta, finish_reason: finish }] };
}

/** Answers at once, without I/O: what remains is pure gateway overhead. */
class InstantAdapter implements ProviderAdapter {
  readonly name = 'fake';
  async complete(req: ChatRequest, _ctx?: CallContext): Promise<ChatResponse> {
    return { ...FAKE_RESPONSE, model: req.model };
  }
  async *stream(req: ChatRequest, _ctx?: CallContext): AsyncIterable<ChatChunk> {
    yield { ...chunk({ role: 'assistant', content: 'Bonjour' }), model: req.model };
    yield { ...chunk({ content: ' ! À demain.' }), model: req.model };
    yield { ...chunk({}, 'stop'), model: req.model };
    yield { ...chunk({}), choices: [], usage: FAKE_RESPONSE.usage, model: req.model };
  }
}

async function benchRoutedCall(): Promise<void> {
  console.log('full routed call vs direct adapter call (in-process fake provider that answers at once)\n');
  const adapter = new InstantAdapter();
  const credentials = { baseUrl: 'http://127.0.0.1:9' };
  const ctx: CallContext = { credentials };
  const rows: string[][] = [];
  for (const size of [10, 100]) {
    const models = syntheticCatalog(size).models.map((m) => ({ ...m, key: `fake/${m.model}`, provider: 'fake' }));
    const switchyard = createSwitchyard({ providers: {} }, { runtimes: [{ name: 'fake', type: 'openai', adapter, credentials }], catalog: createCatalog(models) });
    const request: RoutedChatRequest = { model: 'auto', messages: [{ role: 'user', content: 'Translate "see you tomorrow" into French.' }] };
    const direct: ChatRequest = { ...request, model: models[0]?.model ?? 'echo' };
    const samples = 5_000;
    const directComplete = await timeAsync(async () => void (await adapter.complete(direct, ctx)), samples);
    const routedComplete = await timeAsync(async () => void (await switchyard.chat(request)), samples);
    const directStream = await timeAsync(async () => {
      for await (const c of adapter.stream(direct, ctx)) void c;
    }, samples);
    const routedStream = await timeAsync(async () => {
      const s = await switchyard.stream(request);
      for await (const c of s.chunks) void c;
      await s.story;
    }, samples);
    for (const [name, d, r] of [
      ['chat (non-streaming)', directComplete, routedComplete],
      ['stream (4 chunks)', directStream, routedStream],
    ] as const) {
      rows.push([String(size), name, us(d.median), us(r.median), us(r.p99), us(r.median - d.median), `${(r.median / d.median).toFixed(1)}x`]);
    }
    await switchyard.close();
  }
  table(['models', 'call', 'direct median', 'routed median', 'routed p99', 'overhead', 'ratio'], rows);
  console.log('\n(µs; the fake answers without I/O, so the ratio is an upper bound: a real upstream call takes 100 ms or more)');
}

async function main(): Promise<void> {
  const load = loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`Node ${process.version}, ${availableParallelism()} cores, load average ${load} (shared machines: compare runs under similar load)\n`);
  benchPlan();
  await benchRoutedCall();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
