import nock from 'nock';
import { ProviderError } from '../../src/core/errors';
import { closeUpstreamPools } from '../../src/core/http';
import type { ChatChunk, ChatRequest } from '../../src/core/schema';
import { collect } from '../helpers/fixtures';
import { assertOpenAIChunk, assertOpenAIResponse } from '../helpers/openai-schema';
import type { ContractHarness } from './harnesses/types';
import { openaiHarness } from './harnesses/openai';
import { anthropicHarness } from './harnesses/anthropic';
import { geminiHarness } from './harnesses/gemini';

/** Every adapter, the same unified requests, equivalent unified results. */
const HARNESSES: ContractHarness[] = [openaiHarness, anthropicHarness, geminiHarness];

const TOOLS: ChatRequest['tools'] = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Current weather for a city',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];

function textOf(chunks: ChatChunk[]): string {
  return chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
}

function toolArgsOf(chunks: ChatChunk[]): { name?: string; args: string } {
  const deltas = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []);
  return { name: deltas.find((d) => d.function?.name)?.function?.name, args: deltas.map((d) => d.function?.arguments ?? '').join('') };
}

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  await closeUpstreamPools();
});

describe.each(HARNESSES.map((h) => [h.name, h] as const))('contract: %s', (_name, h) => {
  const req = (extra: Partial<ChatRequest> = {}): ChatRequest => ({
    model: h.model,
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: 'Hi' },
    ],
    ...extra,
  });

  it('answers text with usage', async () => {
    h.mockText();
    const res = await h.adapter.complete(req(), h.ctx);
    assertOpenAIResponse(res);
    expect(res.choices[0]!.message.content).toBe('Hello! ¿Cómo estás? 👋');
    expect(res.choices[0]!.finish_reason).toBe('stop');
    expect(res.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 });
  });

  it('answers a tool call', async () => {
    h.mockToolCall();
    const res = await h.adapter.complete(req({ tools: TOOLS }), h.ctx);
    assertOpenAIResponse(res);
    const call = res.choices[0]!.message.tool_calls?.[0];
    expect(call?.function.name).toBe('get_weather');
    expect(JSON.parse(call!.function.arguments)).toEqual({ city: 'Paris' });
    expect(res.choices[0]!.finish_reason).toBe('tool_calls');
  });

  it.each([1, 3, 7, 64])('streams text split every %i bytes', async (chunkSize) => {
    h.mockStreamText({ chunkSize });
    const chunks = await collect(h.adapter.stream(req({ stream: true }), h.ctx));
    chunks.forEach(assertOpenAIChunk);
    expect(textOf(chunks)).toBe('Hello! ¿Cómo estás? 👋');
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'stop')).toBe(true);
    const usage = chunks.at(-1)!.usage;
    expect(usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 });
  });

  it('streams tool-call argument deltas', async () => {
    h.mockStreamToolCall();
    const chunks = await collect(h.adapter.stream(req({ tools: TOOLS, stream: true }), h.ctx));
    chunks.forEach(assertOpenAIChunk);
    const { name, args } = toolArgsOf(chunks);
    expect(name).toBe('get_weather');
    expect(JSON.parse(args)).toEqual({ city: 'Paris' });
    expect(chunks.some((c) => c.choices[0]?.finish_reason === 'tool_calls')).toBe(true);
  });

  it('maps a 429 to rate_limited with retryAfterMs', async () => {
    h.mockRateLimited();
    const err = await h.adapter.complete(req(), h.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err).toMatchObject({ kind: 'rate_limited', status: 429, retryable: true, retryAfterMs: 2000 });
  });

  it('fails a stream that dies mid-way', async () => {
    h.mockStreamDies();
    await expect(collect(h.adapter.stream(req({ stream: true }), h.ctx))).rejects.toMatchObject({ kind: 'upstream_error', retryable: true });
  });
});
