import nock from 'nock';
import { mistralToolCallId } from '../../src/providers/openai';
import { COMPATIBLE_PRESETS, createCompatibleAdapter } from '../../src/providers/openai-compatible';
import { ProviderError, gatewayErrorFromProvider } from '../../src/core/errors';
import { closeUpstreamPools } from '../../src/core/http';
import { costUsd } from '../../src/core/routing/cost';
import { createSwitchyard, type RoutingSwitchyard } from '../../src/core/routing/switchyard';
import type { CallContext } from '../../src/core/adapter';
import type { ChatChunk, ChatRequest } from '../../src/core/schema';
import { collect, SSE_HEADERS } from '../helpers/fixtures';
import { assertOpenAIChunk, assertOpenAIError, assertOpenAIResponse } from '../helpers/openai-schema';

/**
 * How the OpenAI-compatible presets differ from OpenAI: failed finishes, credit and moderation
 * errors, roles, tool-call ids and DeepSeek's reasoning_content / cache usage. Payloads are the
 * providers' documented shapes.
 */

const BASE = 'https://compat.test/v1';
const ctx: CallContext = { credentials: { apiKey: 'sk-compat-secret-123456', baseUrl: BASE } };
const hello: ChatRequest = { model: 'm', messages: [{ role: 'user', content: 'Hi' }] };

const completion = (choice: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'cmpl-1',
  object: 'chat.completion',
  created: 1741569952,
  model: 'm',
  choices: [{ index: 0, logprobs: null, ...choice }],
  usage: { prompt_tokens: 5, completion_tokens: 2, total_tokens: 7 },
  ...extra,
});
const chunk = (choices: unknown[], extra: Record<string, unknown> = {}) => ({ id: 'cmpl-1', object: 'chat.completion.chunk', created: 1741569952, model: 'm', choices, ...extra });
const sse = (events: unknown[]) => events.map((e) => `data: ${typeof e === 'string' ? e : JSON.stringify(e)}\n\n`).join('');
const first = chunk([{ index: 0, delta: { role: 'assistant', content: 'Par' }, logprobs: null, finish_reason: null }]);

/** Replies with `body` and records the request body the upstream received. */
function capture(body: Record<string, unknown>): { sent?: Record<string, unknown> } {
  const seen: { sent?: Record<string, unknown> } = {};
  nock(BASE)
    .post('/chat/completions', (b: Record<string, unknown>) => ((seen.sent = b), true))
    .reply(200, body);
  return seen;
}

async function failure(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  await closeUpstreamPools();
});

describe('failed finishes are errors, never a complete answer', () => {
  it('Mistral: a non-streamed answer with finish_reason "error" is a retryable upstream_error', async () => {
    nock(BASE).post('/chat/completions').reply(200, completion({ message: { role: 'assistant', content: 'Partial ans' }, finish_reason: 'error' }));
    const err = await failure(createCompatibleAdapter('mistral').complete(hello, ctx));
    expect(err).toMatchObject({ kind: 'upstream_error', retryable: true, provider: 'mistral', upstreamCode: 'error' });
  });

  it.each([
    [502, 'upstream_error', true],
    [429, 'rate_limited', true],
  ])('OpenRouter: choices[].error with code %i is thrown as %s (the numeric code is the status)', async (code, kind, retryable) => {
    const choice = { message: { role: 'assistant', content: '' }, finish_reason: 'error', native_finish_reason: 'error', error: { code, message: 'Provider returned error', metadata: { provider_name: 'Example' } } };
    nock(BASE).post('/chat/completions').reply(200, completion(choice));
    const err = await failure(createCompatibleAdapter('openrouter').complete(hello, ctx));
    expect(err).toMatchObject({ kind, retryable, status: code, message: 'Provider returned error' });
  });

  it('OpenRouter: a stream whose chunk finishes with "error" fails instead of ending as "stop"', async () => {
    const failed = chunk([{ index: 0, delta: { content: '' }, finish_reason: 'error', native_finish_reason: 'error' }]);
    nock(BASE).post('/chat/completions').reply(200, sse([first, failed, '[DONE]']), SSE_HEADERS);
    const seen: ChatChunk[] = [];
    const err = await failure(
      (async () => {
        for await (const c of createCompatibleAdapter('openrouter').stream(hello, ctx)) seen.push(c);
      })(),
    );
    expect(err).toMatchObject({ kind: 'upstream_error', provider: 'openrouter' });
    expect(seen.map((c) => c.choices[0]?.finish_reason)).toEqual([null]);
  });

  it("OpenRouter: the documented mid-stream error event (top-level error, finish_reason \"error\") fails the stream", async () => {
    const failed = chunk([{ index: 0, delta: { content: '' }, finish_reason: 'error' }], { provider: 'openai', error: { code: 'server_error', message: 'Provider disconnected unexpectedly' } });
    nock(BASE).post('/chat/completions').reply(200, sse([first, failed]), SSE_HEADERS);
    const err = await failure(collect(createCompatibleAdapter('openrouter').stream(hello, ctx)));
    expect(err).toMatchObject({ kind: 'upstream_error', upstreamCode: 'server_error', message: 'Provider disconnected unexpectedly' });
  });

  it('OpenRouter: an error event whose numeric code is 429 is rate_limited, not a generic failure', async () => {
    nock(BASE).post('/chat/completions').reply(200, sse([{ error: { code: 429, message: 'Rate limit exceeded upstream' } }]), SSE_HEADERS);
    const err = await failure(collect(createCompatibleAdapter('openrouter').stream(hello, ctx)));
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryable: true });
  });

  it('DeepSeek: finish_reason "insufficient_system_resource" is a retryable overload, answered or streamed', async () => {
    const deepseek = createCompatibleAdapter('deepseek');
    nock(BASE).post('/chat/completions').reply(200, completion({ message: { role: 'assistant', content: 'Trunc' }, finish_reason: 'insufficient_system_resource' }));
    const err = await failure(deepseek.complete(hello, ctx));
    expect(err).toMatchObject({ kind: 'overloaded', retryable: true, upstreamCode: 'insufficient_system_resource' });

    const cut = chunk([{ index: 0, delta: { content: '' }, logprobs: null, finish_reason: 'insufficient_system_resource' }]);
    nock(BASE).post('/chat/completions').reply(200, sse([first, cut, '[DONE]']), SSE_HEADERS);
    await expect(collect(deepseek.stream(hello, ctx))).rejects.toMatchObject({ kind: 'overloaded', upstreamCode: 'insufficient_system_resource' });
  });
});

describe('failed finishes through the router', () => {
  const MISTRAL = 'https://api.mistral.test/v1';
  const DEEPSEEK = 'https://api.deepseek.test/v1';
  let sy: RoutingSwitchyard;
  afterEach(async () => sy?.close());

  function gateway(): RoutingSwitchyard {
    return createSwitchyard(
      {
        providers: {
          mistral: { type: 'openai-compatible', preset: 'mistral', api_key: 'mistral-key-123456', base_url: MISTRAL },
          deepseek: { type: 'openai-compatible', preset: 'deepseek', api_key: 'sk-deepseek-123456', base_url: DEEPSEEK },
        },
        routing: { retries_per_model: 0 },
      },
      { env: {} },
    );
  }
  const ask = { model: 'mistral/mistral-large-2512', messages: [{ role: 'user' as const, content: 'Hi' }], routing: { fallback_models: ['deepseek/deepseek-v4-flash'] } };
  const answer = completion({ message: { role: 'assistant', content: 'Hello' }, finish_reason: 'stop' });

  it('a non-streamed finish_reason "error" falls back to the next model', async () => {
    sy = gateway();
    nock(MISTRAL).post('/chat/completions').reply(200, completion({ message: { role: 'assistant', content: 'Partial' }, finish_reason: 'error' }));
    nock(DEEPSEEK).post('/chat/completions').reply(200, answer);
    const { response, story } = await sy.chat(ask);
    expect(response.choices[0]!.message.content).toBe('Hello');
    expect(story.attempts.map((a) => `${a.key} ${a.outcome}`)).toEqual(['mistral/mistral-large-2512 upstream_error', 'deepseek/deepseek-v4-flash ok']);
  });

  it('a stream that fails before content falls back; after content it ends in a partial error', async () => {
    sy = gateway();
    const failedAtOnce = chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'error' }]);
    nock(MISTRAL).post('/chat/completions').reply(200, sse([failedAtOnce, '[DONE]']), SSE_HEADERS);
    const done = chunk([{ index: 0, delta: { content: 'Hello' }, logprobs: null, finish_reason: 'stop' }]);
    nock(DEEPSEEK).post('/chat/completions').reply(200, sse([done, '[DONE]']), SSE_HEADERS);
    const fallen = await sy.stream(ask);
    expect(fallen.provider).toBe('deepseek');
    expect((await collect(fallen.chunks)).map((c) => c.choices[0]?.delta.content).join('')).toBe('Hello');

    const failedLater = chunk([{ index: 0, delta: { content: '' }, finish_reason: 'error' }]);
    nock(MISTRAL).post('/chat/completions').reply(200, sse([first, failedLater, '[DONE]']), SSE_HEADERS);
    const unused = nock(DEEPSEEK).post('/chat/completions').reply(200, sse([done, '[DONE]']), SSE_HEADERS);
    const cut = await sy.stream(ask);
    expect(cut.provider).toBe('mistral');
    await expect(collect(cut.chunks)).rejects.toMatchObject({ kind: 'upstream_error', partial: true });
    expect(unused.isDone()).toBe(false);
  });

  it('DeepSeek cache hits are priced at the cached rate', async () => {
    sy = gateway();
    const usage = { prompt_tokens: 100_000, completion_tokens: 20, total_tokens: 100_020, prompt_cache_hit_tokens: 96_000, prompt_cache_miss_tokens: 4_000 };
    nock(DEEPSEEK).post('/chat/completions').reply(200, { ...answer, usage });
    const { story } = await sy.chat({ ...ask, model: 'deepseek/deepseek-v4-flash', routing: {} });
    expect(story.usage?.prompt_tokens_details?.cached_tokens).toBe(96_000);
    const uncached = costUsd(story.pricing!, { prompt_tokens: 100_000, completion_tokens: 20, total_tokens: 100_020 });
    expect(story.costUsd).toBeLessThan(uncached);
  });
});

describe('credit and moderation errors', () => {
  it('OpenRouter: a 403 for input flagged by moderation is content_filter (400 to the caller), not a rejected key', async () => {
    const body = { error: { code: 403, message: 'meta-llama/llama-guard requires moderation: your input was flagged', metadata: { reasons: ['violence'], flagged_input: 'how to ...', provider_name: 'OpenAI', model_slug: 'openai/gpt-4o' } } };
    nock(BASE).post('/chat/completions').reply(403, body);
    const err = await failure(createCompatibleAdapter('openrouter').complete(hello, ctx));
    expect(err).toMatchObject({ kind: 'content_filter', retryable: false, status: 403 });
    const answer = gatewayErrorFromProvider(err);
    assertOpenAIError(answer.toBody());
    expect(answer).toMatchObject({ status: 400, code: 'content_filter' });
    expect(answer.message).not.toMatch(/API key/);
  });

  it('a 403 without moderation metadata is still a rejected key', async () => {
    nock(BASE).post('/chat/completions').reply(403, { error: { code: 403, message: 'Key disabled' } });
    await expect(createCompatibleAdapter('openrouter').complete(hello, ctx)).rejects.toMatchObject({ kind: 'auth' });
  });

  it.each([
    ['openrouter', { error: { code: 402, message: 'Insufficient credits. Add more using https://openrouter.ai/credits' } }],
    ['deepseek', { error: { message: 'Insufficient Balance', type: 'unknown_error', param: null, code: 'invalid_request_error' } }],
  ])('%s: a 402 is an exhausted account (429 insufficient_quota, not retried), not a retryable 502', async (preset, body) => {
    nock(BASE).post('/chat/completions').reply(402, body);
    const err = await failure(createCompatibleAdapter(preset).complete(hello, ctx));
    expect(err).toMatchObject({ kind: 'rate_limited', retryable: false, status: 402 });
    expect(err.message).toMatch(/^the provider account is out of credit: /);
    const answer = gatewayErrorFromProvider(err);
    assertOpenAIError(answer.toBody());
    expect(answer).toMatchObject({ status: 429, code: 'insufficient_quota' });
    expect(answer.headers).not.toHaveProperty('retry-after');
  });
});

describe('roles and tool-call ids', () => {
  const conversation: ChatRequest = {
    model: 'm',
    messages: [
      { role: 'developer', content: 'Be brief' },
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_Zx8kQe1XyAbC2dEf', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          { id: 'D681PevKs', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_Zx8kQe1XyAbC2dEf', content: '{"temp_c":18}' },
      { role: 'tool', tool_call_id: 'toolu_01A09q90qw90lq917835lq9', content: '{"temp_c":21}' },
      { role: 'tool', tool_call_id: 'D681PevKs', content: '{"temp_c":4}' },
    ],
  };
  const ok = completion({ message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' });

  it.each(Object.keys(COMPATIBLE_PRESETS).filter((p) => p !== 'openai'))('%s gets the developer message as system', async (preset) => {
    const seen = capture(ok);
    await createCompatibleAdapter(preset).complete(conversation, ctx);
    expect((seen.sent!.messages as Array<{ role: string; content: string }>)[0]).toEqual({ role: 'system', content: 'Be brief' });
  });

  it('OpenAI itself keeps the developer role', async () => {
    const seen = capture(ok);
    await createCompatibleAdapter('openai').complete(conversation, ctx);
    expect((seen.sent!.messages as Array<{ role: string }>)[0]!.role).toBe('developer');
  });

  it('Mistral: foreign tool-call ids become matched 9-character ids; its own ids and the caller request are untouched', async () => {
    const seen = capture(ok);
    await createCompatibleAdapter('mistral').complete(conversation, ctx);
    const messages = seen.sent!.messages as Array<{ tool_calls?: Array<{ id: string }>; tool_call_id?: string }>;
    const callIds = messages[2]!.tool_calls!.map((tc) => tc.id);
    expect(callIds.every((id) => /^[a-zA-Z0-9]{9}$/.test(id))).toBe(true);
    expect(new Set(callIds).size).toBe(3);
    expect(callIds[2]).toBe('D681PevKs');
    expect(messages.slice(3).map((m) => m.tool_call_id)).toEqual(callIds);
    expect(conversation.messages[3]).toMatchObject({ tool_call_id: 'call_Zx8kQe1XyAbC2dEf' });

    // Same conversation, same ids: a later turn still matches what Mistral saw before.
    const again = capture(ok);
    await createCompatibleAdapter('mistral').complete(conversation, ctx);
    expect((again.sent!.messages as Array<{ tool_calls?: Array<{ id: string }> }>)[2]!.tool_calls!.map((tc) => tc.id)).toEqual(callIds);
  });

  it('Mistral: tool-call ids in answers are relayed as Mistral sent them', async () => {
    const toolAnswer = completion({ message: { role: 'assistant', content: '', tool_calls: [{ id: 'D681PevKs', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, finish_reason: 'tool_calls' });
    nock(BASE).post('/chat/completions').reply(200, toolAnswer);
    const res = await createCompatibleAdapter('mistral').complete(hello, ctx);
    expect(res.choices[0]!.message.tool_calls![0]!.id).toBe('D681PevKs');
  });

  it('other presets send tool-call ids unchanged', async () => {
    const seen = capture(ok);
    await createCompatibleAdapter('deepseek').complete(conversation, ctx);
    expect((seen.sent!.messages as Array<{ tool_call_id?: string }>)[3]!.tool_call_id).toBe('call_Zx8kQe1XyAbC2dEf');
  });

  it('mistralToolCallId is deterministic, 9 letters or digits, and keeps ids that already are', () => {
    for (const id of ['call_0', 'toolu_01A09q90qw90lq917835lq9', 'call_0__thought__CiQB0e2Kb7', '', 'ü-ñ']) {
      expect(mistralToolCallId(id)).toMatch(/^[a-zA-Z0-9]{9}$/);
      expect(mistralToolCallId(id)).toBe(mistralToolCallId(id));
    }
    expect(mistralToolCallId('call_1')).not.toBe(mistralToolCallId('call_2'));
    expect(mistralToolCallId('aB3xK9mP2')).toBe('aB3xK9mP2');
  });
});

describe("DeepSeek's reasoning_content and cache usage", () => {
  const DEEPSEEK_TOOL_ANSWER = completion(
    {
      message: {
        role: 'assistant',
        content: '',
        reasoning_content: 'The user wants the weather; I should call get_weather.',
        tool_calls: [{ id: 'call_00_nmXW2jeMvMLqYrM5rmXHJrEm', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      finish_reason: 'tool_calls',
    },
    {
      model: 'deepseek-v4-pro',
      system_fingerprint: 'fp_8802369eaa_prod0623_fp8_kvcache',
      usage: { prompt_tokens: 1000, completion_tokens: 20, total_tokens: 1020, prompt_tokens_details: { cached_tokens: 960 }, prompt_cache_hit_tokens: 960, prompt_cache_miss_tokens: 40, completion_tokens_details: { reasoning_tokens: 12 } },
    },
  );

  it('keeps reasoning_content on a non-streamed answer, which stays valid against the OpenAI schema', async () => {
    nock(BASE).post('/chat/completions').reply(200, DEEPSEEK_TOOL_ANSWER);
    const res = await createCompatibleAdapter('deepseek').complete(hello, ctx);
    assertOpenAIResponse(res);
    expect(res.choices[0]!.message).toMatchObject({ reasoning_content: 'The user wants the weather; I should call get_weather.', tool_calls: [expect.objectContaining({ id: 'call_00_nmXW2jeMvMLqYrM5rmXHJrEm' })] });
    expect(res.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it('keeps reasoning_content of streamed deltas that need normalising too', async () => {
    const withUsage = chunk([{ index: 0, delta: { reasoning_content: 'Thinking', content: null }, logprobs: null, finish_reason: null }], { usage: null, system_fingerprint: null });
    nock(BASE).post('/chat/completions').reply(200, sse([withUsage, '[DONE]']), SSE_HEADERS);
    const [c] = await collect(createCompatibleAdapter('deepseek').stream(hello, ctx));
    assertOpenAIChunk(c);
    expect(c!.choices[0]!.delta).toMatchObject({ reasoning_content: 'Thinking' });
  });

  const history: ChatRequest = {
    model: 'deepseek-v4-pro',
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      {
        role: 'assistant',
        content: '',
        reasoning_content: 'I should call get_weather.',
        tool_calls: [{ id: 'call_00_nmXW2jeMvMLqYrM5rmXHJrEm', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      } as ChatRequest['messages'][number],
      { role: 'tool', tool_call_id: 'call_00_nmXW2jeMvMLqYrM5rmXHJrEm', content: '{"temp_c":18}' },
    ],
  };

  it('sends reasoning_content of assistant history back to DeepSeek', async () => {
    const seen = capture(completion({ message: { role: 'assistant', content: '18 °C' }, finish_reason: 'stop' }));
    await createCompatibleAdapter('deepseek').complete(history, ctx);
    expect((seen.sent!.messages as Array<Record<string, unknown>>)[1]).toMatchObject({ reasoning_content: 'I should call get_weather.' });
  });

  it.each(['mistral', 'openai'])('removes it from history sent to %s, which rejects unknown message fields', async (preset) => {
    const seen = capture(completion({ message: { role: 'assistant', content: '18 °C' }, finish_reason: 'stop' }));
    await createCompatibleAdapter(preset).complete(history, ctx);
    expect((seen.sent!.messages as Array<Record<string, unknown>>)[1]).not.toHaveProperty('reasoning_content');
    expect(history.messages[1]).toHaveProperty('reasoning_content');
  });

  it('reports prompt_cache_hit_tokens as cached_tokens, answered or streamed; the standard field wins', async () => {
    const deepseek = createCompatibleAdapter('deepseek');
    const dsUsage = { prompt_tokens: 1000, completion_tokens: 20, total_tokens: 1020, prompt_cache_hit_tokens: 960, prompt_cache_miss_tokens: 40 };
    nock(BASE).post('/chat/completions').reply(200, completion({ message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }, { usage: dsUsage }));
    const res = await deepseek.complete(hello, ctx);
    expect(res.usage).toEqual({ prompt_tokens: 1000, completion_tokens: 20, total_tokens: 1020, prompt_tokens_details: { cached_tokens: 960 } });

    nock(BASE).post('/chat/completions').reply(200, sse([first, chunk([], { usage: dsUsage }), '[DONE]']), SSE_HEADERS);
    const chunks = await collect(deepseek.stream(hello, ctx));
    expect(chunks.at(-1)!.usage?.prompt_tokens_details).toEqual({ cached_tokens: 960 });

    nock(BASE).post('/chat/completions').reply(200, completion({ message: { role: 'assistant', content: 'Hi' }, finish_reason: 'stop' }, { usage: { ...dsUsage, prompt_tokens_details: { cached_tokens: 900 } } }));
    expect((await deepseek.complete(hello, ctx)).usage?.prompt_tokens_details).toEqual({ cached_tokens: 900 });
  });
});

describe("Mistral's reasoning answers: content as a list of chunks", () => {
  const thinking = { type: 'thinking', thinking: [{ type: 'text', text: 'John is twice as old as Mary, who is 12...' }] };

  it('joins the text chunks into content and relays the thinking as reasoning_content', async () => {
    const body = completion(
      { message: { role: 'assistant', tool_calls: null, content: [thinking, { type: 'text', text: 'John is ' }, { type: 'text', text: '24 years old.' }] }, finish_reason: 'stop' },
      { model: 'magistral-medium-2509' },
    );
    nock(BASE).post('/chat/completions').reply(200, body);
    const res = await createCompatibleAdapter('mistral').complete({ ...hello, model: 'magistral-medium-2509' }, ctx);
    assertOpenAIResponse(res);
    expect(res.choices[0]!.message).toMatchObject({ role: 'assistant', content: 'John is 24 years old.', reasoning_content: 'John is twice as old as Mary, who is 12...' });
    expect(res.choices[0]!.finish_reason).toBe('stop');
  });

  it('streams thinking deltas as reasoning_content and text chunks as content', async () => {
    const events = [
      chunk([{ index: 0, delta: { role: 'assistant', content: [thinking] }, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: [{ type: 'text', text: 'John is 24.' }] }, finish_reason: null }]),
      chunk([{ index: 0, delta: { content: '' }, finish_reason: 'stop' }], { usage: { prompt_tokens: 10, completion_tokens: 50, total_tokens: 60 } }),
      '[DONE]',
    ];
    nock(BASE).post('/chat/completions').reply(200, sse(events), SSE_HEADERS);
    const chunks = await collect(createCompatibleAdapter('mistral').stream(hello, ctx));
    chunks.forEach(assertOpenAIChunk);
    const deltas = chunks.map((c) => c.choices[0]?.delta as { content?: string; reasoning_content?: string });
    expect(deltas.map((d) => d.content ?? '').join('')).toBe('John is 24.');
    expect(deltas.map((d) => d.reasoning_content ?? '').join('')).toBe('John is twice as old as Mary, who is 12...');
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 10, completion_tokens: 50, total_tokens: 60 });
  });
});

describe('DeepSeek: json_schema answered as json_object', () => {
  const schema = { type: 'object', properties: { name: { type: 'string' }, industry: { type: 'string' } }, required: ['name', 'industry'] };
  const request: ChatRequest = {
    model: 'deepseek-chat',
    messages: [
      { role: 'system', content: 'You extract company facts.' },
      { role: 'user', content: 'Acme makes anvils.' },
    ],
    response_format: { type: 'json_schema', json_schema: { name: 'company', schema, strict: true } },
  };
  const answer = completion({ message: { role: 'assistant', content: '{"name":"Acme","industry":"anvils"}' }, finish_reason: 'stop' });

  it('sends json_object and puts the schema, with the word json, into the system prompt', async () => {
    const seen = capture(answer);
    const res = await createCompatibleAdapter('deepseek').complete(request, ctx);
    expect(seen.sent!.response_format).toEqual({ type: 'json_object' });
    const messages = seen.sent!.messages as Array<{ role: string; content: string }>;
    expect(messages).toHaveLength(2);
    expect(messages[0]!.role).toBe('system');
    expect(messages[0]!.content.startsWith('You extract company facts.\n\n')).toBe(true);
    expect(messages[0]!.content).toMatch(/json/i);
    expect(messages[0]!.content).toContain(JSON.stringify(schema));
    expect(messages[1]).toEqual({ role: 'user', content: 'Acme makes anvils.' });
    expect(request.response_format?.type).toBe('json_schema'); // the caller's request (and the router's check) keep the schema
    expect(JSON.parse(res.choices[0]!.message.content!)).toEqual({ name: 'Acme', industry: 'anvils' });
  });

  it('adds a system message when the conversation has none; json_object and text pass unchanged', async () => {
    const seen = capture(answer);
    await createCompatibleAdapter('deepseek').complete({ ...request, messages: [{ role: 'user', content: 'Acme makes anvils.' }] }, ctx);
    const messages = seen.sent!.messages as Array<{ role: string; content: string }>;
    expect(messages[0]!.role).toBe('system');
    expect(messages[0]!.content).toContain(JSON.stringify(schema));

    const plain = capture(answer);
    await createCompatibleAdapter('deepseek').complete({ ...hello, response_format: { type: 'json_object' } }, ctx);
    expect(plain.sent!.response_format).toEqual({ type: 'json_object' });
    expect(plain.sent!.messages).toEqual(hello.messages);
  });

  it('other presets still send json_schema as is', async () => {
    const seen = capture(answer);
    await createCompatibleAdapter('openrouter').complete(request, ctx);
    expect(seen.sent!.response_format).toEqual(request.response_format);
  });
});

describe('history fields strict APIs reject', () => {
  const history = {
    model: 'm',
    messages: [
      { role: 'system', content: 'Be brief', name: 'ops' },
      { role: 'user', content: 'Hi', name: 'alice' },
      { role: 'assistant', content: 'Hello', refusal: null, annotations: [], reasoning_content: 'Greet back.' },
      { role: 'assistant', content: null, refusal: null, tool_calls: [{ id: 'D681PevKs', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'D681PevKs', name: 'get_weather', content: '{"temp_c":18}' },
      { role: 'assistant', content: 'It is', prefix: true },
    ],
  } as unknown as ChatRequest;
  const ok = completion({ message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' });

  it('Groq: name is removed from non-tool messages and reasoning_content from assistant history', async () => {
    const seen = capture(ok);
    await createCompatibleAdapter('groq').complete(history, ctx);
    const messages = seen.sent!.messages as Array<Record<string, unknown>>;
    expect(messages[0]).toEqual({ role: 'system', content: 'Be brief' });
    expect(messages[1]).toEqual({ role: 'user', content: 'Hi' });
    expect(messages[2]).not.toHaveProperty('reasoning_content');
    expect(messages[4]).toMatchObject({ role: 'tool', name: 'get_weather' });
  });

  it('Mistral: only the fields its schema allows per role reach it (no refusal, annotations, name, reasoning_content)', async () => {
    const seen = capture(ok);
    await createCompatibleAdapter('mistral').complete(history, ctx);
    expect(seen.sent!.messages).toEqual([
      { role: 'system', content: 'Be brief' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'D681PevKs', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'D681PevKs', name: 'get_weather', content: '{"temp_c":18}' },
      { role: 'assistant', content: 'It is', prefix: true },
    ]);
  });
});
