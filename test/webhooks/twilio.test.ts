import nock from 'nock';
import request from 'supertest';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { FlowSchema, type FlowOf } from '../../src/webhooks/config';
import { parseForm } from '../../src/webhooks/sources/source';
import { twilioSource } from '../../src/webhooks/sources/twilio';
import type { InboundRequest } from '../../src/webhooks/types';
import { FakeSwitchyard, deferred, eventually, harness, type Harness, onlyLocalNetwork } from './helpers';

const TOKEN = 'test_auth_token_0123456789abcdef';
const SID = 'AC0123456789abcdef0123456789abcdef';
// The reference's WhatsApp-over-Twilio vector (signature verified there with twilio@6.2.0).
const BODY =
  'SmsMessageSid=SM0123456789abcdef0123456789abcdef&NumMedia=0&ProfileName=Jane&MessageType=text&SmsSid=SM0123456789abcdef0123456789abcdef&WaId=14155550100&SmsStatus=received&Body=Hello+gateway&To=whatsapp%3A%2B14155238886&NumSegments=1&ReferralNumMedia=0&MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=AC0123456789abcdef0123456789abcdef&From=whatsapp%3A%2B14155550100&ApiVersion=2010-04-01';
const SIG = 'CAnCnpOi5iLEgjypc+yFATsJWiM=';
const EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response/>';

function flows(extra: Record<string, unknown> = {}) {
  return {
    twilio: {
      source: 'twilio',
      twilio: { auth_token: TOKEN, account_sid: SID, ...extra },
      prompt: '{{profile_name}} says: {{message.text}}',
      output: { type: 'text', max_chars: 300 },
      action: { type: 'reply' },
    },
  };
}

function post(h: Harness, body = BODY, signature = SIG, path = '/webhooks/twilio') {
  return request(h.app).post(path).set('content-type', 'application/x-www-form-urlencoded').set('x-twilio-signature', signature).send(body);
}

describe('Twilio SMS/WhatsApp flow', () => {
  let h: Harness | undefined;

  onlyLocalNetwork();
  afterEach(async () => {
    await h?.close();
    h = undefined;
  });

  it('answers with TwiML when the answer is ready in time (URL as Twilio saw it, behind a proxy)', async () => {
    const sy = new FakeSwitchyard('Hi Jane! <3 & welcome');
    h = harness({ flows: flows(), switchyard: sy });
    const res = await post(h);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/xml/);
    expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Hi Jane! &lt;3 &amp; welcome</Message></Response>');
    expect(sy.requests[0]?.messages[0]).toEqual({ role: 'user', content: 'Jane says: Hello gateway' });
    expect(h.webhooks.queue.list()[0]).toMatchObject({ state: 'done', key: 'SM0123456789abcdef0123456789abcdef', effect: 'answered in the webhook response' });
  });

  it('sends late answers through the Messages API, once', async () => {
    const gate = deferred<string>();
    const sy = new FakeSwitchyard(() => gate.promise);
    h = harness({ flows: flows({ reply_wait_ms: 30 }), switchyard: sy });
    const sent: Array<Record<string, string | string[]>> = [];
    nock('https://api.twilio.com')
      .post(`/2010-04-01/Accounts/${SID}/Messages.json`)
      .basicAuth({ user: SID, pass: TOKEN })
      .reply(201, function (_uri, body) {
        sent.push(parseForm(Buffer.from(String(body))));
        return { sid: 'SMreply1', status: 'queued' };
      });
    const res = await post(h);
    expect(res.text).toBe(EMPTY);
    gate.resolve('Sorry for the wait, Jane.');
    await eventually(() => h!.webhooks.queue.list()[0]?.state === 'done', 'job done');
    expect(sent).toEqual([{ From: 'whatsapp:+14155238886', To: 'whatsapp:+14155550100', Body: 'Sorry for the wait, Jane.' }]);
    expect(h.webhooks.queue.list()[0]?.effect).toBe('twilio message sent (SMreply1)');
  });

  it("dead-letters a permanent Messages API error with Twilio's own message", async () => {
    const gate = deferred<string>();
    h = harness({ flows: flows({ reply_wait_ms: 30, api_base_url: 'https://twilio.example/' }), switchyard: new FakeSwitchyard(() => gate.promise) });
    nock('https://twilio.example')
      .post(`/2010-04-01/Accounts/${SID}/Messages.json`)
      .reply(400, { code: 21211, message: "The 'To' number is not a valid phone number.", more_info: 'https://www.twilio.com/docs/errors/21211', status: 400 });
    expect((await post(h)).text).toBe(EMPTY);
    gate.resolve('Sorry for the wait.');
    await eventually(() => h!.webhooks.queue.list()[0]?.state === 'dead', 'job dead');
    expect(h.webhooks.queue.list()[0]).toMatchObject({ attempts: 1 });
    expect(h.webhooks.queue.list()[0]?.lastError).toMatch(/Twilio Messages API: HTTP 400: The 'To' number is not a valid phone number\. \(code 21211\)/);
  });

  it('cuts a Messages API answer over 1600 characters between code points: an emoji straddling the limit is left out whole', async () => {
    const gate = deferred<string>();
    const long = { ...flows({ reply_wait_ms: 30 }).twilio, output: { type: 'text' } };
    h = harness({ flows: { twilio: long }, switchyard: new FakeSwitchyard(() => gate.promise) });
    const sent: Array<Record<string, string | string[]>> = [];
    nock('https://api.twilio.com')
      .post(`/2010-04-01/Accounts/${SID}/Messages.json`)
      .reply(201, function (_uri, body) {
        sent.push(parseForm(Buffer.from(String(body))));
        return { sid: 'SMreply1', status: 'queued' };
      });
    expect((await post(h)).text).toBe(EMPTY);
    gate.resolve(`${'a'.repeat(1599)}😀 and more`);
    await eventually(() => h!.webhooks.queue.list()[0]?.state === 'done', 'job done');
    expect(sent[0]?.Body).toBe('a'.repeat(1599));
  });

  it('while the workers stop, a new message is answered with an empty <Response/> at once, not after reply_wait_ms', async () => {
    const sy = new FakeSwitchyard('Hello!');
    h = harness({ flows: flows({ reply_wait_ms: 14_000 }), switchyard: sy, start: true });
    await h.webhooks.stop(1000);
    const res = await post(h);
    expect(res.status).toBe(200);
    expect(res.text).toBe(EMPTY);
    // Stored for the next start, which sends the answer through the Messages API.
    expect(h.webhooks.queue.list()[0]).toMatchObject({ state: 'pending', attempts: 0 });
    expect(sy.requests).toHaveLength(0);
  }, 10_000);

  it('a duplicate delivery gets an empty response and no second answer', async () => {
    const sy = new FakeSwitchyard('Hello!');
    h = harness({ flows: flows(), switchyard: sy });
    expect((await post(h)).text).toMatch(/<Message>Hello!<\/Message>/);
    expect((await post(h)).text).toBe(EMPTY);
    await h.webhooks.pool.drain();
    expect(sy.requests).toHaveLength(1);
  });

  it('checks the signature over the configured public URL', async () => {
    const sy = new FakeSwitchyard('x');
    h = harness({ flows: flows(), switchyard: sy, settings: { public_base_url: 'http://gw.example.com' } });
    expect((await post(h)).status).toBe(401);
    await h.close();
    h = harness({ flows: flows({ public_url: 'https://gw.example.com/webhooks/twilio' }), switchyard: sy, settings: { public_base_url: 'http://internal:8080' } });
    expect((await post(h)).status).toBe(200);
  });

  it('refuses a wrong signature with nothing enqueued, and ignores status callbacks', async () => {
    h = harness({ flows: flows(), switchyard: new FakeSwitchyard('x') });
    const bad = await post(h, BODY.replace('Hello+gateway', 'Hello+attacker'));
    expect(bad.status).toBe(401);
    const status = 'MessageSid=SMout1&MessageStatus=delivered&SmsStatus=delivered&From=whatsapp%3A%2B14155238886&To=whatsapp%3A%2B14155550100&AccountSid=' + SID;
    const url = 'https://gw.example.com/webhooks/twilio';
    const signed = getExpectedTwilioSignature(TOKEN, url, parseForm(Buffer.from(status)));
    const res = await post(h, status, signed);
    expect(res.status).toBe(200);
    expect(res.text).toBe(EMPTY);
    expect(h.webhooks.queue.counts().pending + h.webhooks.queue.counts().done).toBe(0);
  });
});

describe('Twilio replays after the job was pruned', () => {
  const DAY = 86_400_000;
  let h: Harness;
  let sy: FakeSwitchyard;

  onlyLocalNetwork();
  beforeEach(async () => {
    sy = new FakeSwitchyard((req) => `Re: ${String(req.messages[0]?.content)}`);
    h = harness({ flows: flows(), switchyard: sy });
    expect((await post(h)).text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Re: Jane says: Hello gateway</Message></Response>');
    h.clock.advance(15 * DAY);
    h.webhooks.pool.prune();
    expect(h.webhooks.queue.counts()).toEqual({ pending: 0, running: 0, done: 0, dead: 0 });
  });
  afterEach(async () => {
    await h.close();
  });

  it('a captured delivery replayed after its job was pruned gets an empty <Response/>, no model call and no Messages API request', async () => {
    // Nothing may reach the Messages API: the replay must not be answered by any route.
    const messagesApi = nock('https://api.twilio.com').post(`/2010-04-01/Accounts/${SID}/Messages.json`).reply(201, { sid: 'SMnever' });
    const replay = await post(h);
    expect(replay.status).toBe(200);
    expect(replay.text).toBe(EMPTY);
    expect(await h.webhooks.pool.drain()).toBe(0);
    expect(h.webhooks.queue.counts()).toEqual({ pending: 0, running: 0, done: 0, dead: 0 });
    expect(sy.requests).toHaveLength(1);
    expect(messagesApi.isDone()).toBe(false);
    expect(h.logs.lines.at(-1)).toMatchObject({ msg: 'webhook accepted', fields: { duplicates: 1, duplicates_of_pruned_jobs: 1, jobs: [] } });
  });

  it('a new message after the prune is still answered', async () => {
    const body = BODY.replaceAll('SM0123456789abcdef0123456789abcdef', 'SM0123456789abcdef0123456789abcdee').replace('Hello+gateway', 'Are+you+there%3F');
    const signature = getExpectedTwilioSignature(TOKEN, 'https://gw.example.com/webhooks/twilio', parseForm(Buffer.from(body)));
    const res = await post(h, body, signature);
    expect(res.text).toBe('<?xml version="1.0" encoding="UTF-8"?><Response><Message>Re: Jane says: Are you there?</Message></Response>');
    expect(sy.requests).toHaveLength(2);
  });
});

describe('Twilio source: verify, then intake', () => {
  const flow = FlowSchema.parse({ source: 'twilio', twilio: { auth_token: TOKEN, account_sid: SID }, prompt: 'x', action: { type: 'reply' } }) as FlowOf<'twilio'>;
  const req: InboundRequest = {
    method: 'POST',
    url: 'https://gw.example.com/webhooks/twilio',
    headers: { 'x-twilio-signature': SIG },
    rawBody: Buffer.from(BODY),
    query: new URLSearchParams(),
  };

  it('hands intake the very form whose signature it checked (the body is parsed once)', () => {
    const verified = twilioSource.verify(req, flow, 0);
    expect(verified).toEqual(parseForm(Buffer.from(BODY)));
    // intake reads the verified parameters, not the raw body a second time.
    const intake = twilioSource.intake({ ...req, rawBody: Buffer.from('Body=not+what+was+signed') }, flow, 'twilio', verified, { nowMs: 0, maxEventAgeMs: 400 * 86_400_000 });
    expect(intake).toMatchObject({
      kind: 'enqueue',
      events: [{ key: 'SM0123456789abcdef0123456789abcdef', payload: { fields: { message: { text: 'Hello gateway' }, from: 'whatsapp:+14155550100' } } }],
    });
  });

  it('refuses, before any intake, a body changed after signing or a missing signature', () => {
    expect(() => twilioSource.verify({ ...req, rawBody: Buffer.from(BODY.replace('Hello+gateway', 'Hello+attacker')) }, flow, 0)).toThrow(/does not match/);
    expect(() => twilioSource.verify({ ...req, headers: {} }, flow, 0)).toThrow(/missing X-Twilio-Signature/);
  });
});
