import { GatewayError } from '../../src/core/errors';
import { FlowSchema } from '../../src/webhooks/config';
import { buildRequest, clip, runFlow } from '../../src/webhooks/runner';
import { JobError } from '../../src/webhooks/types';
import { FakeSwitchyard, overloaded } from './helpers';

const schema = {
  type: 'object',
  required: ['industry', 'company_size'],
  additionalProperties: false,
  properties: { industry: { type: 'string' }, company_size: { type: 'string', enum: ['1-10', '11-50', '51-200', '200+'] } },
};

const jsonFlow = FlowSchema.parse({
  source: 'generic',
  generic: { bearer_token: 'a-long-bearer-token-123' },
  system: 'You enrich leads.',
  prompt: 'Lead: {{body.email}} at {{body.company}}',
  routing: { prefer: 'quality', fallback_models: ['b/model'] },
  output: { type: 'json', name: 'enrichment', schema },
  action: { type: 'respond' },
});

const textFlow = FlowSchema.parse({
  source: 'generic',
  generic: { bearer_token: 'a-long-bearer-token-123' },
  prompt: 'Say: {{body.text}}',
  model: 'auto:latency',
  max_tokens: 100,
  output: { type: 'text', max_chars: 20 },
  action: { type: 'respond' },
});

const fields = { body: { email: 'ana@acme.io', company: 'Acme', text: 'hi' } };

describe('buildRequest', () => {
  it('renders the templates and sends the schema as response_format json_schema, requiring the capability', () => {
    const req = buildRequest(jsonFlow, fields);
    expect(req.messages).toEqual([
      { role: 'system', content: 'You enrich leads.' },
      { role: 'user', content: 'Lead: ana@acme.io at Acme' },
    ]);
    expect(req.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'enrichment', schema } });
    expect(req.routing).toEqual({ prefer: 'quality', fallback_models: ['b/model'], require: ['json_schema'] });
  });

  it('passes model, max_tokens and no routing when none is set', () => {
    const req = buildRequest(textFlow, fields);
    expect(req).toMatchObject({ model: 'auto:latency', max_tokens: 100 });
    expect(req.routing).toBeUndefined();
    expect(req.response_format).toBeUndefined();
  });
});

describe('runFlow', () => {
  it('returns schema-valid JSON (markdown fences tolerated)', async () => {
    const sy = new FakeSwitchyard('```json\n{"industry":"Software","company_size":"11-50"}\n```');
    const result = await runFlow(jsonFlow, fields, sy);
    expect(result.json).toEqual({ industry: 'Software', company_size: '11-50' });
    expect(result.repaired).toBeUndefined();
    expect(sy.requests).toHaveLength(1);
  });

  it('makes one repair call that shows the model its invalid answer and the errors', async () => {
    const sy = new FakeSwitchyard(['{"industry":"Software","company_size":"huge"}', '{"industry":"Software","company_size":"200+"}']);
    const result = await runFlow(jsonFlow, fields, sy);
    expect(result).toMatchObject({ json: { industry: 'Software', company_size: '200+' }, repaired: true, costUsd: 0.0002 });
    const repair = sy.requests[1]!;
    expect(repair.messages.at(-2)).toEqual({ role: 'assistant', content: '{"industry":"Software","company_size":"huge"}' });
    expect(String(repair.messages.at(-1)?.content)).toMatch(/company_size must be equal to one of the allowed values/);
    expect(repair.response_format).toEqual(sy.requests[0]!.response_format);
  });

  it('fails for good when the repaired answer is still invalid', async () => {
    const sy = new FakeSwitchyard(['not json', '{"industry":1}']);
    const err = await runFlow(jsonFlow, fields, sy).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JobError);
    expect(err).toMatchObject({ retryable: false });
    expect((err as Error).message).toMatch(/after one repair attempt/);
    expect(sy.requests).toHaveLength(2);
  });

  it('clips text answers at a word boundary', async () => {
    const result = await runFlow(textFlow, fields, new FakeSwitchyard('Hello there, this is a long answer'));
    expect(result.text).toBe('Hello there, this is');
    expect(clip('abc', undefined)).toBe('abc');
  });

  it('classifies routing failures: overload is retryable, a bad request is not', async () => {
    await expect(runFlow(textFlow, fields, new FakeSwitchyard(overloaded()))).rejects.toMatchObject({ retryable: true, status: 503 });
    const bad = new GatewayError(400, 'bad', { code: 'upstream_bad_request' });
    await expect(runFlow(textFlow, fields, new FakeSwitchyard(bad))).rejects.toMatchObject({ retryable: false, status: 400 });
    const limited = new GatewayError(429, 'slow down', { headers: { 'retry-after': '7' } });
    await expect(runFlow(textFlow, fields, new FakeSwitchyard(limited))).rejects.toMatchObject({ retryable: true, retryAfterMs: 7000 });
  });

  it('retries the statuses the platform clients retry (408, 425, 429, 5xx), honouring Retry-After only when sent', async () => {
    for (const status of [408, 425, 429, 500, 504]) {
      await expect(runFlow(textFlow, fields, new FakeSwitchyard(new GatewayError(status, 'x')))).rejects.toMatchObject({ retryable: true, status, retryAfterMs: undefined });
    }
    for (const status of [401, 404, 413, 422]) {
      await expect(runFlow(textFlow, fields, new FakeSwitchyard(new GatewayError(status, 'x')))).rejects.toMatchObject({ retryable: false, status });
    }
    const fractional = new GatewayError(503, 'busy', { headers: { 'retry-after': '1.5' } });
    await expect(runFlow(textFlow, fields, new FakeSwitchyard(fractional))).rejects.toMatchObject({ retryAfterMs: 1500 });
  });
});

describe('flow config', () => {
  it('rejects bad templates, invalid schemas and actions a source cannot do', () => {
    const base = { source: 'whatsapp', whatsapp: { app_secret: 's', verify_token: 'v', access_token: 'a' }, action: { type: 'reply' } };
    expect(FlowSchema.safeParse({ ...base, prompt: '{{ 1 + 1 }}' }).success).toBe(false);
    expect(FlowSchema.safeParse({ ...base, prompt: 'x', output: { type: 'json', schema: { type: 'nope' } } }).success).toBe(false);
    expect(FlowSchema.safeParse({ ...base, prompt: 'x', action: { type: 'update_contact' } }).success).toBe(false);
    expect(FlowSchema.safeParse({ ...base, prompt: 'x' }).success).toBe(true);
  });

  it('drops trailing slashes of api_base_url once, at parse time, and keeps the defaults', () => {
    const slack = (extra: Record<string, unknown>) =>
      FlowSchema.parse({ source: 'slack', slack: { signing_secret: 's', bot_token: 'xoxb-1', ...extra }, prompt: 'x', action: { type: 'reply' } });
    const parsed = slack({ api_base_url: 'https://slack.example/api//' });
    expect(parsed.source === 'slack' && parsed.slack.api_base_url).toBe('https://slack.example/api');
    const defaulted = slack({});
    expect(defaulted.source === 'slack' && defaulted.slack.api_base_url).toBe('https://slack.com/api');
    expect(FlowSchema.safeParse({ source: 'slack', slack: { signing_secret: 's', bot_token: 'b', api_base_url: 'not a url' }, prompt: 'x', action: { type: 'reply' } }).success).toBe(false);
  });

  it('rejects signing secrets that are not Standard Webhooks secrets', () => {
    const generic = (signing_secret: string) =>
      FlowSchema.safeParse({ source: 'generic', generic: { signing_secret }, prompt: 'x', action: { type: 'respond', callback_secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' } });
    expect(generic('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw').success).toBe(true);
    const bad = generic('my plain password');
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['generic', 'signing_secret']);
    expect(FlowSchema.safeParse({ source: 'generic', generic: {}, prompt: 'x', action: { type: 'respond' } }).success).toBe(false);
  });
});
