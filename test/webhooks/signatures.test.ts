import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import {
  checkHubSpotSignature,
  checkMetaSignature,
  checkSlackSignature,
  checkStandardWebhook,
  checkTwilioSignature,
  safeEqual,
  standardWebhookHeaders,
  timestampProblem,
} from '../../src/webhooks/signatures';
import { parseForm } from '../../src/webhooks/sources/source';

// Vectors: ../shared/reference/webhooks.md (verified there with node:crypto and the platforms' libraries).

describe('Meta X-Hub-Signature-256', () => {
  const bodyA =
    '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}';
  const sigA = 'sha256=01591d62415526782fc0a31b8faa3c8d903868b8db037a95ee396498731c8df9';

  it('accepts vector A and refuses it with one byte more', () => {
    expect(checkMetaSignature(Buffer.from(bodyA), sigA, 'test_app_secret_0123456789abcdef')).toBeUndefined();
    expect(checkMetaSignature(Buffer.from(`${bodyA} `), sigA, 'test_app_secret_0123456789abcdef')).toBe('signature does not match');
  });

  it('accepts vector B and refuses a wrong secret, a missing or malformed header', () => {
    const sigB = 'sha256=77325902caca812dc259733aacd046b73817372c777b8d95b402647474516e13';
    expect(checkMetaSignature(Buffer.from('{}'), sigB, 'secret')).toBeUndefined();
    expect(checkMetaSignature(Buffer.from('{}'), sigB, 'secret2')).toBe('signature does not match');
    expect(checkMetaSignature(Buffer.from('{}'), undefined, 'secret')).toMatch(/missing/);
    expect(checkMetaSignature(Buffer.from('{}'), sigB.slice(7), 'secret')).toMatch(/sha256=/);
  });
});

describe('every HMAC scheme covers the raw bytes (invalid UTF-8 included)', () => {
  const body = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}')]);
  const swapped = Buffer.from(body);
  swapped[swapped.indexOf(0xff)] = 0xfe;
  const mac = (secret: string, ...parts: Buffer[]) => createHmac('sha256', secret).update(Buffer.concat(parts));

  it('Meta X-Hub-Signature-256', () => {
    const sig = `sha256=${mac('s', body).digest('hex')}`;
    expect(checkMetaSignature(body, sig, 's')).toBeUndefined();
    expect(checkMetaSignature(swapped, sig, 's')).toBe('signature does not match');
  });

  it('Slack v0', () => {
    const c = { timestamp: '1717000000', signingSecret: 's', nowMs: 1717000000000, maxAgeS: 300 };
    const signature = `v0=${mac('s', Buffer.from('v0:1717000000:'), body).digest('hex')}`;
    expect(checkSlackSignature({ ...c, rawBody: body, signature })).toBeUndefined();
    expect(checkSlackSignature({ ...c, rawBody: swapped, signature })).toBe('signature does not match');
  });

  it('HubSpot v3', () => {
    const url = 'https://gw.example.com/webhooks/hubspot';
    const c = { method: 'POST', url, timestamp: '1717000000000', clientSecret: 's', nowMs: 1717000000000, maxAgeMs: 300_000 };
    const signature = mac('s', Buffer.from(`POST${url}`), body, Buffer.from('1717000000000')).digest('base64');
    expect(checkHubSpotSignature({ ...c, rawBody: body, signature })).toBeUndefined();
    expect(checkHubSpotSignature({ ...c, rawBody: swapped, signature })).toBe('signature does not match');
  });

  it('Twilio signs decoded parameters, so form bodies that are not UTF-8 are refused before decoding', () => {
    expect(() => parseForm(Buffer.from('Body=caf%FF&From=%2B1'))).toThrow(/not valid UTF-8/);
    expect(() => parseForm(Buffer.concat([Buffer.from('Body=caf'), Buffer.from([0xfe])]))).toThrow(/not valid UTF-8/);
    expect(parseForm(Buffer.from('Body=caf%C3%A9+ok&Body=2&Odd=100%25%zz'))).toEqual({ Body: ['café ok', '2'], Odd: '100%%zz' });
  });
});

describe('Twilio X-Twilio-Signature (twilio package)', () => {
  it('accepts the documented classic vector', () => {
    const params = { CallSid: 'CA1234567890ABCDE', Caller: '+12349013030', Digits: '1234', From: '+12349013030', To: '+18005551212' };
    const url = 'https://mycompany.com/myapp.php?foo=1&bar=2';
    expect(getExpectedTwilioSignature('12345', url, params)).toBe('0/KCTR6DLpKmkAf8muzZqo1nDgQ=');
    expect(checkTwilioSignature('12345', '0/KCTR6DLpKmkAf8muzZqo1nDgQ=', url, params)).toBeUndefined();
  });

  it('accepts the WhatsApp vector from its raw form body, and only with the public https URL', () => {
    const body =
      'SmsMessageSid=SM0123456789abcdef0123456789abcdef&NumMedia=0&ProfileName=Jane&MessageType=text&SmsSid=SM0123456789abcdef0123456789abcdef&WaId=14155550100&SmsStatus=received&Body=Hello+gateway&To=whatsapp%3A%2B14155238886&NumSegments=1&ReferralNumMedia=0&MessageSid=SM0123456789abcdef0123456789abcdef&AccountSid=AC0123456789abcdef0123456789abcdef&From=whatsapp%3A%2B14155550100&ApiVersion=2010-04-01';
    const params = parseForm(Buffer.from(body));
    const token = 'test_auth_token_0123456789abcdef';
    const sig = 'CAnCnpOi5iLEgjypc+yFATsJWiM=';
    expect(checkTwilioSignature(token, sig, 'https://gw.example.com/webhooks/twilio', params)).toBeUndefined();
    expect(checkTwilioSignature(token, sig, 'https://gw.example.com:443/webhooks/twilio', params)).toBeUndefined();
    expect(checkTwilioSignature(token, sig, 'http://gw.example.com/webhooks/twilio', params)).toMatch(/does not match/);
    expect(checkTwilioSignature(token, undefined, 'https://gw.example.com/webhooks/twilio', params)).toMatch(/missing/);
  });
});

describe('HubSpot v3', () => {
  const body =
    '[{"eventId":100,"subscriptionId":1234,"portalId":62515,"appId":54321,"occurredAt":1717000000000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeFlag":"CREATED","changeSource":"CRM"}]';
  const base = {
    method: 'POST',
    url: 'https://gw.example.com/webhooks/hubspot',
    rawBody: Buffer.from(body),
    signature: '4XltivL7aLSBVeWSA7Q1kP0o/rHKI/PK9AQddJqecGE=',
    timestamp: '1717000000000',
    clientSecret: 'test_client_secret_0123456789',
    nowMs: 1717000000000 + 60_000,
    maxAgeMs: 300_000,
  };

  it('accepts the documented vector within the window', () => {
    expect(checkHubSpotSignature(base)).toBeUndefined();
  });

  it('refuses a tampered body, another URL, or another method', () => {
    expect(checkHubSpotSignature({ ...base, rawBody: Buffer.from(body.replace('123', '124')) })).toBe('signature does not match');
    expect(checkHubSpotSignature({ ...base, url: 'https://gw.example.com/webhooks/other' })).toBe('signature does not match');
    expect(checkHubSpotSignature({ ...base, method: 'PUT' })).toBe('signature does not match');
  });

  it('returns a reason (never throws) for stale, future or malformed timestamps', () => {
    expect(checkHubSpotSignature({ ...base, nowMs: 1717000000000 + 300_001 })).toMatch(/window/);
    expect(checkHubSpotSignature({ ...base, nowMs: 1717000000000 - 300_001 })).toMatch(/window/);
    expect(checkHubSpotSignature({ ...base, timestamp: '17170e9' })).toMatch(/milliseconds/);
    expect(checkHubSpotSignature({ ...base, signature: undefined })).toMatch(/missing/);
  });

  it('decodes the characters HubSpot decodes before signing', () => {
    const { createHmac } = jest.requireActual<typeof import('node:crypto')>('node:crypto');
    const decoded = 'https://gw.example.com/webhooks/hubspot?a=b:c,d';
    const sig = createHmac('sha256', base.clientSecret).update(`POST${decoded}${body}${base.timestamp}`).digest('base64');
    expect(checkHubSpotSignature({ ...base, url: 'https://gw.example.com/webhooks/hubspot?a=b%3Ac%2Cd', signature: sig })).toBeUndefined();
  });
});

describe('Slack v0', () => {
  it("reproduces Slack's documented vector", () => {
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    const check = {
      rawBody: Buffer.from(body),
      signature: 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
      timestamp: '1531420618',
      signingSecret: '8f742231b10e8888abcd99yyyzzz85a5',
      nowMs: 1531420619000,
      maxAgeS: 300,
    };
    expect(checkSlackSignature(check)).toBeUndefined();
    expect(checkSlackSignature({ ...check, nowMs: 1531420618000 + 301_000 })).toMatch(/window/);
    expect(checkSlackSignature({ ...check, timestamp: '1531420619' })).toBe('signature does not match');
  });

  it('accepts the events and url_verification vectors', () => {
    const events =
      '{"token":"XXYYZZ","team_id":"T0001","api_app_id":"A0001","event":{"type":"app_mention","user":"U0001","text":"<@U0BOT> summarize this thread","ts":"1717000000.000100","channel":"C0001","event_ts":"1717000000.000100"},"type":"event_callback","event_id":"Ev0001","event_time":1717000000,"authorizations":[{"team_id":"T0001","user_id":"U0BOT","is_bot":true}]}';
    const verification = '{"token":"Jhj5dZrVaK7ZwHHjRyZWjbDl","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}';
    const common = { timestamp: '1717000000', signingSecret: 'test_slack_signing_secret_0123456', nowMs: 1717000000000, maxAgeS: 300 };
    expect(checkSlackSignature({ ...common, rawBody: Buffer.from(events), signature: 'v0=5d37b49d46efb842d36284898e6e533ebaa83cb237e8bad5bbd6ffe6e8976b48' })).toBeUndefined();
    expect(checkSlackSignature({ ...common, rawBody: Buffer.from(verification), signature: 'v0=f0cffe4e92e5b78b62267b1abe80e9e8c0b12e6b2c974abfdc586edf6f051618' })).toBeUndefined();
  });
});

describe('Standard Webhooks (standardwebhooks package)', () => {
  const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
  const check = {
    rawBody: Buffer.from('{"test": 2432232314}'),
    id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
    timestamp: '1614265330',
    signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    secret,
    nowMs: 1614265330_000,
    toleranceS: 300,
  };

  it('accepts the spec vector, also among several signatures (key rotation)', () => {
    expect(checkStandardWebhook(check)).toBeUndefined();
    expect(checkStandardWebhook({ ...check, signature: `v1,bm9wZQ== v1a,xyz ${check.signature}` })).toBeUndefined();
  });

  it('refuses stale or future timestamps, other ids and missing headers', () => {
    expect(checkStandardWebhook({ ...check, nowMs: (1614265330 + 301) * 1000 })).toMatch(/window/);
    expect(checkStandardWebhook({ ...check, nowMs: (1614265330 - 301) * 1000 })).toMatch(/window/);
    expect(checkStandardWebhook({ ...check, id: 'msg_other' })).toMatch(/no matching/);
    expect(checkStandardWebhook({ ...check, signature: undefined })).toMatch(/missing/);
  });

  it('signs the raw body bytes: invalid UTF-8 is neither lost nor interchangeable', () => {
    const body = Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xff]), Buffer.from('"}')]);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const mac = createHmac('sha256', key).update(Buffer.concat([Buffer.from(`${check.id}.${check.timestamp}.`), body])).digest('base64');
    const raw = { ...check, rawBody: body, signature: `v1,${mac}` };
    expect(checkStandardWebhook(raw)).toBeUndefined();
    const swapped = Buffer.from(body);
    swapped[swapped.indexOf(0xff)] = 0xfe;
    expect(checkStandardWebhook({ ...raw, rawBody: swapped })).toMatch(/no matching/);
  });

  it('signs outgoing callbacks so that the package verifies them', () => {
    const body = '{"type":"flow.completed"}';
    const headers = standardWebhookHeaders(secret, 'job_1', Date.now(), body);
    expect(new Webhook(secret).verify(body, headers)).toEqual({ type: 'flow.completed' });
  });
});

describe('timestampProblem (the window every timestamped scheme shares)', () => {
  const now = 1_717_000_000_000;

  it('accepts up to the limit on both sides, in seconds and in milliseconds', () => {
    expect(timestampProblem('ts', String(now / 1000 - 300), 'seconds', now, 300_000)).toBeUndefined();
    expect(timestampProblem('ts', String(now / 1000 + 300), 'seconds', now, 300_000)).toBeUndefined();
    expect(timestampProblem('ts', String(now - 300_000), 'milliseconds', now, 300_000)).toBeUndefined();
    expect(timestampProblem('ts', String(now + 300_000), 'milliseconds', now, 300_000)).toBeUndefined();
  });

  it('refuses one unit past the limit, stale or in the future, naming the header', () => {
    expect(timestampProblem('X-Slack-Request-Timestamp', String(now / 1000 - 301), 'seconds', now, 300_000)).toBe(
      'X-Slack-Request-Timestamp is outside the allowed window',
    );
    expect(timestampProblem('ts', String(now / 1000 + 301), 'seconds', now, 300_000)).toMatch(/window/);
    expect(timestampProblem('ts', String(now - 300_001), 'milliseconds', now, 300_000)).toMatch(/window/);
    expect(timestampProblem('ts', String(now + 300_001), 'milliseconds', now, 300_000)).toMatch(/window/);
  });

  it('refuses values that are not plain epoch digits of the unit', () => {
    expect(timestampProblem('webhook-timestamp', '1717000000.5', 'seconds', now, 300_000)).toBe('webhook-timestamp is not epoch seconds');
    expect(timestampProblem('ts', '-1', 'seconds', now, 300_000)).toMatch(/not epoch seconds/);
    expect(timestampProblem('ts', String(now), 'seconds', now, 300_000)).toMatch(/not epoch seconds/);
    expect(timestampProblem('ts', '1e12', 'milliseconds', now, 300_000)).toBe('ts is not epoch milliseconds');
  });
});

it('safeEqual compares contents and lengths', () => {
  expect(safeEqual('abc', 'abc')).toBe(true);
  expect(safeEqual('abc', 'abd')).toBe(false);
  expect(safeEqual('abc', 'abcd')).toBe(false);
});
