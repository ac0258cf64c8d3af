/**
 * Processes one claimed job: model call (skipped when an earlier attempt saved the result),
 * then the flow's action, then `complete()`, which marks the job done and records the action
 * in one statement.
 *
 * Why the result is saved first and the action recorded with `done`: a retry after a failing
 * reply API only retries the reply (same text, no second model call), and once a job is done
 * nothing sends again. The one window left is a crash after the platform accepted a reply and
 * before the commit; there a reply can be sent twice (at least once). It is harmless where the
 * API allows: HubSpot writes are PATCHes of the same values, callbacks carry a stable webhook-id
 * for the receiver to deduplicate; the Graph, Slack and Twilio messaging APIs offer no
 * idempotency key. Recording "sent" *before* sending would close
 * that window but lose the reply whenever the send then fails or the process dies, which is the
 * worse failure for a support bot, so the record follows the send.
 */
import type { Switchyard } from '../core/gateway';
import type { Random } from '../core/clock';
import { redactSecrets } from '../core/errors';
import { deliverResult } from './clients/callback';
import type { FetchDispatcher, FetchLike, OutboundContext } from './clients/http';
import type { Flow, Flows } from './config';
import { LeaseLostError, type Job, type JobQueue } from './queue/queue';
import { runFlow } from './runner';
import { SOURCES } from './sources';
import type { Source } from './sources/source';
import { JobError, type FlowResult, type WebhookLogger } from './types';
import type { Waiters } from './waiters';

export type WithSwitchyard = <T>(fn: (switchyard: Switchyard) => Promise<T>) => Promise<T>;

export interface ProcessorDeps {
  queue: JobQueue;
  flows: () => Flows;
  withSwitchyard: WithSwitchyard;
  waiters: Waiters;
  logger: WebhookLogger;
  fetch: FetchLike;
  /** Connections for callbacks to caller-supplied URLs (public addresses only). */
  callbackDispatcher: () => FetchDispatcher;
  outboundTimeoutMs: number;
  now: () => number;
  random: Random;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Masks configured secrets in text kept on the job (upstream errors sometimes echo a token). */
  redact: (text: string) => string;
}

/** Exponential backoff with equal jitter: half fixed, half random; at least what the API asked for. */
export function backoffMs(attempt: number, base: number, max: number, random: Random, retryAfterMs?: number): number {
  const exp = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  const jittered = exp / 2 + (exp / 2) * random();
  return Math.round(Math.max(jittered, Math.min(retryAfterMs ?? 0, max)));
}

function asJobError(err: unknown): JobError {
  if (err instanceof JobError) return err;
  return new JobError(redactSecrets((err as Error)?.message ?? String(err)), { retryable: true, cause: err });
}

async function act(flow: Flow, job: Job, result: FlowResult, ctx: OutboundContext): Promise<string> {
  if (flow.action.type === 'callback') {
    // The operator's own URL: any address it resolves to may be reached.
    return deliverResult(flow.action.url, flow.action.secret, job, result, ctx);
  }
  const source = SOURCES[flow.source] as Source;
  if (!source.answer) throw new JobError(`the ${flow.source} source cannot answer`, { retryable: false });
  return source.answer(job, result, flow, ctx);
}

/** Whether the result may go out in the webhook's own response instead of through the action. */
function answersInline(flow: Flow, job: Job): boolean {
  if (flow.action.type === 'respond') return job.payload.callbackUrl === undefined;
  return flow.source === 'twilio' && flow.action.type === 'reply';
}

export type ProcessJob = (job: Job, owner: string, signal: AbortSignal) => Promise<void>;

export function createProcessor(deps: ProcessorDeps): ProcessJob {
  const { queue, logger } = deps;

  const fail = (job: Job, owner: string, err: unknown) => {
    const error = asJobError(err);
    const retry = error.retryable && job.attempts < job.maxAttempts;
    const retryAt = retry ? deps.now() + backoffMs(job.attempts, deps.backoffBaseMs, deps.backoffMaxMs, deps.random, error.retryAfterMs) : undefined;
    const message = deps.redact(error.message);
    const failed = queue.fail(job.id, owner, message, retryAt);
    const fields = { job: job.id, flow: job.flow, attempt: job.attempts, error: message };
    if (failed.state === 'dead') {
      logger.error('webhook job failed for good: moved to the dead letters (switchyard jobs replay ID)', fields);
      deps.waiters.settle(failed, undefined);
    } else {
      logger.warn('webhook job failed; it will be retried', { ...fields, retry_in_ms: (retryAt ?? 0) - deps.now() });
    }
  };

  return async (job, owner, signal) => {
    const ctx: OutboundContext = { fetch: deps.fetch, signal, timeoutMs: deps.outboundTimeoutMs, now: deps.now, callbackDispatcher: deps.callbackDispatcher };
    try {
      const flow = deps.flows()[job.flow];
      if (!flow) throw new JobError(`flow '${job.flow}' is not configured any more`, { retryable: false });
      let result = job.result;
      if (!result) {
        const source = SOURCES[flow.source] as Source;
        const fields = source.load ? await source.load(job.payload, flow, ctx) : job.payload.fields;
        result = await deps.withSwitchyard((s) => runFlow(flow, fields, s, { signal }));
        queue.saveResult(job.id, owner, result);
      }
      if (answersInline(flow, job) && deps.waiters.has(job.id)) {
        // The webhook request is still open: the answer goes out in its response (TwiML, sync JSON).
        const done = queue.complete(job.id, owner, 'answered in the webhook response');
        deps.waiters.settle(done, result);
        logger.info('webhook job done', { job: job.id, flow: job.flow, model: result.model, effect: done.effect });
        return;
      }
      const effect = await act(flow, job, result, ctx);
      const done = queue.complete(job.id, owner, effect);
      // A generic caller still waiting sees the result; nobody else gets it a second time.
      deps.waiters.settle(done, flow.source === 'generic' ? result : undefined);
      logger.info('webhook job done', { job: job.id, flow: job.flow, model: result.model, effect });
    } catch (err) {
      if (err instanceof LeaseLostError) {
        logger.warn('webhook job lease lost: another worker took it over', { job: job.id, flow: job.flow });
      } else if (signal.aborted) {
        // Shutdown: give the job back untouched; the next start (or another process) finishes it.
        queue.release(job.id, owner);
      } else {
        fail(job, owner, err);
      }
    }
  };
}
