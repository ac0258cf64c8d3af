import express, { type Express, type NextFunction, type Request, type Response, type Router } from 'express';
import { GatewayError } from '../core/errors';
import { sendError } from './error-response';
import type { AccessControl } from './access';
import type { ServerSection } from './config';
import type { SwitchyardHolder } from './holder';
import { localClientsOnly } from './local-only';
import { silentLogger, type Logger } from './log';
import { Metrics } from './metrics';
import { chatHandler, InFlightRequests, toGatewayError } from './routes/chat';
import { healthRouter, type HealthState } from './routes/health';
import { modelsRouter } from './routes/models';
import type { Store } from './store';
import { adminRouter, usageRouter } from './usage-routes';

export interface AppOptions {
  holder: SwitchyardHolder;
  server: Pick<ServerSection, 'body_limit' | 'log_prompts' | 'admin_key'>;
  logger?: Logger;
  metrics?: Metrics;
  /** Keys and usage; without it the gateway runs open and records nothing. */
  store?: Store;
  access?: AccessControl;
  health?: HealthState;
  /** Webhook flows' endpoints (/webhooks/:flow, /hooks/:flow, /hooks/jobs/:id); they read raw bodies. */
  webhooks?: Router;
  /** Bound to the loopback interface: refuse requests a web page made (see local-only.ts). */
  localClientsOnly?: boolean;
}

export interface App {
  app: Express;
  metrics: Metrics;
  health: HealthState;
  /**
   * Shutdown timeout expired: aborts every chat request still in flight (and any arriving later) as
   * "the gateway is shutting down": streams get an error event, others a 503, usage rows say 503.
   */
  abortInFlight(): void;
}

const CHAT_PATHS = ['/v1/chat/completions', '/chat/completions'];
const KNOWN_ROUTES = new Set(['/v1/chat/completions', '/chat/completions', '/v1/models', '/healthz', '/readyz', '/metrics', '/v1/usage']);

/** Route label of /metrics: fixed paths only, so unknown URLs cannot blow up the label set. */
function routeLabel(path: string): string {
  if (KNOWN_ROUTES.has(path)) return path;
  if (path.startsWith('/v1/models/')) return '/v1/models/:id';
  if (path.startsWith('/admin/')) return '/admin';
  if (path.startsWith('/webhooks/')) return '/webhooks/:flow';
  if (path.startsWith('/hooks/jobs/')) return '/hooks/jobs/:id';
  if (path.startsWith('/hooks/')) return '/hooks/:flow';
  return 'other';
}

/** The gateway's express app: OpenAI-compatible API, health, metrics, usage and admin. */
export function createApp(opts: AppOptions): App {
  const logger = opts.logger ?? silentLogger;
  const metrics = opts.metrics ?? new Metrics();
  const health = opts.health ?? { draining: false };
  const app = express();
  app.disable('x-powered-by');
  // ETags would hash every answer body; no client revalidates chat answers.
  app.set('etag', false);

  app.use((req, res, next) => {
    res.once('finish', () => metrics.httpRequest(routeLabel(req.path), res.statusCode));
    next();
  });
  if (opts.localClientsOnly) app.use(localClientsOnly());

  const inFlight = new InFlightRequests();
  const chatDeps = { holder: opts.holder, metrics, logger, access: opts.access, usage: opts.store?.usage, logPrompts: opts.server.log_prompts, bodyLimit: opts.server.body_limit, inFlight };
  app.post(CHAT_PATHS, chatHandler(chatDeps));
  app.use(modelsRouter(opts.holder, opts.access));
  app.use(healthRouter(opts.holder, health));
  app.get('/metrics', async (req, res) => {
    // Spend and traffic by model are the operator's business: once keys exist, a key is needed.
    opts.access?.authenticate(req.headers);
    const { contentType, body } = await metrics.render();
    res.type(contentType).send(body);
  });
  if (opts.store && opts.access) {
    app.use(usageRouter(opts.store, opts.access));
    app.use(adminRouter(opts.store, opts.server.admin_key));
  }

  if (opts.webhooks) app.use(opts.webhooks);

  app.use((req: Request) => {
    throw new GatewayError(404, `Unknown route: ${req.method} ${req.path}. This gateway serves POST /v1/chat/completions and GET /v1/models.`, { code: 'unknown_route' });
  });
  app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const known = toGatewayError(err);
    if (known.status === 500) logger.error('unhandled error', { err });
    sendError(res, known);
  });
  return { app, metrics, health, abortInFlight: () => inFlight.abortAll() };
}
