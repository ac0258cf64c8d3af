import nock from 'nock';
import { closeUpstreamPools } from '../../src/core/http';
import { createSwitchyard } from '../../src/core/routing/switchyard';
import { createAccessControl } from '../../src/server/access';
import { openStore, type Store } from '../../src/server/store';
import { fixtureJson } from '../helpers/fixtures';
import { assertOpenAIError, assertOpenAIResponse } from '../helpers/openai-schema';
import { errorJson, postJson, serveApp, type Served } from './helpers/serve';

/** The gateway's JSON answers for an OpenAI upstream (nock), through the real routing core and server. */

const BASE = 'https://api.openai.test/v1';
const UPSTREAM_KEY = 'sk-test-upstream-secret-424242';
const hello = { model: 'openai/gpt-4.1-mini', messages: [{ role: 'user', content: 'Hi' }] };

describe('gateway answers relayed from an OpenAI upstream', () => {
  let served: Served;
  let store: Store;

  beforeAll(() => {
    nock.disableNetConnect();
    nock.enableNetConnect('127.0.0.1');
  });
  afterAll(async () => {
    nock.enableNetConnect();
    await closeUpstreamPools();
  });

  beforeEach(async () => {
    const switchyard = createSwitchyard(
      { providers: { openai: { type: 'openai', api_key: UPSTREAM_KEY, base_url: BASE } }, routing: { retries_per_model: 0 } },
      { env: {} },
    );
    store = openStore(':memory:');
    const access = createAccessControl({ store, requireKeys: false });
    served = await serveApp(switchyard, { store, access });
  });

  afterEach(async () => {
    nock.cleanAll();
    await served.close();
    await served.holder.current.close();
    await store.close();
  });

  it('keeps usage details and service_tier of a non-streaming answer, schema-valid', async () => {
    const upstream = fixtureJson<Record<string, unknown>>('openai/chat-basic.json');
    nock(BASE).post('/chat/completions').reply(200, upstream);
    const res = await postJson(`${served.url}/v1/chat/completions`, hello);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    assertOpenAIResponse(body);
    expect(body).toMatchObject({ service_tier: 'default', system_fingerprint: 'fp_6ec83003ad', usage: upstream.usage });
    expect((body.choices as Array<{ message: unknown }>)[0]!.message).toEqual({ role: 'assistant', content: 'Hello! ¿Cómo estás? 👋', refusal: null, annotations: [] });
  });

  it("relays an upstream 400's param and code, never its echo of the provider key", async () => {
    nock(BASE)
      .post('/chat/completions')
      .reply(400, { error: { message: `Invalid 'stop': too many sequences (request by ${UPSTREAM_KEY})`, type: 'invalid_request_error', param: 'stop', code: 'array_above_max_length' } });
    const res = await postJson(`${served.url}/v1/chat/completions`, { ...hello, stop: ['a', 'b', 'c', 'd'] });
    expect(res.status).toBe(400);
    const body = await errorJson(res);
    assertOpenAIError(body);
    expect(body.error).toMatchObject({ type: 'invalid_request_error', param: 'stop', code: 'array_above_max_length' });
    expect(body.error.message).toContain("Invalid 'stop'");
    expect(JSON.stringify(body)).not.toContain(UPSTREAM_KEY);
  });

  it('reports whole-millisecond latencies in /v1/usage for answered and rejected requests', async () => {
    nock(BASE).post('/chat/completions').reply(200, fixtureJson('openai/chat-basic.json'));
    expect((await postJson(`${served.url}/v1/chat/completions`, hello)).status).toBe(200);
    expect((await postJson(`${served.url}/v1/chat/completions`, { ...hello, messages: [] })).status).toBe(400);
    const res = await fetch(`${served.url}/v1/usage?group_by=provider`);
    const rows = ((await res.json()) as { data: Array<{ group: string; p50_latency_ms: number; p95_latency_ms: number }> }).data;
    expect(rows.map((r) => r.group).sort()).toEqual(['(none)', 'openai']);
    for (const row of rows) {
      expect(Number.isInteger(row.p50_latency_ms)).toBe(true);
      expect(Number.isInteger(row.p95_latency_ms)).toBe(true);
    }
  });
});
