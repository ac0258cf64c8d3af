import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startMockUpstream, type MockUpstream } from '../../src/bench/mock-upstream';
import { closeUpstreamPools } from '../../src/core/http';
import { ConfigError } from '../../src/server/config';
import { createLogger } from '../../src/server/log';
import { startServer, type RunningServer } from '../../src/server/server';
import { openStore } from '../../src/server/store';
import { assertOpenAIChunk, assertOpenAIError, assertOpenAIResponse } from '../helpers/openai-schema';
import { errorJson, postJson, sseEvents, usageJson } from './helpers/serve';

/** The whole gateway: config file, real routing core, an OpenAI-compatible emulator on 127.0.0.1. */

const UPSTREAM_KEY = 'sk-test-upstream-secret-000111';
const model = (key: string, price: number, quality: number) =>
  `  - { key: up/${key}, provider: up, model: ${key}, quality: ${quality}, context_window: 100000, max_output_tokens: 4096, pricing: { input: ${price}, output: ${price * 2} }, capabilities: { tools: true, json_schema: true, vision: false, streaming: true }, latency_prior: { ttft_ms: 100, tokens_per_second: 200 } }`;

function configText(models: string[]): string {
  return [
    'providers:',
    '  up:',
    '    type: openai-compatible',
    '    base_url: ${UP_URL}/v1',
    '    api_key: ${UP_KEY}',
    'models:',
    ...models,
    'routing:',
    '  retries_per_model: 0',
    '  backoff_base_ms: 1',
    '  backoff_max_ms: 5',
  ].join('\n');
}

/** Reads `events` events of a stream, then goes away like a client that closed its connection. */
async function readThenLeave(stream: AsyncIterable<unknown>, controller: AbortController, events: number): Promise<void> {
  let n = 0;
  for await (const _ of stream) {
    if (++n === events) break;
  }
  controller.abort();
}

const noOllama = async () => {
  throw new Error('connection refused');
};

describe('gateway end to end (openai-compatible upstream emulator)', () => {
  let dir: string;
  let upstream: MockUpstream;
  let gateway: RunningServer;
  let client: OpenAI;
  let logs: string[];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sy-e2e-'));
    upstream = await startMockUpstream();
    writeFileSync(join(dir, 'switchyard.yaml'), configText([model('fast', 0.1, 40), model('backup', 1, 80)]));
    logs = [];
    gateway = await startServer({
      cwd: dir,
      port: 0,
      env: { UP_URL: upstream.url, UP_KEY: UPSTREAM_KEY },
      storePath: join(dir, 'usage.sqlite'),
      logger: createLogger({ level: 'debug', write: (line) => logs.push(line) }),
      fetch: noOllama,
    });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'none', maxRetries: 0 });
  });

  afterEach(async () => {
    await gateway.shutdown();
    await upstream.close();
    await closeUpstreamPools();
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes auto:cost to the cheapest model, with the provider key sent upstream and never logged', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'auto:cost', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    assertOpenAIResponse(data);
    expect(response.headers.get('x-switchyard-model')).toBe('up/fast');
    expect(Number(response.headers.get('x-switchyard-cost-usd'))).toBeGreaterThan(0);
    expect(upstream.requests[0]!.headers.authorization).toBe(`Bearer ${UPSTREAM_KEY}`);
    expect(upstream.requests[0]!.model).toBe('fast');
    expect(gateway.host).toBe('127.0.0.1');
    expect(logs.join('\n')).not.toContain(UPSTREAM_KEY);
    expect(logs.some((l) => l.includes('127.0.0.1 only'))).toBe(true);
  });

  it('falls back to the next model when the first is overloaded, and says so', async () => {
    upstream.behaviour = (m) => (m === 'fast' ? { kind: 'status', status: 503 } : { kind: 'ok', text: 'from backup' });
    const { data, response } = await client.chat.completions.create({ model: 'auto:cost', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    expect(data.choices[0]!.message.content).toBe('from backup');
    expect(response.headers.get('x-switchyard-model')).toBe('up/backup');
    expect(response.headers.get('x-switchyard-attempts')).toBe('2');
    const story = (data as unknown as { switchyard: { attempts: Array<{ model: string; outcome: string }> } }).switchyard;
    expect(story.attempts.map((a) => `${a.model}:${a.outcome}`)).toEqual(['up/fast:overloaded', 'up/backup:ok']);
  });

  it('streams with the attempts and cache headers known when the stream starts', async () => {
    upstream.behaviour = (m) => (m === 'fast' ? { kind: 'status', status: 503 } : { kind: 'ok', text: 'from backup' });
    const { data, response } = await client.chat.completions.create({ model: 'auto:cost', messages: [{ role: 'user', content: 'Hi' }], stream: true }).withResponse();
    let text = '';
    for await (const c of data) text += c.choices[0]?.delta.content ?? '';
    expect(text).toBe('from backup');
    expect(response.headers.get('x-switchyard-model')).toBe('up/backup');
    expect(response.headers.get('x-switchyard-attempts')).toBe('2');
    expect(response.headers.get('x-switchyard-cache')).toBe('miss');
  });

  it('answers 502 with every attempt listed when all candidates fail, and 429 with Retry-After for rate limits', async () => {
    upstream.behaviour = () => ({ kind: 'status', status: 500 });
    const res = await postJson(`${gateway.url}/v1/chat/completions`, { model: 'auto:cost', messages: [{ role: 'user', content: 'Hi' }] });
    expect(res.status).toBe(502);
    const body = await errorJson(res);
    assertOpenAIError(body);
    expect(body.switchyard!.attempts.map((a) => a.model)).toEqual(['up/fast', 'up/backup']);
    expect(body.error.message).toMatch(/attempts failed/);
    expect(res.headers.get('x-switchyard-attempts')).toBe('2');
    // A stream that never started fails the same way: a JSON error, not an event stream.
    const streamed = await postJson(`${gateway.url}/v1/chat/completions`, { model: 'auto:cost', stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    expect(streamed.status).toBe(502);
    expect(streamed.headers.get('content-type')).toMatch(/^application\/json/);
    assertOpenAIError(await errorJson(streamed));

    upstream.behaviour = () => ({ kind: 'status', status: 429, headers: { 'retry-after': '3' }, body: { error: { message: 'slow down', type: 'requests', param: null, code: 'rate_limit_exceeded' } } });
    const limited = await postJson(`${gateway.url}/v1/chat/completions`, { model: 'up/fast', messages: [{ role: 'user', content: 'Hi' }] });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('streams with include_usage through the routing core', async () => {
    const stream = await client.chat.completions.create({ model: 'up/backup', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'Hi' }] });
    const chunks = [];
    for await (const c of stream) chunks.push(c);
    chunks.forEach((c) => assertOpenAIChunk(c));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toContain('Hello! This is a benchmark answer');
    const last = chunks.at(-1)!;
    expect(last.usage!.completion_tokens).toBeGreaterThan(10);
    expect((last as unknown as { switchyard: { model: string; cost_usd: number } }).switchyard).toMatchObject({ model: 'up/backup' });
  });

  it('relays content events exactly as an OpenAI-shaped upstream sent them (spacing, logprobs, extra fields)', async () => {
    // Python servers (vLLM, llama.cpp) put spaces after separators; OpenAI adds logprobs and obfuscation.
    const content = (text: string, finish: string | null) =>
      `{"id": "chatcmpl-py", "object": "chat.completion.chunk", "created": 1741569952, "model": "fast", "obfuscation": "aB3", "choices": [{"index": 0, "delta": {"content": "${text}"}, "logprobs": {"content": [{"token": "${text}", "logprob": -0.5, "bytes": null, "top_logprobs": []}]}, "finish_reason": ${finish === null ? 'null' : `"${finish}"`}}]}`;
    const data = [content('caf\\u00e9', null), content('!', 'stop')];
    upstream.behaviour = () => ({ kind: 'events', data: [...data, '{"id": "chatcmpl-py", "object": "chat.completion.chunk", "created": 1741569952, "model": "fast", "choices": [], "usage": {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}}'] });
    const res = await postJson(`${gateway.url}/v1/chat/completions`, { model: 'up/fast', stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    const received = sseEvents(await res.text());
    expect(received.slice(0, 2)).toEqual(data);
    expect(received.at(-1)).toBe('[DONE]');
    // Priced from the upstream's usage event: 5 input tokens at $0.1/M, 2 output at $0.2/M.
    const story = JSON.parse(received.at(-2)!.replace(/^: switchyard /, '')) as { cost_usd: number };
    expect(story.cost_usd).toBeCloseTo(5 * 0.1e-6 + 2 * 0.2e-6, 12);
  });

  it('ends the stream with an error event when the upstream dies after content', async () => {
    upstream.behaviour = () => ({ kind: 'die', chunks: 4 });
    const res = await postJson(`${gateway.url}/v1/chat/completions`, { model: 'up/fast', stream: true, messages: [{ role: 'user', content: 'Hi' }] });
    const events = sseEvents(await res.text());
    expect(events).not.toContain('[DONE]');
    const last = JSON.parse(events.at(-1)!);
    assertOpenAIError(last);
    expect(events.length).toBeGreaterThan(2);
    // The story travels with the error: which model, the attempt that failed, what was sent cost.
    expect(last.switchyard).toMatchObject({ model: 'up/fast', attempts: [expect.objectContaining({ model: 'up/fast', outcome: 'upstream_error' })], usage_estimated: true });
    expect(last.switchyard.cost_usd).toBeGreaterThan(0);
    expect(events.some((e) => e.startsWith(':') && e.includes('switchyard {'))).toBe(true);
  });

  it('aborts the upstream stream when the client disconnects', async () => {
    upstream.behaviour = () => ({ kind: 'endless', intervalMs: 5 });
    const controller = new AbortController();
    const stream = await client.chat.completions.create({ model: 'up/fast', stream: true, messages: [{ role: 'user', content: 'Hi' }] }, { signal: controller.signal });
    await readThenLeave(stream, controller, 3);
    for (let i = 0; i < 200 && upstream.abortedResponses === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(upstream.abortedResponses).toBe(1);
  });

  it("charges a key for a stream it walked away from, on an estimate when the upstream reported no usage", async () => {
    const { key, record } = gateway.store.keys.create({ name: 'walker', daily_budget_usd: 5 });
    const keyed = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
    upstream.behaviour = () => ({ kind: 'endless', intervalMs: 5 });
    const controller = new AbortController();
    const stream = await keyed.chat.completions.create({ model: 'up/fast', stream: true, messages: [{ role: 'user', content: 'Hi' }] }, { signal: controller.signal });
    await readThenLeave(stream, controller, 3);
    const mine = async () => (await usageJson(await fetch(`${gateway.url}/v1/usage?group_by=key`, { headers: { authorization: `Bearer ${key}` } }))).data;
    let rows = await mine();
    for (let i = 0; i < 200 && rows.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      rows = await mine();
    }
    expect(rows).toEqual([expect.objectContaining({ group: record.id, calls: 1 })]);
    expect(rows[0]!.cost_usd).toBeGreaterThan(0);
    const info = gateway.store.keys.list().find((k) => k.id === record.id)!;
    expect(info.spend_today_usd).toBeGreaterThan(0);
  });

  it('reserves the most a call can cost against a budget, so concurrent calls cannot overspend it', async () => {
    // up/fast: $0.2 per 1M output tokens, 4096 at most: without max_tokens a call may cost ~$0.00082.
    const { key } = gateway.store.keys.create({ name: 'tight', daily_budget_usd: 0.002 });
    upstream.behaviour = () => ({ kind: 'ok', delayMs: 200 });
    const ask = (extra: Record<string, unknown> = {}) =>
      postJson(`${gateway.url}/v1/chat/completions`, { model: 'up/fast', messages: [{ role: 'user', content: 'Hi' }], ...extra }, { authorization: `Bearer ${key}` });
    const unbounded = await Promise.all([1, 2, 3, 4, 5].map(() => ask()));
    expect(unbounded.map((r) => r.status).sort()).toEqual([200, 200, 429, 429, 429]);
    const refused = await errorJson(unbounded.find((r) => r.status === 429)!);
    expect(refused.error.message).toMatch(/may cost up to \$0\.000\d+ with its output limit \(set a lower max_tokens/);
    // A bound on the answer bounds the reservation: now all of them fit.
    const bounded = await Promise.all([1, 2, 3, 4, 5].map(() => ask({ max_tokens: 100 })));
    expect(bounded.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
  });

  it('keeps requiring keys after every key is revoked: revoking a leaked key never opens the gateway', async () => {
    const { record } = gateway.store.keys.create({ name: 'leaked' });
    gateway.store.keys.revoke(record.id);
    const anonymous = () => postJson(`${gateway.url}/v1/chat/completions`, { model: 'up/fast', messages: [{ role: 'user', content: 'Hi' }] });
    let res = await anonymous();
    // The server looks at the key table at most once a second.
    for (let i = 0; i < 30 && res.status !== 401; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await anonymous();
    }
    expect(res.status).toBe(401);
  });

  it('charges a key for the prompt of a non-streaming call it abandoned while the upstream worked on it', async () => {
    const { key, record } = gateway.store.keys.create({ name: 'quitter', daily_budget_usd: 5 });
    const keyed = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
    upstream.behaviour = () => ({ kind: 'ok', delayMs: 60_000 });
    const controller = new AbortController();
    const call = keyed.chat.completions.create({ model: 'up/fast', messages: [{ role: 'user', content: 'a long question' }] }, { signal: controller.signal }).catch((e: unknown) => e);
    while (upstream.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    controller.abort();
    expect(await call).toBeInstanceOf(Error);
    let info = gateway.store.keys.list().find((k) => k.id === record.id)!;
    for (let i = 0; i < 200 && info.spend_today_usd === 0; i++) {
      await new Promise((r) => setTimeout(r, 10));
      info = gateway.store.keys.list().find((k) => k.id === record.id)!;
    }
    expect(info.spend_today_usd).toBeGreaterThan(0);
    const rows = (await usageJson(await fetch(`${gateway.url}/v1/usage?group_by=model`, { headers: { authorization: `Bearer ${key}` } }))).data;
    expect(rows).toEqual([expect.objectContaining({ group: 'up/fast', calls: 1, errors: 1 })]);
  });

  it("keeps a key inside its allow-list even when a rule's use list names other models, and tells the story the caller asked for", async () => {
    const rule = ['  rules:', '    - { name: analysis, when: { prompt_matches: "analy[sz]e" }, use: [up/backup, up/fast] }'];
    writeFileSync(join(dir, 'switchyard.yaml'), [configText([model('fast', 0.1, 40), model('backup', 1, 80)]), ...rule].join('\n'));
    expect((await gateway.reload()).ok).toBe(true);
    const { key } = gateway.store.keys.create({ name: 'fast-only', allowed_models: ['up/fast'] });
    const keyed = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });

    const answer = (await keyed.chat.completions.create({ model: 'auto:quality', messages: [{ role: 'user', content: 'analyse this' }] })) as unknown as {
      switchyard: { model: string; requested_model: string; prefer: string; reason: string };
    };
    expect(upstream.requests.map((r) => r.model)).toEqual(['fast']);
    expect(answer.switchyard).toMatchObject({ model: 'up/fast', requested_model: 'auto:quality', prefer: 'quality' });
    expect(answer.switchyard.reason).not.toMatch(/You asked for up\/fast/);
    const plan = (await postJson(`${gateway.url}/v1/chat/completions`, { model: 'auto', messages: [{ role: 'user', content: 'analyze' }], routing: { max_cost_usd: 1e-12 } }, { authorization: `Bearer ${key}` }));
    // Nothing fits the cost cap: the router says so (400), the allow-list has nothing to judge (not 403).
    expect(plan.status).toBe(400);
    expect((await errorJson(plan)).error.code).toBe('no_model_available');
  });

  it('records usage rows and flushes them all on graceful shutdown', async () => {
    for (let i = 0; i < 5; i++) await client.chat.completions.create({ model: 'auto:cost', messages: [{ role: 'user', content: `q${i}` }] });
    await postJson(`${gateway.url}/v1/chat/completions`, { model: 'auto', messages: 'nope' });
    const usage = await usageJson(await fetch(`${gateway.url}/v1/usage?group_by=model`));
    expect(usage.data.find((r) => r.group === 'up/fast')!.calls).toBe(5);
    await gateway.shutdown();
    const store = openStore(join(dir, 'usage.sqlite'));
    try {
      const rows = store.usage.aggregate({ group_by: 'model' });
      expect(rows.reduce((n, r) => n + r.calls, 0)).toBe(6);
    } finally {
      await store.close();
    }
  });

  it('reloads the configuration: in-flight requests finish on the old one, new ones use the new one', async () => {
    upstream.behaviour = (m) => ({ kind: 'ok', text: `answer from ${m}`, delayMs: m === 'fast' ? 150 : 0 });
    const inFlight = client.chat.completions.create({ model: 'auto:cost', messages: [{ role: 'user', content: 'slow' }] });
    while (upstream.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    const old = gateway.holder.current;
    writeFileSync(join(dir, 'switchyard.yaml'), configText([model('cheaper', 0.01, 30), model('backup', 1, 80)]));
    const result = await gateway.reload();
    expect(result).toMatchObject({ ok: true, providers: ['up'] });
    expect(gateway.holder.current).not.toBe(old);
    const next = await client.chat.completions.create({ model: 'auto:cost', messages: [{ role: 'user', content: 'new' }] });
    expect(next.choices[0]!.message.content).toBe('answer from cheaper');
    expect((await inFlight).choices[0]!.message.content).toBe('answer from fast');
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toContain('up/cheaper');
    expect(ids).not.toContain('up/fast');

    writeFileSync(join(dir, 'switchyard.yaml'), 'routing:\n  retries_per_model: 99\n');
    const failed = await gateway.reload();
    expect(failed.ok).toBe(false);
    expect(!failed.ok && failed.problems[0]).toMatch(/^routing\.retries_per_model: /);
    expect((await client.chat.completions.create({ model: 'auto:cost', messages: [{ role: 'user', content: 'still' }] })).choices[0]!.message.content).toBe('answer from cheaper');
  });

  it('applies a reloaded shutdown timeout and names the reloaded settings that need a restart', async () => {
    const restartOnly = ['server:', '  shutdown_timeout_ms: 50', '  body_limit: 1mb', 'webhooks:', '  workers: 2'];
    writeFileSync(join(dir, 'switchyard.yaml'), [configText([model('fast', 0.1, 40)]), ...restartOnly].join('\n'));
    expect((await gateway.reload()).ok).toBe(true);
    const warning = logs.map((l) => JSON.parse(l) as { msg: string; settings?: string[] }).find((l) => l.msg.includes('only after a restart'));
    expect(warning?.settings).toEqual(['server.body_limit', 'webhooks']);

    // An answer that never comes: with the default 30 s timeout the shutdown below would wait for it.
    upstream.behaviour = () => ({ kind: 'ok', delayMs: 60_000 });
    const stuck = client.chat.completions.create({ model: 'auto:cost', messages: [{ role: 'user', content: 'slow' }] }).catch((err: unknown) => err);
    while (upstream.requests.length === 0) await new Promise((r) => setTimeout(r, 5));
    await gateway.shutdown();
    expect(logs.some((l) => l.includes('shutdown timeout: closing the remaining connections'))).toBe(true);
    expect(await stuck).toBeInstanceOf(Error);
  });

  it('serves /metrics with chat, token and circuit series', async () => {
    await client.chat.completions.create({ model: 'auto:cost', messages: [{ role: 'user', content: 'Hi' }] });
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(text).toContain('switchyard_chat_requests_total{model="up/fast",provider="up",status="200",stream="false"} 1');
    expect(text).toMatch(/switchyard_circuit_open\{model="up\/fast",provider="up"\} 0/);
    expect(text).toContain('process_resident_memory_bytes');
  });
});

describe('out of the box: no keys, no config', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'sy-ootb-'))));
  afterEach(async () => {
    await closeUpstreamPools();
    rmSync(dir, { recursive: true, force: true });
  });

  it('uses the demo provider when no Ollama answers, on 127.0.0.1, and says so', async () => {
    const logs: string[] = [];
    const gateway = await startServer({ cwd: dir, port: 0, env: {}, storePath: ':memory:', fetch: noOllama, logger: createLogger({ write: (l) => logs.push(l) }) });
    try {
      expect(gateway.mode).toBe('demo');
      expect(gateway.host).toBe('127.0.0.1');
      expect(logs.join('')).toContain('built-in demo provider');
      const client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'none', maxRetries: 0 });
      const ids = (await client.models.list()).data.map((m) => m.id);
      expect(ids).toEqual(expect.arrayContaining(['auto', 'demo/mini', 'demo/standard', 'demo/pro']));
      const res = await client.chat.completions.create({ model: 'demo/mini', messages: [{ role: 'user', content: 'Hello there' }] });
      expect(res.choices[0]!.message.content).toMatch(/^\[simulated by Switchyard demo\/mini\] /);
    } finally {
      await gateway.shutdown();
    }
  });

  it('shows fallback, cost and usage with simulated failures of the demo models', async () => {
    writeFileSync(join(dir, 'switchyard.yaml'), 'server:\n  demo: { failure_rate: 0.3, latency_scale: 0, seed: 42 }\nrouting:\n  backoff_base_ms: 1\n  backoff_max_ms: 2\n');
    const gateway = await startServer({ cwd: dir, port: 0, env: {}, storePath: ':memory:', fetch: noOllama, logger: createLogger({ level: 'silent' }) });
    try {
      const attempts: number[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await postJson(`${gateway.url}/v1/chat/completions`, { model: 'auto:cost', messages: [{ role: 'user', content: `question ${i}` }] });
        expect(res.status).toBe(200);
        attempts.push(Number(res.headers.get('x-switchyard-attempts')));
        expect(Number(res.headers.get('x-switchyard-cost-usd'))).toBeGreaterThan(0);
      }
      expect(attempts.some((n) => n > 1)).toBe(true);
      const usage = await usageJson(await fetch(`${gateway.url}/v1/usage?group_by=provider`));
      expect(usage.data[0]).toMatchObject({ group: 'demo', calls: 20 });
      expect(usage.data[0]!.fallbacks).toBeGreaterThan(0);
    } finally {
      await gateway.shutdown();
    }
  });

  it('uses a local Ollama when one answers the probe', async () => {
    const probed: string[] = [];
    const ollama = async (url: string) => {
      probed.push(url);
      return { ok: true, json: async () => ({ models: [{ name: 'qwen3:0.6b', model: 'qwen3:0.6b' }, { name: 'llama3.2:latest', model: 'llama3.2:latest' }] }) };
    };
    const gateway = await startServer({ cwd: dir, port: 0, env: {}, storePath: ':memory:', fetch: ollama, logger: createLogger({ level: 'silent' }) });
    try {
      expect(gateway.mode).toBe('ollama');
      expect(probed).toEqual(['http://localhost:11434/api/tags']);
      const ids = gateway.holder.current.models().map((m) => m.key);
      expect(ids).toContain('ollama/qwen3:0.6b');
      expect(ids.filter((k) => k.startsWith('ollama/llama3.2'))).toHaveLength(1);
    } finally {
      await gateway.shutdown();
    }
  });

  it('fails to start on an invalid configuration, listing every problem', async () => {
    writeFileSync(join(dir, 'switchyard.yaml'), 'server:\n  port: -1\nrouting:\n  max_attempts: 0\n');
    const err = (await startServer({ cwd: dir, env: {}, storePath: ':memory:', fetch: noOllama }).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.problems).toEqual([expect.stringMatching(/^routing\.max_attempts: /), expect.stringMatching(/^server\.port: /)]);
  });
});
