import nock from 'nock';
import { GeminiAdapter, imagePart, toGeminiSchema } from '../../src/providers/gemini';
import { resolveProviders } from '../../src/providers/registry';
import { ProviderError } from '../../src/core/errors';
import { CallerAbortError, closeUpstreamPools } from '../../src/core/http';
import type { CallContext } from '../../src/core/adapter';
import type { ChatChunk, ChatRequest } from '../../src/core/schema';
import { collect, fixtureJson, fixtureText, sseBody, SSE_HEADERS } from '../helpers/fixtures';
import { assertOpenAIChunk, assertOpenAIResponse } from '../helpers/openai-schema';

const BASE = 'https://generativelanguage.gemini.test';
const KEY = 'AIzaSyTestSecretKey0123456789';
const ctx: CallContext = { credentials: { apiKey: KEY, baseUrl: BASE } };
const adapter = new GeminiAdapter();
const MODEL = 'gemini-2.0-flash';
const GENERATE = `/v1beta/models/${MODEL}:generateContent`;
const STREAM = `/v1beta/models/${MODEL}:streamGenerateContent`;
const hello: ChatRequest = { model: MODEL, messages: [{ role: 'user', content: 'Hi' }] };

const WEATHER_TOOL: NonNullable<ChatRequest['tools']>[number] = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Current weather for a city',
    strict: true,
    parameters: {
      $schema: 'http://json-schema.org/draft-07/schema#',
      type: 'object',
      properties: { city: { type: 'string' }, unit: { type: ['string', 'null'], enum: ['c', 'f', null] } },
      required: ['city', 'unit'],
      additionalProperties: false,
    },
  },
};

interface Captured {
  body?: Record<string, unknown>;
  path?: string;
  headers?: Record<string, unknown>;
}

/** Replies with `file` and records what the upstream received (path with query, headers, JSON body). */
function captureGenerate(file: string, path = GENERATE): Captured {
  const seen: Captured = {};
  nock(BASE)
    .post(path)
    .reply(function (uri, body) {
      seen.path = uri;
      seen.headers = this.req.headers;
      seen.body = body as Record<string, unknown>;
      return [200, fixtureJson(file)];
    });
  return seen;
}

function textOf(chunks: ChatChunk[]): string {
  return chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  await closeUpstreamPools();
});

describe('Gemini adapter: request mapping', () => {
  it('maps a full conversation to a GenerateContentRequest, key only in x-goog-api-key', async () => {
    const seen = captureGenerate('gemini/generate-text.json');
    const req = {
      model: MODEL,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: [{ type: 'text', text: 'Answer in English.' }] },
        {
          role: 'user',
          content: [
            { type: 'text', text: 'What is in these pictures, and the weather in Paris and Rome?' },
            { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
            { type: 'image_url', image_url: { url: 'https://example.com/photos/cat.webp?size=large' } },
          ],
        },
        {
          role: 'assistant',
          content: 'Let me check.',
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_b', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: '{"temp_c":18}' },
        { role: 'tool', tool_call_id: 'call_b', content: 'sunny, 24 C' },
        { role: 'user', content: 'Thanks!' },
      ],
      tools: [WEATHER_TOOL, { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } }],
      tool_choice: { type: 'function', function: { name: 'get_weather' } },
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 100,
      max_completion_tokens: 50,
      stop: 'END',
      seed: 7,
      user: 'u-1',
      metadata: { a: 'b' },
      parallel_tool_calls: true,
      logit_bias: { '50256': -100 },
    } as ChatRequest;
    const res = await adapter.complete(req, ctx);
    assertOpenAIResponse(res);

    expect(seen.path).toBe(GENERATE);
    expect(seen.path).not.toContain(KEY);
    expect(seen.path).not.toMatch(/[?&]key=/);
    expect(seen.headers?.['x-goog-api-key']).toBe(KEY);
    expect(seen.headers).not.toHaveProperty('authorization');
    expect(seen.body).toEqual({
      systemInstruction: { parts: [{ text: 'Be brief.' }, { text: 'Answer in English.' }] },
      contents: [
        {
          role: 'user',
          parts: [
            { text: 'What is in these pictures, and the weather in Paris and Rome?' },
            { inlineData: { mimeType: 'image/png', data: 'iVBORw0KGgo=' } },
            { fileData: { mimeType: 'image/webp', fileUri: 'https://example.com/photos/cat.webp?size=large' } },
          ],
        },
        {
          role: 'model',
          parts: [
            { text: 'Let me check.' },
            // Not Gemini's own calls: the first carries the documented bypass signature.
            { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'skip_thought_signature_validator' },
            { functionCall: { name: 'get_weather', args: { city: 'Rome' } } },
          ],
        },
        {
          role: 'user',
          parts: [
            { functionResponse: { name: 'get_weather', response: { temp_c: 18 } } },
            { functionResponse: { name: 'get_weather', response: { content: 'sunny, 24 C' } } },
            { text: 'Thanks!' },
          ],
        },
      ],
      tools: [
        {
          functionDeclarations: [
            {
              name: 'get_weather',
              description: 'Current weather for a city',
              parameters: {
                type: 'object',
                properties: { city: { type: 'string' }, unit: { type: 'string', nullable: true, enum: ['c', 'f'] } },
                propertyOrdering: ['city', 'unit'],
                required: ['city', 'unit'],
              },
            },
            { name: 'now' },
          ],
        },
      ],
      toolConfig: { functionCallingConfig: { mode: 'ANY', allowedFunctionNames: ['get_weather'] } },
      generationConfig: { temperature: 0.2, topP: 0.9, maxOutputTokens: 50, stopSequences: ['END'], seed: 7 },
    });
  });

  it.each([
    ['auto', { mode: 'AUTO' }],
    ['none', { mode: 'NONE' }],
    ['required', { mode: 'ANY' }],
  ] as const)('maps tool_choice %s to functionCallingConfig', async (choice, config) => {
    const seen = captureGenerate('gemini/generate-text.json');
    await adapter.complete({ ...hello, tools: [WEATHER_TOOL], tool_choice: choice }, ctx);
    expect(seen.body?.toolConfig).toEqual({ functionCallingConfig: config });
  });

  it('maps json_object to responseMimeType and json_schema to responseSchema', async () => {
    const jsonObject = captureGenerate('gemini/generate-json-schema.json');
    await adapter.complete({ ...hello, response_format: { type: 'json_object' } }, ctx);
    expect(jsonObject.body?.generationConfig).toEqual({ responseMimeType: 'application/json' });

    const jsonSchema = captureGenerate('gemini/generate-json-schema.json');
    const schema = {
      type: 'object',
      properties: { industry: { type: 'string' }, size: { type: 'string', enum: ['1-50', '51-200', '200+'] } },
      required: ['industry', 'size'],
      additionalProperties: false,
    };
    await adapter.complete({ ...hello, response_format: { type: 'json_schema', json_schema: { name: 'company', strict: true, schema } } }, ctx);
    expect(jsonSchema.body?.generationConfig).toEqual({
      responseMimeType: 'application/json',
      responseSchema: {
        type: 'object',
        properties: { industry: { type: 'string' }, size: { type: 'string', enum: ['1-50', '51-200', '200+'] } },
        propertyOrdering: ['industry', 'size'],
        required: ['industry', 'size'],
      },
    });
  });

  it('sends a model turn with its thoughtSignature back, taken from the tool-call id', async () => {
    captureGenerate('gemini/generate-function-call.json');
    const first = await adapter.complete({ ...hello, tools: [WEATHER_TOOL] }, ctx);
    const call = first.choices[0]!.message.tool_calls![0]!;
    const seen = captureGenerate('gemini/generate-text.json');
    await adapter.complete(
      {
        ...hello,
        messages: [
          { role: 'user', content: 'Weather in Paris?' },
          { role: 'assistant', content: null, tool_calls: [call] },
          { role: 'tool', tool_call_id: call.id, content: '{"temp_c":18}' },
        ],
      },
      ctx,
    );
    const signature = fixtureJson<{ candidates: Array<{ content: { parts: Array<{ thoughtSignature: string }> } }> }>('gemini/generate-function-call.json')
      .candidates[0]!.content.parts[0]!.thoughtSignature;
    expect((seen.body?.contents as unknown[])[1]).toEqual({
      role: 'model',
      parts: [{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: signature }],
    });
  });

  it('sends the documented bypass signature on the first call of a turn that carries none (history from another provider)', async () => {
    const seen = captureGenerate('gemini/generate-text.json', '/v1beta/models/gemini-3-pro-preview:generateContent');
    const fromGemini = { id: 'call_0__thought__CiQBVKhc7nQ1', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city":"Oslo"}' } };
    await adapter.complete(
      {
        model: 'gemini-3-pro-preview',
        messages: [
          { role: 'user', content: 'Weather in Paris and Rome?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'call_Zx8kQe1XyAbC2dEf', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
              { id: 'toolu_01A09q90qw90lq917835lq9', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
            ],
          },
          { role: 'tool', tool_call_id: 'call_Zx8kQe1XyAbC2dEf', content: '{"temp_c":18}' },
          { role: 'tool', tool_call_id: 'toolu_01A09q90qw90lq917835lq9', content: '{"temp_c":21}' },
          { role: 'assistant', content: null, tool_calls: [fromGemini] },
          { role: 'tool', tool_call_id: fromGemini.id, content: '{"temp_c":4}' },
        ],
      },
      ctx,
    );
    const contents = seen.body?.contents as Array<{ role: string; parts: Array<Record<string, unknown>> }>;
    // Only the first call of a step carries a signature (parallel calls); Gemini's own one is kept.
    expect(contents[1]!.parts).toEqual([
      { functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: 'skip_thought_signature_validator' },
      { functionCall: { name: 'get_weather', args: { city: 'Rome' } } },
    ]);
    expect(contents[3]!.parts).toEqual([{ functionCall: { name: 'get_weather', args: { city: 'Oslo' } }, thoughtSignature: 'CiQBVKhc7nQ1' }]);
  });

  it('rejects a tool message that answers no earlier tool call, without calling upstream', async () => {
    const req: ChatRequest = { ...hello, messages: [{ role: 'user', content: 'Hi' }, { role: 'tool', tool_call_id: 'call_x', content: '1' }] };
    await expect(adapter.complete(req, ctx)).rejects.toMatchObject({ kind: 'bad_request', message: expect.stringContaining("messages[1].tool_call_id 'call_x'") });
  });

  it('rejects tool-call arguments that are not a JSON object', async () => {
    const req: ChatRequest = {
      ...hello,
      messages: [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '[1,2' } }] }],
    };
    await expect(adapter.complete(req, ctx)).rejects.toMatchObject({ kind: 'bad_request', message: expect.stringContaining('messages[0].tool_calls[0].function.arguments') });
  });

  it('maps image URLs: percent-encoded data URLs are re-encoded, unknown extensions default to JPEG', () => {
    expect(imagePart('data:image/svg+xml,%3Csvg%2F%3E')).toEqual({ inlineData: { mimeType: 'image/svg+xml', data: Buffer.from('<svg/>').toString('base64') } });
    expect(imagePart('https://example.com/render?id=1')).toEqual({ fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/render?id=1' } });
    expect(imagePart('https://example.com/a.JPG')).toEqual({ fileData: { mimeType: 'image/jpeg', fileUri: 'https://example.com/a.JPG' } });
  });

  it('accepts a base URL that already names the API version, and model ids with a models/ prefix', async () => {
    nock(BASE).post(GENERATE).reply(200, fixtureJson('gemini/generate-text.json'));
    const res = await adapter.complete({ ...hello, model: `models/${MODEL}` }, { credentials: { apiKey: KEY, baseUrl: `${BASE}/v1beta/` } });
    expect(res.choices[0]!.message.content).toBe('Hello! ¿Cómo estás? 👋');
  });
});

describe('Gemini adapter: JSON Schema conversion', () => {
  it('inlines local $refs, folds null into nullable and drops keywords Gemini rejects', () => {
    const converted = toGeminiSchema({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: { address: { type: 'object', properties: { city: { type: 'string', format: 'email' } }, required: ['city', 'zip'] } },
      properties: {
        home: { $ref: '#/$defs/address', description: 'where they live' },
        work: { anyOf: [{ $ref: '#/$defs/address' }, { type: 'null' }], description: 'if employed' },
        tags: { type: 'array', items: { type: 'string', const: 'x' }, minItems: 1, uniqueItems: true },
        when: { type: 'string', format: 'date-time' },
        count: { type: 'integer', enum: [1, 2], minimum: 0, exclusiveMaximum: 10 },
        either: { oneOf: [{ type: 'string' }, { type: 'number', format: 'double' }] },
        both: { allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { b: { type: 'boolean' } } }] },
        multi: { type: ['string', 'integer'] },
      },
      additionalProperties: false,
      patternProperties: { '^x-': { type: 'string' } },
    });
    expect(converted).toEqual({
      type: 'object',
      properties: {
        home: { description: 'where they live', type: 'object', properties: { city: { type: 'string' } }, propertyOrdering: ['city'], required: ['city'] },
        work: { description: 'if employed', nullable: true, type: 'object', properties: { city: { type: 'string' } }, propertyOrdering: ['city'], required: ['city'] },
        tags: { type: 'array', items: { type: 'string', enum: ['x'] }, minItems: 1 },
        when: { type: 'string', format: 'date-time' },
        count: { type: 'integer', minimum: 0 },
        either: { anyOf: [{ type: 'string' }, { type: 'number', format: 'double' }] },
        both: { type: 'object', properties: { a: { type: 'string' }, b: { type: 'boolean' } }, propertyOrdering: ['a', 'b'], required: ['a'] },
        multi: { anyOf: [{ type: 'string' }, { type: 'integer' }] },
      },
      propertyOrdering: ['home', 'work', 'tags', 'when', 'count', 'either', 'both', 'multi'],
    });
  });

  it('cuts recursive references off instead of looping', () => {
    const converted = toGeminiSchema({ $ref: '#/definitions/node', definitions: { node: { type: 'object', properties: { child: { $ref: '#/definitions/node' } } } } });
    expect(JSON.stringify(converted).length).toBeLessThan(2000);
    expect(converted.type).toBe('object');
  });
});

describe('Gemini adapter: responses', () => {
  it('maps text, usage, model and id', async () => {
    nock(BASE).post(GENERATE).reply(200, fixtureJson('gemini/generate-text.json'));
    const res = await adapter.complete(hello, ctx);
    assertOpenAIResponse(res);
    expect(res).toMatchObject({
      id: 'R5sqaJaWNrPYj8MPjK2X2Q4',
      model: 'gemini-2.0-flash',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Hello! ¿Cómo estás? 👋', refusal: null }, finish_reason: 'stop', logprobs: null }],
    });
    expect(res.usage).toEqual({ prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 });
  });

  it('gives the calls of two turns different ids when Gemini sends none (Anthropic refuses repeated tool_use ids)', async () => {
    const body = fixtureJson<{ candidates: Array<{ content: { parts: Array<Record<string, unknown>> } }> }>('gemini/generate-function-call.json');
    for (const part of body.candidates[0]!.content.parts) delete part.thoughtSignature;
    nock(BASE).post(GENERATE).times(2).reply(200, body);
    const first = await adapter.complete({ ...hello, tools: [WEATHER_TOOL] }, ctx);
    const second = await adapter.complete({ ...hello, tools: [WEATHER_TOOL] }, ctx);
    const [a, b] = [first, second].map((r) => r.choices[0]!.message.tool_calls![0]!.id);
    expect(a).toMatch(/^call_0_[0-9a-f]{12}$/);
    expect(b).not.toBe(a);
  });

  it('maps a functionCall part to a tool call with a generated id', async () => {
    nock(BASE).post(GENERATE).reply(200, fixtureJson('gemini/generate-function-call.json'));
    const res = await adapter.complete({ ...hello, tools: [WEATHER_TOOL] }, ctx);
    assertOpenAIResponse(res);
    const message = res.choices[0]!.message;
    expect(message.content).toBeNull();
    expect(message.tool_calls).toHaveLength(1);
    expect(message.tool_calls![0]).toMatchObject({ type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect(message.tool_calls![0]!.id).toMatch(/^call_0/);
    expect(res.choices[0]!.finish_reason).toBe('tool_calls');
    expect(res.usage).toEqual({ prompt_tokens: 58, completion_tokens: 68, total_tokens: 126, completion_tokens_details: { reasoning_tokens: 52 } });
  });

  it('counts thoughts as completion tokens and reports cached prompt tokens', async () => {
    nock(BASE).post(GENERATE).reply(200, fixtureJson('gemini/generate-json-schema.json'));
    const res = await adapter.complete({ ...hello, response_format: { type: 'json_object' } }, ctx);
    assertOpenAIResponse(res);
    expect(JSON.parse(res.choices[0]!.message.content!)).toEqual({ industry: 'Software', size: '51-200' });
    expect(res.usage).toEqual({
      prompt_tokens: 1290,
      completion_tokens: 97,
      total_tokens: 1387,
      prompt_tokens_details: { cached_tokens: 1024 },
      completion_tokens_details: { reasoning_tokens: 85 },
    });
  });

  it('maps a SAFETY finish to content_filter', async () => {
    nock(BASE).post(GENERATE).reply(200, fixtureJson('gemini/generate-safety.json'));
    const res = await adapter.complete(hello, ctx);
    assertOpenAIResponse(res);
    expect(res.choices[0]).toMatchObject({ finish_reason: 'content_filter', message: { content: null } });
  });

  it.each([
    ['MAX_TOKENS', 'length'],
    // An unsupported language stopped the answer.
    ['LANGUAGE', 'content_filter'],
  ])('maps %s to %s', async (reason, expected) => {
    const body = fixtureJson<{ candidates: Array<{ finishReason: string }> }>('gemini/generate-text.json');
    body.candidates[0]!.finishReason = reason;
    nock(BASE).post(GENERATE).reply(200, body);
    const res = await adapter.complete(hello, ctx);
    expect(res.choices[0]!.finish_reason).toBe(expected);
  });

  it.each(['OTHER', 'NO_IMAGE', 'IMAGE_OTHER'])('throws a retryable upstream_error for %s rather than a complete-looking answer', async (reason) => {
    const body = fixtureJson<{ candidates: Array<{ finishReason: string }> }>('gemini/generate-text.json');
    body.candidates[0]!.finishReason = reason;
    nock(BASE).post(GENERATE).reply(200, body);
    const err = await adapter.complete(hello, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'upstream_error', retryable: true, upstreamCode: reason, provider: 'gemini' });
  });

  it.each(['MALFORMED_FUNCTION_CALL', 'UNEXPECTED_TOOL_CALL', 'TOO_MANY_TOOL_CALLS'])('throws a retryable upstream_error for %s instead of an empty answer', async (reason) => {
    const body = {
      candidates: [{ content: { role: 'model', parts: [] }, finishReason: reason, finishMessage: 'Malformed function call: print(default_api.get_weather(city=))', index: 0 }],
      usageMetadata: { promptTokenCount: 58, totalTokenCount: 58 },
      modelVersion: 'gemini-2.5-flash',
      responseId: 'x1yQaPbCHLaIqtsPv5mJ8Ao',
    };
    nock(BASE).post(GENERATE).reply(200, body);
    const err = await adapter.complete({ ...hello, tools: [WEATHER_TOOL] }, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'upstream_error', retryable: true, upstreamCode: reason, provider: 'gemini' });
    expect((err as ProviderError).message).toContain('print(default_api.get_weather(city=))');
  });

  it('rejects a 200 body that is not a GenerateContentResponse', async () => {
    nock(BASE).post(GENERATE).reply(200, { candidates: 'nope' });
    await expect(adapter.complete(hello, ctx)).rejects.toMatchObject({ kind: 'upstream_error', message: 'upstream sent an unexpected response shape' });
  });

  it('throws content_filter for a blocked prompt', async () => {
    nock(BASE).post(GENERATE).reply(200, fixtureJson('gemini/generate-prompt-blocked.json'));
    const err = await adapter.complete(hello, ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'content_filter', retryable: false, upstreamCode: 'PROHIBITED_CONTENT', provider: 'gemini' });
  });
});

describe('Gemini adapter: streaming', () => {
  it.each([1, 5, 64])('streams text split every %i bytes: role, deltas, finish, usage', async (chunkSize) => {
    let path = '';
    nock(BASE, { reqheaders: { 'x-goog-api-key': KEY } })
      .post(STREAM)
      .query({ alt: 'sse' })
      .reply(function (uri) {
        path = uri;
        return [200, sseBody('gemini/stream-text.sse', { chunkSize }), SSE_HEADERS];
      });
    const chunks = await collect(adapter.stream({ ...hello, stream: true }, ctx));
    chunks.forEach(assertOpenAIChunk);
    expect(path).toBe(`${STREAM}?alt=sse`);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
    expect(textOf(chunks)).toBe('Hello! ¿Cómo estás? 👋');
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0]!.finish_reason)).toEqual(['stop']);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage).toEqual({ prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 });
    expect(new Set(chunks.map((c) => c.id))).toEqual(new Set(['K2eQaLHSNOPVqtsPs7Gp8QU']));
    expect(chunks.every((c) => c.model === 'gemini-2.0-flash')).toBe(true);
  });

  it('streams a whole functionCall part as one tool-call delta', async () => {
    nock(BASE).post(STREAM).query({ alt: 'sse' }).reply(200, () => sseBody('gemini/stream-function-call.sse', { chunkSize: 3 }), SSE_HEADERS);
    const chunks = await collect(adapter.stream({ ...hello, tools: [WEATHER_TOOL] }, ctx));
    chunks.forEach(assertOpenAIChunk);
    const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
    expect(deltas).toEqual([{ index: 0, id: expect.stringMatching(/^call_0_[0-9a-f]{12}$/), type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }]);
    expect(chunks.find((c) => c.choices[0]?.finish_reason)?.choices[0]?.finish_reason).toBe('tool_calls');
    expect(chunks.at(-1)!.usage).toEqual({ prompt_tokens: 58, completion_tokens: 6, total_tokens: 64 });
  });

  it('fails a stream that finishes with MALFORMED_FUNCTION_CALL, after the text it delivered', async () => {
    const event = (res: unknown) => `data: ${JSON.stringify(res)}\r\n\r\n`;
    const text = { candidates: [{ content: { role: 'model', parts: [{ text: 'Let me check.' }] }, index: 0 }], modelVersion: 'gemini-2.5-flash', responseId: 'r1' };
    const malformed = { candidates: [{ content: { role: 'model', parts: [] }, finishReason: 'MALFORMED_FUNCTION_CALL', finishMessage: 'Malformed function call: get_weather(', index: 0 }], modelVersion: 'gemini-2.5-flash', responseId: 'r1' };
    nock(BASE).post(STREAM).query({ alt: 'sse' }).reply(200, event(text) + event(malformed), SSE_HEADERS);
    const seen: ChatChunk[] = [];
    const err = await (async () => {
      for await (const c of adapter.stream({ ...hello, tools: [WEATHER_TOOL] }, ctx)) seen.push(c);
    })().catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'upstream_error', retryable: true, upstreamCode: 'MALFORMED_FUNCTION_CALL', message: expect.stringContaining('get_weather(') });
    expect(textOf(seen)).toBe('Let me check.');
    expect(seen.some((c) => c.choices[0]?.finish_reason)).toBe(false);
  });

  it('fails a stream that ends without a finishReason', async () => {
    nock(BASE).post(STREAM).query({ alt: 'sse' }).reply(200, fixtureText('gemini/stream-cut.sse'), SSE_HEADERS);
    const err = await collect(adapter.stream(hello, ctx)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'upstream_error', retryable: true, message: expect.stringMatching(/without a finishReason/) });
  });

  it('fails a stream whose connection dies mid-way', async () => {
    nock(BASE).post(STREAM).query({ alt: 'sse' }).reply(200, () => sseBody('gemini/stream-text.sse', { dieAfterBytes: 300 }), SSE_HEADERS);
    await expect(collect(adapter.stream(hello, ctx))).rejects.toMatchObject({ kind: 'upstream_error', retryable: true });
  });

  it('throws content_filter when the streamed prompt is blocked', async () => {
    const blocked = `data: ${JSON.stringify(fixtureJson('gemini/generate-prompt-blocked.json'))}\r\n\r\n`;
    nock(BASE).post(STREAM).query({ alt: 'sse' }).reply(200, blocked, SSE_HEADERS);
    await expect(collect(adapter.stream(hello, ctx))).rejects.toMatchObject({ kind: 'content_filter' });
  });

  it('throws the typed error of an error object sent inside the stream', async () => {
    const event = `data: ${JSON.stringify(fixtureJson('gemini/error-503.json'))}\r\n\r\n`;
    nock(BASE).post(STREAM).query({ alt: 'sse' }).reply(200, event, SSE_HEADERS);
    await expect(collect(adapter.stream(hello, ctx))).rejects.toMatchObject({ kind: 'overloaded', status: 503, retryable: true });
  });

  it('fails a stream on an event that is not JSON', async () => {
    nock(BASE).post(STREAM).query({ alt: 'sse' }).reply(200, 'data: {not json\r\n\r\n', SSE_HEADERS);
    await expect(collect(adapter.stream(hello, ctx))).rejects.toMatchObject({ kind: 'upstream_error', provider: 'gemini', message: 'upstream sent an invalid stream event' });
  });

  it('fails a stream on an event that is not a GenerateContentResponse', async () => {
    nock(BASE).post(STREAM).query({ alt: 'sse' }).reply(200, 'data: {"candidates":"nope"}\r\n\r\n', SSE_HEADERS);
    await expect(collect(adapter.stream(hello, ctx))).rejects.toMatchObject({ kind: 'upstream_error', message: 'upstream sent an unexpected response shape' });
  });

  it('maps an error status on the streaming endpoint', async () => {
    nock(BASE).post(STREAM).query({ alt: 'sse' }).reply(429, fixtureJson('gemini/error-429-retry-info.json'));
    await expect(collect(adapter.stream(hello, ctx))).rejects.toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 2000 });
  });
});

describe('Gemini adapter: errors', () => {
  it.each([
    [400, 'gemini/error-400-api-key-invalid.json', {}, 'auth', false, undefined, 'API_KEY_INVALID'],
    [400, 'gemini/error-400-too-many-tokens.json', {}, 'context_length_exceeded', false, undefined, 'INVALID_ARGUMENT'],
    [429, 'gemini/error-429-retry-info.json', {}, 'rate_limited', true, 2000, 'RESOURCE_EXHAUSTED'],
    [429, 'gemini/error-429-retry-info.json', { 'retry-after': '5' }, 'rate_limited', true, 5000, 'RESOURCE_EXHAUSTED'],
    [500, 'gemini/error-500.json', {}, 'upstream_error', true, undefined, 'INTERNAL'],
    [503, 'gemini/error-503.json', {}, 'overloaded', true, undefined, 'UNAVAILABLE'],
  ])('maps HTTP %i (%s) to a typed error', async (status, file, headers, kind, retryable, retryAfterMs, upstreamCode) => {
    nock(BASE).post(GENERATE).reply(status, fixtureJson(file), headers);
    const err = (await adapter.complete(hello, ctx).catch((e: unknown) => e)) as ProviderError;
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind, status, retryable, retryAfterMs, upstreamCode, provider: 'gemini' });
    expect(err.message).not.toContain(KEY);
  });

  it.each([
    [400, { error: { code: 400, message: 'Invalid JSON payload received. Unknown name "foo"', status: 'INVALID_ARGUMENT' } }, 'bad_request'],
    [403, { error: { code: 403, message: 'Method doesn\'t allow unregistered callers.', status: 'PERMISSION_DENIED' } }, 'auth'],
    [504, { error: { code: 504, message: 'Deadline expired before operation could complete.', status: 'DEADLINE_EXCEEDED' } }, 'timeout'],
    [404, { error: { code: 404, message: 'models/gemini-0 is not found for API version v1beta', status: 'NOT_FOUND' } }, 'bad_request'],
    [502, '<html>Bad Gateway</html>', 'upstream_error'],
  ])('maps HTTP %i by its Google status', async (status, body, kind) => {
    nock(BASE).post(GENERATE).reply(status, body);
    await expect(adapter.complete(hello, ctx)).rejects.toMatchObject({ kind, status });
  });

  it('aborts the upstream call when the caller aborts', async () => {
    nock(BASE).post(GENERATE).delay(400).reply(200, fixtureJson('gemini/generate-text.json'));
    const controller = new AbortController();
    const pending = adapter.complete(hello, { ...ctx, signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toBeInstanceOf(CallerAbortError);
  });

  it('aborts a stream in flight when the caller aborts', async () => {
    nock(BASE).post(STREAM).query({ alt: 'sse' }).reply(200, () => sseBody('gemini/stream-text.sse', { chunkSize: 2 }), SSE_HEADERS);
    const controller = new AbortController();
    const seen: ChatChunk[] = [];
    const run = (async () => {
      for await (const chunk of adapter.stream(hello, { ...ctx, signal: controller.signal })) {
        seen.push(chunk);
        controller.abort();
      }
    })();
    await expect(run).rejects.toBeInstanceOf(CallerAbortError);
    // The first event's chunks (role + "Hello") were already mapped; nothing after it arrives.
    expect(textOf(seen)).toBe('Hello');
  });
});

describe('Gemini adapter: models and registry', () => {
  it('lists generateContent models across pages, without the models/ prefix', async () => {
    const scope = nock(BASE, { reqheaders: { 'x-goog-api-key': KEY } })
      .get('/v1beta/models')
      .query({ pageSize: '1000' })
      .reply(200, fixtureJson('gemini/models.json'))
      .get('/v1beta/models')
      .query({ pageSize: '1000', pageToken: 'Chltb2RlbHMvZ2VtaW5pLTIuMC1mbGFzaA==' })
      .reply(200, fixtureJson('gemini/models-page-2.json'));
    await expect(adapter.listModels(ctx)).resolves.toEqual([
      { id: 'gemini-2.0-flash', ownedBy: 'google' },
      { id: 'gemini-2.5-flash', ownedBy: 'google' },
    ]);
    expect(scope.isDone()).toBe(true);
  });

  it('rejects a model list that is not one', async () => {
    nock(BASE).get('/v1beta/models').query({ pageSize: '1000' }).reply(200, { models: 'nope' });
    await expect(adapter.listModels(ctx)).rejects.toMatchObject({ kind: 'upstream_error', provider: 'gemini', message: 'upstream sent an unexpected model list' });
  });

  it('is what the registry builds for GEMINI_API_KEY, with the default base URL', () => {
    const runtimes = resolveProviders({ providers: {} }, { GEMINI_API_KEY: KEY });
    const gemini = runtimes.find((r) => r.name === 'gemini');
    expect(gemini?.adapter).toBeInstanceOf(GeminiAdapter);
    expect(gemini?.credentials).toMatchObject({ apiKey: KEY, baseUrl: 'https://generativelanguage.googleapis.com' });
  });
});
