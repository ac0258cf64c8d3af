/** Slack Web API: chat.postMessage (in a thread). */
import { JobError } from '../types';
import { sendOk, type OutboundContext, type OutboundRequest } from './http';

export interface SlackPost {
  /** Without a trailing slash (the flow config trims it). */
  apiBaseUrl: string;
  botToken: string;
  channel: string;
  threadTs?: string;
  text: string;
}

/** Slack answers HTTP 200 with `ok: false` for most failures; these are worth another try. */
const RETRYABLE_ERRORS = new Set(['ratelimited', 'rate_limited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);

/** Posts the message; returns its ts. */
export async function postSlackMessage(post: SlackPost, ctx: OutboundContext): Promise<string> {
  const req: OutboundRequest = {
    service: 'Slack chat.postMessage',
    method: 'POST',
    url: `${post.apiBaseUrl}/chat.postMessage`,
    headers: { authorization: `Bearer ${post.botToken}`, 'content-type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ channel: post.channel, text: post.text, ...(post.threadTs ? { thread_ts: post.threadTs } : {}) }),
  };
  const res = await sendOk(req, ctx);
  const body = res.json as { ok?: boolean; error?: string; ts?: string } | undefined;
  if (body?.ok === true) return body.ts ?? '';
  const error = body?.error ?? 'unknown_error';
  throw new JobError(`${req.service}: ${error}`, { retryable: RETRYABLE_ERRORS.has(error), status: res.status });
}
