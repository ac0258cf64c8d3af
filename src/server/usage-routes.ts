/**
 * HTTP endpoints of the store. Both routers use full paths: mount them at the root,
 * `app.use(usageRouter(store, access))` and `app.use(adminRouter(store, adminKey))`.
 *
 * Exports:
 * - `usageRouter(store, access)`: `GET /v1/usage?group_by=model|provider|key|day&from&to&key_id`.
 *   A gateway key sees only its own usage; the admin key and anonymous local use see everything.
 * - `adminRouter(store, adminKey?)`: `POST /admin/keys` (201, the key shown once), `GET /admin/keys`,
 *   `DELETE /admin/keys/:id` (id or prefix), guarded by `Authorization: Bearer <admin key>`
 *   (401 missing/wrong, 403 for a gateway key); every /admin path answers 404 when no admin key is set.
 * GatewayErrors (bodies included: 413, 400 malformed JSON) are answered in OpenAI's shape by each
 * router; anything else goes on to the app's handler.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { GatewayError, validationError } from '../core/errors';
import type { AccessControl } from './access';
import { jsonBody } from './body';
import { answerGatewayErrors, sendError } from './error-response';
import { KeyCreateSchema, toInfo, type Store } from './store';
import { parseUsageQuery } from './usage-query';

export function usageRouter(store: Pick<Store, 'usage'>, access: AccessControl): Router {
  const router = express.Router();
  router.get('/v1/usage', (req, res) => {
    const ctx = access.authenticate(req.headers);
    const query = parseUsageQuery(req.query);
    if (ctx?.key) {
      if (query.key_id !== undefined && query.key_id !== ctx.key.id) {
        throw new GatewayError(403, 'An API key can only read its own usage; leave key_id out or use the admin key.', {
          param: 'key_id',
          code: 'forbidden',
        });
      }
      query.key_id = ctx.key.id;
    }
    res.json({
      object: 'list',
      group_by: query.group_by,
      from: query.from === undefined ? null : new Date(query.from).toISOString(),
      to: query.to === undefined ? null : new Date(query.to).toISOString(),
      data: store.usage.aggregate(query),
    });
  });
  router.use(answerGatewayErrors);
  return router;
}

export function adminRouter(store: Pick<Store, 'keys'>, adminKey?: string): Router {
  const router = express.Router();
  if (!adminKey) {
    router.use('/admin', (_req, res) => {
      sendError(res, new GatewayError(404, 'The admin API is disabled: configure an admin key to enable it.', { code: 'admin_disabled' }));
    });
    return router;
  }
  router.use('/admin', adminGuard(store, adminKey));
  router.post('/admin/keys', jsonBody('16kb'), (req, res) => {
    const input = KeyCreateSchema.safeParse(req.body ?? {});
    if (!input.success) throw validationError(input.error);
    const { record, key } = store.keys.create(input.data);
    res.status(201).set('cache-control', 'no-store').json({ object: 'api_key', key, ...toInfo(record, { today: 0, month: 0 }) });
  });
  router.get('/admin/keys', (_req, res) => {
    res.json({ object: 'list', data: store.keys.list() });
  });
  router.delete('/admin/keys/:id', (req, res) => {
    const record = store.keys.revoke(String(req.params.id));
    const info = store.keys.list().find((k) => k.id === record.id);
    res.json({ object: 'api_key', ...info });
  });
  router.use(answerGatewayErrors);
  return router;
}

function adminGuard(store: Pick<Store, 'keys'>, adminKey: string) {
  const expected = sha256(adminKey);
  return (req: Request, _res: Response, next: NextFunction): void => {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization?.trim() ?? '');
    if (!match) {
      throw new GatewayError(401, "The admin API needs 'Authorization: Bearer <admin key>'.", {
        code: 'missing_api_key',
        headers: { 'www-authenticate': 'Bearer' },
      });
    }
    const token = match[1]!;
    if (timingSafeEqual(sha256(token), expected)) return next();
    if (store.keys.verify(token)) {
      throw new GatewayError(403, 'This is a gateway API key; the admin API needs the admin key.', { code: 'forbidden' });
    }
    throw new GatewayError(401, 'Invalid admin key.', { code: 'invalid_api_key', headers: { 'www-authenticate': 'Bearer' } });
  };
}

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
