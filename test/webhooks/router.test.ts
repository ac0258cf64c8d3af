import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import request from 'supertest';
import { assertOpenAIError } from '../helpers/openai-schema';
import { FakeSwitchyard, harness, hmacHex, type Harness, onlyLocalNetwork } from './helpers';

const APP_SECRET = 'test_app_secret_0123456789abcdef';
const BEARER = 'bearer-token-0123456789abcdef';
// The reference's Meta vector A (signed over these exact bytes).
const BODY_A =
  '{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}';

const flows = {
  support: {
    source: 'whatsapp',
    whatsapp: { app_secret: APP_SECRET, verify_token: 'verify-me', access_token: 'EAAG-test-token' },
    prompt: '{{message.text}}',
    action: { type: 'reply' },
  },
  triage: { source: 'generic', generic: { bearer_token: BEARER }, prompt: '{{body.text}}', action: { type: 'respond' } },
};

/** The bytes as they are (superagent would send a Buffer as JSON for a JSON content type). */
const asIs = (body: unknown): string => body as string;

function whatsapp(h: Harness, body: Buffer, encoding: string, signature: string) {
  return request(h.app)
    .post('/webhooks/support')
    .set('content-type', 'application/json')
    .set('content-encoding', encoding)
    .set('x-hub-signature-256', signature)
    .serialize(asIs)
    .send(body);
}

describe('webhook router: compressed bodies', () => {
  let h: Harness;

  onlyLocalNetwork();
  beforeEach(() => {
    h = harness({ flows, switchyard: new FakeSwitchyard('ok') });
  });
  afterEach(async () => {
    await h.close();
  });

  const noErrors = () => h.logs.lines.filter((l) => l.level === 'error');

  it.each(['gzip', 'deflate', 'br', 'GZIP', 'x-gzip', 'identity, gzip'])(
    'refuses a malformed %s body with 415 unsupported_encoding before any signature check, never a 500',
    async (encoding) => {
      const res = await whatsapp(h, Buffer.from('this is not compressed at all \x00\xff'), encoding, 'sha256=00');
      expect(res.status).toBe(415);
      assertOpenAIError(res.body);
      expect(res.body.error).toMatchObject({ code: 'unsupported_encoding', type: 'invalid_request_error', message: expect.stringContaining(`'${encoding}'`) });
      expect(noErrors()).toEqual([]);
      expect(h.logs.text()).not.toMatch(/Decompression|invalid_signature/);
      expect(h.webhooks.queue.counts().pending).toBe(0);
    },
  );

  it.each([
    ['gzip', gzipSync],
    ['deflate', deflateSync],
    ['br', brotliCompressSync],
  ] as const)('never inflates a valid %s body, even one whose inflated bytes carry a valid signature', async (encoding, compress) => {
    const signedOverInflated = `sha256=${hmacHex(APP_SECRET, BODY_A)}`;
    const res = await whatsapp(h, compress(Buffer.from(BODY_A)), encoding, signedOverInflated);
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('unsupported_encoding');
    expect(h.webhooks.queue.counts().pending).toBe(0);
  });

  it('refuses a compressed generic request too, and still reports unknown flows as 404 first', async () => {
    const res = await request(h.app)
      .post('/hooks/triage')
      .set('authorization', `Bearer ${BEARER}`)
      .set('content-type', 'application/json')
      .set('content-encoding', 'gzip')
      .serialize(asIs)
      .send(gzipSync('{"text":"hi"}'));
    expect(res.status).toBe(415);
    expect(res.body.error.code).toBe('unsupported_encoding');
    const unknown = await request(h.app).post('/webhooks/nope').set('content-encoding', 'gzip').send('garbage');
    expect(unknown.status).toBe(404);
    expect(h.webhooks.queue.list()).toEqual([]);
  });

  it('accepts an explicit identity encoding', async () => {
    const res = await whatsapp(h, Buffer.from(BODY_A), 'identity', `sha256=${hmacHex(APP_SECRET, BODY_A)}`);
    expect(res.status).toBe(200);
    expect(h.webhooks.queue.counts().pending).toBe(1);
  });
});
