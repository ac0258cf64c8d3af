import { Router, type Request, type Response } from 'express';
import type { Switchyard } from '../../core/gateway';
import { GatewayError } from '../../core/errors';
import { PreferSchema } from '../../core/routing/types';
import { isModelAllowed, type AccessControl } from '../access';
import type { SwitchyardHolder } from '../holder';

/** The routing shorthands every client may ask for, whatever the catalog holds: "auto" and one per preference. */
export const AUTO_MODELS: readonly string[] = ['auto', ...PreferSchema.options.map((prefer) => `auto:${prefer}`)];

interface ModelEntry {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

interface ModelList {
  data: ModelEntry[];
  /** The whole list, serialized once. */
  body: string;
  byId: Map<string, ModelEntry>;
}

/** Built once per Switchyard: its catalog does not change while it is current. */
const lists = new WeakMap<Switchyard, ModelList>();

function modelList(switchyard: Switchyard, created: number): ModelList {
  let list = lists.get(switchyard);
  if (!list) {
    const data: ModelEntry[] = [
      ...AUTO_MODELS.map((id) => ({ id, object: 'model' as const, created, owned_by: 'switchyard' })),
      ...switchyard.models().map((m) => ({ id: m.key, object: 'model' as const, created, owned_by: m.provider })),
    ];
    list = { data, body: JSON.stringify({ object: 'list', data }), byId: new Map(data.map((m) => [m.id, m])) };
    lists.set(switchyard, list);
  }
  return list;
}

const isAuto = (id: string) => AUTO_MODELS.includes(id);

/**
 * GET /v1/models and GET /v1/models/{id}, in OpenAI's list shape. Once gateway keys exist a key is
 * needed, as for chat; a key with an allow-list sees the models it may use.
 */
export function modelsRouter(holder: SwitchyardHolder, access?: AccessControl, startedAt = Math.floor(Date.now() / 1000)): Router {
  const router = Router();
  const allowedFor = (req: Request) => access?.authenticate(req.headers)?.key?.allowed_models ?? null;
  router.get('/v1/models', (req: Request, res: Response) => {
    const allowed = allowedFor(req);
    const list = modelList(holder.current, startedAt);
    if (allowed === null) res.type('application/json').send(list.body);
    else res.json({ object: 'list', data: list.data.filter((m) => isAuto(m.id) || isModelAllowed(allowed, m.id)) });
  });
  // Catalog keys contain a slash ("openai/gpt-4.1-mini"), so the id is the rest of the path.
  router.get('/v1/models/*id', (req: Request, res: Response) => {
    const allowed = allowedFor(req);
    const raw = (req.params as Record<string, string | string[]>).id ?? '';
    const id = Array.isArray(raw) ? raw.join('/') : raw;
    const entry = modelList(holder.current, startedAt).byId.get(id);
    if (!entry || (allowed !== null && !isAuto(id) && !isModelAllowed(allowed, id))) {
      throw new GatewayError(404, `The model '${id}' does not exist`, { param: 'model', code: 'model_not_found' });
    }
    res.json(entry);
  });
  return router;
}
