import { request as httpRequest } from 'node:http';
import { createAccessControl } from '../../src/server/access';
import { Metrics, statusLabel } from '../../src/server/metrics';
import { openStore, type Store, type UsageRowInput } from '../../src/server/store';
import { FakeSwitchyard } from './helpers/fake-switchyard';
import { postJson, serveApp, type Served } from './helpers/serve';

/** Bodies the chat handler refuses while reading them still leave a usage row and a metrics sample. */

/** A POST whose body is larger than Content-Length says is impossible with fetch; this sends raw bytes. */
function rawPost(url: string, headers: Record<string, string>, body: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method: 'POST', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('requests rejected while reading the body', () => {
  let store: Store;
  let served: Served;
  let rows: UsageRowInput[];

  beforeEach(async () => {
    store = openStore(':memory:', { flushIntervalMs: 10 });
    rows = [];
    const record = store.usage.record.bind(store.usage);
    jest.spyOn(store.usage, 'record').mockImplementation((row) => {
      rows.push(row);
      record(row);
    });
    const access = createAccessControl({ store, requireKeys: () => store.keys.count() > 0 });
    served = await serveApp(new FakeSwitchyard(), { store, access, metrics: new Metrics({ defaultMetrics: false }) });
  });
  afterEach(async () => {
    await served.close();
    await store.close();
  });

  it('answers 401 to a caller without a key before reading its body, however large or malformed', async () => {
    store.keys.create({ name: 'ci' });
    const url = `${served.url}/v1/chat/completions`;
    for (const body of ['{oops', JSON.stringify({ model: 'auto', messages: [{ role: 'user', content: 'x'.repeat(3_000_000) }] })]) {
      const res = await postJson(url, body);
      expect(res.status).toBe(401);
      expect(((await res.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
    }
    expect(rows.map((r) => [r.status, r.key_id])).toEqual([
      [401, null],
      [401, null],
    ]);
  });

  it('records 400 malformed JSON, 413 too large and 415 compressed bodies with status, error code and key, never the body', async () => {
    const { key, record: keyRecord } = store.keys.create({ name: 'ci' });
    const auth = { authorization: `Bearer ${key}` };
    const url = `${served.url}/v1/chat/completions`;

    expect((await postJson(url, '{"model": "auto", "messages": [ secret-text', auth)).status).toBe(400);
    expect((await postJson(url, { model: 'auto', messages: [{ role: 'user', content: 'x'.repeat(1_100_000) }] }, auth)).status).toBe(413);
    expect(await rawPost(url, { ...auth, 'content-type': 'application/json', 'content-encoding': 'gzip' }, Buffer.from('not really gzip'))).toBe(415);
    const deep = `{"model":"auto","messages":[{"role":"user","content":"hi"}],"metadata":${'['.repeat(150)}${']'.repeat(150)}}`;
    const nested = await postJson(url, deep, auth);
    expect(nested.status).toBe(400);
    expect((await nested.json()) as unknown).toMatchObject({ error: { code: 'invalid_json', message: expect.stringContaining('100 levels') } });

    expect(rows.map((r) => [r.status, r.error_kind, r.key_id])).toEqual([
      [400, 'invalid_json', keyRecord.id],
      [413, 'request_too_large', keyRecord.id],
      [415, 'unsupported_encoding', keyRecord.id],
      [400, 'invalid_json', keyRecord.id],
    ]);
    for (const row of rows) {
      expect(row).toMatchObject({ requested_model: '(none)', model: null, attempts: 0, prompt: null });
      expect(JSON.stringify(row)).not.toContain('secret-text');
    }
    const byKey = store.usage.aggregate({ group_by: 'key' });
    expect(byKey.find((r) => r.group === keyRecord.id)).toMatchObject({ calls: 4, errors: 4 });

    const text = await (await fetch(`${served.url}/metrics`, { headers: auth })).text();
    expect(text).toContain('switchyard_chat_requests_total{model="none",provider="none",status="413",stream="false"} 1');
    expect(text).toContain('switchyard_chat_requests_total{model="none",provider="none",status="400",stream="false"} 2');
  });
});

describe('chat latency histogram', () => {
  it('carries the status, with unknown statuses folded into their class', async () => {
    const metrics = new Metrics({ defaultMetrics: false });
    metrics.chat({ status: 200, stream: false, durationMs: 12 });
    metrics.chat({ status: 429, stream: false, durationMs: 1 });
    metrics.chat({ status: 418, stream: true, durationMs: 1 });
    const { body } = await metrics.render();
    expect(body).toContain('switchyard_chat_duration_seconds_count{model="none",provider="none",status="200",stream="false"} 1');
    expect(body).toContain('switchyard_chat_duration_seconds_count{model="none",provider="none",status="429",stream="false"} 1');
    expect(body).toContain('switchyard_chat_duration_seconds_count{model="none",provider="none",status="4xx",stream="true"} 1');
    expect(['200', '502', '2xx', '5xx']).toEqual([statusLabel(200), statusLabel(502), statusLabel(206), statusLabel(599)]);
  });
});
