import OpenAI from 'openai';
import { GatewayError, ProviderError } from '../../src/core/errors';
import { openStore, type Store } from '../../src/server/store';
import { createAccessControl } from '../../src/server/access';
import { rememberAttempts } from '../../src/server/story';
import { assertOpenAIChunk, assertOpenAIError, assertOpenAIResponse } from '../helpers/openai-schema';
import { chunk, FakeSwitchyard, makeStory, streamOf, usageChunk } from './helpers/fake-switchyard';
import { errorJson, postJson, serveApp, sseEvents, usageJson, type Served } from './helpers/serve';

const hello = { model: 'auto', messages: [{ role: 'user' as const, content: 'Hi' }] };

describe('gateway app (fake Switchyard, real socket, OpenAI SDK client)', () => {
  let fake: FakeSwitchyard;
  let served: Served;

  beforeEach(async () => {
    fake = new FakeSwitchyard();
    served = await serveApp(fake);
  });
  afterEach(() => served.close());

  it('answers a chat completion with the story in headers and a switchyard object', async () => {
    const { data, response } = await served.client.chat.completions.create(hello).withResponse();
    assertOpenAIResponse(data);
    expect(data.choices[0]!.message.content).toBe('echo: 1 message(s)');
    expect(response.headers.get('x-switchyard-model')).toBe('fake/small');
    expect(response.headers.get('x-switchyard-provider')).toBe('fake');
    expect(response.headers.get('x-switchyard-attempts')).toBe('1');
    expect(response.headers.get('x-switchyard-cost-usd')).toBe('0.000123');
    expect(response.headers.get('x-switchyard-cache')).toBe('miss');
    const story = (data as unknown as { switchyard: Record<string, unknown> }).switchyard;
    expect(story).toMatchObject({ model: 'fake/small', provider: 'fake', cost_usd: 0.000123, cached: false, reason: 'cheapest capable model', latency_ms: 15 });
    expect(story.attempts).toEqual([{ model: 'fake/small', provider: 'fake', outcome: 'ok', latency_ms: 12 }]);
  });

  it('streams chunks, then [DONE], with usage only when include_usage is asked', async () => {
    const plain = await served.client.chat.completions.create({ ...hello, stream: true });
    const chunks = [];
    for await (const c of plain) chunks.push(c);
    chunks.forEach((c) => assertOpenAIChunk(c));
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello');
    expect(chunks.some((c) => c.usage)).toBe(false);

    const withUsage = await served.client.chat.completions.create({ ...hello, stream: true, stream_options: { include_usage: true } });
    const all = [];
    for await (const c of withUsage) all.push(c);
    all.forEach((c) => assertOpenAIChunk(c));
    const last = all.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 });
    expect((last as unknown as { switchyard: { model: string } }).switchyard.model).toBe('fake/small');
  });

  it('sends the stream on the wire as data events, a story comment and [DONE], with model headers', async () => {
    const res = await postJson(`${served.url}/v1/chat/completions`, { ...hello, stream: true });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(res.headers.get('x-switchyard-model')).toBe('fake/small');
    const events = sseEvents(await res.text());
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.at(-2)).toMatch(/^: switchyard \{/);
    for (const e of events.slice(0, -2)) assertOpenAIChunk(JSON.parse(e));
  });

  it('passes tools and json_schema requests through and returns the tool call', async () => {
    fake.chatScript = async (req) => ({
      response: {
        id: 'chatcmpl-t',
        object: 'chat.completion',
        created: 1,
        model: 'small',
        choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, finish_reason: 'tool_calls', logprobs: null }],
      },
      story: makeStory({ requestedModel: req.model }),
    });
    const res = await served.client.chat.completions.create({
      ...hello,
      tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }],
      response_format: { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' } } },
    });
    assertOpenAIResponse(res);
    expect(res.choices[0]!.message.tool_calls![0]).toMatchObject({ function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect(fake.requests[0]!.tools![0]!.function.name).toBe('get_weather');
    expect(fake.requests[0]!.response_format).toMatchObject({ type: 'json_schema' });
  });

  it('validates the body: 400 naming the field, in OpenAI error shape', async () => {
    const err = await served.client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'x' }], temperature: 7 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.APIError>).param).toBe('temperature');
    const res = await postJson(`${served.url}/v1/chat/completions`, { model: 'auto', messages: [] });
    const body = await errorJson(res);
    assertOpenAIError(body);
    expect(res.status).toBe(400);
    expect(body.error.param).toBe('messages');
    expect(body.error.message).toContain("'messages'");
    expect(fake.requests).toHaveLength(0);
  });

  it('parses and validates the x-switchyard-route header into routing', async () => {
    await served.client.chat.completions.create({ ...hello, routing: { max_cost_usd: 0.5 } } as never, { headers: { 'x-switchyard-route': '{"prefer":"cost","max_cost_usd":1}' } });
    expect(fake.requests[0]!.routing).toEqual({ prefer: 'cost', max_cost_usd: 0.5 });
    const bad = await postJson(`${served.url}/v1/chat/completions`, hello, { 'x-switchyard-route': '{"prefer":"cheap"}' });
    expect(bad.status).toBe(400);
    expect((await errorJson(bad)).error.param).toBe('x-switchyard-route.prefer');
    const notJson = await postJson(`${served.url}/v1/chat/completions`, hello, { 'x-switchyard-route': 'prefer=cost' });
    expect(notJson.status).toBe(400);
    expect((await errorJson(notJson)).error).toMatchObject({ param: 'x-switchyard-route', code: 'invalid_header' });
    for (const value of ['"cost"', '[]', 'null']) {
      const notObject = await postJson(`${served.url}/v1/chat/completions`, hello, { 'x-switchyard-route': value });
      expect((await errorJson(notObject)).error).toMatchObject({ param: 'x-switchyard-route', code: 'invalid_header' });
    }
  });

  it('answers malformed JSON with 400 and an oversized body with 413', async () => {
    const malformed = await postJson(`${served.url}/v1/chat/completions`, '{"model": "auto", "messages": [');
    expect(malformed.status).toBe(400);
    const m = await errorJson(malformed);
    assertOpenAIError(m);
    expect(m.error.code).toBe('invalid_json');

    const huge = await postJson(`${served.url}/v1/chat/completions`, { ...hello, messages: [{ role: 'user', content: 'x'.repeat(1_100_000) }] });
    expect(huge.status).toBe(413);
    const h = await errorJson(huge);
    assertOpenAIError(h);
    expect(h.error.message).toContain('1mb');
  });

  it('answers an unknown model with 404 and an unknown route with 404', async () => {
    const err = await served.client.chat.completions.create({ ...hello, model: 'nope/model' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.NotFoundError);
    expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe('model_not_found');
    const res = await fetch(`${served.url}/v1/embeddings`, { method: 'POST' });
    expect(res.status).toBe(404);
    const body = await errorJson(res);
    assertOpenAIError(body);
    expect(body.error.code).toBe('unknown_route');
  });

  it('reports upstream failures after fallback with their status and every attempt', async () => {
    const attempts = [
      { key: 'fake/small', provider: 'fake', outcome: 'overloaded' as const, latencyMs: 5, status: 503, message: 'busy' },
      { key: 'fake/large', provider: 'fake', outcome: 'upstream_error' as const, latencyMs: 7, status: 500, message: 'boom' },
    ];
    fake.chatScript = async () => {
      const err = new GatewayError(502, 'all 2 attempts failed: fake/small overloaded; fake/large upstream_error', { code: 'upstream_error' });
      rememberAttempts(err, attempts);
      throw err;
    };
    const res = await postJson(`${served.url}/v1/chat/completions`, hello);
    expect(res.status).toBe(502);
    expect(res.headers.get('x-switchyard-attempts')).toBe('2');
    const body = await errorJson(res);
    assertOpenAIError(body);
    expect(body.switchyard!.attempts.map((a) => `${a.model}:${a.outcome}`)).toEqual(['fake/small:overloaded', 'fake/large:upstream_error']);

    fake.chatScript = async () => {
      throw new ProviderError({ kind: 'overloaded', provider: 'fake', message: 'try later', status: 503 });
    };
    expect((await postJson(`${served.url}/v1/chat/completions`, hello)).status).toBe(503);
    fake.chatScript = async () => {
      throw new ProviderError({ kind: 'timeout', provider: 'fake', message: 'slow' });
    };
    expect((await postJson(`${served.url}/v1/chat/completions`, hello)).status).toBe(504);
  });

  it('answers 429 with Retry-After', async () => {
    fake.chatScript = async () => {
      throw new ProviderError({ kind: 'rate_limited', provider: 'fake', message: 'slow down', status: 429, retryAfterMs: 2000 });
    };
    const res = await postJson(`${served.url}/v1/chat/completions`, hello);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toBe('2');
    assertOpenAIError(await errorJson(res));
  });

  it('ends a stream that fails after content with an error event, never a clean [DONE]', async () => {
    const partial = new ProviderError({ kind: 'upstream_error', provider: 'fake', message: 'stream interrupted after content was sent: socket hang up', partial: true });
    fake.streamScript = async (req) => streamOf([chunk({ role: 'assistant', content: '' }), chunk({ content: 'Hel' }), partial], makeStory({ requestedModel: req.model }));
    const res = await postJson(`${served.url}/v1/chat/completions`, { ...hello, stream: true });
    expect(res.status).toBe(200);
    const events = sseEvents(await res.text());
    expect(events).not.toContain('[DONE]');
    const last = JSON.parse(events.at(-1)!);
    assertOpenAIError(last);
    expect(last.error.message).toContain('stream interrupted');
    for (const e of events.slice(0, -1).filter((x) => !x.startsWith(':'))) assertOpenAIChunk(JSON.parse(e));

    const stream = await served.client.chat.completions.create({ ...hello, stream: true });
    await expect(
      (async () => {
        for await (const _ of stream) void _;
      })(),
    ).rejects.toThrow(/stream interrupted/);
  });

  it('aborts the upstream call when the client disconnects', async () => {
    let aborted!: () => void;
    const sawAbort = new Promise<void>((resolve) => (aborted = resolve));
    fake.streamScript = async (req, opts) => {
      opts.signal!.addEventListener('abort', () => aborted(), { once: true });
      async function* forever() {
        yield chunk({ role: 'assistant', content: 'first' });
        await new Promise((_, reject) => opts.signal!.addEventListener('abort', () => reject(new Error('aborted')), { once: true }));
      }
      return { model: 'fake/small', provider: 'fake', attempts: 1, cached: false, chunks: forever(), story: Promise.resolve(makeStory({ requestedModel: req.model })) };
    };
    const controller = new AbortController();
    const stream = await served.client.chat.completions.create({ ...hello, stream: true }, { signal: controller.signal });
    for await (const c of stream) {
      expect(c.choices[0]!.delta.content).toBe('first');
      controller.abort();
      break;
    }
    await sawAbort;
    expect(fake.signals[0]!.aborted).toBe(true);
  });

  it('lists the catalog plus the auto models in OpenAI list shape', async () => {
    const page = await served.client.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toEqual(['auto', 'auto:cost', 'auto:latency', 'auto:quality', 'auto:balanced', 'fake/small', 'fake/large']);
    expect(page.data[5]).toMatchObject({ object: 'model', owned_by: 'fake' });
    const one = await served.client.models.retrieve('fake/large');
    expect(one.id).toBe('fake/large');
    const missing = await fetch(`${served.url}/v1/models/none/such`);
    expect(missing.status).toBe(404);
  });

  it('reports health, readiness and Prometheus metrics', async () => {
    expect(await (await fetch(`${served.url}/healthz`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${served.url}/readyz`)).json()).toEqual({ status: 'ready', models: 2 });
    await served.client.chat.completions.create(hello);
    await postJson(`${served.url}/v1/chat/completions`, { model: 'auto' });
    const text = await (await fetch(`${served.url}/metrics`)).text();
    expect(text).toMatch(/switchyard_chat_requests_total\{model="fake\/small",provider="fake",status="200",stream="false"\} 1/);
    expect(text).toMatch(/switchyard_chat_requests_total\{model="none",provider="none",status="400",stream="false"\} 1/);
    expect(text).toMatch(/switchyard_tokens_total\{model="fake\/small",provider="fake",type="completion"\} 7/);
    expect(text).toMatch(/switchyard_cost_usd_total\{model="fake\/small",provider="fake"\} 0\.000123/);
    expect(text).toMatch(/switchyard_chat_duration_seconds_bucket/);
    expect(text).toMatch(/switchyard_upstream_attempts_total\{model="fake\/small",provider="fake",outcome="ok"\} 1/);
    served.app.health.draining = true;
    expect((await fetch(`${served.url}/readyz`)).status).toBe(503);
  });
});

describe('gateway app with keys, usage and limits wired in', () => {
  let store: Store;
  let served: Served;
  let fake: FakeSwitchyard;

  beforeEach(async () => {
    store = openStore(':memory:', { flushIntervalMs: 10 });
    fake = new FakeSwitchyard();
    const access = createAccessControl({ store, requireKeys: () => store.keys.count() > 0 });
    served = await serveApp(fake, { store, access });
  });
  afterEach(async () => {
    await served.close();
    await store.close();
  });

  it('is open while no key exists, then requires one; a key over its rate limit gets 429 with Retry-After', async () => {
    expect((await postJson(`${served.url}/v1/chat/completions`, hello)).status).toBe(200);
    const { key } = store.keys.create({ name: 'ci', requests_per_minute: 1 });
    const anonymous = await postJson(`${served.url}/v1/chat/completions`, hello);
    expect(anonymous.status).toBe(401);
    assertOpenAIError(await errorJson(anonymous));
    const client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: key, maxRetries: 0 });
    const ok = await client.chat.completions.create(hello);
    expect(ok.choices[0]!.message.content).toBe('echo: 1 message(s)');
    const limited = await postJson(`${served.url}/v1/chat/completions`, hello, { authorization: `Bearer ${key}` });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('restricts routing to the models a key allows', async () => {
    const { key } = store.keys.create({ name: 'small-only', allowed_models: ['fake/small'] });
    await postJson(`${served.url}/v1/chat/completions`, hello, { authorization: `Bearer ${key}` });
    expect(fake.givenPlans[0]!.candidates.map((c) => c.key)).toEqual(['fake/small']);
    const denied = await postJson(`${served.url}/v1/chat/completions`, { ...hello, model: 'fake/large' }, { authorization: `Bearer ${key}` });
    expect(denied.status).toBe(403);
  });

  it('plans a keyed request once, or twice when the allow-list narrows it: the call follows the plan the gateway made', async () => {
    const { key: open } = store.keys.create({ name: 'any-model', daily_budget_usd: 5 });
    expect((await postJson(`${served.url}/v1/chat/completions`, { ...hello, stream: true }, { authorization: `Bearer ${open}` })).status).toBe(200);
    expect(fake.plans).toHaveLength(1);
    expect(fake.givenPlans.at(-1)).toBe(fake.plans[0]);
    const { key: narrow } = store.keys.create({ name: 'small-only', allowed_models: ['fake/small'] });
    expect((await postJson(`${served.url}/v1/chat/completions`, hello, { authorization: `Bearer ${narrow}` })).status).toBe(200);
    expect(fake.plans).toHaveLength(3);
    expect(fake.givenPlans.at(-1)).toBe(fake.plans[2]);
    expect(fake.plans[2]!.candidates.map((c) => c.key)).toEqual(['fake/small']);
  });

  it('keeps fallback models outside a key\'s allow-list out of routing', async () => {
    const { key } = store.keys.create({ name: 'small-only', allowed_models: ['fake/small'] });
    const body = { ...hello, model: 'fake/small', routing: { fallback_models: ['fake/large'] } };
    expect((await postJson(`${served.url}/v1/chat/completions`, body, { authorization: `Bearer ${key}` })).status).toBe(200);
    // The request stays as the caller sent it; the plan the call follows holds only what the key may use.
    expect(fake.requests.at(-1)!.routing?.fallback_models).toEqual(['fake/large']);
    expect(fake.givenPlans.at(-1)!.candidates.map((c) => c.key)).toEqual(['fake/small']);
  });

  it('reports the model the caller asked for even when a key narrows routing', async () => {
    const { key } = store.keys.create({ name: 'small-only', allowed_models: ['fake/small'] });
    const res = await postJson(`${served.url}/v1/chat/completions`, { ...hello, model: 'auto' }, { authorization: `Bearer ${key}` });
    expect(res.status).toBe(200);
    expect(fake.requests.at(-1)!.model).toBe('auto');
    expect(fake.givenPlans.at(-1)!.candidates.map((c) => c.key)).toEqual(['fake/small']);
    expect(((await res.json()) as { switchyard: { requested_model: string } }).switchyard.requested_model).toBe('auto');
  });

  it('asks for a key on /metrics once keys exist', async () => {
    expect((await fetch(`${served.url}/metrics`)).status).toBe(200);
    const { key } = store.keys.create({ name: 'scraper' });
    const anonymous = await fetch(`${served.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(((await anonymous.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
    const scraped = await fetch(`${served.url}/metrics`, { headers: { authorization: `Bearer ${key}` } });
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toContain('switchyard_');
  });

  it('asks for a key on /v1/models once keys exist, and lists only the models a key may use', async () => {
    expect((await fetch(`${served.url}/v1/models`)).status).toBe(200);
    const { key } = store.keys.create({ name: 'small-only', allowed_models: ['fake/small'] });
    expect((await fetch(`${served.url}/v1/models`)).status).toBe(401);
    const client = new OpenAI({ baseURL: `${served.url}/v1`, apiKey: key, maxRetries: 0 });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(['auto', 'auto:cost', 'auto:latency', 'auto:quality', 'auto:balanced', 'fake/small']);
    await expect(client.models.retrieve('fake/large')).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it('records a usage row per request, errors included, and serves aggregates', async () => {
    await served.client.chat.completions.create(hello);
    const stream = await served.client.chat.completions.create({ ...hello, stream: true });
    for await (const _ of stream) void _;
    await postJson(`${served.url}/v1/chat/completions`, { model: 'auto' });
    await store.usage.flush();
    const rows = store.usage.aggregate({ group_by: 'model' });
    const answered = rows.find((r) => r.group === 'fake/small')!;
    expect(answered.calls).toBe(2);
    expect(answered.cost_usd).toBeCloseTo(0.000246, 9);
    expect(rows.find((r) => r.group === '(none)')).toMatchObject({ calls: 1, errors: 1 });
    const usage = await usageJson(await fetch(`${served.url}/v1/usage?group_by=provider`));
    expect(usage.data.find((r) => r.group === 'fake')!.calls).toBe(2);
  });
});

describe('usage chunk without upstream usage', () => {
  it('builds the include_usage chunk from the story when the upstream sent none', async () => {
    const fake = new FakeSwitchyard();
    fake.streamScript = async (req) => streamOf([chunk({ role: 'assistant', content: 'Hi' }), chunk({}, 'stop')], makeStory({ requestedModel: req.model }));
    const served = await serveApp(fake);
    try {
      const res = await postJson(`${served.url}/v1/chat/completions`, { ...hello, stream: true, stream_options: { include_usage: true } });
      const events = sseEvents(await res.text());
      const usage = JSON.parse(events.at(-3)!);
      assertOpenAIChunk(usage);
      expect(usage.usage).toEqual({ prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 });
      expect(usageChunk.choices).toEqual([]);
    } finally {
      await served.close();
    }
  });
});
