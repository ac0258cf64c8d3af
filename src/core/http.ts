import { Agent } from 'undici';
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { DEFAULT_TIMEOUTS, type CallContext, type Timeouts } from './adapter';
import { ProviderError, type ErrorKind } from './errors';
import { retryAfterMsFromHeaders } from './retry-after';

/** One keep-alive pool per upstream origin, shared by every call to it. */
const agents = new Map<string, Agent>();

function agentFor(origin: string, connectMs: number): Agent {
  const key = `${origin}|${connectMs}`;
  let agent = agents.get(key);
  if (!agent) {
    agent = new Agent({
      connect: { timeout: connectMs },
      keepAliveTimeout: 30_000,
      connections: 256,
      pipelining: 1,
      // Our own timers own first-byte and total time; undici's would fire on long streams.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
    agents.set(key, agent);
  }
  return agent;
}

/** Closes every pooled connection (tests, graceful shutdown). */
export async function closeUpstreamPools(): Promise<void> {
  const all = [...agents.values()];
  agents.clear();
  await Promise.all(all.map((a) => a.close()));
}

/** Thrown when the caller itself aborted: never retried, never a provider failure. */
export class CallerAbortError extends Error {
  constructor() {
    super('request aborted by the caller');
    this.name = 'AbortError';
  }
}

export interface ErrorDetails {
  message: string;
  code?: string;
  kind?: ErrorKind;
  /** Overrides the kind's default, e.g. a 429 for an exhausted quota is not worth retrying. */
  retryable?: boolean;
  /** A delay the body asked for (Gemini's RetryInfo), used when the headers give none. */
  retryAfterMs?: number;
}

/** Reads a provider's error body; each adapter knows its own shape. */
export type ErrorBodyReader = (status: number, body: unknown, rawText: string) => ErrorDetails;

const CONTEXT_LENGTH_RE = /context[_ ]length|context window|maximum context|too many tokens|prompt is too long|exceeds the maximum/i;

/** Status-based classification shared by every provider; adapters refine it with `kind`. */
export function classifyStatus(status: number, message: string): ErrorKind {
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'rate_limited';
  if (status === 408 || status === 504) return 'timeout';
  if (status === 503 || status === 529) return 'overloaded';
  if (status === 400 || status === 413 || status === 422) {
    return CONTEXT_LENGTH_RE.test(message) ? 'context_length_exceeded' : 'bad_request';
  }
  if (status === 404) return 'bad_request';
  return 'upstream_error';
}

export interface UpstreamRequest {
  provider: string;
  url: string;
  method?: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: unknown;
  ctx: CallContext;
  readError: ErrorBodyReader;
}

/**
 * A call in flight: the response headers have arrived with a 2xx status.
 * Read the body with `json()` or `events()`; both release the timers when done.
 */
export class UpstreamCall {
  constructor(
    readonly response: Response,
    private readonly provider: string,
    private readonly guard: CallGuard,
  ) {}

  async json(): Promise<unknown> {
    try {
      const text = await this.response.text();
      try {
        return JSON.parse(text);
      } catch {
        throw new ProviderError({ kind: 'upstream_error', provider: this.provider, message: 'upstream sent invalid JSON' });
      }
    } catch (err) {
      throw this.guard.translate(err, this.provider);
    } finally {
      this.guard.dispose();
    }
  }

  /** Server-sent events, parsed by eventsource-parser whatever the chunk boundaries. */
  async *events(): AsyncGenerator<EventSourceMessage> {
    const body = this.response.body;
    if (!body) throw new ProviderError({ kind: 'upstream_error', provider: this.provider, message: 'upstream sent no body' });
    const queue: EventSourceMessage[] = [];
    const parser = createParser({ onEvent: (event) => queue.push(event) });
    const decoder = new TextDecoder();
    try {
      for await (const bytes of body) {
        parser.feed(decoder.decode(bytes as Uint8Array, { stream: true }));
        while (queue.length > 0) yield queue.shift() as EventSourceMessage;
      }
      parser.feed(decoder.decode());
      while (queue.length > 0) yield queue.shift() as EventSourceMessage;
    } catch (err) {
      throw this.guard.translate(err, this.provider);
    } finally {
      this.guard.dispose();
    }
  }

  /** Stops reading and releases the connection. */
  cancel(): void {
    this.guard.abortQuietly();
  }
}

/** Owns the AbortController, the caller's signal and the timers of one call. */
class CallGuard {
  readonly controller = new AbortController();
  private readonly timers: NodeJS.Timeout[] = [];
  private firstByteTimer?: NodeJS.Timeout;
  private readonly onCallerAbort = () => this.controller.abort(new CallerAbortError());

  constructor(
    private readonly ctx: CallContext,
    private readonly timeouts: Timeouts,
    provider: string,
  ) {
    if (ctx.signal?.aborted) this.controller.abort(new CallerAbortError());
    ctx.signal?.addEventListener('abort', this.onCallerAbort, { once: true });
    const totalMs = Math.min(timeouts.totalMs, ctx.deadline !== undefined ? ctx.deadline - Date.now() : Infinity);
    this.arm(Math.max(0, totalMs), `${provider}: no complete answer within ${Math.round(totalMs)} ms`);
    this.firstByteTimer = this.arm(timeouts.firstByteMs, `${provider}: no response within ${timeouts.firstByteMs} ms`);
  }

  private arm(ms: number, message: string): NodeJS.Timeout {
    const timer = setTimeout(() => this.controller.abort(new ProviderError({ kind: 'timeout', message })), ms);
    timer.unref?.();
    this.timers.push(timer);
    return timer;
  }

  headersArrived(): void {
    if (this.firstByteTimer) clearTimeout(this.firstByteTimer);
  }

  abortQuietly(): void {
    if (!this.controller.signal.aborted) this.controller.abort(new CallerAbortError());
    this.dispose();
  }

  dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.ctx.signal?.removeEventListener('abort', this.onCallerAbort);
  }

  /** Maps whatever fetch or the body stream threw into a ProviderError or CallerAbortError. */
  translate(err: unknown, provider: string): Error {
    const reason: unknown = this.controller.signal.aborted ? this.controller.signal.reason : undefined;
    if (reason instanceof CallerAbortError) return reason;
    if (reason instanceof ProviderError) return reason;
    if (err instanceof ProviderError || err instanceof CallerAbortError) return err;
    return networkError(err, provider);
  }
}

function networkError(err: unknown, provider: string): ProviderError {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const code = cause?.code ?? (err as { code?: string })?.code;
  const detail = code ?? cause?.message ?? (err instanceof Error ? err.message : 'network error');
  const kind: ErrorKind = code === 'UND_ERR_CONNECT_TIMEOUT' ? 'timeout' : 'upstream_error';
  return new ProviderError({ kind, provider, message: `connection to upstream failed (${detail})`, cause: err });
}

async function readErrorResponse(res: Response, req: UpstreamRequest): Promise<ProviderError> {
  let text = '';
  try {
    text = (await res.text()).slice(0, 64_000);
  } catch {
    // body lost: classify from the status alone
  }
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: the reader gets the raw text
  }
  const details = req.readError(res.status, parsed, text);
  return new ProviderError({
    kind: details.kind ?? classifyStatus(res.status, details.message),
    provider: req.provider,
    status: res.status,
    message: details.message,
    upstreamCode: details.code,
    retryable: details.retryable,
    retryAfterMs: retryAfterMsFromHeaders(res.headers) ?? details.retryAfterMs,
  });
}

/** Sends one request upstream; resolves once a 2xx response's headers are in. */
export async function sendUpstream(req: UpstreamRequest): Promise<UpstreamCall> {
  const timeouts = { ...DEFAULT_TIMEOUTS, ...req.ctx.timeouts };
  const guard = new CallGuard(req.ctx, timeouts, req.provider);
  const url = new URL(req.url);
  let res: Response;
  try {
    res = await fetch(url, {
      method: req.method ?? 'POST',
      headers: req.body === undefined ? req.headers : { 'content-type': 'application/json', ...req.headers },
      body: req.body === undefined ? undefined : JSON.stringify(req.body),
      signal: guard.controller.signal,
      dispatcher: agentFor(url.origin, timeouts.connectMs),
    });
  } catch (err) {
    guard.dispose();
    throw guard.translate(err, req.provider);
  }
  guard.headersArrived();
  if (!res.ok) {
    try {
      throw await readErrorResponse(res, req);
    } finally {
      guard.dispose();
    }
  }
  return new UpstreamCall(res, req.provider, guard);
}

/** Strips a trailing slash so `${base}/chat/completions` never doubles it. */
export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}
