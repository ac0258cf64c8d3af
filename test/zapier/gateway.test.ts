/**
 * The Zapier app in Gateway-server mode, run by Zapier's own runtime (createAppTester) against a
 * real Switchyard server listening on 127.0.0.1 (real express app, key check and usage store);
 * the server's upstream providers are answered by nock with their documented payloads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nock from 'nock';
import { startServer, type RunningServer } from '../../src/server/server';
import { silentLogger } from '../../src/server/log';
import { authentication } from '../../connectors/zapier/src/authentication';
import { fixtureJson } from '../helpers/fixtures';
import { ANTHROPIC, App, KEYS, OPENAI, anthropicAnswer, appTester, expectNoSecret, openaiAnswer, rejection, resetNetwork, undoZapierHttpPatchAfterAll, zapierErrorPayload } from './helpers';

const { generate_text, extract_data, classify_text, summarize } = App.creates;

let server: RunningServer;
let gatewayKey: string;
let workDir: string;
/** The server's admin key: it reads every key's usage. */
const ADMIN_KEY = 'sy-admin-zapier-test-0123456789';

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'switchyard-zapier-'));
  writeFileSync(join(workDir, 'switchyard.yaml'), `server:\n  admin_key: ${ADMIN_KEY}\n`);
  server = await startServer({
    env: { OPENAI_API_KEY: KEYS.openai, ANTHROPIC_API_KEY: KEYS.anthropic },
    cwd: workDir,
    host: '127.0.0.1',
    port: 0,
    storePath: ':memory:',
    logger: silentLogger,
  });
  gatewayKey = server.store.keys.create({ name: 'zapier-test' }).key;
});

afterAll(async () => {
  await server.shutdown();
  rmSync(workDir, { recursive: true, force: true });
  nock.cleanAll();
  nock.enableNetConnect();
});

undoZapierHttpPatchAfterAll();
beforeEach(resetNetwork);

function gatewayAuth(key = gatewayKey): Record<string, string> {
  return { mode: 'gateway', gateway_url: `${server.url}/v1/`, gateway_key: key };
}

describe('Connection test (Gateway)', () => {
  test('GET /v1/models with the key proves the connection and labels it by host', async () => {
    const result = (await appTester(authentication.test, { authData: gatewayAuth() })) as { mode: string; models: number; label: string };
    expect(result.mode).toBe('gateway');
    expect(result.models).toBeGreaterThan(4);
    const label = await appTester(authentication.connectionLabel, { inputData: result });
    expect(label).toBe(`Gateway 127.0.0.1:${server.port}`);
  });

  test('a wrong gateway key: the message names the field to fix, not the key', async () => {
    const wrong = 'sk-sy-notARealKey0123456789abcdef';
    const err = await rejection(appTester(authentication.test, { authData: gatewayAuth(wrong) }));
    const payload = zapierErrorPayload(err);
    expect(payload.code).toBe('gateway_auth');
    expect(payload.message).toContain('"Gateway API Key"');
    expect(payload.message).not.toContain(wrong);
    expectNoSecret(payload.message);
  });

  test('an unreachable URL says to check the Gateway URL', async () => {
    const err = await rejection(appTester(authentication.test, { authData: { mode: 'gateway', gateway_url: 'http://127.0.0.1:9', gateway_key: gatewayKey } }));
    expect(zapierErrorPayload(err).message).toMatch(/Could not reach the server.*Gateway URL/);
  });

  test('a Gateway URL pasted with its endpoint path still connects', async () => {
    for (const pasted of [`${server.url}/v1/chat/completions`, `${server.url}/v1/models/`]) {
      const result = (await appTester(authentication.test, { authData: { ...gatewayAuth(), gateway_url: pasted } })) as { mode: string; models: number };
      expect(result).toMatchObject({ mode: 'gateway' });
      expect(result.models).toBeGreaterThan(4);
    }
  });

  test('a Gateway URL with another path names the field and shows the expected form', async () => {
    const err = await rejection(appTester(authentication.test, { authData: { ...gatewayAuth(), gateway_url: `${server.url}/api/` } }));
    const payload = zapierErrorPayload(err);
    expect(payload).toMatchObject({ code: 'invalid_gateway_url', status: 404 });
    expect(payload.message).toBe(
      `The Gateway URL ${server.url}/api does not lead to the Switchyard API (Unknown route: GET /api/v1/models. This gateway serves POST /v1/chat/completions and GET /v1/models). Reconnect with only the server's address in the "Gateway URL" field, e.g. http://192.168.1.20:8787 or https://switchyard.example.com.`,
    );
  });

  test('a malformed URL is refused before any request', async () => {
    const err = await rejection(appTester(authentication.test, { authData: { mode: 'gateway', gateway_url: 'switchyard.example.com' } }));
    expect(zapierErrorPayload(err).message).toMatch(/"Gateway URL" must be an http\(s\) URL/);
  });
});

describe('Actions through the gateway', () => {
  test('Generate Text returns the answer and the server’s route story', async () => {
    const scope = nock(OPENAI).post('/v1/chat/completions').reply(200, openaiAnswer('Hello through the gateway'));
    const result = await appTester(generate_text.operation.perform, {
      authData: gatewayAuth(),
      inputData: { prompt: 'Say hello', model: 'openai/gpt-4.1-mini', temperature: '0.3' },
    });
    scope.done();
    expect(result).toMatchObject({ text: 'Hello through the gateway', model: 'openai/gpt-4.1-mini', provider: 'openai', attempts: 1, cached: false, prompt_tokens: 12 });
    expect(result.cost_usd).toBeGreaterThan(0);
    expect(result.attempt_log).toMatch(/^openai\/gpt-4\.1-mini: ok/);
    // The server's switchyard.reason, as n8n's items and the Direct mode carry it.
    expect(result.why_this_model).toMatch(/openai\/gpt-4\.1-mini/);
  });

  test('a step works with the endpoint path pasted into the Gateway URL', async () => {
    nock(OPENAI).post('/v1/chat/completions').reply(200, openaiAnswer('Pasted URL, still fine'));
    const result = await appTester(generate_text.operation.perform, {
      authData: { ...gatewayAuth(), gateway_url: `${server.url}/v1/chat/completions` },
      inputData: { prompt: 'Hi', model: 'openai/gpt-4.1-mini' },
    });
    expect(result).toMatchObject({ text: 'Pasted URL, still fine', provider: 'openai' });
  });

  test('Extract Data: one output per field through the gateway', async () => {
    nock(OPENAI).post('/v1/chat/completions').reply(200, openaiAnswer('{"email": "dana@acme.test", "company": "Acme Corp"}'));
    const result = await appTester(extract_data.operation.perform, {
      authData: gatewayAuth(),
      inputData: { text: 'Dana from Acme Corp, dana@acme.test', fields: ['Email', 'Company'], model: 'openai/gpt-4.1-mini' },
    });
    expect(result).toMatchObject({ email: 'dana@acme.test', company: 'Acme Corp', repaired: false, provider: 'openai' });
  });

  test('Classify Text through the gateway', async () => {
    nock(ANTHROPIC).post('/v1/messages').reply(200, anthropicAnswer('{"label": "bug report", "confidence": 0.7}'));
    const result = await appTester(classify_text.operation.perform, {
      authData: gatewayAuth(),
      inputData: { text: 'The export button crashes', labels: ['billing', 'bug report'], model: 'anthropic/claude-haiku-4-5' },
    });
    expect(result).toMatchObject({ label: 'bug report', confidence: 0.7, provider: 'anthropic' });
  });

  test('Summarize through the gateway', async () => {
    nock(OPENAI).post('/v1/chat/completions').reply(200, openaiAnswer('The client wants a revised quote by Friday.'));
    const result = await appTester(summarize.operation.perform, {
      authData: gatewayAuth(),
      inputData: { text: 'Long thread...', style: 'one_sentence', model: 'openai/gpt-4.1-mini' },
    });
    expect(result).toMatchObject({ summary: 'The client wants a revised quote by Friday.', model: 'openai/gpt-4.1-mini' });
  });

  test('the server falls back on a 429 and the step shows both attempts', async () => {
    nock(OPENAI).post('/v1/chat/completions').reply(429, fixtureJson('openai/error-429.json'), { 'retry-after': '20' });
    nock(ANTHROPIC).post('/v1/messages').reply(200, anthropicAnswer('Answered by the fallback'));
    const result = await appTester(generate_text.operation.perform, {
      authData: gatewayAuth(),
      inputData: { prompt: 'Hi', model: 'openai/gpt-4.1-mini', fallback_models: ['anthropic/claude-haiku-4-5'] },
    });
    expect(result).toMatchObject({ text: 'Answered by the fallback', provider: 'anthropic', attempts: 2 });
    expect(result.attempt_log).toMatch(/openai\/gpt-4\.1-mini: rate_limited \(429.*anthropic\/claude-haiku-4-5: ok/);
  });

  test('the gateway answering 429 becomes ThrottledError with its Retry-After and message', async () => {
    nock(OPENAI).post('/v1/chat/completions').reply(429, fixtureJson('openai/error-429.json'), { 'retry-after': '20' });
    nock(ANTHROPIC).post('/v1/messages').reply(429, fixtureJson('anthropic/error-429.json'), { 'retry-after': '40' });
    const err = await rejection(
      appTester(generate_text.operation.perform, {
        authData: gatewayAuth(),
        inputData: { prompt: 'Hi', model: 'openai/gpt-4.1-mini', fallback_models: ['anthropic/claude-haiku-4-5'] },
      }),
    );
    const payload = zapierErrorPayload(err);
    expect(payload.name).toBe('ThrottledError');
    expect(payload.delay).toBe(40);
    // The gateway's own message, not core's generic "The server returned 429".
    expect(payload.message).toMatch(/attempts failed|rate limit/i);
    expectNoSecret(payload.message);
  });

  test('a key whose budget is used up gets an error saying so, not a retry', async () => {
    const frugal = server.store.keys.create({ name: 'frugal', daily_budget_usd: 0.000001 }).key;
    const err = await rejection(appTester(generate_text.operation.perform, { authData: gatewayAuth(frugal), inputData: { prompt: 'Hi', model: 'openai/gpt-4.1-mini' } }));
    const payload = zapierErrorPayload(err);
    expect(payload.name).toBe('AppError');
    expect(payload.message).toMatch(/daily budget .* (is used up|has \$[0-9.]+ left).*Raise the key's budget/);
    expect(payload.message).not.toContain(frugal);
  });

  test('a provider quota relayed by the gateway (429 insufficient_quota) is the provider’s billing, not the key’s budget', async () => {
    const quota = { error: { message: 'You exceeded your current quota, please check your plan and billing details.', type: 'insufficient_quota', param: null, code: 'insufficient_quota' } };
    nock(OPENAI).post('/v1/chat/completions').times(3).reply(429, quota);
    const err = await rejection(appTester(generate_text.operation.perform, { authData: gatewayAuth(), inputData: { prompt: 'Hi', model: 'openai/gpt-4.1-mini' } }));
    const payload = zapierErrorPayload(err);
    expect(payload).toMatchObject({ name: 'AppError', code: 'insufficient_quota', status: 429 });
    expect(payload.message).toMatch(/^OpenAI reports that its account is out of credit or over its usage quota/);
    expect(payload.message).toContain("billing settings of the OpenAI account behind the Switchyard server's key");
    expect(payload.message).not.toMatch(/budget/i);
  });

  test('a provider rejecting the server’s own key: fix it on the Switchyard server, not in the Zapier connection', async () => {
    nock(OPENAI).post('/v1/chat/completions').reply(401, fixtureJson('openai/error-401.json'));
    const err = await rejection(appTester(generate_text.operation.perform, { authData: gatewayAuth(), inputData: { prompt: 'Hi', model: 'openai/gpt-4.1-mini' } }));
    const payload = zapierErrorPayload(err);
    expect(payload).toMatchObject({ name: 'AppError', code: 'upstream_auth', status: 502 });
    expect(payload.message).toMatch(/^The Switchyard server's OpenAI API key was rejected by OpenAI \(/);
    expect(payload.message).toContain("Fix the key in the Switchyard server's config or environment (e.g. OPENAI_API_KEY)");
    expect(payload.message).not.toContain('"OpenAI API Key"');
    expectNoSecret(payload.message);
  });

  test('a proxy’s HTML 502/503 in front of the gateway: the server or proxy answered without a Switchyard error, not "every model failed"', async () => {
    const proxy = createServer((_req, res) => res.writeHead(Number(_req.url?.includes('503') ? 503 : 502), { 'content-type': 'text/html' }).end('<html><body><h1>Bad Gateway</h1></body></html>'));
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
    try {
      for (const [path, status] of [['', 502], ['/503', 503]] as const) {
        const err = await rejection(
          appTester(generate_text.operation.perform, { authData: { ...gatewayAuth(), gateway_url: `${proxyUrl}${path}` }, inputData: { prompt: 'Hi', model: 'auto' } }),
        );
        const payload = zapierErrorPayload(err);
        expect(payload).toMatchObject({ name: 'AppError', code: 'bad_gateway_response', status });
        expect(payload.message).toBe(
          `The Switchyard server (or a proxy in front of it) answered HTTP ${status} without a Switchyard error. Check that the Switchyard server is running and reachable at the Gateway URL, then try again.`,
        );
      }
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  test('an unknown model: the gateway’s 404 becomes an actionable error', async () => {
    const err = await rejection(appTester(generate_text.operation.perform, { authData: gatewayAuth(), inputData: { prompt: 'Hi', model: 'nope/not-a-model' } }));
    const payload = zapierErrorPayload(err);
    expect(payload.name).toBe('AppError');
    expect(payload.message).toMatch(/^Unknown model 'nope\/not-a-model': no configured provider offers it\. Pick a model from the Model dropdown/);
    expect(payload.message).not.toContain('..');
  });

  test('the model dropdown lists the server’s models after the Auto variants', async () => {
    const choices = (await appTester(App.triggers.models.operation.perform, { authData: gatewayAuth() })) as Array<{ id: string }>;
    const ids = choices.map((c) => c.id);
    expect(ids.slice(0, 4)).toEqual(['auto', 'auto:cost', 'auto:latency', 'auto:quality']);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toContain('anthropic/claude-haiku-4-5');
  });
});

describe('Budget Alert', () => {
  const perform = App.triggers.budget_alert.operation.perform;

  test('says whose spend it counted: a gateway key only its own calls, the admin key the whole server', async () => {
    const otherKey = server.store.keys.create({ name: 'another-team' }).key;
    nock(OPENAI).post('/v1/chat/completions').times(2).reply(200, openaiAnswer('Spend something'));
    for (const key of [gatewayKey, otherKey]) {
      await appTester(generate_text.operation.perform, { authData: gatewayAuth(key), inputData: { prompt: 'Hi', model: 'openai/gpt-4.1-mini' } });
    }
    const fired = async (key: string) =>
      ((await appTester(perform, { authData: gatewayAuth(key), inputData: { threshold_usd: '0.000001', period: 'day' } })) as Array<Record<string, unknown>>)[0]!;
    const own = await fired(gatewayKey);
    const other = await fired(otherKey);
    const all = await fired(ADMIN_KEY);
    expect(own).toMatchObject({ counted: 'api_key', counted_description: expect.stringMatching(/^Only calls made with this connection's Gateway API Key/) });
    expect(all).toMatchObject({ counted: 'server', counted_description: 'Every call on the Switchyard server (all keys)' });
    // The admin key's total is every key's spend; each gateway key's is its own part of it.
    expect(all.spent_usd as number).toBeCloseTo((own.spent_usd as number) + (other.spent_usd as number), 6);
    expect(all.calls as number).toBeGreaterThanOrEqual((own.calls as number) + (other.calls as number));
    expect(other.calls).toBe(1);
  });

  test("the trigger's help says what is counted with each kind of key", () => {
    const trigger = App.triggers.budget_alert;
    expect(trigger.display.description).toMatch(/the spend of the connection's Gateway API Key, or of the whole Switchyard server when the connection uses the server's admin key/);
    const threshold = trigger.operation.inputFields.find((f: { key: string }) => f.key === 'threshold_usd') as { helpText: string };
    expect(threshold.helpText).toMatch(/a gateway key counts only the calls made with that key; the server's admin key counts every call on the server/);
    expect(trigger.display.description).not.toMatch(/AI spend on your Switchyard server/);
  });

  test('fires once spend reaches the threshold, with one stable id per threshold and period', async () => {
    nock(OPENAI).post('/v1/chat/completions').reply(200, openaiAnswer('Spend something'));
    await appTester(generate_text.operation.perform, { authData: gatewayAuth(), inputData: { prompt: 'Hi', model: 'openai/gpt-4.1-mini' } });

    const under = await appTester(perform, { authData: gatewayAuth(), inputData: { threshold_usd: 1000, period: 'month' } });
    expect(under).toEqual([]);

    const first = (await appTester(perform, { authData: gatewayAuth(), inputData: { threshold_usd: '0.000001', period: 'day' } })) as Array<Record<string, unknown>>;
    const again = (await appTester(perform, { authData: gatewayAuth(), inputData: { threshold_usd: '0.000001', period: 'day' } })) as Array<Record<string, unknown>>;
    expect(first).toHaveLength(1);
    // The day the trigger itself checked, so the test holds across UTC midnight.
    const checkedDay = String(first[0]!.checked_at).slice(0, 10);
    expect(first[0]).toMatchObject({ id: `budget-day-${checkedDay}-0.000001`, period: 'day', threshold_usd: 0.000001, calls: expect.any(Number) });
    expect(first[0]!.spent_usd as number).toBeGreaterThan(0);
    expect(again[0]!.id).toBe(first[0]!.id);
  });

  test('needs a Gateway server connection', async () => {
    const err = await rejection(appTester(perform, { authData: { mode: 'direct', openai_api_key: KEYS.openai }, inputData: { threshold_usd: 5 } }));
    expect(zapierErrorPayload(err).message).toMatch(/"Gateway server" mode/);
  });

  test('a threshold of zero is refused', async () => {
    const err = await rejection(appTester(perform, { authData: gatewayAuth(), inputData: { threshold_usd: 0 } }));
    expect(zapierErrorPayload(err).message).toMatch(/"Threshold \(USD\)" must be more than 0/);
  });
});
