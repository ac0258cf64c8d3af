import { createHash } from 'node:crypto';
import nock from 'nock';
import request from 'supertest';
import { FakeSwitchyard, harness, hmacBase64, type Harness, onlyLocalNetwork } from './helpers';

const SECRET = 'test_client_secret_0123456789';
const TOKEN = 'pat-na1-11111111-2222-3333-4444-555555555555';
const API = 'https://api.hubapi.com';
const URL = 'https://gw.example.com/webhooks/hubspot';
// The reference's v3 vector: this body at this timestamp signs to 4Xltiv... (verified with @hubspot/api-client there).
const BODY =
  '[{"eventId":100,"subscriptionId":1234,"portalId":62515,"appId":54321,"occurredAt":1717000000000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeFlag":"CREATED","changeSource":"CRM"}]';
const TS = '1717000000000';
const SIG = '4XltivL7aLSBVeWSA7Q1kP0o/rHKI/PK9AQddJqecGE=';

const schema = {
  type: 'object',
  required: ['industry', 'company_size', 'persona', 'next_step'],
  additionalProperties: false,
  properties: {
    industry: { type: 'string' },
    company_size: { type: 'string', enum: ['1-10', '11-50', '51-200', '201-1000', '1000+'] },
    persona: { type: 'string' },
    next_step: { type: 'string' },
  },
};

const flows = {
  hubspot: {
    source: 'hubspot',
    hubspot: { client_secret: SECRET, access_token: TOKEN, properties: ['email', 'company', 'jobtitle'] },
    prompt: 'Contact {{contact.properties.email}} ({{contact.properties.jobtitle}}) at {{contact.properties.company}}.',
    output: { type: 'json', name: 'enrichment', schema },
    action: { type: 'update_contact', properties: { industry: 'industry', company_size: 'company_size', persona: 'persona', next_step: 'next_step' } },
  },
};

const ANSWER = '{"industry":"Software","company_size":"51-200","persona":"Engineering leader","next_step":"Offer a technical demo"}';

function sign(body: string, ts: string): string {
  return hmacBase64(SECRET, `POST${URL}${body}${ts}`);
}

function post(h: Harness, body = BODY, ts = TS, sig = SIG) {
  return request(h.app).post('/webhooks/hubspot').set('content-type', 'application/json').set('x-hubspot-signature-v3', sig).set('x-hubspot-request-timestamp', ts).send(body);
}

function crm(patches: unknown[]) {
  nock(API)
    .get('/crm/v3/objects/contacts/123')
    .query({ properties: 'email,company,jobtitle' })
    .matchHeader('authorization', `Bearer ${TOKEN}`)
    .times(5)
    .reply(200, { id: '123', properties: { email: 'ana@acme.io', company: 'Acme', jobtitle: 'VP Engineering', hs_object_id: '123' } });
  nock(API)
    .patch('/crm/v3/objects/contacts/123')
    .matchHeader('authorization', `Bearer ${TOKEN}`)
    .times(5)
    .reply(200, (_uri, body) => {
      patches.push(body);
      return { id: '123', properties: {} };
    });
}

describe('HubSpot enrichment flow', () => {
  let h: Harness;
  let sy: FakeSwitchyard;

  onlyLocalNetwork();
  beforeEach(() => {
    sy = new FakeSwitchyard(ANSWER);
    h = harness({ flows, switchyard: sy, now: 1717000000000 + 30_000 });
  });
  afterEach(async () => {
    await h.close();
  });

  it('enqueues contact.creation, reads the contact, and writes the JSON output back to its properties', async () => {
    const patches: unknown[] = [];
    crm(patches);
    const res = await post(h);
    expect(res.status).toBe(200);
    await h.webhooks.pool.drain();
    expect(sy.requests[0]?.messages.at(-1)).toEqual({ role: 'user', content: 'Contact ana@acme.io (VP Engineering) at Acme.' });
    expect(sy.requests[0]?.response_format).toMatchObject({ type: 'json_schema', json_schema: { name: 'enrichment', schema } });
    expect(patches).toEqual([{ properties: { industry: 'Software', company_size: '51-200', persona: 'Engineering leader', next_step: 'Offer a technical demo' } }]);
    expect(h.webhooks.queue.list()[0]?.effect).toBe('hubspot contact 123 updated (industry, company_size, persona, next_step)');
  });

  it('HubSpot retrying the same event never writes the contact twice', async () => {
    const patches: unknown[] = [];
    crm(patches);
    await post(h);
    await h.webhooks.pool.drain();
    const retry = BODY.replace('"attemptNumber":0', '"attemptNumber":1');
    const ts2 = String(1717000000000 + 20_000);
    expect((await post(h, retry, ts2, sign(retry, ts2))).status).toBe(200);
    await h.webhooks.pool.drain();
    expect(patches).toHaveLength(1);
    expect(sy.requests).toHaveLength(1);
  });

  it('takes batches: only subscribed types are enqueued, one job per event', async () => {
    const batch = JSON.stringify([
      { eventId: 1, subscriptionId: 1, portalId: 62515, occurredAt: 1, subscriptionType: 'contact.creation', attemptNumber: 0, objectId: 201 },
      { eventId: 2, subscriptionId: 2, portalId: 62515, occurredAt: 1, subscriptionType: 'contact.propertyChange', attemptNumber: 0, objectId: 202, propertyName: 'email' },
      { eventId: 3, subscriptionId: 1, portalId: 62515, occurredAt: 1, subscriptionType: 'contact.creation', attemptNumber: 0, objectId: 203 },
    ]);
    const res = await post(h, batch, TS, sign(batch, TS));
    expect(res.status).toBe(200);
    expect(h.webhooks.queue.list().map((j) => j.payload.target?.contact_id).sort()).toEqual(['201', '203']);
  });

  it('accepts workflow "send a webhook" payloads (properties included), keyed on the contact and body', async () => {
    const patches: unknown[] = [];
    crm(patches);
    const workflow = JSON.stringify({ vid: 123, 'portal-id': 62515, properties: { email: { value: 'ana@acme.io' }, lifecyclestage: { value: 'lead' } } });
    expect((await post(h, workflow, TS, sign(workflow, TS))).status).toBe(200);
    expect((await post(h, workflow, TS, sign(workflow, TS))).status).toBe(200);
    await h.webhooks.pool.drain();
    expect(h.webhooks.queue.list()).toHaveLength(1);
    const bodyHash = createHash('sha256').update(workflow).digest('hex');
    expect(h.webhooks.queue.list()[0]).toMatchObject({ key: `62515:workflow:123:${bodyHash}`, state: 'done' });
    expect(patches).toHaveLength(1);
  });

  it('a contact enrolled in the workflow again later (another body) is a new job, not a duplicate', async () => {
    const patches: unknown[] = [];
    crm(patches);
    const enrolled = (stage: string) => JSON.stringify({ vid: 123, 'portal-id': 62515, properties: { lifecyclestage: { value: stage } } });
    const first = enrolled('lead');
    const later = enrolled('customer');
    expect((await post(h, first, TS, sign(first, TS))).status).toBe(200);
    await h.webhooks.pool.drain();
    const ts2 = String(1717000000000 + 20_000);
    expect((await post(h, later, ts2, sign(later, ts2))).status).toBe(200);
    // HubSpot retrying the later delivery resends its body: still one job for it.
    expect((await post(h, later, ts2, sign(later, ts2))).status).toBe(200);
    await h.webhooks.pool.drain();
    expect(h.webhooks.queue.list().map((j) => j.payload.fields.contact)).toEqual([
      { id: '123', properties: { lifecyclestage: 'customer' } },
      { id: '123', properties: { lifecyclestage: 'lead' } },
    ]);
    expect(patches).toHaveLength(2);
    expect(h.logs.lines.filter((l) => l.msg === 'webhook accepted').map((l) => l.fields?.duplicates)).toEqual([0, 0, 1]);
  });

  it('refuses stale or future timestamps and bad signatures with 401, bodies that are neither a batch nor a workflow payload with 400', async () => {
    h.clock.advance(300_000);
    expect((await post(h)).status).toBe(401);
    h.clock.ms = 1717000000000 - 300_001;
    expect((await post(h)).status).toBe(401);
    h.clock.ms = 1717000000000;
    expect((await post(h, BODY, TS, SIG.replace('4X', '5X'))).status).toBe(401);
    const malformed = '"contact.creation"';
    const res = await post(h, malformed, TS, sign(malformed, TS));
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('invalid_body');
    expect(h.webhooks.queue.counts().pending).toBe(0);
  });

  it('a batch mixing contact.creation with an unhandled type (associationChange, no objectId) enqueues the creation and ignores the other', async () => {
    const batch = JSON.stringify([
      { eventId: 11, subscriptionId: 1, portalId: 62515, occurredAt: 1, subscriptionType: 'contact.creation', attemptNumber: 0, objectId: 301 },
      {
        eventId: 12,
        subscriptionId: 3,
        portalId: 62515,
        occurredAt: 1,
        subscriptionType: 'contact.associationChange',
        attemptNumber: 0,
        associationType: 'CONTACT_TO_COMPANY',
        fromObjectId: 301,
        toObjectId: 9001,
        changeFlag: 'NEW',
      },
    ]);
    const res = await post(h, batch, TS, sign(batch, TS));
    expect(res.status).toBe(200);
    expect(h.webhooks.queue.list().map((j) => j.payload.target?.contact_id)).toEqual(['301']);
    // Unhandled types are not errors: nothing is logged about them.
    expect(h.logs.lines.filter((l) => l.msg === 'webhook event skipped')).toEqual([]);
  });

  it('an event of a handled type without its ids is skipped and logged; the rest of the batch is enqueued (HubSpot retries whole batches)', async () => {
    const batch = JSON.stringify([
      { eventId: 21, subscriptionId: 1, portalId: 62515, occurredAt: 1, subscriptionType: 'contact.creation', attemptNumber: 0 },
      { eventId: 22, subscriptionId: 1, portalId: 62515, occurredAt: 1, subscriptionType: 'contact.creation', attemptNumber: 0, objectId: 402 },
      'not an event',
    ]);
    const res = await post(h, batch, TS, sign(batch, TS));
    expect(res.status).toBe(200);
    expect(h.webhooks.queue.list().map((j) => j.payload.target?.contact_id)).toEqual(['402']);
    const skipped = h.logs.lines.filter((l) => l.msg === 'webhook event skipped');
    expect(skipped).toEqual([
      { level: 'warn', msg: 'webhook event skipped', fields: { flow: 'hubspot', source: 'hubspot', event: '[0]', reason: 'contact.creation event lacks objectId' } },
      { level: 'warn', msg: 'webhook event skipped', fields: { flow: 'hubspot', source: 'hubspot', event: '[2]', reason: 'not an event object with a subscriptionType' } },
    ]);

    const onlyBad = '[{"eventId":1,"subscriptionType":"contact.creation"}]';
    const alone = await post(h, onlyBad, TS, sign(onlyBad, TS));
    expect(alone.status).toBe(200);
    expect(h.webhooks.queue.list()).toHaveLength(1);
  });

  it('an answer that fails the schema gets one repair call, then the repaired JSON is written', async () => {
    const patches: unknown[] = [];
    crm(patches);
    sy = new FakeSwitchyard(['{"industry":"Software","company_size":"about 100"}', ANSWER]);
    await h.close();
    h = harness({ flows, switchyard: sy, now: 1717000000000 });
    await post(h);
    await h.webhooks.pool.drain();
    expect(sy.requests).toHaveLength(2);
    expect(patches).toHaveLength(1);
    expect(h.webhooks.queue.list()[0]?.result).toMatchObject({ repaired: true });
  });
});
