import nock from 'nock';
import { AnthropicAdapter } from '../../src/providers/anthropic';
import { GeminiAdapter } from '../../src/providers/gemini';
import { OpenAIAdapter } from '../../src/providers/openai';
import { COMPATIBLE_PRESETS, createCompatibleAdapter } from '../../src/providers/openai-compatible';
import { portableToolCallId } from '../../src/providers/wire';
import { closeUpstreamPools } from '../../src/core/http';
import type { CallContext } from '../../src/core/adapter';
import type { ChatRequest, ToolCall } from '../../src/core/schema';
import { captureBody, fixtureJson } from '../helpers/fixtures';

/**
 * A tool conversation that starts on Gemini and falls back to another provider: Gemini's tool-call ids
 * carry its thought signature (long, base64 with + / =), which Anthropic (ids ^[a-zA-Z0-9_-]+$) and
 * OpenAI (at most 40 characters) reject with a 400. Gemini itself must still get the original id back.
 */

const GEMINI = 'https://generativelanguage.gemini.test';
const ANTHROPIC = 'https://api.anthropic.test';
const OPENAI = 'https://api.openai.test/v1';
const ctx = (baseUrl: string): CallContext => ({ credentials: { apiKey: 'test-key-123456', baseUrl } });
const ANTHROPIC_ID = /^[a-zA-Z0-9_-]+$/;

const WEATHER_TOOL: NonNullable<ChatRequest['tools']>[number] = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  await closeUpstreamPools();
});

/** The tool call Gemini answered with (its documented functionCall + thoughtSignature shape). */
async function geminiToolCall(): Promise<ToolCall> {
  nock(GEMINI).post('/v1beta/models/gemini-2.5-flash:generateContent').reply(200, fixtureJson('gemini/generate-function-call.json'));
  const res = await new GeminiAdapter().complete(
    { model: 'gemini-2.5-flash', messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER_TOOL] },
    ctx(GEMINI),
  );
  return res.choices[0]!.message.tool_calls![0]!;
}

function history(call: ToolCall, model: string): ChatRequest {
  return {
    model,
    tools: [WEATHER_TOOL],
    messages: [
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [call] },
      { role: 'tool', tool_call_id: call.id, content: '{"temp_c":18}' },
    ],
  };
}

const openAIAnswer = { id: 'chatcmpl-1', object: 'chat.completion', created: 1741569952, model: 'gpt-4.1', choices: [{ index: 0, message: { role: 'assistant', content: '18 °C', refusal: null }, logprobs: null, finish_reason: 'stop' }] };

describe('tool-call ids minted by Gemini, sent to other providers', () => {
  it('the Gemini id really breaks both rules (the case under test)', async () => {
    const call = await geminiToolCall();
    expect(call.id).toContain('__thought__');
    expect(call.id.length).toBeGreaterThan(40);
    expect(ANTHROPIC_ID.test(call.id)).toBe(false);
  });

  it('Anthropic gets a valid tool_use id, and the same id on its tool_result', async () => {
    const call = await geminiToolCall();
    const captured = captureBody();
    nock(ANTHROPIC).post('/v1/messages', captured.match).reply(200, fixtureJson('anthropic/message-text.json'));
    const req = history(call, 'claude-sonnet-4-5-20250929');
    await new AnthropicAdapter().complete(req, ctx(ANTHROPIC));
    const turns = captured.body!.messages as Array<{ content: Array<{ type: string; id?: string; tool_use_id?: string }> }>;
    const toolUse = turns[1]!.content.find((b) => b.type === 'tool_use')!;
    const toolResult = turns[2]!.content.find((b) => b.type === 'tool_result')!;
    expect(toolUse.id).toMatch(ANTHROPIC_ID);
    expect(toolResult.tool_use_id).toBe(toolUse.id);
    expect((req.messages[1] as { tool_calls: ToolCall[] }).tool_calls[0]!.id).toBe(call.id); // caller's request untouched
  });

  it.each(['openai', ...Object.keys(COMPATIBLE_PRESETS).filter((p) => p !== 'openai' && p !== 'mistral')])(
    '%s gets an id of at most 40 letters, digits, _ or -, and the same id on the tool message',
    async (preset) => {
      const call = await geminiToolCall();
      const captured = captureBody();
      nock(OPENAI).post('/chat/completions', captured.match).reply(200, openAIAnswer);
      const adapter = preset === 'openai' ? new OpenAIAdapter() : createCompatibleAdapter(preset);
      await adapter.complete(history(call, 'gpt-4.1'), ctx(OPENAI));
      const messages = captured.body!.messages as Array<{ tool_calls?: Array<{ id: string }>; tool_call_id?: string }>;
      const sentId = messages[1]!.tool_calls![0]!.id;
      expect(sentId).toMatch(/^[a-zA-Z0-9_-]{1,40}$/);
      expect(messages[2]!.tool_call_id).toBe(sentId);
    },
  );

  it('the mapping is stable across turns, so a later turn matches what the provider saw before', async () => {
    const call = await geminiToolCall();
    const ids: string[] = [];
    for (let turn = 0; turn < 2; turn++) {
      const captured = captureBody();
      nock(OPENAI).post('/chat/completions', captured.match).reply(200, openAIAnswer);
      await new OpenAIAdapter().complete(history(call, 'gpt-4.1'), ctx(OPENAI));
      ids.push((captured.body!.messages as Array<{ tool_calls?: Array<{ id: string }> }>)[1]!.tool_calls![0]!.id);
    }
    expect(ids[0]).toBe(ids[1]);
  });

  it('Gemini still gets the original id back and decodes its thought signature', async () => {
    const call = await geminiToolCall();
    let sent: Record<string, unknown> = {};
    nock(GEMINI)
      .post('/v1beta/models/gemini-2.5-flash:generateContent', (b: Record<string, unknown>) => ((sent = b), true))
      .reply(200, fixtureJson('gemini/generate-text.json'));
    await new GeminiAdapter().complete(history(call, 'gemini-2.5-flash'), ctx(GEMINI));
    const signature = fixtureJson<{ candidates: Array<{ content: { parts: Array<{ thoughtSignature: string }> } }> }>('gemini/generate-function-call.json')
      .candidates[0]!.content.parts[0]!.thoughtSignature;
    expect((sent.contents as Array<{ parts: unknown[] }>)[1]!.parts).toEqual([{ functionCall: { name: 'get_weather', args: { city: 'Paris' } }, thoughtSignature: signature }]);
  });
});

describe('portableToolCallId', () => {
  it('keeps valid ids (OpenAI, Anthropic, Mistral, DeepSeek shapes) as they are', () => {
    for (const id of ['call_Zx8kQe1XyAbC2dEf', 'toolu_01A09q90qw90lq917835lq9', 'D681PevKs', 'call_00_nmXW2jeMvMLqYrM5rmXHJrEm', 'a'.repeat(40)]) {
      expect(portableToolCallId(id)).toBe(id);
    }
  });

  it('maps off-pattern or too-long ids deterministically into the limits, distinct per id', () => {
    const odd = ['call_0__thought__CiQBVKhc7nQ1+/==', 'a'.repeat(41), 'call 1', 'ü-ñ', ''];
    const mapped = odd.map(portableToolCallId);
    for (const [i, id] of mapped.entries()) {
      expect(id).toMatch(/^call_[a-zA-Z0-9]{24}$/);
      expect(portableToolCallId(odd[i]!)).toBe(id);
    }
    expect(new Set(mapped).size).toBe(odd.length);
  });
});
