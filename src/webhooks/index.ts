/**
 * Webhook flows: the router the server mounts, the durable queue and its workers.
 *
 * `createWebhooks({ flows, settings, withSwitchyard })` opens the queue file; `start()` starts
 * the workers; `stop(timeoutMs)` stops taking jobs and lets in-flight ones finish for up to
 * `timeoutMs` (then releases them for the next start); `close()` closes the queue once the HTTP
 * server drained; `reload(flows)` swaps the flow definitions (settings such as the queue path
 * apply after a restart).
 */
import type { Router } from 'express';
import { mathRandom, type Random } from '../core/clock';
import { redactSecrets } from '../core/errors';
import type { Agent } from 'undici';
import { createCallbackAgent, type Resolver } from './clients/egress';
import type { FetchLike } from './clients/http';
import { resolveQueuePath, secretsOf, type Flows, type WebhooksSection } from './config';
import { WorkerPool } from './pool';
import { createProcessor, type WithSwitchyard } from './processor';
import { JobQueue } from './queue/queue';
import { createWebhookRouter } from './router';
import type { WebhookLogger } from './types';
import { Waiters } from './waiters';

export { FlowSchema, FlowsSchema, WebhooksSectionSchema, resolveQueuePath } from './config';
export type { Flow, Flows, WebhooksSection } from './config';
export { JobQueue } from './queue/queue';
export type { Job, JobState } from './queue/queue';
export type { WithSwitchyard } from './processor';

export interface WebhooksOptions {
  flows: Flows;
  settings: WebhooksSection;
  withSwitchyard: WithSwitchyard;
  logger?: WebhookLogger;
  /** Overrides settings.queue_path and SWITCHYARD_QUEUE (tests: a temp file or ':memory:'). */
  queuePath?: string;
  env?: Record<string, string | undefined>;
  now?: () => number;
  random?: Random;
  fetch?: FetchLike;
  /** Resolves callback hosts before their addresses are checked (default: the system resolver; tests inject one). */
  callbackResolver?: Resolver;
  /** Lease owner name of this process's workers. */
  owner?: string;
}

export interface Webhooks {
  readonly router: Router;
  readonly queue: JobQueue;
  readonly pool: WorkerPool;
  start(): void;
  /** Stops taking jobs; in-flight jobs get `timeoutMs` to finish, then are released. Requests are still accepted (and enqueued). */
  stop(timeoutMs: number): Promise<void>;
  /** After stop() and after the HTTP server drained: ends pending waits and closes the queue. */
  close(): Promise<void>;
  reload(flows: Flows): void;
}

const DAY_MS = 86_400_000;

const SILENT: WebhookLogger = { info: () => undefined, warn: () => undefined, error: () => undefined };

function mask(text: string, secrets: string[]): string {
  let out = text;
  for (const s of secrets) out = out.split(s).join('[redacted]');
  return redactSecrets(out);
}

function plain(_key: string, value: unknown): unknown {
  return value instanceof Error ? { name: value.name, message: value.message } : value;
}

/**
 * Masks every string (and key) of plain JSON data. Done on the values, not on the JSON text:
 * there `"` and `\` are escaped, so a secret containing them would no longer match.
 */
function maskDeep(value: unknown, secrets: string[]): unknown {
  if (typeof value === 'string') return mask(value, secrets);
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, secrets));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [mask(k, secrets), maskDeep(v, secrets)]));
  }
  return value;
}

/** Masks every configured secret (and key-like strings) in messages and fields before logging. */
export function maskingLogger(base: WebhookLogger, secrets: () => string[]): WebhookLogger {
  const wrap = (level: keyof WebhookLogger) => (msg: string, fields?: Record<string, unknown>) => {
    const s = secrets();
    let safeFields: Record<string, unknown> | undefined;
    try {
      // Through JSON first: Errors, toJSON() and nesting become plain data (a cycle throws).
      safeFields = fields === undefined ? undefined : (maskDeep(JSON.parse(JSON.stringify(fields, plain)), s) as Record<string, unknown>);
    } catch {
      safeFields = { fields: 'unserializable' };
    }
    base[level](mask(msg, s), safeFields);
  };
  return { info: wrap('info'), warn: wrap('warn'), error: wrap('error') };
}

export function createWebhooks(opts: WebhooksOptions): Webhooks {
  let flows = opts.flows;
  let secrets = secretsOf(flows);
  const settings = opts.settings;
  const now = opts.now ?? Date.now;
  const logger = maskingLogger(opts.logger ?? SILENT, () => secrets);
  const queue = new JobQueue(opts.queuePath ?? resolveQueuePath(undefined, settings.queue_path, opts.env ?? globalThis.process.env), { now });
  const waiters = new Waiters();
  let callbackAgent: Agent | undefined;
  const callbackDispatcher = () => (callbackAgent ??= createCallbackAgent({ resolve: opts.callbackResolver }));
  const processJob = createProcessor({
    queue,
    flows: () => flows,
    withSwitchyard: opts.withSwitchyard,
    waiters,
    logger,
    fetch: opts.fetch ?? ((input, init) => fetch(input, init)),
    callbackDispatcher,
    outboundTimeoutMs: settings.outbound_timeout_ms,
    now,
    random: opts.random ?? mathRandom,
    backoffBaseMs: settings.backoff_base_ms,
    backoffMaxMs: settings.backoff_max_ms,
    redact: (text) => mask(text, secrets),
  });
  const pool = new WorkerPool({
    queue,
    process: processJob,
    concurrency: settings.workers,
    leaseMs: settings.lease_ms,
    pollMs: settings.poll_ms,
    now,
    logger,
    owner: opts.owner,
    retentionMs: settings.retention_days * DAY_MS,
    dedupeMs: settings.dedupe_days * DAY_MS,
    onDead: (job) => {
      logger.error('webhook job failed for good: moved to the dead letters (switchyard jobs replay ID)', { job: job.id, flow: job.flow, attempt: job.attempts, error: job.lastError });
      waiters.settle(job, undefined);
    },
  });
  const router = createWebhookRouter({
    flows: () => flows,
    queue,
    pool,
    waiters,
    logger,
    now,
    bodyLimit: settings.body_limit,
    publicBaseUrl: settings.public_base_url,
    defaultMaxAttempts: settings.max_attempts,
    maxEventAgeMs: settings.dedupe_days * DAY_MS,
  });
  let stopped: Promise<void> | undefined;
  return {
    router,
    queue,
    pool,
    start: () => pool.start(),
    stop(timeoutMs) {
      stopped ??= pool.stop(timeoutMs);
      return stopped;
    },
    async close() {
      stopped ??= pool.stop(0);
      await stopped;
      waiters.releaseAll();
      queue.close();
      await callbackAgent?.close();
    },
    reload(next) {
      flows = next;
      secrets = secretsOf(next);
    },
  };
}
