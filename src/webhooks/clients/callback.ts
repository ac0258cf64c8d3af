/**
 * Results POSTed to a callback URL, signed with Standard Webhooks headers.
 *
 * Redirects are never followed (a 3xx is a failed delivery), and what the receiver answers is
 * never read: a job's error, which the caller of a generic flow can read, only says the status.
 */
import type { Job } from '../queue/queue';
import { standardWebhookHeaders } from '../signatures';
import { JobError, type FlowResult } from '../types';
import { send, statusError, type FetchDispatcher, type OutboundContext, type OutboundRequest } from './http';

export interface CallbackPost {
  url: string;
  /** Standard Webhooks secret (`whsec_...`). */
  secret: string;
  /** Stable per job, so the receiver can drop our retries (webhook-id). */
  messageId: string;
  payload: unknown;
  /** Where the POST may connect: ctx.callbackDispatcher for caller-supplied URLs; any address when absent. */
  dispatcher?: FetchDispatcher;
}

export async function postCallback(post: CallbackPost, ctx: OutboundContext): Promise<number> {
  const body = JSON.stringify(post.payload);
  const req: OutboundRequest = {
    service: 'callback',
    method: 'POST',
    url: post.url,
    headers: { 'content-type': 'application/json', 'user-agent': 'switchyard-webhooks', ...standardWebhookHeaders(post.secret, post.messageId, ctx.now(), body) },
    body,
    redirect: 'manual',
    dispatcher: post.dispatcher,
    discardBody: true,
  };
  const res = await send(req, ctx);
  if (res.status >= 300 && res.status <= 399) {
    throw new JobError(`callback: HTTP ${res.status}: the receiver answered with a redirect; callbacks never follow redirects, so the callback URL must be the final one`, {
      retryable: false,
      status: res.status,
    });
  }
  if (res.status < 200 || res.status > 299) throw statusError(req, res, ctx.now(), 'the receiver did not accept the callback');
  return res.status;
}

/** The body POSTed to callbacks: Standard Webhooks' {type, timestamp, data}. */
export function callbackPayload(job: Job, result: FlowResult, now: number): Record<string, unknown> {
  return {
    type: 'flow.completed',
    timestamp: new Date(now).toISOString(),
    data: { job_id: job.id, flow: job.flow, status: 'done', output: result.json ?? result.text, model: result.model, provider: result.provider },
  };
}

/** Posts a job's result to a callback URL, signed, with the job id as webhook-id; returns what it did. */
export async function deliverResult(url: string, secret: string, job: Job, result: FlowResult, ctx: OutboundContext, dispatcher?: FetchDispatcher): Promise<string> {
  const status = await postCallback({ url, secret, messageId: job.id, payload: callbackPayload(job, result, ctx.now()), dispatcher }, ctx);
  return `callback answered ${status}`;
}
