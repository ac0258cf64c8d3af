import nock from 'nock';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { GatewayError } from '../../src/core/errors';
import { FakeSwitchyard, deferred, eventually, harness, type Harness, onlyLocalNetwork } from './helpers';

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
    expect(h.webhooks.queue.get(res.body.id)).toMatchObject({ state: 'pending', lastError: 'callback: HTTP 500: try later' });
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

  it.each(['http://127.0.0.1:8787/admin/keys', 'http://localhost/x', 'http://169.254.169.254/latest/meta-data', 'http://10.1.2.3/', 'http://[::1]/x', 'http://[::ffff:192.168.0.1]/', 'http://db.internal/'])(
    'refuses an internal callback_url (%s) unless the flow lists its host',
    async (callback_url) => {
      const res = await bearer(h, { text: 'x', callback_url }, 'open');
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ param: 'callback_url', code: 'callback_not_allowed' });
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
    expect(res.body).toMatchObject({ status: 'dead', error: expect.stringMatching(/context too long/) });
    expect((await request(h.app).get('/hooks/jobs/job_nope')).status).toBe(404);
  });
});
