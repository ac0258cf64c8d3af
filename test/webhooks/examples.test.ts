import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import nock from 'nock';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import { createLogger } from '../../src/server/log';
import { startServer, type RunningServer } from '../../src/server/server';
import { eventually, hmacBase64, hmacHex, onlyLocalNetwork } from './helpers';

/**
 * The three shipped examples, end to end: the example config file as is, the real server and
 * routing core, providers (OpenAI, Anthropic) and platform APIs answered by nock.
 */

const EXAMPLES = resolve(__dirname, '..', '..', 'src', 'webhooks', 'examples');
const SECRETS = {
  OPENAI_API_KEY: 'sk-test-openai-0123456789abcdef',
  ANTHROPIC_API_KEY: 'sk-ant-test-0123456789abcdef',
  WHATSAPP_APP_SECRET: 'wa-app-secret-0123456789abcdef',
  WHATSAPP_VERIFY_TOKEN: 'wa-verify-token-0123456789',
  WHATSAPP_ACCESS_TOKEN: 'EAAGwatoken0123456789abcdef',
  HUBSPOT_CLIENT_SECRET: 'hs-client-secret-0123456789abcdef',
  HUBSPOT_ACCESS_TOKEN: 'pat-na1-00000000-1111-2222-3333-444444444444',
  LEAD_SIGNING_SECRET: 'whsec_bGVhZC1zaWduaW5nLXNlY3JldC0wMTIzNDU2Nzg5',
  LEAD_CALLBACK_SECRET: 'whsec_bGVhZC1jYWxsYmFjay1zZWNyZXQtMDEyMzQ1Njc4OQ==',
  LEAD_BEARER_TOKEN: 'lead-bearer-token-0123456789abcdef',
};
const PUBLIC = 'https://gw.example.com';

function openaiAnswer(content: string, model = 'gpt-4.1-mini-2025-04-14') {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion',
    created: 1741569952,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content, refusal: null, annotations: [] }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 50, completion_tokens: 20, total_tokens: 70 },
  };
}

function anthropicAnswer(text: string) {
  return {
    id: 'msg_test',
    type: 'message',
    role: 'assistant',
    model: 'claude-haiku-4-5-20251001',
    content: [{ type: 'text', text }],
    stop_reason: 'end_turn',
    stop_sequence: null,
    usage: { input_tokens: 50, output_tokens: 20 },
  };
}

describe('shipped webhook examples, end to end', () => {
  let dir: string;
  let gateway: RunningServer | undefined;
  let logs: string[];

  async function start(example: string): Promise<RunningServer> {
    gateway = await startServer({
      file: join(EXAMPLES, example),
      cwd: dir,
      port: 0,
      host: '127.0.0.1',
      env: { ...SECRETS, PUBLIC_BASE_URL: PUBLIC },
      storePath: join(dir, 'usage.sqlite'),
      queuePath: join(dir, 'jobs.sqlite'),
      logger: createLogger({ level: 'debug', write: (line) => logs.push(line) }),
      fetch: async () => {
        throw new Error('no ollama here');
      },
    });
    return gateway;
  }

  onlyLocalNetwork();
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'sy-examples-'));
    logs = [];
  });
  afterEach(async () => {
    await gateway?.shutdown();
    gateway = undefined;
    rmSync(dir, { recursive: true, force: true });
    const text = logs.join('');
    for (const [name, value] of Object.entries(SECRETS)) expect({ name, leaked: text.includes(value) }).toEqual({ name, leaked: false });
  });

  it('WhatsApp support bot: falls back from OpenAI to Anthropic and replies once, briefly', async () => {
    const g = await start('whatsapp-support.yaml');
    const openaiCalls: unknown[] = [];
    nock('https://api.openai.com')
      .post('/v1/chat/completions')
      .times(10)
      .reply(503, (_u, body) => {
        openaiCalls.push(body);
        return { error: { message: 'The server is overloaded', type: 'server_error', param: null, code: null } };
      });
    const anthropicCalls: Array<Record<string, unknown>> = [];
    nock('https://api.anthropic.com')
      .post('/v1/messages')
      .matchHeader('x-api-key', SECRETS.ANTHROPIC_API_KEY)
      .times(10)
      .reply(200, (_u, body) => {
        anthropicCalls.push(body as Record<string, unknown>);
        return anthropicAnswer('Hi Sheena! Yes, it also comes in forest green and navy.');
      });
    const replies: unknown[] = [];
    nock('https://graph.facebook.com')
      .post('/v23.0/106540352242922/messages')
      .matchHeader('authorization', `Bearer ${SECRETS.WHATSAPP_ACCESS_TOKEN}`)
      .times(10)
      .reply(200, (_u, body) => {
        replies.push(body);
        return { messaging_product: 'whatsapp', contacts: [{ input: '16505551234', wa_id: '16505551234' }], messages: [{ id: 'wamid.REPLY1' }] };
      });

    const handshake = await request(g.url).get('/webhooks/whatsapp-support').query({ 'hub.mode': 'subscribe', 'hub.verify_token': SECRETS.WHATSAPP_VERIFY_TOKEN, 'hub.challenge': 'c-42' });
    expect(handshake.text).toBe('c-42');

    const body = JSON.stringify({
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
                contacts: [{ profile: { name: 'Sheena Nelson' }, wa_id: '16505551234' }],
                messages: [{ from: '16505551234', id: 'wamid.IN1', timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'Does the Trail 40 backpack come in another color?' } }],
              },
            },
          ],
        },
      ],
    });
    const post = () =>
      request(g.url).post('/webhooks/whatsapp-support').set('content-type', 'application/json').set('x-hub-signature-256', `sha256=${hmacHex(SECRETS.WHATSAPP_APP_SECRET, body)}`).send(body);
    expect((await post()).status).toBe(200);
    await eventually(() => g.webhooks!.queue.list()[0]?.state === 'done', 'reply sent');
    expect((await post()).status).toBe(200);

    expect(replies).toEqual([
      {
        messaging_product: 'whatsapp',
        recipient_type: 'individual',
        to: '16505551234',
        type: 'text',
        text: { preview_url: false, body: 'Hi Sheena! Yes, it also comes in forest green and navy.' },
      },
    ]);
    expect(openaiCalls.length).toBeGreaterThanOrEqual(1);
    expect(anthropicCalls).toHaveLength(1);
    expect(String(anthropicCalls[0]?.system)).toContain('at most three short sentences');
    expect(anthropicCalls[0]?.max_tokens).toBe(300);
    expect(g.webhooks!.queue.list()[0]?.result).toMatchObject({ model: 'anthropic/claude-haiku-4-5', provider: 'anthropic' });
    await g.webhooks!.pool.drain();
    expect(replies).toHaveLength(1);
  });

  it('CRM enrichment: schema-checked JSON (one repair call) written back to the HubSpot contact', async () => {
    const g = await start('crm-enrichment.yaml');
    nock('https://api.hubapi.com')
      .get('/crm/v3/objects/contacts/51')
      .query(true)
      .matchHeader('authorization', `Bearer ${SECRETS.HUBSPOT_ACCESS_TOKEN}`)
      .reply(200, {
        id: '51',
        properties: { email: 'maria@northwind.io', firstname: 'Maria', lastname: 'Lopez', company: 'Northwind Robotics', jobtitle: 'Head of Operations', website: 'northwind.io', city: null, country: 'Spain' },
      });
    const openaiCalls: Array<Record<string, unknown>> = [];
    const answers = [
      '{"industry":"Robotics","company_size":"about 120","persona":"Operations leader"}',
      '{"industry":"Industrial robotics","company_size":"51-200","persona":"Operations leader","next_step":"Book a call about warehouse automation"}',
    ];
    nock('https://api.openai.com')
      .post('/v1/chat/completions')
      .times(2)
      .reply(200, (_u, body) => {
        openaiCalls.push(body as Record<string, unknown>);
        return openaiAnswer(answers[openaiCalls.length - 1]!);
      });
    const patches: unknown[] = [];
    nock('https://api.hubapi.com')
      .patch('/crm/v3/objects/contacts/51')
      .reply(200, (_u, body) => {
        patches.push(body);
        return { id: '51' };
      });

    const body = JSON.stringify([
      { eventId: 7001, subscriptionId: 99, portalId: 62515, appId: 54321, occurredAt: Date.now(), subscriptionType: 'contact.creation', attemptNumber: 0, objectId: 51, changeFlag: 'CREATED', changeSource: 'CRM_UI' },
    ]);
    const ts = String(Date.now());
    const signature = hmacBase64(SECRETS.HUBSPOT_CLIENT_SECRET, `POST${PUBLIC}/webhooks/crm-enrichment${body}${ts}`);
    const res = await request(g.url).post('/webhooks/crm-enrichment').set('content-type', 'application/json').set('x-hubspot-signature-v3', signature).set('x-hubspot-request-timestamp', ts).send(body);
    expect(res.status).toBe(200);
    await eventually(() => g.webhooks!.queue.list()[0]?.state === 'done', 'contact updated');

    expect(openaiCalls[0]).toMatchObject({ response_format: { type: 'json_schema', json_schema: { name: 'contact_enrichment' } } });
    expect(JSON.stringify(openaiCalls[0]?.messages)).toContain('Head of Operations');
    expect(JSON.stringify(openaiCalls[1]?.messages)).toMatch(/next_step is missing/);
    expect(patches).toEqual([
      { properties: { industry: 'Industrial robotics', company_size: '51-200', persona: 'Operations leader', next_step: 'Book a call about warehouse automation' } },
    ]);
  });

  it('lead triage: signed generic webhook, 202 + job id, then a signed callback; sync answers with the bearer token', async () => {
    const g = await start('lead-triage.yaml');
    const triage = { priority: 'hot', team: 'sales', summary: 'Wants 200 seats next month.', reply_draft: 'Hi Tom, thanks for reaching out!' };
    nock('https://api.openai.com').post('/v1/chat/completions').times(2).reply(200, openaiAnswer(JSON.stringify(triage), 'gpt-5-nano'));
    const callbacks: Array<{ headers: Record<string, string>; body: string }> = [];
    nock('https://crm.example.com')
      .post('/hooks/leads')
      .reply(204, function (_u, body) {
        callbacks.push({ headers: this.req.headers as Record<string, string>, body: JSON.stringify(body) });
        return '';
      });

    const lead = JSON.stringify({ name: 'Tom', email: 'tom@bigco.com', company: 'BigCo', message: 'We need 200 seats next month', callback_url: 'https://crm.example.com/hooks/leads' });
    const id = 'msg_lead_1';
    const now = new Date();
    const res = await request(g.url)
      .post('/hooks/lead-triage')
      .set('content-type', 'application/json')
      .set('webhook-id', id)
      .set('webhook-timestamp', String(Math.floor(now.getTime() / 1000)))
      .set('webhook-signature', new Webhook(SECRETS.LEAD_SIGNING_SECRET).sign(id, now, lead))
      .send(lead);
    expect(res.status).toBe(202);
    const jobId = res.body.id as string;
    await eventually(() => callbacks.length === 1, 'callback received');
    const payload = new Webhook(SECRETS.LEAD_CALLBACK_SECRET).verify(callbacks[0]!.body, callbacks[0]!.headers);
    expect(payload).toMatchObject({ type: 'flow.completed', data: { job_id: jobId, flow: 'lead-triage', output: triage } });
    await eventually(() => g.webhooks!.queue.get(jobId)?.state === 'done', 'job done');
    const status = await request(g.url).get(`/hooks/jobs/${jobId}`);
    expect(status.body).toMatchObject({ status: 'done', output: triage, provider: 'openai' });

    const sync = await request(g.url)
      .post('/hooks/lead-triage')
      .set('authorization', `Bearer ${SECRETS.LEAD_BEARER_TOKEN}`)
      .send({ name: 'Ana', email: 'ana@small.io', message: 'Just curious about pricing' });
    expect(sync.status).toBe(200);
    expect(sync.body).toMatchObject({ status: 'done', output: triage });
  });
});
