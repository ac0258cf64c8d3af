import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { startMockUpstream, type MockUpstream } from '../../src/bench/mock-upstream';
import { closeUpstreamPools } from '../../src/core/http';
import { createLogger } from '../../src/server/log';
import { startServer, type RunningServer } from '../../src/server/server';
import { openStore } from '../../src/server/store';
import { errorJson, postJson, signalHandlersUntilExit } from './helpers/serve';

/** Signals, draining, budgets and the response cache through the whole server (config file, routing core, emulator). */

const model = (key: string, price: number, quality: number) =>
  `  - { key: up/${key}, provider: up, model: ${key}, quality: ${quality}, context_window: 100000, max_output_tokens: 4096, pricing: { input: ${price}, output: ${price * 2} }, capabilities: { tools: true, json_schema: true, vision: false, streaming: true }, latency_prior: { ttft_ms: 100, tokens_per_second: 200 } }`;

function configText(models: string[], extra: string[] = []): string {
  return ['providers:', '  up:', '    type: openai-compatible', '    base_url: ${UP_URL}/v1', '    api_key: sk-test-upstream-1', 'models:', ...models, 'routing:', '  retries_per_model: 0', ...extra].join('\n');
}

const noOllama = async () => {
  throw new Error('connection refused');
};

/** A GET (or a JSON POST with `body`) over a given agent, so a test controls which kept-alive connection carries it. */
function send(url: string, agent: Agent, body?: unknown): Promise<{ status: number; body: string; connection?: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const headers = payload === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)) };
    const req = httpRequest(url, { agent, method: payload === undefined ? 'GET' : 'POST', headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

describe('server lifecycle and limits', () => {
  let dir: string;
  let upstream: MockUpstream;
  let gateway: RunningServer;
  let client: OpenAI;

  async function start(config: string): Promise<void> {
    writeFileSync(join(dir, 'switchyard.yaml'), config);
    gateway = await startServer({ cwd: dir, port: 0, env: { UP_URL: upstream.url }, storePath: join(dir, 'usage.sqlite'), logger: createLogger({ level: 'silent' }), fetch: noOllama });
    client = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'none', maxRetries: 0 });
  }

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sy-life-'));
    upstream = await startMockUpstream();
  });
  afterEach(async () => {
    await gateway.shutdown();
    await upstream.close();
    await closeUpstreamPools();
    rmSync(dir, { recursive: true, force: true });
  });

  it('wires SIGHUP to reload and SIGTERM/SIGINT to a graceful shutdown, then exit(0)', async () => {
    await start(configText([model('fast', 0.1, 40)]));
    const before = { hup: process.listeners('SIGHUP'), term: process.listeners('SIGTERM'), int: process.listeners('SIGINT') };
    const { exits, exited } = signalHandlersUntilExit(gateway);
    // Only the listeners it added are called: other SIGTERM listeners of the test process stay untouched.
    const added = (signal: 'SIGHUP' | 'SIGTERM' | 'SIGINT', old: NodeJS.SignalsListener[]) => process.listeners(signal).filter((l) => !old.includes(l));
    expect(added('SIGINT', before.int)).toHaveLength(1);

    writeFileSync(join(dir, 'switchyard.yaml'), configText([model('cheaper', 0.01, 30)]));
    const old = gateway.holder.current;
    process.emit('SIGHUP', 'SIGHUP');
    for (let i = 0; i < 200 && gateway.holder.current === old; i++) await new Promise((r) => setTimeout(r, 5));
    expect(gateway.holder.current.models().map((m) => m.key)).toEqual(['up/cheaper']);

    for (const listener of added('SIGTERM', before.term)) listener('SIGTERM');
    await exited;
    expect(exits).toEqual([0]);
    expect(gateway.server.listening).toBe(false);
    expect(process.listeners('SIGHUP')).toEqual(before.hup);
    expect(process.listeners('SIGTERM')).toEqual(before.term);
  });

  it('drains on shutdown: a stream in flight finishes 200 with its usage row stored; /readyz answers 503 to clients that still reach it', async () => {
    await start(configText([model('fast', 0.1, 40), model('slow', 0.1, 40)]));
    upstream.behaviour = (m) => (m === 'slow' ? { kind: 'ok', delayMs: 60 } : { kind: 'ok', chunkDelayMs: 20 });
    // A kept-alive connection that is busy when the shutdown begins, so it stays open while draining.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const stream = await client.chat.completions.create({ model: 'up/fast', stream: true, messages: [{ role: 'user', content: 'Hi' }] });
      const parts: string[] = [];
      let shuttingDown: Promise<void> | undefined;
      let readyDuringDrain: { status: number; body: string; connection?: string } | undefined;
      for await (const chunk of stream) {
        parts.push(chunk.choices[0]?.delta.content ?? '');
        if (shuttingDown) continue;
        const slow = send(`${gateway.url}/v1/chat/completions`, agent, { model: 'up/slow', messages: [{ role: 'user', content: 'Hi' }] });
        while (upstream.requests.length < 2) await new Promise((r) => setTimeout(r, 5));
        shuttingDown = gateway.shutdown();
        expect((await slow).status).toBe(200);
        readyDuringDrain = await send(`${gateway.url}/readyz`, agent);
      }
      expect(parts.join('')).toContain('Hello! This is a benchmark answer');
      await shuttingDown;
      // The probe learns the instance is going away, and its connection is released.
      expect(readyDuringDrain).toMatchObject({ status: 503, connection: 'close' });
      expect(JSON.parse(readyDuringDrain!.body)).toMatchObject({ status: 'draining' });
    } finally {
      agent.destroy();
    }
    const store = openStore(join(dir, 'usage.sqlite'));
    try {
      const rows = store.usage.aggregate({ group_by: 'model' });
      expect(rows).toEqual(expect.arrayContaining([expect.objectContaining({ group: 'up/fast', calls: 1, errors: 0 }), expect.objectContaining({ group: 'up/slow', calls: 1, errors: 0 })]));
      expect(rows).toHaveLength(2);
    } finally {
      await store.close();
    }
  });

  it('refuses a request over a key\'s budget with 429 insufficient_quota and Retry-After, and records it', async () => {
    await start(configText([model('fast', 0.1, 40)]));
    const { key, record } = gateway.store.keys.create({ name: 'tiny', daily_budget_usd: 0.000001 });
    const res = await postJson(`${gateway.url}/v1/chat/completions`, { model: 'up/fast', messages: [{ role: 'user', content: 'Hi' }] }, { authorization: `Bearer ${key}` });
    expect(res.status).toBe(429);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
    const body = await errorJson(res);
    expect(body.error).toMatchObject({ type: 'budget_exceeded', code: 'insufficient_quota' });
    expect(body.error.message).toContain('daily budget');
    expect(upstream.requests).toHaveLength(0);
    const withKey = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: key, maxRetries: 0 });
    await expect(withKey.chat.completions.create({ model: 'up/fast', messages: [{ role: 'user', content: 'Hi' }] })).rejects.toMatchObject({ status: 429, code: 'insufficient_quota' });
    expect(gateway.store.usage.aggregate({ group_by: 'key' })).toEqual([expect.objectContaining({ group: record.id, calls: 2, errors: 2, cost_usd: 0 })]);
  });

  it('serves a cached answer the second time: header, story, usage cache_hits and metrics counter', async () => {
    await start(configText([model('fast', 0.1, 40)], ['cache:', '  temperature_zero: false']));
    const request = { model: 'up/fast', messages: [{ role: 'user' as const, content: 'Cache me' }], routing: { cache: true } };
    const first = await client.chat.completions.create(request as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
    expect(first.response.headers.get('x-switchyard-cache')).toBe('miss');
    const second = await client.chat.completions.create(request as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
    expect(second.response.headers.get('x-switchyard-cache')).toBe('hit');
    expect((second.data as unknown as { switchyard: { cached: boolean } }).switchyard.cached).toBe(true);
    expect(second.data.choices[0]!.message.content).toBe(first.data.choices[0]!.message.content);
    expect(upstream.requests).toHaveLength(1);
    expect(gateway.store.usage.aggregate({ group_by: 'model' })).toEqual([expect.objectContaining({ group: 'up/fast', calls: 2, cache_hits: 1 })]);
    const metrics = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(metrics).toMatch(/^switchyard_cache_hits_total 1$/m);
  });
});
