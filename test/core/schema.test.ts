import { ChatRequestSchema, ChatResponseSchema, ChatChunkSchema } from '../../src/core/schema';
import { GatewayError, validationError, redactSecrets, gatewayErrorFromProvider, ProviderError } from '../../src/core/errors';
import { fixtureJson } from '../helpers/fixtures';
import { assertOpenAIError, assertOpenAIRequest } from '../helpers/openai-schema';

function parseError(body: unknown): GatewayError {
  const parsed = ChatRequestSchema.safeParse(body);
  if (parsed.success) throw new Error('expected a validation error');
  return validationError(parsed.error);
}

describe('unified request schema', () => {
  const full = {
    model: 'gpt-4.1-mini',
    messages: [
      { role: 'developer', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'https://example.com/a.png', detail: 'low' } }] },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'look', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'a cat' },
    ],
    tools: [{ type: 'function', function: { name: 'look', description: 'Look', parameters: { type: 'object', properties: {} } } }],
    tool_choice: { type: 'function', function: { name: 'look' } },
    response_format: { type: 'json_schema', json_schema: { name: 'answer', schema: { type: 'object' }, strict: true } },
    temperature: 0.2,
    top_p: 0.9,
    max_completion_tokens: 100,
    stop: ['\n\n'],
    seed: 7,
    user: 'user-1',
    metadata: { flow: 'demo' },
    stream: true,
    stream_options: { include_usage: true },
    logit_bias: { '50256': -100 },
  };

  it('accepts every documented field and keeps unknown ones', () => {
    const parsed = ChatRequestSchema.parse(full);
    expect(parsed).toEqual(full);
    expect((parsed as Record<string, unknown>).logit_bias).toEqual({ '50256': -100 });
    assertOpenAIRequest(parsed);
  });

  it.each([
    [{ messages: [{ role: 'user', content: 'hi' }] }, 'model'],
    [{ model: 'x', messages: [] }, 'messages'],
    [{ model: 'x', messages: [{ role: 'user', content: 5 }] }, 'messages[0].content'],
    [{ model: 'x', messages: [{ role: 'wizard', content: 'hi' }] }, 'messages[0].role'],
    [{ model: 'x', messages: [{ role: 'tool', content: 'r' }] }, 'messages[0].tool_call_id'],
    [{ model: 'x', messages: [{ role: 'user', content: 'hi' }], temperature: 3 }, 'temperature'],
    [{ model: 'x', messages: [{ role: 'user', content: 'hi' }], response_format: { type: 'yaml' } }, 'response_format.type'],
    [{ model: 'x', messages: [{ role: 'user', content: 'hi' }], tools: [{ type: 'function', function: { name: 'has space' } }] }, 'tools[0].function.name'],
  ])('names the offending field (%#)', (body, param) => {
    const err = parseError(body);
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    expect(err.message).toContain(param);
    assertOpenAIError(err.toBody());
  });

  it('accepts the schemas of what adapters emit', () => {
    expect(ChatResponseSchema.safeParse(fixtureJson('openai/chat-basic.json')).success).toBe(true);
    expect(
      ChatChunkSchema.safeParse({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } }).success,
    ).toBe(true);
  });
});

describe('errors', () => {
  it('redacts credentials from messages', () => {
    const text = 'bad key sk-proj-abcdef123456 and AIzaSyA1234567890abcdef and Bearer xoxb-123-abc and https://x.test/?key=secret123&a=1';
    const out = redactSecrets(text);
    expect(out).not.toMatch(/abcdef123456|AIzaSyA1234567890abcdef|xoxb-123-abc|secret123/);
    expect(out).toContain('a=1');
    expect(new ProviderError({ kind: 'auth', message: text }).message).toBe(out);
  });

  it.each([
    ['rate_limited', 429],
    ['auth', 502],
    ['bad_request', 400],
    ['context_length_exceeded', 400],
    ['timeout', 504],
    ['overloaded', 503],
    ['upstream_error', 502],
  ] as const)('maps provider %s to HTTP %i with an OpenAI error body', (kind, status) => {
    const err = gatewayErrorFromProvider(new ProviderError({ kind, provider: 'openai', message: 'boom', retryAfterMs: 1500 }));
    expect(err.status).toBe(status);
    assertOpenAIError(err.toBody());
    if (kind === 'rate_limited') expect(err.headers['retry-after']).toBe('2');
  });

  it('tells an exhausted upstream quota apart from a passing rate limit', () => {
    const err = gatewayErrorFromProvider(new ProviderError({ kind: 'rate_limited', retryable: false, provider: 'openai', message: 'You exceeded your current quota' }));
    expect(err).toMatchObject({ status: 429, code: 'insufficient_quota', headers: {} });
  });
});
