import nock from 'nock';
import request from 'supertest';
import { WebhooksSectionSchema } from '../../src/webhooks/config';
import { FakeSwitchyard, harness, hmacHex, type Harness, onlyLocalNetwork } from './helpers';

const APP_SECRET = 'test_app_secret_0123456789abcdef';
const ACCESS_TOKEN = 'EAAGtestaccesstoken0123456789';
const GRAPH = 'https://graph.facebook.com';
// Vector A of the reference (real Meta payload shape), signature verified with node:crypto there.
const BODY_A =
  '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}';
const SIG_A = 'sha256=01591d62415526782fc0a31b8faa3c8d903868b8db037a95ee396498731c8df9';

const flows = {
  support: {
    source: 'whatsapp',
    whatsapp: { app_secret: APP_SECRET, verify_token: 'verify-token-xyz', access_token: ACCESS_TOKEN },
    system: 'Answer {{contact.name}} briefly.',
    prompt: '{{message.text}}',
    action: { type: 'reply' },
  },
};

function statusBody(): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
              statuses: [{ id: 'wamid.OUT1', status: 'delivered', timestamp: '1749416390', recipient_id: '16505551234' }],
            },
          },
        ],
      },
    ],
  });
}

function post(h: Harness, body: string, signature = `sha256=${hmacHex(APP_SECRET, body)}`) {
  return request(h.app).post('/webhooks/support').set('content-type', 'application/json').set('x-hub-signature-256', signature).send(body);
}

function graphReplies(count: { n: number; bodies: unknown[] }, status = 200) {
  return nock(GRAPH)
    .post('/v23.0/106540352242922/messages')
    .matchHeader('authorization', `Bearer ${ACCESS_TOKEN}`)
    .times(10)
    .reply(function (_uri, body) {
      count.n++;
      count.bodies.push(body);
      return [status, status === 200 ? { messaging_product: 'whatsapp', messages: [{ id: `wamid.OUT${count.n}` }] } : { error: { message: 'down', code: 2 } }];
    });
}

describe('WhatsApp Cloud API flow', () => {
  let h: Harness;
  let sy: FakeSwitchyard;

  onlyLocalNetwork();
  beforeEach(() => {
    sy = new FakeSwitchyard('Yes, it comes in blue and green!');
    h = harness({ flows, switchyard: sy, settings: { body_limit: '4kb', max_attempts: 3 } });
  });
  afterEach(async () => {
    await h.close();
  });

  it('answers the subscription handshake only with the right verify token', async () => {
    const ok = await request(h.app).get('/webhooks/support').query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-token-xyz', 'hub.challenge': '1158201444' });
    expect(ok.status).toBe(200);
    expect(ok.text).toBe('1158201444');
    const bad = await request(h.app).get('/webhooks/support').query({ 'hub.mode': 'subscribe', 'hub.verify_token': 'nope', 'hub.challenge': '1' });
    expect(bad.status).toBe(403);
  });

  it('acknowledges a signed message after storing it, then replies through the Graph API', async () => {
    const sent = { n: 0, bodies: [] as unknown[] };
    graphReplies(sent);
    const res = await post(h, BODY_A, SIG_A);
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
    expect(h.webhooks.queue.counts().pending).toBe(1);

    expect(await h.webhooks.pool.drain()).toBe(1);
    expect(sy.requests[0]?.messages).toEqual([
      { role: 'system', content: 'Answer Sheena Nelson briefly.' },
      { role: 'user', content: 'Does it come in another color?' },
    ]);
    expect(sent.bodies).toEqual([
      { messaging_product: 'whatsapp', recipient_type: 'individual', to: '16505551234', type: 'text', text: { preview_url: false, body: 'Yes, it comes in blue and green!' } },
    ]);
    const [job] = h.webhooks.queue.list();
    expect(job).toMatchObject({ state: 'done', key: 'wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=', effect: 'whatsapp message sent (wamid.OUT1)' });
  });

  it('cuts an answer over 4096 characters between code points: an emoji straddling the limit is left out whole', async () => {
    const sent = { n: 0, bodies: [] as unknown[] };
    graphReplies(sent);
    sy = new FakeSwitchyard(`${'a'.repeat(4095)}😀 and more`);
    await h.close();
    h = harness({ flows, switchyard: sy, settings: { body_limit: '4kb', max_attempts: 3 } });
    expect((await post(h, BODY_A, SIG_A)).status).toBe(200);
    await h.webhooks.pool.drain();
    expect(sent.bodies).toHaveLength(1);
    expect((sent.bodies[0] as { text: { body: string } }).text.body).toBe('a'.repeat(4095));
  });

  it('never serves a platform job on the public job-status endpoint', async () => {
    graphReplies({ n: 0, bodies: [] });
    await post(h, BODY_A, SIG_A);
    await h.webhooks.pool.drain();
    const [job] = h.webhooks.queue.list();
    expect((await request(h.app).get(`/hooks/jobs/${job!.id}`)).status).toBe(404);
  });

  it('a duplicate delivery produces one reply', async () => {
    const sent = { n: 0, bodies: [] as unknown[] };
    graphReplies(sent);
    expect((await post(h, BODY_A)).status).toBe(200);
    await h.webhooks.pool.drain();
    expect((await post(h, BODY_A)).status).toBe(200);
    expect((await post(h, BODY_A)).status).toBe(200);
    await h.webhooks.pool.drain();
    expect(sent.n).toBe(1);
    expect(sy.requests).toHaveLength(1);
    expect(h.webhooks.queue.counts()).toMatchObject({ done: 1, pending: 0 });
  });

  it('refuses bad signatures (401), malformed bodies (400), oversized bodies (413) and unknown flows (404) with nothing enqueued', async () => {
    expect((await post(h, BODY_A, SIG_A.replace('0159', '0160'))).status).toBe(401);
    expect((await post(h, `${BODY_A} `, SIG_A)).status).toBe(401);
    const missing = await request(h.app).post('/webhooks/support').set('content-type', 'application/json').send(BODY_A);
    expect(missing.status).toBe(401);
    expect(missing.body.error).toMatchObject({ code: 'invalid_signature', type: 'authentication_error' });

    const malformed = await post(h, '{"object":');
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.code).toBe('invalid_json');
    const deep = await post(h, `{"object":"whatsapp_business_account","entry":[],"x":${'['.repeat(150)}${']'.repeat(150)}}`);
    expect(deep.status).toBe(400);
    expect(deep.body.error).toMatchObject({ code: 'invalid_json', message: expect.stringContaining('100 levels') });
    expect((await post(h, '{"object":"page","entry":[]}')).status).toBe(400);

    const big = JSON.stringify({ object: 'whatsapp_business_account', entry: [], pad: 'x'.repeat(5000) });
    const tooLarge = await post(h, big);
    expect(tooLarge.status).toBe(413);
    expect(tooLarge.body.error.code).toBe('request_too_large');

    const unknown = await request(h.app).post('/webhooks/nope').set('x-hub-signature-256', SIG_A).send(BODY_A);
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('unknown_flow');
    expect((await request(h.app).post('/webhooks/nope').send(big)).status).toBe(404);
    expect((await request(h.app).post('/hooks/support').send('{}')).status).toBe(404);

    expect(h.webhooks.queue.counts()).toEqual({ pending: 0, running: 0, done: 0, dead: 0 });
  });

  it('acknowledges status callbacks and echoes of its own messages without enqueueing', async () => {
    expect((await post(h, statusBody())).status).toBe(200);
    const echo = BODY_A.replace('"from":"16505551234"', '"from":"15550783881"');
    expect((await post(h, echo)).status).toBe(200);
    const echoesField = BODY_A.replace('"field":"messages"', '"field":"smb_message_echoes"');
    expect((await post(h, echoesField)).status).toBe(200);
    expect(h.webhooks.queue.counts().pending).toBe(0);
  });

  it('retries after a failing Graph API without asking the model again', async () => {
    nock(GRAPH).post('/v23.0/106540352242922/messages').reply(503, { error: { message: 'Service temporarily unavailable', code: 2 } });
    const sent = { n: 0, bodies: [] as unknown[] };
    await post(h, BODY_A);
    await h.webhooks.pool.drain();
    const [failed] = h.webhooks.queue.list();
    expect(failed).toMatchObject({ state: 'pending', attempts: 1 });
    expect(failed?.lastError).toMatch(/HTTP 503/);
    expect(failed?.result?.text).toBe('Yes, it comes in blue and green!');

    graphReplies(sent);
    expect(await h.webhooks.pool.drain()).toBe(0); // backoff not over yet
    h.clock.advance(60_000);
    expect(await h.webhooks.pool.drain()).toBe(1);
    expect(sent.n).toBe(1);
    expect(sy.requests).toHaveLength(1);
    expect(h.webhooks.queue.list()[0]).toMatchObject({ state: 'done', attempts: 2 });
  });

  it('moves a job that keeps failing to the dead letters; a replay finishes it', async () => {
    nock(GRAPH).post('/v23.0/106540352242922/messages').times(3).reply(500, { error: { message: 'boom', code: 1 } });
    await post(h, BODY_A);
    for (let i = 0; i < 3; i++) {
      await h.webhooks.pool.drain();
      h.clock.advance(3_600_000);
    }
    const [dead] = h.webhooks.queue.list({ state: 'dead' });
    expect(dead).toMatchObject({ attempts: 3 });
    expect(h.logs.lines.some((l) => l.level === 'error' && /dead letters/.test(l.msg))).toBe(true);

    const sent = { n: 0, bodies: [] as unknown[] };
    graphReplies(sent);
    h.webhooks.queue.replay(dead!.id);
    await h.webhooks.pool.drain();
    expect(sent.n).toBe(1);
    expect(h.webhooks.queue.get(dead!.id)?.state).toBe('done');
  });

  it('sends a permanent Graph error (400) to the dead letters at once', async () => {
    nock(GRAPH).post('/v23.0/106540352242922/messages').reply(400, { error: { message: '(#100) Invalid parameter', code: 100 } });
    await post(h, BODY_A);
    await h.webhooks.pool.drain();
    expect(h.webhooks.queue.list()[0]).toMatchObject({ state: 'dead', attempts: 1 });
    expect(h.webhooks.queue.list()[0]?.lastError).toMatch(/Invalid parameter \(code 100\)/);
  });

  it('never writes the app secret or the access token to the log', async () => {
    nock(GRAPH)
      .post('/v23.0/106540352242922/messages')
      .reply(401, { error: { message: `Invalid OAuth access token ${ACCESS_TOKEN} for secret ${APP_SECRET}`, code: 190 } });
    await post(h, BODY_A, 'sha256=deadbeef');
    await post(h, BODY_A);
    await h.webhooks.pool.drain();
    const text = h.logs.text();
    expect(text).toMatch(/dead letters/);
    expect(text).toContain('[redacted]');
    expect(text).not.toContain(ACCESS_TOKEN);
    expect(text).not.toContain(APP_SECRET);
    expect(JSON.stringify(h.webhooks.queue.list())).not.toContain(ACCESS_TOKEN);
  });
});

describe('WhatsApp replays after the job was pruned', () => {
  const DAY = 86_400_000;
  // Vector A's message was sent at 1749416383 (epoch seconds); the clock starts two seconds later.
  const SENT_MS = 1_749_416_383_000;
  let h: Harness;
  let sy: FakeSwitchyard;
  let sent: { n: number; bodies: unknown[] };

  /** A text message from the same customer, signed with the app secret. */
  function message(id: string, text: string, timestamp?: string): string {
    const msg = { from: '16505551234', id, ...(timestamp === undefined ? {} : { timestamp }), type: 'text', text: { body: text } };
    const value = {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
      contacts: [{ profile: { name: 'Sheena Nelson' }, wa_id: '16505551234' }],
      messages: [msg],
    };
    return JSON.stringify({ object: 'whatsapp_business_account', entry: [{ id: '102290129340398', changes: [{ value, field: 'messages' }] }] });
  }
  const secondsAt = (ms: number) => String(Math.floor(ms / 1000));
  const skippedAsStale = () => h.logs.lines.filter((l) => l.level === 'warn' && l.msg === 'webhook event skipped' && /stale message/.test(String(l.fields?.reason)));

  onlyLocalNetwork();
  beforeEach(() => {
    sy = new FakeSwitchyard((req) => `Answer to: ${String(req.messages.at(-1)?.content)}`);
    sent = { n: 0, bodies: [] };
    graphReplies(sent);
    h = harness({ flows, switchyard: sy, now: SENT_MS + 2000 });
  });
  afterEach(async () => {
    await h.close();
  });

  async function answerThenPrune(): Promise<void> {
    expect((await post(h, BODY_A, SIG_A)).status).toBe(200);
    expect(await h.webhooks.pool.drain()).toBe(1);
    h.clock.advance(15 * DAY);
    h.webhooks.pool.prune();
    expect(h.webhooks.queue.counts()).toEqual({ pending: 0, running: 0, done: 0, dead: 0 });
  }

  /** The first message's request sent again: acknowledged, nothing queued, no second model call or reply. */
  async function expectReplayIgnored(): Promise<void> {
    const replay = await post(h, BODY_A, SIG_A);
    expect(replay.status).toBe(200);
    expect(replay.text).toBe('');
    expect(h.webhooks.queue.counts()).toEqual({ pending: 0, running: 0, done: 0, dead: 0 });
    expect(await h.webhooks.pool.drain()).toBe(0);
    expect(sy.requests).toHaveLength(1);
    expect(sent.n).toBe(1);
  }

  it('a captured delivery replayed after its job was pruned gets 200, is logged as a duplicate, and is not answered again', async () => {
    await answerThenPrune();
    await expectReplayIgnored();
    expect(h.logs.lines.at(-1)).toEqual({
      level: 'info',
      msg: 'webhook accepted',
      fields: { flow: 'support', source: 'whatsapp', events: 1, duplicates: 1, duplicates_of_pruned_jobs: 1, jobs: [] },
    });
  });

  it('a new message after the prune is still answered', async () => {
    await answerThenPrune();
    const fresh = message('wamid.NEW1', 'And in red?', secondsAt(h.clock.now()));
    expect((await post(h, fresh)).status).toBe(200);
    expect(await h.webhooks.pool.drain()).toBe(1);
    expect(sy.requests.map((r) => r.messages.at(-1)?.content)).toEqual(['Does it come in another color?', 'And in red?']);
    expect(sent.bodies.map((b) => (b as { text: { body: string } }).text.body)).toEqual(['Answer to: Does it come in another color?', 'Answer to: And in red?']);
  });

  it('ignores (200, logged as stale) a replay sent longer ago than dedupe_days, even once its key is forgotten', async () => {
    await answerThenPrune();
    // Past dedupe_days and its margin: the pool forgets the key.
    h.clock.advance(387 * DAY);
    h.webhooks.pool.prune();
    expect(h.logs.lines).toContainEqual({ level: 'info', msg: 'forgot the dedupe keys of long-pruned webhook jobs', fields: { forgotten: 1 } });
    await expectReplayIgnored();
    expect(skippedAsStale()).toEqual([
      {
        level: 'warn',
        msg: 'webhook event skipped',
        fields: { flow: 'support', source: 'whatsapp', event: 'entry[0].changes[0].messages[0]', reason: expect.stringMatching(/sent 402 days ago, more than webhooks\.dedupe_days/) },
      },
    ]);
  });

  it('a message is stale only past dedupe_days; one without a timestamp is answered as before', async () => {
    await h.close();
    h = harness({ flows, switchyard: sy, now: SENT_MS, settings: { dedupe_days: 30 } });
    const now = h.clock.now();
    const batch = [
      message('wamid.OLD', 'Still there?', secondsAt(now - 30 * DAY - 1000)),
      message('wamid.EDGE', 'Thirty days ago', secondsAt(now - 30 * DAY)),
      message('wamid.NOTS', 'No timestamp'),
    ];
    for (const body of batch) expect((await post(h, body)).status).toBe(200);
    expect(await h.webhooks.pool.drain()).toBe(2);
    expect(sy.requests.map((r) => r.messages.at(-1)?.content)).toEqual(['Thirty days ago', 'No timestamp']);
    expect(skippedAsStale()).toHaveLength(1);
  });
});

describe('webhooks.dedupe_days', () => {
  it('defaults to 400 and must be at least 7 and at least retention_days', () => {
    expect(WebhooksSectionSchema.parse({})).toMatchObject({ retention_days: 14, dedupe_days: 400 });
    for (const [input, message] of [
      [{ dedupe_days: 0 }, /at least 7/],
      [{ dedupe_days: 6 }, /at least 7/],
      [{ retention_days: 30, dedupe_days: 20 }, /at least retention_days \(30\)/],
    ] as const) {
      const result = WebhooksSectionSchema.safeParse(input);
      expect(result.success).toBe(false);
      expect(result.error?.issues[0]).toMatchObject({ path: ['dedupe_days'], message: expect.stringMatching(message) });
    }
  });
});
