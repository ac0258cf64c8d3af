import { createHash, createHmac } from 'node:crypto';
import nock from 'nock';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { GatewayError, redactSecrets } from '../../src/core/errors';
import { assertOpenAIError } from '../helpers/openai-schema';
import { FlowsSchema } from '../../src/webhooks/config';
import { FakeSwitchyard, deferred, eventually, harness, localServer, type Harness, onlyLocalNetwork } from './helpers';

const IN_SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const OUT_SECRET = 'whsec_dGVzdC1jYWxsYmFjay1zZWNyZXQtMDEyMzQ1Njc=';
const BEARER = 'bearer-token-0123456789abcdef';

const flows = {
  triage: {
    source: 'generic',
    generic: { signing_secret: IN_SECRET, bearer_token: BEARER, sync_timeout_ms: 5000 },
    prompt: 'Triage: {{body.name}} wrote "{{body.message}}"',
    output: { type: 'json', schema: { type: 'object', required: ['priority'], properties: { priority: { enum: ['low', 'high'] } } } },
    action: { type: 'respond', callback_secret: OUT_SECRET, callback_hosts: ['hooks.example.com'] },
  },
  open: {
    source: 'generic',
    generic: { bearer_token: BEARER },
    prompt: '{{body.text}}',
    action: { type: 'respond', callback_secret: OUT_SECRET },
  },
  nocallback: {
    source: 'generic',
    generic: { bearer_token: BEARER },
    prompt: '{{body.text}}',
    action: { type: 'respond' },
  },
};

function signed(h: Harness, body: string, id = 'msg_1', ts = Math.floor(h.clock.now() / 1000)) {
  const signature = new Webhook(IN_SECRET).sign(id, new Date(ts * 1000), body);
  return request(h.app)
    .post('/hooks/triage')
    .set('content-type', 'application/json')
    .set('webhook-id', id)
    .set('webhook-timestamp', String(ts))
    .set('webhook-signature', signature)
    .send(body);
}

function bearer(h: Harness, body: unknown, flow = 'triage', token = BEARER) {
  return request(h.app).post(`/hooks/${flow}`).set('authorization', `Bearer ${token}`).send(body as object);
}

describe('generic webhook flow', () => {
  let h: Harness;
  let sy: FakeSwitchyard;

  onlyLocalNetwork();
  beforeEach(() => {
    sy = new FakeSwitchyard('{"priority":"high"}');
    h = harness({ flows, switchyard: sy, now: Date.now() });
  });
  afterEach(async () => {
    await h.close();
  });

  it('answers synchronously with the result for a Standard Webhooks request', async () => {
    const res = await signed(h, '{"name":"Ana","message":"Our prod is down"}');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ flow: 'triage', status: 'done', output: { priority: 'high' }, model: 'fake/model-a' });
    expect(sy.requests[0]?.messages[0]).toEqual({ role: 'user', content: 'Triage: Ana wrote "Our prod is down"' });
    const job = await request(h.app).get(`/hooks/jobs/${res.body.id}`);
    expect(job.body).toMatchObject({ id: res.body.id, status: 'done', output: { priority: 'high' } });
  });

  it('a repeated webhook-id returns the stored result without a second model call', async () => {
    const body = '{"name":"Ana","message":"hi"}';
    const first = await signed(h, body, 'msg_dup');
    const second = await signed(h, body, 'msg_dup');
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(sy.requests).toHaveLength(1);
  });

  it('a bearer request reusing a webhook-id as its Idempotency-Key never gets the signed request\'s result', async () => {
    sy = new FakeSwitchyard((req) => (String(req.messages[0]?.content).includes('different') ? '{"priority":"low"}' : '{"priority":"high"}'));
    await h.close();
    h = harness({ flows, switchyard: sy, now: Date.now() });
    const first = await signed(h, '{"name":"Ana","message":"signed"}', 'msg_42');
    expect(first.body.output).toEqual({ priority: 'high' });
    const other = await bearer(h, { name: 'Eve', message: 'different' }).set('idempotency-key', 'msg_42');
    expect(other.status).toBe(200);
    expect(other.body.id).not.toBe(first.body.id);
    expect(other.body.output).toEqual({ priority: 'low' });
    expect(sy.requests).toHaveLength(2);
    expect(h.webhooks.queue.list().map((j) => j.key).sort()).toEqual(['idempotency-key:msg_42', 'webhook-id:msg_42']);
  });

  it('reusing a key with a different body is refused with 422 idempotency_key_reused; the same body gets the stored result', async () => {
    const first = await bearer(h, { name: 'Ana', message: 'one' }).set('idempotency-key', 'order-7');
    expect(first.status).toBe(200);
    const same = await bearer(h, { name: 'Ana', message: 'one' }).set('idempotency-key', 'order-7');
    expect(same.status).toBe(200);
    expect(same.body.id).toBe(first.body.id);

    const reused = await bearer(h, { name: 'Ana', message: 'two' }).set('idempotency-key', 'order-7');
    expect(reused.status).toBe(422);
    expect(reused.body.error).toMatchObject({ code: 'idempotency_key_reused', param: 'Idempotency-Key', type: 'invalid_request_error' });
    // The first job's id would let the caller read its result: it stays out of the answer.
    expect(JSON.stringify(reused.body)).not.toContain(first.body.id);
    expect(reused.body).not.toHaveProperty('output');

    await signed(h, '{"name":"Ana","message":"a"}', 'msg_7');
    const resigned = await signed(h, '{"name":"Ana","message":"b"}', 'msg_7');
    expect(resigned.status).toBe(422);
    expect(resigned.body.error).toMatchObject({ code: 'idempotency_key_reused', param: 'webhook-id' });
    expect(sy.requests).toHaveLength(2);
    expect(h.webhooks.queue.list()).toHaveLength(2);
    expect(h.logs.lines).toContainEqual(
      expect.objectContaining({ level: 'warn', msg: 'webhook refused', fields: expect.objectContaining({ status: 422, job: first.body.id }) }),
    );
  });

  it('verifies Standard Webhooks signatures over the raw body bytes, not their UTF-8 decoding', async () => {
    const ts = String(Math.floor(h.clock.now() / 1000));
    const bytes = Buffer.concat([Buffer.from('{"name":"Ana","message":"caf'), Buffer.from([0xff]), Buffer.from('"}')]);
    const key = Buffer.from(IN_SECRET.slice('whsec_'.length), 'base64');
    const mac = createHmac('sha256', key).update(Buffer.concat([Buffer.from(`msg_raw.${ts}.`), bytes])).digest('base64');
    const send = (body: Buffer) =>
      request(h.app)
        .post('/hooks/triage')
        .set('content-type', 'application/json')
        .set('webhook-id', 'msg_raw')
        .set('webhook-timestamp', ts)
        .set('webhook-signature', `v1,${mac}`)
        .serialize((b: unknown) => b as string)
        .send(body);
    const tampered = Buffer.from(bytes);
    tampered[tampered.indexOf(0xff)] = 0xfe;
    expect((await send(tampered)).status).toBe(401);
    expect((await send(bytes)).status).toBe(200);
  });

  it('a wrong or missing token is refused with a message that nothing in it is redacted from', async () => {
    const wrong = await bearer(h, { name: 'B' }, 'open', 'bearer-token-0123456789abcdeX');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error).toMatchObject({ code: 'invalid_token', message: "The Authorization header does not carry this flow's token." });
    const missing = await request(h.app).post('/hooks/open').send({ text: 'x' });
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatchObject({ code: 'invalid_token', message: "The request has no Authorization header; send this flow's token in it." });
    const neither = await request(h.app).post('/hooks/triage').send({ text: 'x' });
    expect(neither.body.error.message).toBe("Webhook signature check failed: missing webhook-signature header (or an Authorization header with this flow's token).");
    // The server's logger redacts what it writes, as GatewayError does for the body.
    expect(redactSecrets(JSON.stringify([wrong.body, missing.body, neither.body, h.logs.lines]))).not.toContain('[redacted]');
  });

  it('accepts the bearer token; refuses wrong tokens, stale signatures and unsigned requests', async () => {
    expect((await bearer(h, { name: 'B', message: 'x' })).status).toBe(200);
    const wrong = await bearer(h, { name: 'B' }, 'triage', 'bearer-token-0123456789abcdeX');
    expect(wrong.status).toBe(401);
    expect(wrong.body.error.code).toBe('invalid_token');
    const stale = await signed(h, '{"a":1}', 'msg_old', Math.floor(h.clock.now() / 1000) - 301);
    expect(stale.status).toBe(401);
    expect(stale.body.error.message).toMatch(/window/);
    expect((await request(h.app).post('/hooks/triage').send({ a: 1 })).status).toBe(401);
    expect((await bearer(h, [1, 2])).status).toBe(400);
    expect(h.webhooks.queue.list()).toHaveLength(1);
  });

  it('with callback_url: 202 and a job id at once, then a signed callback (retried after a failure, same webhook-id)', async () => {
    const received: Array<{ headers: Record<string, string>; body: string }> = [];
    nock('https://hooks.example.com').post('/lead').reply(500, 'try later');
    nock('https://hooks.example.com')
      .post('/lead')
      .reply(200, function (_uri, body) {
        received.push({ headers: this.req.headers as Record<string, string>, body: JSON.stringify(body) });
        return { ok: true };
      });
    const res = await bearer(h, { name: 'Ana', message: 'pricing?', callback_url: 'https://hooks.example.com/lead' });
    expect(res.status).toBe(202);
    expect(res.headers.location).toBe(`/hooks/jobs/${res.body.id}`);
    expect(res.body).toMatchObject({ status: 'pending', status_url: `/hooks/jobs/${res.body.id}` });

    await h.webhooks.pool.drain();
    expect(h.webhooks.queue.get(res.body.id)).toMatchObject({ state: 'pending', lastError: expect.stringMatching(/^callback: HTTP 500\b/) });
    expect(h.webhooks.queue.get(res.body.id)?.lastError).not.toContain('try later');
    h.clock.advance(60_000);
    await h.webhooks.pool.drain();
    expect(received).toHaveLength(1);
    const { headers, body } = received[0]!;
    expect(headers['webhook-id']).toBe(res.body.id);
    const payload = new Webhook(OUT_SECRET).verify(body, headers) as { type: string; data: Record<string, unknown> };
    expect(payload).toMatchObject({ type: 'flow.completed', data: { job_id: res.body.id, flow: 'triage', output: { priority: 'high' } } });
    expect(sy.requests).toHaveLength(1);
    expect(sy.requests[0]?.messages[0]?.content).not.toContain('callback_url');
  });

  it('refuses callback URLs the flow does not allow', async () => {
    const host = await bearer(h, { callback_url: 'https://evil.example.net/x' });
    expect(host.status).toBe(400);
    expect(host.body.error).toMatchObject({ param: 'callback_url', code: 'callback_not_allowed' });
    expect((await bearer(h, { callback_url: 'ftp://hooks.example.com/x' })).status).toBe(400);
    expect((await bearer(h, { text: 'x', callback_url: 'https://hooks.example.com/x' }, 'nocallback')).status).toBe(400);
    expect(h.webhooks.queue.list()).toHaveLength(0);
  });

  it('accepts a public callback_url on a flow without a host list', async () => {
    const res = await bearer(h, { text: 'x', callback_url: 'https://crm.example.com/hooks/leads' }, 'open');
    expect(res.status).toBe(202);
  });

  it.each([
    'http://127.0.0.1:8787/admin/keys',
    'http://localhost/x',
    'http://169.254.169.254/latest/meta-data',
    'http://10.1.2.3/',
    'http://[::1]/x',
    'http://[::ffff:192.168.0.1]/',
    'http://db.internal/',
    'http://[::ffff:7f00:1]/',
    'http://100.64.0.1/',
    'http://[fd00::1]/',
    'http://0.0.0.0/',
    'http://2130706433/',
  ])(
    'refuses an internal callback_url (%s) unless the flow lists its host',
    async (callback_url) => {
      const res = await bearer(h, { text: 'x', callback_url }, 'open');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ param: 'callback_url', code: 'callback_not_allowed' });
      expect(h.webhooks.queue.list()).toHaveLength(0);
    },
  );

  it.each([
    'http://[::7f00:1]/',
    'http://[64:ff9b::7f00:1]/',
    'http://[64:ff9b::a00:1]/',
    'http://[2002:7f00:1::1]/',
    'http://198.18.0.1/',
    'http://192.0.2.1/',
    'http://224.0.0.1/',
    'http://240.0.0.1/',
    'http://[2001:db8::1]/',
    'http://[ff02::1]/',
  ])('refuses a callback_url in a special-purpose range (%s): NAT64, 6to4, IPv4-compatible, benchmarking, multicast, reserved', async (callback_url) => {
    const res = await bearer(h, { text: 'x', callback_url }, 'open');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ param: 'callback_url', code: 'callback_not_allowed' });
    expect(h.webhooks.queue.list()).toHaveLength(0);
  });

  it.each(['http://localhost./cb', 'http://LOCALHOST./cb', 'http://metadata.google.internal./computeMetadata/v1/', 'http://printer.local./', 'http://app.localhost./'])(
    'refuses an internal name written with a trailing dot (%s) with a 400, like the name without it',
    async (callback_url) => {
      const res = await bearer(h, { text: 'x', callback_url }, 'open');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ param: 'callback_url', code: 'callback_not_allowed', message: expect.stringMatching(/is internal/) });
      expect(h.webhooks.queue.list()).toHaveLength(0);
    },
  );

  it('answers 202 when the result takes longer than sync_timeout_ms; GET shows it later', async () => {
    const gate = deferred<string>();
    sy = new FakeSwitchyard(() => gate.promise);
    await h.close();
    h = harness({ flows: { ...flows, triage: { ...flows.triage, generic: { ...flows.triage.generic, sync_timeout_ms: 20 } } }, switchyard: sy, now: Date.now() });
    const res = await bearer(h, { name: 'Ana', message: 'slow' });
    expect(res.status).toBe(202);
    gate.resolve('{"priority":"low"}');
    await eventually(() => h.webhooks.queue.get(res.body.id)?.state === 'done', 'job done');
    const job = await request(h.app).get(`/hooks/jobs/${res.body.id}`);
    expect(job.body).toMatchObject({ status: 'done', output: { priority: 'low' } });
    expect(h.webhooks.queue.get(res.body.id)?.effect).toBe('result stored');
  });

  it('a permanent failure answers 502 with the job in the dead letters; unknown jobs are 404', async () => {
    sy = new FakeSwitchyard(new GatewayError(400, 'context too long', { code: 'context_length_exceeded' }));
    await h.close();
    h = harness({ flows, switchyard: sy, now: Date.now() });
    const res = await bearer(h, { name: 'Ana', message: 'x' });
    expect(res.status).toBe(502);
    assertOpenAIError({ error: res.body.error });
    expect(res.body).toMatchObject({
      flow: 'triage',
      status: 'dead',
      attempts: 1,
      status_url: `/hooks/jobs/${res.body.id}`,
      error: { message: 'model call failed: context too long', type: 'api_error', param: null, code: 'flow_failed' },
    });
    // The job view keeps the error as text.
    const view = await request(h.app).get(res.body.status_url);
    expect(view.body).toMatchObject({ status: 'dead', error: 'model call failed: context too long' });
    expect((await request(h.app).get('/hooks/jobs/job_nope')).status).toBe(404);
  });

  it('a sync request for a job whose worker died on its last attempt answers 502 at once (the job is dead, not run again)', async () => {
    const body = { name: 'Ana', message: 'crashes the worker' };
    const key = 'order-crash';
    // The first request's process was killed mid-job (max_attempts 1): its lease has run out.
    const job = h.webhooks.queue.enqueue([
      {
        flow: 'triage',
        source: 'generic',
        key: `idempotency-key:${key}`,
        payload: { fields: { body, flow: 'triage' } },
        maxAttempts: 1,
        bodySha256: createHash('sha256').update(JSON.stringify(body)).digest('hex'),
      },
    ])[0]!.job!;
    h.webhooks.queue.claim('killed-process', 1000);
    h.clock.advance(1000);
    const res = await bearer(h, body).set('idempotency-key', key);
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({ id: job.id, status: 'dead', error: { code: 'flow_failed', message: 'worker died during attempt 1 (lease expired)' } });
    expect(sy.requests).toHaveLength(0);
    expect(h.logs.lines).toContainEqual(expect.objectContaining({ level: 'error', msg: expect.stringMatching(/dead letters/), fields: expect.objectContaining({ job: job.id }) }));
  });

  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['longer than 255 characters', 'k'.repeat(256)],
  ])('refuses an Idempotency-Key that is %s with 400 naming the header; nothing is enqueued', async (_what, key) => {
    const res = await bearer(h, { name: 'Ana', message: 'x' }).set('idempotency-key', key);
    expect(res.status).toBe(400);
    assertOpenAIError(res.body);
    expect(res.body.error).toMatchObject({ param: 'Idempotency-Key', code: 'invalid_idempotency_key', type: 'invalid_request_error' });
    expect(h.webhooks.queue.list()).toHaveLength(0);
    expect(sy.requests).toHaveLength(0);
  });

  it('an Idempotency-Key whose job was pruned answers 409 idempotency_key_expired, with nothing enqueued or run', async () => {
    const body = { name: 'Ana', message: 'hi' };
    expect((await bearer(h, body).set('idempotency-key', 'order-7')).status).toBe(200);
    h.clock.advance(15 * 86_400_000);
    h.webhooks.pool.prune();
    for (const again of [body, { name: 'Ana', message: 'another body' }]) {
      const res = await bearer(h, again).set('idempotency-key', 'order-7');
      expect(res.status).toBe(409);
      assertOpenAIError(res.body);
      expect(res.body.error).toMatchObject({ code: 'idempotency_key_expired', param: 'Idempotency-Key', message: expect.stringContaining('use a new Idempotency-Key') });
    }
    expect(h.webhooks.queue.counts()).toEqual({ pending: 0, running: 0, done: 0, dead: 0 });
    expect(sy.requests).toHaveLength(1);
    expect((await bearer(h, body).set('idempotency-key', 'order-8')).status).toBe(200);
    expect(sy.requests).toHaveLength(2);
  });

  it('accepts an Idempotency-Key of 255 characters', async () => {
    const res = await bearer(h, { name: 'Ana', message: 'x' }).set('idempotency-key', 'k'.repeat(255));
    expect(res.status).toBe(200);
    expect(h.webhooks.queue.get(res.body.id)?.key).toBe(`idempotency-key:${'k'.repeat(255)}`);
  });

  it('matches callback_hosts case-insensitively and in the URL form of IPv6 addresses and trailing dots', async () => {
    await h.close();
    const action = { ...flows.open.action, callback_hosts: ['Hooks.Example.COM', '::1', 'fqdn.example.com.'], callback_allow_private: true };
    h = harness({ flows: { hosts: { ...flows.open, action } }, switchyard: sy, now: Date.now() });
    for (const callback_url of ['https://Hooks.Example.com/cb', 'https://hooks.example.com./cb', 'http://[::1]:9/cb', 'https://FQDN.example.com/cb']) {
      const res = await bearer(h, { text: 'x', callback_url }, 'hosts');
      expect([callback_url, res.status]).toEqual([callback_url, 202]);
    }
    const other = await bearer(h, { text: 'x', callback_url: 'https://hooks.example.org/cb' }, 'hosts');
    expect(other.status).toBe(400);
  });
});

describe('synchronous generic requests while the workers stop (shutdown)', () => {
  let h: Harness;
  let gate = deferred<string>();
  let sy: FakeSwitchyard;
  const slow = { ...flows.nocallback, generic: { ...flows.nocallback.generic, sync_timeout_ms: 120_000 } };

  onlyLocalNetwork();
  beforeEach(() => {
    gate = deferred<string>();
    sy = new FakeSwitchyard(() => gate.promise);
    h = harness({ flows: { slow }, switchyard: sy, now: Date.now(), settings: { workers: 1 }, start: true });
  });
  afterEach(async () => {
    gate.resolve('late');
    await h.close();
  });

  it('a request arriving once the workers stop answers 202 with the job id at once, not after sync_timeout_ms', async () => {
    await h.webhooks.stop(1000);
    const res = await bearer(h, { text: 'during shutdown' }, 'slow');
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'pending', status_url: `/hooks/jobs/${res.body.id}` });
    expect(res.headers.location).toBe(`/hooks/jobs/${res.body.id}`);
    expect(sy.requests).toHaveLength(0);
  }, 10_000);

  it('a request waiting for a worker when the stop begins answers 202 at once; the job in flight still answers its caller', async () => {
    const first = bearer(h, { text: 'in flight' }, 'slow').then((r) => r);
    await eventually(() => sy.requests.length === 1, 'first job running');
    const second = bearer(h, { text: 'queued' }, 'slow').then((r) => r);
    await eventually(() => h.webhooks.queue.list().length === 2, 'second job enqueued');
    const stopped = h.webhooks.stop(10_000);
    const queued = await second;
    expect(queued.status).toBe(202);
    expect(queued.body).toMatchObject({ status: 'pending', status_url: `/hooks/jobs/${queued.body.id}` });
    gate.resolve('answer');
    expect((await first).body).toMatchObject({ status: 'done', output: 'answer' });
    await stopped;
    expect(h.webhooks.queue.get(queued.body.id)?.state).toBe('pending');
    expect(sy.requests).toHaveLength(1);
  }, 10_000);
});

describe('callback_hosts in the configuration', () => {
  const withHosts = (callback_hosts: string[]) => FlowsSchema.safeParse({ f: { ...flows.open, action: { ...flows.open.action, callback_hosts } } });

  it('are kept lowercase, IPv6 in brackets (as URL.hostname gives them), without a trailing dot', () => {
    const parsed = withHosts(['Hooks.Example.COM', '::1', '[2001:DB8::1]', 'fqdn.example.com.', '10.0.0.1']);
    expect(parsed.success).toBe(true);
    const action = parsed.data?.f?.action;
    expect(action?.type === 'respond' && action.callback_hosts).toEqual(['hooks.example.com', '[::1]', '[2001:db8::1]', 'fqdn.example.com', '10.0.0.1']);
  });

  it.each(['https://hooks.example.com', 'hooks.example.com:8443', 'hooks.example.com/cb', 'user@hooks.example.com', 'two words', '', '[::1', '.'])(
    'refuses %j with an error naming its path',
    (host) => {
      const parsed = withHosts(['ok.example.com', host]);
      expect(parsed.success).toBe(false);
      expect(parsed.error?.issues[0]).toMatchObject({ path: ['f', 'action', 'callback_hosts', 1], message: expect.stringMatching(/not a host name or IP address/) });
    },
  );
});

describe('generic flow callbacks never reach internal services (SSRF)', () => {
  const SECRET_TEXT = 'INTERNAL-ONLY-SECRET: db_password=hunter2';
  const local = {
    source: 'generic',
    generic: { bearer_token: BEARER },
    prompt: '{{body.text}}',
    action: { type: 'respond', callback_secret: OUT_SECRET, callback_hosts: ['127.0.0.1'], callback_allow_private: true },
  };
  let h: Harness | undefined;

  onlyLocalNetwork();
  // Names under .test stand for public hosts; the injected resolver answers for them, never DNS.
  beforeAll(() => nock.enableNetConnect((host) => host.startsWith('127.0.0.1') || /\.test(:\d+)?$/.test(host)));
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  async function deliver(harnessed: Harness, flow: string, callback_url: string) {
    const res = await bearer(harnessed, { text: 'x', callback_url }, flow);
    expect(res.status).toBe(202);
    await harnessed.webhooks.pool.drain();
    const view = await request(harnessed.app).get(`/hooks/jobs/${res.body.id}`);
    return { job: harnessed.webhooks.queue.get(res.body.id)!, view: view.body as Record<string, unknown> };
  }

  it('a callback_url whose name resolves to 127.0.0.1 is never contacted', async () => {
    const service = await localServer((_req, res) => {
      res.writeHead(500);
      res.end(SECRET_TEXT);
    });
    try {
      const resolver = jest.fn(async () => [{ address: '127.0.0.1', family: 4 as const }]);
      h = harness({ flows, switchyard: new FakeSwitchyard('ok'), now: Date.now(), callbackResolver: resolver });
      const { job, view } = await deliver(h, 'open', `http://metadata.rebind.test:${service.port}/secret`);
      expect(resolver).toHaveBeenCalledWith('metadata.rebind.test');
      expect(service.hits).toEqual([]);
      expect(job.state).toBe('dead');
      expect(job.lastError).toMatch(/^callback: .*non-public address/);
      expect(JSON.stringify(view)).not.toContain('INTERNAL-ONLY-SECRET');
      expect(view).toMatchObject({ status: 'dead', error: job.lastError });
    } finally {
      await service.close();
    }
  });

  it('a listed host that resolves to an internal address is refused unless the flow opts in with callback_allow_private', async () => {
    const service = await localServer((_req, res) => res.end('{}'));
    try {
      const listed = { ...flows.open, action: { ...flows.open.action, callback_hosts: ['crm.test'] } };
      h = harness({ flows: { listed }, switchyard: new FakeSwitchyard('ok'), now: Date.now(), callbackResolver: async () => [{ address: '127.0.0.1', family: 4 }] });
      const { job } = await deliver(h, 'listed', `http://crm.test:${service.port}/hook`);
      expect(job.state).toBe('dead');
      expect(service.hits).toEqual([]);
      const literal = await bearer(h, { text: 'x', callback_url: `${service.url}/hook` }, 'listed');
      expect(literal.status).toBe(400);
    } finally {
      await service.close();
    }
  });

  it('a literal internal address listed in callback_hosts is refused at intake without the opt-in', async () => {
    const listed = { ...flows.open, action: { ...flows.open.action, callback_hosts: ['127.0.0.1'] } };
    h = harness({ flows: { listed }, switchyard: new FakeSwitchyard('ok'), now: Date.now() });
    const res = await bearer(h, { text: 'x', callback_url: 'http://127.0.0.1:9/x' }, 'listed');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ param: 'callback_url', code: 'callback_not_allowed', message: expect.stringMatching(/callback_allow_private/) });
    expect(h.webhooks.queue.list()).toHaveLength(0);
  });

  it('callback_allow_private needs callback_hosts', () => {
    const parsed = FlowsSchema.safeParse({ open: { ...flows.open, action: { ...flows.open.action, callback_allow_private: true } } });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues[0]).toMatchObject({ path: ['open', 'action', 'callback_allow_private'], message: expect.stringMatching(/callback_hosts/) });
  });

  it('never follows a redirect: a 3xx is a failed delivery and the redirect target is not requested', async () => {
    const service = await localServer((req, res) => {
      if (req.url === '/hook') {
        res.writeHead(307, { location: '/admin/secret' });
        return res.end();
      }
      res.end(SECRET_TEXT);
    });
    try {
      h = harness({ flows: { local }, switchyard: new FakeSwitchyard('ok'), now: Date.now() });
      const { job, view } = await deliver(h, 'local', `${service.url}/hook`);
      expect(service.hits).toEqual(['/hook']);
      expect(job.state).toBe('dead');
      expect(job.lastError).toMatch(/^callback: HTTP 307: .*redirect/);
      expect(JSON.stringify(view)).not.toContain('INTERNAL-ONLY-SECRET');
    } finally {
      await service.close();
    }
  });

  it('the reply body of a failed callback reaches neither the job error nor the job view', async () => {
    const service = await localServer((_req, res) => {
      res.writeHead(404, { 'content-type': 'text/plain' });
      res.end(SECRET_TEXT);
    });
    try {
      h = harness({ flows: { local }, switchyard: new FakeSwitchyard('ok'), now: Date.now() });
      const { job, view } = await deliver(h, 'local', `${service.url}/hook`);
      expect(service.hits).toEqual(['/hook']);
      expect(job).toMatchObject({ state: 'dead', lastError: expect.stringMatching(/^callback: HTTP 404\b/) });
      expect(job.lastError).not.toContain('INTERNAL-ONLY-SECRET');
      expect(JSON.stringify(view)).not.toContain('INTERNAL-ONLY-SECRET');
      expect(h.logs.text()).not.toContain('INTERNAL-ONLY-SECRET');
    } finally {
      await service.close();
    }
  });

  it('an operator-listed private host is reached when the flow opts in', async () => {
    const service = await localServer((_req, res) => res.end('{}'));
    try {
      h = harness({ flows: { local }, switchyard: new FakeSwitchyard('ok'), now: Date.now() });
      const { job } = await deliver(h, 'local', `${service.url}/hook`);
      expect(service.hits).toEqual(['/hook']);
      expect(job).toMatchObject({ state: 'done', effect: 'callback answered 200' });
    } finally {
      await service.close();
    }
  });
});

describe('synchronous generic requests and the workers limit', () => {
  let h: Harness;
  let active = 0;
  let most = 0;
  let gate = deferred<string>();
  let sy: FakeSwitchyard;

  onlyLocalNetwork();
  beforeEach(() => {
    active = 0;
    most = 0;
    gate = deferred<string>();
    sy = new FakeSwitchyard(async () => {
      active++;
      most = Math.max(most, active);
      try {
        return await gate.promise;
      } finally {
        active--;
      }
    });
    const quick = { ...flows.nocallback, generic: { ...flows.nocallback.generic, sync_timeout_ms: 30 } };
    h = harness({ flows: { ...flows, quick }, switchyard: sy, now: Date.now(), settings: { workers: 1 }, start: true });
  });
  afterEach(async () => {
    gate.resolve('late');
    await h.close();
  });

  it('runs no more model calls at once than webhooks.workers; waiting requests still get their result', async () => {
    const pending = [1, 2, 3].map((n) => bearer(h, { text: `q${n}` }, 'nocallback').then((r) => r));
    await eventually(() => h.webhooks.queue.list().length === 3 && active >= 1, 'three jobs enqueued, one running');
    expect(h.webhooks.queue.list().filter((j) => j.state === 'running')).toHaveLength(1);
    gate.resolve('answer');
    const replies = await Promise.all(pending);
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(replies.map((r) => r.body.output)).toEqual(['answer', 'answer', 'answer']);
    expect(most).toBe(1);
  });

  it('a request that finds every worker busy answers 202 after sync_timeout_ms; its job runs once a worker is free', async () => {
    const first = bearer(h, { text: 'slow' }, 'nocallback').then((r) => r);
    await eventually(() => active === 1, 'first job running');
    const second = await bearer(h, { text: 'waits' }, 'quick');
    expect(second.status).toBe(202);
    expect(second.body).toMatchObject({ status: 'pending', status_url: `/hooks/jobs/${second.body.id}` });
    expect(sy.requests).toHaveLength(1);
    gate.resolve('done');
    expect((await first).status).toBe(200);
    await eventually(() => h.webhooks.queue.get(second.body.id)?.state === 'done', 'second job done');
    expect(most).toBe(1);
    const view = await request(h.app).get(`/hooks/jobs/${second.body.id}`);
    expect(view.body).toMatchObject({ status: 'done', output: 'done' });
  });
});

