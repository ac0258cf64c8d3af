/** Results POSTed to a callback URL, signed with Standard Webhooks headers. */
import type { Job } from '../queue/queue';
import { standardWebhookHeaders } from '../signatures';
import type { FlowResult } from '../types';
import { sendOk, type OutboundContext } from './http';

export interface CallbackPost {
  url: string;
  /** Standard Webhooks secret (`whsec_...`). */
  secret: string;
  /** Stable per job, so the receiver can drop our retries (webhook-id). */
  messageId: string;
  payload: unknown;
}

export async function postCallback(post: CallbackPost, ctx: OutboundContext): Promise<number> {
  const body = JSON.stringify(post.payload);
  const res = await sendOk(
    {
      service: 'callback',
      method: 'POST',
      url: post.url,
      headers: { 'content-type': 'application/json', 'user-agent': 'switchyard-webhooks', ...standardWebhookHeaders(post.secret, post.messageId, ctx.now(), body) },
      body,
    },
    ctx,
  );
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
export async function deliverResult(url: string, secret: string, job: Job, result: FlowResult, ctx: OutboundContext): Promise<string> {
  const status = await postCallback({ url, secret, messageId: job.id, payload: callbackPayload(job, result, ctx.now()) }, ctx);
  return `callback answered ${status}`;
}
