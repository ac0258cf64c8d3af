/**
 * The webhook HTTP endpoints (an express Router the server mounts):
 * - `GET|POST /webhooks/:flow` — platform flows (whatsapp, twilio, hubspot, slack);
 * - `POST /hooks/:flow` — generic flows; `GET /hooks/jobs/:id` — a job's state and result.
 *
 * Order per request: unknown flow -> 404; a Content-Encoding other than identity -> 415, before
 * the body is read (the platforms sign the bytes they send and never compress webhooks, so
 * nothing is ever inflated: no signature over inflated bytes, no decompression bomb); body read
 * raw (signatures cover the exact bytes; too large -> 413); signature -> 401; malformed -> 400;
 * the events are committed to the queue (a reused idempotency key with another body -> 422);
 * only then the platform is acknowledged. Nothing is enqueued on any refusal. A delivery whose
 * key belongs to a job pruned earlier is a duplicate too (acknowledged, nothing enqueued).
 */
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { GatewayError } from '../core/errors';
import type { Flows } from './config';
import { KeyReusedError, type JobQueue, type NewJob } from './queue/queue';
import type { WorkerPool } from './pool';
import { SOURCES } from './sources';
import type { Intake, Source } from './sources/source';
import { WebhookError, type HttpReply, type InboundRequest, type WebhookLogger } from './types';
import { jobView } from './views';
import type { Waiters } from './waiters';

export interface RouterDeps {
  flows: () => Flows;
  queue: JobQueue;
  pool: WorkerPool;
  waiters: Waiters;
  logger: WebhookLogger;
  now: () => number;
  bodyLimit: string | number;
  /** The scheme and host the platforms call, e.g. "https://gw.example.com". */
  publicBaseUrl?: string;
  defaultMaxAttempts: number;
  /** webhooks.dedupe_days in ms: events dated further back are stale (see IntakeContext). */
  maxEventAgeMs: number;
}

function send(res: Response, reply: HttpReply): void {
  if (res.headersSent) return;
  res.status(reply.status);
  if (reply.headers) res.set(reply.headers);
  if (reply.contentType) res.type(reply.contentType);
  res.send(reply.body ?? '');
}

/** The URL as the platform called it: configured public base URL, else what the request says. */
function publicUrl(req: Request, base: string | undefined): string {
  if (base) return `${base.replace(/\/+$/, '')}${req.originalUrl}`;
  return `${req.protocol}://${req.get('host') ?? 'localhost'}${req.originalUrl}`;
}

function toInbound(req: Request, base: string | undefined): InboundRequest {
  const url = publicUrl(req, base);
  return {
    method: req.method,
    url,
    headers: req.headers,
    rawBody: Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0),
    query: new URL(req.originalUrl, 'http://local').searchParams,
  };
}

/** The Content-Encoding header's value when it is anything but identity (or absent). */
function compressedWith(req: Request): string | undefined {
  const encoding = req.get('content-encoding')?.trim();
  return encoding && encoding.toLowerCase() !== 'identity' ? encoding : undefined;
}

function unsupportedEncoding(encoding: string): WebhookError {
  return new WebhookError(
    415,
    `Content-Encoding '${encoding}' is not supported: webhook signatures cover the bytes sent, so send the body uncompressed.`,
    'unsupported_encoding',
  );
}

/** body-parser's errors, and ours, in the gateway's OpenAI-style error shape. */
function toGatewayError(err: unknown, limit: string | number): GatewayError | undefined {
  if (err instanceof WebhookError) return new GatewayError(err.status, err.message, { code: err.code, param: err.param });
  if (err instanceof GatewayError) return err;
  const e = (err ?? {}) as { type?: unknown; status?: unknown; expose?: unknown; encoding?: unknown };
  if (e.type === 'entity.too.large') return new GatewayError(413, `The webhook body is larger than the limit of ${limit}.`, { code: 'request_too_large' });
  if (e.type === 'request.aborted') return new GatewayError(400, 'The request body was not received completely.', { code: 'request_aborted' });
  if (e.type === 'encoding.unsupported') return toGatewayError(unsupportedEncoding(String(e.encoding ?? 'unknown')), limit);
  if (e.type === 'charset.unsupported') return new GatewayError(415, 'Unsupported charset.', { code: 'unsupported_encoding' });
  // Any other client error of the body reader (http-errors marks them `expose`): never a 500.
  if (typeof e.status === 'number' && e.status >= 400 && e.status < 500 && e.expose === true) {
    return new GatewayError(e.status, 'The request body could not be read.', { code: 'invalid_body' });
  }
  return undefined;
}

export function createWebhookRouter(deps: RouterDeps): Router {
  const router = express.Router();
  // inflate: false as a second guard behind `known`: body-parser never decompresses.
  const raw = express.raw({ type: () => true, limit: deps.bodyLimit, inflate: false });

  const flowFor = (req: Request, generic: boolean) => {
    const name = String(req.params.flow);
    const flow = Object.hasOwn(deps.flows(), name) ? deps.flows()[name] : undefined;
    if (!flow || !flow.enabled || (flow.source === 'generic') !== generic) {
      const where = generic ? '/hooks/:flow serves generic flows' : '/webhooks/:flow serves whatsapp, twilio, hubspot and slack flows';
      throw new WebhookError(404, `Unknown flow '${name}' (${where}).`, 'unknown_flow', 'flow');
    }
    return { name, flow };
  };

  /**
   * The queue refused a caller's reused idempotency key (the whole batch rolled back): 422. The
   * first request's job id stays out of the answer: it is the capability to read that result.
   */
  const keyReused = (err: KeyReusedError, intake: Extract<Intake, { kind: 'enqueue' }>): WebhookError => {
    const header = intake.events.find((e) => e.key === err.key)?.idempotency?.header ?? 'idempotency key';
    return new WebhookError(
      422,
      `This ${header} was already used for a request with a different body; use a new ${header} for a new request.`,
      'idempotency_key_reused',
      header,
    );
  };

  const enqueueAndAnswer = async (req: Request, res: Response, name: string, intake: Extract<Intake, { kind: 'enqueue' }>, maxAttempts: number, source: string) => {
    const jobs: NewJob[] = intake.events.map((e) => ({ flow: name, source, key: e.key, payload: e.payload, maxAttempts, bodySha256: e.idempotency?.bodySha256 }));
    let enqueued;
    try {
      enqueued = deps.queue.enqueue(jobs);
    } catch (err) {
      if (!(err instanceof KeyReusedError)) throw err;
      const refusal = keyReused(err, intake);
      deps.logger.warn('webhook refused', { flow: name, source, status: refusal.status, reason: refusal.message, job: err.jobId });
      throw refusal;
    }
    const duplicates = enqueued.filter((e) => e.duplicate).length;
    // Duplicates of jobs pruned earlier: their keys are remembered, the jobs are gone.
    const ofPrunedJobs = enqueued.filter((e) => !e.job).length;
    deps.logger.info('webhook accepted', {
      flow: name,
      source,
      events: enqueued.length,
      duplicates,
      ...(ofPrunedJobs > 0 ? { duplicates_of_pruned_jobs: ofPrunedJobs } : {}),
      jobs: enqueued.flatMap((e) => (e.job ? [e.job.id] : [])),
      ...(req.get('x-slack-retry-num') ? { slack_retry: req.get('x-slack-retry-num') } : {}),
    });
    const wait = intake.wait;
    const only = enqueued.length === 1 ? enqueued[0] : undefined;
    if (!wait || !only?.job || (only.duplicate && wait.onDuplicate === 'ack')) {
      deps.pool.wake();
      return send(res, intake.ack(enqueued));
    }
    const job = only.job;
    if (job.state === 'done' || job.state === 'dead') return send(res, wait.respond(job, job.state === 'done' ? job.result : undefined));
    const stopping = deps.pool.stopSignal;
    // Shutting down: this pool runs no new job, so waiting could only end in the shutdown cutting the connection.
    if (stopping.aborted) return send(res, intake.ack(enqueued));
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    // Once stopping, the wait ends as soon as the job no longer runs here (not started, or released unfinished).
    const onStop = () => void deps.pool.finished(job.id).then(() => gone.abort());
    stopping.addEventListener('abort', onStop, { once: true });
    const settled = deps.waiters.wait(job.id, wait.ms, gone.signal);
    // Within the workers limit: when all are busy, the wait (sync_timeout_ms...) includes waiting for one.
    const withdraw = deps.pool.runSoon(job.id);
    deps.pool.wake();
    const outcome = await settled;
    stopping.removeEventListener('abort', onStop);
    withdraw();
    send(res, wait.respond(outcome?.job ?? deps.queue.get(job.id) ?? job, outcome?.result));
  };

  const handle = (generic: boolean) => async (req: Request, res: Response) => {
    const { name, flow } = flowFor(req, generic);
    const source = SOURCES[flow.source] as Source;
    const inbound = toInbound(req, deps.publicBaseUrl);
    if (req.method === 'GET') {
      if (!source.handshake) throw new WebhookError(405, `GET is not served for ${flow.source} flows; the platform POSTs events.`, 'method_not_allowed');
      return send(res, source.handshake(inbound, flow));
    }
    if (req.method !== 'POST') throw new WebhookError(405, `${req.method} is not served here; use POST.`, 'method_not_allowed');
    let verified: unknown;
    try {
      verified = source.verify(inbound, flow, deps.now());
    } catch (err) {
      if (err instanceof WebhookError) deps.logger.warn('webhook refused', { flow: name, source: flow.source, status: err.status, reason: err.message });
      throw err;
    }
    const intake = source.intake(inbound, flow, name, verified, { nowMs: deps.now(), maxEventAgeMs: deps.maxEventAgeMs });
    for (const skipped of intake.skipped ?? []) deps.logger.warn('webhook event skipped', { flow: name, source: flow.source, event: skipped.at, reason: skipped.reason });
    if (intake.kind === 'respond') return send(res, intake.reply);
    await enqueueAndAnswer(req, res, name, intake, flow.max_attempts ?? deps.defaultMaxAttempts, flow.source);
  };

  router.get('/hooks/jobs/:id', (req, res) => {
    const job = deps.queue.get(String(req.params.id));
    // Only jobs of generic flows, whose callers received the id: platform events (WhatsApp, CRM) stay private.
    if (!job || job.source !== 'generic') throw new WebhookError(404, `No job '${String(req.params.id)}'.`, 'unknown_job', 'id');
    res.json(jobView(job));
  });
  // Unknown flows and compressed bodies are refused before the body is read.
  const known = (generic: boolean) => (req: Request, _res: Response, next: NextFunction) => {
    const { name, flow } = flowFor(req, generic);
    const encoding = compressedWith(req);
    if (encoding) {
      const refusal = unsupportedEncoding(encoding);
      deps.logger.warn('webhook refused', { flow: name, source: flow.source, status: refusal.status, reason: refusal.message });
      throw refusal;
    }
    next();
  };
  router.all('/webhooks/:flow', known(false), raw, handle(false));
  router.post('/hooks/:flow', known(true), raw, handle(true));

  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    const known = toGatewayError(err, deps.bodyLimit);
    if (!known) {
      deps.logger.error('webhook request failed', { path: req.path, err });
      if (res.headersSent) return next(err);
      return send(res, { status: 500, contentType: 'application/json', body: JSON.stringify(new GatewayError(500, 'internal error while accepting the webhook', { code: 'internal_error' }).toBody()) });
    }
    if (res.headersSent) return res.end();
    res.status(known.status).set(known.headers).json(known.toBody());
  });
  return router;
}
