import nock from 'nock';
import { AnthropicAdapter, AnthropicStreamTranslator, JSON_OBJECT_INSTRUCTION, readAnthropicError } from '../../src/providers/anthropic';
import { resolveProviders } from '../../src/providers/registry';
import { ProviderError } from '../../src/core/errors';
import { CallerAbortError, closeUpstreamPools } from '../../src/core/http';
import type { CallContext } from '../../src/core/adapter';
import type { ChatChunk, ChatRequest } from '../../src/core/schema';
import { captureBody, collect, fixtureJson, sseBody, SSE_HEADERS } from '../helpers/fixtures';
import { assertOpenAIChunk, assertOpenAIResponse } from '../helpers/openai-schema';

const BASE = 'https://api.anthropic.test';
const API_KEY = 'sk-ant-test-secret-123456';
const ctx: CallContext = { credentials: { apiKey: API_KEY, baseUrl: BASE } };
const NOW = 1_760_000_000_000;
const adapter = new AnthropicAdapter('anthropic', { now: () => NOW });
const MODEL = 'claude-sonnet-4-5-20250929';
const hello: ChatRequest = { model: MODEL, messages: [{ role: 'user', content: 'Hi' }] };

const WEATHER_TOOL = {
  type: 'function' as const,
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  await closeUpstreamPools();
});

/** Answers the next POST /v1/messages with a fixture and captures what was sent. */
function answerWith(file: string, status = 200, headers: Record<string, string> = {}) {
  const captured = captureBody();
  nock(BASE).post('/v1/messages', captured.match).reply(status, fixtureJson(file), headers);
  return captured;
}

function streamWith(file: string, opts: { chunkSize?: number; dieAfterBytes?: number } = {}) {
  const captured = captureBody();
  nock(BASE).post('/v1/messages', captured.match).reply(200, () => sseBody(file, opts), SSE_HEADERS);
  return captured;
}

async function sentBodyFor(req: ChatRequest): Promise<Record<string, unknown>> {
  const captured = answerWith('anthropic/message-text.json');
  await adapter.complete(req, ctx);
  return captured.body!;
}

const textOf = (chunks: ChatChunk[]) => chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
const toolDeltasOf = (chunks: ChatChunk[]) => chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);

async function drain(stream: AsyncIterable<ChatChunk>): Promise<{ chunks: ChatChunk[]; error: unknown }> {
  const chunks: ChatChunk[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk);
  } catch (error) {
    return { chunks, error };
  }
  return { chunks, error: undefined };
}

describe('Anthropic adapter: request mapping', () => {
  it('posts to /v1/messages with x-api-key and anthropic-version, system lifted, max_tokens defaulted', async () => {
    const captured = captureBody();
    nock(BASE, {
      reqheaders: { 'x-api-key': API_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      badheaders: ['authorization'],
    })
      .post('/v1/messages', captured.match)
      .reply(200, fixtureJson('anthropic/message-text.json'));
    await adapter.complete({ model: MODEL, messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] }, ctx);
    expect(captured.body).toEqual({
      model: MODEL,
      max_tokens: 4096,
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
    });
  });

  it('maps a whole tool conversation: merged turns, images, tool_use/tool_result, sampling, unknown fields dropped', async () => {
    const req = {
      model: MODEL,
      messages: [
        { role: 'system', content: 'You are a travel assistant.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in English.' }] },
        { role: 'user', content: 'What is in this picture?' },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'And the weather there?' },
            { type: 'image_url', image_url: { url: 'data:image/PNG;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/eiffel.jpg', detail: 'high' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [
            { id: 'toolu_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'toolu_2', type: 'function', function: { name: 'get_time', arguments: '' } },
          ],
        },
        { role: 'tool', tool_call_id: 'toolu_1', content: '18°C, cloudy' },
        { role: 'tool', tool_call_id: 'toolu_2', content: [{ type: 'text', text: '14:05' }] },
        { role: 'user', content: 'Summarize.' },
      ],
      tools: [WEATHER_TOOL, { type: 'function', function: { name: 'get_time' } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
      temperature: 1.7,
      top_p: 0.9,
      stop: ['END', '###'],
      user: 'user-42',
      max_tokens: 100,
      max_completion_tokens: 300,
      seed: 7,
      metadata: { trace: 'abc' },
      n: 1,
      logprobs: true,
      custom_field: 'dropped',
      stream_options: { include_usage: true },
    } as ChatRequest;
    expect(await sentBodyFor(req)).toEqual({
      model: MODEL,
      max_tokens: 300,
      system: 'You are a travel assistant.\n\nAnswer in English.',
      temperature: 1,
      stop_sequences: ['END', '###'],
      metadata: { user_id: 'user-42' },
      tools: [
        { name: 'get_weather', description: 'Current weather for a city', input_schema: WEATHER_TOOL.function.parameters },
        { name: 'get_time', input_schema: { type: 'object', properties: {} } },
      ],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      messages: [
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in this picture?' },
            { type: 'text', text: 'And the weather there?' },
            { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
            { type: 'image', source: { type: 'url', url: 'https://example.com/eiffel.jpg' } },
          ],
        },
        {
          role: 'assistant',
          content: [
            { type: 'text', text: 'Let me check.' },
            { type: 'tool_use', id: 'toolu_1', name: 'get_weather', input: { city: 'Paris' } },
            { type: 'tool_use', id: 'toolu_2', name: 'get_time', input: {} },
          ],
        },
        {
          role: 'user',
          content: [
            { type: 'tool_result', tool_use_id: 'toolu_1', content: '18°C, cloudy' },
            { type: 'tool_result', tool_use_id: 'toolu_2', content: '14:05' },
            { type: 'text', text: 'Summarize.' },
          ],
        },
      ],
    });
  });

  it('puts tool results first in their user turn and skips empty text', async () => {
    const body = await sentBodyFor({
      model: MODEL,
      messages: [
        { role: 'user', content: 'Weather?' },
        { role: 'assistant', content: null, tool_calls: [{ id: 't1', type: 'function', function: { name: 'get_weather', arguments: '{}' } }] },
        { role: 'user', content: 'Quickly please.' },
        { role: 'tool', tool_call_id: 't1', content: 'sunny' },
        { role: 'assistant', content: '' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Weather?' }] },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'get_weather', input: {} }] },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 't1', content: 'sunny' },
          { type: 'text', text: 'Quickly please.' },
        ],
      },
    ]);
  });

  it.each([
    ['auto', undefined, { type: 'auto' }],
    ['none', undefined, { type: 'none' }],
    ['required', undefined, { type: 'any' }],
    [{ type: 'function', function: { name: 'get_weather' } }, undefined, { type: 'tool', name: 'get_weather' }],
    [undefined, undefined, undefined],
    [undefined, false, { type: 'auto', disable_parallel_tool_use: true }],
    ['auto', false, { type: 'auto', disable_parallel_tool_use: true }],
    [{ type: 'function', function: { name: 'get_weather' } }, false, { type: 'tool', name: 'get_weather', disable_parallel_tool_use: true }],
    ['none', false, { type: 'none' }],
  ])('maps tool_choice %j (parallel_tool_calls %j) to %j', async (toolChoice, parallel, expected) => {
    const body = await sentBodyFor({
      ...hello,
      tools: [WEATHER_TOOL],
      ...(toolChoice !== undefined ? { tool_choice: toolChoice as ChatRequest['tool_choice'] } : {}),
      ...(parallel !== undefined ? { parallel_tool_calls: parallel } : {}),
    });
    expect(body.tool_choice).toEqual(expected);
  });

  it('sends no tools or tool_choice when the request has no tools', async () => {
    const body = await sentBodyFor({ ...hello, tool_choice: 'auto', parallel_tool_calls: false });
    expect(body).not.toHaveProperty('tools');
    expect(body).not.toHaveProperty('tool_choice');
  });

  it('maps a single stop string, max_tokens and an in-range temperature', async () => {
    const body = await sentBodyFor({ ...hello, stop: 'END', max_tokens: 64, temperature: 0.3, top_p: null });
    expect(body).toMatchObject({ stop_sequences: ['END'], max_tokens: 64, temperature: 0.3 });
    expect(body).not.toHaveProperty('top_p');
  });

  it('sends only temperature when top_p is set too (current Claude models answer 400 to both); top_p alone is kept', async () => {
    const both = await sentBodyFor({ ...hello, temperature: 0.7, top_p: 1 });
    expect(both).toMatchObject({ temperature: 0.7 });
    expect(both).not.toHaveProperty('top_p');
    const clamped = await sentBodyFor({ ...hello, temperature: 1.5, top_p: 0.9 });
    expect(clamped).toMatchObject({ temperature: 1 });
    expect(clamped).not.toHaveProperty('top_p');
    const topPOnly = await sentBodyFor({ ...hello, top_p: 0.9 });
    expect(topPOnly).toMatchObject({ top_p: 0.9 });
    expect(topPOnly).not.toHaveProperty('temperature');
  });

  it('json_object adds a JSON-only instruction to the system prompt', async () => {
    const withSystem = await sentBodyFor({
      model: MODEL,
      messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }],
      response_format: { type: 'json_object' },
    });
    expect(withSystem.system).toBe(`Be brief.\n\n${JSON_OBJECT_INSTRUCTION}`);
    const alone = await sentBodyFor({ ...hello, response_format: { type: 'json_object' } });
    expect(alone.system).toBe(JSON_OBJECT_INSTRUCTION);
    expect(alone).not.toHaveProperty('tools');
  });

  it.each([
    [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'ftp://example.com/a.png' } }] }, /messages\[0\]\.content\[0\]\.image_url\.url/],
    [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/svg+xml;base64,PHN2Zz4=' } }] }, /image\/svg\+xml/],
    [
      { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '{city:' } }] },
      /messages\[0\]\.tool_calls\[0\]\.function\.arguments: not valid JSON/,
    ],
    [
      { role: 'assistant', content: null, tool_calls: [{ id: 't', type: 'function', function: { name: 'f', arguments: '[1]' } }] },
      /must be a JSON object/,
    ],
  ])('rejects input Anthropic cannot take before calling it (%#)', async (message, pattern) => {
    const scope = nock(BASE).post('/v1/messages').reply(200, fixtureJson('anthropic/message-text.json'));
    const err = (await adapter.complete({ model: MODEL, messages: [message as ChatRequest['messages'][number]] }, ctx).catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'bad_request', retryable: false, provider: 'anthropic' });
    expect(err.message).toMatch(pattern);
    expect(scope.isDone()).toBe(false);
  });
});

describe('Anthropic adapter: responses', () => {
  it('maps a text answer to a schema-valid response', async () => {
    answerWith('anthropic/message-text.json');
    const res = await adapter.complete(hello, ctx);
    assertOpenAIResponse(res);
    expect(res).toEqual({
      id: 'msg_01XFDUDYJgAACzvnptvVoYEL',
      object: 'chat.completion',
      created: NOW / 1000,
      model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! ¿Cómo estás? 👋', refusal: null }, finish_reason: 'stop', logprobs: null }],
      usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 },
    });
  });

  it('maps tool_use blocks to tool_calls and counts cache tokens as prompt tokens', async () => {
    answerWith('anthropic/message-tool-use.json');
    const res = await adapter.complete({ ...hello, tools: [WEATHER_TOOL] }, ctx);
    assertOpenAIResponse(res);
    expect(res.choices[0]).toEqual({
      index: 0,
      message: {
        role: 'assistant',
        content: "I'll check the current weather in Paris for you.",
        refusal: null,
        tool_calls: [{ id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }],
      },
      finish_reason: 'tool_calls',
      logprobs: null,
    });
    expect(res.usage).toEqual({ prompt_tokens: 1404, completion_tokens: 62, total_tokens: 1466, prompt_tokens_details: { cached_tokens: 1024 } });
  });

  it('reports cache_creation_input_tokens as cache_write_tokens (billed above the input price), beside cache reads', async () => {
    answerWith('anthropic/message-cache-write.json');
    const res = await adapter.complete(hello, ctx);
    assertOpenAIResponse(res);
    expect(res.usage).toEqual({
      prompt_tokens: 21 + 2048 + 1536,
      completion_tokens: 14,
      total_tokens: 21 + 2048 + 1536 + 14,
      prompt_tokens_details: { cached_tokens: 1536, cache_write_tokens: 2048 },
    });
  });

  it('answers json_schema through a forced tool and returns its input as the content', async () => {
    const schema = {
      type: 'object',
      properties: { city: { type: 'string' }, temperature_c: { type: 'number' }, conditions: { type: 'string' } },
      required: ['city', 'temperature_c', 'conditions'],
    };
    const captured = answerWith('anthropic/message-json-schema.json');
    const res = await adapter.complete(
      { ...hello, tools: [WEATHER_TOOL], response_format: { type: 'json_schema', json_schema: { name: 'city_weather', schema, strict: true } } },
      ctx,
    );
    expect(captured.body!.tools).toEqual([
      { name: 'get_weather', description: 'Current weather for a city', input_schema: WEATHER_TOOL.function.parameters },
      { name: 'city_weather', description: expect.any(String), input_schema: schema },
    ]);
    expect(captured.body!.tool_choice).toEqual({ type: 'tool', name: 'city_weather', disable_parallel_tool_use: true });
    assertOpenAIResponse(res);
    const choice = res.choices[0]!;
    expect(JSON.parse(choice.message.content!)).toEqual({ city: 'Paris', temperature_c: 18, conditions: 'partly cloudy' });
    expect(choice.message.tool_calls).toBeUndefined();
    expect(choice.finish_reason).toBe('stop');
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['pause_turn', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['refusal', 'content_filter'],
    [null, 'stop'],
  ])('maps stop_reason %s to finish_reason %s', async (stopReason, finish) => {
    nock(BASE)
      .post('/v1/messages')
      .reply(200, { ...fixtureJson<Record<string, unknown>>('anthropic/message-text.json'), stop_reason: stopReason });
    const res = await adapter.complete(hello, ctx);
    assertOpenAIResponse(res);
    expect(res.choices[0]!.finish_reason).toBe(finish);
  });

  it('rejects a 200 body that is not a message', async () => {
    nock(BASE).post('/v1/messages').reply(200, { unexpected: true });
    await expect(adapter.complete(hello, ctx)).rejects.toMatchObject({ kind: 'upstream_error', message: expect.stringMatching(/unexpected message body/) });
  });
});

describe('Anthropic adapter: streaming', () => {
  it.each([1, 5, 13, 4096])('turns a text stream split every %i bytes into schema-valid chunks', async (chunkSize) => {
    const captured = streamWith('anthropic/stream-text.sse', { chunkSize });
    const chunks = await collect(adapter.stream({ ...hello, stream: true }, ctx));
    chunks.forEach(assertOpenAIChunk);
    expect(captured.body).toMatchObject({ stream: true, max_tokens: 4096 });
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(textOf(chunks)).toBe('Hello! ¿Cómo estás? 👋');
    expect(chunks.every((c) => c.id === 'msg_01StreamTextHello9x2Lq' && c.created === NOW / 1000 && c.model === MODEL)).toBe(true);
    const [finish, usage] = chunks.slice(-2);
    expect(finish!.choices).toEqual([{ index: 0, delta: {}, finish_reason: 'stop', logprobs: null }]);
    expect(usage!.choices).toEqual([]);
    expect(usage!.usage).toEqual({ prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 });
  });

  it('sends accept: text/event-stream on streams', async () => {
    nock(BASE, { reqheaders: { accept: 'text/event-stream', 'x-api-key': API_KEY, 'anthropic-version': '2023-06-01' } })
      .post('/v1/messages')
      .reply(200, () => sseBody('anthropic/stream-text.sse'), SSE_HEADERS);
    await expect(collect(adapter.stream(hello, ctx))).resolves.not.toHaveLength(0);
  });

  it('streams tool_use as tool-call deltas: id and name first, then argument fragments', async () => {
    streamWith('anthropic/stream-tool-use.sse', { chunkSize: 3 });
    const chunks = await collect(adapter.stream({ ...hello, tools: [WEATHER_TOOL] }, ctx));
    chunks.forEach(assertOpenAIChunk);
    expect(textOf(chunks)).toBe('Let me check the weather in Paris.');
    const deltas = toolDeltasOf(chunks);
    expect(deltas[0]).toEqual({ index: 0, id: 'toolu_01T1x1fJ34qAmk2tNTrN7Up6', type: 'function', function: { name: 'get_weather', arguments: '' } });
    expect(deltas.slice(1)).toEqual([
      { index: 0, function: { arguments: '{"ci' } },
      { index: 0, function: { arguments: 'ty": "Par' } },
      { index: 0, function: { arguments: 'is"}' } },
    ]);
    expect(JSON.parse(deltas.map((d) => d.function?.arguments ?? '').join(''))).toEqual({ city: 'Paris' });
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('tool_calls');
    // message_delta's cumulative counts (cache creation included) replace message_start's.
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 728, completion_tokens: 89, total_tokens: 817, prompt_tokens_details: { cache_write_tokens: 256 } });
  });

  it('streams a json_schema answer as content deltas with finish_reason stop', async () => {
    const captured = streamWith('anthropic/stream-json-schema.sse', { chunkSize: 11 });
    const chunks = await collect(
      adapter.stream({ ...hello, response_format: { type: 'json_schema', json_schema: { name: 'city_weather', schema: { type: 'object' } } } }, ctx),
    );
    chunks.forEach(assertOpenAIChunk);
    expect(captured.body!.tool_choice).toEqual({ type: 'tool', name: 'city_weather', disable_parallel_tool_use: true });
    expect(JSON.parse(textOf(chunks))).toEqual({ city: 'Paris', temperature_c: 18, conditions: 'partly cloudy' });
    expect(toolDeltasOf(chunks)).toEqual([]);
    expect(chunks.at(-2)!.choices[0]!.finish_reason).toBe('stop');
  });

  it('forwards text and ignores thinking blocks', async () => {
    streamWith('anthropic/stream-thinking.sse', { chunkSize: 9 });
    const chunks = await collect(adapter.stream(hello, ctx));
    chunks.forEach(assertOpenAIChunk);
    expect(textOf(chunks)).toBe('Hello! ¿Cómo estás? 👋');
    expect(toolDeltasOf(chunks)).toEqual([]);
  });

  it('turns an error event mid-stream into an overloaded ProviderError after the delivered text', async () => {
    streamWith('anthropic/stream-error-event.sse');
    const { chunks, error } = await drain(adapter.stream(hello, ctx));
    expect(textOf(chunks)).toBe('Hello');
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: 'overloaded', retryable: true, partial: true, upstreamCode: 'overloaded_error', provider: 'anthropic' });
  });

  it('fails a stream that ends without message_stop instead of truncating silently', async () => {
    streamWith('anthropic/stream-cut.sse');
    const { chunks, error } = await drain(adapter.stream(hello, ctx));
    expect(textOf(chunks)).toBe('Hello! ¿Cómo');
    expect(chunks.some((c) => c.choices[0]?.finish_reason)).toBe(false);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ kind: 'upstream_error', retryable: true, partial: true, message: expect.stringMatching(/before message_stop/) });
  });

  it('fails a stream whose connection dies mid-way', async () => {
    streamWith('anthropic/stream-text.sse', { dieAfterBytes: 700 });
    await expect(collect(adapter.stream(hello, ctx))).rejects.toMatchObject({ kind: 'upstream_error', retryable: true });
  });

  it('keeps message_start counts that a message_delta reports as null (the SDK types them nullable)', () => {
    const t = new AnthropicStreamTranslator('anthropic', MODEL, 1);
    const events = [
      { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: MODEL, content: [], usage: { input_tokens: 12, cache_read_input_tokens: 30, output_tokens: 1 } } },
      { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { input_tokens: null, cache_read_input_tokens: null, output_tokens: 9 } },
      { type: 'message_stop' },
    ];
    const chunks = events.flatMap((e) => t.translate({ event: e.type, data: JSON.stringify(e) }));
    expect(t.finished).toBe(true);
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 42, completion_tokens: 9, total_tokens: 51, prompt_tokens_details: { cached_tokens: 30 } });
  });

  it('fails a stream on an event that is not JSON', async () => {
    nock(BASE).post('/v1/messages').reply(200, 'event: message_start\ndata: {not json\n\n', SSE_HEADERS);
    await expect(collect(adapter.stream(hello, ctx))).rejects.toMatchObject({ kind: 'upstream_error', message: expect.stringMatching(/invalid stream event/) });
  });

  it('maps an HTTP 529 at stream start to overloaded', async () => {
    nock(BASE).post('/v1/messages').reply(529, fixtureJson('anthropic/error-529.json'));
    await expect(collect(adapter.stream(hello, ctx))).rejects.toMatchObject({ kind: 'overloaded', status: 529, retryable: true });
  });
});

describe('Anthropic adapter: errors', () => {
  it.each([
    [400, 'anthropic/error-prompt-too-long.json', {}, 'context_length_exceeded', false, undefined, 'invalid_request_error'],
    [400, 'anthropic/error-invalid-request.json', {}, 'bad_request', false, undefined, 'invalid_request_error'],
    [401, 'anthropic/error-401.json', {}, 'auth', false, undefined, 'authentication_error'],
    [429, 'anthropic/error-429.json', { 'retry-after': '2' }, 'rate_limited', true, 2000, 'rate_limit_error'],
    [500, 'anthropic/error-500.json', {}, 'upstream_error', true, undefined, 'api_error'],
    [529, 'anthropic/error-529.json', {}, 'overloaded', true, undefined, 'overloaded_error'],
  ])('maps HTTP %i (%s) to a typed error', async (status, file, headers, kind, retryable, retryAfterMs, upstreamCode) => {
    answerWith(file, status, headers);
    const err = (await adapter.complete(hello, ctx).catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind, status, retryable, retryAfterMs, upstreamCode, provider: 'anthropic' });
    expect(err.message).toBe(fixtureJson<{ error: { message: string } }>(file).error.message);
    expect(err.message).not.toContain(API_KEY);
  });

  it('reads retryAfterMs from anthropic-ratelimit-*-reset when retry-after is absent', async () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const clock = jest.spyOn(Date, 'now').mockReturnValue(now);
    try {
      answerWith('anthropic/error-429.json', 429, {
        'anthropic-ratelimit-requests-reset': new Date(now + 30_000).toISOString(),
        'anthropic-ratelimit-tokens-reset': new Date(now + 12_000).toISOString(),
      });
      await expect(adapter.complete(hello, ctx)).rejects.toMatchObject({ kind: 'rate_limited', retryAfterMs: 30_000 });
    } finally {
      clock.mockRestore();
    }
  });

  it('maps a billing_error (402, out of credit) to a non-retryable quota error, as the OpenAI family does', async () => {
    nock(BASE)
      .post('/v1/messages')
      .reply(402, { type: 'error', error: { type: 'billing_error', message: 'Your credit balance is too low to access the Anthropic API.' } });
    await expect(adapter.complete(hello, ctx)).rejects.toMatchObject({ kind: 'rate_limited', status: 402, retryable: false, message: expect.stringContaining('out of credit') });
    nock(BASE).post('/v1/messages').reply(402, 'Payment Required');
    await expect(adapter.complete(hello, ctx)).rejects.toMatchObject({ kind: 'rate_limited', retryable: false });
  });

  it.each([
    [403, 'permission_error', 'Your API key does not have permission to use the specified resource.', 'auth', undefined],
    [504, 'timeout_error', 'Request timed out', 'timeout', undefined],
    [404, 'not_found_error', 'model: claude-nope', 'bad_request', undefined],
    [413, 'request_too_large', 'Request exceeds the maximum allowed number of bytes.', 'bad_request', undefined],
    [
      400,
      'invalid_request_error',
      'input length and `max_tokens` exceed context limit: 198000 + 4096 > 200000, decrease input length or `max_tokens` and try again',
      'context_length_exceeded',
      undefined,
    ],
    [529, 'overloaded_error', 'Overloaded', 'overloaded', undefined],
    [500, 'api_error', 'Internal server error', 'upstream_error', undefined],
  ])('reads HTTP %i %s', (status, type, message, kind, retryable) => {
    expect(readAnthropicError(status, { type: 'error', error: { type, message } }, '')).toEqual({
      message,
      code: type,
      kind,
      ...(retryable !== undefined ? { retryable } : {}),
    });
  });

  it('leaves a non-JSON error body to the status classification', () => {
    expect(readAnthropicError(502, undefined, '<html>Bad Gateway</html>')).toEqual({ message: '<html>Bad Gateway</html>', code: undefined });
    expect(readAnthropicError(529, undefined, '')).toEqual({ message: 'HTTP 529', code: undefined });
  });
});

describe('Anthropic adapter: cancellation, models, registry', () => {
  it('aborts the upstream call when the caller aborts', async () => {
    nock(BASE).post('/v1/messages').delay(400).reply(200, fixtureJson('anthropic/message-text.json'));
    const controller = new AbortController();
    const pending = adapter.complete(hello, { ...ctx, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toBeInstanceOf(CallerAbortError);
  });

  it('aborts a stream mid-way when the caller aborts', async () => {
    streamWith('anthropic/stream-text.sse', { chunkSize: 7 });
    const controller = new AbortController();
    const seen: ChatChunk[] = [];
    const run = (async () => {
      for await (const chunk of adapter.stream(hello, { ...ctx, signal: controller.signal })) {
        seen.push(chunk);
        controller.abort();
      }
    })();
    await expect(run).rejects.toBeInstanceOf(CallerAbortError);
    expect(seen).toHaveLength(1);
  });

  it('lists models across pages', async () => {
    const list = fixtureJson<{ data: Array<{ id: string }> }>('anthropic/models.json');
    const [first, second] = list.data;
    nock(BASE, { reqheaders: { 'x-api-key': API_KEY, 'anthropic-version': '2023-06-01' } })
      .get('/v1/models')
      .query({ limit: '1000' })
      .reply(200, { ...list, data: [first], has_more: true, last_id: first!.id })
      .get('/v1/models')
      .query({ limit: '1000', after_id: first!.id })
      .reply(200, { ...list, data: [second], has_more: false, first_id: second!.id });
    await expect(adapter.listModels(ctx)).resolves.toEqual([
      { id: 'claude-sonnet-4-5-20250929', ownedBy: 'anthropic' },
      { id: 'claude-haiku-4-5-20251001', ownedBy: 'anthropic' },
    ]);
  });

  it('is registered for type anthropic with its default base URL and env key', () => {
    const [runtime] = resolveProviders({ providers: {} }, { ANTHROPIC_API_KEY: 'sk-ant-env' });
    expect(runtime!.adapter).toBeInstanceOf(AnthropicAdapter);
    expect(runtime!.adapter.name).toBe('anthropic');
    expect(runtime!.credentials).toMatchObject({ apiKey: 'sk-ant-env', baseUrl: 'https://api.anthropic.com' });
    const [overridden] = resolveProviders({ providers: {} }, { ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9999' });
    expect(overridden!.credentials.baseUrl).toBe('http://127.0.0.1:9999');
  });
});
