/**
 * Outbound HTTP for the platform clients: one call with a timeout, and failures classified as
 * retryable (network, timeout, 408/425/429, 5xx) or permanent (other 4xx, a destination the
 * address check refused), as JobErrors whose messages never carry the request's credentials.
 */
import { redactSecrets } from '../../core/errors';
import { retryAfterMsFromHeaders } from '../../core/retry-after';
import { JobError } from '../types';
import { blockedDestination } from './egress';

export type FetchLike = typeof fetch;
/** A connection pool for fetch (an undici Agent). */
export type FetchDispatcher = NonNullable<RequestInit['dispatcher']>;

export interface OutboundContext {
  fetch: FetchLike;
  /** Aborts when the job is abandoned (shutdown). */
  signal?: AbortSignal;
  timeoutMs: number;
  now: () => number;
  /** Connections for callbacks to caller-supplied URLs: public addresses only (see egress.ts); made on first use. */
  callbackDispatcher: () => FetchDispatcher;
}

export interface OutboundRequest {
  /** Names the API in errors, e.g. "WhatsApp Graph API". */
  service: string;
  method: 'GET' | 'POST' | 'PATCH';
  url: string;
  headers: Record<string, string>;
  body?: string;
  /** 'manual': a 3xx is the answer, never followed (callbacks). */
  redirect?: 'manual';
  /** Decides where the request may connect (default: the global pool). */
  dispatcher?: FetchDispatcher;
  /** The answer's body is neither read nor kept (callbacks: what a receiver says is not ours to quote). */
  discardBody?: boolean;
}

export interface OutboundResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: unknown;
}

const RETRYABLE_STATUS = new Set([408, 425, 429]);

export function isRetryableStatus(status: number): boolean {
  return status >= 500 || RETRYABLE_STATUS.has(status);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function snippet(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return redactSecrets(flat.length > 300 ? `${flat.slice(0, 300)}...` : flat);
}

/** Sends the request; network failures and timeouts become retryable JobErrors. */
export async function send(req: OutboundRequest, ctx: OutboundContext): Promise<OutboundResponse> {
  const timeout = AbortSignal.timeout(ctx.timeoutMs);
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout]) : timeout;
  const init: RequestInit = { method: req.method, headers: req.headers, body: req.body, signal };
  if (req.redirect) init.redirect = req.redirect;
  if (req.dispatcher) init.dispatcher = req.dispatcher;
  let res: Response;
  try {
    res = await ctx.fetch(req.url, init);
  } catch (err) {
    const blocked = blockedDestination(err);
    if (blocked) throw new JobError(`${req.service}: ${blocked.message}`, { retryable: false, cause: err });
    const timedOut = timeout.aborted && !ctx.signal?.aborted;
    const why = timedOut ? `no answer within ${ctx.timeoutMs} ms` : redactSecrets((err as Error).message);
    throw new JobError(`${req.service}: request failed: ${why}`, { retryable: true, cause: err });
  }
  if (req.discardBody) {
    await res.body?.cancel().catch(() => undefined);
    return { status: res.status, headers: res.headers, text: '', json: undefined };
  }
  const text = await res.text().catch(() => '');
  return { status: res.status, headers: res.headers, text, json: parseJson(text) };
}

/** The JobError for a non-2xx answer, with Retry-After honoured. */
export function statusError(req: OutboundRequest, res: OutboundResponse, now: number, detail?: string): JobError {
  const retryAfterMs = retryAfterMsFromHeaders(res.headers, now);
  return new JobError(`${req.service}: HTTP ${res.status}: ${detail ?? snippet(res.text)}`, {
    retryable: isRetryableStatus(res.status),
    retryAfterMs,
    status: res.status,
  });
}

/** Reads the API's own error message from a non-2xx answer (else the body's start is shown). */
export type ErrorDetail = (res: OutboundResponse) => string | undefined;

/** Sends and insists on a 2xx answer. */
export async function sendOk(req: OutboundRequest, ctx: OutboundContext, detail?: ErrorDetail): Promise<OutboundResponse> {
  const res = await send(req, ctx);
  if (res.status < 200 || res.status > 299) throw statusError(req, res, ctx.now(), detail?.(res));
  return res;
}
