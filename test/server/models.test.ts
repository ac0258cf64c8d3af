import express from 'express';
import request from 'supertest';
import { PreferSchema } from '../../src/core/routing/types';
import { createAccessControl } from '../../src/server/access';
import { answerGatewayErrors } from '../../src/server/error-response';
import { SwitchyardHolder } from '../../src/server/holder';
import { AUTO_MODELS, modelsRouter } from '../../src/server/routes/models';
import { openStore, type Store } from '../../src/server/store';
import { assertOpenAIError } from '../helpers/openai-schema';
import { FakeSwitchyard } from './helpers/fake-switchyard';

const CREATED = 1_760_000_000;
const AUTO_IDS = ['auto', 'auto:cost', 'auto:latency', 'auto:quality', 'auto:balanced'];

function appFor(store?: Store): express.Express {
  const access = store ? createAccessControl({ store, requireKeys: true, clock: () => CREATED * 1000 }) : undefined;
  const app = express();
  app.use(modelsRouter(new SwitchyardHolder(new FakeSwitchyard()), access, CREATED));
  app.use(answerGatewayErrors);
  return app;
}

describe('GET /v1/models: the auto shorthands', () => {
  it('lists "auto" and one auto:<prefer> per routing preference, auto:balanced included', async () => {
    const res = await request(appFor()).get('/v1/models').expect(200);
    const ids: string[] = res.body.data.map((m: { id: string }) => m.id);
    expect(AUTO_MODELS).toEqual(['auto', ...PreferSchema.options.map((p) => `auto:${p}`)]);
    expect(ids).toEqual([...AUTO_IDS, 'fake/small', 'fake/large']);
  });

  it.each(AUTO_IDS)('retrieves %s', async (id) => {
    const res = await request(appFor()).get(`/v1/models/${id}`).expect(200);
    expect(res.body).toEqual({ id, object: 'model', created: CREATED, owned_by: 'switchyard' });
  });

  it('answers 404 for an auto name that is no routing preference', async () => {
    const res = await request(appFor()).get('/v1/models/auto:fastest');
    expect(res.status).toBe(404);
    assertOpenAIError(res.body);
    expect(res.body.error).toMatchObject({ param: 'model', code: 'model_not_found' });
  });

  it('lists and retrieves auto:balanced for a key with an allow-list', async () => {
    const store = openStore(':memory:', { clock: () => CREATED * 1000 });
    try {
      const { key } = store.keys.create({ name: 'small-only', allowed_models: ['fake/small'] });
      const app = appFor(store);
      const auth = { authorization: `Bearer ${key}` };
      const list = await request(app).get('/v1/models').set(auth).expect(200);
      expect(list.body.data.map((m: { id: string }) => m.id)).toEqual([...AUTO_IDS, 'fake/small']);
      await request(app).get('/v1/models/auto:balanced').set(auth).expect(200);
      expect((await request(app).get('/v1/models/fake/large').set(auth)).status).toBe(404);
    } finally {
      await store.close();
    }
  });
});
