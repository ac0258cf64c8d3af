/** Error mapping, limits and isolation of the Zapier app, without any network. */
import nock from 'nock';
import zapier, { type ZObject } from 'zapier-platform-core';
import { GatewayError, ProviderError } from '../../src/core/errors';
import { connectionFrom, type DirectConnection } from '../../connectors/zapier/src/auth-data';
import { createDirectBackend, directConfig } from '../../connectors/zapier/src/backends/direct';
import { StepError, scrub, sentence, sentences, toZapierError } from '../../connectors/zapier/src/errors';
import { Deadline, STEP_DEADLINE_MS } from '../../connectors/zapier/src/limits';
import { KEYS, expectNoSecret, rejection, zapierErrorPayload } from './helpers';

const z = { errors: zapier.errors } as unknown as ZObject;
const secrets = Object.values(KEYS);

beforeAll(() => nock.disableNetConnect());
afterAll(() => nock.enableNetConnect());

function mapped(err: unknown) {
  return zapierErrorPayload(toZapierError(z, err, secrets));
}

describe('toZapierError', () => {
  test('a provider rate limit becomes ThrottledError, rounding the delay up to whole seconds', () => {
    const payload = mapped(new ProviderError({ kind: 'rate_limited', provider: 'groq', message: 'slow down', retryAfterMs: 1500 }));
    expect(payload).toMatchObject({ name: 'ThrottledError', delay: 2 });
    expect(payload.message).toMatch(/^Groq is rate limiting/);
  });

  test('the routing deadline says how to stay within Zapier’s 30 s', () => {
    const payload = mapped(new GatewayError(504, 'deadline of 25000 ms exceeded after 2 attempt(s)', { code: 'deadline_exceeded' }));
    expect(payload).toMatchObject({ name: 'AppError', code: 'deadline_exceeded', status: 504 });
    expect(payload.message).toMatch(/within 30 seconds.*Prefer to "latency".*Max Tokens/);
  });

  test('an upstream auth failure names the provider’s connection field', () => {
    const err = new GatewayError(502, 'all 2 attempts failed: x. Last error: mistral: upstream rejected the provider API key: Unauthorized', { code: 'upstream_auth' });
    expect(mapped(err).message).toMatch(/Mistral rejected the API key.*"Mistral API Key".*https:\/\/console\.mistral\.ai\/api-keys/);
  });

  test('a gateway timeout from node-fetch is explained', () => {
    const err = Object.assign(new Error('network timeout at: http://127.0.0.1/v1/chat/completions'), { name: 'FetchError', type: 'request-timeout' });
    expect(mapped(err).message).toMatch(/did not answer in time.*30 seconds/);
  });

  test('secrets are removed: key shapes and the exact values of the connection', () => {
    const leaky = new Error(`upstream said: bad key ${KEYS.openai} / ${KEYS.gemini} / Bearer ${KEYS.groq} / custom-secret-value`);
    const payload = zapierErrorPayload(toZapierError(z, leaky, [...secrets, 'custom-secret-value']));
    expectNoSecret(payload.message);
    expect(payload.message).not.toContain('custom-secret-value');
    expect(scrub('no secrets here', secrets)).toBe('no secrets here');
  });

  test('an upstream message that already ends a sentence gets no second period', () => {
    const unknownModel = mapped(new GatewayError(404, "Unknown model 'nope/x': no configured provider offers it.", { code: 'model_not_found', param: 'model' }));
    expect(unknownModel.message).toBe(
      "Unknown model 'nope/x': no configured provider offers it. Pick a model from the Model dropdown (it lists the models your connection can reach) or choose Auto.",
    );
    const failed = mapped(new GatewayError(502, 'all 2 attempts failed. Last error: openai: upstream error.', { code: 'upstream_error' }));
    expect(failed.message).toBe('Every model failed: all 2 attempts failed. Last error: openai: upstream error. Try again, or add fallback models or another provider key.');
    const provider = mapped(new ProviderError({ kind: 'overloaded', provider: 'anthropic', message: 'Overloaded.', status: 529 }));
    expect(provider.message).toBe('Anthropic failed: Overloaded. Try again, or add fallback models or another provider key.');
    const budget = mapped(new GatewayError(429, "The daily budget of $1 for API key 'k' (key_1) is used up", { type: 'budget_exceeded', code: 'insufficient_quota' }));
    expect(budget.message).toBe("The daily budget of $1 for API key 'k' (key_1) is used up. Raise the key's budget on the Switchyard server, or wait until it resets.");
    const timeout = mapped(new GatewayError(504, 'deadline of 25000 ms exceeded.', { code: 'deadline_exceeded' }));
    expect(timeout.message).toMatch(/^No model answered in time: deadline of 25000 ms exceeded \(a Zapier step/);
    expect([unknownModel.message, failed.message, provider.message, budget.message, timeout.message].join(' ')).not.toMatch(/\.\.|\.\)\./);
  });

  test('only type budget_exceeded is the key’s budget; insufficient_quota or a 402 is the provider’s billing, never retried', () => {
    const budget = mapped(new GatewayError(429, "The daily budget of $1 for API key 'k' (key_1) is used up.", { type: 'budget_exceeded', code: 'insufficient_quota' }));
    expect(budget).toMatchObject({ name: 'AppError', code: 'insufficient_quota', status: 429 });
    expect(budget.message).toMatch(/Raise the key's budget on the Switchyard server/);

    const relayed = mapped(new GatewayError(429, 'all 2 attempts failed. Last error: anthropic: the provider account is out of credit: Your credit balance is too low', { code: 'insufficient_quota' }));
    expect(relayed).toMatchObject({ name: 'AppError', code: 'insufficient_quota', status: 429 });
    expect(relayed.message).toMatch(/^Anthropic reports that its account is out of credit .*billing settings of the Anthropic account behind the key in "Anthropic API Key"/);
    expect(relayed.message).not.toMatch(/budget/i);

    const paymentRequired = mapped(new GatewayError(402, 'deepseek: Insufficient Balance', { code: 'insufficient_balance' }));
    expect(paymentRequired).toMatchObject({ name: 'AppError', code: 'insufficient_quota', status: 402 });
    expect(paymentRequired.message).toMatch(/^DeepSeek reports that its account is out of credit/);

    const direct = mapped(new ProviderError({ kind: 'rate_limited', provider: 'openai', status: 429, retryable: false, message: 'You exceeded your current quota.' }));
    expect(direct).toMatchObject({ name: 'AppError', code: 'insufficient_quota' });
    expect(direct.message).toMatch(/^OpenAI reports that its account is out of credit/);

    // A plain rate limit still waits and retries.
    expect(mapped(new GatewayError(429, 'openai: slow down', { code: 'rate_limit_exceeded', headers: { 'retry-after': '7' } }))).toMatchObject({ name: 'ThrottledError', delay: 7 });
  });

  test('sentences end once, whatever punctuation the first one brings', () => {
    expect(sentences('no provider offers it.', 'Pick a model.')).toBe('no provider offers it. Pick a model.');
    expect(sentences('no provider offers it', 'Pick a model')).toBe('no provider offers it. Pick a model.');
    expect(sentences('Is it "down?"', 'Retry.')).toBe('Is it "down?" Retry.');
    expect(sentence(' trailing space.  ')).toBe('trailing space.');
  });

  test("Zapier's own errors pass through untouched", () => {
    const own = new zapier.errors.ThrottledError('wait', 7);
    expect(toZapierError(z, own, secrets)).toBe(own);
  });

  test('a user-fixable problem keeps its code and status', () => {
    expect(mapped(new StepError('Field "Text" is required.', 'invalid_input', 400))).toMatchObject({ name: 'AppError', code: 'invalid_input', status: 400 });
  });
});

describe('limits and isolation', () => {
  const conn = connectionFrom({ mode: 'direct', anthropic_api_key: KEYS.anthropic }) as DirectConnection;

  test('the routing deadline fits within Zapier’s 30 s action limit', () => {
    expect(STEP_DEADLINE_MS).toBeLessThanOrEqual(25_000);
    expect(directConfig(conn).routing?.deadline_ms).toBe(STEP_DEADLINE_MS);
  });

  test('a step out of time makes no call at all', async () => {
    let now = 1_000;
    const deadline = new Deadline(5_000, () => now);
    now += 6_000;
    const backend = createDirectBackend(conn);
    try {
      const err = await rejection(backend.chat({ model: 'auto', messages: [{ role: 'user', content: 'Hi' }] }, deadline));
      expect(err).toBeInstanceOf(StepError);
      expect((err as StepError).code).toBe('timeout');
    } finally {
      await backend.close();
    }
  });

  test('only the connection’s keys are used, never the environment of the runtime', async () => {
    const saved = process.env.OPENAI_API_KEY;
    process.env.OPENAI_API_KEY = KEYS.openai;
    const backend = createDirectBackend(conn);
    try {
      const ids = (await backend.models()).map((m) => m.id);
      expect(ids.some((id) => id.startsWith('anthropic/'))).toBe(true);
      expect(ids.some((id) => id.startsWith('openai/'))).toBe(false);
      expect(Object.keys(directConfig(conn).providers ?? {})).toEqual(['anthropic']);
    } finally {
      await backend.close();
      if (saved === undefined) delete process.env.OPENAI_API_KEY;
      else process.env.OPENAI_API_KEY = saved;
    }
  });
});
