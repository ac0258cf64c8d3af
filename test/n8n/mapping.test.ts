import { redactSecrets } from '../../src/core/errors';
import * as tasks from '../../connectors/n8n/core/switchyard-tasks';
import {
  ParameterError,
  buildChatBody,
  buildClassifyCall,
  buildExtractCall,
  chatOutput,
  combineRoutes,
  optionValues,
  parseMessages,
  routeOutput,
  toCompletion,
  type FieldParam,
} from '../../connectors/n8n/nodes/shared/mapping';
import {
  BASE_URL_HINT,
  explainFailure,
  explainNetworkFailure,
  explainUnreachable,
  failureFromBody,
  networkFailure,
  redact,
} from '../../connectors/n8n/nodes/shared/failures';
import { credentialMode, credentialSecrets, directSettings, gatewayBaseUrl } from '../../connectors/n8n/nodes/shared/credentials';
import { booleanOption, numberOption } from '../../connectors/n8n/nodes/shared/parameters';
import { modelSettings } from '../../connectors/n8n/nodes/SwitchyardChatModel/settings';
import { fixtureJson } from '../helpers/fixtures';

const FIELDS: FieldParam[] = [
  { name: 'name', type: 'string', description: 'Full name', required: true },
  { name: 'employees', type: 'integer', required: false },
  { name: 'tags', type: 'stringArray', description: 'Topics', required: false },
  { name: 'founded', type: 'date', required: false },
];
const LABELS = [{ name: 'complaint', description: 'Unhappy customer' }, { name: 'question' }, { name: 'praise' }];

function thrown(fn: () => unknown): ParameterError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ParameterError) return err;
    throw err;
  }
  throw new Error('expected a ParameterError');
}

describe('Chat parameters -> request', () => {
  it('maps a prompt with every option to an OpenAI request plus routing', () => {
    const body = buildChatBody({
      inputType: 'prompt',
      prompt: '  Reply to: hi  ',
      model: 'auto',
      options: {
        prefer: 'cost',
        fallbackModels: ['openai/gpt-4.1-mini', ' anthropic/claude-haiku-4-5 '],
        temperature: 0,
        maxTokens: 200.7,
        systemMessage: 'Be brief.',
        maxCostUsd: 0.01,
        cache: false,
      },
    });
    expect(body).toEqual({
      model: 'auto',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Reply to: hi' },
      ],
      temperature: 0,
      max_tokens: 200,
      routing: { prefer: 'cost', fallback_models: ['openai/gpt-4.1-mini', 'anthropic/claude-haiku-4-5'], max_cost_usd: 0.01, cache: false },
    });
  });

  it('leaves out what was not set: no routing, no sampling fields; an empty model means auto', () => {
    expect(buildChatBody({ inputType: 'prompt', prompt: 'Hi', model: ' ', options: { prefer: '', maxCostUsd: 0, fallbackModels: '' } })).toEqual({
      model: 'auto',
      messages: [{ role: 'user', content: 'Hi' }],
    });
  });

  it('accepts fallback models as a comma-separated expression result', () => {
    const body = buildChatBody({ inputType: 'prompt', prompt: 'Hi', options: { fallbackModels: 'a/x, b/y,,' } });
    expect(body.routing).toEqual({ fallback_models: ['a/x', 'b/y'] });
  });

  it('takes messages as a JSON string or an array, and names the broken entry', () => {
    const msgs = [{ role: 'user', content: 'Hi' }];
    expect(buildChatBody({ inputType: 'messages', messages: JSON.stringify(msgs), options: {} }).messages).toEqual(msgs);
    expect(parseMessages(msgs)).toEqual(msgs);
    expect(thrown(() => parseMessages('[{"role":')).message).toMatch(/^'Messages' is not valid JSON/);
    expect(thrown(() => parseMessages('[]')).message).toBe("'Messages' must be a non-empty JSON array");
    expect(thrown(() => parseMessages([{ role: 'user', content: 'a' }, { role: 'robot', content: 'b' }])).message).toMatch(/^'Messages\[1\]' needs a "role"/);
    expect(thrown(() => parseMessages([{ role: 'user' }])).message).toBe("'Messages[0]' has no \"content\"");
  });

  it('rejects an empty prompt with a hint', () => {
    const err = thrown(() => buildChatBody({ inputType: 'prompt', prompt: '   ', options: {} }));
    expect(err.message).toBe("'Prompt' is empty");
    expect(err.description).toMatch(/expression/);
  });
});

describe('Extract parameters -> structured call (through the tasks bundle)', () => {
  const extract = (fields: FieldParam[], text = 'Ada, 12 people') => buildExtractCall({ text, fields, options: {} }, tasks);

  it('builds a strict schema: every field required, optional ones nullable, a list of strings as an array', () => {
    expect(extract(FIELDS).spec.schema).toEqual({
      type: 'object',
      properties: {
        name: { type: 'string', description: 'Full name' },
        employees: { type: ['integer', 'null'] },
        tags: { type: ['array', 'null'], items: { type: 'string' }, description: 'Topics' },
        founded: { type: ['string', 'null'], description: 'ISO 8601 date (YYYY-MM-DD)' },
      },
      required: ['name', 'employees', 'tags', 'founded'],
      additionalProperties: false,
    });
  });

  it('sends the text with extraction instructions, routing and sampling options', () => {
    const { body, spec } = buildExtractCall(
      { text: 'Ada, 12 people', fields: FIELDS, instructions: 'Names in title case.', model: 'auto:cost', options: { temperature: 0, prefer: 'cost', systemMessage: 'Be careful.' } },
      tasks,
    );
    expect(body).toMatchObject({ model: 'auto:cost', temperature: 0, routing: { prefer: 'cost' } });
    expect(body.messages[1]).toEqual({ role: 'user', content: 'Ada, 12 people' });
    expect(body.messages[0]?.role).toBe('system');
    expect(String(body.messages[0]?.content)).toMatch(/Extract the requested fields[\s\S]*- employees \(integer, may be null\)[\s\S]*Names in title case\.\n\nBe careful\.$/);
    expect(spec).toMatchObject({ name: 'extracted_fields', strict: true });
  });

  it('refuses unusable field definitions, naming the parameter', () => {
    expect(thrown(() => extract([])).message).toBe("'Fields' is empty");
    expect(thrown(() => extract([{ name: ' ', type: 'string' }])).message).toBe("'Fields[0].name' has no name");
    expect(thrown(() => extract([{ name: 'a', type: 'string' }, { name: 'a', type: 'number' }])).message).toBe("'Fields[1].name' repeats the name 'a'; field names must be unique");
    expect(thrown(() => extract([{ name: 'a', type: 'decimal' as FieldParam['type'] }])).message).toMatch(/^'Fields\[0\]\.type' /);
    const empty = thrown(() => extract(FIELDS, ''));
    expect(empty.message).toBe("'Text' is empty");
    expect(empty.description).toMatch(/\$json\.body/);
  });
});

describe('Classify parameters -> structured call (through the tasks bundle)', () => {
  it('constrains the label to the list and asks for a confidence', () => {
    const { body, spec } = buildClassifyCall({ text: 'Where is my parcel?', labels: LABELS, model: 'openai/gpt-4.1-mini', options: {} }, tasks);
    expect(spec.name).toBe('classification');
    expect(spec.schema).toMatchObject({
      properties: { label: { type: 'string', enum: ['complaint', 'question', 'praise'] }, confidence: { type: 'number' } },
      required: ['label', 'confidence'],
      additionalProperties: false,
    });
    expect(body.model).toBe('openai/gpt-4.1-mini');
    expect(String(body.messages[0]?.content)).toContain('- complaint: Unhappy customer\n- question\n- praise');
    expect(body.messages[1]).toEqual({ role: 'user', content: 'Where is my parcel?' });
  });

  it('needs two distinct labels; empty rows are ignored', () => {
    const classify = (labels: Array<{ name: string }>) => buildClassifyCall({ text: 'x', labels, options: {} }, tasks);
    expect(thrown(() => classify([{ name: 'only' }, { name: ' ' }])).message).toBe("'Labels' needs at least two labels");
    expect(thrown(() => classify([{ name: 'a' }, { name: 'A' }])).message).toBe(`'Labels' lists "A" twice`);
  });
});

describe('responses -> output items', () => {
  const gatewayBody = {
    ...fixtureJson<Record<string, unknown>>('openai/chat-basic.json'),
    switchyard: {
      requested_model: 'auto',
      model: 'openai/gpt-4.1-mini',
      provider: 'openai',
      attempts: [{ outcome: 'rate_limited' }, { outcome: 'ok' }],
      cost_usd: 0.0000192,
      cached: false,
      reason: 'Cheapest model.',
      latency_ms: 812.4,
    },
  };

  it('reads the switchyard object (attempts as a list) of a gateway or embedded response', () => {
    expect(chatOutput(toCompletion(gatewayBody, {}, 999))).toEqual({
      text: 'Hello! ¿Cómo estás? 👋',
      model: 'openai/gpt-4.1-mini',
      provider: 'openai',
      cost_usd: 0.0000192,
      latency_ms: 812,
      attempts: 2,
      cached: false,
      finish_reason: 'stop',
      usage: { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: expect.any(Object) },
      reason: 'Cheapest model.',
    });
  });

  it('falls back to x-switchyard-* headers, then to what any OpenAI-compatible server says', () => {
    const plain = fixtureJson<Record<string, unknown>>('openai/chat-basic.json');
    const headers = { 'x-switchyard-model': 'groq/llama-3.3-70b', 'x-switchyard-provider': 'groq', 'x-switchyard-attempts': '1', 'x-switchyard-cost-usd': '0.00002', 'x-switchyard-cache': 'hit' };
    expect(toCompletion(plain, headers, 40).route).toEqual({ model: 'groq/llama-3.3-70b', provider: 'groq', cost_usd: 0.00002, latency_ms: 40, attempts: 1, cached: true });
    expect(toCompletion(plain, undefined, 40.6).route).toEqual({ model: 'gpt-4.1-mini-2025-04-14', provider: '', cost_usd: 0, latency_ms: 41, attempts: 1, cached: false });
  });

  it('refuses a completion without text (e.g. cut by max tokens) with a hint', () => {
    const body = { ...gatewayBody, choices: [{ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'length' }] };
    const err = thrown(() => chatOutput(toCompletion(body, {}, 1)));
    expect(err.message).toBe('The model openai/gpt-4.1-mini returned no text (finish reason: length)');
    expect(err.description).toMatch(/Max Tokens/);
  });

  it('refuses an empty string like no text: a reasoning model that spent max tokens thinking', () => {
    const body = { ...gatewayBody, choices: [{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: 'length' }] };
    const err = thrown(() => chatOutput(toCompletion(body, {}, 1)));
    expect(err.message).toBe('The model openai/gpt-4.1-mini returned no text (finish reason: length)');
    expect(err.description).toMatch(/Raise Max Tokens/);
  });

  it('adds up a call and its repair; the last call says which model answered', () => {
    const a = { model: 'openai/gpt-5-nano', provider: 'openai', cost_usd: 0.00001, latency_ms: 100, attempts: 1, cached: false, reason: 'first' };
    const b = { model: 'openai/gpt-4.1-mini', provider: 'openai', cost_usd: 0.00002, latency_ms: 50, attempts: 2, cached: false, reason: 'second' };
    expect(routeOutput(combineRoutes([a, b]))).toEqual({
      model: 'openai/gpt-4.1-mini',
      provider: 'openai',
      cost_usd: 0.00003,
      latency_ms: 150,
      attempts: 3,
      cached: false,
      reason: 'second',
    });
  });
});

describe('options set by expressions (n8n passes their results as strings)', () => {
  it('takes "0.3", "200", "0.01" and "true" as the numbers and boolean they spell', () => {
    const body = buildChatBody({
      inputType: 'prompt',
      prompt: 'Hi',
      options: { temperature: '0.3', maxTokens: ' 200 ', maxCostUsd: '0.01', cache: 'true', timeoutSeconds: '30' },
    });
    expect(body).toEqual({
      model: 'auto',
      messages: [{ role: 'user', content: 'Hi' }],
      temperature: 0.3,
      max_tokens: 200,
      routing: { max_cost_usd: 0.01, cache: true },
    });
    expect(optionValues({ cache: 'FALSE', timeoutSeconds: '30' })).toMatchObject({ cache: false, timeoutSeconds: 30 });
    expect(buildChatBody({ inputType: 'prompt', prompt: 'Hi', options: { cache: 'false', temperature: 0 } })).toMatchObject({ temperature: 0, routing: { cache: false } });
  });

  it('an expression that gave nothing leaves the option unset', () => {
    expect(buildChatBody({ inputType: 'prompt', prompt: 'Hi', options: { temperature: '', maxTokens: ' ', cache: '' } })).toEqual({ model: 'auto', messages: [{ role: 'user', content: 'Hi' }] });
  });

  it('anything else is refused, naming the option', () => {
    const warm = thrown(() => buildChatBody({ inputType: 'prompt', prompt: 'Hi', options: { temperature: 'warm' } }));
    expect(warm.message).toBe(`'Temperature' must be a number, got "warm"`);
    expect(warm.description).toMatch(/expression that gives one/);
    expect(thrown(() => buildChatBody({ inputType: 'prompt', prompt: 'Hi', options: { cache: 'yes' } })).message).toBe(`'Cache' must be true or false, got "yes"`);
    expect(thrown(() => optionValues({ maxCostUsd: '1e' })).message).toMatch(/^'Max Cost \(USD\)' must be a number/);
    expect(thrown(() => optionValues({ timeoutSeconds: 'soon' })).message).toMatch(/^'Timeout \(Seconds\)' must be a number/);
    expect(() => numberOption({}, 'X')).toThrow(ParameterError);
    expect(booleanOption(true, 'X')).toBe(true);
  });

  it('the Chat Model node reads its options the same way', () => {
    expect(modelSettings({ temperature: '0.2', maxTokens: '300', timeoutSeconds: '5' })).toEqual({ temperature: 0.2, maxTokens: 300, timeout: 5000 });
    expect(modelSettings({ temperature: 0.7, maxTokens: 1024, timeoutSeconds: 120 })).toEqual({ temperature: 0.7, maxTokens: 1024, timeout: 120_000 });
    expect(thrown(() => modelSettings({ temperature: 'hot' })).message).toBe(`'Sampling Temperature' must be a number, got "hot"`);
  });
});

describe('failures -> readable n8n errors', () => {
  it('points at the provider key field the upstream rejected (Direct mode)', () => {
    const e = explainFailure({ status: 502, code: 'upstream_auth', message: 'anthropic: upstream rejected the provider API key: invalid x-api-key' }, 'direct');
    expect(e).toEqual({
      message: 'Switchyard: anthropic: upstream rejected the provider API key: invalid x-api-key',
      description: "The provider rejected its key: check 'Anthropic API Key' in the Switchyard API credential.",
      httpCode: '502',
    });
  });

  it('points at the gateway key on a 401 from the server (Gateway mode)', () => {
    const f = failureFromBody(401, JSON.stringify({ error: { message: 'invalid API key', type: 'authentication_error', param: null, code: 'invalid_api_key' } }));
    expect(f).toEqual({ status: 401, message: 'invalid API key', type: 'authentication_error', code: 'invalid_api_key', param: null });
    expect(explainFailure(f, 'gateway').description).toMatch(/'Gateway Key'/);
  });

  it('explains unknown models, missing providers, rate limits, timeouts and bad values', () => {
    expect(explainFailure({ status: 404, code: 'model_not_found', message: "Unknown model 'x'" }, 'direct').description).toMatch(/Model list/);
    expect(explainFailure({ status: 400, code: 'no_provider_configured', message: 'no provider' }, 'direct').description).toMatch(/add at least one provider API key/);
    expect(explainFailure({ status: 429, message: 'slow down' }, 'gateway').description).toMatch(/Fallback Models/);
    expect(explainFailure({ status: 504, code: 'deadline_exceeded', message: 'deadline' }, 'direct').description).toMatch(/Timeout/);
    expect(explainFailure({ status: 400, param: 'messages[0].role', message: 'bad' }, 'direct').description).toBe("Fix the value of 'messages[0].role'.");
  });

  it('a provider out of credit (402 or insufficient_quota) is billing, not "wait and retry"; the key budget is the server\'s', () => {
    const quota = { status: 429, code: 'insufficient_quota', message: 'all 2 attempts failed. Last error: openai: You exceeded your current quota.' };
    expect(explainFailure(quota, 'direct').description).toBe(
      "OpenAI reports that the account behind 'OpenAI API Key' is out of credit or over its usage quota; retrying will not help. Add credit or raise the spending limit in OpenAI's billing settings, or add Fallback Models on another provider.",
    );
    expect(explainFailure({ ...quota, message: 'deepseek: Insufficient Balance', status: 402, code: null }, 'gateway').description).toBe(
      "DeepSeek reports that the account behind the Switchyard server's key is out of credit or over its usage quota; retrying will not help. Add credit or raise the spending limit in DeepSeek's billing settings, or add Fallback Models on another provider.",
    );
    const budget = { status: 429, type: 'budget_exceeded', code: 'insufficient_quota', message: "The daily budget of $1.00 for API key 'zap' is used up." };
    expect(explainFailure(budget, 'gateway').description).toMatch(/^The gateway key's budget is used up: raise it on the Switchyard server/);
    for (const f of [quota, budget]) expect(explainFailure(f, 'gateway').description).not.toMatch(/wait and retry/);
  });

  it('a 502/503 without a Switchyard error (a proxy\'s HTML page) says the server or a proxy answered, not that every provider failed', () => {
    for (const status of [502, 503]) {
      const e = explainFailure(failureFromBody(status, '<html><body><h1>Bad Gateway</h1></body></html>'), 'gateway');
      expect(e.description).toBe(
        `The Switchyard server (or a proxy in front of it) answered HTTP ${status} without a Switchyard error: check that the server is running and that 'Base URL' points at it.`,
      );
    }
    const relayed = failureFromBody(502, { error: { message: 'openai: upstream error', type: 'api_error', param: null, code: 'upstream_error' } });
    expect(explainFailure(relayed, 'gateway').description).toMatch(/^Every candidate provider failed/);
  });

  it('points at the Base URL when the server does not know the route (an extra path in the URL)', () => {
    const f = failureFromBody(404, { error: { message: 'Unknown route: GET /api/v1/models. This gateway serves POST /v1/chat/completions and GET /v1/models.', type: 'not_found_error', param: null, code: 'unknown_route' } });
    expect(explainFailure(f, 'gateway').description).toBe(BASE_URL_HINT);
    expect(BASE_URL_HINT).toMatch(/'Base URL'.*e\.g\. http:\/\/[0-9.]+:8787/);
    expect(explainFailure(failureFromBody(404, '<html>Not Found</html>'), 'gateway').description).toBe(BASE_URL_HINT);
    expect(explainFailure({ status: 404, code: 'model_not_found', message: "Unknown model 'x'." }, 'gateway').description).toMatch(/Model list/);
  });

  it('tells a timeout, a cancellation, a refused connection and a cut connection apart', () => {
    const axiosLike = (code: string, message: string) => Object.assign(new Error('n8n wrapper'), { httpCode: code, cause: Object.assign(new Error(message), { code }) });
    expect(networkFailure(axiosLike('ECONNABORTED', 'timeout of 500ms exceeded'))).toMatchObject({ kind: 'timeout', code: 'ECONNABORTED' });
    expect(networkFailure(axiosLike('ERR_CANCELED', 'canceled'))).toMatchObject({ kind: 'cancelled', code: 'ERR_CANCELED' });
    expect(networkFailure(Object.assign(new Error('fetch failed'), { cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }) }))).toMatchObject({ kind: 'unreachable', code: 'ECONNREFUSED' });
    expect(networkFailure(axiosLike('ENOTFOUND', 'getaddrinfo ENOTFOUND sy.invalid'))).toMatchObject({ kind: 'unreachable' });
    expect(networkFailure(axiosLike('EHOSTUNREACH', 'no route'))).toMatchObject({ kind: 'unreachable' });
    expect(networkFailure(axiosLike('ECONNRESET', 'socket hang up'))).toMatchObject({ kind: 'dropped' });
    expect(networkFailure(new DOMException('The operation was aborted due to timeout', 'TimeoutError'))).toMatchObject({ kind: 'timeout' });
    expect(networkFailure(new Error('something else'))).toMatchObject({ kind: 'failed', message: 'something else' });

    const timeout = explainNetworkFailure('http://sy:8787', { kind: 'timeout', code: 'ECONNABORTED' }, { timeoutMs: 30_000 });
    expect(timeout).toEqual({
      message: 'The Switchyard server at http://sy:8787 did not answer within 30 s',
      description: explainFailure({ status: 504, code: 'deadline_exceeded', message: 'x' }, 'direct').description,
      httpCode: '504',
    });
    expect(explainNetworkFailure('http://sy:8787', { kind: 'timeout' }).message).toBe('The Switchyard server at http://sy:8787 did not answer in time');
    expect(explainNetworkFailure('http://sy:8787', { kind: 'cancelled', code: 'ERR_CANCELED' }).message).toMatch(/cancelled/);
    expect(explainNetworkFailure('http://sy:8787', { kind: 'unreachable', code: 'EHOSTUNREACH' }).description).toMatch(/Docker/);
    for (const kind of ['timeout', 'cancelled', 'dropped', 'failed'] as const) {
      expect(explainNetworkFailure('http://sy:8787', { kind }).description).not.toMatch(/Start the server|Docker/);
    }
  });

  it('keeps non-JSON bodies short and says when the server cannot be reached', () => {
    expect(failureFromBody(502, '<html>Bad gateway</html>')).toEqual({ status: 502, message: 'HTTP 502: <html>Bad gateway</html>', bare: true });
    const e = explainUnreachable('http://10.0.0.5:8787', { code: 'ECONNREFUSED' });
    expect(e.message).toBe('Cannot reach the Switchyard server at http://10.0.0.5:8787 (ECONNREFUSED)');
    expect(e.description).toMatch(/Base URL/);
  });

  it('never shows a key, and masks exactly what the core masks', () => {
    const samples = [
      'openai: Incorrect API key provided: sk-proj-abcdef123456',
      'gemini: key AIzaSyA1234567890abcdefghij is invalid',
      'upstream said Authorization: Bearer sk-sy-0123456789abcdef',
      'GET https://x.test/v1/models?key=secret-value&alt=json failed',
    ];
    for (const s of samples) expect(redact(s)).toBe(redactSecrets(s));
    const e = explainFailure({ status: 502, code: 'upstream_auth', message: samples[0]! }, 'direct');
    expect(e.message).not.toContain('sk-proj-abcdef123456');
  });

  it("masks the credential's exact secret values, whatever their shape", () => {
    const secrets = credentialSecrets({ mode: 'direct', openaiApiKey: ' abcdEFGH1234 ', groqApiKey: '', gatewayApiKey: 'gw-key-5678', openaiBaseUrl: 'http://proxy:1/v1' });
    expect(secrets).toEqual(['abcdEFGH1234', 'gw-key-5678']);
    expect(redact('openai: key abcdEFGH1234 rejected (abcdEFGH1234)', secrets)).toBe('openai: key [redacted] rejected ([redacted])');
    const e = explainFailure({ status: 502, code: 'upstream_auth', message: 'openai: Incorrect API key provided: abcdEFGH1234' }, 'direct', secrets);
    expect(e.message).toBe('Switchyard: openai: Incorrect API key provided: [redacted]');
    expect(redact('abc is short', ['abc'])).toBe('abc is short');
  });
});

describe('credential -> mode settings', () => {
  it('keeps only the providers whose key (or Ollama URL) is filled in', () => {
    const data = { mode: 'direct' as const, openaiApiKey: ' sk-1 ', anthropicApiKey: '', groqApiKey: 'gsk-2', openaiBaseUrl: 'http://127.0.0.1:9/v1', ollamaBaseUrl: 'http://localhost:11434/v1' };
    expect(credentialMode(data)).toBe('direct');
    expect(directSettings(data)).toEqual({
      apiKeys: { openai: 'sk-1', groq: 'gsk-2' },
      baseUrls: { openai: 'http://127.0.0.1:9/v1', ollama: 'http://localhost:11434/v1' },
    });
  });

  it('normalises the gateway base URL (trailing slash or /v1) and defaults to the local server', () => {
    expect(credentialMode({ mode: 'gateway' })).toBe('gateway');
    expect(gatewayBaseUrl({ baseUrl: 'https://sy.example.com/v1/' })).toBe('https://sy.example.com');
    expect(gatewayBaseUrl({})).toBe('http://127.0.0.1:8787');
  });

  it('drops an endpoint path pasted with the address', () => {
    for (const pasted of ['http://10.0.0.5:8787/v1/chat/completions', 'http://10.0.0.5:8787/v1/chat/completions/', ' http://10.0.0.5:8787/V1/models ', 'http://10.0.0.5:8787/chat/completions']) {
      expect(gatewayBaseUrl({ baseUrl: pasted })).toBe('http://10.0.0.5:8787');
    }
    expect(gatewayBaseUrl({ baseUrl: 'https://sy.example.com/switchyard/v1/chat/completions' })).toBe('https://sy.example.com/switchyard');
  });
});
