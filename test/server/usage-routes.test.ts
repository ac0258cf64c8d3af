import express from 'express';
import request from 'supertest';
import { createAccessControl } from '../../src/server/access';
import { KeyInfoSchema, UsageAggregateRowSchema, openStore, type Store } from '../../src/server/store';
import { adminRouter, usageRouter } from '../../src/server/usage-routes';
import { assertOpenAIError } from '../helpers/openai-schema';
import { usageRow } from './helpers/store';

const ADMIN = 'admin-secret-0123456789';
const NOON = Date.UTC(2026, 10, 22, 12);

function appFor(store: Store, opts: { requireKeys: boolean; adminKey?: string }): express.Express {
  const access = createAccessControl({ store, adminKey: opts.adminKey, requireKeys: opts.requireKeys, clock: () => NOON });
  const app = express();
  app.use(usageRouter(store, access));
  app.use(adminRouter(store, opts.adminKey));
  return app;
}

function expectError(res: request.Response, status: number, param?: string | null): void {
  expect(res.status).toBe(status);
  assertOpenAIError(res.body);
  if (param !== undefined) expect(res.body.error.param).toBe(param);
}

describe('GET /v1/usage', () => {
  let store: Store;
  let keyA: { key: string; id: string };
  let keyB: { key: string; id: string };

  beforeEach(() => {
    store = openStore(':memory:', { clock: () => NOON });
    const a = store.keys.create({ name: 'team-a' });
    const b = store.keys.create({ name: 'team-b' });
    keyA = { key: a.key, id: a.record.id };
    keyB = { key: b.key, id: b.record.id };
    for (let i = 1; i <= 4; i++) store.usage.record(usageRow({ key_id: keyA.id, latency_ms: i * 100 }));
    store.usage.record(usageRow({ key_id: keyB.id, model: 'anthropic/claude-haiku', provider: 'anthropic', time: NOON + 86_400_000 }));
    store.usage.record(usageRow({ key_id: null, model: 'groq/llama', provider: 'groq', status: 429, error_kind: 'rate_limited' }));
  });
  afterEach(() => store.close());

  it('aggregates everything for anonymous local use, by model by default', async () => {
    const res = await request(appFor(store, { requireKeys: false })).get('/v1/usage').expect(200);
    expect(res.body).toMatchObject({ object: 'list', group_by: 'model', from: null, to: null });
    for (const row of res.body.data) UsageAggregateRowSchema.strict().parse(row);
    expect(res.body.data.map((r: { group: string; calls: number; share: number }) => [r.group, r.calls, r.share])).toEqual([
      ['openai/gpt-4.1-mini', 4, 0.6667],
      ['anthropic/claude-haiku', 1, 0.1667],
      ['groq/llama', 1, 0.1667],
    ]);
    expect(res.body.data[0]).toMatchObject({ p50_latency_ms: 200, p95_latency_ms: 400, errors: 0 });
    expect(res.body.data[2]).toMatchObject({ errors: 1 });
  });

  it('groups by provider, key and day, and filters by ISO dates or epoch ms', async () => {
    const app = appFor(store, { requireKeys: false });
    const byProvider = await request(app).get('/v1/usage?group_by=provider').expect(200);
    expect(byProvider.body.data.map((r: { group: string }) => r.group)).toEqual(['openai', 'anthropic', 'groq']);
    const byKey = await request(app).get('/v1/usage').query({ group_by: 'key' }).expect(200);
    expect(byKey.body.data.map((r: { group: string; key_name?: string }) => [r.group, r.key_name ?? null])).toEqual([
      [keyA.id, 'team-a'],
      ['(anonymous)', null],
      [keyB.id, 'team-b'],
    ]);
    const byDay = await request(app).get('/v1/usage').query({ group_by: 'day', from: '2026-11-22', to: '2026-11-22' }).expect(200);
    expect(byDay.body).toMatchObject({ from: '2026-11-22T00:00:00.000Z', to: '2026-11-23T00:00:00.000Z' });
    expect(byDay.body.data.map((r: { group: string; calls: number }) => [r.group, r.calls])).toEqual([['2026-11-22', 5]]);
    const epoch = await request(app).get('/v1/usage').query({ group_by: 'day', from: String(NOON + 1) }).expect(200);
    expect(epoch.body.data.map((r: { group: string }) => r.group)).toEqual(['2026-11-23']);
    const zoned = await request(app).get('/v1/usage').query({ group_by: 'day', to: '2026-11-22T14:00:00+02:00' }).expect(200);
    expect(zoned.body.data).toEqual([]);
  });

  it.each([
    ['group_by=team', 'group_by'],
    ['group_by=model&group_by=day', 'group_by'],
    ['from=yesterday', 'from'],
    ['from=2026-13-01', 'from'],
    ['to=2026-11-22T10:00:00', 'to'],
    ['from=2026-11-23&to=2026-11-22', 'to'],
    ['groupby=day', 'groupby'],
  ])('answers 400 naming the bad parameter: %s', async (query, param) => {
    const res = await request(appFor(store, { requireKeys: false })).get(`/v1/usage?${query}`);
    expectError(res, 400, param);
    expect(res.body.error.message).toContain(`'${param}'`);
  });

  it('shows a gateway key only its own usage; the admin key sees all', async () => {
    const app = appFor(store, { requireKeys: true, adminKey: ADMIN });
    expectError(await request(app).get('/v1/usage'), 401);

    const own = await request(app).get('/v1/usage?group_by=key').set('authorization', `Bearer ${keyA.key}`).expect(200);
    expect(own.body.data.map((r: { group: string; calls: number }) => [r.group, r.calls])).toEqual([[keyA.id, 4]]);
    const other = await request(app).get(`/v1/usage?key_id=${keyB.id}`).set('authorization', `Bearer ${keyA.key}`);
    expectError(other, 403, 'key_id');

    const all = await request(app).get('/v1/usage?group_by=key').set('authorization', `Bearer ${ADMIN}`).expect(200);
    expect(all.body.data).toHaveLength(3);
    const filtered = await request(app).get(`/v1/usage?key_id=${keyB.id}`).set('authorization', `Bearer ${ADMIN}`).expect(200);
    expect(filtered.body.data.map((r: { group: string }) => r.group)).toEqual(['anthropic/claude-haiku']);
  });
});

describe('admin API', () => {
  let store: Store;
  let app: express.Express;
  beforeEach(() => {
    store = openStore(':memory:', { clock: () => NOON });
    app = appFor(store, { requireKeys: true, adminKey: ADMIN });
  });
  afterEach(() => store.close());

  const admin = { authorization: `Bearer ${ADMIN}` };

  it('needs the admin key: 401 without or with a wrong key, 403 for a gateway key', async () => {
    const { key } = store.keys.create({ name: 'user' });
    expectError(await request(app).get('/admin/keys'), 401);
    expectError(await request(app).get('/admin/keys').set('authorization', 'Bearer wrong-admin-key-0000'), 401);
    expectError(await request(app).post('/admin/keys').set('authorization', `Bearer ${ADMIN}x`).send({ name: 'x' }), 401);
    const asUser = await request(app).get('/admin/keys').set('authorization', `Bearer ${key}`);
    expectError(asUser, 403);
    expect(JSON.stringify(asUser.body)).not.toContain(key);
    expect(store.keys.count()).toBe(1);
  });

  it('creates a key, shows it once, lists keys without secrets and revokes', async () => {
    const created = await request(app)
      .post('/admin/keys')
      .set(admin)
      .send({ name: 'zapier', allowed_models: ['openai/*'], requests_per_minute: 30, daily_budget_usd: 2 })
      .expect(201);
    expect(created.headers['cache-control']).toBe('no-store');
    expect(created.body).toMatchObject({ object: 'api_key', name: 'zapier', allowed_models: ['openai/*'], requests_per_minute: 30, daily_budget_usd: 2, revoked_at: null });
    const key: string = created.body.key;
    expect(key).toMatch(/^sk-sy-/);
    expect(store.keys.verify(key)?.id).toBe(created.body.id);

    // The new key works against the gateway at once.
    await request(app).get('/v1/usage').set('authorization', `Bearer ${key}`).expect(200);

    const listed = await request(app).get('/admin/keys').set(admin).expect(200);
    expect(listed.body.object).toBe('list');
    expect(listed.body.data).toHaveLength(1);
    KeyInfoSchema.strict().parse(listed.body.data[0]);
    expect(JSON.stringify(listed.body)).not.toContain(key.slice(12));

    const revoked = await request(app).delete(`/admin/keys/${created.body.id}`).set(admin).expect(200);
    expect(revoked.body).toMatchObject({ id: created.body.id, revoked_at: new Date(NOON).toISOString() });
    expect(store.keys.verify(key)).toBeUndefined();
    expectError(await request(app).get('/v1/usage').set('authorization', `Bearer ${key}`), 401);
    expectError(await request(app).delete('/admin/keys/key_unknown').set(admin), 404);
  });

  it('revokes by prefix too', async () => {
    const { record } = store.keys.create({ name: 'p' });
    await request(app).delete(`/admin/keys/${encodeURIComponent(record.prefix)}`).set(admin).expect(200);
    expect(store.keys.count()).toBe(0);
  });

  it('answers 400 naming the bad field, and for malformed JSON', async () => {
    const bad = await request(app).post('/admin/keys').set(admin).send({ name: 'x', requests_per_minute: -5 });
    expectError(bad, 400, 'requests_per_minute');
    expectError(await request(app).post('/admin/keys').set(admin).send({ name: 'x', budget: 3 }), 400);
    expectError(await request(app).post('/admin/keys').set(admin).send({}), 400, 'name');
    const malformed = await request(app).post('/admin/keys').set(admin).set('content-type', 'application/json').send('{"name": ');
    expectError(malformed, 400);
    expect(malformed.body.error.code).toBe('invalid_json');
    const huge = await request(app).post('/admin/keys').set(admin).send({ name: 'x'.repeat(20_000) });
    expectError(huge, 413);
    expect(huge.body.error.code).toBe('request_too_large');
    expect(store.keys.count()).toBe(0);
  });

  it('names an unrecognized key itself in param and message; a root problem has param null', async () => {
    const bogus = await request(app).post('/admin/keys').set(admin).send({ name: 'x', bogus: 1 });
    expectError(bogus, 400, 'bogus');
    expect(bogus.body.error.message).toBe("Invalid request: unrecognized key 'bogus'");
    const two = await request(app).post('/admin/keys').set(admin).send({ name: 'x', bogus: 1, other: 2 });
    expectError(two, 400, 'bogus');
    expect(two.body.error.message).toContain("unrecognized keys 'bogus', 'other'");
    const notObject = await request(app).post('/admin/keys').set(admin).send([{ name: 'x' }]);
    expectError(notObject, 400, null);
    expect(notObject.body.error.message).not.toContain("''");
    expect(store.keys.count()).toBe(0);
  });

  it('is disabled (404) when no admin key is configured', async () => {
    const open = appFor(store, { requireKeys: false });
    const res = await request(open).get('/admin/keys').set(admin);
    expectError(res, 404);
    expect(res.body.error.message).toMatch(/admin key/);
    expectError(await request(open).post('/admin/keys').send({ name: 'x' }), 404);
    expect(store.keys.count()).toBe(0);
  });
});
