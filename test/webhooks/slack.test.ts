import nock from 'nock';
import request from 'supertest';
import { FakeSwitchyard, deferred, eventually, harness, hmacHex, type Harness, onlyLocalNetwork } from './helpers';

const SECRET = 'test_slack_signing_secret_0123456';
const BOT_TOKEN = 'xoxb-000000000000-0000000000000-testtesttesttesttesttest';
// The reference's Events API vector (app_mention) and its signature at ts 1717000000.
const EVENT =
  '{"token":"XXYYZZ","team_id":"T0001","api_app_id":"A0001","event":{"type":"app_mention","user":"U0001","text":"<@U0BOT> summarize this thread","ts":"1717000000.000100","channel":"C0001","event_ts":"1717000000.000100"},"type":"event_callback","event_id":"Ev0001","event_time":1717000000,"authorizations":[{"team_id":"T0001","user_id":"U0BOT","is_bot":true}]}';
const EVENT_SIG = 'v0=5d37b49d46efb842d36284898e6e533ebaa83cb237e8bad5bbd6ffe6e8976b48';
const VERIFY = '{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}';
const VERIFY_SIG = 'v0=f0cffe4e92e5b78b62267b1abe80e9e8c0b12e6b2c974abfdc586edf6f051618';

const flows = {
  slack: {
    source: 'slack',
    slack: { signing_secret: SECRET, bot_token: BOT_TOKEN },
    prompt: '<@{{user}}> asks: {{message.text}}',
    action: { type: 'reply' },
  },
};

function post(h: Harness, body: string, ts = '1717000000', sig = `v0=${hmacHex(SECRET, `v0:${ts}:${body}`)}`, retry?: string) {
  const req = request(h.app).post('/webhooks/slack').set('content-type', 'application/json').set('x-slack-request-timestamp', ts).set('x-slack-signature', sig);
  if (retry) req.set('x-slack-retry-num', retry).set('x-slack-retry-reason', 'http_timeout');
  return req.send(body);
}

function eventWith(event: Record<string, unknown>, id = 'Ev0002'): string {
  const base = JSON.parse(EVENT) as Record<string, unknown>;
  return JSON.stringify({ ...base, event_id: id, event: { ...(base.event as object), ...event } });
}

function slackApi(posts: unknown[], reply: Record<string, unknown> = { ok: true, ts: '1717000001.000200' }) {
  return nock('https://slack.com')
    .post('/api/chat.postMessage')
    .matchHeader('authorization', `Bearer ${BOT_TOKEN}`)
    .times(10)
    .reply(200, (_uri, body) => {
      posts.push(body);
      return reply;
    });
}

describe('Slack Events API flow', () => {
  let h: Harness;
  let sy: FakeSwitchyard;

  onlyLocalNetwork();
  beforeEach(() => {
    sy = new FakeSwitchyard('Here is the summary.');
    h = harness({ flows, switchyard: sy, now: 1717000000000 + 2000 });
  });
  afterEach(async () => {
    await h.close();
  });

  it('answers url_verification with the challenge (signed request)', async () => {
    const res = await post(h, VERIFY, '1717000000', VERIFY_SIG);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
  });

  it('acknowledges before the model answers, then posts in the thread', async () => {
    const gate = deferred<string>();
    sy = new FakeSwitchyard(() => gate.promise);
    await h.close();
    h = harness({ flows, switchyard: sy, now: 1717000000000, start: true });
    const posts: unknown[] = [];
    slackApi(posts);
    const res = await post(h, EVENT, '1717000000', EVENT_SIG);
    expect(res.status).toBe(200);
    await eventually(() => sy.requests.length === 1, 'model call started');
    expect(h.webhooks.queue.list()[0]?.state).toBe('running');
    gate.resolve('Here is the summary.');
    await eventually(() => h.webhooks.queue.list()[0]?.state === 'done', 'job done');
    expect(sy.requests[0]?.messages[0]).toEqual({ role: 'user', content: '<@U0001> asks: summarize this thread' });
    expect(posts).toEqual([{ channel: 'C0001', thread_ts: '1717000000.000100', text: 'Here is the summary.' }]);
  });

  it('cuts an answer over 40,000 characters between code points: an emoji straddling the limit is left out whole', async () => {
    sy = new FakeSwitchyard(`${'a'.repeat(39_999)}😀`);
    await h.close();
    h = harness({ flows, switchyard: sy, now: 1717000000000 + 2000 });
    const posts: unknown[] = [];
    slackApi(posts);
    expect((await post(h, EVENT, '1717000000', EVENT_SIG)).status).toBe(200);
    await h.webhooks.pool.drain();
    expect(posts).toHaveLength(1);
    expect((posts[0] as { text: string }).text).toBe('a'.repeat(39_999));
  });

  it("deduplicates Slack's retries (X-Slack-Retry-Num) on event_id", async () => {
    const posts: unknown[] = [];
    slackApi(posts);
    await post(h, EVENT);
    const retry = await post(h, EVENT, '1717000001', undefined, '1');
    expect(retry.status).toBe(200);
    await h.webhooks.pool.drain();
    await post(h, EVENT, '1717000002', undefined, '2');
    await h.webhooks.pool.drain();
    expect(posts).toHaveLength(1);
    expect(h.webhooks.queue.list()).toHaveLength(1);
    expect(h.logs.lines.some((l) => l.fields?.slack_retry === '1' && l.fields?.duplicates === 1)).toBe(true);
  });

  it("ignores the bot's own messages, other bots, edits and channel chatter", async () => {
    expect((await post(h, eventWith({ user: 'U0BOT' }, 'Ev1'))).status).toBe(200);
    expect((await post(h, eventWith({ bot_id: 'B0001' }, 'Ev2'))).status).toBe(200);
    expect((await post(h, eventWith({ type: 'message', subtype: 'message_changed', channel_type: 'im' }, 'Ev3'))).status).toBe(200);
    expect((await post(h, eventWith({ type: 'message', channel_type: 'channel' }, 'Ev4'))).status).toBe(200);
    expect(h.webhooks.queue.list()).toHaveLength(0);
    expect((await post(h, eventWith({ type: 'message', channel_type: 'im', text: 'hello' }, 'Ev5'))).status).toBe(200);
    expect(h.webhooks.queue.list()).toHaveLength(1);
  });

  it('refuses stale timestamps and bad signatures', async () => {
    h.clock.advance(301_000);
    expect((await post(h, EVENT, '1717000000', EVENT_SIG)).status).toBe(401);
    h.clock.ms = 1717000000000;
    expect((await post(h, EVENT, '1717000000', EVENT_SIG.replace('v0=5d', 'v0=6d'))).status).toBe(401);
    expect(h.webhooks.queue.list()).toHaveLength(0);
  });

  it('retries ratelimited posts and dead-letters permanent Slack errors', async () => {
    const posts: unknown[] = [];
    slackApi(posts, { ok: false, error: 'ratelimited' });
    await post(h, EVENT);
    await h.webhooks.pool.drain();
    expect(h.webhooks.queue.list()[0]).toMatchObject({ state: 'pending', lastError: 'Slack chat.postMessage: ratelimited' });
    nock.cleanAll();
    slackApi(posts, { ok: false, error: 'channel_not_found' });
    h.clock.advance(60_000);
    await h.webhooks.pool.drain();
    expect(h.webhooks.queue.list()[0]).toMatchObject({ state: 'dead', lastError: 'Slack chat.postMessage: channel_not_found' });
    expect(sy.requests).toHaveLength(1);
  });
});
