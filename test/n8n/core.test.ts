import nock from 'nock';
import * as facade from '../../connectors/n8n/core/switchyard-core';
import type * as Contract from '../../connectors/n8n/vendor/switchyard-core';
import { fromCompletion, toOpenAIMessages, toOpenAITools, type GenericMessage } from '../../connectors/n8n/nodes/SwitchyardChatModel/conversions';
import { ProviderError } from '../../src/core/errors';
import { closeUpstreamPools } from '../../src/core/http';
import { fixtureJson } from '../helpers/fixtures';
import { assertOpenAIResponse } from '../helpers/openai-schema';

// Compile-time check: the bundle's entry implements the contract the node sources are typed against.
const implementsContract: typeof Contract = facade;

const OPENAI = 'https://openai.emulator.test/v1';
const SETTINGS: Contract.DirectSettings = { apiKeys: { openai: 'sk-test-n8n-123456' }, baseUrls: { openai: OPENAI } };

beforeAll(() => nock.disableNetConnect());
afterEach(() => nock.cleanAll());
afterAll(async () => {
  nock.enableNetConnect();
  await closeUpstreamPools();
});

describe('embedded core (Direct mode entry of the n8n bundle)', () => {
  it('configures only the providers of the credential, never the host environment', () => {
    const saved = process.env.ANTHROPIC_API_KEY;
    process.env.ANTHROPIC_API_KEY = 'sk-ant-from-host-env';
    try {
      expect(facade.directConfig({ apiKeys: { openai: ' sk-1 ', groq: '' }, baseUrls: { openai: 'http://127.0.0.1:1/v1/', ollama: 'http://localhost:11434/v1' } })).toEqual({
        providers: {
          openai: { type: 'openai', enabled: true, api_key: 'sk-1', base_url: 'http://127.0.0.1:1/v1' },
          ollama: { type: 'openai-compatible', preset: 'ollama', enabled: true, base_url: 'http://localhost:11434/v1' },
        },
      });
      const core = implementsContract.createEmbeddedSwitchyard(SETTINGS);
      const providers = new Set(core.models().map((m) => m.provider));
      expect([...providers]).toEqual(['openai']);
      void core.close();
    } finally {
      if (saved === undefined) delete process.env.ANTHROPIC_API_KEY;
      else process.env.ANTHROPIC_API_KEY = saved;
    }
  });

  it('answers a routed call with the OpenAI body plus the route, like the gateway server', async () => {
    let sent: Record<string, unknown> = {};
    nock(OPENAI, { reqheaders: { authorization: 'Bearer sk-test-n8n-123456' } })
      .post('/chat/completions', (b) => ((sent = b), true))
      .reply(200, fixtureJson('openai/chat-basic.json'));
    const core = facade.createEmbeddedSwitchyard(SETTINGS);
    try {
      const res = await core.chat({ model: 'openai/gpt-4.1-mini', messages: [{ role: 'user', content: 'Hi' }], routing: { prefer: 'cost' } });
      const { switchyard, ...openai } = res;
      assertOpenAIResponse(openai);
      expect(sent).toMatchObject({ model: 'gpt-4.1-mini', messages: [{ role: 'user', content: 'Hi' }] });
      expect(sent).not.toHaveProperty('routing');
      expect(switchyard).toMatchObject({ requested_model: 'openai/gpt-4.1-mini', model: 'openai/gpt-4.1-mini', provider: 'openai', attempts: 1, cached: false });
      expect(switchyard.cost_usd).toBeGreaterThan(0);
      expect(core.models().find((m) => m.id === 'openai/gpt-4.1-mini')).toMatchObject({ provider: 'openai', json_schema: true, tools: true });
    } finally {
      await core.close();
    }
  });

  it('turns core failures into OpenAI error fields, without the key', async () => {
    nock(OPENAI).post('/chat/completions').reply(401, fixtureJson('openai/error-401.json'));
    const core = facade.createEmbeddedSwitchyard(SETTINGS);
    try {
      const err = await core.chat({ model: 'openai/gpt-4.1-mini', messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
      const failure = facade.describeCoreError(err);
      expect(failure).toMatchObject({ status: 502, code: 'upstream_auth' });
      expect(failure?.message).toMatch(/^openai: /);
      expect(JSON.stringify(failure)).not.toContain('sk-test-n8n-123456');
      const bad = await core.chat({ model: 'auto', messages: [] }).catch((e: unknown) => e);
      expect(facade.describeCoreError(bad)).toMatchObject({ status: 400, param: 'messages' });
    } finally {
      await core.close();
    }
    expect(facade.describeCoreError(new ProviderError({ kind: 'rate_limited', message: 'slow down', provider: 'groq' }))).toMatchObject({ status: 429, message: 'groq: slow down' });
    expect(facade.describeCoreError(new Error('boom'))).toBeUndefined();
  });

  it('says which credential field to fill when no provider is configured', async () => {
    const core = facade.createEmbeddedSwitchyard({ apiKeys: {}, baseUrls: {} });
    const err = await core.chat({ model: 'auto', messages: [{ role: 'user', content: 'Hi' }] }).catch((e: unknown) => e);
    expect(facade.describeCoreError(err)).toMatchObject({ status: 400, code: 'no_provider_configured' });
    await core.close();
  });

  it('checks every configured provider key by listing models (the credential test)', async () => {
    nock(OPENAI).get('/models').reply(200, { object: 'list', data: [{ id: 'gpt-4.1-mini', object: 'model', created: 1, owned_by: 'openai' }] });
    nock('https://api.groq.com/openai/v1').get('/models').reply(401, { error: { message: 'Invalid API Key gsk_abcdefghijkl', type: 'invalid_request_error', code: 'invalid_api_key' } });
    const checks = await facade.checkDirectProviders({ apiKeys: { openai: 'sk-test-n8n-123456', groq: 'gsk_abcdefghijkl' }, baseUrls: { openai: OPENAI } });
    expect(checks).toEqual([
      { provider: 'openai', ok: true, models: 1 },
      { provider: 'groq', ok: false, status: 401, message: expect.stringMatching(/^auth: /) },
    ]);
    expect(JSON.stringify(checks)).not.toContain('gsk_abcdefghijkl');
  });

  it('counts a rate-limited or out-of-quota answer to the key check as an accepted key, with a note', async () => {
    nock(OPENAI).get('/models').reply(429, fixtureJson('openai/error-429.json'), { 'retry-after': '20' });
    const quota = { error: { message: 'You exceeded your current quota.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } };
    nock('https://api.deepseek.com/v1').get('/models').reply(429, quota);
    const checks = await facade.checkDirectProviders({ apiKeys: { openai: 'sk-test-n8n-123456', deepseek: 'sk-ds-1234567' }, baseUrls: { openai: OPENAI } });
    expect(checks).toEqual([
      { provider: 'openai', ok: true, status: 429, note: 'rate limited the check (HTTP 429), so the key was accepted' },
      { provider: 'deepseek', ok: true, status: 429, note: 'accepted the key, but reports its quota or billing limit as used up (HTTP 429)' },
    ]);
  });
});

describe('chat model conversions (AI Agent <-> OpenAI shape)', () => {
  const conversation: GenericMessage[] = [
    { role: 'system', content: [{ type: 'text', text: 'Be terse.' }] },
    { role: 'user', content: [{ type: 'text', text: 'What is 6*7?' }] },
    { role: 'assistant', content: [{ type: 'tool-call', toolCallId: 'call_1', toolName: 'calculator', input: '{"input":"6*7"}' }] },
    { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'call_1', result: [{ response: '42' }] }] },
  ];

  it('maps n8n messages, tool calls and tool results to OpenAI messages', () => {
    expect(toOpenAIMessages(conversation)).toEqual([
      { role: 'system', content: 'Be terse.' },
      { role: 'user', content: 'What is 6*7?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'calculator', arguments: '{"input":"6*7"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '[{"response":"42"}]' },
    ]);
  });

  it('maps function tools with their JSON schema and skips provider tools', () => {
    const schema = { type: 'object', properties: { input: { type: 'string' } } };
    type Fn = { type: 'function'; name: string; description?: string; inputSchema: unknown };
    const tools = [{ type: 'function' as const, name: 'calculator', description: 'Math', inputSchema: schema }, { type: 'provider', name: 'web_search' }];
    expect(toOpenAITools<Fn>(tools, (t) => t.inputSchema)).toEqual([{ type: 'function', function: { name: 'calculator', description: 'Math', parameters: schema } }]);
  });

  it('maps a tool-calling completion back to n8n content, finish reason and usage', () => {
    const completion = {
      ...fixtureJson<Contract.RoutedChatCompletion>('openai/chat-tool-call.json'),
      switchyard: { requested_model: 'auto', model: 'openai/gpt-4.1-mini', provider: 'openai', cost_usd: 0.00001, latency_ms: 5, attempts: 1, cached: false, reason: 'r' },
    };
    const result = fromCompletion(completion);
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(result.finishReason).toBe('tool-calls');
    expect(result.message.content).toContainEqual({ type: 'tool-call', toolCallId: call?.id, toolName: call?.function.name, input: call?.function.arguments });
    expect(result.usage?.totalTokens).toBe(completion.usage?.total_tokens);
    expect(result.providerMetadata).toEqual({ switchyard: completion.switchyard });
  });
});
