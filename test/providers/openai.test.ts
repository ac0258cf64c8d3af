import nock from 'nock';
import { OpenAIAdapter } from '../../src/providers/openai';
import { createCompatibleAdapter } from '../../src/providers/openai-compatible';
import { ProviderError, gatewayErrorFromProvider } from '../../src/core/errors';
import { CallerAbortError, closeUpstreamPools } from '../../src/core/http';
import type { CallContext } from '../../src/core/adapter';
import type { ChatRequest } from '../../src/core/schema';
import { chunkJson } from '../../src/core/wire-text';
import { collect, fixtureJson, fixtureText, sseBody, SSE_HEADERS } from '../helpers/fixtures';
import { assertOpenAIChunk, assertOpenAIError, assertOpenAIResponse } from '../helpers/openai-schema';

const BASE = 'https://api.openai.test/v1';
const ctx: CallContext = { credentials: { apiKey: 'sk-test-secret-123456', baseUrl: BASE } };
const adapter = new OpenAIAdapter();
const hello: ChatRequest = { model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'Hi' }] };

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  await closeUpstreamPools();
});

describe('OpenAI adapter', () => {
  it('sends the request with bearer auth and returns a schema-valid response', async () => {
    let sent: Record<string, unknown> = {};
    nock(BASE, { reqheaders: { authorization: 'Bearer sk-test-secret-123456' } })
      .post('/chat/completions', (b) => ((sent = b), true))
      .reply(200, fixtureJson('openai/chat-basic.json'));
    const res = await adapter.complete({ ...hello, max_tokens: 50, custom_field: 'kept' } as ChatRequest, ctx);
    assertOpenAIResponse(res);
    expect(res.choices[0]!.message.content).toBe('Hello! ¿Cómo estás? 👋');
    expect(res.usage).toEqual(fixtureJson<{ usage: unknown }>('openai/chat-basic.json').usage);
    expect(sent).toMatchObject({ model: 'gpt-4.1-mini', max_completion_tokens: 50, custom_field: 'kept', stream: false });
    expect(sent).not.toHaveProperty('max_tokens');
  });

  it('returns the token log probabilities a logprobs request asked for', async () => {
    let sent: Record<string, unknown> = {};
    nock(BASE)
      .post('/chat/completions', (b) => ((sent = b), true))
      .reply(200, fixtureJson('openai/chat-logprobs.json'));
    const res = await adapter.complete({ ...hello, logprobs: true, top_logprobs: 2 } as ChatRequest, ctx);
    assertOpenAIResponse(res);
    expect(sent).toMatchObject({ logprobs: true, top_logprobs: 2 });
    expect(res.choices[0]!.logprobs).toEqual(fixtureJson<{ choices: [{ logprobs: unknown }] }>('openai/chat-logprobs.json').choices[0].logprobs);
  });

  it('keeps the documented fields the upstream sent: usage details, service_tier, annotations, audio', async () => {
    const upstream = {
      ...fixtureJson<Record<string, unknown>>('openai/chat-basic.json'),
      service_tier: 'flex',
      metadata: { flow: 'demo' },
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'See the docs.',
            refusal: null,
            annotations: [{ type: 'url_citation', url_citation: { start_index: 4, end_index: 12, url: 'https://example.com/docs', title: 'Docs' } }],
            audio: { id: 'audio_1', expires_at: 1741573552, data: 'UklGRg==', transcript: 'See the docs.' },
          },
          logprobs: null,
          finish_reason: 'stop',
        },
      ],
      usage: {
        prompt_tokens: 1200,
        completion_tokens: 300,
        total_tokens: 1500,
        prompt_tokens_details: { cached_tokens: 1024, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 192, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
    };
    nock(BASE).post('/chat/completions').reply(200, upstream);
    const res = await adapter.complete(hello, ctx);
    assertOpenAIResponse(res);
    expect(res).toEqual(upstream);
  });

  it('drops extra fields that are undocumented or not valid as documented, so the answer stays schema-valid', async () => {
    const upstream = {
      ...fixtureJson<Record<string, unknown>>('openai/chat-basic.json'),
      service_tier: 'on_demand', // Groq's tier name, not one of OpenAI's
      x_groq: { id: 'req_1' },
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', reasoning_content: 'think', function_call: null, annotations: [{ type: 'file' }] }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6, prompt_tokens_details: null, completion_tokens_details: { reasoning_tokens: 0, vendor_tokens: 3 } },
    };
    nock(BASE).post('/chat/completions').reply(200, upstream);
    const res = await adapter.complete(hello, ctx);
    assertOpenAIResponse(res);
    expect(res).not.toHaveProperty('service_tier');
    expect(res).not.toHaveProperty('x_groq');
    expect(res.choices[0]!.message).toEqual({ role: 'assistant', content: 'Hi', refusal: null });
    expect(res.usage).toEqual({ prompt_tokens: 5, completion_tokens: 1, total_tokens: 6, completion_tokens_details: { reasoning_tokens: 0 } });
  });

  it('streams awkwardly split SSE into schema-valid chunks with a usage chunk', async () => {
    let sent: Record<string, unknown> = {};
    nock(BASE)
      .post('/chat/completions', (b) => ((sent = b), true))
      .reply(200, () => sseBody('openai/stream-basic.sse', { chunkSize: 5 }), SSE_HEADERS);
    const chunks = await collect(adapter.stream({ ...hello, stream: true }, ctx));
    chunks.forEach(assertOpenAIChunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe('Hello! ¿Cómo estás? 👋');
    expect(chunks.at(-1)!.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 9 });
    expect(sent.stream_options).toEqual({ include_usage: true });
  });

  it('keeps the upstream text of chunks already in OpenAI\'s shape and normalises the others', async () => {
    const event = (chunk: Record<string, unknown>) => `data: ${JSON.stringify(chunk)}\n\n`;
    const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1741569952, model: 'gpt-4.1-mini' };
    const withLogprobs = { ...base, obfuscation: 'x1', choices: [{ index: 0, delta: { content: 'Hi' }, logprobs: { content: [{ token: 'Hi', logprob: -0.1, bytes: [72, 105], top_logprobs: [] }] }, finish_reason: null }] };
    // The shape most events have: read without JSON.parse (src/providers/openai-content-delta.ts).
    const plain = { ...base, service_tier: 'default', system_fingerprint: 'fp_1', choices: [{ index: 0, delta: { content: ' there' }, logprobs: null, finish_reason: null }], obfuscation: 'pad' };
    const mistralFinish = { ...base, choices: [{ index: 0, delta: {}, finish_reason: 'model_length' }] };
    const usage = { ...base, service_tier: 'default', choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, completion_tokens_details: { audio_tokens: 0 } } };
    nock(BASE)
      .post('/chat/completions')
      .reply(200, [withLogprobs, plain, mistralFinish, usage].map(event).join('') + 'data: [DONE]\n\n', SSE_HEADERS);
    const [first, second, finish, usageChunk] = await collect(adapter.stream(hello, ctx));
    expect(chunkJson(first!)).toBe(JSON.stringify(withLogprobs));
    expect(second).toStrictEqual(plain);
    expect(chunkJson(second!)).toBe(JSON.stringify(plain));
    expect(chunkJson({ ...second!, model: 'changed' })).toContain('"model":"changed"');
    expect(finish!.choices[0]!.finish_reason).toBe('length');
    expect(chunkJson(finish!)).toBe(JSON.stringify(finish));
    expect(usageChunk!.usage).toEqual({ prompt_tokens: 3, completion_tokens: 1, total_tokens: 4, completion_tokens_details: { audio_tokens: 0 } });
    expect(usageChunk!.service_tier).toBe('default');
    assertOpenAIChunk(usageChunk);
    expect(chunkJson(usageChunk!)).toBe(JSON.stringify(usageChunk));
    // A copy never carries the upstream text of the chunk it was made from.
    expect(chunkJson({ ...first!, model: 'changed' })).toContain('"model":"changed"');
  });

  it("normalises a content chunk whose service_tier OpenAI does not document (Groq's on_demand)", async () => {
    const groq = { id: 'chatcmpl-2', object: 'chat.completion.chunk', created: 1741569952, model: 'llama-3.1-8b-instant', service_tier: 'on_demand', choices: [{ index: 0, delta: { content: 'Hi' }, logprobs: null, finish_reason: null }] };
    const openai = { ...groq, service_tier: 'default' };
    nock(BASE).post('/chat/completions').reply(200, [groq, openai].map((c) => `data: ${JSON.stringify(c)}\n\n`).join('') + 'data: [DONE]\n\n', SSE_HEADERS);
    const [fromGroq, fromOpenAI] = await collect(adapter.stream(hello, ctx));
    assertOpenAIChunk(JSON.parse(chunkJson(fromGroq!)));
    expect(fromGroq).not.toHaveProperty('service_tier');
    expect(fromGroq!.choices[0]!.delta.content).toBe('Hi');
    expect(chunkJson(fromOpenAI!)).toBe(JSON.stringify(openai));
  });

  it('streams tool-call argument deltas', async () => {
    nock(BASE).post('/chat/completions').reply(200, () => sseBody('openai/stream-tool-call.sse', { chunkSize: 3 }), SSE_HEADERS);
    const chunks = await collect(adapter.stream(hello, ctx));
    const args = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []).map((t) => t.function?.arguments ?? '').join('');
    expect(JSON.parse(args)).toEqual({ city: 'Paris' });
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('reports a stream that streamed tool calls and then finished with "stop" as tool_calls, as the non-streaming answer does', async () => {
    // Some servers (and OpenAI for a named tool_choice) finish a tool call with "stop".
    const text = fixtureText('openai/stream-tool-call.sse').replace('"finish_reason":"tool_calls"', '"finish_reason":"stop"');
    nock(BASE).post('/chat/completions').reply(200, text, SSE_HEADERS);
    const chunks = await collect(adapter.stream(hello, ctx));
    const finishing = chunks.filter((c) => c.choices[0]?.finish_reason);
    expect(finishing.map((c) => c.choices[0]?.finish_reason)).toEqual(['tool_calls']);
    for (const c of chunks) assertOpenAIChunk(c);
  });

  it('keeps "stop" for a streamed answer without tool calls (relayed as it came)', async () => {
    nock(BASE).post('/chat/completions').reply(200, fixtureText('openai/stream-basic.sse'), SSE_HEADERS);
    const chunks = await collect(adapter.stream(hello, ctx));
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('fails a stream that dies mid-way instead of ending it cleanly', async () => {
    nock(BASE).post('/chat/completions').reply(200, () => sseBody('openai/stream-basic.sse', { dieAfterBytes: 400 }), SSE_HEADERS);
    await expect(collect(adapter.stream(hello, ctx))).rejects.toMatchObject({ kind: 'upstream_error', retryable: true });
  });

  it('fails a stream that ends without [DONE]', async () => {
    const cut = fixtureText('openai/stream-basic.sse').split('data: [DONE]')[0];
    nock(BASE).post('/chat/completions').reply(200, cut, SSE_HEADERS);
    await expect(collect(adapter.stream(hello, ctx))).rejects.toThrow(/before \[DONE\]/);
  });

  it.each([
    [400, 'openai/error-context-length.json', {}, 'context_length_exceeded', false, undefined],
    [401, 'openai/error-401.json', {}, 'auth', false, undefined],
    [429, 'openai/error-429.json', { 'retry-after-ms': '120' }, 'rate_limited', true, 120],
    [429, 'openai/error-429.json', { 'retry-after': '2' }, 'rate_limited', true, 2000],
    [500, 'openai/error-500.json', {}, 'upstream_error', true, undefined],
    [503, 'openai/error-500.json', {}, 'overloaded', true, undefined],
  ])('maps HTTP %i to a typed error', async (status, file, headers, kind, retryable, retryAfterMs) => {
    nock(BASE).post('/chat/completions').reply(status, fixtureJson(file), headers);
    const err = (await adapter.complete(hello, ctx).catch((e) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind, status, retryable, retryAfterMs, provider: 'openai' });
    expect(err.message).not.toContain('sk-bad');
  });

  it("relays a rejected request's param and code, with secrets the upstream echoed masked", async () => {
    const body = {
      error: {
        message: "Invalid 'temperature': decimal above maximum value (key sk-test-secret-123456).",
        type: 'invalid_request_error',
        param: 'temperature',
        code: 'decimal_above_max_value',
      },
    };
    nock(BASE).post('/chat/completions').reply(400, body);
    const err = (await adapter.complete({ ...hello, temperature: 2 }, ctx).catch((e) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'bad_request', status: 400, param: 'temperature', upstreamCode: 'decimal_above_max_value', retryable: false });
    const answer = gatewayErrorFromProvider(err).toBody();
    assertOpenAIError(answer);
    expect(answer.error).toMatchObject({ type: 'invalid_request_error', param: 'temperature', code: 'decimal_above_max_value' });
    expect(answer.error.message).toContain("Invalid 'temperature'");
    expect(answer.error.message).not.toContain('sk-test-secret-123456');
  });

  it.each([
    ['a tool-call id', 'messages[1].tool_calls[0].id', 40, 137, 'bad_request'],
    ['a function name', 'tools[0].function.name', 64, 80, 'bad_request'],
    ['message content', 'messages[0].content', 10485760, 10490011, 'context_length_exceeded'],
  ])('classifies string_above_max_length on %s by its param, relaying param and code', async (_name, param, max, got, kind) => {
    const message = `Invalid '${param}': string too long. Expected a string with maximum length ${max}, but got a string with length ${got} instead.`;
    nock(BASE).post('/chat/completions').reply(400, { error: { message, type: 'invalid_request_error', param, code: 'string_above_max_length' } });
    const err = (await adapter.complete(hello, ctx).catch((e) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind, status: 400, param, upstreamCode: 'string_above_max_length', retryable: false });
    const answer = gatewayErrorFromProvider(err).toBody();
    assertOpenAIError(answer);
    expect(answer.error.param).toBe(param);
  });

  it.each([
    ['a 400 whose code is null', 400, { error: { message: 'Unrecognized request argument supplied: foo', type: 'invalid_request_error', param: null, code: null } }, null, 'upstream_bad_request'],
    ['a context-length 400', 400, fixtureJson('openai/error-context-length.json'), 'messages', 'context_length_exceeded'],
    ['a 404 for an unknown model', 404, { error: { message: 'The model `gpt-9` does not exist', type: 'invalid_request_error', param: 'model', code: 'model_not_found' } }, 'model', 'model_not_found'],
  ])('relays param and code of %s', async (_name, status, body, param, code) => {
    nock(BASE).post('/chat/completions').reply(status, body);
    const err = (await adapter.complete(hello, ctx).catch((e) => e)) as ProviderError;
    const answer = gatewayErrorFromProvider(err).toBody();
    assertOpenAIError(answer);
    expect(answer.error).toMatchObject({ param, code });
  });

  it('relays the param of an error sent inside a 200 answer or a stream', async () => {
    const body = { error: { message: 'Invalid tool schema', type: 'invalid_request_error', param: 'tools[0].function.parameters', code: 'invalid_value' } };
    nock(BASE).post('/chat/completions').reply(200, body);
    await expect(adapter.complete(hello, ctx)).rejects.toMatchObject({ param: 'tools[0].function.parameters' });
    nock(BASE).post('/chat/completions').reply(200, `data: ${JSON.stringify(body)}\n\n`, SSE_HEADERS);
    await expect(collect(adapter.stream(hello, ctx))).rejects.toMatchObject({ param: 'tools[0].function.parameters' });
  });

  it('aborts the upstream call when the caller aborts', async () => {
    nock(BASE).post('/chat/completions').delay(400).reply(200, fixtureJson('openai/chat-basic.json'));
    const controller = new AbortController();
    const pending = adapter.complete(hello, { ...ctx, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toBeInstanceOf(CallerAbortError);
  });

  it('times out when no response arrives within the first-byte timeout', async () => {
    nock(BASE).post('/chat/completions').delay(400).reply(200, fixtureJson('openai/chat-basic.json'));
    await expect(adapter.complete(hello, { ...ctx, timeouts: { firstByteMs: 30 } })).rejects.toMatchObject({ kind: 'timeout', retryable: true });
  });

  it('lists models', async () => {
    nock(BASE).get('/models').reply(200, { object: 'list', data: [{ id: 'gpt-4.1-mini', object: 'model', created: 1, owned_by: 'openai' }] });
    await expect(adapter.listModels(ctx)).resolves.toEqual([{ id: 'gpt-4.1-mini', ownedBy: 'openai' }]);
  });
});

describe('OpenAI-compatible presets', () => {
  it('Mistral: max_tokens, random_seed, tool_choice any, unknown strict fields dropped', async () => {
    let sent: Record<string, unknown> = {};
    nock('https://api.mistral.test/v1').post('/chat/completions', (b) => ((sent = b), true)).reply(200, fixtureJson('openai/chat-basic.json'));
    const mistral = createCompatibleAdapter('mistral');
    const tools = [{ type: 'function' as const, function: { name: 'f', parameters: { type: 'object' } } }];
    await mistral.complete({ ...hello, max_completion_tokens: 9, seed: 4, user: 'u', tools, tool_choice: 'required' }, { credentials: { apiKey: 'k', baseUrl: 'https://api.mistral.test/v1' } });
    expect(sent).toMatchObject({ max_tokens: 9, random_seed: 4, tool_choice: 'any' });
    expect(sent).not.toHaveProperty('user');
    expect(sent).not.toHaveProperty('seed');
  });

  it('Ollama: no auth header when keyless', async () => {
    nock('http://ollama.test:11434/v1', { badheaders: ['authorization'] }).post('/chat/completions').reply(200, fixtureJson('openai/chat-basic.json'));
    const res = await createCompatibleAdapter('ollama').complete({ ...hello, model: 'llama3.2' }, { credentials: { baseUrl: 'http://ollama.test:11434/v1' } });
    expect(res.choices[0]!.message.content).toContain('Hello');
  });
});
