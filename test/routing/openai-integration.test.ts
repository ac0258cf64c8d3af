import nock from 'nock';
import { Readable } from 'node:stream';
import { closeUpstreamPools } from '../../src/core/http';
import { ProviderError } from '../../src/core/errors';
import { costUsd } from '../../src/core/routing/cost';
import { readyResult } from '../../src/core/ready';
import type { ChatChunk } from '../../src/core/schema';
import { createSwitchyard, type RoutingSwitchyard } from '../../src/core/routing/switchyard';
import type { CoreConfigInput } from '../../src/core/config';
import { collect, fixtureJson, fixtureText, sseBody, SSE_HEADERS } from '../helpers/fixtures';
import { assertOpenAIChunk, assertOpenAIResponse } from '../helpers/openai-schema';
import { textOf } from './helpers/fakes';

// The real OpenAI adapter family (OpenAI and Groq presets), the real catalog and the system clock;
// only the network is replaced, by nock.
const OPENAI = 'https://api.openai.test/v1';
const GROQ = 'https://api.groq.test/openai/v1';
const OPENAI_KEY = 'sk-test-openai-abcdef123456';
const GROQ_KEY = 'gsk_test_groq_abcdef123456';
const GROQ_MODEL = 'groq/llama-3.1-8b-instant';

function gateway(routing: NonNullable<CoreConfigInput['routing']> = {}): RoutingSwitchyard {
  return createSwitchyard(
    {
      providers: {
        openai: { type: 'openai', api_key: OPENAI_KEY, base_url: OPENAI },
        groq: { type: 'openai-compatible', preset: 'groq', api_key: GROQ_KEY, base_url: GROQ },
      },
      routing: { retries_per_model: 0, ...routing },
    },
    { env: {} },
  );
}

const ask = { model: 'gpt-4.1-mini', messages: [{ role: 'user' as const, content: 'Hi' }], routing: { fallback_models: [GROQ_MODEL] } };
const usage = { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 };

let sy: RoutingSwitchyard;
beforeAll(() => nock.disableNetConnect());
afterEach(async () => {
  nock.cleanAll();
  await sy?.close();
});
afterAll(async () => {
  nock.enableNetConnect();
  await closeUpstreamPools();
});

describe('routing through the real OpenAI-compatible adapters (nock)', () => {
  it('OpenAI answers 429, Groq answers: a valid response, the story and the cost', async () => {
    sy = gateway();
    let groqBody: Record<string, unknown> = {};
    nock(OPENAI).post('/chat/completions').reply(429, fixtureJson('openai/error-429.json'), { 'retry-after-ms': '120' });
    nock(GROQ, { reqheaders: { authorization: `Bearer ${GROQ_KEY}` } })
      .post('/chat/completions', (b) => ((groqBody = b), true))
      .reply(200, fixtureJson('openai/chat-basic.json'));
    const { response, story } = await sy.chat(ask);
    assertOpenAIResponse(response);
    expect(response.choices[0]?.message.content).toBe('Hello! ¿Cómo estás? 👋');
    expect(groqBody).toMatchObject({ model: 'llama-3.1-8b-instant', stream: false });
    expect(groqBody).not.toHaveProperty('routing');
    expect(story).toMatchObject({ requestedModel: 'gpt-4.1-mini', model: GROQ_MODEL, provider: 'groq', cached: false, usage });
    expect(story.attempts).toEqual([
      expect.objectContaining({ key: 'openai/gpt-4.1-mini', outcome: 'rate_limited', status: 429 }),
      expect.objectContaining({ key: GROQ_MODEL, outcome: 'ok' }),
    ]);
    expect(story.costUsd).toBeGreaterThan(0);
    expect(story.costUsd).toBe(costUsd(story.pricing!, usage));
    expect(JSON.stringify(story)).not.toContain(OPENAI_KEY);
  });

  it('retries the same model after Retry-After when retries are allowed', async () => {
    sy = gateway({ retries_per_model: 1 });
    nock(OPENAI).post('/chat/completions').reply(429, fixtureJson('openai/error-429.json'), { 'retry-after-ms': '30' });
    nock(OPENAI).post('/chat/completions').reply(200, fixtureJson('openai/chat-basic.json'));
    const { story } = await sy.chat(ask);
    expect(story.attempts.map((a) => `${a.key} ${a.outcome}`)).toEqual(['openai/gpt-4.1-mini rate_limited', 'openai/gpt-4.1-mini ok']);
  });

  it('a connection reset falls back to the next candidate', async () => {
    sy = gateway();
    // An Error, as a real reset is: nock drops plain-object errors on http.request.
    nock(OPENAI).post('/chat/completions').replyWithError(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    nock(GROQ).post('/chat/completions').reply(200, fixtureJson('openai/chat-basic.json'));
    const { story } = await sy.chat(ask);
    expect(story.model).toBe(GROQ_MODEL);
    expect(story.attempts[0]).toMatchObject({ key: 'openai/gpt-4.1-mini', outcome: 'upstream_error', message: expect.stringMatching(/ECONNRESET/) });
  });

  it('a 500 is retried on the same model when retries are allowed', async () => {
    sy = gateway({ retries_per_model: 1, backoff_base_ms: 1 });
    nock(OPENAI).post('/chat/completions').reply(500, fixtureJson('openai/error-500.json'));
    nock(OPENAI).post('/chat/completions').reply(200, fixtureJson('openai/chat-basic.json'));
    const { story } = await sy.chat(ask);
    expect(story.attempts.map((a) => `${a.key} ${a.outcome} ${a.status ?? ''}`.trim())).toEqual(['openai/gpt-4.1-mini upstream_error 500', 'openai/gpt-4.1-mini ok']);
  });

  it('a body cut mid-answer is never returned: the next candidate answers', async () => {
    sy = gateway();
    nock(OPENAI)
      .post('/chat/completions')
      .reply(200, () => sseBody('openai/chat-basic.json', { dieAfterBytes: 60 }), { 'content-type': 'application/json' });
    nock(GROQ).post('/chat/completions').reply(200, fixtureJson('openai/chat-basic.json'));
    const { story } = await sy.chat(ask);
    expect(story.model).toBe(GROQ_MODEL);
    expect(story.attempts[0]).toMatchObject({ key: 'openai/gpt-4.1-mini', outcome: 'upstream_error' });
  });

  it('streams schema-valid chunks with usage and prices the streamed usage', async () => {
    sy = gateway();
    nock(OPENAI).post('/chat/completions').reply(200, () => sseBody('openai/stream-basic.sse'), SSE_HEADERS);
    const s = await sy.stream(ask);
    const chunks = await collect(s.chunks);
    chunks.forEach(assertOpenAIChunk);
    expect(textOf(chunks)).toBe('Hello! ¿Cómo estás? 👋');
    const story = await s.story;
    expect(story).toMatchObject({ model: 'openai/gpt-4.1-mini', usage: { prompt_tokens: 12, completion_tokens: 9 } });
    expect(story.costUsd).toBe(costUsd(story.pricing!, story.usage));
    expect(story.ttftMs).toBeDefined();
  });

  it('routed chunks already read are handed over without waiting (ready), and not once the caller aborted', async () => {
    sy = gateway();
    nock(OPENAI).post('/chat/completions').reply(200, fixtureText('openai/stream-basic.sse'), SSE_HEADERS);
    const caller = new AbortController();
    const s = await sy.stream(ask, { signal: caller.signal });
    const chunks = s.chunks[Symbol.asyncIterator]();
    // stream() resolved at the first content: the chunks read until then (role, first text), then
    // more of the body, which arrived in the same read, are at hand.
    const atHand: ChatChunk[] = [];
    for (let r = readyResult(chunks); r && !r.done && atHand.length < 3; r = readyResult(chunks)) atHand.push(r.value);
    expect(atHand).toHaveLength(3);
    expect(textOf(atHand)).toBe('Hello! ¿Cómo estás? 👋');
    caller.abort();
    expect(readyResult(chunks)).toBeUndefined();
    await expect(chunks.next()).rejects.toMatchObject({ status: 499 });
    expect((await s.story).attempts[0]!.outcome).toBe('aborted');
  });

  it('a stream failing before content falls back; one cut after content errors and is not re-sent', async () => {
    sy = gateway();
    nock(OPENAI).post('/chat/completions').reply(503, fixtureJson('openai/error-500.json'));
    nock(GROQ).post('/chat/completions').reply(200, () => sseBody('openai/stream-basic.sse'), SSE_HEADERS);
    const s = await sy.stream(ask);
    expect(s.model).toBe(GROQ_MODEL);
    expect(textOf(await collect(s.chunks))).toBe('Hello! ¿Cómo estás? 👋');

    // dies inside the third event, after "Hello! " was delivered
    const cutAt = fixtureText('openai/stream-basic.sse').indexOf('¿Cómo');
    nock(OPENAI).post('/chat/completions').reply(200, () => sseBody('openai/stream-basic.sse', { dieAfterBytes: cutAt }), SSE_HEADERS);
    const groq = nock(GROQ).post('/chat/completions').reply(200, () => sseBody('openai/stream-basic.sse'), SSE_HEADERS);
    const cut = await sy.stream(ask);
    expect(cut.model).toBe('openai/gpt-4.1-mini');
    const err = await collect(cut.chunks).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ partial: true, kind: 'upstream_error' });
    expect(groq.isDone()).toBe(false);
  });

  it('abandons a stream whose first token is later than max_ttft_ms', async () => {
    sy = gateway();
    // OpenAI sends its headers, then nothing. A generous limit: it applies to Groq's attempt too, on a shared machine.
    nock(OPENAI).post('/chat/completions').reply(200, () => new Readable({ read() {} }), SSE_HEADERS);
    nock(GROQ).post('/chat/completions').reply(200, () => sseBody('openai/stream-basic.sse'), SSE_HEADERS);
    const s = await sy.stream({ ...ask, routing: { ...ask.routing, max_ttft_ms: 1_000 } });
    expect(s.model).toBe(GROQ_MODEL);
    await collect(s.chunks);
    expect((await s.story).attempts[0]).toMatchObject({ key: 'openai/gpt-4.1-mini', outcome: 'timeout' });
  });
});
