import { Router } from 'express';
import type { SwitchyardHolder } from '../holder';

export interface HealthState {
  /** True from SIGTERM on: load balancers should stop sending traffic. */
  draining: boolean;
}

/** Liveness (the process answers) and readiness (a Switchyard with models, not shutting down). */
export function healthRouter(holder: SwitchyardHolder, state: HealthState): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', (_req, res) => {
    const models = holder.current.models().length;
    // Probes on connections kept alive through the drain learn it, then let the connection go.
    if (state.draining) res.status(503).set('connection', 'close').json({ status: 'draining', models });
    else if (models === 0) res.status(503).json({ status: 'no_models', models });
    else res.json({ status: 'ready', models });
  });
  return router;
}
